package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Bodies that render to nothing visible are refused, on posting and on
// editing, and nothing is stored.
func TestInvisibleBodiesRefused(t *testing.T) {
	s := newTestServer(t)
	u := s.register(t, "blank")
	path := "/api/v1/articles/" + seedSlug + "/comments"
	for _, body := range []string{"\u200b\u200b\u200b", "\u2060\ufeff", "\u3164", "**\u200b**", "[\u200b](https://example.com)", "&nbsp;"} {
		rec := s.do(t, "POST", path, u.AccessToken, map[string]string{"body": body})
		wantError(t, rec, http.StatusBadRequest, "validation_failed")
		if e := decode[errorJSON](t, rec); e.Error.Fields["body"] == "" {
			t.Fatalf("%q: fields = %v", body, e.Error.Fields)
		}
	}
	if n := commentCount(t, s); n != 0 {
		t.Fatalf("%d invisible comments stored", n)
	}
	// An HTML comment is not hidden: it shows as typed.
	shown := s.post(t, u.AccessToken, seedSlug, "<!-- nothing -->", nil)
	if !strings.Contains(shown.BodyHTML, "&lt;!--") {
		t.Fatalf("an HTML comment rendered as %q, want it shown as text", shown.BodyHTML)
	}
	c := s.post(t, u.AccessToken, seedSlug, "visible", nil)
	wantError(t, s.do(t, "PATCH", fmt.Sprintf("/api/v1/comments/%d", c.ID), u.AccessToken, map[string]string{"body": "\u200b\u200b"}), http.StatusBadRequest, "validation_failed")
	if got := s.do(t, "GET", fmt.Sprintf("/api/v1/comments/%d", c.ID), "", nil); !strings.Contains(got.Body.String(), "visible") {
		t.Fatalf("the comment changed: %s", got.Body)
	}
}

// Duplicate detection compares bodies on their look-alike skeleton without
// punctuation: an added "!" or one Cyrillic letter is the same comment.
func TestNearDuplicatesDetected(t *testing.T) {
	s := newTestServer(t)
	spammer := s.register(t, "spammer")
	other := s.register(t, "otherspam")
	s.post(t, spammer.AccessToken, seedSlug, "Cheap watches at example dot com", nil)
	for _, body := range []string{"Cheap watches at example dot com!", "cheap  watches at example dot com.", "Cheap w\u0430tches at example dot com"} {
		wantError(t, s.do(t, "POST", "/api/v1/articles/"+seedSlug+"/comments", spammer.AccessToken, map[string]string{"body": body}), http.StatusConflict, "duplicate")
	}
	held := s.post(t, other.AccessToken, seedSlug, "Ch\u0435ap watches at ex\u0430mple dot com!!", nil)
	if held.Status != "pending" {
		t.Fatalf("another account's near-duplicate is %q, want pending (held as duplicate)", held.Status)
	}
	s.clock.Advance(time.Hour)
	again := s.login(t, "spammer", "password-spammer")
	s.post(t, again.AccessToken, seedSlug, "Cheap watches at example dot com!", nil) // after the window: allowed
}
