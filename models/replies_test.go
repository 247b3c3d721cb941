package models_test

import (
	"testing"
	"time"

	"github.com/parley-comments/parley/bench/dataset"
	"github.com/parley-comments/parley/models"
	"github.com/parley-comments/parley/models/dbtest"
)

// A thread page carries the first RepliesPerRoot replies of each root and
// a cursor; LoadReplies pages through the rest, each reply once, leaving
// out replies below a hidden one.
func TestRepliesPaginated(t *testing.T) {
	s := dbtest.Open(t)
	users, err := dataset.Users(t.Context(), s.Write, 1, "x")
	if err != nil {
		t.Fatal(err)
	}
	article, err := dataset.Article(t.Context(), s.Write, dataset.Thread{Slug: "replies", Comments: 0}, users, dataset.Bodies(2, 1))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	add := func(parent *models.Comment, status string) *models.Comment {
		t.Helper()
		c := &models.Comment{ArticleID: article, AuthorID: &users[0], Body: "b", BodyHTML: "<p>b</p>", Status: status, CreatedAt: now, UpdatedAt: now}
		if parent != nil {
			c.ParentID, c.Depth = &parent.ID, parent.Depth+1
			c.RootID = parent.RootID
			if parent.ParentID == nil {
				c.RootID = &parent.ID
			}
		}
		if err := s.Write.Create(c).Error; err != nil {
			t.Fatal(err)
		}
		return c
	}
	root := add(nil, models.StatusApproved)
	quiet := add(nil, models.StatusApproved)
	add(quiet, models.StatusApproved)
	var shown []uint
	var hidden *models.Comment
	for i := range 45 {
		r := add(root, models.StatusApproved)
		shown = append(shown, r.ID)
		switch i {
		case 30: // a hidden reply beyond the first page, with a reply of its own
			r.Status = models.StatusRejected
			s.Write.Model(r).Update("status", models.StatusRejected)
			shown = shown[:len(shown)-1]
			hidden = r
		case 33:
			shown = append(shown, add(r, models.StatusApproved).ID) // a reply to a reply
		}
	}
	add(hidden, models.StatusApproved)

	page, err := models.LoadThread(t.Context(), s.Read, models.ThreadQuery{ArticleID: article, Sort: models.SortOldest, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 2 || page.Items[0].ID != root.ID {
		t.Fatalf("page items = %d", len(page.Items))
	}
	first := page.Items[0]
	if len(first.Replies) != models.RepliesPerRoot || first.RepliesCursor == "" {
		t.Fatalf("root carries %d replies (cursor %q), want %d and a cursor", len(first.Replies), first.RepliesCursor, models.RepliesPerRoot)
	}
	if page.Items[1].RepliesCursor != "" || len(page.Items[1].Replies) != 1 {
		t.Fatalf("a root with one reply: cursor %q, %d replies", page.Items[1].RepliesCursor, len(page.Items[1].Replies))
	}
	var got []uint
	for _, r := range first.Replies {
		got = append(got, r.ID)
	}
	for cursor := first.RepliesCursor; cursor != ""; {
		rp, err := models.LoadReplies(t.Context(), s.Read, models.RepliesQuery{RootID: root.ID, Limit: 10, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		if len(rp.Items) > 10 || rp.ArticleID != article {
			t.Fatalf("replies page of %d items, article %d", len(rp.Items), rp.ArticleID)
		}
		for _, r := range rp.Items {
			got = append(got, r.ID)
		}
		cursor = rp.NextCursor
	}
	if len(got) != len(shown) {
		t.Fatalf("paged through %d replies, want %d: %v", len(got), len(shown), got)
	}
	for i := range got {
		if got[i] != shown[i] {
			t.Fatalf("reply %d = %d, want %d (each visible reply once, oldest first)", i, got[i], shown[i])
		}
	}
	for _, bad := range []string{"garbage", first.RepliesCursor + "x"} {
		if _, err := models.LoadReplies(t.Context(), s.Read, models.RepliesQuery{RootID: root.ID, Limit: 10, Cursor: bad}); err != models.ErrBadCursor {
			t.Errorf("cursor %q: err = %v, want ErrBadCursor", bad, err)
		}
	}
	if _, err := models.LoadReplies(t.Context(), s.Read, models.RepliesQuery{RootID: quiet.ID, Limit: 10, Cursor: first.RepliesCursor}); err != models.ErrBadCursor {
		t.Errorf("another root's cursor: err = %v, want ErrBadCursor", err)
	}
	if _, err := models.LoadReplies(t.Context(), s.Read, models.RepliesQuery{RootID: hidden.ID, Limit: 10}); err == nil {
		t.Error("replies of a reply (not a root) were answered")
	}
}
