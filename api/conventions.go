package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"
)

// HTTP conventions that hold on every route, whoever adds it.

// headForEveryGet registers HEAD beside each GET route that has none, so
// monitors, link checkers and caches can ask any GET route: the GET handler
// answers (with its middleware) and net/http sends its status and headers,
// Content-Length included, without the body. Call it after the last route.
func headForEveryGet(e *echo.Echo) {
	has := map[string]bool{}
	for _, r := range e.Routes() {
		has[r.Method+" "+r.Path] = true
	}
	for _, r := range e.Routes() {
		if r.Method != http.MethodGet || has[http.MethodHead+" "+r.Path] {
			continue
		}
		e.HEAD(r.Path, func(c echo.Context) error {
			e.Router().Find(http.MethodGet, echo.GetPath(c.Request()), c)
			return c.Handler()(c)
		})
	}
}

// knownMethods are the methods the metrics name; any other folds into
// "other", so a client inventing methods cannot grow the series without end.
var knownMethods = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true,
	http.MethodPatch: true, http.MethodDelete: true, http.MethodOptions: true,
}

func methodLabel(m string) string {
	if knownMethods[m] {
		return m
	}
	return "other"
}

// maxRequestIDLen bounds a client-supplied X-Request-Id, which goes into
// every log line of its request.
const maxRequestIDLen = 64

// plainRequestID reports whether a client's X-Request-Id may be kept: short,
// and only letters, digits, '-', '_', '.' and ':' (a UUID, a trace id), so
// it cannot forge log lines or smuggle markup into a log viewer.
func plainRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for _, c := range []byte(id) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':'
		if !ok {
			return false
		}
	}
	return true
}

type requestIDKey struct{}

// requestID gives each request an id: the client's X-Request-Id when plain,
// else a fresh random one. It is echoed in the response and carried in the
// request's context, where the logger finds it (see RequestIDLogs).
func requestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		id := r.Header.Get(echo.HeaderXRequestID)
		if !plainRequestID(id) {
			b := make([]byte, 16)
			rand.Read(b)
			id = hex.EncodeToString(b)
		}
		c.Response().Header().Set(echo.HeaderXRequestID, id)
		c.SetRequest(r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id)))
		return next(c)
	}
}

// RequestIDLogs wraps a log handler so that every line logged with a
// request's context carries that request's id as request_id.
func RequestIDLogs(h slog.Handler) slog.Handler {
	if _, ok := h.(requestIDHandler); ok {
		return h
	}
	return requestIDHandler{h}
}

type requestIDHandler struct{ slog.Handler }

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if id, ok := ctx.Value(requestIDKey{}).(string); ok {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestIDHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(as)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}

// bearerChallenge is the WWW-Authenticate of a 401 (RFC 6750 section 3): the
// API takes bearer tokens; when one was presented and failed, the challenge
// says so, and a request that presented none gets no error code.
func bearerChallenge(r *http.Request) string {
	if r.Header.Get(echo.HeaderAuthorization) != "" {
		return `Bearer realm="parley", error="invalid_token"`
	}
	return `Bearer realm="parley"`
}
