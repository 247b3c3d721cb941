package api_test

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parley-comments/parley/api"
	"github.com/parley-comments/parley/models"
)

func TestPostAndReadThread(t *testing.T) {
	s := newTestServer(t)
	alice := s.register(t, "alice")
	bob := s.register(t, "bob")

	top := s.post(t, alice.AccessToken, seedSlug, "Hello *world*", nil)
	if top.Status != "approved" || top.BodyHTML != "<p>Hello <em>world</em></p>" || top.Author.Username != "alice" {
		t.Fatalf("posted = %+v", top)
	}
	reply := s.post(t, bob.AccessToken, seedSlug, "Hi alice", &top.ID)
	deeper := s.post(t, alice.AccessToken, seedSlug, "Hi bob", &reply.ID)

	th := s.thread(t, "", "")
	if th.Total != 3 || len(th.Items) != 1 {
		t.Fatalf("thread total=%d items=%d", th.Total, len(th.Items))
	}
	got := th.Items[0]
	if got.ID != top.ID || len(got.Replies) != 1 || got.Replies[0].ID != reply.ID || len(got.Replies[0].Replies) != 1 || got.Replies[0].Replies[0].ID != deeper.ID {
		t.Fatalf("thread not nested as posted: %+v", th.Items)
	}
	if got.Body != nil {
		t.Fatal("public thread carries the Markdown source")
	}
	// The author sees their source (to edit it); others do not.
	mine := s.thread(t, alice.AccessToken, "")
	if mine.Items[0].Body == nil || *mine.Items[0].Body != "Hello *world*" || mine.Items[0].Replies[0].Body != nil {
		t.Fatalf("author view = %+v", mine.Items[0])
	}
	if count := decode[map[string]int](t, s.do(t, "GET", "/api/v1/counts?slugs="+seedSlug, "", nil))[seedSlug]; count != 3 {
		t.Fatalf("count = %d, want 3", count)
	}
}

func TestPostErrors(t *testing.T) {
	s := newTestServer(t)
	u := s.register(t, "lena")
	admin := s.admin(t)
	want(t, s.do(t, "POST", "/api/v1/articles", admin.AccessToken, map[string]string{"slug": "other", "title": "Other"}), 201)
	other := s.post(t, u.AccessToken, "other", "on another article", nil)
	path := "/api/v1/articles/" + seedSlug + "/comments"

	wantError(t, s.do(t, "POST", path, "", map[string]string{"body": "anonymous"}), 401, "unauthorized")
	wantError(t, s.do(t, "POST", path, u.AccessToken, map[string]string{"body": "   "}), 400, "validation_failed")
	wantError(t, s.do(t, "POST", path, u.AccessToken, map[string]string{"body": strings.Repeat("x", 10001)}), 400, "validation_failed")
	wantError(t, s.do(t, "POST", path, u.AccessToken, map[string]string{"body": "nul \x00 byte"}), 400, "validation_failed")
	wantError(t, s.do(t, "POST", path, u.AccessToken, map[string]any{"body": 42}), 400, "validation_failed")
	wantError(t, s.do(t, "POST", path, u.AccessToken, map[string]any{"body": "reply", "parent_id": other.ID}), 422, "validation_failed")
	wantError(t, s.do(t, "POST", path, u.AccessToken, map[string]any{"body": "reply", "parent_id": 99999}), 422, "validation_failed")
	wantError(t, s.do(t, "POST", path, u.AccessToken, map[string]any{"body": "reply", "parent_id": -1}), 400, "validation_failed")
	wantError(t, s.do(t, "POST", "/api/v1/articles/missing/comments", u.AccessToken, map[string]string{"body": "hi"}), 404, "not_found")
	wantError(t, s.do(t, "POST", path, u.AccessToken, `{"body": "`+strings.Repeat("y", 70<<10)+`"}`), 413, "payload_too_large")
	chunked := io.MultiReader(strings.NewReader(`{"body": "`+strings.Repeat("y", 70<<10)), strings.NewReader(`"}`))
	wantError(t, s.do(t, "POST", path, u.AccessToken, chunked), 413, "payload_too_large")

	// Mass assignment: fields the client may not set are ignored.
	rec := s.do(t, "POST", path, u.AccessToken, map[string]any{"body": "sneaky", "status": "approved", "score": 1000, "id": 777, "author": map[string]any{"id": 1}})
	want(t, rec, 201)
	c := decode[struct{ Comment commentJSON }](t, rec).Comment
	if c.Score != 0 || c.ID == 777 || c.Author.Username != "lena" {
		t.Fatalf("mass assignment got through: %+v", c)
	}

	// A locked article refuses comments.
	want(t, s.do(t, "PATCH", "/api/v1/articles/other", admin.AccessToken, map[string]any{"comments_locked": true}), 200)
	wantError(t, s.do(t, "POST", "/api/v1/articles/other/comments", u.AccessToken, map[string]string{"body": "late"}), 403, "locked")
}

