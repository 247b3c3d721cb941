package api

import (
	"fmt"
	"net/http"
	"net/url"
	"runtime/debug"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/parley-comments/parley/models"
)

const userKey = "parley.user"

// currentUser returns the signed-in user, or nil for an anonymous request.
func currentUser(c echo.Context) *models.User {
	u, _ := c.Get(userKey).(*models.User)
	return u
}

// authenticate loads the user of a bearer token. A request without one is
// anonymous; a request with a bad one is refused, so that a client learns
// its token expired instead of silently reading as a stranger.
func (h *handler) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		header := c.Request().Header.Get(echo.HeaderAuthorization)
		if header == "" {
			return next(c)
		}
		raw, ok := strings.CutPrefix(header, "Bearer ")
		if !ok || raw == "" {
			return errUnauthorized
		}
		u, err := h.accounts.Authenticate(c.Request().Context(), strings.TrimSpace(raw))
		if err != nil {
			return err
		}
		c.Set(userKey, u)
		return next(c)
	}
}

func requireUser(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if currentUser(c) == nil {
			return errUnauthorized
		}
		return next(c)
	}
}

func requireModerator(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		u := currentUser(c)
		if u == nil {
			return errUnauthorized
		}
		if !u.IsModerator() {
			return errForbidden
		}
		return next(c)
	}
}

func requireAdmin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		u := currentUser(c)
		if u == nil {
			return errUnauthorized
		}
		if u.Role != models.RoleAdmin {
			return errForbidden
		}
		return next(c)
	}
}

// recoverPanics turns a panic into a logged 500 in the error shape.
func (h *handler) recoverPanics(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				h.log.Error("panic", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				err = fmt.Errorf("panic: %v", p)
			}
		}()
		return next(c)
	}
}

// requestLog writes one structured line per request. It never logs headers
// or bodies: they carry tokens and passwords.
func (h *handler) requestLog(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		status := c.Response().Status
		h.log.Debug("request", "method", c.Request().Method, "route", c.Path(), "status", status,
			"duration_ms", float64(time.Since(start).Microseconds())/1000, "ip", c.RealIP(),
			"request_id", c.Response().Header().Get(echo.HeaderXRequestID))
		return nil
	}
}

// securityHeaders are set on every response (HARDENING.md).
func securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		hd := c.Response().Header()
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "strict-origin-when-cross-origin")
		return next(c)
	}
}

// cors (for /api/ paths; it sits on the root so preflights of any route
// reach it) answers only the sites' origins (the configured ones of the
// default site and each site's own), compared exactly, and never with
// credentials: the API is called with bearer tokens, not cookies.
func (h *handler) cors() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if !strings.HasPrefix(c.Request().URL.Path, "/api/") {
				return next(c)
			}
			origin := c.Request().Header.Get(echo.HeaderOrigin)
			hd := c.Response().Header()
			hd.Add(echo.HeaderVary, echo.HeaderOrigin)
			ok := false
			if origin != "" {
				allowed, err := h.sites.Origins(c.Request().Context())
				if err != nil {
					return err
				}
				ok = slices.Contains(allowed, origin)
			}
			if ok {
				hd.Set(echo.HeaderAccessControlAllowOrigin, origin)
				hd.Set(echo.HeaderAccessControlExposeHeaders, "Retry-After, ETag, X-Request-Id")
			}
			if c.Request().Method == http.MethodOptions && c.Request().Header.Get(echo.HeaderAccessControlRequestMethod) != "" {
				if !ok {
					return c.NoContent(http.StatusForbidden)
				}
				hd.Add(echo.HeaderVary, echo.HeaderAccessControlRequestMethod)
				hd.Add(echo.HeaderVary, echo.HeaderAccessControlRequestHeaders)
				hd.Set(echo.HeaderAccessControlAllowMethods, "GET, POST, PUT, PATCH, DELETE")
				hd.Set(echo.HeaderAccessControlAllowHeaders, "Authorization, Content-Type, If-None-Match")
				hd.Set(echo.HeaderAccessControlMaxAge, "600")
				return c.NoContent(http.StatusNoContent)
			}
			return next(c)
		}
	}
}

// saneURL refuses paths and queries with NUL bytes or invalid UTF-8 before
// any handler sees them: no valid slug, id or parameter contains them, and
// PostgreSQL would reject them deep inside a query.
func saneURL(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		u := c.Request().URL
		for _, s := range []string{u.Path, u.RawQuery, c.QueryString()} {
			if strings.Contains(s, "\x00") || strings.Contains(strings.ToLower(s), "%00") || !utf8.ValidString(s) {
				return badRequest("the URL contains a NUL byte or invalid UTF-8", nil)
			}
		}
		if q, err := url.QueryUnescape(u.RawQuery); err == nil && !utf8.ValidString(q) {
			return badRequest("the URL contains invalid UTF-8", nil)
		}
		return next(c)
	}
}
