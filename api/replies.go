package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/parley-comments/parley/models"
)

// repliesView is a page of one top-level comment's replies, flat and oldest
// first; each reply's parent_id says where it goes.
type repliesView struct {
	Items      []commentView `json:"items"`
	NextCursor *string       `json:"next_cursor"`
}

// GET /api/v1/comments/:id/replies?cursor=&limit=
func (h *handler) listReplies(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	limit, err := pageLimit(c)
	if err != nil {
		return err
	}
	viewer := currentUser(c)
	q := models.RepliesQuery{RootID: id, Limit: limit, Cursor: c.QueryParam("cursor")}
	if viewer != nil {
		q.Viewer = models.Viewer{UserID: viewer.ID, Moderator: viewer.IsModerator()}
	}
	ctx := c.Request().Context()
	rp, err := models.LoadReplies(ctx, h.store.Read, q)
	if err != nil {
		return err
	}
	var slug string
	if err := h.store.Read.WithContext(ctx).Model(&models.Article{}).Where("id = ?", rp.ArticleID).Pluck("slug", &slug).Error; err != nil {
		return models.MapError(err)
	}
	votes := map[uint]int{}
	if viewer != nil && len(rp.IDs) > 0 {
		if votes, err = models.VotesOf(ctx, h.store.Read, viewer.ID, rp.IDs); err != nil {
			return err
		}
	}
	out := repliesView{Items: make([]commentView, len(rp.Items))}
	for i, r := range rp.Items {
		out.Items[i] = h.threadCommentView(r, slug, viewer, votes)
	}
	if rp.NextCursor != "" {
		out.NextCursor = &rp.NextCursor
	}
	return c.JSON(http.StatusOK, out)
}
