package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

// TestTokenResponsesStayPlain: responses under /api/v1/auth/, which carry
// tokens, are never compressed (BREACH), however large; others are.
func TestTokenResponsesStayPlain(t *testing.T) {
	e := echo.New()
	e.Use(compression())
	big := func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"access_token": "secret", "echo": strings.Repeat("attacker text ", 400)})
	}
	e.POST("/api/v1/auth/login", big)
	e.POST("/api/v1/auth/oidc/callback", big)
	e.POST("/api/v1/comments", big)
	for path, want := range map[string]string{"/api/v1/auth/login": "", "/api/v1/auth/oidc/callback": "", "/api/v1/comments": "gzip"} {
		req := httptest.NewRequest("POST", path, nil)
		req.Header.Set("Accept-Encoding", "gzip")
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		if got := rec.Header().Get("Content-Encoding"); got != want {
			t.Errorf("%s: Content-Encoding %q, want %q", path, got, want)
		}
	}
}

func TestAccepts(t *testing.T) {
	for _, tc := range []struct {
		header, coding string
		want           bool
	}{
		{"gzip, deflate, br, zstd", "br", true},
		{"gzip", "br", false},
		{"br;q=0", "br", false},
		{"br; q=0.000", "br", false},
		{"BR;q=0.1", "br", true},
		{"gzip;q=1.0, br;q=0", "gzip", true},
		{"", "gzip", false},
		{"x-gzip", "gzip", false},
	} {
		if got := accepts(tc.header, tc.coding); got != tc.want {
			t.Errorf("accepts(%q, %q) = %v, want %v", tc.header, tc.coding, got, tc.want)
		}
	}
}

func TestStripEncodingSuffixes(t *testing.T) {
	for in, want := range map[string]string{
		`"abc-gzip"`:              `"abc"`,
		`W/"abc-br", "def-zstd"`:  `W/"abc", "def"`,
		`"abc"`:                   `"abc"`,
		`*`:                       `*`,
		`"gzip-abc", "abc-gzip"x`: `"gzip-abc", "abc-gzip"x`,
	} {
		if got := stripEncodingSuffixes(in); got != want {
			t.Errorf("stripEncodingSuffixes(%q) = %q, want %q", in, got, want)
		}
	}
}
