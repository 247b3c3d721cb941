package api

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/parley-comments/parley/models"
	"github.com/parley-comments/parley/sites"
)

type siteView struct {
	ID          string          `json:"id"`
	Name        string          `json:"name"`
	Origins     []string        `json:"origins"`
	AutoThreads bool            `json:"auto_threads"`
	KeepQuery   bool            `json:"keep_query"`
	Rules       json.RawMessage `json:"rules"` // null: the global rules
	// ConfiguredOrigins are the default site's origins from
	// PARLEY_ALLOWED_ORIGINS, which hold beside the stored ones.
	ConfiguredOrigins []string  `json:"configured_origins,omitempty"`
	CreatedAt         time.Time `json:"created_at"`
	UpdatedAt         time.Time `json:"updated_at"`
}

type siteEnvelope struct {
	Site siteView `json:"site"`
}

type siteList struct {
	Items      []siteView `json:"items"`
	NextCursor *string    `json:"next_cursor"`
}

// siteRequest is the body of POST /sites and PATCH /sites/{site}. Rules is
// kept raw to tell a missing field (no change) from null (the global rules).
type siteRequest struct {
	ID          string          `json:"id"`
	Name        *string         `json:"name"`
	Origins     *[]string       `json:"origins"`
	AutoThreads *bool           `json:"auto_threads"`
	KeepQuery   *bool           `json:"keep_query"`
	Rules       json.RawMessage `json:"rules"`
}

type moderatorSitesView struct {
	UserID uint     `json:"user_id"`
	Sites  []string `json:"sites"`
}

type moderatorSitesRequest struct {
	Sites []string `json:"sites"`
}

func (r siteRequest) patch() sites.Patch {
	p := sites.Patch{Name: r.Name, Origins: r.Origins, AutoThreads: r.AutoThreads, KeepQuery: r.KeepQuery}
	if r.Rules != nil {
		doc := string(r.Rules)
		if doc == "null" {
			doc = ""
		}
		p.Rules = &doc
	}
	return p
}

func (h *handler) newSiteView(s *models.Site) siteView {
	v := siteView{ID: s.ID, Name: s.Name, Origins: s.Origins, AutoThreads: s.AutoThreads, KeepQuery: s.KeepQuery,
		Rules: json.RawMessage("null"), CreatedAt: s.CreatedAt.UTC(), UpdatedAt: s.UpdatedAt.UTC()}
	if v.Origins == nil {
		v.Origins = []string{}
	}
	if s.Rules != "" {
		v.Rules = json.RawMessage(s.Rules)
	}
	if s.ID == models.DefaultSite {
		v.ConfiguredOrigins = h.sites.Configured
	}
	return v
}

// registerSites adds the sites and the threads keyed by page.
func (h *handler) registerSites(g *echo.Group, rl *rateLimits) {
	g.GET("/sites", h.listSites, requireModerator)
	g.POST("/sites", h.createSite, requireAdmin)
	g.GET("/sites/:site", h.getSite, requireModerator)
	g.PATCH("/sites/:site", h.updateSite, requireAdmin)
	g.DELETE("/sites/:site", h.deleteSite, requireAdmin)
	g.GET("/admin/users/:id/sites", h.getModeratorSites, requireAdmin)
	g.PUT("/admin/users/:id/sites", h.putModeratorSites, requireAdmin)

	g.GET("/sites/:site/thread", h.getThread)
	g.GET("/sites/:site/comments", h.listThreadComments)
	g.POST("/sites/:site/comments", h.createThreadComment(rl), rl.posting)
	g.GET("/sites/:site/counts", h.threadCounts)
	g.GET("/sites/:site/fragment", h.threadFragment)
}

// queueSites returns the sites a queue or its counts cover: ?site= when
// given (one the caller moderates), else the caller's sites, nil for all.
func (h *handler) queueSites(c echo.Context) ([]string, error) {
	mine, err := h.mod.SitesOf(c.Request().Context(), currentUser(c))
	if err != nil {
		return nil, err
	}
	site := c.QueryParam("site")
	switch {
	case site == "":
		return mine, nil
	case mine != nil && !slices.Contains(mine, site):
		return nil, errForbidden
	}
	return []string{site}, nil
}

