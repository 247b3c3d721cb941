package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

type articleJSON struct {
	Slug           string `json:"slug"`
	Title          string `json:"title"`
	Body           string `json:"body"`
	URL            string `json:"url"`
	CommentCount   int    `json:"comment_count"`
	CommentsLocked bool   `json:"comments_locked"`
	ModerationMode string `json:"moderation_mode"`
}

func TestSeedArticle(t *testing.T) {
	s := newTestServer(t)
	rec := s.do(t, "GET", "/api/v1/articles/"+seedSlug, "", nil)
	want(t, rec, http.StatusOK)
	a := decode[struct{ Article articleJSON }](t, rec).Article
	if a.Title == "" || !strings.HasPrefix(a.Body, "Russian President Vladimir Putin") || strings.Contains(a.Body, "Post a Comment") || strings.Contains(a.Body, "0 Comments") {
		t.Fatalf("seed article = %+v", a)
	}
	if a.ModerationMode != "post" || a.CommentsLocked || a.CommentCount != 0 {
		t.Fatalf("seed article settings = %+v", a)
	}
	wantError(t, s.do(t, "GET", "/api/v1/articles/no-such-article", "", nil), 404, "not_found")
}

func TestArticlesAdminOnly(t *testing.T) {
	s := newTestServer(t)
	user := s.register(t, "ivan")
	admin := s.admin(t)
	body := map[string]string{"slug": "hello-world", "title": "Hello", "body": "Text", "url": "https://blog.example/hello"}

	wantError(t, s.do(t, "POST", "/api/v1/articles", "", body), 401, "unauthorized")
	wantError(t, s.do(t, "POST", "/api/v1/articles", user.AccessToken, body), 403, "forbidden")
	want(t, s.do(t, "POST", "/api/v1/articles", admin.AccessToken, body), http.StatusCreated)
	wantError(t, s.do(t, "POST", "/api/v1/articles", admin.AccessToken, body), 409, "conflict")
	wantError(t, s.do(t, "POST", "/api/v1/articles", admin.AccessToken, map[string]string{"slug": "Bad Slug", "title": ""}), 400, "validation_failed")
	wantError(t, s.do(t, "POST", "/api/v1/articles", admin.AccessToken, map[string]string{"slug": "ok", "title": "t", "url": "javascript:alert(1)"}), 400, "validation_failed")

	wantError(t, s.do(t, "PATCH", "/api/v1/articles/hello-world", user.AccessToken, map[string]any{"comments_locked": true}), 403, "forbidden")
	rec := s.do(t, "PATCH", "/api/v1/articles/hello-world", admin.AccessToken, map[string]any{"comments_locked": true, "moderation_mode": "pre", "title": "Hello again"})
	want(t, rec, http.StatusOK)
	a := decode[struct{ Article articleJSON }](t, rec).Article
	if !a.CommentsLocked || a.ModerationMode != "pre" || a.Title != "Hello again" || a.Body != "Text" {
		t.Fatalf("patched article = %+v", a)
	}
	wantError(t, s.do(t, "PATCH", "/api/v1/articles/hello-world", admin.AccessToken, map[string]any{"moderation_mode": "sometimes"}), 400, "validation_failed")
	wantError(t, s.do(t, "PATCH", "/api/v1/articles/hello-world", admin.AccessToken, map[string]any{"comments_locked": "yes"}), 400, "validation_failed")
	wantError(t, s.do(t, "PATCH", "/api/v1/articles/nope", admin.AccessToken, map[string]any{"title": "x"}), 404, "not_found")

	wantError(t, s.do(t, "DELETE", "/api/v1/articles/hello-world", user.AccessToken, nil), 403, "forbidden")
	want(t, s.do(t, "DELETE", "/api/v1/articles/hello-world", admin.AccessToken, nil), http.StatusNoContent)
	wantError(t, s.do(t, "GET", "/api/v1/articles/hello-world", "", nil), 404, "not_found")
	wantError(t, s.do(t, "DELETE", "/api/v1/articles/hello-world", admin.AccessToken, nil), 404, "not_found")
}

func TestDeleteArticleTakesItsComments(t *testing.T) {
	s := newTestServer(t)
	admin := s.admin(t)
	want(t, s.do(t, "POST", "/api/v1/articles", admin.AccessToken, map[string]string{"slug": "gone", "title": "Gone"}), 201)
	u := s.register(t, "judy")
	c := s.post(t, u.AccessToken, "gone", "first", nil)
	s.post(t, u.AccessToken, "gone", "reply", &c.ID)
	want(t, s.do(t, "DELETE", "/api/v1/articles/gone", admin.AccessToken, nil), 204)
	var n int64
	s.store.Read.Table("comments").Count(&n)
	if n != 0 {
		t.Fatalf("%d comments left after their article was deleted", n)
	}
	wantError(t, s.do(t, "GET", fmt.Sprintf("/api/v1/comments/%d", c.ID), "", nil), 404, "not_found")
}

func TestListArticlesPaginates(t *testing.T) {
	s := newTestServer(t)
	admin := s.admin(t)
	for i := range 5 {
		s.clock.Advance(1e9)
		want(t, s.do(t, "POST", "/api/v1/articles", admin.AccessToken, map[string]string{"slug": fmt.Sprintf("post-%d", i), "title": "Post"}), 201)
	}
	var slugs []string
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("pagination does not end")
		}
		rec := s.do(t, "GET", "/api/v1/articles?limit=2"+cursor, "", nil)
		want(t, rec, 200)
		page := decode[struct {
			Items      []articleJSON `json:"items"`
			NextCursor *string       `json:"next_cursor"`
		}](t, rec)
		for _, a := range page.Items {
			slugs = append(slugs, a.Slug)
		}
		if page.NextCursor == nil {
			break
		}
		cursor = "&cursor=" + *page.NextCursor
	}
	wantSlugs := "post-4,post-3,post-2,post-1,post-0," + seedSlug
	if got := strings.Join(slugs, ","); got != wantSlugs {
		t.Fatalf("articles = %s, want %s", got, wantSlugs)
	}
	wantError(t, s.do(t, "GET", "/api/v1/articles?cursor=garbage", "", nil), 400, "validation_failed")
	wantError(t, s.do(t, "GET", "/api/v1/articles?limit=0", "", nil), 400, "validation_failed")
	wantError(t, s.do(t, "GET", "/api/v1/articles?limit=201", "", nil), 400, "validation_failed")
}

func TestCounts(t *testing.T) {
	s := newTestServer(t)
	u := s.register(t, "kim")
	s.post(t, u.AccessToken, seedSlug, "one", nil)
	s.post(t, u.AccessToken, seedSlug, "two", nil)
	rec := s.do(t, "GET", "/api/v1/counts?slugs="+seedSlug+",unknown", "", nil)
	want(t, rec, 200)
	got := decode[map[string]int](t, rec)
	if got[seedSlug] != 2 || got["unknown"] != 0 || len(got) != 2 {
		t.Fatalf("counts = %v", got)
	}
	wantError(t, s.do(t, "GET", "/api/v1/counts", "", nil), 400, "validation_failed")
}
