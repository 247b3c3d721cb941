package api

import (
	"bytes"
	"io"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/parley-comments/parley/models"
	"github.com/parley-comments/parley/moderation"
)

// registerModeration adds the moderation routes (moderators and admins) and
// the admin's role change. Each route carries its own guard rather than a
// group's, so an unknown path under /moderation stays a plain 404.
func (h *handler) registerModeration(g *echo.Group) {
	g.GET("/moderation/queue", h.moderationQueue, requireModerator)
	g.GET("/moderation/stats", h.moderationStats, requireModerator)
	for _, action := range []string{moderation.ActionApprove, moderation.ActionReject, moderation.ActionSpam, moderation.ActionRestore} {
		g.POST("/moderation/comments/:id/"+action, h.moderateComment(action), requireModerator)
	}
	g.POST("/moderation/bulk", h.bulkModerate, requireModerator)
	g.POST("/moderation/users/:id/ban", h.banUser, requireModerator)
	g.DELETE("/moderation/users/:id/ban", h.unbanUser, requireModerator)
	g.GET("/moderation/log", h.moderationLog, requireModerator)
	g.GET("/moderation/rules", h.getRules, requireModerator)
	g.PUT("/moderation/rules", h.putRules, requireAdmin)
	g.PATCH("/admin/users/:id", h.updateUser, requireAdmin)
}

type flagRequest struct {
	Reason string `json:"reason"`
	Note   string `json:"note"`
}

type flagView struct {
	ID        uint      `json:"id"`
	Reason    string    `json:"reason"`
	Note      string    `json:"note"`
	CreatedAt time.Time `json:"created_at"`
}

type flagEnvelope struct {
	Flag flagView `json:"flag"`
}

type queueView struct {
	Items      []queueItemView `json:"items"`
	NextCursor *string         `json:"next_cursor"`
}

type queueItemView struct {
	Comment commentView      `json:"comment"`
	Article queueArticleView `json:"article"`
	Author  *authorView      `json:"author"`
	Flags   flagCountsView   `json:"flags"`
	Holds   []string         `json:"holds"`
}

type queueArticleView struct {
	Site  string `json:"site"`
	Slug  string `json:"slug"`
	Title string `json:"title"`
}

type flagCountsView struct {
	Count   int            `json:"count"`
	Reasons map[string]int `json:"reasons"`
	Notes   []flagNoteView `json:"notes"`
}

type flagNoteView struct {
	Reason string `json:"reason"`
	Note   string `json:"note"`
}

type statsView struct {
	Pending  int `json:"pending"`
	Flagged  int `json:"flagged"`
	Spam     int `json:"spam"`
	Rejected int `json:"rejected"`
}

type actionRequest struct {
	Reason string `json:"reason"`
}

type bulkRequest struct {
	IDs    []uint `json:"ids"`
	Action string `json:"action"`
	Reason string `json:"reason"`
}

type bulkView struct {
	Updated int `json:"updated"`
}

type banRequest struct {
	Reason        string `json:"reason"`
	Shadow        bool   `json:"shadow"`
	DurationHours *int   `json:"duration_hours"`
	Purge         bool   `json:"purge"`
}

type roleRequest struct {
	Role string `json:"role"`
}

// moderatedUserView is the user as moderators see it: the usual view plus
// the ban in force (null when none) and when it ends (null when never).
type moderatedUserView struct {
	userView
	Ban         *string    `json:"ban"`
	BannedUntil *time.Time `json:"banned_until"`
}

type moderatedUserEnvelope struct {
	User moderatedUserView `json:"user"`
}

type userRefView struct {
	ID          uint   `json:"id"`
	Username    string `json:"username"`
	DisplayName string `json:"display_name"`
}

type logView struct {
	Items      []logEntryView `json:"items"`
	NextCursor *string        `json:"next_cursor"`
}

