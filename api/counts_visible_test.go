package api_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
)

// publicComments walks the seed article's whole thread as an anonymous
// reader, two top-level comments a page, and returns how many comments it
// shows (tombstones aside) and the total the pages state.
func (s *testServer) publicComments(t *testing.T) (shown, total int) {
	t.Helper()
	var count func([]commentJSON)
	count = func(cs []commentJSON) {
		for _, c := range cs {
			if !c.Deleted {
				shown++
			}
			count(c.Replies)
		}
	}
	query := "?limit=2"
	for {
		page := s.thread(t, "", query)
		count(page.Items)
		total = page.Total
		if page.NextCursor == nil {
			return shown, total
		}
		query = "?limit=2&cursor=" + url.QueryEscape(*page.NextCursor)
	}
}

// counted returns the seed article's count as GET /api/v1/counts gives it.
func (s *testServer) counted(t *testing.T) int {
	t.Helper()
	rec := s.do(t, "GET", "/api/v1/counts?slugs="+seedSlug, "", nil)
	want(t, rec, http.StatusOK)
	return decode[map[string]int](t, rec)[seedSlug]
}

// TestCountsFollowPublicThread takes a thread with replies through every
// kind of change over the API and checks after each that GET /counts and
// the thread's total both give what an anonymous reader sees in it. The
// thread is read through the page cache, so a change that failed to move
// the article's version would show as a stale page.
func TestCountsFollowPublicThread(t *testing.T) {
	s := newTestServer(t)
	admin := s.admin(t).AccessToken
	alice, bob, carol, dave := s.register(t, "alice"), s.register(t, "bob"), s.register(t, "carol"), s.register(t, "dave")
	n := 0
	post := func(who session, parent *uint) uint {
		n++
		return s.post(t, who.AccessToken, seedSlug, fmt.Sprintf("comment number %d", n), parent).ID
	}
	// top (alice) ── mid (bob) ── leaf (carol)
	//             └─ side (dave)
	// other (dave)
	top := post(alice, nil)
	mid := post(bob, &top)
	leaf := post(carol, &mid)
	post(dave, &top) // side
	other := post(dave, nil)

	act := func(id uint, action string) func() {
		return func() { s.act(t, admin, id, action) }
	}
	bulk := func(action string, ids ...uint) func() {
		return func() {
			want(t, s.do(t, "POST", "/api/v1/moderation/bulk", admin, map[string]any{"ids": ids, "action": action}), http.StatusOK)
		}
	}
	steps := []struct {
		name string
		do   func()
		want int // comments an anonymous reader sees
	}{
		{"the thread as posted", func() {}, 5},
		{"rejecting a comment hides its replies", act(top, "reject"), 1},
		{"restoring it shows them again", act(top, "restore"), 5},
		{"marking a reply spam hides the reply below it", act(mid, "spam"), 3},
		{"restoring the reply", act(mid, "restore"), 5},
		{"flags that hide a comment hide its replies", func() {
			for i := range 3 {
				want(t, s.flag(t, s.register(t, fmt.Sprintf("flagger%d", i)).AccessToken, top, "abuse"), http.StatusCreated)
			}
		}, 1},
		{"approving the flagged comment", act(top, "approve"), 5},
		{"a bulk rejection", bulk("reject", mid, other), 2},
		{"restoring what it rejected", func() { act(mid, "restore")(); act(other, "restore")() }, 5},
		{"an edit held for review hides the replies", func() {
			body := "See [one](https://a.example), [two](https://b.example) and [three](https://c.example)."
			want(t, s.do(t, "PATCH", fmt.Sprintf("/api/v1/comments/%d", top), alice.AccessToken, map[string]string{"body": body}), http.StatusOK)
		}, 1},
		{"a bulk approval", bulk("approve", top), 5},
		{"a ban's purge hides the replies to the user's comments", func() {
			want(t, s.do(t, "POST", fmt.Sprintf("/api/v1/moderation/users/%d/ban", bob.User.ID), admin,
				map[string]any{"reason": "spam", "purge": true}), http.StatusOK)
		}, 3},
		{"lifting the ban restores nothing by itself", func() {
			want(t, s.do(t, "DELETE", fmt.Sprintf("/api/v1/moderation/users/%d/ban", bob.User.ID), admin, nil), http.StatusNoContent)
		}, 3},
		{"restoring the purged comment", act(mid, "restore"), 5},
		{"deleting a reply with no replies", func() {
			want(t, s.do(t, "DELETE", fmt.Sprintf("/api/v1/comments/%d", leaf), carol.AccessToken, nil), http.StatusNoContent)
		}, 4},
		{"rejecting the top comment", act(top, "reject"), 1},
		{"deleting the hidden comment leaves a tombstone that shows its replies", func() {
			want(t, s.do(t, "DELETE", fmt.Sprintf("/api/v1/comments/%d", top), admin, nil), http.StatusNoContent)
		}, 3},
	}
	for i, st := range steps {
		st.do()
		shown, total := s.publicComments(t)
		if shown != st.want {
			t.Fatalf("step %d (%s): the public thread shows %d comments, want %d", i+1, st.name, shown, st.want)
		}
		if got := s.counted(t); got != shown || total != shown {
			t.Fatalf("step %d (%s): /counts gives %d and the thread's total %d, but the thread shows %d", i+1, st.name, got, total, shown)
		}
	}
}
