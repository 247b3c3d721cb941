package api_test

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/parley-comments/parley/api"
	"github.com/parley-comments/parley/models"
)

// viewer is who reads in TestNoPrivateFieldInPublicResponses.
type viewer string

const (
	vAnon      viewer = "anonymous"
	vReader    viewer = "another user"
	vAuthor    viewer = "the author"
	vModerator viewer = "moderator"
	vAdmin     viewer = "admin"
)

func (v viewer) staff() bool { return v == vModerator || v == vAdmin }

// secret is a value seeded into the database that only some viewers may
// read anywhere in a response (maySee nil: nobody).
type secret struct {
	name, value string
	maySee      func(v viewer, url string) bool
}

// privateFixture is what TestNoPrivateFieldInPublicResponses seeds.
type privateFixture struct {
	s                                    *testServer
	tokens                               map[viewer]string
	public, pending, rejected, guest, sh uint // comment ids
	secrets                              []secret
}

// Unique markers: finding one in a response means the value leaked,
// whatever field carried it.
const (
	markEmail      = "vera.private.mail@example.org"
	markIP         = "203.0.113.77"
	markGuestIP    = "198.51.100.23"
	markGuestEmail = "gail.private.guest@example.net"
	markSource     = "**srcmark-vera-source**" // Markdown: the HTML has <strong> instead of the stars
	markPending    = "pendingmark-held-words"
	markRejected   = "rejectedmark-gone-words"
	markShadow     = "shadowmark-hidden-words"
	markFlagNote   = "flagnotemark-only-for-staff"
	markBanReason  = "banreasonmark-trolling"
	markShadowWhy  = "shadowreasonmark-quietly"
)