func TestXSSIsRenderedHarmless(t *testing.T) {
	s := newTestServer(t)
	u := s.register(t, "mallory")
	payloads := []string{
		`<script>alert(1)</script>`,
		`<img src=x onerror=alert(1)>`,
		`[click](javascript:alert(1))`,
		`[click](JaVaScRiPt:alert(1))`,
		`[click](&#106;avascript:alert(1))`,
		`<a href="javascript:alert(1)">x</a>`,
		`![x](javascript:alert(1))`,
		`![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)`,
		`<iframe src="https://evil.example"></iframe>`,
		`<svg onload=alert(1)>`,
		`<style>body{display:none}</style>`,
		"[x](java\tscript:alert(1))",
	}
	for _, p := range payloads {
		c := s.post(t, u.AccessToken, seedSlug, p+" "+fmt.Sprint(time.Now().UnixNano()), nil)
		low := strings.ToLower(tagsOnly(c.BodyHTML)) // typed HTML may come back as escaped text
		for _, bad := range []string{"<script", "onerror", "onload", "javascript:", "<iframe", "<svg", "<style", "<img", "data:"} {
			if strings.Contains(low, bad) {
				t.Errorf("payload %q rendered as %q (contains %q)", p, c.BodyHTML, bad)
			}
		}
	}
	c := s.post(t, u.AccessToken, seedSlug, "see https://example.com and [docs](https://example.org/docs)", nil)
	if strings.Count(c.BodyHTML, `rel="nofollow ugc noopener"`) != 2 {
		t.Fatalf("links lack rel: %s", c.BodyHTML)
	}
}

// tagsOnly keeps the tags of sanitized HTML, whose text holds no '<'.
func tagsOnly(html string) string {
	var b strings.Builder
	for {
		start := strings.IndexByte(html, '<')
		if start < 0 {
			return b.String()
		}
		end := strings.IndexByte(html[start:], '>')
		if end < 0 {
			return b.String() + html[start:]
		}
		b.WriteString(html[start : start+end+1])
		html = html[start+end+1:]
	}
}

// TestRawHTMLShowsAsTypedText: a comment whose first line starts with a tag
// keeps the words beside it, the HTML shown as the text typed; a comment
// that would show no text at all is refused, by field.
func TestRawHTMLShowsAsTypedText(t *testing.T) {
	s := newTestServer(t)
	u := s.register(t, "typist")
	c := s.post(t, u.AccessToken, seedSlug, "<script>alert(1)</script> see [docs](https://example.com)", nil)
	if want := "<p>&lt;script&gt;alert(1)&lt;/script&gt; see [docs](https://example.com)</p>"; c.BodyHTML != want {
		t.Fatalf("body_html = %q, want %q", c.BodyHTML, want)
	}
	path := "/api/v1/articles/" + seedSlug + "/comments"
	for _, body := range []string{"![](https://example.com/a.png)", "[](https://example.com)", "---", "&nbsp;\u200b"} {
		rec := s.do(t, "POST", path, u.AccessToken, map[string]string{"body": body})
		wantError(t, rec, 400, "validation_failed")
		if e := decode[errorJSON](t, rec).Error; e.Fields["body"] != "no visible text" {
			t.Errorf("POST %q: fields = %v, want body: no visible text", body, e.Fields)
		}
	}
	// An edit that would leave nothing visible is refused the same way.
	rec := s.do(t, "PATCH", fmt.Sprintf("/api/v1/comments/%d", c.ID), u.AccessToken, map[string]string{"body": "![](https://example.com/a.png)"})
	wantError(t, rec, 400, "validation_failed")
}

