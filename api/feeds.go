package api

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/parley-comments/parley/feeds"
	"github.com/parley-comments/parley/models"
)

// atomType is the media type of Atom documents (RFC 4287).
const atomType = "application/atom+xml; charset=utf-8"

// publicBase is where this server's links point: PARLEY_PUBLIC_URL, or the
// request's own origin.
func (h *handler) publicBase(c echo.Context) string {
	if h.cfg.PublicURL != "" {
		return strings.TrimRight(h.cfg.PublicURL, "/")
	}
	return c.Scheme() + "://" + c.Request().Host
}

func (h *handler) serveFeed(c echo.Context, f feeds.Feed, load func(context.Context) ([]feeds.Entry, error)) error {
	entries, err := load(c.Request().Context())
	if err != nil {
		return err
	}
	f.Self = h.publicBase(c) + c.Request().URL.Path
	body, err := feeds.Render(f, entries, h.cfg.Now())
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderCacheControl, "no-cache")
	return c.Blob(http.StatusOK, atomType, body)
}

// GET /api/v1/feeds/articles/:slug: the thread's latest approved comments.
func (h *handler) threadFeed(c echo.Context) error {
	var a models.Article
	err := h.store.Read.WithContext(c.Request().Context()).Select("id", "title", "url").
		Where("site_id = ? AND slug = ?", models.DefaultSite, c.Param("slug")).Take(&a).Error
	if err != nil {
		return models.MapError(err)
	}
	return h.serveFeed(c, feeds.Feed{Title: "Comments on " + a.Title, Page: a.URL}, func(ctx context.Context) ([]feeds.Entry, error) {
		return feeds.Thread(ctx, h.store.Read, a.ID)
	})
}

// GET /api/v1/feeds/sites/:site: the site's latest approved comments.
func (h *handler) siteFeed(c echo.Context) error {
	var s models.Site
	if err := h.store.Read.WithContext(c.Request().Context()).Take(&s, "id = ?", c.Param("site")).Error; err != nil {
		return models.MapError(err)
	}
	return h.serveFeed(c, feeds.Feed{Title: "Latest comments on " + s.Name}, func(ctx context.Context) ([]feeds.Entry, error) {
		return feeds.Site(ctx, h.store.Read, s.ID)
	})
}

// GET /api/v1/feeds/replies/:token: replies to the token's owner. The token
// is the credential: a feed reader cannot send a bearer token.
func (h *handler) repliesFeed(c echo.Context) error {
	userID, err := feeds.TokenUser(c.Request().Context(), h.store.Read, c.Param("token"))
	if errors.Is(err, models.ErrNotFound) {
		return models.ErrNotFound // a revoked or forged token reads as no feed
	}
	if err != nil {
		return err
	}
	return h.serveFeed(c, feeds.Feed{Title: "Replies to your comments"}, func(ctx context.Context) ([]feeds.Entry, error) {
		return feeds.Replies(ctx, h.store.Read, userID)
	})
}

type feedTokenView struct {
	URL string `json:"url"`
}

// POST /api/v1/me/replies-feed: a new private URL of the caller's replies
// feed; the previous one stops working.
func (h *handler) newRepliesFeed(c echo.Context) error {
	token, err := feeds.NewToken(c.Request().Context(), h.store, currentUser(c).ID, h.cfg.Now())
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	return c.JSON(http.StatusCreated, feedTokenView{URL: h.publicBase(c) + "/api/v1/feeds/replies/" + token})
}

// DELETE /api/v1/me/replies-feed: revoke the caller's replies feed URL.
func (h *handler) revokeRepliesFeed(c echo.Context) error {
	if err := feeds.RevokeToken(c.Request().Context(), h.store, currentUser(c).ID); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
