package api_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/parley-comments/parley/api"
)

// A guest who confirms their address earns trust from their approved
// comments like an account does; a guest who does not, earns none.
func TestVerifiedGuestEarnsTrust(t *testing.T) {
	mb, mailOn := withMail(t)
	s := newTestServer(t, mailOn, func(c *api.Config) { c.AllowGuests = true })
	mod := s.admin(t).AccessToken
	comments := "/api/v1/articles/" + seedSlug + "/comments"
	post := func(name, email string, n int) commentJSON {
		rec := s.doFrom(t, fmt.Sprintf("192.0.2.%d", n), "POST", comments, "", map[string]string{
			"body": fmt.Sprintf("guest comment %d by %s", n, name), "guest_name": name, "guest_email": email})
		want(t, rec, http.StatusCreated)
		return decode[struct{ Comment commentJSON }](t, rec).Comment
	}

	first := post("Gail", "gail@example.org", 1)
	post("Uma", "uma@example.org", 2)
	got := mb.deliver(t)
	if len(got) != 2 {
		t.Fatalf("%d verification mails, want one per guest address", len(got))
	}
	var gailLink string
	for _, m := range got {
		if m.To[0] == "gail@example.org" {
			_, gailLink = linkIn(t, m)
		}
	}
	if code, body := s.page(t, "/account/verify?token="+gailLink); code != 200 {
		t.Fatalf("guest verify: %s", body)
	}
	if first.Status != "pending" {
		t.Fatalf("first guest comment %s, want pending (guests are held)", first.Status)
	}
	s.act(t, mod, first.ID, "approve")
	for i := 3; i <= 4; i++ {
		s.act(t, mod, post("Gail", "gail@example.org", i).ID, "approve")
		s.act(t, mod, post("Uma", "uma@example.org", i+10).ID, "approve")
	}
	if c := post("Gail", "Gail@Example.org", 20); c.Status != "approved" {
		t.Fatalf("verified guest with 3 approved comments: %s, want approved", c.Status)
	}
	if c := post("Uma", "uma@example.org", 21); c.Status != "pending" {
		t.Fatalf("unverified guest with 3 approved comments: %s, want pending", c.Status)
	}
	// Moderators see which addresses are confirmed.
	q := decode[struct {
		Items []struct {
			Author struct {
				GuestName     string `json:"guest_name"`
				EmailVerified *bool  `json:"email_verified"`
			} `json:"author"`
		} `json:"items"`
	}](t, s.do(t, "GET", "/api/v1/moderation/queue", mod, nil))
	if len(q.Items) == 0 {
		t.Fatal("empty queue")
	}
	for _, it := range q.Items {
		if it.Author.EmailVerified == nil || *it.Author.EmailVerified != (it.Author.GuestName == "Gail") {
			t.Fatalf("queue author %s: email_verified %v", it.Author.GuestName, it.Author.EmailVerified)
		}
	}
	if got := mb.deliver(t); len(got) != 2 { // Uma is reminded (within the per-address limit), Gail never again
		for _, m := range got {
			if m.To[0] == "gail@example.org" {
				t.Fatal("a verified guest address was sent another verification mail")
			}
		}
	}
}
