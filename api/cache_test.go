package api_test

import (
	"bufio"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/parley-comments/parley/api"
)

// visibleIDs lists every comment of a thread page, depth first.
func visibleIDs(th threadJSON) []uint {
	var ids []uint
	var walk func([]commentJSON)
	walk = func(cs []commentJSON) {
		for _, c := range cs {
			ids = append(ids, c.ID)
			walk(c.Replies)
		}
	}
	walk(th.Items)
	return ids
}

// commentIn finds a comment anywhere in a thread page.
func commentIn(th threadJSON, id uint) *commentJSON {
	var found *commentJSON
	var walk func([]commentJSON)
	walk = func(cs []commentJSON) {
		for i := range cs {
			if cs[i].ID == id {
				found = &cs[i]
			}
			walk(cs[i].Replies)
		}
	}
	walk(th.Items)
	return found
}

// metric scrapes /metrics and returns the value of the series, 0 if absent.
func metric(t *testing.T, e http.Handler, series string) float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics = %d", rec.Code)
	}
	sc := bufio.NewScanner(rec.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", series, err)
			}
			return f
		}
	}
	return 0
}

// cachedRead reads the thread anonymously twice and checks that the second
// read came from the cache, so that what the caller checks next is what the
// cache holds.
func (s *testServer) cachedRead(t *testing.T) threadJSON {
	t.Helper()
	s.thread(t, "", "")
	hits := metric(t, s.e, "parley_thread_cache_hits_total")
	th := s.thread(t, "", "")
	if got := metric(t, s.e, "parley_thread_cache_hits_total"); got != hits+1 {
		t.Fatalf("the repeated anonymous read was not a cache hit (hits %v → %v)", hits, got)
	}
	return th
}

