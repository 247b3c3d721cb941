package api_test

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/parley-comments/parley/api"
)

// loginFrom tries a wrong password from a connection at remote with an
// X-Forwarded-For header, and returns the status.
func loginFrom(t *testing.T, s *testServer, remote, forwarded string, i int) int {
	t.Helper()
	req := httptest.NewRequest("POST", "/api/v1/auth/login", strings.NewReader(fmt.Sprintf(`{"login": "nobody%d", "password": "wrong password"}`, i)))
	req.RemoteAddr = remote + ":5555"
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-For", forwarded)
	rec := httptest.NewRecorder()
	s.e.ServeHTTP(rec, req)
	return rec.Code
}

// TestForwardedForIgnoredByDefault: a client cannot pick its own IP, so it
// cannot dodge per-IP limits by sending a new X-Forwarded-For each time.
func TestForwardedForIgnoredByDefault(t *testing.T) {
	s := newTestServer(t, withRateLimits)
	limited := false
	for i := range 10 {
		if loginFrom(t, s, "203.0.113.7", fmt.Sprintf("198.51.100.%d", i), i) == http.StatusTooManyRequests {
			limited = true
		}
	}
	if !limited {
		t.Fatal("rotating X-Forwarded-For escaped the per-IP login limit")
	}
}

// TestTrustedProxy: behind a configured proxy, the forwarded client address
// is the one limits apply to.
func TestTrustedProxy(t *testing.T) {
	_, proxy, _ := net.ParseCIDR("10.0.0.0/8")
	s := newTestServer(t, withRateLimits, func(c *api.Config) { c.TrustedProxies = []*net.IPNet{proxy} })
	for i := range 10 {
		if code := loginFrom(t, s, "10.1.2.3", fmt.Sprintf("198.51.100.%d", i), i); code != http.StatusUnauthorized {
			t.Fatalf("login %d through the proxy answered %d, want 401: each forwarded client has its own limit", i, code)
		}
	}
	limited := false
	for i := range 10 {
		if loginFrom(t, s, "10.1.2.3", "198.51.100.200", i) == http.StatusTooManyRequests {
			limited = true
		}
	}
	if !limited {
		t.Fatal("one forwarded client was never limited")
	}
}
