package sites_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/parley-comments/parley/fault"
	"github.com/parley-comments/parley/sites"
)

func TestNormalizeKey(t *testing.T) {
	for _, tc := range []struct {
		name, in  string
		keepQuery bool
		want      string
	}{
		{"plain slug kept", "my-first-post", false, "my-first-post"},
		{"slug trimmed", "  my-post \n", false, "my-post"},
		{"slug with spaces kept (importers' identifiers)", "42 http://old.example/?p=42", false, "42 http://old.example/?p=42"},
		{"slug NFC", "cafe\u0301", false, "caf\u00e9"},
		{"trailing slash", "https://blog.example.com/posts/hello/", false, "https://blog.example.com/posts/hello"},
		{"index.html", "https://blog.example.com/posts/hello/index.html", false, "https://blog.example.com/posts/hello"},
		{"root", "https://blog.example.com/", false, "https://blog.example.com"},
		{"root index.html", "https://blog.example.com/index.html", false, "https://blog.example.com"},
		{"bare host", "https://blog.example.com", false, "https://blog.example.com"},
		{"scheme and host case", "HTTPS://Blog.Example.COM/Posts/Hello", false, "https://blog.example.com/Posts/Hello"},
		{"default https port", "https://blog.example.com:443/a", false, "https://blog.example.com/a"},
		{"default http port", "http://blog.example.com:80/a", false, "http://blog.example.com/a"},
		{"other port kept", "http://127.0.0.1:8080/a/", false, "http://127.0.0.1:8080/a"},
		{"fragment dropped", "https://blog.example.com/a#parley-comment-5", false, "https://blog.example.com/a"},
		{"query dropped", "https://blog.example.com/a?utm_source=x&b=2", false, "https://blog.example.com/a"},
		{"empty query dropped", "https://blog.example.com/a?", true, "https://blog.example.com/a"},
		{"query kept when the site says so", "https://blog.example.com/?p=42#c", true, "https://blog.example.com?p=42"},
		{"query escapes canonical", "https://blog.example.com/?p=%7e%2f", true, "https://blog.example.com?p=~%2F"},
		{"unreserved escapes decoded", "https://blog.example.com/%7Euser/%61bout", false, "https://blog.example.com/~user/about"},
		{"other escapes upper-cased", "https://blog.example.com/caf%c3%a9", false, "https://blog.example.com/caf%C3%A9"},
		{"raw non-ASCII encoded", "https://blog.example.com/café", false, "https://blog.example.com/caf%C3%A9"},
		{"space encoded", "https://blog.example.com/a b", false, "https://blog.example.com/a%20b"},
		{"escaped slash stays escaped", "https://blog.example.com/a%2fb", false, "https://blog.example.com/a%2Fb"},
		{"dot segments", "https://blog.example.com/a/./b/../c/", false, "https://blog.example.com/a/c"},
		{"double slashes", "https://blog.example.com//a//b", false, "https://blog.example.com/a/b"},
		{"user info dropped", "https://u:p@blog.example.com/a", false, "https://blog.example.com/a"},
		{"host trailing dot", "https://blog.example.com./a", false, "https://blog.example.com/a"},
		{"IPv6 host", "http://[::1]:8080/a/", false, "http://[::1]:8080/a"},
		{"IPv6 default port", "https://[::1]:443/a", false, "https://[::1]/a"},
		{"http and https differ", "http://blog.example.com/a", false, "http://blog.example.com/a"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := sites.NormalizeKey(tc.in, tc.keepQuery)
			if err != nil {
				t.Fatalf("NormalizeKey(%q) error %v", tc.in, err)
			}
			if got != tc.want {
				t.Fatalf("NormalizeKey(%q) = %q, want %q", tc.in, got, tc.want)
			}
			again, err := sites.NormalizeKey(got, tc.keepQuery)
			if err != nil || again != got {
				t.Fatalf("not idempotent: %q → %q (%v)", got, again, err)
			}
		})
	}
}

// TestNormalizeKeyOnePage: every way a reader can reach one page gives one key.
func TestNormalizeKeyOnePage(t *testing.T) {
	spellings := []string{
		"https://blog.example.com/2024/05/caf%C3%A9/",
		"https://blog.example.com/2024/05/café",
		"HTTPS://BLOG.example.com:443/2024/05/caf%c3%a9/index.html",
		"https://blog.example.com/2024/05/./caf%C3%A9?utm_campaign=feed#comments",
		"https://blog.example.com/2024/%30%35/caf%C3%A9",
	}
	want, _ := sites.NormalizeKey(spellings[0], false)
	for _, s := range spellings[1:] {
		if got, err := sites.NormalizeKey(s, false); err != nil || got != want {
			t.Errorf("NormalizeKey(%q) = %q, %v; want %q", s, got, err, want)
		}
	}
}

func TestNormalizeKeyRefuses(t *testing.T) {
	for name, in := range map[string]string{
		"empty":             "",
		"blank":             " \t ",
		"control character": "a\x07b",
		"NUL":               "a\x00b",
		"invalid UTF-8":     "a\xffb",
		"too long slug":     strings.Repeat("a", sites.MaxKeyBytes+1),
		"too long URL":      "https://blog.example.com/" + strings.Repeat("é", 200),
		"no host":           "https:///path",
		"bad port":          "https://blog.example.com:99999999/",
		"bad escape":        "https://blog.example.com/%zz",
	} {
		t.Run(name, func(t *testing.T) {
			got, err := sites.NormalizeKey(in, false)
			var invalid *fault.Error
			if !errors.As(err, &invalid) || invalid.Fields["key"] == "" {
				t.Fatalf("NormalizeKey(%q) = %q, %v; want a validation error on key", in, got, err)
			}
		})
	}
	// 512 bytes exactly is allowed.
	if _, err := sites.NormalizeKey(strings.Repeat("a", sites.MaxKeyBytes), false); err != nil {
		t.Fatalf("a 512-byte key: %v", err)
	}
}

func TestNormalizeOrigin(t *testing.T) {
	good := map[string]string{
		"https://blog.example.com":     "https://blog.example.com",
		"https://Blog.Example.com/":    "https://blog.example.com",
		"https://blog.example.com:443": "https://blog.example.com",
		"http://127.0.0.1:1313":        "http://127.0.0.1:1313",
		" http://localhost:8080 ":      "http://localhost:8080",
		"http://[::1]:8080":            "http://[::1]:8080",
	}
	for in, want := range good {
		if got, err := sites.NormalizeOrigin(in); err != nil || got != want {
			t.Errorf("NormalizeOrigin(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "*", "null", "blog.example.com", "ftp://blog.example.com", "https://blog.example.com/path",
		"https://blog.example.com?x", "https://u@blog.example.com", "https://blog.example.com#f", "https://a.com, https://b.com",
		"https://a.com; script-src *", "https://"} {
		if got, err := sites.NormalizeOrigin(in); err == nil {
			t.Errorf("NormalizeOrigin(%q) = %q, want an error", in, got)
		}
	}
}

func TestPageOrigin(t *testing.T) {
	for in, want := range map[string]string{
		"https://Blog.example.com:443/a/b?c#d": "https://blog.example.com",
		"http://127.0.0.1:1313/posts/x/":       "http://127.0.0.1:1313",
		"/posts/x":                             "",
		"javascript:alert(1)":                  "",
		"my-slug":                              "",
	} {
		if got := sites.PageOrigin(in); got != want {
			t.Errorf("PageOrigin(%q) = %q, want %q", in, got, want)
		}
	}
}
