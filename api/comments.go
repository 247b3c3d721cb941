package api

import (
	"context"
	"net/http"
	"slices"
	"sync"

	"github.com/labstack/echo/v4"

	"github.com/parley-comments/parley/models"
	"github.com/parley-comments/parley/moderation"
)

type threadView struct {
	Items      []commentView `json:"items"`
	NextCursor *string       `json:"next_cursor"`
	Total      int           `json:"total"`
}

type commentEnvelope struct {
	Comment commentView `json:"comment"`
}

type createCommentRequest struct {
	Body       string `json:"body"`
	ParentID   *uint  `json:"parent_id"`
	GuestName  string `json:"guest_name"`
	GuestEmail string `json:"guest_email"`
}

type updateCommentRequest struct {
	Body string `json:"body"`
}

type voteRequest struct {
	Value *int `json:"value"`
}

type voteView struct {
	Score  int `json:"score"`
	MyVote int `json:"my_vote"`
}

func threadSort(c echo.Context) (string, error) {
	switch s := c.QueryParam("sort"); s {
	case "", models.SortOldest:
		return models.SortOldest, nil
	case models.SortNewest, models.SortTop:
		return s, nil
	}
	return "", badRequest("sort must be oldest, newest or top", map[string]string{"sort": "oldest, newest or top"})
}

// GET /api/v1/articles/:slug/comments
func (h *handler) listComments(c echo.Context) error {
	q, err := threadQuery(c)
	if err != nil {
		return err
	}
	a, err := h.threadArticle(c.Request().Context(), models.DefaultSite, c.Param("slug"))
	if err != nil {
		return err
	}
	return h.serveThread(c, a, c.Param("slug"), q)
}

// serveThread answers a page of a's thread, whose key is slug.
func (h *handler) serveThread(c echo.Context, a models.ArticleRef, slug string, q models.ThreadQuery) error {
	buf := pageBuffers.Get().(*[]byte)
	defer putPageBuffer(buf)
	p, cacheControl, err := h.threadPage(c.Request().Context(), a, slug, q, currentUser(c), buf)
	if err != nil {
		return err
	}
	return servePage(c, p, cacheControl)
}

// threadQuery reads a thread page's sort, limit and cursor.
func threadQuery(c echo.Context) (models.ThreadQuery, error) {
	sort, err := threadSort(c)
	if err != nil {
		return models.ThreadQuery{}, err
	}
	limit, err := pageLimit(c)
	if err != nil {
		return models.ThreadQuery{}, err
	}
	return models.ThreadQuery{Sort: sort, Limit: limit, Cursor: c.QueryParam("cursor")}, nil
}

// sharedPage returns the public page from the cache, building it on a miss.
func (h *handler) sharedPage(ctx context.Context, q models.ThreadQuery, a models.ArticleRef, slug string) (*page, error) {
	key := pageKey{article: a.ID, sort: q.Sort, limit: q.Limit, cursor: q.Cursor}
	p, _, err := h.pages.get(ctx, key, a.Version, func(ctx context.Context) (*page, error) {
		p, err := h.buildPage(ctx, q, a, slug, nil, nil, nil, true)
		if err == nil && p.compress() { // once per version, for every reader of it
			h.pages.compressions.Add(1)
		}
		return p, err
	})
	return p, err
}

// pageBuffers recycles the buffers of the pages built for one reader: each
// is as large as the page, and allocating one per request would keep the
// garbage collector busy and the heap large.
var pageBuffers = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledPage keeps one huge page from pinning its buffer in the pool.
const maxPooledPage = 256 << 10

func putPageBuffer(b *[]byte) {
	if cap(*b) <= maxPooledPage {
		pageBuffers.Put(b)
	}
}

// personalize makes the shared page p into userID's page, its body appended
// to dst: their votes, and the source of their own comments. It returns nil
// if one of their comments changed under it, leaving the caller to build
// the page in full.
func (h *handler) personalize(ctx context.Context, p *page, userID uint, votes map[uint]int, dst []byte) (*page, error) {
	if len(p.marks) == 0 {
		return &page{version: p.version, body: append(dst, p.body...), etag: p.etag}, nil
	}
	var bodies map[uint]string
	if own := p.ownComments(userID); len(own) > 0 {
		var err error
		if bodies, err = models.OwnBodies(ctx, h.store.Read, userID, own); err != nil {
			return nil, err
		}
		if len(bodies) != len(own) {
			return nil, nil
		}
	}
	body, etag := p.personalize(dst, userID, votes, bodies)
	return &page{version: p.version, body: body, etag: etag}, nil
}

