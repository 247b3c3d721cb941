package api

import (
	"context"
	_ "embed"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/parley-comments/parley/identity"
)

type statusView struct {
	Status string `json:"status"`
}

// GET /healthz: the process is up.
func (h *handler) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, statusView{Status: "ok"})
}

// GET /readyz: the database answers.
func (h *handler) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	if err := h.store.Ping(ctx); err != nil {
		c.Response().Header().Set("Retry-After", "1")
		return c.JSON(http.StatusServiceUnavailable, errorBody{Error: apiError{Code: "unavailable", Message: "database unreachable"}})
	}
	return c.JSON(http.StatusOK, statusView{Status: "ready"})
}

type configView struct {
	AllowGuests       bool `json:"allow_guests"`
	EditWindowMinutes int  `json:"edit_window_minutes"`
	MaxBodyChars      int  `json:"max_body_chars"`
	// Mail-based features: on only when an SMTP server is configured.
	EmailVerification bool `json:"email_verification"`
	MagicLinks        bool `json:"magic_links"`
	PasswordReset     bool `json:"password_reset"`
	// Providers are the outside sign-in providers, in configuration order.
	Providers []providerView `json:"providers"`
}

type providerView struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// GET /api/v1/config: what the widget needs to know to draw its forms.
func (h *handler) publicConfig(c echo.Context) error {
	r, err := h.mod.RulesFor(c.Request().Context(), c.QueryParam("site"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, configView{AllowGuests: h.cfg.AllowGuests, EditWindowMinutes: r.EditWindowMinutes, MaxBodyChars: r.MaxBodyChars,
		EmailVerification: h.cfg.Mail, MagicLinks: h.cfg.Mail, PasswordReset: h.cfg.Mail, Providers: h.providerViews()})
}

func (h *handler) providerViews() []providerView {
	out := []providerView{}
	for _, p := range h.identity.Providers() {
		out = append(out, providerView{ID: p, Name: identity.ProviderLabel(p)})
	}
	return out
}
