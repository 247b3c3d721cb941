package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/parley-comments/parley/auth"
	"github.com/parley-comments/parley/bench/dataset"
	"github.com/parley-comments/parley/models/dbtest"
)

// benchPage is a first page as the benchmark data set has it: 50 top-level
// comments, each with three replies, about 1 KB of JSON each.
func benchPage() threadView {
	bodies := dataset.Bodies(64, 1)
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	n := 0
	mk := func(parent *uint) commentView {
		n++
		author := uint(n%64 + 1)
		id := uint(n)
		return commentView{ID: id, ArticleSlug: "bench-200", ParentID: parent,
			Author:   &authorView{ID: author, Username: dataset.Username(int(author)), DisplayName: "Bench User " + fmt.Sprint(author)},
			BodyHTML: bodies[n%len(bodies)].HTML, Status: "approved", CreatedAt: at.Add(time.Duration(n) * time.Minute),
			Score: n % 5, Replies: []commentView{}}
	}
	out := threadView{Total: 200}
	for range 50 {
		top := mk(nil)
		r1 := mk(&top.ID)
		r1.Replies = append(r1.Replies, mk(&r1.ID))
		top.Replies = append(top.Replies, r1, mk(&top.ID))
		out.Items = append(out.Items, top)
	}
	return out
}

// BenchmarkEncodePage measures JSON encoding of a 200-comment page: with
// Echo's default encoder (which escapes <, > and &), with encoding/json
// unescaped, and with threadEncoder (which writes the unescaped bytes).
func BenchmarkEncodePage(b *testing.B) {
	page := benchPage()
	b.Run("echo-default", func(b *testing.B) {
		var size int
		for b.Loop() {
			out, err := json.Marshal(page)
			if err != nil {
				b.Fatal(err)
			}
			size = len(out)
		}
		b.ReportMetric(float64(size), "bytes/page")
		b.SetBytes(int64(size))
	})
	b.Run("unescaped", func(b *testing.B) {
		var size int
		for b.Loop() {
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			if err := enc.Encode(page); err != nil {
				b.Fatal(err)
			}
			size = buf.Len()
		}
		b.ReportMetric(float64(size), "bytes/page")
		b.SetBytes(int64(size))
	})
	b.Run("threadEncoder", func(b *testing.B) {
		var size int
		for b.Loop() {
			out, _ := encodeThread(make([]byte, 0, 220<<10), page, true)
			size = len(out)
		}
		b.ReportMetric(float64(size), "bytes/page")
		b.SetBytes(int64(size))
	})
}

// BenchmarkListComments measures GET /articles/{slug}/comments through the
// whole router on a SQLite file with a 200-comment thread: anonymous (a
// cache hit), anonymous with the cache off (the build), and signed in.
func BenchmarkListComments(b *testing.B) {
	for _, tc := range []struct {
		name     string
		cache    int
		signedIn bool
	}{
		{"anonymous-cached", 0, false},
		{"anonymous-uncached", -1, false},
		{"signed-in", 0, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			e, token := benchServer(b, tc.cache)
			req := httptest.NewRequest("GET", "/api/v1/articles/bench-200/comments", nil)
			if tc.signedIn {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			var size int
			for b.Loop() {
				rec := httptest.NewRecorder()
				e.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
				size = rec.Body.Len()
			}
			b.SetBytes(int64(size))
		})
	}
}

// benchServer returns the router on a fresh database holding the 200-comment
// thread, and an access token of one of its commenters.
func benchServer(b *testing.B, cacheBytes int) (*echo.Echo, string) {
	b.Helper()
	store := dbtest.Open(b)
	hasher := auth.NewHasher(auth.TestParams)
	hash, err := hasher.Hash(b.Context(), "bench-password")
	if err != nil {
		b.Fatal(err)
	}
	users, err := dataset.Users(b.Context(), store.Write, 64, hash)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := dataset.Article(b.Context(), store.Write, dataset.Thread{Slug: "bench-200", Comments: 200, Pending: 4, Votes: 20}, users, dataset.Bodies(64, 1)); err != nil {
		b.Fatal(err)
	}
	e := NewServer(Config{Store: store, JWTSecret: []byte(strings.Repeat("k", 32)), Hasher: hasher, PageCacheBytes: cacheBytes})
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("POST", "/api/v1/auth/login", strings.NewReader(`{"login":"bench010","password":"bench-password"}`))
	req.Header.Set("Content-Type", "application/json")
	e.ServeHTTP(rec, req)
	var s struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &s); err != nil || s.AccessToken == "" {
		b.Fatalf("login: %d %s", rec.Code, rec.Body)
	}
	return e, s.AccessToken
}

// BenchmarkPageCompression measures the 200-comment page in each encoding:
// the bytes a reader downloads, the one-time cost of compressing a page
// version (gzip and Brotli together, when the shared page is built), and
// serving a cached page in each encoding through the real middleware chain
// (compression included) with no database behind the page.
func BenchmarkPageCompression(b *testing.B) {
	body, _ := encodeThread(nil, benchPage(), true)
	p := newPage(1, body, nil)
	b.Run("compress-once", func(b *testing.B) {
		for b.Loop() {
			q := newPage(1, body, nil)
			q.compress()
		}
		b.SetBytes(int64(len(body)))
	})
	p.compress()
	e := echo.New()
	e.Use(compression())
	e.GET("/page", func(c echo.Context) error { return servePage(c, p, "no-cache") })
	for _, enc := range []string{"identity", "gzip", "br"} {
		b.Run("serve-"+enc, func(b *testing.B) {
			var size int
			for b.Loop() {
				req := httptest.NewRequest("GET", "/page", nil)
				req.Header.Set("Accept-Encoding", enc)
				rec := httptest.NewRecorder()
				e.ServeHTTP(rec, req)
				size = rec.Body.Len()
			}
			b.ReportMetric(float64(size), "bytes/response")
		})
	}
	// A page built for one signed-in reader is compressed per request.
	e.GET("/own", func(c echo.Context) error { return servePage(c, newPage(1, body, nil), "private, no-cache") })
	b.Run("serve-own-page-gzip-on-the-fly", func(b *testing.B) {
		var size int
		for b.Loop() {
			req := httptest.NewRequest("GET", "/own", nil)
			req.Header.Set("Accept-Encoding", "gzip")
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, req)
			size = rec.Body.Len()
		}
		b.ReportMetric(float64(size), "bytes/response")
	})
}
