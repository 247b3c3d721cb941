package api_test

import (
	"fmt"
	"testing"
)

func TestQueueShowsFlagNotes(t *testing.T) {
	s := newTestServer(t)
	author := s.register(t, "noted")
	mod := s.userWithRole(t, "modn", "moderator")
	c := s.post(t, author.AccessToken, seedSlug, "buy my pills", nil)
	for i, note := range []string{"", "links to a pharmacy", "posted on every article"} {
		f := s.register(t, fmt.Sprintf("flagger%d", i))
		want(t, s.do(t, "POST", fmt.Sprintf("/api/v1/comments/%d/flags", c.ID), f.AccessToken, map[string]string{"reason": "spam", "note": note}), 201)
	}
	rec := s.do(t, "GET", "/api/v1/moderation/queue?state=flagged", mod.AccessToken, nil)
	want(t, rec, 200)
	q := decode[struct {
		Items []struct {
			Flags struct {
				Count int `json:"count"`
				Notes []struct {
					Reason string `json:"reason"`
					Note   string `json:"note"`
				} `json:"notes"`
			} `json:"flags"`
		} `json:"items"`
	}](t, rec)
	if len(q.Items) != 1 || q.Items[0].Flags.Count != 3 {
		t.Fatalf("queue = %+v", q)
	}
	notes := q.Items[0].Flags.Notes
	if len(notes) != 2 || notes[0].Note != "posted on every article" || notes[1].Note != "links to a pharmacy" || notes[0].Reason != "spam" {
		t.Fatalf("notes = %+v, want the two written notes, latest first", notes)
	}
	// Once a moderator decides, the flags are resolved and their notes leave the queue.
	want(t, s.do(t, "POST", fmt.Sprintf("/api/v1/moderation/comments/%d/spam", c.ID), mod.AccessToken, map[string]string{}), 200)
	rec = s.do(t, "GET", "/api/v1/moderation/queue?state=flagged", mod.AccessToken, nil)
	want(t, rec, 200)
	if n := len(decode[struct{ Items []any }](t, rec).Items); n != 0 {
		t.Fatalf("flagged queue still has %d items", n)
	}
}
