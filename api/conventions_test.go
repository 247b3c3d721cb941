package api_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/parley-comments/parley/api"
)

// concreteURL fills a route pattern's parameters with values that exist
// (the seed article, comment 1) or at least parse.
func concreteURL(path string) string {
	parts := strings.Split(path, "/")
	for i, p := range parts {
		switch {
		case p == "*":
			parts[i] = "admin.js"
		case p == ":slug":
			parts[i] = seedSlug
		case strings.HasPrefix(p, ":"):
			parts[i] = "1"
		}
	}
	return strings.Join(parts, "/")
}

// routeMethods maps each route pattern of the router to its methods.
func routeMethods(e *echo.Echo) map[string][]string {
	out := map[string][]string{}
	for _, r := range e.Routes() {
		if r.Method == echo.RouteNotFound || r.Method == "echo_route_any" {
			continue
		}
		if !slices.Contains(out[r.Path], r.Method) {
			out[r.Path] = append(out[r.Path], r.Method)
		}
	}
	return out
}

// TestWrongMethodIs405 walks the router's route list: on every path, a
// method it does not serve (an invented one too) answers 405 in the error
// shape, with Allow naming the methods it does serve.
func TestWrongMethodIs405(t *testing.T) {
	s := newTestServer(t)
	paths := routeMethods(s.e)
	if len(paths) < 20 {
		t.Fatalf("only %d route paths; the walk proves little", len(paths))
	}
	for path, methods := range paths {
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, "BREW"} {
			if slices.Contains(methods, m) {
				continue
			}
			rec := doRaw(t, s, m, concreteURL(path), nil, "")
			if rec.Code != http.StatusMethodNotAllowed {
				t.Errorf("%s %s: %d, want 405; body %s", m, path, rec.Code, truncate(rec.Body.String(), 200))
				continue
			}
			allow := strings.Split(rec.Header().Get("Allow"), ", ")
			for _, want := range methods {
				if !slices.Contains(allow, want) {
					t.Errorf("%s %s: Allow %q lacks %s", m, path, rec.Header().Get("Allow"), want)
				}
			}
			for _, got := range allow {
				if got != http.MethodOptions && !slices.Contains(methods, got) {
					t.Errorf("%s %s: Allow %q names %s, which the path does not serve", m, path, rec.Header().Get("Allow"), got)
				}
			}
			if strings.HasPrefix(path, "/api/") {
				wantError(t, rec, http.StatusMethodNotAllowed, "method_not_allowed")
			}
		}
	}
}

// TestHeadOnEveryGetRoute: over a real connection, HEAD on every GET route
// of the router answers GET's status and Content-Length, with no body.
func TestHeadOnEveryGetRoute(t *testing.T) {
	s := newTestServer(t)
	srv := httptest.NewServer(s.e)
	defer srv.Close()
	fetch := func(method, url string) (*http.Response, []byte) {
		req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+url, nil)
		if err != nil {
			t.Fatal(err)
		}
		// Go's client asks for gzip on GET only; compression is tested apart.
		req.Header.Set("Accept-Encoding", "identity")
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		if res.Header.Get("Content-Type") == "text/event-stream" {
			return res, nil // a live stream has no end to read to
		}
		b, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		return res, b
	}
	gets := 0
	for path, methods := range routeMethods(s.e) {
		if !slices.Contains(methods, http.MethodGet) {
			continue
		}
		gets++
		if !slices.Contains(methods, http.MethodHead) {
			t.Errorf("GET %s has no HEAD route", path)
		}
		url := concreteURL(path)
		if path == "/embed" {
			url = "/embed?article=" + seedSlug + "&parent=https://blog.example"
		}
		get, body := fetch(http.MethodGet, url)
		head, headBody := fetch(http.MethodHead, url)
		if head.StatusCode != get.StatusCode || len(headBody) != 0 {
			t.Errorf("HEAD %s: %d with %d body bytes; GET: %d", url, head.StatusCode, len(headBody), get.StatusCode)
		}
		if head.ContentLength >= 0 && head.ContentLength != int64(len(body)) {
			t.Errorf("HEAD %s: Content-Length %d, GET's body has %d bytes", url, head.ContentLength, len(body))
		}
		if ct := head.Header.Get("Content-Type"); ct != get.Header.Get("Content-Type") {
			t.Errorf("HEAD %s: Content-Type %q, GET's %q", url, ct, get.Header.Get("Content-Type"))
		}
	}
	if gets < 10 {
		t.Fatalf("only %d GET routes", gets)
	}
	if res, _ := fetch(http.MethodHead, "/healthz"); res.StatusCode != http.StatusOK {
		t.Fatalf("HEAD /healthz: %d", res.StatusCode)
	}
}