func seedPrivate(t *testing.T) *privateFixture {
	t.Helper()
	_, mailOn := withMail(t) // sign-up queues a verification link: its hash is a secret too
	s := newTestServer(t, func(c *api.Config) { c.AllowGuests = true }, mailOn)
	f := &privateFixture{s: s, tokens: map[viewer]string{vAnon: ""}}
	comments := "/api/v1/articles/" + seedSlug + "/comments"

	rec := s.do(t, "POST", "/api/v1/auth/register", "", map[string]string{"username": "vera", "password": "password-vera", "email": markEmail})
	want(t, rec, http.StatusCreated)
	vera := decode[session](t, rec)
	f.tokens[vAuthor] = vera.AccessToken
	f.tokens[vReader] = s.register(t, "reggie").AccessToken
	mod := s.userWithRole(t, "mona", "moderator")
	f.tokens[vModerator] = mod.AccessToken
	f.tokens[vAdmin] = s.admin(t).AccessToken

	postFrom := func(ip, token string, body map[string]string) commentJSON {
		rec := s.doFrom(t, ip, "POST", comments, token, body)
		want(t, rec, http.StatusCreated)
		return decode[struct{ Comment commentJSON }](t, rec).Comment
	}
	f.public = postFrom(markIP, vera.AccessToken, map[string]string{"body": "Public words " + markSource}).ID
	f.pending = postFrom(markIP, vera.AccessToken, map[string]string{"body": markPending + " [a](https://a.example) [b](https://b.example) [c](https://c.example)"}).ID
	f.rejected = postFrom(markIP, vera.AccessToken, map[string]string{"body": markRejected}).ID
	s.act(t, mod.AccessToken, f.rejected, "reject")
	f.guest = postFrom(markGuestIP, "", map[string]string{"body": "guest words", "guest_name": "Gail", "guest_email": markGuestEmail}).ID
	s.act(t, mod.AccessToken, f.guest, "approve")

	flagger := s.register(t, "fiona")
	want(t, s.do(t, "POST", fmt.Sprintf("/api/v1/comments/%d/flags", f.public), flagger.AccessToken, map[string]string{"reason": "other", "note": markFlagNote}), http.StatusCreated)
	troll := s.register(t, "trent")
	want(t, s.do(t, "POST", fmt.Sprintf("/api/v1/moderation/users/%d/ban", troll.User.ID), mod.AccessToken, map[string]any{"reason": markBanReason}), http.StatusOK)
	quiet := s.register(t, "quinn")
	want(t, s.do(t, "POST", fmt.Sprintf("/api/v1/moderation/users/%d/ban", quiet.User.ID), mod.AccessToken, map[string]any{"reason": markShadowWhy, "shadow": true}), http.StatusOK)
	f.sh = s.post(t, quiet.AccessToken, seedSlug, markShadow, nil).ID

	// The markers must really be stored, or not finding them proves nothing.
	stored := []struct {
		what, sql string
		arg       any
	}{
		{"email", "SELECT COUNT(*) FROM users WHERE email = ?", markEmail},
		{"comment IP", "SELECT COUNT(*) FROM comments WHERE ip = ?", markIP},
		{"guest IP", "SELECT COUNT(*) FROM comments WHERE ip = ?", markGuestIP},
		{"guest email", "SELECT COUNT(*) FROM comments WHERE guest_email = ?", markGuestEmail},
		{"flag note", "SELECT COUNT(*) FROM flags WHERE note = ?", markFlagNote},
		{"ban reason", "SELECT COUNT(*) FROM users WHERE ban_reason = ?", markBanReason},
		{"shadow ban reason", "SELECT COUNT(*) FROM bans WHERE reason = ?", markShadowWhy},
	}
	for _, st := range stored {
		var n int64
		if err := s.store.Read.Raw(st.sql, st.arg).Scan(&n).Error; err != nil || n == 0 {
			t.Fatalf("the %s marker is not in the database (n=%d, err %v)", st.what, n, err)
		}
	}

	// A webhook endpoint: its secret is the admin's alone.
	rec = s.do(t, "POST", "/api/v1/webhooks", f.tokens[vAdmin], map[string]any{"url": "https://hooks.example/private", "events": []string{"comment.created"}})
	want(t, rec, http.StatusCreated)
	hookSecret := decode[struct{ Webhook struct{ Secret string } }](t, rec).Webhook.Secret

	staff := func(v viewer, _ string) bool { return v.staff() }
	f.secrets = []secret{
		{name: "webhook secret", value: hookSecret, maySee: func(v viewer, _ string) bool { return v == vAdmin }},
		{name: "email", value: markEmail, maySee: func(v viewer, url string) bool {
			return v == vAuthor && (url == "/api/v1/me" || url == "/api/v1/me/export") || v == vAdmin
		}},
		{name: "comment IP", value: markIP, maySee: staff},
		{name: "guest IP", value: markGuestIP, maySee: staff},
		{name: "guest email", value: markGuestEmail, maySee: staff},
		{name: "flag note", value: markFlagNote, maySee: staff},
		{name: "ban reason", value: markBanReason, maySee: staff},
		{name: "shadow ban reason", value: markShadowWhy, maySee: staff},
		{name: "Markdown source", value: markSource, maySee: func(v viewer, _ string) bool { return v == vAuthor || v.staff() }},
		{name: "pending comment", value: markPending, maySee: func(v viewer, _ string) bool { return v == vAuthor || v.staff() }},
		// The author's data export holds all their comments, rejected ones too.
		{name: "rejected comment", value: markRejected, maySee: func(v viewer, url string) bool { return v.staff() || v == vAuthor && url == "/api/v1/me/export" }},
		{name: "shadow-banned comment", value: markShadow, maySee: staff},
		{name: "password hash", value: "$argon2"},
		{name: "refresh token", value: vera.RefreshToken},
	}
	var rows []struct{ PasswordHash string }
	s.store.Read.Model(&models.User{}).Select("password_hash").Scan(&rows)
	for _, r := range rows {
		f.secrets = append(f.secrets, secret{name: "a password hash", value: r.PasswordHash})
	}
	var hashes []string
	s.store.Read.Model(&models.RefreshToken{}).Pluck("token_hash", &hashes)
	for _, h := range hashes {
		f.secrets = append(f.secrets, secret{name: "a refresh token hash", value: h})
	}
	var linkHashes []string
	s.store.Read.Model(&models.EmailToken{}).Pluck("token_hash", &linkHashes)
	if len(linkHashes) == 0 {
		t.Fatal("no one-time link was stored")
	}
	for _, h := range linkHashes {
		f.secrets = append(f.secrets, secret{name: "a one-time link's hash", value: h})
	}
	if len(rows) < 7 || len(hashes) < 7 {
		t.Fatalf("seeded %d password hashes and %d refresh token hashes, want at least 7 of each", len(rows), len(hashes))
	}
	return f
}