func TestThreadSortsAndPagination(t *testing.T) {
	s := newTestServer(t)
	users := []session{s.register(t, "ann"), s.register(t, "ben"), s.register(t, "cat")}
	var tops []uint
	for i := range 7 {
		c := s.post(t, users[i%3].AccessToken, seedSlug, fmt.Sprintf("top %d", i), nil)
		tops = append(tops, c.ID)
		for j := range i % 3 {
			s.post(t, users[(i+1)%3].AccessToken, seedSlug, fmt.Sprintf("reply %d.%d", i, j), &c.ID)
		}
	}
	// Votes make "top" differ from both time orders: top 3 gets two up, top 5 one up, top 1 one down.
	vote := func(u session, id uint, v int) {
		want(t, s.do(t, "PUT", fmt.Sprintf("/api/v1/comments/%d/vote", id), u.AccessToken, map[string]int{"value": v}), 200)
	}
	vote(users[1], tops[3], 1)
	vote(users[2], tops[3], 1)
	vote(users[0], tops[5], 1)
	vote(users[0], tops[1], -1)

	wantOrder := map[string][]uint{
		"oldest": tops,
		"newest": {tops[6], tops[5], tops[4], tops[3], tops[2], tops[1], tops[0]},
		"top":    {tops[3], tops[5], tops[0], tops[2], tops[4], tops[6], tops[1]},
	}
	for sort, order := range wantOrder {
		t.Run(sort, func(t *testing.T) {
			var got []uint
			replies := 0
			cursor := ""
			for pages := 0; ; pages++ {
				if pages > 10 {
					t.Fatal("pagination does not end")
				}
				th := s.thread(t, "", "?sort="+sort+"&limit=3"+cursor)
				if th.Total != 7+6 {
					t.Fatalf("total = %d, want 13", th.Total)
				}
				for _, c := range th.Items {
					got = append(got, c.ID)
					replies += len(c.Replies)
				}
				if th.NextCursor == nil {
					break
				}
				cursor = "&cursor=" + *th.NextCursor
			}
			if !slices.Equal(got, order) {
				t.Fatalf("order = %v, want %v", got, order)
			}
			if replies != 6 {
				t.Fatalf("replies seen = %d, want 6", replies)
			}
		})
	}
	wantError(t, s.do(t, "GET", "/api/v1/articles/"+seedSlug+"/comments?sort=random", "", nil), 400, "validation_failed")
	wantError(t, s.do(t, "GET", "/api/v1/articles/"+seedSlug+"/comments?limit=500", "", nil), 400, "validation_failed")
	wantError(t, s.do(t, "GET", "/api/v1/articles/"+seedSlug+"/comments?cursor=bm90LWEtY3Vyc29y", "", nil), 400, "validation_failed")
	wantError(t, s.do(t, "GET", "/api/v1/articles/"+seedSlug+"/comments?cursor='%20OR%201=1--", "", nil), 400, "validation_failed")
	// A cursor from one sort is refused by another.
	th := s.thread(t, "", "?sort=newest&limit=1")
	wantError(t, s.do(t, "GET", "/api/v1/articles/"+seedSlug+"/comments?sort=top&cursor="+*th.NextCursor, "", nil), 400, "validation_failed")
	wantError(t, s.do(t, "GET", "/api/v1/articles/missing/comments", "", nil), 404, "not_found")
}

