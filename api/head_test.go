package api_test

import (
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

// pageURLs are a request to each page route, as a browser would send it.
var pageURLs = map[string]string{
	"/":                        "/",
	"/widget.js":               "/widget.js",
	"/counts.js":               "/counts.js",
	"/embed":                   "/embed?article=" + seedSlug + "&parent=https://blog.example",
	"/admin":                   "/admin",
	"/assets/*":                "/assets/admin.js",
	"/account/verify":          "/account/verify?token=not-a-token",
	"/account/signin":          "/account/signin",
	"/account/reset":           "/account/reset",
	"/account/link":            "/account/link",
	"/auth/callback/:provider": "/auth/callback/corp?state=forged&code=forged",
}

// perRequest are the headers that differ between any two requests.
var perRequest = []string{echo.HeaderXRequestID, "Date"}

// sameHeaders fails unless get and head carry the same headers, those that
// differ per request aside.
func sameHeaders(t *testing.T, get, head http.Header) {
	t.Helper()
	get, head = get.Clone(), head.Clone()
	for _, h := range perRequest {
		get.Del(h)
		head.Del(h)
	}
	for _, k := range slices.Sorted(maps.Keys(get)) {
		if g, h := strings.Join(get[k], ", "), strings.Join(head[k], ", "); g != h {
			t.Errorf("header %s: HEAD has %q, GET has %q", k, h, g)
		}
	}
	for k := range head {
		if _, ok := get[k]; !ok {
			t.Errorf("header %s: HEAD has %q, GET has none", k, head.Get(k))
		}
	}
}

// TestPagesAnswerHead checks that HEAD on each page route answers as GET
// does, status and headers (content type, security policy, caching, length),
// with no body: from the handler itself and over a real connection.
func TestPagesAnswerHead(t *testing.T) {
	s := newTestServer(t)
	for route, url := range pageURLs {
		t.Run(route, func(t *testing.T) {
			get := doRaw(t, s, http.MethodGet, url, nil, "")
			head := doRaw(t, s, http.MethodHead, url, nil, "")
			if get.Code != http.StatusOK || head.Code != http.StatusOK {
				t.Fatalf("GET %s: %d, HEAD: %d, want 200 both", url, get.Code, head.Code)
			}
			if head.Body.Len() != 0 {
				t.Fatalf("HEAD %s wrote a body of %d bytes", url, head.Body.Len())
			}
			if get.Header().Get("Content-Security-Policy") == "" && get.Header().Get("ETag") == "" {
				t.Fatalf("GET %s has neither a policy nor an ETag; the comparison below would prove little", url)
			}
			sameHeaders(t, get.Header(), head.Header())
			if n := head.Header().Get(echo.HeaderContentLength); n != strconv.Itoa(get.Body.Len()) {
				t.Errorf("HEAD %s: Content-Length %q, want %d (GET's body)", url, n, get.Body.Len())
			}
		})
	}

	srv := httptest.NewServer(s.e)
	defer srv.Close()
	fetch := func(t *testing.T, method, url string) (*http.Response, []byte) {
		t.Helper()
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
		body, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		return res, body
	}
	for route, url := range pageURLs {
		t.Run(route+" over the wire", func(t *testing.T) {
			get, getBody := fetch(t, http.MethodGet, url)
			head, headBody := fetch(t, http.MethodHead, url)
			if get.StatusCode != http.StatusOK || head.StatusCode != http.StatusOK || len(headBody) != 0 {
				t.Fatalf("GET %s: %d; HEAD: %d with %d body bytes, want 200 and none", url, get.StatusCode, head.StatusCode, len(headBody))
			}
			sameHeaders(t, get.Header, head.Header)
			if head.ContentLength != int64(len(getBody)) {
				t.Errorf("HEAD %s: Content-Length %d, want %d (GET's body)", url, head.ContentLength, len(getBody))
			}
		})
	}

	t.Run("a cached file is not modified", func(t *testing.T) {
		etag := doRaw(t, s, http.MethodGet, "/widget.js", nil, "").Header().Get("ETag")
		head := doRaw(t, s, http.MethodHead, "/widget.js", map[string]string{"If-None-Match": etag}, "")
		if etag == "" || head.Code != http.StatusNotModified {
			t.Fatalf("HEAD with If-None-Match %q: status %d, want 304", etag, head.Code)
		}
	})
}

// TestEveryPageAnswersHead keeps the list above, and HEAD, in step with the
// router: each browser-facing GET route (not the API, not the probes) has
// a HEAD route and a URL here.
func TestEveryPageAnswersHead(t *testing.T) {
	routes := newTestServer(t).e.Routes()
	has := map[string]bool{}
	for _, r := range routes {
		has[r.Method+" "+r.Path] = true
	}
	probes := []string{"/healthz", "/readyz", "/metrics"}
	pages := 0
	for _, r := range routes {
		if r.Method != http.MethodGet || strings.HasPrefix(r.Path, "/api/") || slices.Contains(probes, r.Path) {
			continue
		}
		pages++
		if !has["HEAD "+r.Path] {
			t.Errorf("page GET %s has no HEAD route", r.Path)
		}
		if _, ok := pageURLs[r.Path]; !ok {
			t.Errorf("page GET %s has no URL in pageURLs", r.Path)
		}
	}
	if pages != len(pageURLs) {
		t.Errorf("the router has %d page routes, pageURLs %d", pages, len(pageURLs))
	}
}
