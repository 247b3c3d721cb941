package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/parley-comments/parley/models"
)

func TestSelfService(t *testing.T) {
	s := newTestServer(t)
	alice := s.registerWithEmail(t, "alice", "alice@example.org")
	bob := s.register(t, "bob")

	t.Run("display name", func(t *testing.T) {
		rec := s.do(t, "PATCH", "/api/v1/me", alice.AccessToken, map[string]string{"display_name": "  Alice \u202eLiddell "})
		want(t, rec, http.StatusOK)
		if !strings.Contains(rec.Body.String(), `"display_name":"Alice Liddell"`) {
			t.Fatalf("profile: %s", rec.Body)
		}
		wantError(t, s.do(t, "PATCH", "/api/v1/me", alice.AccessToken, map[string]string{"display_name": strings.Repeat("x", 65)}), 400, "validation_failed")
		wantError(t, s.do(t, "PATCH", "/api/v1/me", alice.AccessToken, map[string]any{"display_name": 5}), 400, "validation_failed")
	})

	first := s.post(t, alice.AccessToken, seedSlug, "alice's first **words**", nil)
	reply := s.post(t, bob.AccessToken, seedSlug, "bob answers", &first.ID)
	second := s.post(t, alice.AccessToken, seedSlug, "alice again", nil)
	want(t, s.do(t, "PUT", fmt.Sprintf("/api/v1/comments/%d/vote", reply.ID), alice.AccessToken, map[string]int{"value": 1}), 200)

	t.Run("my comments, a page at a time", func(t *testing.T) {
		type page struct {
			Items []struct {
				ID   uint   `json:"id"`
				Body string `json:"body"`
			} `json:"items"`
			NextCursor *string `json:"next_cursor"`
		}
		p1 := decode[page](t, s.do(t, "GET", "/api/v1/me/comments?limit=1", alice.AccessToken, nil))
		if len(p1.Items) != 1 || p1.Items[0].ID != second.ID || p1.NextCursor == nil {
			t.Fatalf("page 1: %+v", p1)
		}
		p2 := decode[page](t, s.do(t, "GET", "/api/v1/me/comments?limit=1&cursor="+*p1.NextCursor, alice.AccessToken, nil))
		if len(p2.Items) != 1 || p2.Items[0].ID != first.ID || p2.NextCursor != nil {
			t.Fatalf("page 2: %+v", p2)
		}
		wantError(t, s.do(t, "GET", "/api/v1/me/comments?cursor=!!", alice.AccessToken, nil), 400, "validation_failed")
	})
	t.Run("export", func(t *testing.T) {
		rec := s.do(t, "GET", "/api/v1/me/export", alice.AccessToken, nil)
		want(t, rec, http.StatusOK)
		ex := decode[struct {
			User     struct{ Email string }  `json:"user"`
			Comments []struct{ Body string } `json:"comments"`
			Votes    []struct {
				CommentID uint `json:"comment_id"`
			} `json:"votes"`
		}](t, rec)
		if ex.User.Email != "alice@example.org" || len(ex.Comments) != 2 || ex.Comments[1].Body != "alice's first **words**" || len(ex.Votes) != 1 || ex.Votes[0].CommentID != reply.ID {
			t.Fatalf("export %s", rec.Body)
		}
		if !strings.HasPrefix(rec.Header().Get("Content-Disposition"), "attachment") {
			t.Fatal("not a download")
		}
	})
	t.Run("delete, keeping the comments", func(t *testing.T) {
		wantError(t, s.do(t, "DELETE", "/api/v1/me", alice.AccessToken, map[string]string{}), 400, "validation_failed")
		want(t, s.do(t, "DELETE", "/api/v1/me", alice.AccessToken, map[string]string{"comments": "keep"}), 204)
		wantError(t, s.do(t, "GET", "/api/v1/me", alice.AccessToken, nil), 401, "unauthorized")
		th := s.thread(t, "", "")
		found := 0
		for _, c := range th.Items {
			if c.ID == first.ID || c.ID == second.ID {
				found++
				if c.Author == nil || c.Author.GuestName != "deleted user" {
					t.Fatalf("kept comment author %+v", c.Author)
				}
			}
		}
		if found != 2 {
			t.Fatalf("kept comments in the thread: %d", found)
		}
		var score int
		s.store.Read.Model(&models.Comment{}).Where("id = ?", reply.ID).Pluck("score", &score)
		if score != 0 {
			t.Fatalf("bob's reply keeps the deleted user's vote: score %d", score)
		}
	})
	t.Run("delete, removing the comments", func(t *testing.T) {
		carol := s.register(t, "carol")
		top := s.post(t, carol.AccessToken, seedSlug, "carol's thread", nil)
		s.post(t, bob.AccessToken, seedSlug, "bob replies to carol", &top.ID)
		lone := s.post(t, carol.AccessToken, seedSlug, "carol alone", nil)
		want(t, s.do(t, "DELETE", "/api/v1/me", carol.AccessToken, map[string]string{"comments": "delete"}), 204)
		var tomb models.Comment
		if err := s.store.Read.Take(&tomb, top.ID).Error; err != nil || tomb.Status != models.StatusDeleted || tomb.Body != "" || tomb.AuthorID != nil {
			t.Fatalf("comment with a reply: %+v (%v), want a tombstone", tomb, err)
		}
		if err := s.store.Read.Take(&models.Comment{}, lone.ID).Error; err == nil {
			t.Fatal("a comment without replies was kept")
		}
	})
	t.Run("the admin cannot delete itself", func(t *testing.T) {
		wantError(t, s.do(t, "DELETE", "/api/v1/me", s.admin(t).AccessToken, map[string]string{"comments": "keep"}), 403, "forbidden")
	})
}