// GET /api/v1/sites: every site for admins and unrestricted moderators, a
// restricted moderator's own sites otherwise.
func (h *handler) listSites(c echo.Context) error {
	limit, err := pageLimit(c)
	if err != nil {
		return err
	}
	var after string
	if cur := c.QueryParam("cursor"); cur != "" {
		raw, err := base64.RawURLEncoding.DecodeString(cur)
		if err != nil || len(raw) < 2 || raw[0] != 's' {
			return models.ErrBadCursor
		}
		after = string(raw[1:])
	}
	mine, err := h.mod.SitesOf(c.Request().Context(), currentUser(c))
	if err != nil {
		return err
	}
	rows, err := sites.List(c.Request().Context(), h.store.Read, after, limit+1, mine)
	if err != nil {
		return err
	}
	out := siteList{Items: make([]siteView, 0, len(rows))}
	if len(rows) > limit {
		rows = rows[:limit]
		cur := base64.RawURLEncoding.EncodeToString([]byte("s" + rows[limit-1].ID))
		out.NextCursor = &cur
	}
	for i := range rows {
		out.Items = append(out.Items, h.newSiteView(&rows[i]))
	}
	return c.JSON(http.StatusOK, out)
}

// POST /api/v1/sites
func (h *handler) createSite(c echo.Context) error {
	var req siteRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	s, err := sites.Create(c.Request().Context(), h.store, req.ID, req.patch(), h.cfg.Now().UTC())
	if err != nil {
		return err
	}
	h.sites.Forget()
	return c.JSON(http.StatusCreated, siteEnvelope{Site: h.newSiteView(s)})
}

// GET /api/v1/sites/:site
func (h *handler) getSite(c echo.Context) error {
	id := c.Param("site")
	mine, err := h.mod.SitesOf(c.Request().Context(), currentUser(c))
	if err != nil {
		return err
	}
	if mine != nil && !slices.Contains(mine, id) {
		return errForbidden
	}
	s, err := sites.Get(c.Request().Context(), h.store.Read, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, siteEnvelope{Site: h.newSiteView(s)})
}

// PATCH /api/v1/sites/:site
func (h *handler) updateSite(c echo.Context) error {
	var req siteRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	id := c.Param("site")
	s, err := sites.Update(c.Request().Context(), h.store, id, req.patch(), h.cfg.Now().UTC())
	if err != nil {
		return err
	}
	h.sites.Forget()
	h.mod.ForgetSiteRules(id)
	return c.JSON(http.StatusOK, siteEnvelope{Site: h.newSiteView(s)})
}

// DELETE /api/v1/sites/:site
func (h *handler) deleteSite(c echo.Context) error {
	if err := sites.Delete(c.Request().Context(), h.store, c.Param("site")); err != nil {
		return err
	}
	h.sites.Forget()
	return c.NoContent(http.StatusNoContent)
}

// GET /api/v1/admin/users/:id/sites
func (h *handler) getModeratorSites(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var n int64
	if err := h.store.Read.WithContext(c.Request().Context()).Model(&models.User{}).Where("id = ?", id).Count(&n).Error; err != nil {
		return models.MapError(err)
	}
	if n == 0 {
		return models.ErrNotFound
	}
	ids, err := sites.ModeratedBy(c.Request().Context(), h.store.Read, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, moderatorSitesView{UserID: id, Sites: ids})
}

// PUT /api/v1/admin/users/:id/sites
func (h *handler) putModeratorSites(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req moderatorSitesRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.Sites == nil {
		return badRequest("sites is required: a list of site ids, empty for every site", map[string]string{"sites": "required"})
	}
	ids, err := sites.SetModeratedBy(c.Request().Context(), h.store, id, req.Sites)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, moderatorSitesView{UserID: id, Sites: ids})
}