// buildPage loads a thread page as viewer sees it, with votes (the viewer's
// on the article, from LoadReaderFacts), and encodes it, appending to dst;
// record keeps the comments' marks for personalize. At most
// cap(h.builds) builds run at once: a build is CPU work and about a
// megabyte of garbage, and more of them at once than there are cores would
// finish no sooner, only hold more memory.
func (h *handler) buildPage(ctx context.Context, q models.ThreadQuery, a models.ArticleRef, slug string, viewer *models.User, votes map[uint]int, dst []byte, record bool) (*page, error) {
	select {
	case h.builds <- struct{}{}:
		defer func() { <-h.builds }()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	tp, err := models.LoadThread(ctx, h.store.Read, q)
	if err != nil {
		return nil, err
	}
	out := threadView{Items: make([]commentView, len(tp.Items)), Total: a.CommentCount}
	size := 64
	for i, tc := range tp.Items {
		out.Items[i] = h.threadCommentView(tc, slug, viewer, votes)
		size += encodedSize(tc, slug)
	}
	if tp.NextCursor != "" {
		out.NextCursor = &tp.NextCursor
	}
	body, marks := encodeThread(slices.Grow(dst, size), out, record)
	return newPage(a.Version, body, marks), nil
}

// encodedSize estimates a comment's encoded bytes with its replies, so that
// the page's buffer is allocated once: the strings plus about 250 bytes of
// names, numbers and times.
func encodedSize(tc *models.ThreadComment, slug string) int {
	// HTML attributes' quotes are escaped: a byte more each.
	n := 280 + len(tc.RepliesCursor) + len(tc.BodyHTML) + len(tc.BodyHTML)/16 + len(tc.Body) + len(slug) + len(tc.AuthorUsername) + len(tc.AuthorDisplayName) + len(tc.GuestName)
	for _, r := range tc.Replies {
		n += encodedSize(r, slug)
	}
	return n
}

func (h *handler) threadCommentView(tc *models.ThreadComment, slug string, viewer *models.User, votes map[uint]int) commentView {
	v := newCommentView(threadFacts(tc), slug, viewer, votes[tc.ID])
	v.RepliesCursor = tc.RepliesCursor
	if len(tc.Replies) > 0 {
		v.Replies = make([]commentView, len(tc.Replies))
		for i, r := range tc.Replies {
			v.Replies[i] = h.threadCommentView(r, slug, viewer, votes)
		}
	}
	return v
}

// POST /api/v1/articles/:slug/comments
func (h *handler) createComment(c echo.Context) error {
	var req createCommentRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	u := currentUser(c)
	in := moderation.Submission{Slug: c.Param("slug"), Author: u, Body: req.Body, ParentID: req.ParentID, IP: c.RealIP()}
	if u == nil {
		if !h.cfg.AllowGuests {
			return errUnauthorized
		}
		in.Guest = &moderation.Guest{Name: req.GuestName, Email: req.GuestEmail}
	}
	cm, err := h.mod.Submit(c.Request().Context(), in)
	if err != nil {
		h.metrics.commentPosted("", err)
		return err
	}
	h.metrics.commentPosted(cm.Status, nil)
	h.offerGuestVerification(c, cm)
	return c.JSON(http.StatusCreated, commentEnvelope{Comment: newCommentView(factsOf(cm, u), c.Param("slug"), u, 0)})
}

// commentResponse renders one comment with its author and article slug.
func (h *handler) commentResponse(c echo.Context, cm *models.Comment) (commentEnvelope, error) {
	ctx := c.Request().Context()
	viewer := currentUser(c)
	var author *models.User
	if cm.AuthorID != nil {
		var u models.User
		if err := h.store.Read.WithContext(ctx).Select("id", "username", "display_name", "role").Take(&u, *cm.AuthorID).Error; err == nil {
			author = &u
		}
	}
	var slug string
	if err := h.store.Read.WithContext(ctx).Model(&models.Article{}).Where("id = ?", cm.ArticleID).Pluck("slug", &slug).Error; err != nil {
		return commentEnvelope{}, models.MapError(err)
	}
	myVote := 0
	if viewer != nil {
		votes, err := models.VotesOf(ctx, h.store.Read, viewer.ID, []uint{cm.ID})
		if err != nil {
			return commentEnvelope{}, err
		}
		myVote = votes[cm.ID]
	}
	return commentEnvelope{Comment: newCommentView(factsOf(cm, author), slug, viewer, myVote)}, nil
}

// GET /api/v1/comments/:id
func (h *handler) getComment(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	cm, err := h.mod.Get(c.Request().Context(), id, currentUser(c))
	if err != nil {
		return err
	}
	out, err := h.commentResponse(c, cm)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// PATCH /api/v1/comments/:id
func (h *handler) updateComment(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req updateCommentRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	cm, err := h.mod.Edit(c.Request().Context(), id, currentUser(c), req.Body)
	if err != nil {
		return err
	}
	out, err := h.commentResponse(c, cm)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// DELETE /api/v1/comments/:id
func (h *handler) deleteComment(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if err := h.mod.Delete(c.Request().Context(), id, currentUser(c)); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// PUT /api/v1/comments/:id/vote
func (h *handler) voteComment(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req voteRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.Value == nil {
		return badRequest("value is required: 1, -1 or 0", map[string]string{"value": "required"})
	}
	r, err := h.mod.Vote(c.Request().Context(), id, currentUser(c), *req.Value)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, voteView{Score: r.Score, MyVote: r.MyVote})
}