// TestThreadCacheSeesEveryChange: after each kind of write that changes a
// thread, the very next anonymous read shows it, though the read before it
// came from the cache.
func TestThreadCacheSeesEveryChange(t *testing.T) {
	s := newTestServer(t)
	mod := s.userWithRole(t, "moddy", "moderator").AccessToken
	alice := s.register(t, "alice").AccessToken
	bob := s.register(t, "bobby")
	first := s.post(t, alice, seedSlug, "the first comment", nil)
	var bobs, mine, flagged commentJSON

	steps := []struct {
		name  string
		write func()
		check func(th threadJSON) string
	}{
		{"a new approved comment", func() {
			bobs = s.post(t, bob.AccessToken, seedSlug, "a reply from bob", &first.ID)
		}, func(th threadJSON) string {
			if commentIn(th, bobs.ID) == nil || th.Total != 2 {
				return fmt.Sprintf("comment %d missing or total %d, want 2", bobs.ID, th.Total)
			}
			return ""
		}},
		{"an edit", func() {
			want(t, s.do(t, "PATCH", fmt.Sprintf("/api/v1/comments/%d", first.ID), alice, map[string]string{"body": "the first comment, edited"}), http.StatusOK)
		}, func(th threadJSON) string {
			if c := commentIn(th, first.ID); c == nil || !strings.Contains(c.BodyHTML, "edited") || c.EditedAt == nil {
				return "the edit is not shown"
			}
			return ""
		}},
		{"a vote", func() {
			want(t, s.do(t, "PUT", fmt.Sprintf("/api/v1/comments/%d/vote", first.ID), bob.AccessToken, map[string]int{"value": 1}), http.StatusOK)
		}, func(th threadJSON) string {
			if c := commentIn(th, first.ID); c == nil || c.Score != 1 || c.MyVote != 0 {
				return "the new score is not shown, or the voter's vote leaked into the public page"
			}
			return ""
		}},
		{"a deletion", func() {
			mine = s.post(t, alice, seedSlug, "soon gone", nil)
			s.cachedRead(t)
			want(t, s.do(t, "DELETE", fmt.Sprintf("/api/v1/comments/%d", mine.ID), alice, nil), http.StatusNoContent)
		}, func(th threadJSON) string {
			if commentIn(th, mine.ID) != nil || th.Total != 2 {
				return fmt.Sprintf("the deleted comment is still shown (total %d)", th.Total)
			}
			return ""
		}},
		{"a deletion that leaves a tombstone", func() {
			want(t, s.do(t, "DELETE", fmt.Sprintf("/api/v1/comments/%d", first.ID), alice, nil), http.StatusNoContent)
		}, func(th threadJSON) string {
			if c := commentIn(th, first.ID); c == nil || !c.Deleted || c.BodyHTML != "" || c.Author != nil {
				return "the tombstone is not shown"
			}
			return ""
		}},
		{"a moderation action", func() {
			want(t, s.do(t, "POST", fmt.Sprintf("/api/v1/moderation/comments/%d/reject", bobs.ID), mod, map[string]string{"reason": "off topic"}), http.StatusOK)
		}, func(th threadJSON) string {
			if commentIn(th, bobs.ID) != nil {
				return "the rejected comment is still shown"
			}
			return ""
		}},
		{"a moderation action bringing a comment back", func() {
			want(t, s.do(t, "POST", fmt.Sprintf("/api/v1/moderation/comments/%d/restore", bobs.ID), mod, nil), http.StatusOK)
		}, func(th threadJSON) string {
			if commentIn(th, bobs.ID) == nil {
				return "the approved comment is not shown"
			}
			return ""
		}},
		{"flags hiding a comment", func() {
			flagged = s.post(t, alice, seedSlug, "a comment readers dislike", nil)
			s.cachedRead(t)
			for _, name := range []string{"carol", "dave", "erin"} { // the default flag_threshold
				want(t, s.do(t, "POST", fmt.Sprintf("/api/v1/comments/%d/flags", flagged.ID), s.register(t, name).AccessToken,
					map[string]string{"reason": "abuse"}), http.StatusCreated)
			}
		}, func(th threadJSON) string {
			if commentIn(th, flagged.ID) != nil {
				return "the comment hidden by flags is still shown"
			}
			return ""
		}},
		{"a ban that purges", func() {
			want(t, s.do(t, "POST", fmt.Sprintf("/api/v1/moderation/users/%d/ban", bob.User.ID), mod,
				map[string]any{"reason": "spam", "purge": true}), http.StatusOK)
		}, func(th threadJSON) string {
			if commentIn(th, bobs.ID) != nil {
				return "the banned user's comment is still shown"
			}
			return ""
		}},
	}
	for _, st := range steps {
		s.cachedRead(t)
		st.write()
		if msg := st.check(s.thread(t, "", "")); msg != "" {
			t.Fatalf("after %s: %s", st.name, msg)
		}
	}
}

