package api_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/parley-comments/parley/api"
	"github.com/parley-comments/parley/models"
)

const blogOrigin = "https://blog.example" // newTestServer's PARLEY_ALLOWED_ORIGINS

// doOrigin is do with an Origin header, as a browser sends it.
func (s *testServer) doOrigin(t *testing.T, origin, method, path, token string, body any) *httptest.ResponseRecorder {
	t.Helper()
	var buf []byte
	if body != nil {
		var err error
		if buf, err = json.Marshal(body); err != nil {
			t.Fatal(err)
		}
	}
	req := httptest.NewRequest(method, path, bytes.NewReader(buf))
	req.Header.Set("Content-Type", "application/json")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	s.e.ServeHTTP(rec, req)
	checkOpenAPI(t, method, path, token, rec)
	return rec
}

type siteJSON struct {
	ID                string          `json:"id"`
	Name              string          `json:"name"`
	Origins           []string        `json:"origins"`
	AutoThreads       bool            `json:"auto_threads"`
	KeepQuery         bool            `json:"keep_query"`
	Rules             json.RawMessage `json:"rules"`
	ConfiguredOrigins []string        `json:"configured_origins"`
}

func (s *testServer) createSite(t *testing.T, token string, body map[string]any) siteJSON {
	t.Helper()
	rec := s.do(t, "POST", "/api/v1/sites", token, body)
	want(t, rec, http.StatusCreated)
	return decode[struct {
		Site siteJSON `json:"site"`
	}](t, rec).Site
}

