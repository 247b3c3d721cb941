package web_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func get(t *testing.T, rawURL string, header http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("GET", rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(body)
}

func TestPages(t *testing.T) {
	s := newSite(t)
	embed := func(article, parent string) string {
		q := url.Values{}
		if article != "" {
			q.Set("article", article)
		}
		if parent != "" {
			q.Set("parent", parent)
		}
		return "/embed?" + q.Encode()
	}
	tests := []struct {
		name       string
		path       string
		wantStatus int
		wantType   string
		wantHeader map[string]string // "" means the header must be absent
		wantBody   string
	}{
		{
			name: "demo page", path: "/", wantStatus: 200, wantType: "text/html",
			wantHeader: map[string]string{
				"Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'", "X-Frame-Options": "DENY",
			},
			wantBody: `<div id="parley" data-article="putin-visits-pyongyang"></div><script src="/widget.js" async></script>`,
		},
		{
			name: "widget loader", path: "/widget.js", wantStatus: 200, wantType: "application/javascript",
			wantHeader: map[string]string{"Cache-Control": "public, max-age=300"},
			wantBody:   "parley:height",
		},
		{
			name: "embed for an allowed blog", path: embed(slug, s.blogURL), wantStatus: 200, wantType: "text/html",
			wantHeader: map[string]string{
				"Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'self' " + s.blogURL,
				"X-Frame-Options":         "",
			},
			wantBody: `<script type="module" src="/assets/embed.js"></script>`,
		},
		{name: "embed for the server itself", path: embed(slug, s.parley.URL), wantStatus: 200, wantType: "text/html"},
		{name: "embed for another site", path: embed(slug, "https://evil.example"), wantStatus: 400, wantType: "text/html", wantBody: "not on Parley's list"},
		{name: "embed with a look-alike origin", path: embed(slug, s.blogURL+"/"), wantStatus: 400},
		{name: "embed without a parent", path: embed(slug, ""), wantStatus: 400},
		{name: "embed without an article", path: embed("", s.blogURL), wantStatus: 400, wantBody: "which article"},
		{name: "app script", path: "/assets/embed.js", wantStatus: 200, wantType: "application/javascript"},
		{name: "app styles", path: "/assets/embed.css", wantStatus: 200, wantType: "text/css"},
		{name: "blog styles", path: "/assets/blog.css", wantStatus: 200, wantType: "text/css"},
		{name: "html is not an asset", path: "/assets/embed.html", wantStatus: 404},
		{name: "unknown asset", path: "/assets/nope.js", wantStatus: 404},
		{name: "no way out of the folder", path: "/assets/../web.go", wantStatus: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, body := get(t, s.parley.URL+tt.path, nil)
			if res.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", res.StatusCode, tt.wantStatus, body)
			}
			if got := res.Header.Get("Content-Type"); !strings.HasPrefix(got, tt.wantType) {
				t.Errorf("Content-Type = %q, want %s", got, tt.wantType)
			}
			want := map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "strict-origin-when-cross-origin"}
			for k, v := range tt.wantHeader {
				want[k] = v
			}
			for k, v := range want {
				if got := res.Header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if !strings.Contains(body, tt.wantBody) {
				t.Errorf("body lacks %q:\n%s", tt.wantBody, body)
			}
		})
	}
}

func TestAssetsRevalidate(t *testing.T) {
	s := newSite(t)
	for _, path := range []string{"/widget.js", "/assets/embed.js", "/assets/embed.css"} {
		t.Run(path, func(t *testing.T) {
			res, _ := get(t, s.parley.URL+path, nil)
			etag := res.Header.Get("ETag")
			if etag == "" {
				t.Fatal("no ETag")
			}
			res, body := get(t, s.parley.URL+path, http.Header{"If-None-Match": {etag}})
			if res.StatusCode != http.StatusNotModified || body != "" {
				t.Errorf("revalidation = %d with %d bytes, want 304 and none", res.StatusCode, len(body))
			}
		})
	}
}