// privateURLs lists what to fetch for each GET route; a GET route missing
// here fails the test, so a new one is crawled too.
func (f *privateFixture) privateURLs(t *testing.T) map[string][]string {
	comment := func(id uint) string { return fmt.Sprintf("/api/v1/comments/%d", id) }
	thread := "/api/v1/articles/" + seedSlug + "/comments"
	siteThread := "/api/v1/sites/default/comments?key=" + seedSlug
	return map[string][]string{
		"/":                               {"/"},
		"/healthz":                        {"/healthz"},
		"/readyz":                         {"/readyz"},
		"/metrics":                        {"/metrics"},
		"/widget.js":                      {"/widget.js"},
		"/embed":                          {"/embed?article=" + seedSlug + "&parent=https://blog.example"},
		"/admin":                          {"/admin"},
		"/assets/*":                       {"/assets/admin.js", "/assets/embed.js"},
		"/api/v1/openapi.json":            {"/api/v1/openapi.json"},
		"/api/v1/config":                  {"/api/v1/config"},
		"/api/v1/me":                      {"/api/v1/me"},
		"/api/v1/articles":                {"/api/v1/articles"},
		"/api/v1/articles/:slug":          {"/api/v1/articles/" + seedSlug},
		"/api/v1/articles/:slug/comments": {thread, thread + "?sort=newest", thread + "?sort=top&limit=1"},
		"/api/v1/counts":                  {"/api/v1/counts?slugs=" + seedSlug},
		"/api/v1/comments/:id":            {comment(f.public), comment(f.pending), comment(f.rejected), comment(f.guest), comment(f.sh)},
		"/api/v1/comments/:id/replies":    {comment(f.public) + "/replies", comment(f.pending) + "/replies", comment(f.rejected) + "/replies", comment(f.guest) + "/replies", comment(f.sh) + "/replies"},
		"/api/v1/moderation/queue":        {"/api/v1/moderation/queue", "/api/v1/moderation/queue?state=flagged", "/api/v1/moderation/queue?state=spam", "/api/v1/moderation/queue?state=rejected", "/api/v1/moderation/queue?sort=flags"},
		"/api/v1/moderation/stats":        {"/api/v1/moderation/stats"},
		"/api/v1/moderation/log":          {"/api/v1/moderation/log"},
		"/api/v1/moderation/rules":        {"/api/v1/moderation/rules"},
		// From the first event on: the replay of everything that happened.
		"/api/v1/articles/:slug/live":     {"/api/v1/articles/" + seedSlug + "/live?last_event_id=0"},
		"/api/v1/sites/:site/live":        {"/api/v1/sites/default/live?last_event_id=0&key=" + seedSlug},
		"/api/v1/feeds/articles/:slug":    {"/api/v1/feeds/articles/" + seedSlug},
		"/api/v1/feeds/sites/:site":       {"/api/v1/feeds/sites/default"},
		"/api/v1/feeds/replies/:token":    {"/api/v1/feeds/replies/" + strings.Repeat("ab", 24)},
		"/api/v1/webhooks":                {"/api/v1/webhooks"},
		"/api/v1/webhooks/:id":            {"/api/v1/webhooks/1"},
		"/api/v1/webhooks/:id/deliveries": {"/api/v1/webhooks/1/deliveries"},
		"/counts.js":                      {"/counts.js"},
		"/favicon.ico":                    {"/favicon.ico"},
		"/api/v1/sites":                   {"/api/v1/sites"},
		"/api/v1/sites/:site":             {"/api/v1/sites/default"},
		"/api/v1/sites/:site/thread":      {"/api/v1/sites/default/thread?key=" + seedSlug},
		"/api/v1/sites/:site/comments":    {siteThread, siteThread + "&sort=newest", siteThread + "&sort=top&limit=1"},
		"/api/v1/sites/:site/counts":      {"/api/v1/sites/default/counts?key=" + seedSlug},
		"/api/v1/sites/:site/fragment":    {"/api/v1/sites/default/fragment?key=" + seedSlug, "/api/v1/sites/default/fragment?limit=1&key=" + seedSlug},
		"/api/v1/admin/users/:id/sites":   {"/api/v1/admin/users/1/sites"},
		"/account/verify":                 {"/account/verify?token=not-a-token"},
		"/account/signin":                 {"/account/signin"},
		"/account/reset":                  {"/account/reset"},
		"/account/link":                   {"/account/link"},
		"/auth/callback/:provider":        {"/auth/callback/corp?state=forged&code=forged"},
		"/api/v1/me/identities":           {"/api/v1/me/identities"},
		"/api/v1/me/comments":             {"/api/v1/me/comments"},
		"/api/v1/me/export":               {"/api/v1/me/export"},
		"/api/v1/admin/imports/:id":       {fmt.Sprintf("/api/v1/admin/imports/%d", f.importJob(t))},
		"/api/v1/admin/export":            {"/api/v1/admin/export", "/api/v1/admin/export?site=default"},
	}
}