// articlesOf counts the article rows of a site.
func (s *testServer) articlesOf(t *testing.T, site string) int64 {
	t.Helper()
	var n int64
	if err := s.store.Read.Model(&models.Article{}).Where("site_id = ?", site).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func threadPath(site, key, rest string) string {
	return "/api/v1/sites/" + site + "/comments?key=" + url.QueryEscape(key) + rest
}

func TestSitesAdmin(t *testing.T) {
	s := newTestServer(t)
	admin := s.admin(t).AccessToken

	rec := s.do(t, "GET", "/api/v1/sites/default", admin, nil)
	want(t, rec, http.StatusOK)
	def := decode[struct {
		Site siteJSON `json:"site"`
	}](t, rec).Site
	if !def.AutoThreads || def.KeepQuery || string(def.Rules) != "null" || len(def.ConfiguredOrigins) != 1 || def.ConfiguredOrigins[0] != blogOrigin {
		t.Fatalf("default site = %+v", def)
	}

	travel := s.createSite(t, admin, map[string]any{"id": "travel", "name": "Travel", "origins": []string{"https://Travel.example/"}, "auto_threads": false})
	if travel.AutoThreads || len(travel.Origins) != 1 || travel.Origins[0] != "https://travel.example" {
		t.Fatalf("created %+v", travel)
	}
	wantError(t, s.do(t, "POST", "/api/v1/sites", admin, map[string]any{"id": "travel", "name": "Again"}), http.StatusConflict, "conflict")
	rec = s.do(t, "POST", "/api/v1/sites", admin, map[string]any{"id": "No Spaces", "origins": []string{"javascript:alert(1)"}, "rules": map[string]any{"flag_threshold": 0}})
	wantError(t, rec, http.StatusBadRequest, "validation_failed")
	e := decode[errorJSON](t, rec)
	for _, f := range []string{"id", "name", "origins", "rules.flag_threshold"} {
		if e.Error.Fields[f] == "" {
			t.Errorf("no problem named on %s: %+v", f, e.Error)
		}
	}
	wantError(t, s.do(t, "POST", "/api/v1/sites", admin, map[string]any{"id": "x", "name": 5}), http.StatusBadRequest, "validation_failed")

	rec = s.do(t, "PATCH", "/api/v1/sites/travel", admin, map[string]any{"auto_threads": true, "rules": map[string]any{"max_links": 0}})
	want(t, rec, http.StatusOK)
	got := decode[struct {
		Site siteJSON `json:"site"`
	}](t, rec).Site
	var rules map[string]any
	if err := json.Unmarshal(got.Rules, &rules); err != nil || rules["max_links"] != float64(0) || rules["flag_threshold"] != float64(3) || !got.AutoThreads || got.Name != "Travel" {
		t.Fatalf("patched %+v (rules %v)", got, err)
	}
	rec = s.do(t, "PATCH", "/api/v1/sites/travel", admin, map[string]any{"rules": nil})
	want(t, rec, http.StatusOK)
	if got := decode[struct {
		Site siteJSON `json:"site"`
	}](t, rec).Site; string(got.Rules) != "null" {
		t.Fatalf("rules after null = %s", got.Rules)
	}
	wantError(t, s.do(t, "PATCH", "/api/v1/sites/nowhere", admin, map[string]any{"name": "x"}), http.StatusNotFound, "not_found")

	rec = s.do(t, "GET", "/api/v1/sites?limit=1", admin, nil)
	want(t, rec, http.StatusOK)
	page := decode[struct {
		Items      []siteJSON `json:"items"`
		NextCursor *string    `json:"next_cursor"`
	}](t, rec)
	if len(page.Items) != 1 || page.Items[0].ID != "default" || page.NextCursor == nil {
		t.Fatalf("first page = %+v", page)
	}
	rec = s.do(t, "GET", "/api/v1/sites?limit=1&cursor="+*page.NextCursor, admin, nil)
	want(t, rec, http.StatusOK)
	if p := decode[struct {
		Items []siteJSON `json:"items"`
	}](t, rec); len(p.Items) != 1 || p.Items[0].ID != "travel" {
		t.Fatalf("second page = %+v", p)
	}
	wantError(t, s.do(t, "GET", "/api/v1/sites?cursor=!!", admin, nil), http.StatusBadRequest, "validation_failed")

	wantError(t, s.do(t, "DELETE", "/api/v1/sites/default", admin, nil), http.StatusConflict, "conflict")
	want(t, s.do(t, "DELETE", "/api/v1/sites/travel", admin, nil), http.StatusNoContent)
	wantError(t, s.do(t, "DELETE", "/api/v1/sites/travel", admin, nil), http.StatusNotFound, "not_found")
}

// TestThreadsByPage: reading a page's thread writes nothing; the first
// comment creates it under the site's conditions, and a refused one leaves
// no article behind.
func TestThreadsByPage(t *testing.T) {
	s := newTestServer(t)
	admin := s.admin(t).AccessToken
	s.createSite(t, admin, map[string]any{"id": "blog", "name": "Blog", "origins": []string{"http://127.0.0.1:1313"}})
	ann := s.register(t, "ann").AccessToken
	const page = "http://127.0.0.1:1313/posts/hello/"

	// Reading a page without a thread: an empty thread, and no row.
	for _, path := range []string{threadPath("blog", page, ""), threadPath("blog", page, "&sort=top&limit=10")} {
		rec := s.do(t, "GET", path, "", nil)
		want(t, rec, http.StatusOK)
		if th := decode[threadJSON](t, rec); len(th.Items) != 0 || th.Total != 0 || th.NextCursor != nil {
			t.Fatalf("empty thread = %+v", th)
		}
	}
	wantError(t, s.do(t, "GET", "/api/v1/sites/blog/thread?key="+url.QueryEscape(page), "", nil), http.StatusNotFound, "not_found")
	wantError(t, s.do(t, "GET", "/api/v1/sites/nowhere/comments?key=x", "", nil), http.StatusNotFound, "not_found")
	wantError(t, s.do(t, "GET", threadPath("blog", page, "&sort=sideways"), "", nil), http.StatusBadRequest, "validation_failed")
	if n := s.articlesOf(t, "blog"); n != 0 {
		t.Fatalf("reads created %d articles", n)
	}

	post := func(origin string, body map[string]any) *httptest.ResponseRecorder {
		t.Helper()
		return s.doOrigin(t, origin, "POST", "/api/v1/sites/blog/comments", ann, body)
	}
	first := map[string]any{"key": page, "title": "Hello\u0007 world", "url": page, "body": "First!"}
	for name, tc := range map[string]struct {
		origin string
		change map[string]any
		status int
		code   string
	}{
		"no Origin":                  {"", nil, 403, "origin_not_allowed"},
		"forged Origin":              {"https://evil.example", nil, 403, "forbidden"},
		"another site's origin":      {blogOrigin, nil, 403, "origin_not_allowed"},
		"page URL on another origin": {"http://127.0.0.1:1313", map[string]any{"url": "https://evil.example/posts/hello/"}, 400, "validation_failed"},
		"page URL not a URL":         {"http://127.0.0.1:1313", map[string]any{"url": "javascript:alert(1)"}, 400, "validation_failed"},
		"no page URL":                {"http://127.0.0.1:1313", map[string]any{"url": ""}, 400, "validation_failed"},
		"title with markup":          {"http://127.0.0.1:1313", map[string]any{"title": "<script>alert(1)</script>"}, 400, "validation_failed"},
		"title too long":             {"http://127.0.0.1:1313", map[string]any{"title": strings.Repeat("t", 301)}, 400, "validation_failed"},
		"key too long":               {"http://127.0.0.1:1313", map[string]any{"key": page + strings.Repeat("x", 512)}, 400, "validation_failed"},
		"key with a control char":    {"http://127.0.0.1:1313", map[string]any{"key": "a\u0001b"}, 400, "validation_failed"},
		"empty body":                 {"http://127.0.0.1:1313", map[string]any{"body": "  "}, 400, "validation_failed"},
		"reply to a missing parent":  {"http://127.0.0.1:1313", map[string]any{"parent_id": 424242}, 422, "validation_failed"},
	} {
		t.Run(name, func(t *testing.T) {
			body := map[string]any{}
			for k, v := range first {
				body[k] = v
			}
			for k, v := range tc.change {
				body[k] = v
			}
			wantError(t, post(tc.origin, body), tc.status, tc.code)
			if n := s.articlesOf(t, "blog"); n != 0 {
				t.Fatalf("a refused comment left %d articles", n)
			}
		})
	}
	wantError(t, s.doOrigin(t, "http://127.0.0.1:1313", "POST", "/api/v1/sites/nowhere/comments", ann, first), http.StatusNotFound, "not_found")

	// From the site's origin: the thread opens with the comment.
	rec := post("http://127.0.0.1:1313", first)
	want(t, rec, http.StatusCreated)
	var a models.Article
	if err := s.store.Read.Where("site_id = ?", "blog").Take(&a).Error; err != nil {
		t.Fatal(err)
	}
	if a.Slug != "http://127.0.0.1:1313/posts/hello" || a.Title != "Hello world" || a.URL != page || a.CommentCount != 1 {
		t.Fatalf("opened thread = %+v", a)
	}
	// Spellings of the same page are the same thread; from Parley's own
	// origin (the widget's frame) a reply goes there too.
	rec = s.doOrigin(t, "http://example.com", "POST", "/api/v1/sites/blog/comments", ann,
		map[string]any{"key": "HTTP://127.0.0.1:1313/posts/hello/index.html?utm_source=feed#x", "body": "Second"})
	want(t, rec, http.StatusCreated)
	if n := s.articlesOf(t, "blog"); n != 1 {
		t.Fatalf("articles = %d, want 1", n)
	}
	rec = s.do(t, "GET", threadPath("blog", "http://127.0.0.1:1313/posts/hello", ""), "", nil)
	want(t, rec, http.StatusOK)
	if th := decode[threadJSON](t, rec); th.Total != 2 || len(th.Items) != 2 {
		t.Fatalf("thread = %+v", th)
	}
	rec = s.do(t, "GET", "/api/v1/sites/blog/thread?key="+url.QueryEscape(page), "", nil)
	want(t, rec, http.StatusOK)
	if got := decode[struct {
		Article struct {
			Site  string `json:"site"`
			Slug  string `json:"slug"`
			Title string `json:"title"`
		} `json:"article"`
	}](t, rec).Article; got.Site != "blog" || got.Slug != a.Slug {
		t.Fatalf("thread article = %+v", got)
	}
	// The default site's own page keys stay apart from the blog's.
	rec = s.do(t, "GET", threadPath("default", page, ""), "", nil)
	want(t, rec, http.StatusOK)
	if th := decode[threadJSON](t, rec); th.Total != 0 {
		t.Fatalf("default site sees the blog's thread: %+v", th)
	}
	// The default site's old slugs are keys too.
	s.post(t, ann, seedSlug, "On the seed article", nil)
	rec = s.do(t, "GET", threadPath("default", seedSlug, ""), "", nil)
	want(t, rec, http.StatusOK)
	if th := decode[threadJSON](t, rec); th.Total != 1 {
		t.Fatalf("the seed article by key: %+v", th)
	}

	// Switched off: no new thread, but comments on existing ones go on.
	want(t, s.do(t, "PATCH", "/api/v1/sites/blog", admin, map[string]any{"auto_threads": false}), http.StatusOK)
	other := map[string]any{"key": "http://127.0.0.1:1313/posts/other/", "url": "http://127.0.0.1:1313/posts/other/", "title": "Other", "body": "Hi"}
	wantError(t, post("http://127.0.0.1:1313", other), http.StatusForbidden, "auto_threads_off")
	want(t, post("http://127.0.0.1:1313", map[string]any{"key": page, "body": "Still open"}), http.StatusCreated)
	if n := s.articlesOf(t, "blog"); n != 1 {
		t.Fatalf("articles = %d, want 1", n)
	}
}

func TestThreadsByPageRateLimited(t *testing.T) {
	s := newTestServer(t, func(c *api.Config) { c.RateLimit = true })
	admin := s.admin(t).AccessToken
	s.createSite(t, admin, map[string]any{"id": "blog", "name": "Blog", "origins": []string{"http://127.0.0.1:1313"}})
	opened, limited := 0, 0
	for i := range 12 {
		page := "http://127.0.0.1:1313/p/" + string(rune('a'+i))
		// A moderator is not held by the posting limits; opening threads is
		// limited for everyone, per client address.
		rec := s.doOrigin(t, "http://127.0.0.1:1313", "POST", "/api/v1/sites/blog/comments", admin,
			map[string]any{"key": page, "url": page, "title": "P", "body": "Post number " + page})
		switch rec.Code {
		case http.StatusCreated:
			opened++
		case http.StatusTooManyRequests:
			wantError(t, rec, http.StatusTooManyRequests, "rate_limited")
			if rec.Header().Get("Retry-After") == "" {
				t.Fatal("429 without Retry-After")
			}
			limited++
		default:
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
	if opened != 5 || limited != 7 {
		t.Fatalf("opened %d, limited %d; want the burst of 5 and 7 refused", opened, limited)
	}
	if n := s.articlesOf(t, "blog"); n != 5 {
		t.Fatalf("articles = %d, want 5", n)
	}
}

func TestThreadCounts(t *testing.T) {
	s := newTestServer(t)
	admin := s.admin(t).AccessToken
	s.createSite(t, admin, map[string]any{"id": "blog", "name": "Blog", "origins": []string{"http://127.0.0.1:1313"}})
	for i, page := range []string{"http://127.0.0.1:1313/a/", "http://127.0.0.1:1313/a/", "http://127.0.0.1:1313/b/"} {
		want(t, s.doOrigin(t, "http://127.0.0.1:1313", "POST", "/api/v1/sites/blog/comments", admin,
			map[string]any{"key": page, "url": page, "body": "comment " + string(rune('0'+i))}), http.StatusCreated)
	}
	q := url.Values{"key": {"http://127.0.0.1:1313/a/", "http://127.0.0.1:1313/a/index.html#comments", "http://127.0.0.1:1313/b", "http://127.0.0.1:1313/none"}}
	rec := s.do(t, "GET", "/api/v1/sites/blog/counts?"+q.Encode(), "", nil)
	want(t, rec, http.StatusOK)
	got := decode[map[string]int](t, rec)
	wantCounts := map[string]int{"http://127.0.0.1:1313/a/": 2, "http://127.0.0.1:1313/a/index.html#comments": 2, "http://127.0.0.1:1313/b": 1, "http://127.0.0.1:1313/none": 0}
	if len(got) != len(wantCounts) {
		t.Fatalf("counts = %v, want %v", got, wantCounts)
	}
	for k, n := range wantCounts {
		if got[k] != n {
			t.Fatalf("counts = %v, want %v", got, wantCounts)
		}
	}
	// Another site's counts do not see the blog's threads.
	rec = s.do(t, "GET", "/api/v1/sites/default/counts?key="+url.QueryEscape("http://127.0.0.1:1313/a"), "", nil)
	want(t, rec, http.StatusOK)
	if got := decode[map[string]int](t, rec); got["http://127.0.0.1:1313/a"] != 0 {
		t.Fatalf("default site counts = %v", got)
	}
	wantError(t, s.do(t, "GET", "/api/v1/sites/blog/counts", "", nil), http.StatusBadRequest, "validation_failed")
	wantError(t, s.do(t, "GET", "/api/v1/sites/nowhere/counts?key=a", "", nil), http.StatusNotFound, "not_found")
	wantError(t, s.do(t, "GET", "/api/v1/sites/blog/counts?key="+strings.Repeat("k", 600), "", nil), http.StatusBadRequest, "validation_failed")
	many := url.Values{}
	for i := range 101 {
		many.Add("key", "k"+string(rune('a'+i%26))+strings.Repeat("x", i))
	}
	wantError(t, s.do(t, "GET", "/api/v1/sites/blog/counts?"+many.Encode(), "", nil), http.StatusBadRequest, "validation_failed")
}

// TestSiteRules: a site's own rules apply to its threads, the global ones elsewhere.
func TestSiteRules(t *testing.T) {
	s := newTestServer(t)
	admin := s.admin(t).AccessToken
	s.createSite(t, admin, map[string]any{"id": "strict", "name": "Strict", "origins": []string{"http://127.0.0.1:1313"}, "rules": map[string]any{"max_links": 0, "blocked_words": []string{"casino"}}})
	ann := s.register(t, "ann").AccessToken
	page := "http://127.0.0.1:1313/p"
	postTo := func(body string) commentJSON {
		t.Helper()
		rec := s.doOrigin(t, "http://127.0.0.1:1313", "POST", "/api/v1/sites/strict/comments", ann, map[string]any{"key": page, "url": page, "body": body})
		want(t, rec, http.StatusCreated)
		return decode[struct {
			Comment commentJSON `json:"comment"`
		}](t, rec).Comment
	}
	if c := postTo("see https://example.com"); c.Status != "pending" {
		t.Fatalf("a link on the strict site: %s, want pending", c.Status)
	}
	if c := postTo("visit the casino"); c.Status != "pending" {
		t.Fatalf("a blocked word on the strict site: %s, want pending", c.Status)
	}
	if c := postTo("a plain remark"); c.Status != "approved" {
		t.Fatalf("a plain comment on the strict site: %s", c.Status)
	}
	if c := s.post(t, ann, seedSlug, "see https://example.com and the casino", nil); c.Status != "approved" {
		t.Fatalf("on the default site (global rules): %s, want approved", c.Status)
	}
}

// TestSiteConfig: the widget's configuration follows the site's own rules.
func TestSiteConfig(t *testing.T) {
	s := newTestServer(t)
	admin := s.admin(t).AccessToken
	s.createSite(t, admin, map[string]any{"id": "terse", "name": "Terse", "origins": []string{"http://example.com"}, "rules": map[string]any{"max_body_chars": 280, "edit_window_minutes": 0}})
	for path, wantChars := range map[string]int{"/api/v1/config": 10000, "/api/v1/config?site=default": 10000, "/api/v1/config?site=terse": 280, "/api/v1/config?site=nowhere": 10000} {
		rec := s.do(t, "GET", path, "", nil)
		want(t, rec, http.StatusOK)
		if got := decode[map[string]any](t, rec); got["max_body_chars"] != float64(wantChars) {
			t.Errorf("%s: max_body_chars = %v, want %d", path, got["max_body_chars"], wantChars)
		}
	}
	// And the site's threads enforce it.
	rec := s.doOrigin(t, "http://example.com", "POST", "/api/v1/sites/terse/comments", admin, map[string]any{"key": "http://example.com/p", "url": "http://example.com/p", "body": strings.Repeat("x", 281)})
	wantError(t, rec, http.StatusBadRequest, "validation_failed")
	if e := decode[errorJSON](t, rec); e.Error.Fields["body"] == "" {
		t.Fatalf("refused for %+v, want the body's length", e.Error)
	}
	if n := s.articlesOf(t, "terse"); n != 0 {
		t.Fatalf("a refused first comment left %d articles", n)
	}
}
