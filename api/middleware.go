package api

import (
	"context"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"runtime/debug"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/parley-comments/parley/fault"
	"github.com/parley-comments/parley/models"
)

const userKey = "parley.user"

// currentUser returns the signed-in user, or nil for an anonymous request.
func currentUser(c echo.Context) *models.User {
	u, _ := c.Get(userKey).(*models.User)
	return u
}

// authenticate loads the user of a bearer token on API routes. A request
// without one is anonymous; a request with a bad one is refused, so that a
// client learns its token expired instead of silently reading as a stranger.
func (h *handler) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		header := c.Request().Header.Get(echo.HeaderAuthorization)
		if header == "" || !strings.HasPrefix(c.Path(), "/api/") {
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
				h.log.ErrorContext(c.Request().Context(), "panic", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				err = fmt.Errorf("panic: %v", p)
			}
		}()
		return next(c)
	}
}

// requestLog writes one structured line per request (unless
// Config.QuietRequests), with its id from the context. It never logs
// headers, queries or bodies: they carry tokens and passwords.
func (h *handler) requestLog(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		if h.cfg.QuietRequests {
			return nil
		}
		h.log.LogAttrs(c.Request().Context(), slog.LevelInfo, "request",
			slog.String("method", methodLabel(c.Request().Method)), slog.String("route", c.Path()),
			slog.Int("status", c.Response().Status), slog.Int64("bytes", c.Response().Size),
			slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000), slog.String("ip", c.RealIP()))
		return nil
	}
}

// cspNothing is the policy of every response that is not a page (JSON,
// health, metrics, errors): it loads nothing and may not be framed, so a
// response opened as a document can do no harm. Pages set their own.
const cspNothing = "default-src 'none'; frame-ancestors 'none'"

// permissionsPolicy turns off the powerful browser features no Parley page
// uses, so a script that got in could not ask for them either.
const permissionsPolicy = "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), payment=(), usb=(), interest-cohort=()"

// securityHeaders are set on every response.
func securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		hd := c.Response().Header()
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "strict-origin-when-cross-origin")
		hd.Set("Content-Security-Policy", cspNothing)
		hd.Set("Permissions-Policy", permissionsPolicy)
		return next(c)
	}
}

// originAllowed reports whether a browser page on origin may call the API:
// one of the sites' origins (the configured ones of the default site and
// each site's own), compared exactly.
func (h *handler) originAllowed(ctx context.Context, origin string) (bool, error) {
	if origin == "" {
		return false, nil
	}
	allowed, err := h.sites.Origins(ctx)
	if err != nil {
		return false, err
	}
	return slices.Contains(allowed, origin), nil
}

// sameOrigin reports whether origin names the host the request was sent to
// (the widget's frame, the demo and moderation pages). The scheme is not
// compared: behind a TLS-terminating proxy the server sees plain HTTP.
func sameOrigin(origin, host string) bool {
	u, err := url.Parse(origin)
	return err == nil && u.Host != "" && strings.EqualFold(u.Host, host)
}

// guardWrites refuses, on every API write, a body that is not JSON (415)
// and a request a browser sent on behalf of a foreign site (403). A page
// elsewhere can make its visitors' browsers send a form (text/plain,
// urlencoded, multipart) or a no-cors fetch without asking anyone; a JSON
// body from another origin needs a CORS preflight, which only allowed
// sites pass. Clients that are not browsers send neither header.
func (h *handler) guardWrites(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			return next(c)
		}
		if !strings.HasPrefix(r.URL.Path, "/api/") {
			return next(c)
		}
		if r.ContentLength != 0 && !isJSON(r.Header.Get(echo.HeaderContentType)) && !isUpload(c) {
			return fault.New(fault.UnsupportedMediaType, "send the request body as Content-Type: application/json")
		}
		origin := r.Header.Get(echo.HeaderOrigin)
		crossSite := r.Header.Get("Sec-Fetch-Site") == "cross-site"
		allowed, err := h.originAllowed(r.Context(), origin)
		if err != nil {
			return err
		}
		if origin == "" && crossSite || origin != "" && !sameOrigin(origin, r.Host) && !allowed {
			return fault.New(fault.Forbidden, "requests from pages on other sites are refused unless the site is allowed")
		}
		return next(c)
	}
}

// isJSON reports whether a Content-Type header says application/json; a
// charset parameter is fine, any other media type is not.
func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == echo.MIMEApplicationJSON
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
			ok, err := h.originAllowed(c.Request().Context(), origin)
			if err != nil {
				return err
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
