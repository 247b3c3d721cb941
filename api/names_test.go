package api_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/parley-comments/parley/api"
	"github.com/parley-comments/parley/models"
)

// Display and guest names that look like staff, a reserved name or another
// user's username are refused; staff carry a role the public cannot set.
func TestStaffImpersonationRefused(t *testing.T) {
	s := newTestServer(t, func(c *api.Config) { c.AllowGuests = true })
	mod := s.userWithRole(t, "carla", "moderator")
	if err := s.store.Write.Model(&models.User{}).Where("id = ?", mod.User.ID).Update("display_name", "Carla Jones").Error; err != nil {
		t.Fatal(err)
	}
	s.register(t, "dave")
	register := func(username, display string) *httptest.ResponseRecorder {
		return s.do(t, "POST", "/api/v1/auth/register", "", map[string]string{"username": username, "password": "a good password", "display_name": display})
	}
	for i, display := range []string{
		"Admin", "\u0410dmin", "ａｄｍｉｎ", "ad\u200Bmin", "𝐀𝐝𝐦𝐢𝐧", "Moder\u0430tor", "PARLEY", // reserved names
		"Carla Jones", "C\u0430rla Jon\u0435s", "carla", // a staff member's display name and username
		"Dave", "D\u0430ve", "dave", // another user's username
	} {
		rec := register(fmt.Sprintf("newcomer%d", i), display)
		wantError(t, rec, http.StatusBadRequest, "validation_failed")
		if e := decode[errorJSON](t, rec); e.Error.Fields["display_name"] == "" {
			t.Fatalf("%q: fields = %v", display, e.Error.Fields)
		}
	}
	want(t, register("frank", "FRANK"), http.StatusCreated) // one's own username, in another case
	// Changing one's display name later meets the same check.
	frank := s.login(t, "frank", "a good password")
	wantError(t, s.do(t, "PATCH", "/api/v1/me", frank.AccessToken, map[string]string{"display_name": "\u0410dmin"}), http.StatusBadRequest, "validation_failed")
	wantError(t, s.do(t, "PATCH", "/api/v1/me", frank.AccessToken, map[string]string{"display_name": "Carla Jones"}), http.StatusBadRequest, "validation_failed")
	want(t, s.do(t, "PATCH", "/api/v1/me", frank.AccessToken, map[string]string{"display_name": "Frank the Reader"}), http.StatusOK)
	want(t, register("gina", "Gina D."), http.StatusCreated) // anything else
	var n int64
	s.store.Read.Model(&models.User{}).Where("username LIKE 'newcomer%'").Count(&n)
	if n != 0 {
		t.Fatalf("%d look-alike accounts created", n)
	}

	path := "/api/v1/articles/" + seedSlug + "/comments"
	for _, name := range []string{"\u0410dmin", "Carla Jones", "D\u0430ve"} {
		rec := s.do(t, "POST", path, "", map[string]string{"body": "hello", "guest_name": name})
		wantError(t, rec, http.StatusBadRequest, "validation_failed")
		if e := decode[errorJSON](t, rec); e.Error.Fields["guest_name"] == "" {
			t.Fatalf("guest %q: fields = %v", name, e.Error.Fields)
		}
	}
	want(t, s.do(t, "POST", path, "", map[string]string{"body": "hello", "guest_name": "Visitor"}), http.StatusCreated)

	// The staff badge: role on staff authors only, in pages and single comments.
	admin := s.admin(t)
	byAdmin := s.post(t, admin.AccessToken, seedSlug, "from the admin", nil)
	byMod := s.post(t, mod.AccessToken, seedSlug, "from a moderator", nil)
	byUser := s.post(t, s.login(t, "gina", "a good password").AccessToken, seedSlug, "from a reader", nil)
	roles := map[uint]string{}
	for _, c := range s.thread(t, "", "?sort=oldest").Items {
		if c.Author != nil {
			roles[c.ID] = c.Author.Role
		}
	}
	if roles[byAdmin.ID] != "admin" || roles[byMod.ID] != "moderator" || roles[byUser.ID] != "" {
		t.Fatalf("author roles = %v", roles)
	}
	got := decode[struct {
		Comment commentJSON `json:"comment"`
	}](t, s.do(t, "GET", fmt.Sprintf("/api/v1/comments/%d", byMod.ID), "", nil)).Comment
	if got.Author == nil || got.Author.Role != "moderator" {
		t.Fatalf("single comment author = %+v", got.Author)
	}
}
