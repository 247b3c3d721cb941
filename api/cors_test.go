package api_test

import (
	"net/http"
	"strings"
	"testing"
)

func TestCORSExactOrigins(t *testing.T) {
	s := newTestServer(t) // allows https://blog.example only
	for origin, allowed := range map[string]bool{
		"https://blog.example":              true,
		"https://blog.example.evil.com":     false,
		"https://evil-blog.example":         false,
		"https://blog.examplex":             false,
		"http://blog.example":               false,
		"https://blog.example:8443":         false,
		"null":                              false,
		"https://BLOG.example":              false,
		"https://blog.example/":             false,
		"https://blog.example@evil.com":     false,
		"https://blog.example\r\nX-Evil: 1": false,
	} {
		t.Run(origin, func(t *testing.T) {
			rec := doRaw(t, s, "OPTIONS", "/api/v1/articles/"+seedSlug+"/comments", map[string]string{
				"Origin": origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization, content-type"}, "")
			got := rec.Header().Get("Access-Control-Allow-Origin")
			if allowed {
				if rec.Code != http.StatusNoContent || got != origin || rec.Header().Get("Access-Control-Allow-Credentials") != "" {
					t.Fatalf("preflight from allowed origin: %d ACAO=%q headers=%v", rec.Code, got, rec.Header())
				}
			} else if got != "" || rec.Code < 400 {
				t.Fatalf("preflight from %q: %d ACAO=%q, want refused", origin, rec.Code, got)
			}
			get := doRaw(t, s, "GET", "/api/v1/articles", map[string]string{"Origin": origin}, "")
			if g := get.Header().Get("Access-Control-Allow-Origin"); allowed != (g == origin) || !allowed && g != "" {
				t.Fatalf("GET from %q: ACAO=%q", origin, g)
			}
		})
	}
}

func TestSecurityHeadersEverywhere(t *testing.T) {
	s := newTestServer(t)
	for _, p := range []string{"/api/v1/articles", "/api/v1/nope", "/healthz", "/", "/widget.js", "/admin", "/embed?article=" + seedSlug + "&parent=https://blog.example"} {
		rec := doRaw(t, s, "GET", p, nil, "")
		if rec.Header().Get("X-Content-Type-Options") != "nosniff" || rec.Header().Get("Referrer-Policy") != "strict-origin-when-cross-origin" {
			t.Errorf("%s (%d) lacks security headers: %v", p, rec.Code, rec.Header())
		}
	}
	for _, p := range []string{"/api/v1/articles", "/api/v1/nope", "/healthz", "/readyz", "/metrics", "/api/v1/openapi.json"} {
		rec := doRaw(t, s, "GET", p, nil, "")
		if csp := rec.Header().Get("Content-Security-Policy"); csp != "default-src 'none'; frame-ancestors 'none'" {
			t.Errorf("%s (%d): CSP = %q, want nothing loaded and no framing", p, rec.Code, csp)
		}
	}
	for _, p := range []string{"/api/v1/articles", "/healthz", "/", "/admin", "/widget.js", "/embed?article=" + seedSlug + "&parent=https://blog.example"} {
		if pp := doRaw(t, s, "GET", p, nil, "").Header().Get("Permissions-Policy"); !strings.Contains(pp, "camera=()") || !strings.Contains(pp, "geolocation=()") {
			t.Errorf("%s: Permissions-Policy = %q", p, pp)
		}
	}
	for _, p := range []string{"/admin", "/"} {
		rec := doRaw(t, s, "GET", p, nil, "")
		if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || rec.Header().Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s may be framed: CSP = %q, X-Frame-Options = %q", p, csp, rec.Header().Get("X-Frame-Options"))
		}
	}
	embed := doRaw(t, s, "GET", "/embed?article="+seedSlug+"&parent=https://blog.example", nil, "")
	if csp := embed.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors") || !strings.Contains(csp, "https://blog.example") || embed.Header().Get("X-Frame-Options") != "" {
		t.Errorf("embed headers = %v", embed.Header())
	}
	if rec := doRaw(t, s, "GET", "/embed?article="+seedSlug+"&parent=https://evil.example", nil, ""); rec.Code != http.StatusBadRequest {
		t.Errorf("embed for a foreign parent answered %d, want 400", rec.Code)
	}
}
