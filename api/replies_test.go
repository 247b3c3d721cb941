package api_test

import (
	"fmt"
	"net/http"
	"testing"
)

// A thread page carries at most 20 replies per top-level comment, so its
// size does not grow with a thread's replies; the rest come page by page
// from GET /comments/{id}/replies.
func TestRepliesPaginated(t *testing.T) {
	s := newTestServer(t)
	u := s.register(t, "chatty")
	root := s.post(t, u.AccessToken, seedSlug, "The root.", nil)
	var replies []uint
	reply := func() {
		c := s.post(t, u.AccessToken, seedSlug, fmt.Sprintf("Reply number %d.", len(replies)+1), &root.ID)
		replies = append(replies, c.ID)
	}
	for range 21 {
		reply()
	}
	size21 := len(s.do(t, "GET", "/api/v1/articles/"+seedSlug+"/comments?limit=1", "", nil).Body.Bytes())
	for range 39 {
		reply()
	}
	rec := s.do(t, "GET", "/api/v1/articles/"+seedSlug+"/comments?limit=1", "", nil)
	want(t, rec, http.StatusOK)
	if size60 := len(rec.Body.Bytes()); size60 > size21+16 {
		t.Fatalf("the page grew from %d to %d bytes with 39 more replies", size21, size60)
	}
	page := decode[struct {
		Items []struct {
			commentJSON
			RepliesCursor *string `json:"replies_cursor"`
		} `json:"items"`
	}](t, rec)
	top := page.Items[0]
	if len(top.Replies) != 20 || top.RepliesCursor == nil {
		t.Fatalf("root carries %d replies, cursor %v; want 20 and a cursor", len(top.Replies), top.RepliesCursor)
	}
	got := []uint{}
	for _, r := range top.Replies {
		got = append(got, r.ID)
	}
	cursor := *top.RepliesCursor
	for cursor != "" {
		rec := s.do(t, "GET", fmt.Sprintf("/api/v1/comments/%d/replies?limit=25&cursor=%s", root.ID, cursor), u.AccessToken, nil)
		want(t, rec, http.StatusOK)
		rp := decode[struct {
			Items      []commentJSON `json:"items"`
			NextCursor *string       `json:"next_cursor"`
		}](t, rec)
		for _, r := range rp.Items {
			if r.ParentID == nil || *r.ParentID != root.ID || r.Body == nil {
				t.Fatalf("reply %+v: want parent %d and, for its author, the Markdown source", r, root.ID)
			}
			got = append(got, r.ID)
		}
		cursor = ""
		if rp.NextCursor != nil {
			cursor = *rp.NextCursor
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(replies) {
		t.Fatalf("paged replies = %v, want %v", got, replies)
	}
	wantError(t, s.do(t, "GET", fmt.Sprintf("/api/v1/comments/%d/replies?cursor=bogus", root.ID), "", nil), http.StatusBadRequest, "validation_failed")
	wantError(t, s.do(t, "GET", fmt.Sprintf("/api/v1/comments/%d/replies", replies[0]), "", nil), http.StatusNotFound, "not_found")
	wantError(t, s.do(t, "GET", "/api/v1/comments/999999/replies", "", nil), http.StatusNotFound, "not_found")
}