// TestThreadCacheKeepsPrivateOut: what one reader may see alone (their
// pending comment, a shadow-banned author's comment, a moderator's view of
// the queue, their votes and Markdown) never reaches another reader's page,
// whichever read filled the cache first.
func TestThreadCacheKeepsPrivateOut(t *testing.T) {
	s := newTestServer(t)
	admin := s.admin(t).AccessToken
	mod := s.userWithRole(t, "moddy", "moderator").AccessToken
	alice := s.register(t, "alice").AccessToken
	carol := s.register(t, "carol")
	bob := s.register(t, "bobby").AccessToken
	public := s.post(t, bob, seedSlug, "a public comment", nil)
	want(t, s.do(t, "PUT", fmt.Sprintf("/api/v1/comments/%d/vote", public.ID), alice, map[string]int{"value": -1}), http.StatusOK)

	// Alice's comment is held (too many links); Carol is shadow-banned.
	held := s.post(t, alice, seedSlug, "see https://a.example https://b.example https://c.example", nil)
	if held.Status != "pending" {
		t.Fatalf("held comment status = %q, want pending", held.Status)
	}
	want(t, s.do(t, "POST", fmt.Sprintf("/api/v1/moderation/users/%d/ban", carol.User.ID), mod,
		map[string]any{"reason": "troll", "shadow": true}), http.StatusOK)
	shadow := s.post(t, carol.AccessToken, seedSlug, "shouting into the void", nil)

	type reader struct {
		name, token string
		sees        []uint
	}
	readers := []reader{
		{"moderator", mod, []uint{public.ID, held.ID, shadow.ID}},
		{"alice", alice, []uint{public.ID, held.ID}},
		{"carol", carol.AccessToken, []uint{public.ID, shadow.ID}},
		{"bob", bob, []uint{public.ID}},
		{"anonymous", "", []uint{public.ID}},
		{"admin", admin, []uint{public.ID, held.ID, shadow.ID}},
	}
	// Every order of first reads: each reader fills the cache, then all read.
	for _, first := range readers {
		s.thread(t, first.token, "")
		for _, r := range readers {
			th := s.thread(t, r.token, "")
			if got := visibleIDs(th); !slices.Equal(got, r.sees) {
				t.Fatalf("after %s read first, %s sees %v, want %v", first.name, r.name, got, r.sees)
			}
			c := commentIn(th, public.ID)
			if wantVote := map[string]int{"alice": -1}[r.name]; c.MyVote != wantVote {
				t.Fatalf("%s sees my_vote %d on the public comment, want %d", r.name, c.MyVote, wantVote)
			}
			for _, c := range th.Items {
				own := map[string]uint{"alice": held.ID, "carol": shadow.ID, "bob": public.ID}[r.name] == c.ID
				if hasBody := c.Body != nil; hasBody != (own || r.name == "moderator" || r.name == "admin") {
					t.Fatalf("%s: comment %d carries body = %v", r.name, c.ID, hasBody)
				}
			}
			if c := commentIn(th, shadow.ID); c != nil && r.name == "carol" && c.Status != "approved" {
				t.Fatalf("carol sees her shadow-banned comment as %q, want approved", c.Status)
			}
		}
	}
}

// TestSignedInPageMatchesFullBuild: the page spliced for a signed-in reader
// from the shared one is byte for byte the page built for them from scratch.
func TestSignedInPageMatchesFullBuild(t *testing.T) {
	s := newTestServer(t)
	full := api.NewServer(api.Config{Store: s.store, JWTSecret: testSecret, Hasher: testHasher, Now: s.clock.Now, PageCacheBytes: -1})
	users := make([]session, 4)
	for i := range users {
		users[i] = s.register(t, fmt.Sprintf("reader%d", i))
	}
	var ids []uint
	for i := range 12 {
		var parent *uint
		if i%3 != 0 {
			parent = &ids[len(ids)-1]
		}
		body := fmt.Sprintf("comment %d with <b>markup</b> & \"quotes\"\n\n> and a quote", i)
		ids = append(ids, s.post(t, users[i%len(users)].AccessToken, seedSlug, body, parent).ID)
	}
	for i, u := range users {
		for j, id := range ids {
			if (i+j)%3 != 0 && (j%len(users)) != i {
				want(t, s.do(t, "PUT", fmt.Sprintf("/api/v1/comments/%d/vote", id), u.AccessToken, map[string]int{"value": 1 - 2*((i+j)%2)}), http.StatusOK)
			}
		}
	}
	get := func(e *echo.Echo, token, query string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", "/api/v1/articles/"+seedSlug+"/comments"+query, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		want(t, rec, http.StatusOK)
		return rec
	}
	next := decode[threadJSON](t, get(s.e, "", "?limit=2")).NextCursor
	if next == nil {
		t.Fatal("no second page")
	}
	for _, query := range []string{"", "?sort=newest", "?sort=top&limit=3", "?limit=2&cursor=" + *next} {
		for i, u := range append(users, session{}) {
			got, wantBody := get(s.e, u.AccessToken, query).Body.String(), get(full, u.AccessToken, query).Body.String()
			if got != wantBody {
				t.Fatalf("reader %d, query %q:\nspliced %s\nbuilt   %s", i, query, got, wantBody)
			}
		}
	}
}