// importJob uploads a small Commento export as the admin: its job's page
// shows the commenter's e-mail in nothing but the admin's view.
func (f *privateFixture) importJob(t *testing.T) uint {
	t.Helper()
	body := `{"version":1,"comments":[{"commentHex":"x1","domain":"blog.example","url":"/p","commenterHex":"c1","markdown":"imported words",` +
		`"parentHex":"root","state":"approved","creationDate":"2020-05-01T10:00:00Z"}],"commenters":[{"commenterHex":"c1","email":"` + markGuestEmail + `","name":"Ina"}]}`
	rec := f.s.do(t, "POST", "/api/v1/admin/imports?format=commento&dry_run=true", f.tokens[vAdmin], body)
	want(t, rec, http.StatusAccepted)
	return decode[struct {
		Import struct{ ID uint } `json:"import"`
	}](t, rec).Import.ID
}

// privateKeys are JSON keys of stored fields that no response carries,
// and staffKeys those only moderators and admins could ever be shown,
// whatever their values. The OpenAPI document is left out of this check:
// it names request fields (guest_email) without holding any data.
var (
	privateKeys = []string{`"password_hash"`, `"token_version"`, `"token_hash"`, `"family_id"`}
	staffKeys   = []string{`"ban_reason"`, `"guest_email"`, `"ip"`, `"note"`, `"holds"`}
)

// TestNoPrivateFieldInPublicResponses seeds private values (an email, IP
// addresses, a guest's email, flag notes, ban reasons, the Markdown source,
// hidden comments, password and refresh token hashes) and crawls every GET
// route as each kind of viewer, scanning the raw bytes for them.
func TestNoPrivateFieldInPublicResponses(t *testing.T) {
	f := seedPrivate(t)
	urls := f.privateURLs(t)
	crawled := map[string]bool{}
	// seen[secret][viewer] records where a value showed up, for the checks
	// that the markers are findable at all.
	seen := map[string]map[viewer]bool{}
	for _, r := range f.s.e.Routes() {
		if r.Method != http.MethodGet || crawled[r.Path] {
			continue
		}
		crawled[r.Path] = true
		list, ok := urls[r.Path]
		if !ok {
			t.Errorf("GET %s is not crawled: add its URLs to privateURLs", r.Path)
			continue
		}
		// Anonymous and another user read both before and after the author
		// and the staff, so that a page cached for one cannot reach the other.
		for _, v := range []viewer{vAnon, vReader, vAuthor, vModerator, vAdmin, vAnon, vReader} {
			for _, url := range list {
				rec := f.s.do(t, "GET", url, f.tokens[v], nil)
				if rec.Code >= 500 {
					t.Errorf("GET %s as %s: status %d", url, v, rec.Code)
				}
				body := rec.Body.Bytes()
				for _, sec := range f.secrets {
					if !bytes.Contains(body, []byte(sec.value)) {
						continue
					}
					if seen[sec.name] == nil {
						seen[sec.name] = map[viewer]bool{}
					}
					seen[sec.name][v] = true
					if sec.maySee == nil || !sec.maySee(v, url) {
						t.Errorf("GET %s as %s shows the %s", url, v, sec.name)
					}
				}
				if strings.HasPrefix(url, "/api/v1/") && url != "/api/v1/openapi.json" {
					for _, key := range privateKeys {
						if bytes.Contains(body, []byte(key)) {
							t.Errorf("GET %s as %s has the key %s", url, v, key)
						}
					}
					for _, key := range staffKeys {
						if !v.staff() && bytes.Contains(body, []byte(key)) {
							t.Errorf("GET %s as %s has the key %s", url, v, key)
						}
					}
				}
			}
		}
	}
	for path := range urls {
		if !crawled[path] {
			t.Errorf("privateURLs lists %s, which is no GET route", path)
		}
	}
	// Positive controls: each marker is found where it belongs, so the
	// scan above is looking for the right bytes.
	for _, c := range []struct {
		secret string
		v      viewer
	}{
		{"email", vAuthor},
		{"Markdown source", vAuthor},
		{"Markdown source", vModerator},
		{"pending comment", vAuthor},
		{"pending comment", vModerator},
		{"rejected comment", vModerator},
		{"shadow-banned comment", vModerator},
		{"ban reason", vModerator}, // the moderation log
		{"webhook secret", vAdmin},
	} {
		if !seen[c.secret][c.v] {
			t.Errorf("the %s never showed up for %s: the crawl or the seeding is broken", c.secret, c.v)
		}
	}
	if !slices.ContainsFunc(f.s.e.Routes(), func(r *echo.Route) bool { return r.Path == "/api/v1/comments/:id" }) {
		t.Fatal("no comment route found; the crawl proves nothing")
	}
}