// TestUnauthorizedChallenges: every 401 carries WWW-Authenticate: Bearer
// (RFC 6750), naming invalid_token only when a token was presented.
func TestUnauthorizedChallenges(t *testing.T) {
	s := newTestServer(t)
	for _, tc := range []struct {
		name, method, path, auth string
		body                     string
		want                     string
	}{
		{"no token", "GET", "/api/v1/me", "", "", `Bearer realm="parley"`},
		{"a bad token", "GET", "/api/v1/me", "Bearer not-a-token", "", `Bearer realm="parley", error="invalid_token"`},
		{"not a bearer token", "GET", "/api/v1/articles", "Basic YTpi", "", `Bearer realm="parley", error="invalid_token"`},
		{"wrong password", "POST", "/api/v1/auth/login", "", `{"login":"admin","password":"wrong-password"}`, `Bearer realm="parley"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			headers := map[string]string{"Content-Type": "application/json"}
			if tc.auth != "" {
				headers["Authorization"] = tc.auth
			}
			rec := doRaw(t, s, tc.method, tc.path, headers, tc.body)
			if rec.Code != http.StatusUnauthorized || rec.Header().Get("WWW-Authenticate") != tc.want {
				t.Fatalf("%d, WWW-Authenticate %q; want 401 and %q", rec.Code, rec.Header().Get("WWW-Authenticate"), tc.want)
			}
		})
	}
	if rec := doRaw(t, s, "GET", "/api/v1/articles", nil, ""); rec.Header().Get("WWW-Authenticate") != "" {
		t.Fatalf("a 200 carries a challenge: %q", rec.Header().Get("WWW-Authenticate"))
	}
}

// logLines returns the sink's JSON lines.
func (l *logSink) lines(t *testing.T) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.buf.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err == nil {
			out = append(out, rec)
		}
	}
	return out
}

var freshID = regexp.MustCompile(`^[0-9a-f]{32}$`)

// TestRequestIDs: a short, plain X-Request-Id is kept, anything else is
// replaced by a fresh one, and the id is on every log line of the request
// (the request line and, for a failed login, the security event).
func TestRequestIDs(t *testing.T) {
	s, logs := newLoggedServer(t, func(c *api.Config) { c.QuietRequests = false })
	for _, tc := range []struct {
		name, sent string
		kept       bool
	}{
		{"a uuid", "0f8fad5b-d9cb-469f-a165-70867728950e", true},
		{"a trace id", "trace.42:span_7", true},
		{"none", "", false},
		{"too long", strings.Repeat("a", 65), false},
		{"a forged log line", "x\n{\"msg\":\"forged\"}", false},
		{"spaces", "a b", false},
		{"markup", "<script>", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			headers := map[string]string{"Content-Type": "application/json"}
			if tc.sent != "" {
				headers["X-Request-Id"] = tc.sent
			}
			before := len(logs.lines(t))
			// A login of its own per case: repeated failures of one would be throttled.
			rec := doRaw(t, s, "POST", "/api/v1/auth/login", headers, `{"login":"`+strings.ReplaceAll(tc.name, " ", "-")+`","password":"wrong-password"}`)
			id := rec.Header().Get("X-Request-Id")
			if tc.kept && id != tc.sent || !tc.kept && !freshID.MatchString(id) {
				t.Fatalf("sent %q, answered %q; want it kept: %v", tc.sent, id, tc.kept)
			}
			lines := logs.lines(t)[before:]
			var msgs []string
			for _, l := range lines {
				msgs = append(msgs, fmt.Sprint(l["msg"]))
				if l["request_id"] != id {
					t.Errorf("log line %v has request_id %v, want %q", l, l["request_id"], id)
				}
			}
			if !slices.Equal(msgs, []string{"security event", "request"}) {
				t.Fatalf("log lines %v, want the security event and the request line", msgs)
			}
		})
	}
}

// TestRequestLog: one line per request at the default level, with method,
// route pattern, status, size and time, and none with QuietRequests.
func TestRequestLog(t *testing.T) {
	s, logs := newLoggedServer(t, func(c *api.Config) { c.QuietRequests = false })
	doRaw(t, s, "GET", "/api/v1/articles/"+seedSlug+"/comments?sort=top", nil, "")
	doRaw(t, s, "GET", "/healthz", nil, "")
	lines := logs.lines(t)
	if len(lines) != 2 {
		t.Fatalf("%d log lines for 2 requests: %v", len(lines), lines)
	}
	l := lines[0]
	if l["level"] != "INFO" || l["msg"] != "request" || l["method"] != "GET" || l["route"] != "/api/v1/articles/:slug/comments" ||
		l["status"] != float64(200) || l["bytes"] == float64(0) || l["duration_ms"] == nil || l["ip"] == "" {
		t.Fatalf("request line %v", l)
	}
	if strings.Contains(logs.buf.String(), "sort=top") {
		t.Fatal("the request line holds the query string, where tokens may travel")
	}

	quiet, quietLogs := newLoggedServer(t)
	doRaw(t, quiet, "GET", "/healthz", nil, "")
	if n := len(quietLogs.lines(t)); n != 0 {
		t.Fatalf("QuietRequests: %d log lines", n)
	}
}

// TestMetricsMethodLabelIsBounded: invented methods fold into "other", so
// they cannot add a series each.
func TestMetricsMethodLabelIsBounded(t *testing.T) {
	s := newTestServer(t)
	for i := range 30 {
		doRaw(t, s, fmt.Sprintf("INVENTED%d", i), "/api/v1/articles", nil, "")
	}
	rec := doRaw(t, s, "GET", "/metrics", nil, "")
	if strings.Contains(rec.Body.String(), "INVENTED") {
		t.Fatal("an invented method became a metrics label")
	}
	if got := metric(t, s.e, `parley_http_requests_total{method="other",route="/api/v1/articles",status="405"}`); got != 30 {
		t.Fatalf("requests by other methods = %v, want 30", got)
	}
}

// TestMetricsOnTheirOwnListener: with MetricsMux set, /metrics is served
// there and not on the public router.
func TestMetricsOnTheirOwnListener(t *testing.T) {
	mux := http.NewServeMux()
	s := newTestServer(t, func(c *api.Config) { c.MetricsMux = mux })
	if rec := doRaw(t, s, "GET", "/metrics", nil, ""); rec.Code != http.StatusNotFound {
		t.Fatalf("public /metrics: %d, want 404", rec.Code)
	}
	doRaw(t, s, "GET", "/healthz", nil, "")
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `parley_http_requests_total{method="GET",route="/healthz",status="200"} 1`) {
		t.Fatalf("metrics listener: %d\n%s", rec.Code, truncate(rec.Body.String(), 500))
	}
}

// TestScrapesCostNoQuery: the queue depth is counted once, not per scrape;
// a scrape right after a new pending comment still reports the count taken
// a moment before.
func TestScrapesCostNoQuery(t *testing.T) {
	s := newTestServer(t)
	alice := s.register(t, "alice").AccessToken
	s.post(t, alice, seedSlug, "held: https://a.example https://b.example https://c.example", nil)
	if got := metric(t, s.e, "parley_moderation_queue_depth"); got != 1 {
		t.Fatalf("queue depth = %v, want 1", got)
	}
	s.post(t, alice, seedSlug, "held too: https://a.example https://b.example https://d.example", nil)
	if got := metric(t, s.e, "parley_moderation_queue_depth"); got != 1 {
		t.Fatalf("queue depth = %v right after the first scrape, want the count of then (1): a scrape queried again", got)
	}
}