func TestDepthCap(t *testing.T) {
	s := newTestServer(t)
	u := s.register(t, "deep")
	v := s.register(t, "deeper")
	var parent *uint
	var ids []uint
	for i := range 8 {
		tok := u.AccessToken
		if i%2 == 1 {
			tok = v.AccessToken
		}
		c := s.post(t, tok, seedSlug, fmt.Sprintf("level %d", i), parent)
		ids = append(ids, c.ID)
		parent = &c.ID
	}
	depth := 0
	node := s.thread(t, "", "").Items[0]
	for len(node.Replies) > 0 {
		if len(node.Replies) > 1 && depth < 3 {
			t.Fatalf("unexpected siblings at depth %d", depth)
		}
		node = node.Replies[0]
		depth++
	}
	if depth != 4 {
		t.Fatalf("deepest level = %d, want 4 (depth capped at 5 levels)", depth)
	}
	var n int64
	s.store.Read.Model(&models.Comment{}).Where("depth > 4").Count(&n)
	if n != 0 {
		t.Fatalf("%d comments stored deeper than the cap", n)
	}
}

func TestEditWindow(t *testing.T) {
	s := newTestServer(t)
	u := s.register(t, "nina")
	other := s.register(t, "oscar")
	mod := s.userWithRole(t, "mod1", "moderator")
	c := s.post(t, u.AccessToken, seedSlug, "frist", nil)
	path := fmt.Sprintf("/api/v1/comments/%d", c.ID)

	rec := s.do(t, "PATCH", path, u.AccessToken, map[string]string{"body": "first"})
	want(t, rec, 200)
	edited := decode[struct{ Comment commentJSON }](t, rec).Comment
	if edited.EditedAt == nil || edited.BodyHTML != "<p>first</p>" || *edited.Body != "first" {
		t.Fatalf("edited = %+v", edited)
	}
	wantError(t, s.do(t, "PATCH", path, other.AccessToken, map[string]string{"body": "hijack"}), 403, "forbidden")
	wantError(t, s.do(t, "PATCH", path, "", map[string]string{"body": "anon"}), 401, "unauthorized")
	wantError(t, s.do(t, "PATCH", path, u.AccessToken, map[string]string{"body": ""}), 400, "validation_failed")
	wantError(t, s.do(t, "PATCH", "/api/v1/comments/99999", u.AccessToken, map[string]string{"body": "x"}), 404, "not_found")
	wantError(t, s.do(t, "PATCH", "/api/v1/comments/abc", u.AccessToken, map[string]string{"body": "x"}), 404, "not_found")

	s.clock.Advance(16 * time.Minute)
	u = s.login(t, "nina", "password-nina")
	wantError(t, s.do(t, "PATCH", path, u.AccessToken, map[string]string{"body": "too late"}), 403, "edit_window_closed")
	mod = s.login(t, "mod1", "password-mod1")
	want(t, s.do(t, "PATCH", path, mod.AccessToken, map[string]string{"body": "moderated"}), 200)
}

