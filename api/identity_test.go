package api_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/parley-comments/parley/api"
	"github.com/parley-comments/parley/mail"
	"github.com/parley-comments/parley/mail/mailtest"
	"github.com/parley-comments/parley/models"
)

const publicURL = "https://comments.example"

// mailbox is a real SMTP server on loopback and the outbox worker that
// feeds it from the test server's database.
type mailbox struct {
	srv    *mailtest.Server
	worker *mail.Worker
	seen   int
}

// withMail turns mail on for a test server; call deliver after requests.
func withMail(t *testing.T) (*mailbox, func(*api.Config)) {
	t.Helper()
	srv := mailtest.Start(t)
	smtp, err := mail.NewSMTP(srv.URL(), "Comments <comments@blog.example>", srv.TLS)
	if err != nil {
		t.Fatal(err)
	}
	mb := &mailbox{srv: srv, worker: &mail.Worker{SMTP: smtp}}
	return mb, func(c *api.Config) {
		c.Mail, c.PublicURL = true, publicURL
		mb.worker.Store = c.Store
	}
}

// deliver sends the outbox and returns the messages that arrived since the
// last call.
func (m *mailbox) deliver(t *testing.T) []mailtest.Message {
	t.Helper()
	for {
		n, err := m.worker.SendDue(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	all := m.srv.Messages()
	fresh := all[m.seen:]
	m.seen = len(all)
	return fresh
}

var linkRE = regexp.MustCompile(`https://comments\.example/account/[a-z]+[?#]token=[A-Za-z0-9_-]+`)

// linkIn returns the one link of a message, checking the text and HTML
// parts carry the same one.
func linkIn(t *testing.T, m mailtest.Message) (page, token string) {
	t.Helper()
	link := linkRE.FindString(m.Text)
	if link == "" || !strings.Contains(m.HTML, `href="`+link+`"`) {
		t.Fatalf("no link (or not the same in both parts):\ntext %s\nhtml %s", m.Text, m.HTML)
	}
	u, _ := url.Parse(link)
	q := u.RawQuery
	if u.Fragment != "" {
		q = u.Fragment
	}
	v, _ := url.ParseQuery(q)
	return u.Path, v.Get("token")
}

func (s *testServer) registerWithEmail(t *testing.T, username, email string) session {
	t.Helper()
	rec := s.do(t, "POST", "/api/v1/auth/register", "", map[string]string{"username": username, "password": "password-" + username, "email": email})
	want(t, rec, http.StatusCreated)
	return decode[session](t, rec)
}

type meJSON struct {
	User struct {
		Email         string `json:"email"`
		EmailVerified *bool  `json:"email_verified"`
	} `json:"user"`
}

func (s *testServer) me(t *testing.T, token string) meJSON {
	t.Helper()
	rec := s.do(t, "GET", "/api/v1/me", token, nil)
	want(t, rec, http.StatusOK)
	return decode[meJSON](t, rec)
}

// page fetches an account page and returns 200 for a page that reports
// success, 400 for one that reports a bad link (the page itself is a 200).
func (s *testServer) page(t *testing.T, path string) (int, string) {
	t.Helper()
	rec := doRaw(t, s, "GET", path, nil, "")
	if rec.Code != 200 {
		t.Fatalf("GET %s: %d", path, rec.Code)
	}
	if strings.Contains(rec.Body.String(), "Link not valid") {
		return 400, rec.Body.String()
	}
	return rec.Code, rec.Body.String()
}

func TestEmailVerification(t *testing.T) {
	mb, opt := withMail(t)
	s := newTestServer(t, opt)
	sess := s.registerWithEmail(t, "alice", "Alice@Example.org")
	if v := s.me(t, sess.AccessToken).User.EmailVerified; v == nil || *v {
		t.Fatalf("email_verified = %v right after sign-up, want false", v)
	}
	got := mb.deliver(t)
	if len(got) != 1 || got[0].To[0] != "alice@example.org" || got[0].From != "comments@blog.example" {
		t.Fatalf("mail after sign-up: %+v", got)
	}
	page, token := linkIn(t, got[0])
	if page != "/account/verify" {
		t.Fatalf("link to %s", page)
	}
	var stored models.EmailToken
	if err := s.store.Read.Take(&stored).Error; err != nil || stored.TokenHash == token || strings.Contains(stored.TokenHash, token) {
		t.Fatalf("token stored as %q (%v), want its hash only", stored.TokenHash, err)
	}

	t.Run("a GET of the link verifies, once", func(t *testing.T) {
		doRaw(t, s, "HEAD", "/account/verify?token="+token, nil, "") // a HEAD only looks
		if v := s.me(t, sess.AccessToken).User.EmailVerified; *v {
			t.Fatal("a HEAD of the link verified the address")
		}
		if code, body := s.page(t, "/account/verify?token="+token); code != 200 || !strings.Contains(body, "alice@example.org") {
			t.Fatalf("verify page: %d %s", code, body)
		}
		if v := s.me(t, sess.AccessToken).User.EmailVerified; v == nil || !*v {
			t.Fatal("email_verified still false")
		}
		if code, _ := s.page(t, "/account/verify?token="+token); code != 400 {
			t.Fatalf("second use: %d, want 400", code)
		}
	})
	t.Run("no second mail for a verified address", func(t *testing.T) {
		want(t, s.do(t, "POST", "/api/v1/auth/email-verification", sess.AccessToken, nil), http.StatusAccepted)
		if got := mb.deliver(t); len(got) != 0 {
			t.Fatalf("%d mails", len(got))
		}
	})
	t.Run("an expired link verifies nothing", func(t *testing.T) {
		s.registerWithEmail(t, "bob", "bob@example.org")
		_, token := linkIn(t, mb.deliver(t)[0])
		s.clock.Advance(25 * time.Hour)
		bob := s.login(t, "bob", "password-bob")
		if code, _ := s.page(t, "/account/verify?token="+token); code != 400 {
			t.Fatalf("expired link: %d, want 400", code)
		}
		if v := s.me(t, bob.AccessToken).User.EmailVerified; *v {
			t.Fatal("verified by an expired link")
		}
		for _, bad := range []string{"", "nonsense", strings.Repeat("a", 500)} {
			if code, _ := s.page(t, "/account/verify?token="+url.QueryEscape(bad)); code != 400 {
				t.Fatalf("token %q: %d, want 400", bad, code)
			}
		}
	})
}

func TestChangeEmailNeedsConfirmation(t *testing.T) {
	mb, opt := withMail(t)
	s := newTestServer(t, opt)
	sess := s.registerWithEmail(t, "alice", "alice@example.org")
	_, token := linkIn(t, mb.deliver(t)[0])
	s.page(t, "/account/verify?token="+token)

	want(t, s.do(t, "PUT", "/api/v1/me/email", sess.AccessToken, map[string]string{"email": "new@example.org"}), http.StatusAccepted)
	if me := s.me(t, sess.AccessToken); me.User.Email != "alice@example.org" || !*me.User.EmailVerified {
		t.Fatalf("address changed before confirmation: %+v", me)
	}
	got := mb.deliver(t)
	if len(got) != 1 || got[0].To[0] != "new@example.org" {
		t.Fatalf("confirmation mail: %+v", got)
	}
	_, token = linkIn(t, got[0])
	if code, _ := s.page(t, "/account/verify?token="+token); code != 200 {
		t.Fatalf("confirm: %d", code)
	}
	if me := s.me(t, sess.AccessToken); me.User.Email != "new@example.org" || !*me.User.EmailVerified {
		t.Fatalf("after confirmation: %+v", me)
	}
	wantError(t, s.do(t, "PUT", "/api/v1/me/email", sess.AccessToken, map[string]string{"email": "not an address"}), 400, "validation_failed")
	wantError(t, s.do(t, "PUT", "/api/v1/me/email", "", map[string]string{"email": "x@example.org"}), 401, "unauthorized")
}

func TestMagicLink(t *testing.T) {
	mb, opt := withMail(t)
	s := newTestServer(t, opt)
	s.registerWithEmail(t, "alice", "alice@example.org")
	_, token := linkIn(t, mb.deliver(t)[0])
	s.page(t, "/account/verify?token="+token)
	s.registerWithEmail(t, "mallory", "unverified@example.org")
	mb.deliver(t)

	answers := map[string]string{}
	for _, addr := range []string{"alice@example.org", "nobody@example.org", "unverified@example.org"} {
		rec := s.do(t, "POST", "/api/v1/auth/magic-link", "", map[string]string{"email": addr})
		want(t, rec, http.StatusAccepted)
		answers[addr] = rec.Body.String()
	}
	if answers["alice@example.org"] != answers["nobody@example.org"] || answers["nobody@example.org"] != answers["unverified@example.org"] {
		t.Fatalf("answers differ: %v", answers)
	}
	got := mb.deliver(t)
	if len(got) != 1 || got[0].To[0] != "alice@example.org" {
		t.Fatalf("want one mail, to alice's verified address; got %d: %+v", len(got), got)
	}
	page, token := linkIn(t, got[0])
	if page != "/account/signin" || !strings.Contains(got[0].Text, "#token=") {
		t.Fatalf("sign-in link %s: the token must ride in the fragment", page)
	}
	// Fetching the page (what a mail scanner does) signs nobody in.
	if code, body := s.page(t, "/account/signin"); code != 200 || !strings.Contains(body, "account.js") {
		t.Fatalf("sign-in page: %d", code)
	}
	rec := s.do(t, "POST", "/api/v1/auth/magic-link/redeem", "", map[string]string{"token": token})
	want(t, rec, http.StatusOK)
	if sess := decode[session](t, rec); sess.User.Username != "alice" || sess.AccessToken == "" {
		t.Fatalf("session %+v", sess)
	}
	wantError(t, s.do(t, "POST", "/api/v1/auth/magic-link/redeem", "", map[string]string{"token": token}), 400, "invalid_link")

	t.Run("expired", func(t *testing.T) {
		want(t, s.do(t, "POST", "/api/v1/auth/magic-link", "", map[string]string{"email": "alice@example.org"}), http.StatusAccepted)
		_, token := linkIn(t, mb.deliver(t)[0])
		s.clock.Advance(21 * time.Minute)
		wantError(t, s.do(t, "POST", "/api/v1/auth/magic-link/redeem", "", map[string]string{"token": token}), 400, "invalid_link")
	})
	t.Run("bad input", func(t *testing.T) {
		wantError(t, s.do(t, "POST", "/api/v1/auth/magic-link", "", map[string]string{"email": "a@b\r\nBcc: c@d"}), 400, "validation_failed")
		wantError(t, s.do(t, "POST", "/api/v1/auth/magic-link", "", `{"email": 5}`), 400, "validation_failed")
		wantError(t, s.do(t, "POST", "/api/v1/auth/magic-link/redeem", "", map[string]string{"token": ""}), 400, "invalid_link")
	})
}

func TestPasswordReset(t *testing.T) {
	mb, opt := withMail(t)
	s := newTestServer(t, opt)
	old := s.registerWithEmail(t, "alice", "alice@example.org") // never verified
	mb.deliver(t)
	want(t, s.do(t, "POST", "/api/v1/auth/password-reset", "", map[string]string{"email": "ALICE@example.org"}), http.StatusAccepted)
	want(t, s.do(t, "POST", "/api/v1/auth/password-reset", "", map[string]string{"email": "nobody@example.org"}), http.StatusAccepted)
	got := mb.deliver(t)
	if len(got) != 1 || got[0].To[0] != "alice@example.org" {
		t.Fatalf("reset mails: %+v", got)
	}
	page, token := linkIn(t, got[0])
	if page != "/account/reset" {
		t.Fatalf("reset link to %s", page)
	}
	wantError(t, s.do(t, "POST", "/api/v1/auth/password-reset/redeem", "", map[string]string{"token": token, "new_password": "short"}), 400, "validation_failed")
	want(t, s.do(t, "POST", "/api/v1/auth/password-reset/redeem", "", map[string]string{"token": token, "new_password": "a brand new password"}), http.StatusNoContent)
	wantError(t, s.do(t, "POST", "/api/v1/auth/password-reset/redeem", "", map[string]string{"token": token, "new_password": "yet another password"}), 400, "invalid_link")

	wantError(t, s.do(t, "POST", "/api/v1/auth/login", "", map[string]string{"login": "alice", "password": "password-alice"}), 401, "invalid_credentials")
	wantError(t, s.do(t, "POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": old.RefreshToken}), 401, "invalid_token")
	wantError(t, s.do(t, "GET", "/api/v1/me", old.AccessToken, nil), 401, "unauthorized")
	sess := s.login(t, "alice", "a brand new password")
	if v := s.me(t, sess.AccessToken).User.EmailVerified; !*v {
		t.Fatal("a reset through the mailbox did not count as proof of the address")
	}
}

func TestMailPerAddressLimit(t *testing.T) {
	mb, opt := withMail(t)
	s := newTestServer(t, opt, func(c *api.Config) { c.RateLimit = true })
	s.registerWithEmail(t, "alice", "alice@example.org")
	mb.deliver(t)
	for i := range 6 { // from six clients: the per-client limit is not what stops this
		want(t, s.doFrom(t, "192.0.2."+string(rune('1'+i)), "POST", "/api/v1/auth/password-reset", "", map[string]string{"email": "alice@example.org"}), http.StatusAccepted)
	}
	if got := mb.deliver(t); len(got) != 3 {
		t.Fatalf("%d reset mails to one address, want 3 (the per-address burst)", len(got))
	}
	for range 5 {
		s.doFrom(t, "198.51.100.7", "POST", "/api/v1/auth/magic-link", "", map[string]string{"email": "x@example.org"})
	}
	wantError(t, s.doFrom(t, "198.51.100.7", "POST", "/api/v1/auth/magic-link", "", map[string]string{"email": "y@example.org"}), 429, "rate_limited")
}

func TestMailFeaturesOffWithoutSMTP(t *testing.T) {
	s := newTestServer(t)
	cfg := decode[map[string]any](t, s.do(t, "GET", "/api/v1/config", "", nil))
	for _, k := range []string{"email_verification", "magic_links", "password_reset"} {
		if cfg[k] != false {
			t.Errorf("%s = %v, want false", k, cfg[k])
		}
	}
	sess := s.registerWithEmail(t, "alice", "alice@example.org")
	wantError(t, s.do(t, "POST", "/api/v1/auth/magic-link", "", map[string]string{"email": "alice@example.org"}), 403, "feature_disabled")
	wantError(t, s.do(t, "POST", "/api/v1/auth/password-reset", "", map[string]string{"email": "alice@example.org"}), 403, "feature_disabled")
	wantError(t, s.do(t, "POST", "/api/v1/auth/email-verification", sess.AccessToken, nil), 403, "feature_disabled")
	var n int64
	s.store.Read.Model(&models.MailOutboxRow{}).Count(&n)
	if n != 0 {
		t.Fatalf("%d mails queued with mail off", n)
	}
	_, opt := withMail(t)
	on := newTestServer(t, opt)
	cfg = decode[map[string]any](t, on.do(t, "GET", "/api/v1/config", "", nil))
	if cfg["magic_links"] != true || cfg["password_reset"] != true || cfg["email_verification"] != true {
		t.Fatalf("config with mail: %v", cfg)
	}
}