type logEntryView struct {
	ID         uint        `json:"id"`
	At         time.Time   `json:"at"`
	Moderator  userRefView `json:"moderator"`
	Action     string      `json:"action"`
	TargetType string      `json:"target_type"`
	TargetID   uint        `json:"target_id"`
	Reason     string      `json:"reason"`
}

func (h *handler) newModeratedUserView(u *models.User, viewer *models.User) moderatedUserView {
	v := moderatedUserView{userView: newUserView(u, viewer)}
	if kind := u.ActiveBan(h.mod.Now()); kind != models.BanNone {
		v.Ban, v.BannedUntil = &kind, utc(u.BannedUntil)
	}
	return v
}

func cursorOrNil(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// decodeOptionalJSON is decodeJSON for a body the client may leave out.
func decodeOptionalJSON(c echo.Context, v any) error {
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return err // the body limit's 413, mapped by the error handler
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	c.Request().Body = io.NopCloser(bytes.NewReader(body))
	return decodeJSON(c, v)
}

// POST /api/v1/comments/:id/flags
func (h *handler) flagComment(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req flagRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	f, err := h.mod.Flag(c.Request().Context(), id, currentUser(c), req.Reason, req.Note)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, flagEnvelope{Flag: flagView{ID: f.ID, Reason: f.Reason, Note: f.Note, CreatedAt: f.CreatedAt.UTC()}})
}

// GET /api/v1/moderation/queue
func (h *handler) moderationQueue(c echo.Context) error {
	limit, err := pageLimit(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	sites, err := h.queueSites(c)
	if err != nil {
		return err
	}
	page, err := h.mod.Queue(ctx, moderation.QueueQuery{State: c.QueryParam("state"), Article: c.QueryParam("article"),
		Sites: sites, Sort: c.QueryParam("sort"), Limit: limit, Cursor: c.QueryParam("cursor")})
	if err != nil {
		return err
	}
	viewer := currentUser(c)
	votes := map[uint]int{}
	if len(page.Items) > 0 {
		ids := make([]uint, len(page.Items))
		for i, it := range page.Items {
			ids[i] = it.Comment.ID
		}
		if votes, err = models.VotesOf(ctx, h.store.Read, viewer.ID, ids); err != nil {
			return err
		}
	}
	out := queueView{Items: make([]queueItemView, len(page.Items)), NextCursor: cursorOrNil(page.NextCursor)}
	for i, it := range page.Items {
		out.Items[i] = queueItemView{
			Comment: newCommentView(factsOf(&it.Comment, it.Author), it.ArticleSlug, viewer, votes[it.Comment.ID]),
			Article: queueArticleView{Site: it.ArticleSite, Slug: it.ArticleSlug, Title: it.ArticleTitle},
			Author:  queueAuthor(it),
			Flags:   newFlagCountsView(it.Flags),
			Holds:   it.Holds,
		}
	}
	return c.JSON(http.StatusOK, out)
}

// queueAuthor is {id, username, display_name} for a user, {guest_name} for a
// guest, and null when neither is left (a deleted account).
func queueAuthor(it moderation.QueueItem) *authorView {
	switch {
	case it.Author != nil:
		return &authorView{ID: it.Author.ID, Username: it.Author.Username, DisplayName: it.Author.DisplayName, EmailVerified: &it.EmailVerified}
	case it.Comment.GuestName != "":
		return &authorView{GuestName: it.Comment.GuestName, EmailVerified: &it.EmailVerified}
	}
	return nil
}

// GET /api/v1/moderation/stats
func (h *handler) moderationStats(c echo.Context) error {
	sites, err := h.queueSites(c)
	if err != nil {
		return err
	}
	st, err := h.mod.Stats(c.Request().Context(), sites)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, statsView{Pending: st.Pending, Flagged: st.Flagged, Spam: st.Spam, Rejected: st.Rejected})
}

