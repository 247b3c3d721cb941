package api_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// decoded returns a response body decoded from its Content-Encoding.
func decoded(t *testing.T, rec *httptest.ResponseRecorder) []byte {
	t.Helper()
	var r io.Reader
	switch enc := rec.Header().Get("Content-Encoding"); enc {
	case "":
		return rec.Body.Bytes()
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(rec.Body.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	case "br":
		r = brotli.NewReader(bytes.NewReader(rec.Body.Bytes()))
	case "zstd":
		zr, err := zstd.NewReader(bytes.NewReader(rec.Body.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		defer zr.Close()
		r = zr
	default:
		t.Fatalf("unknown Content-Encoding %q", enc)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decode %s: %v", rec.Header().Get("Content-Encoding"), err)
	}
	return b
}

// TestThreadPageCompression: an anonymous thread page comes in Brotli, gzip
// or plain as the client accepts, each the same JSON with an ETag of its
// own, and a 304 answers a client holding any of them.
func TestThreadPageCompression(t *testing.T) {
	s := newTestServer(t)
	alice := s.register(t, "alice").AccessToken
	for i := range 12 {
		s.post(t, alice, seedSlug, fmt.Sprintf("Comment %d, long enough that a page of them is worth compressing.", i), nil)
	}
	url := "/api/v1/articles/" + seedSlug + "/comments?sort=newest"
	plain := doRaw(t, s, "GET", url, nil, "")
	if plain.Code != 200 || plain.Header().Get("Content-Encoding") != "" || plain.Body.Len() < 2048 {
		t.Fatalf("plain page: %d, encoding %q, %d bytes", plain.Code, plain.Header().Get("Content-Encoding"), plain.Body.Len())
	}
	base := plain.Header().Get("ETag")
	for _, tc := range []struct{ accept, encoding, etag string }{
		{"gzip, deflate, br, zstd", "br", strings.TrimSuffix(base, `"`) + `-br"`},
		{"gzip", "gzip", strings.TrimSuffix(base, `"`) + `-gzip"`},
		{"br;q=0, gzip;q=0.5", "gzip", strings.TrimSuffix(base, `"`) + `-gzip"`},
		{"gzip;q=0", "", base},
		{"identity", "", base},
	} {
		t.Run(tc.accept, func(t *testing.T) {
			rec := doRaw(t, s, "GET", url, map[string]string{"Accept-Encoding": tc.accept}, "")
			if rec.Code != 200 || rec.Header().Get("Content-Encoding") != tc.encoding || rec.Header().Get("ETag") != tc.etag {
				t.Fatalf("%d, encoding %q, ETag %q; want %q and %q", rec.Code, rec.Header().Get("Content-Encoding"), rec.Header().Get("ETag"), tc.encoding, tc.etag)
			}
			if !strings.Contains(strings.Join(rec.Header().Values("Vary"), ","), "Accept-Encoding") {
				t.Fatalf("Vary %q lacks Accept-Encoding", rec.Header().Values("Vary"))
			}
			if got := decoded(t, rec); !bytes.Equal(got, plain.Body.Bytes()) {
				t.Fatalf("decoded page differs from the plain one (%d vs %d bytes)", len(got), plain.Body.Len())
			}
			if tc.encoding != "" && rec.Body.Len() > plain.Body.Len()/2 {
				t.Fatalf("%s page is %d bytes for %d plain", tc.encoding, rec.Body.Len(), plain.Body.Len())
			}
			if n := rec.Header().Get("Content-Length"); n != fmt.Sprint(rec.Body.Len()) {
				t.Fatalf("Content-Length %s for %d bytes", n, rec.Body.Len())
			}
			for _, held := range []string{tc.etag, base, `W/` + tc.etag} {
				again := doRaw(t, s, "GET", url, map[string]string{"Accept-Encoding": tc.accept, "If-None-Match": held}, "")
				if again.Code != http.StatusNotModified || again.Body.Len() != 0 {
					t.Fatalf("If-None-Match %s: %d with %d bytes, want 304", held, again.Code, again.Body.Len())
				}
			}
		})
	}
	if n := metric(t, s.e, "parley_thread_cache_compressions_total"); n != 1 {
		t.Fatalf("the page was compressed %v times for one version, want once", n)
	}
	// A new comment is a new version: the old tags no longer match.
	s.post(t, alice, seedSlug, "One more.", nil)
	rec := doRaw(t, s, "GET", url, map[string]string{"Accept-Encoding": "br", "If-None-Match": strings.TrimSuffix(base, `"`) + `-br"`}, "")
	if rec.Code != 200 || rec.Header().Get("Content-Encoding") != "br" || !strings.Contains(string(decoded(t, rec)), "One more.") {
		t.Fatalf("after a write: %d, encoding %q", rec.Code, rec.Header().Get("Content-Encoding"))
	}
	if n := metric(t, s.e, "parley_thread_cache_compressions_total"); n != 2 {
		t.Fatalf("compressions after a new version = %v, want 2", n)
	}
}

// TestResponseCompression: other JSON, pages and scripts are compressed on
// the fly (gzip, zstd) with ETags that still revalidate; HEAD says what GET
// would send; token responses are never compressed (BREACH).
func TestResponseCompression(t *testing.T) {
	s := newTestServer(t)
	t.Run("JSON", func(t *testing.T) {
		plain := doRaw(t, s, "GET", "/api/v1/articles", nil, "")
		for _, enc := range []string{"gzip", "zstd"} {
			rec := doRaw(t, s, "GET", "/api/v1/articles", map[string]string{"Accept-Encoding": enc}, "")
			if rec.Code != 200 || rec.Header().Get("Content-Encoding") != enc || !bytes.Equal(decoded(t, rec), plain.Body.Bytes()) {
				t.Fatalf("%s: %d, encoding %q", enc, rec.Code, rec.Header().Get("Content-Encoding"))
			}
		}
	})
	t.Run("widget script and its 304", func(t *testing.T) {
		plain := doRaw(t, s, "GET", "/assets/admin.js", nil, "")
		rec := doRaw(t, s, "GET", "/assets/admin.js", map[string]string{"Accept-Encoding": "gzip"}, "")
		etag := rec.Header().Get("ETag")
		if rec.Header().Get("Content-Encoding") != "gzip" || etag != strings.TrimSuffix(plain.Header().Get("ETag"), `"`)+`-gzip"` ||
			!bytes.Equal(decoded(t, rec), plain.Body.Bytes()) {
			t.Fatalf("encoding %q, ETag %q (plain %q)", rec.Header().Get("Content-Encoding"), etag, plain.Header().Get("ETag"))
		}
		again := doRaw(t, s, "GET", "/assets/admin.js", map[string]string{"Accept-Encoding": "gzip", "If-None-Match": etag}, "")
		if again.Code != http.StatusNotModified {
			t.Fatalf("If-None-Match %s: %d, want 304", etag, again.Code)
		}
		head := doRaw(t, s, "HEAD", "/assets/admin.js", map[string]string{"Accept-Encoding": "gzip"}, "")
		if head.Code != 200 || head.Body.Len() != 0 || head.Header().Get("Content-Encoding") != "gzip" || head.Header().Get("ETag") != etag {
			t.Fatalf("HEAD: %d, %d bytes, encoding %q, ETag %q", head.Code, head.Body.Len(), head.Header().Get("Content-Encoding"), head.Header().Get("ETag"))
		}
	})
	t.Run("small answers stay plain", func(t *testing.T) {
		rec := doRaw(t, s, "GET", "/healthz", map[string]string{"Accept-Encoding": "gzip"}, "")
		if rec.Header().Get("Content-Encoding") != "" {
			t.Fatalf("healthz compressed: %q", rec.Header().Get("Content-Encoding"))
		}
	})
}
