package api

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
	"gorm.io/gorm"

	"github.com/parley-comments/parley/fault"
	"github.com/parley-comments/parley/markup"
	"github.com/parley-comments/parley/models"
	"github.com/parley-comments/parley/names"
)

type profileRequest struct {
	DisplayName *string `json:"display_name"`
}

type deleteAccountRequest struct {
	Comments string `json:"comments"` // "keep" (signed "deleted user") or "delete"
}

type myCommentView struct {
	ID          uint       `json:"id"`
	ArticleSlug string     `json:"article_slug"`
	ParentID    *uint      `json:"parent_id"`
	Body        string     `json:"body"`
	BodyHTML    string     `json:"body_html"`
	Status      string     `json:"status"`
	Score       int        `json:"score"`
	CreatedAt   time.Time  `json:"created_at"`
	EditedAt    *time.Time `json:"edited_at"`
	Shadow      bool       `json:"-"`
}

type myCommentsView struct {
	Items      []myCommentView `json:"items"`
	NextCursor *string         `json:"next_cursor"`
}

type exportView struct {
	ExportedAt time.Time       `json:"exported_at"`
	User       userView        `json:"user"`
	Comments   []myCommentView `json:"comments"`
	Votes      []exportVote    `json:"votes"`
	Flags      []exportFlag    `json:"flags"`
	Identities []identityView  `json:"identities"`
}

type exportVote struct {
	CommentID uint      `json:"comment_id"`
	Value     int       `json:"value"`
	CreatedAt time.Time `json:"created_at"`
}

type exportFlag struct {
	CommentID uint      `json:"comment_id"`
	Reason    string    `json:"reason"`
	Note      string    `json:"note"`
	CreatedAt time.Time `json:"created_at"`
}

// PATCH /api/v1/me: the signed-in user's display name.
func (h *handler) updateProfile(c echo.Context) error {
	var req profileRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	u := currentUser(c)
	if req.DisplayName != nil {
		name := markup.CleanName(*req.DisplayName)
		if n := utf8.RuneCountInString(name); n < 1 || n > 64 {
			return badRequest("display_name must be 1 to 64 characters", map[string]string{"display_name": "1 to 64 characters"})
		}
		if err := names.Check(c.Request().Context(), h.store.Read, name, u.Username); errors.Is(err, names.ErrLookalike) {
			return badRequest("the display name "+err.Error(), map[string]string{"display_name": err.Error()})
		} else if err != nil {
			return err
		}
		err := h.store.WriteTx(c.Request().Context(), func(tx *gorm.DB) error {
			return tx.Model(&models.User{}).Where("id = ?", u.ID).Updates(map[string]any{"display_name": name, "updated_at": h.cfg.Now().UTC()}).Error
		})
		if err != nil {
			return err
		}
		u.DisplayName = name
	}
	return c.JSON(http.StatusOK, meView{User: newUserView(u, u)})
}

// rowsOfMyComments reads a page of the user's comments, newest first: the
// ones they can see anywhere else (not rejected or spam), or with all set
// (the export), every one. A shadow-banned comment reads as its author
// sees it in the thread: approved.
func (h *handler) rowsOfMyComments(c echo.Context, userID uint, before uint, limit int, all bool) ([]myCommentView, error) {
	q := h.store.Read.WithContext(c.Request().Context()).Table("comments").
		Select("comments.id, articles.slug AS article_slug, comments.parent_id, comments.body, comments.body_html, comments.status, comments.score, comments.created_at, comments.edited_at, comments.shadow").
		Joins("JOIN articles ON articles.id = comments.article_id").
		Where("comments.author_id = ?", userID).Order("comments.id DESC")
	if before > 0 {
		q = q.Where("comments.id < ?", before)
	}
	if !all {
		q = q.Where("comments.status NOT IN ?", []string{models.StatusRejected, models.StatusSpam})
	}
	if limit > 0 {
		q = q.Limit(limit)
	}
	rows := []myCommentView{}
	if err := q.Scan(&rows).Error; err != nil {
		return nil, models.MapError(err)
	}
	for i := range rows {
		rows[i].CreatedAt = rows[i].CreatedAt.UTC()
		if rows[i].Shadow {
			rows[i].Status = models.StatusApproved
		}
	}
	return rows, nil
}

// GET /api/v1/me/comments: the signed-in user's comments, newest first,
// whatever their status.
func (h *handler) listMyComments(c echo.Context) error {
	limit, err := pageLimit(c)
	if err != nil {
		return err
	}
	var before uint
	if cur := c.QueryParam("cursor"); cur != "" {
		raw, err := base64.RawURLEncoding.DecodeString(cur)
		n, err2 := strconv.ParseUint(string(raw), 10, 32)
		if err != nil || err2 != nil || n == 0 {
			return models.ErrBadCursor
		}
		before = uint(n)
	}
	rows, err := h.rowsOfMyComments(c, currentUser(c).ID, before, limit+1, false)
	if err != nil {
		return err
	}
	v := myCommentsView{Items: rows}
	if len(rows) > limit {
		v.Items = rows[:limit]
		next := base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatUint(uint64(rows[limit-1].ID), 10)))
		v.NextCursor = &next
	}
	return c.JSON(http.StatusOK, v)
}

// GET /api/v1/me/export: everything stored about the signed-in user, as
// one JSON document to download.
func (h *handler) exportMe(c echo.Context) error {
	u := currentUser(c)
	ctx := c.Request().Context()
	comments, err := h.rowsOfMyComments(c, u.ID, 0, 0, true)
	if err != nil {
		return err
	}
	v := exportView{ExportedAt: h.cfg.Now().UTC(), User: newUserView(u, u), Comments: comments, Votes: []exportVote{}, Flags: []exportFlag{}, Identities: []identityView{}}
	db := h.store.Read.WithContext(ctx)
	if err := db.Model(&models.Vote{}).Select("comment_id, value, created_at").Where("user_id = ?", u.ID).Order("created_at").Scan(&v.Votes).Error; err != nil {
		return models.MapError(err)
	}
	if err := db.Model(&models.Flag{}).Select("comment_id, reason, note, created_at").Where("user_id = ?", u.ID).Order("id").Scan(&v.Flags).Error; err != nil {
		return models.MapError(err)
	}
	ids, err := h.identity.Identities(ctx, u)
	if err != nil {
		return err
	}
	for _, id := range ids {
		v.Identities = append(v.Identities, identityView{ID: id.ID, Provider: id.Provider, Email: id.Email, CreatedAt: id.CreatedAt.UTC()})
	}
	c.Response().Header().Set("Content-Disposition", `attachment; filename="parley-`+u.Username+`.json"`)
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, v)
}

// DELETE /api/v1/me: delete the signed-in account; the body says what
// becomes of its comments.
func (h *handler) deleteMe(c echo.Context) error {
	var req deleteAccountRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.Comments != "keep" && req.Comments != "delete" {
		return badRequest(`comments must be "keep" (signed "deleted user") or "delete"`, map[string]string{"comments": `"keep" or "delete"`})
	}
	u := currentUser(c)
	if u.Role == models.RoleAdmin {
		return fault.New(fault.Forbidden, "an admin account cannot delete itself; give the role to someone else first")
	}
	if err := h.mod.EraseUser(c.Request().Context(), u.ID, req.Comments == "delete"); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