// TestThreadCacheAcrossInstances: two servers on one database (as with
// several instances on PostgreSQL) never serve a page the other changed.
func TestThreadCacheAcrossInstances(t *testing.T) {
	a := newTestServer(t)
	b := &testServer{e: api.NewServer(api.Config{Store: a.store, JWTSecret: testSecret, Hasher: testHasher, Now: a.clock.Now}), store: a.store, clock: a.clock}
	alice := a.register(t, "alice").AccessToken
	c := a.post(t, alice, seedSlug, "posted through a", nil)
	a.cachedRead(t)
	b.cachedRead(t)
	d := b.post(t, alice, seedSlug, "posted through b", nil)
	want(t, b.do(t, "PATCH", fmt.Sprintf("/api/v1/comments/%d", c.ID), alice, map[string]string{"body": "edited through b"}), http.StatusOK)
	th := a.thread(t, "", "")
	if commentIn(th, d.ID) == nil || !strings.Contains(commentIn(th, c.ID).BodyHTML, "edited through b") {
		t.Fatalf("server a serves a page server b changed: %v", visibleIDs(th))
	}
}

// TestThreadETag: a reader holding the current page gets 304 Not Modified,
// and a changed thread gets a new ETag.
func TestThreadETag(t *testing.T) {
	s := newTestServer(t)
	alice := s.register(t, "alice").AccessToken
	s.post(t, alice, seedSlug, "hello", nil)
	path := "/api/v1/articles/" + seedSlug + "/comments"
	for _, tc := range []struct {
		name, token, cacheControl string
	}{
		{"anonymous", "", "no-cache"},
		{"signed in", alice, "private, no-cache"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			auth := map[string]string{}
			if tc.token != "" {
				auth["Authorization"] = "Bearer " + tc.token
			}
			first := doRaw(t, s, "GET", path, auth, "")
			want(t, first, http.StatusOK)
			etag := first.Header().Get("ETag")
			if !strings.HasPrefix(etag, `"`) || first.Header().Get("Cache-Control") != tc.cacheControl ||
				!slices.Contains(first.Header().Values("Vary"), "Authorization") {
				t.Fatalf("headers = %v", first.Header())
			}
			if first.Header().Get("Content-Length") != strconv.Itoa(first.Body.Len()) {
				t.Fatalf("Content-Length = %q for %d bytes", first.Header().Get("Content-Length"), first.Body.Len())
			}
			again := doRaw(t, s, "GET", path, map[string]string{"If-None-Match": etag, "Authorization": auth["Authorization"]}, "")
			if again.Code != http.StatusNotModified || again.Body.Len() != 0 || again.Header().Get("ETag") != etag {
				t.Fatalf("revalidation = %d with %d bytes, ETag %q; want 304, empty, %q", again.Code, again.Body.Len(), again.Header().Get("ETag"), etag)
			}
			s.post(t, alice, seedSlug, "a change "+tc.name, nil)
			changed := doRaw(t, s, "GET", path, map[string]string{"If-None-Match": etag, "Authorization": auth["Authorization"]}, "")
			if changed.Code != http.StatusOK || changed.Header().Get("ETag") == etag {
				t.Fatalf("after a change: %d with ETag %q, want 200 with a new ETag", changed.Code, changed.Header().Get("ETag"))
			}
		})
	}
}

// TestThreadPagesAreCompact: public pages carry no Markdown source and no
// HTML escapes of <, > and &.
func TestThreadPagesAreCompact(t *testing.T) {
	s := newTestServer(t)
	alice := s.register(t, "alice").AccessToken
	s.post(t, alice, seedSlug, "**bold** & <i>tags</i> and [a link](https://example.com/?a=1&b=2)", nil)
	rec := s.do(t, "GET", "/api/v1/articles/"+seedSlug+"/comments", "", nil)
	want(t, rec, http.StatusOK)
	body := rec.Body.String()
	for _, bad := range []string{`\u003c`, `\u003e`, `\u0026`, `"body":`} {
		if strings.Contains(body, bad) {
			t.Fatalf("public page contains %s: %s", bad, body)
		}
	}
	if !strings.Contains(body, `<strong>bold</strong>`) {
		t.Fatalf("page lacks the rendered HTML: %s", body)
	}
}
