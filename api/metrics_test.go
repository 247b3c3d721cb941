package api_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/parley-comments/parley/buildinfo"
	"github.com/parley-comments/parley/models/dbtest"
)

func TestMetrics(t *testing.T) {
	s := newTestServer(t)
	other := newTestServer(t) // a second server in the process has its own registry
	alice := s.register(t, "alice").AccessToken
	s.post(t, alice, seedSlug, "approved at once", nil)
	s.post(t, alice, seedSlug, "held: https://a.example https://b.example https://c.example", nil)
	s.post(t, alice, seedSlug, "held too: https://a.example https://b.example https://d.example", nil)
	wantError(t, s.do(t, "POST", "/api/v1/articles/"+seedSlug+"/comments", alice, map[string]string{"body": "approved at once"}), http.StatusConflict, "duplicate")
	s.thread(t, "", "")
	s.thread(t, "", "")
	want(t, s.do(t, "GET", "/api/v1/comments/999999", "", nil), http.StatusNotFound)
	rec := httptest.NewRecorder()
	s.e.ServeHTTP(rec, httptest.NewRequest("GET", "/no/such/path/42", nil))

	read := `{method="GET",route="/api/v1/articles/:slug/comments",status="200"}`
	readPool := "read"
	if dbtest.Backend() == "postgres" {
		readPool = "write" // one pool serves both
	}
	for series, want := range map[string]float64{
		"parley_http_requests_total" + read:                                                  2,
		"parley_http_request_duration_seconds_count" + read:                                  2,
		`parley_http_requests_total{method="GET",route="/api/v1/comments/:id",status="404"}`: 1,
		`parley_http_requests_total{method="GET",route="unmatched",status="404"}`:            1,
		`parley_comments_posted_total{status="approved"}`:                                    1,
		`parley_comments_posted_total{status="pending"}`:                                     2,
		`parley_comments_posted_total{status="refused"}`:                                     1,
		"parley_moderation_queue_depth":                                                      2,
		"parley_thread_cache_misses_total":                                                   1,
		"parley_thread_cache_hits_total":                                                     1,
		`go_sql_max_open_connections{db_name="` + readPool + `"}`:                            -1, // present
	} {
		got := metric(t, s.e, series)
		switch {
		case want == -1 && got <= 0:
			t.Errorf("%s missing", series)
		case want != -1 && got != want:
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}
	if got := metric(t, other.e, "parley_moderation_queue_depth"); got != 0 {
		t.Errorf("the other server's queue depth = %v, want 0: registries are shared", got)
	}
	rec = httptest.NewRecorder()
	s.e.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type = %q, want the Prometheus text format", ct)
	}
	b := buildinfo.Get()
	build := fmt.Sprintf(`parley_build_info{goversion=%q,revision=%q,version=%q} 1`, b.GoVersion, b.Revision, b.Version)
	if !strings.Contains(rec.Body.String(), "\n"+build+"\n") {
		t.Errorf("/metrics lacks %s", build)
	}
	names := []string{"go_goroutines", "process_resident_memory_bytes", "parley_thread_cache_bytes"}
	if dbtest.Backend() == "sqlite" {
		names = append(names, "parley_sqlite_wal_bytes", "parley_sqlite_checkpoints_total", "parley_sqlite_checkpoints_blocked_total")
	}
	for _, name := range names {
		if !strings.Contains(rec.Body.String(), "\n"+name+" ") {
			t.Errorf("/metrics lacks %s", name)
		}
	}
}