func TestDeleteAndTombstones(t *testing.T) {
	s := newTestServer(t)
	u := s.register(t, "pat")
	v := s.register(t, "quinn")
	parent := s.post(t, u.AccessToken, seedSlug, "parent", nil)
	reply := s.post(t, v.AccessToken, seedSlug, "reply", &parent.ID)
	lone := s.post(t, u.AccessToken, seedSlug, "lonely", nil)

	wantError(t, s.do(t, "DELETE", fmt.Sprintf("/api/v1/comments/%d", parent.ID), v.AccessToken, nil), 403, "forbidden")
	want(t, s.do(t, "DELETE", fmt.Sprintf("/api/v1/comments/%d", parent.ID), u.AccessToken, nil), 204)
	want(t, s.do(t, "DELETE", fmt.Sprintf("/api/v1/comments/%d", lone.ID), u.AccessToken, nil), 204)
	wantError(t, s.do(t, "DELETE", fmt.Sprintf("/api/v1/comments/%d", lone.ID), u.AccessToken, nil), 404, "not_found")

	th := s.thread(t, "", "")
	if len(th.Items) != 1 {
		t.Fatalf("items = %d, want the tombstone only", len(th.Items))
	}
	tomb := th.Items[0]
	if !tomb.Deleted || tomb.Author != nil || tomb.BodyHTML != "" || tomb.Body != nil || len(tomb.Replies) != 1 || tomb.Replies[0].ID != reply.ID {
		t.Fatalf("tombstone = %+v", tomb)
	}
	if th.Total != 1 {
		t.Fatalf("total = %d, want 1 (the reply)", th.Total)
	}
	var stored models.Comment
	s.store.Read.First(&stored, parent.ID)
	if stored.Body != "" || stored.AuthorID != nil {
		t.Fatalf("tombstone still stores body/author: %+v", stored)
	}
	// Replying to a tombstone is refused.
	wantError(t, s.do(t, "POST", "/api/v1/articles/"+seedSlug+"/comments", v.AccessToken, map[string]any{"body": "late reply", "parent_id": parent.ID}), 422, "validation_failed")
}

func TestVotes(t *testing.T) {
	s := newTestServer(t)
	author := s.register(t, "rita")
	voter := s.register(t, "sam")
	c := s.post(t, author.AccessToken, seedSlug, "vote on me", nil)
	path := fmt.Sprintf("/api/v1/comments/%d/vote", c.ID)

	type voteJSON struct {
		Score  int `json:"score"`
		MyVote int `json:"my_vote"`
	}
	for _, step := range []struct{ value, score int }{{1, 1}, {1, 1}, {-1, -1}, {0, 0}, {1, 1}} {
		rec := s.do(t, "PUT", path, voter.AccessToken, map[string]int{"value": step.value})
		want(t, rec, 200)
		if got := decode[voteJSON](t, rec); got.Score != step.score || got.MyVote != step.value {
			t.Fatalf("after vote %d: %+v, want score %d", step.value, got, step.score)
		}
	}
	th := s.thread(t, voter.AccessToken, "")
	if th.Items[0].MyVote != 1 || th.Items[0].Score != 1 {
		t.Fatalf("thread shows %+v", th.Items[0])
	}
	if anon := s.thread(t, "", ""); anon.Items[0].MyVote != 0 {
		t.Fatal("anonymous thread shows a vote")
	}
	wantError(t, s.do(t, "PUT", path, voter.AccessToken, map[string]int{"value": 2}), 400, "validation_failed")
	wantError(t, s.do(t, "PUT", path, voter.AccessToken, map[string]any{}), 400, "validation_failed")
	wantError(t, s.do(t, "PUT", path, author.AccessToken, map[string]int{"value": 1}), 403, "forbidden")
	wantError(t, s.do(t, "PUT", path, "", map[string]int{"value": 1}), 401, "unauthorized")
	wantError(t, s.do(t, "PUT", "/api/v1/comments/424242/vote", voter.AccessToken, map[string]int{"value": 1}), 404, "not_found")
}

