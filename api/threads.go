package api

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/parley-comments/parley/models"
	"github.com/parley-comments/parley/moderation"
	"github.com/parley-comments/parley/sites"
)

// maxCountKeys bounds one counts request: an index page's posts.
const maxCountKeys = 100

type threadCommentRequest struct {
	Key        string `json:"key"`
	Title      string `json:"title"`
	URL        string `json:"url"`
	Body       string `json:"body"`
	ParentID   *uint  `json:"parent_id"`
	GuestName  string `json:"guest_name"`
	GuestEmail string `json:"guest_email"`
}

// siteKey resolves the site of the path and normalizes a thread key by its rules.
func (h *handler) siteKey(c echo.Context, raw string) (models.Site, string, error) {
	s, err := h.sites.Site(c.Request().Context(), c.Param("site"))
	if err != nil {
		return s, "", err
	}
	key, err := sites.NormalizeKey(raw, s.KeepQuery)
	return s, key, err
}

// ownOrigin is the origin this request reached Parley on.
func ownOrigin(c echo.Context) string {
	return c.Scheme() + "://" + c.Request().Host
}

// GET /api/v1/sites/:site/thread?key=K: the page's article, 404 until its first comment.
func (h *handler) getThread(c echo.Context) error {
	s, key, err := h.siteKey(c, c.QueryParam("key"))
	if err != nil {
		return err
	}
	var a models.Article
	if err := h.store.Read.WithContext(c.Request().Context()).Where("site_id = ? AND slug = ?", s.ID, key).Take(&a).Error; err != nil {
		return models.MapError(err)
	}
	return c.JSON(http.StatusOK, articleEnvelope{Article: newArticleView(&a)})
}

// GET /api/v1/sites/:site/comments?key=K: like an article's comments; a page
// without a thread yet reads as an empty one, and nothing is written.
func (h *handler) listThreadComments(c echo.Context) error {
	s, key, err := h.siteKey(c, c.QueryParam("key"))
	if err != nil {
		return err
	}
	q, err := threadQuery(c)
	if err != nil {
		return err
	}
	a, err := h.threadArticle(c.Request().Context(), s.ID, key)
	if errors.Is(err, models.ErrNotFound) {
		c.Response().Header().Set(echo.HeaderCacheControl, "no-cache")
		return c.JSON(http.StatusOK, threadView{Items: []commentView{}})
	}
	if err != nil {
		return err
	}
	return h.serveThread(c, a, key, q)
}

// POST /api/v1/sites/:site/comments: a comment on the page's thread, which
// the first comment creates when the site allows it (see sites.Open).
func (h *handler) createThreadComment(rl *rateLimits) echo.HandlerFunc {
	return func(c echo.Context) error {
		var req threadCommentRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		s, key, err := h.siteKey(c, req.Key)
		if err != nil {
			return err
		}
		ctx := c.Request().Context()
		u := currentUser(c)
		in := moderation.Submission{Site: s.ID, Slug: key, Author: u, Body: req.Body, ParentID: req.ParentID, IP: c.RealIP()}
		if u == nil {
			if !h.cfg.AllowGuests {
				return errUnauthorized
			}
			in.Guest = &moderation.Guest{Name: req.GuestName, Email: req.GuestEmail}
		}
		_, err = models.ThreadArticle(ctx, h.store.Read, s.ID, key)
		switch {
		case errors.Is(err, models.ErrNotFound):
			visit := sites.Visit{Origin: c.Request().Header.Get(echo.HeaderOrigin), Own: ownOrigin(c), URL: req.URL, Title: req.Title, Key: key}
			if in.Open, err = sites.Open(s, visit); err != nil {
				return err
			}
			if err := rl.openThread(c); err != nil {
				return err
			}
		case err != nil:
			return err
		}
		cm, err := h.mod.Submit(ctx, in)
		if err != nil {
			h.metrics.commentPosted("", err)
			return err
		}
		h.metrics.commentPosted(cm.Status, nil)
		h.offerGuestVerification(c, cm)
		return c.JSON(http.StatusCreated, commentEnvelope{Comment: newCommentView(factsOf(cm, u), key, u, 0)})
	}
}

// GET /api/v1/sites/:site/counts?key=A&key=B: public comment counts of
// pages, keyed as asked; pages without a thread count 0.
func (h *handler) threadCounts(c echo.Context) error {
	raw := c.QueryParams()["key"]
	switch {
	case len(raw) == 0:
		return badRequest("key is required: one key= parameter per page", map[string]string{"key": "required"})
	case len(raw) > maxCountKeys:
		return badRequest("at most 100 keys", map[string]string{"key": "at most 100"})
	}
	s, err := h.sites.Site(c.Request().Context(), c.Param("site"))
	if err != nil {
		return err
	}
	out := make(map[string]int, len(raw))
	asked := make(map[string][]string, len(raw)) // normalized key → the keys as asked
	keys := make([]string, 0, len(raw))
	for _, r := range raw {
		k, err := sites.NormalizeKey(r, s.KeepQuery)
		if err != nil {
			return err
		}
		out[r] = 0
		if asked[k] == nil {
			keys = append(keys, k)
		}
		asked[k] = append(asked[k], r)
	}
	var rows []struct {
		Slug         string
		CommentCount int
	}
	if err := h.store.Read.WithContext(c.Request().Context()).Model(&models.Article{}).Select("slug", "comment_count").
		Where("site_id = ? AND slug IN ?", s.ID, keys).Scan(&rows).Error; err != nil {
		return models.MapError(err)
	}
	for _, r := range rows {
		for _, k := range asked[r.Slug] {
			out[k] = r.CommentCount
		}
	}
	c.Response().Header().Set(echo.HeaderCacheControl, "public, max-age=30")
	return c.JSON(http.StatusOK, out)
}
