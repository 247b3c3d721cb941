package api_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/parley-comments/parley/api"
	"github.com/parley-comments/parley/models"
)

// Moderators do not act on admins' comments: no edit, delete, approve,
// reject, spam or restore, alone or in bulk. Admins act on moderators'.
func TestModeratorsDoNotActOnAdmins(t *testing.T) {
	s := newTestServer(t)
	admin := s.admin(t)
	mod := s.userWithRole(t, "mona", "moderator")
	other := s.userWithRole(t, "otto", "moderator")
	user := s.register(t, "uma")
	byAdmin := s.post(t, admin.AccessToken, seedSlug, "The admin's words.", nil)
	byUser := s.post(t, user.AccessToken, seedSlug, "A reader's words.", nil)
	byOther := s.post(t, other.AccessToken, seedSlug, "Another moderator's words.", nil)

	id := fmt.Sprint(byAdmin.ID)
	for _, r := range []struct {
		method, path string
		body         any
	}{
		{"PATCH", "/api/v1/comments/" + id, map[string]string{"body": "rewritten"}},
		{"DELETE", "/api/v1/comments/" + id, nil},
		{"POST", "/api/v1/moderation/comments/" + id + "/spam", map[string]string{}},
		{"POST", "/api/v1/moderation/comments/" + id + "/reject", map[string]string{}},
		{"POST", "/api/v1/moderation/bulk", map[string]any{"ids": []uint{byUser.ID, byAdmin.ID}, "action": "spam"}},
	} {
		wantError(t, s.do(t, r.method, r.path, mod.AccessToken, r.body), http.StatusForbidden, "forbidden")
	}
	var stored []models.Comment
	s.store.Read.Order("id").Find(&stored)
	for _, c := range stored {
		if c.Status != models.StatusApproved || c.EditedAt != nil {
			t.Fatalf("comment %d is %s (edited %v) after refused actions", c.ID, c.Status, c.EditedAt)
		}
	}
	// Below admins, moderators act as before; admins act on moderators.
	want(t, s.do(t, "POST", fmt.Sprintf("/api/v1/moderation/comments/%d/spam", byUser.ID), mod.AccessToken, map[string]string{}), http.StatusOK)
	want(t, s.do(t, "PATCH", fmt.Sprintf("/api/v1/comments/%d", byOther.ID), mod.AccessToken, map[string]string{"body": "fixed a typo"}), http.StatusOK)
	want(t, s.do(t, "POST", fmt.Sprintf("/api/v1/moderation/comments/%d/reject", byOther.ID), admin.AccessToken, map[string]string{}), http.StatusOK)
	want(t, s.do(t, "PATCH", "/api/v1/comments/"+id, admin.AccessToken, map[string]string{"body": "the admin edits their own"}), http.StatusOK)
}

// A banned user who signs out and posts as a guest from the same address
// is held for review, with the reason.
func TestBannedUserAsGuestIsHeld(t *testing.T) {
	s := newTestServer(t, func(c *api.Config) { c.AllowGuests = true })
	admin := s.admin(t)
	troll := s.register(t, "troll")
	open := func(body string) any { return map[string]any{"body": body, "guest_name": "Friendly Visitor"} }
	path := "/api/v1/articles/" + seedSlug + "/comments"
	// Guests are otherwise published here (no guest hold), so the hold is the address's.
	rules := decode[map[string]any](t, s.do(t, "GET", "/api/v1/moderation/rules", admin.AccessToken, nil))
	rules["hold_guests"] = false
	want(t, s.do(t, "PUT", "/api/v1/moderation/rules", admin.AccessToken, rules), http.StatusOK)

	rec := s.doFrom(t, "203.0.113.7", "POST", path, troll.AccessToken, map[string]string{"body": "I am the troll."})
	want(t, rec, http.StatusCreated)
	want(t, s.do(t, "POST", fmt.Sprintf("/api/v1/moderation/users/%d/ban", troll.User.ID), admin.AccessToken, map[string]any{"reason": "trolling"}), http.StatusOK)

	held := decode[struct{ Comment commentJSON }](t, s.doFrom(t, "203.0.113.7", "POST", path, "", open("Just a guest, honest.")))
	if held.Comment.Status != "pending" {
		t.Fatalf("the guest post from the banned user's address is %q, want pending", held.Comment.Status)
	}
	var c models.Comment
	s.store.Read.Take(&c, held.Comment.ID)
	if c.Holds != "banned_address" {
		t.Fatalf("holds = %q, want banned_address", c.Holds)
	}
	other := decode[struct{ Comment commentJSON }](t, s.doFrom(t, "198.51.100.9", "POST", path, "", open("Another guest elsewhere.")))
	if other.Comment.Status != "approved" {
		t.Fatalf("a guest from another address is %q, want approved", other.Comment.Status)
	}
	// Once the ban is lifted, the address is no longer held.
	want(t, s.do(t, "DELETE", fmt.Sprintf("/api/v1/moderation/users/%d/ban", troll.User.ID), admin.AccessToken, nil), http.StatusNoContent)
	again := decode[struct{ Comment commentJSON }](t, s.doFrom(t, "203.0.113.7", "POST", path, "", open("A guest after the ban.")))
	if again.Comment.Status != "approved" {
		t.Fatalf("after the unban the guest post is %q, want approved", again.Comment.Status)
	}
}