func TestGuestsAndPendingVisibility(t *testing.T) {
	s := newTestServer(t, func(c *api.Config) { c.AllowGuests = true })
	path := "/api/v1/articles/" + seedSlug + "/comments"
	wantError(t, s.do(t, "POST", path, "", map[string]string{"body": "guest without name"}), 400, "validation_failed")
	rec := s.do(t, "POST", path, "", map[string]string{"body": "hello as a guest", "guest_name": "Visitor"})
	want(t, rec, 201)
	g := decode[struct{ Comment commentJSON }](t, rec).Comment
	if g.Status != "pending" || g.Author == nil || g.Author.GuestName != "Visitor" {
		t.Fatalf("guest comment = %+v", g)
	}
	// Held: not in the public thread, not countable, not fetchable by others.
	if th := s.thread(t, "", ""); len(th.Items) != 0 || th.Total != 0 {
		t.Fatalf("pending guest comment is public: %+v", th)
	}
	wantError(t, s.do(t, "GET", fmt.Sprintf("/api/v1/comments/%d", g.ID), "", nil), 404, "not_found")
	mod := s.userWithRole(t, "mod2", "moderator")
	want(t, s.do(t, "GET", fmt.Sprintf("/api/v1/comments/%d", g.ID), mod.AccessToken, nil), 200)

	// Pre-moderated article: a new user's comment is held but shown to its author.
	admin := s.admin(t)
	want(t, s.do(t, "PATCH", "/api/v1/articles/"+seedSlug, admin.AccessToken, map[string]string{"moderation_mode": "pre"}), 200)
	u := s.register(t, "tess")
	held := s.post(t, u.AccessToken, seedSlug, "please approve", nil)
	if held.Status != "pending" {
		t.Fatalf("status = %s, want pending", held.Status)
	}
	if th := s.thread(t, u.AccessToken, ""); len(th.Items) != 1 || th.Items[0].Status != "pending" {
		t.Fatalf("author does not see own pending comment: %+v", th)
	}
	other := s.register(t, "uma")
	if th := s.thread(t, other.AccessToken, ""); len(th.Items) != 0 {
		t.Fatalf("another user sees a pending comment: %+v", th)
	}
	want(t, s.do(t, "GET", fmt.Sprintf("/api/v1/comments/%d", held.ID), u.AccessToken, nil), 200)
	wantError(t, s.do(t, "GET", fmt.Sprintf("/api/v1/comments/%d", held.ID), other.AccessToken, nil), 404, "not_found")
	// Nobody can reply to a held comment.
	wantError(t, s.do(t, "POST", path, other.AccessToken, map[string]any{"body": "reply", "parent_id": held.ID}), 422, "validation_failed")
}

func TestGuestsOffByDefault(t *testing.T) {
	s := newTestServer(t)
	wantError(t, s.do(t, "POST", "/api/v1/articles/"+seedSlug+"/comments", "", map[string]string{"body": "hi", "guest_name": "Visitor"}), 401, "unauthorized")
}

func TestHealth(t *testing.T) {
	s := newTestServer(t)
	want(t, s.do(t, "GET", "/healthz", "", nil), 200)
	want(t, s.do(t, "GET", "/readyz", "", nil), 200)
	wantError(t, s.do(t, "GET", "/api/v1/nothing-here", "", nil), 404, "not_found")
	rec := s.do(t, "GET", "/api/v1/articles", "", nil)
	if rec.Header().Get("X-Content-Type-Options") != "nosniff" || rec.Header().Get("X-Request-Id") == "" {
		t.Fatalf("headers = %v", rec.Header())
	}
}

func TestGetComment(t *testing.T) {
	s := newTestServer(t)
	u := s.register(t, "vera")
	c := s.post(t, u.AccessToken, seedSlug, "fetch me", nil)
	rec := s.do(t, "GET", fmt.Sprintf("/api/v1/comments/%d", c.ID), "", nil)
	want(t, rec, http.StatusOK)
	got := decode[struct{ Comment commentJSON }](t, rec).Comment
	if got.ID != c.ID || got.ArticleSlug != seedSlug || got.Author.Username != "vera" || got.Body != nil {
		t.Fatalf("comment = %+v", got)
	}
	wantError(t, s.do(t, "GET", "/api/v1/comments/0", "", nil), 404, "not_found")
	wantError(t, s.do(t, "GET", "/api/v1/comments/1%20OR%201=1", "", nil), 404, "not_found")
}