// POST /api/v1/moderation/comments/:id/{approve,reject,spam,restore}
func (h *handler) moderateComment(action string) echo.HandlerFunc {
	return func(c echo.Context) error {
		id, err := pathID(c, "id")
		if err != nil {
			return err
		}
		var req actionRequest
		if err := decodeOptionalJSON(c, &req); err != nil {
			return err
		}
		cm, err := h.mod.Moderate(c.Request().Context(), id, currentUser(c), action, req.Reason)
		if err != nil {
			return err
		}
		out, err := h.commentResponse(c, cm)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, out)
	}
}

// POST /api/v1/moderation/bulk
func (h *handler) bulkModerate(c echo.Context) error {
	var req bulkRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	n, err := h.mod.Bulk(c.Request().Context(), req.IDs, currentUser(c), req.Action, req.Reason)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, bulkView{Updated: n})
}

// POST /api/v1/moderation/users/:id/ban
func (h *handler) banUser(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req banRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	viewer := currentUser(c)
	u, err := h.mod.Ban(c.Request().Context(), id, viewer, moderation.BanRequest{Reason: req.Reason, Shadow: req.Shadow,
		DurationHours: req.DurationHours, Purge: req.Purge})
	if err != nil {
		return err
	}
	h.securityEvent(c, eventBan, "user_id", u.ID, "moderator_id", viewer.ID, "shadow", req.Shadow, "purge", req.Purge)
	return c.JSON(http.StatusOK, moderatedUserEnvelope{User: h.newModeratedUserView(u, viewer)})
}

// DELETE /api/v1/moderation/users/:id/ban
func (h *handler) unbanUser(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if err := h.mod.Unban(c.Request().Context(), id, currentUser(c)); err != nil {
		return err
	}
	h.securityEvent(c, eventUnban, "user_id", id, "moderator_id", currentUser(c).ID)
	return c.NoContent(http.StatusNoContent)
}

// GET /api/v1/moderation/log
func (h *handler) moderationLog(c echo.Context) error {
	limit, err := pageLimit(c)
	if err != nil {
		return err
	}
	sites, err := h.mod.SitesOf(c.Request().Context(), currentUser(c))
	if err != nil {
		return err
	}
	page, err := h.mod.Log(c.Request().Context(), limit, c.QueryParam("cursor"), sites)
	if err != nil {
		return err
	}
	out := logView{Items: make([]logEntryView, len(page.Items)), NextCursor: cursorOrNil(page.NextCursor)}
	for i, e := range page.Items {
		out.Items[i] = logEntryView{ID: e.ID, At: e.At.UTC(), Action: e.Action, TargetType: e.TargetType, TargetID: e.TargetID, Reason: e.Reason,
			Moderator: userRefView{ID: e.ModeratorID, Username: e.ModeratorUsername, DisplayName: e.ModeratorDisplayName}}
	}
	return c.JSON(http.StatusOK, out)
}

// GET /api/v1/moderation/rules
func (h *handler) getRules(c echo.Context) error {
	r, err := h.mod.Rules(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, r)
}

// PUT /api/v1/moderation/rules
func (h *handler) putRules(c echo.Context) error {
	// The whole object is expected; a field left out takes its default.
	r := moderation.DefaultRules()
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	saved, err := h.mod.SaveRules(c.Request().Context(), currentUser(c).ID, r)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, saved)
}

// PATCH /api/v1/admin/users/:id
func (h *handler) updateUser(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req roleRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	viewer := currentUser(c)
	u, err := h.mod.SetRole(c.Request().Context(), id, viewer, req.Role)
	if err != nil {
		return err
	}
	h.securityEvent(c, eventRoleChange, "user_id", u.ID, "admin_id", viewer.ID, "role", u.Role)
	return c.JSON(http.StatusOK, moderatedUserEnvelope{User: h.newModeratedUserView(u, viewer)})
}

func newFlagCountsView(f moderation.FlagCounts) flagCountsView {
	v := flagCountsView{Count: f.Count, Reasons: f.Reasons, Notes: make([]flagNoteView, len(f.Notes))}
	for i, n := range f.Notes {
		v.Notes[i] = flagNoteView{Reason: n.Reason, Note: n.Note}
	}
	return v
}
