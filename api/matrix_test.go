package api_test

import (
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/parley-comments/parley/identity/oidctest"
	"github.com/parley-comments/parley/models"
	"github.com/parley-comments/parley/moderation"
)

// principal is who sends a request in the authorization matrix.
type principal int

const (
	pAnon   principal = iota // no token
	pUser                    // a signed-in user with no tie to the resource
	pOwner                   // the resource's owner: the comment's author, the user themself
	pOther                   // another signed-in user, not the owner
	pBanned                  // a user under a permanent (normal) ban, signed in again after it
	pShadow                  // a shadow-banned user
	pMod                     // a moderator
	pAdmin                   // the seeded admin
)

var principals = [...]principal{pAnon, pUser, pOwner, pOther, pBanned, pShadow, pMod, pAdmin}

func (p principal) String() string {
	return [...]string{"anonymous", "user", "owner", "other", "banned", "shadow", "moderator", "admin"}[p]
}

// statuses are a row's expected statuses, in the order of principals.
type statuses [len(principals)]int

func everyone(status int) statuses {
	return statuses{status, status, status, status, status, status, status, status}
}

func signedIn(status int) statuses {
	return statuses{401, status, status, status, status, status, status, status}
}

func moderators(status int) statuses {
	return statuses{401, 403, 403, 403, 403, 403, status, status}
}

func admins(status int) statuses {
	return statuses{401, 403, 403, 403, 403, 403, 403, status}
}

// matrixRequest is one cell's request: the path with its parameters filled
// in, and the JSON body.
type matrixRequest struct {
	path string
	body any
}

// matrixRow decides a route's permissions: the status each principal gets,
// the error code where it is not the plain one for the status (401
// unauthorized, 403 forbidden), and a request builder that makes the
// fixtures a cell needs.
type matrixRow struct {
	want  statuses
	codes map[principal]string
	build builder
	check func(t *testing.T, p principal, rec *httptest.ResponseRecorder) // optional, on success
}

// account is a principal's login, with the token it holds and the token
// version and role the token was issued for.
type account struct {
	id                 uint
	username, password string
	token              string
	version            int
	role               string
}

// matrixWorld is one server with an account per principal, and fresh
// fixtures made on demand.
type matrixWorld struct {
	s    *testServer
	mail *mailbox
	op   *oidctest.Provider
	seq  int
	acct map[principal]*account
}

func newMatrixWorld(t *testing.T) *matrixWorld {
	t.Helper()
	mb, mailOn := withMail(t)
	op, oidcOn := withOIDC(t)
	w := &matrixWorld{s: newTestServer(t, mailOn, oidcOn), mail: mb, op: op, acct: map[principal]*account{}}
	adm := w.s.admin(t)
	w.acct[pAdmin] = &account{id: adm.User.ID, username: "admin", password: "admin-password", token: adm.AccessToken, role: "admin"}
	for _, p := range []principal{pUser, pOwner, pOther, pBanned, pShadow, pMod} {
		w.acct[p] = w.register(t, "mx-"+p.String())
	}
	admin := w.token(t, pAdmin)
	want(t, w.s.do(t, "PATCH", fmt.Sprintf("/api/v1/admin/users/%d", w.acct[pMod].id), admin, map[string]string{"role": "moderator"}), 200)
	want(t, w.s.do(t, "POST", fmt.Sprintf("/api/v1/moderation/users/%d/ban", w.acct[pBanned].id), admin, map[string]any{"reason": "matrix"}), 200)
	want(t, w.s.do(t, "POST", fmt.Sprintf("/api/v1/moderation/users/%d/ban", w.acct[pShadow].id), admin, map[string]any{"reason": "matrix", "shadow": true}), 200)
	return w
}

func (w *matrixWorld) next() int {
	w.seq++
	return w.seq
}

func (w *matrixWorld) register(t *testing.T, username string) *account {
	t.Helper()
	sess := w.s.register(t, username)
	return &account{id: sess.User.ID, username: username, password: "password-" + username, token: sess.AccessToken, role: "user"}
}

// freshUser registers a new account, for cells that act on a user.
func (w *matrixWorld) freshUser(t *testing.T) *account {
	t.Helper()
	return w.register(t, fmt.Sprintf("mx-fresh%d", w.next()))
}

// token returns a working access token of p, signing in again when an
// earlier cell revoked the one held (logout, password change, ban).
func (w *matrixWorld) token(t *testing.T, p principal) string {
	t.Helper()
	if p == pAnon {
		return ""
	}
	a := w.acct[p]
	var u models.User
	if err := w.s.store.Read.Select("token_version", "role").Take(&u, a.id).Error; err != nil {
		t.Fatal(err)
	}
	if a.token == "" || u.TokenVersion != a.version || u.Role != a.role {
		a.token, a.version, a.role = w.s.login(t, a.username, a.password).AccessToken, u.TokenVersion, u.Role
	}
	return a.token
}

// login signs p (the owner for anonymous) in once more and returns the
// new session, for the routes that take a refresh token.
func (w *matrixWorld) login(t *testing.T, p principal) session {
	t.Helper()
	if p == pAnon {
		p = pOwner
	}
	return w.s.login(t, w.acct[p].username, w.acct[p].password)
}

// comment posts a fresh comment by author and returns its id: approved for
// everyone but the shadow-banned, whose comment is hidden. A banned author
// cannot post, so the owner posts it and it is handed over.
func (w *matrixWorld) comment(t *testing.T, author principal) uint {
	t.Helper()
	body := fmt.Sprintf("matrix comment %d by %s", w.next(), author)
	if author != pBanned {
		return w.s.post(t, w.token(t, author), seedSlug, body, nil).ID
	}
	id := w.s.post(t, w.token(t, pOwner), seedSlug, body, nil).ID
	if err := w.s.store.Write.Model(&models.Comment{}).Where("id = ?", id).Update("author_id", w.acct[pBanned].id).Error; err != nil {
		t.Fatal(err)
	}
	return id
}

// pending posts a fresh comment by the owner that the link rule holds.
func (w *matrixWorld) pending(t *testing.T) uint {
	t.Helper()
	n := w.next()
	body := fmt.Sprintf("held %d: [a](https://a.example/%d) [b](https://b.example/%d) [c](https://c.example/%d)", n, n, n, n)
	c := w.s.post(t, w.token(t, pOwner), seedSlug, body, nil)
	if c.Status != "pending" {
		t.Fatalf("fixture comment with three links is %s, want pending", c.Status)
	}
	return c.ID
}

// rejected posts a fresh comment by the owner and has the admin reject it.
func (w *matrixWorld) rejected(t *testing.T) uint {
	t.Helper()
	id := w.comment(t, pOwner)
	w.s.act(t, w.token(t, pAdmin), id, "reject")
	return id
}

// article creates a fresh article and returns its slug.
func (w *matrixWorld) article(t *testing.T) string {
	t.Helper()
	slug := fmt.Sprintf("matrix-%d", w.next())
	want(t, w.s.do(t, "POST", "/api/v1/articles", w.token(t, pAdmin), map[string]string{"slug": slug, "title": "Matrix " + slug}), 201)
	return slug
}

// site creates a fresh site and returns its id.
func (w *matrixWorld) site(t *testing.T) string {
	t.Helper()
	id := fmt.Sprintf("matrix-site-%d", w.next())
	want(t, w.s.do(t, "POST", "/api/v1/sites", w.token(t, pAdmin), map[string]string{"id": id, "name": "Matrix " + id}), 201)
	return id
}

// target is the user a cell acts on: the owner themself in the owner's
// cell, a fresh account otherwise (a ban or role change would alter the
// owner for the cells after).
func (w *matrixWorld) target(t *testing.T, p principal) uint {
	t.Helper()
	if p == pOwner {
		return w.acct[pOwner].id
	}
	return w.freshUser(t).id
}

// bannedTarget is target, banned by the admin unless it is the owner.
func (w *matrixWorld) bannedTarget(t *testing.T, p principal) uint {
	t.Helper()
	id := w.target(t, p)
	if p != pOwner {
		want(t, w.s.do(t, "POST", fmt.Sprintf("/api/v1/moderation/users/%d/ban", id), w.token(t, pAdmin), map[string]any{"reason": "matrix"}), 200)
	}
	return id
}

// ownOrOwners is the comment a cell edits or deletes: the banned and the
// shadow-banned act on their own (so that the ban, not the ownership,
// decides), everyone else on the owner's.
func (w *matrixWorld) ownOrOwners(t *testing.T, p principal) uint {
	t.Helper()
	if p == pBanned || p == pShadow {
		return w.comment(t, p)
	}
	return w.comment(t, pOwner)
}

func (w *matrixWorld) ownersComment(t *testing.T, _ principal) uint  { return w.comment(t, pOwner) }
func (w *matrixWorld) ownersPending(t *testing.T, _ principal) uint  { return w.pending(t) }
func (w *matrixWorld) ownersRejected(t *testing.T, _ principal) uint { return w.rejected(t) }

// webhook registers a fresh endpoint and returns its id.
func (w *matrixWorld) webhook(t *testing.T, _ principal) uint {
	t.Helper()
	h := models.Webhook{SiteID: models.DefaultSite, URL: fmt.Sprintf("https://hooks.example/%d", w.next()), Secret: "whsec_c2VjcmV0",
		Events: "comment.created", Active: true}
	if err := w.s.store.Write.Create(&h).Error; err != nil {
		t.Fatal(err)
	}
	return h.ID
}

// delivery makes a fresh endpoint with one delivered message.
func (w *matrixWorld) delivery(t *testing.T) (uint, uint64) {
	t.Helper()
	hook := w.webhook(t, pAdmin)
	d := models.WebhookDelivery{WebhookID: hook, MessageID: "msg_matrix", Kind: "comment.created", Payload: "{}",
		State: models.DeliveryDelivered, NextAt: time.Now(), CreatedAt: time.Now()}
	if err := w.s.store.Write.Create(&d).Error; err != nil {
		t.Fatal(err)
	}
	return hook, d.ID
}

// builder makes a cell's request for principal p, with fresh fixtures.
type builder = func(t *testing.T, w *matrixWorld, p principal) matrixRequest

// fixed is a request with no fixture and no body.
func fixed(path string) builder {
	return func(*testing.T, *matrixWorld, principal) matrixRequest { return matrixRequest{path: path} }
}

// withID fills the one id of format with a fresh fixture from pick.
func withID(format string, pick func(*matrixWorld, *testing.T, principal) uint, body any) builder {
	return func(t *testing.T, w *matrixWorld, p principal) matrixRequest {
		return matrixRequest{path: fmt.Sprintf(format, pick(w, t, p)), body: body}
	}
}

// matrixRows is the authorization matrix: every route, keyed as Echo
// lists it, and what each principal gets. A route missing here fails
// TestAuthorizationMatrix, so no route ships without its permissions decided.
func matrixRows() map[string]matrixRow {
	banned := map[principal]string{pBanned: "banned"}
	return map[string]matrixRow{
		// Probes, metrics, pages and the API description are open to all.
		// The admin page holds no data: its API calls are what is guarded.
		"GET /healthz":             {want: everyone(200), build: fixed("/healthz")},
		"GET /readyz":              {want: everyone(200), build: fixed("/readyz")},
		"GET /metrics":             {want: everyone(200), build: fixed("/metrics")},
		"GET /":                    {want: everyone(200), build: fixed("/")},
		"GET /widget.js":           {want: everyone(200), build: fixed("/widget.js")},
		"GET /embed":               {want: everyone(200), build: fixed("/embed?article=" + seedSlug + "&parent=https://blog.example")},
		"GET /admin":               {want: everyone(200), build: fixed("/admin")},
		"GET /assets/*":            {want: everyone(200), build: fixed("/assets/admin.js")},
		"GET /api/v1/openapi.json": {want: everyone(200), build: fixed("/api/v1/openapi.json")},
		"GET /api/v1/config":       {want: everyone(200), build: fixed("/api/v1/config")},
		// The pages answer HEAD too: GET's status and headers, no body.
		"HEAD /":          {want: everyone(200), build: fixed("/")},
		"HEAD /widget.js": {want: everyone(200), build: fixed("/widget.js")},
		"HEAD /embed":     {want: everyone(200), build: fixed("/embed?article=" + seedSlug + "&parent=https://blog.example")},
		"HEAD /admin":     {want: everyone(200), build: fixed("/admin")},
		"HEAD /assets/*":  {want: everyone(200), build: fixed("/assets/admin.js")},

		// Public reads; banned and shadow-banned users read like anyone.
		"GET /api/v1/articles":                {want: everyone(200), build: fixed("/api/v1/articles")},
		"GET /api/v1/articles/:slug":          {want: everyone(200), build: fixed("/api/v1/articles/" + seedSlug)},
		"GET /api/v1/articles/:slug/comments": {want: everyone(200), build: fixed("/api/v1/articles/" + seedSlug + "/comments")},
		"GET /api/v1/counts":                  {want: everyone(200), build: fixed("/api/v1/counts?slugs=" + seedSlug + ",nope")},
		"GET /api/v1/comments/:id":            {want: everyone(200), build: withID("/api/v1/comments/%d", (*matrixWorld).ownersComment, nil)},
		"GET /api/v1/articles/:slug/live":     {want: everyone(200), build: fixed("/api/v1/articles/" + seedSlug + "/live")},
		"GET /api/v1/sites/:site/live":        {want: everyone(200), build: fixed("/api/v1/sites/default/live?key=" + seedSlug)},
		"GET /api/v1/comments/:id/replies":    {want: everyone(200), build: withID("/api/v1/comments/%d/replies", (*matrixWorld).ownersComment, nil)},

		// Accounts. Signing up or in while signed in is allowed (it is
		// another account or session, nothing more), and a banned user may
		// sign in to read. Each principal uses its own login; anonymous the owner's.
		"POST /api/v1/auth/register": {want: everyone(201), build: func(t *testing.T, w *matrixWorld, p principal) matrixRequest {
			name := fmt.Sprintf("mx-new%d", w.next())
			return matrixRequest{path: "/api/v1/auth/register", body: map[string]string{"username": name, "password": "password-" + name}}
		}},
		"POST /api/v1/auth/login": {want: everyone(200), build: func(t *testing.T, w *matrixWorld, p principal) matrixRequest {
			a := w.acct[pOwner]
			if p != pAnon {
				a = w.acct[p]
			}
			return matrixRequest{path: "/api/v1/auth/login", body: map[string]string{"login": a.username, "password": a.password}}
		}},
		"POST /api/v1/auth/refresh": {want: everyone(200), build: func(t *testing.T, w *matrixWorld, p principal) matrixRequest {
			return matrixRequest{path: "/api/v1/auth/refresh", body: map[string]string{"refresh_token": w.login(t, p).RefreshToken}}
		}},
		"POST /api/v1/auth/logout": {want: everyone(204), build: func(t *testing.T, w *matrixWorld, p principal) matrixRequest {
			return matrixRequest{path: "/api/v1/auth/logout", body: map[string]string{"refresh_token": w.login(t, p).RefreshToken}}
		}},
		// Each changes their own password, to the same one: that keeps the
		// world's bookkeeping simple and still ends every session.
		"POST /api/v1/auth/password": {want: signedIn(204), build: func(t *testing.T, w *matrixWorld, p principal) matrixRequest {
			pw := "password-of-nobody"
			if p != pAnon {
				pw = w.acct[p].password
			}
			return matrixRequest{path: "/api/v1/auth/password", body: passwordChange(pw, pw)}
		}},
		"GET /api/v1/me": {want: signedIn(200), build: fixed("/api/v1/me")},

		// Articles are the admin's.
		"POST /api/v1/articles": {want: admins(201), build: func(t *testing.T, w *matrixWorld, p principal) matrixRequest {
			return matrixRequest{path: "/api/v1/articles", body: map[string]string{"slug": fmt.Sprintf("matrix-new-%d", w.next()), "title": "New"}}
		}},
		"PATCH /api/v1/articles/:slug": {want: admins(200), build: func(t *testing.T, w *matrixWorld, p principal) matrixRequest {
			return matrixRequest{path: "/api/v1/articles/" + w.article(t), body: map[string]any{"title": "Changed", "comments_locked": true}}
		}},
		// Feeds are public, but for the replies feed, whose URL is its secret.
		"GET /api/v1/feeds/articles/:slug": {want: everyone(200), build: fixed("/api/v1/feeds/articles/" + seedSlug)},
		"GET /api/v1/feeds/sites/:site":    {want: everyone(200), build: fixed("/api/v1/feeds/sites/default")},
		"GET /api/v1/feeds/replies/:token": {want: everyone(404), build: fixed("/api/v1/feeds/replies/" + strings.Repeat("ab", 24))},
		"POST /api/v1/me/replies-feed":     {want: signedIn(201), build: fixed("/api/v1/me/replies-feed")},
		"DELETE /api/v1/me/replies-feed":   {want: signedIn(204), build: fixed("/api/v1/me/replies-feed")},

		// Webhooks are the admin's: their secrets sign what receivers trust.
		"GET /api/v1/webhooks": {want: admins(200), build: fixed("/api/v1/webhooks")},
		"POST /api/v1/webhooks": {want: admins(201), build: func(*testing.T, *matrixWorld, principal) matrixRequest {
			return matrixRequest{path: "/api/v1/webhooks", body: map[string]any{"url": "https://hooks.example/new", "events": []string{"comment.created"}}}
		}},
		"GET /api/v1/webhooks/:id":            {want: admins(200), build: withID("/api/v1/webhooks/%d", (*matrixWorld).webhook, nil)},
		"PATCH /api/v1/webhooks/:id":          {want: admins(200), build: withID("/api/v1/webhooks/%d", (*matrixWorld).webhook, map[string]any{"active": false})},
		"DELETE /api/v1/webhooks/:id":         {want: admins(204), build: withID("/api/v1/webhooks/%d", (*matrixWorld).webhook, nil)},
		"GET /api/v1/webhooks/:id/deliveries": {want: admins(200), build: withID("/api/v1/webhooks/%d/deliveries", (*matrixWorld).webhook, nil)},
		"POST /api/v1/webhooks/:id/deliveries/:delivery/replay": {want: admins(202), build: func(t *testing.T, w *matrixWorld, p principal) matrixRequest {
			hook, delivery := w.delivery(t)
			return matrixRequest{path: fmt.Sprintf("/api/v1/webhooks/%d/deliveries/%d/replay", hook, delivery)}
		}},

		"DELETE /api/v1/articles/:slug": {want: admins(204), build: func(t *testing.T, w *matrixWorld, p principal) matrixRequest {
			return matrixRequest{path: "/api/v1/articles/" + w.article(t)}
		}},

		// Comments. Guests are off by default, so anonymous posting is a 401.
		"POST /api/v1/articles/:slug/comments": {
			want:  statuses{401, 201, 201, 201, 403, 201, 201, 201},
			codes: banned,
			build: func(t *testing.T, w *matrixWorld, p principal) matrixRequest {
				return matrixRequest{path: "/api/v1/articles/" + seedSlug + "/comments", body: map[string]string{"body": fmt.Sprintf("matrix post %d", w.next())}}
			},
			check: func(t *testing.T, p principal, rec *httptest.ResponseRecorder) {
				// The shadow-banned author sees the comment as published.
				if c := decode[struct{ Comment commentJSON }](t, rec).Comment; p == pShadow && c.Status != "approved" {
					t.Fatalf("the shadow-banned author sees their comment as %s, want approved", c.Status)
				}
			},
		},
		"PATCH /api/v1/comments/:id": {
			want:  statuses{401, 403, 200, 403, 403, 200, 200, 200},
			codes: banned,
			build: withID("/api/v1/comments/%d", (*matrixWorld).ownOrOwners, map[string]string{"body": "edited in the matrix"}),
		},
		// Removing one's own words stays possible under a ban.
		"DELETE /api/v1/comments/:id": {
			want:  statuses{401, 403, 204, 403, 204, 204, 204, 204},
			build: withID("/api/v1/comments/%d", (*matrixWorld).ownOrOwners, nil),
		},
		// Nobody votes on or flags their own comment.
		"PUT /api/v1/comments/:id/vote": {
			want:  statuses{401, 200, 403, 200, 403, 200, 200, 200},
			codes: banned,
			build: withID("/api/v1/comments/%d/vote", (*matrixWorld).ownersComment, map[string]int{"value": 1}),
		},
		"POST /api/v1/comments/:id/flags": {
			want:  statuses{401, 201, 403, 201, 403, 201, 201, 201},
			codes: banned,
			build: withID("/api/v1/comments/%d/flags", (*matrixWorld).ownersComment, map[string]string{"reason": "spam", "note": "matrix"}),
		},

		// Moderation: moderators and admins.
		"GET /api/v1/moderation/queue":                 {want: moderators(200), build: fixed("/api/v1/moderation/queue?state=pending")},
		"GET /api/v1/moderation/stats":                 {want: moderators(200), build: fixed("/api/v1/moderation/stats")},
		"GET /api/v1/moderation/log":                   {want: moderators(200), build: fixed("/api/v1/moderation/log")},
		"GET /api/v1/moderation/rules":                 {want: moderators(200), build: fixed("/api/v1/moderation/rules")},
		"POST /api/v1/moderation/comments/:id/approve": {want: moderators(200), build: withID("/api/v1/moderation/comments/%d/approve", (*matrixWorld).ownersPending, nil)},
		"POST /api/v1/moderation/comments/:id/reject":  {want: moderators(200), build: withID("/api/v1/moderation/comments/%d/reject", (*matrixWorld).ownersComment, map[string]string{"reason": "matrix"})},
		"POST /api/v1/moderation/comments/:id/spam":    {want: moderators(200), build: withID("/api/v1/moderation/comments/%d/spam", (*matrixWorld).ownersComment, nil)},
		"POST /api/v1/moderation/comments/:id/restore": {want: moderators(200), build: withID("/api/v1/moderation/comments/%d/restore", (*matrixWorld).ownersRejected, nil)},
		"POST /api/v1/moderation/bulk": {want: moderators(200), build: func(t *testing.T, w *matrixWorld, p principal) matrixRequest {
			return matrixRequest{path: "/api/v1/moderation/bulk", body: map[string]any{"ids": []uint{w.pending(t), w.pending(t)}, "action": "approve"}}
		}},
		"POST /api/v1/moderation/users/:id/ban":   {want: moderators(200), build: withID("/api/v1/moderation/users/%d/ban", (*matrixWorld).target, map[string]any{"reason": "matrix"})},
		"DELETE /api/v1/moderation/users/:id/ban": {want: moderators(204), build: withID("/api/v1/moderation/users/%d/ban", (*matrixWorld).bannedTarget, nil)},

		// Sites: their settings are the admins'; moderators read them (a
		// moderator limited to some sites reads those: TestSiteModerator).
		// Threads keyed by page read like articles' and post like them.
		"GET /counts.js":                    {want: everyone(200), build: fixed("/counts.js")},
		"GET /favicon.ico":                  {want: everyone(200), build: fixed("/favicon.ico")},
		"HEAD /favicon.ico":                 {want: everyone(200), build: fixed("/favicon.ico")},
		"HEAD /counts.js":                   {want: everyone(200), build: fixed("/counts.js")},
		"GET /api/v1/sites":                 {want: moderators(200), build: fixed("/api/v1/sites")},
		"GET /api/v1/sites/:site":           {want: moderators(200), build: fixed("/api/v1/sites/default")},
		"GET /api/v1/sites/:site/thread":    {want: everyone(200), build: fixed("/api/v1/sites/default/thread?key=" + seedSlug)},
		"GET /api/v1/sites/:site/comments":  {want: everyone(200), build: fixed("/api/v1/sites/default/comments?key=" + seedSlug)},
		"GET /api/v1/sites/:site/counts":    {want: everyone(200), build: fixed("/api/v1/sites/default/counts?key=" + seedSlug + "&key=nope")},
		"GET /api/v1/sites/:site/fragment":  {want: everyone(200), build: fixed("/api/v1/sites/default/fragment?key=" + seedSlug)},
		"GET /api/v1/admin/users/:id/sites": {want: admins(200), build: withID("/api/v1/admin/users/%d/sites", (*matrixWorld).target, nil)},
		"PUT /api/v1/admin/users/:id/sites": {want: admins(200), build: withID("/api/v1/admin/users/%d/sites", (*matrixWorld).target, map[string]any{"sites": []string{"default"}})},
		"POST /api/v1/sites": {want: admins(201), build: func(t *testing.T, w *matrixWorld, p principal) matrixRequest {
			return matrixRequest{path: "/api/v1/sites", body: map[string]any{"id": fmt.Sprintf("matrix-new-%d", w.next()), "name": "New"}}
		}},
		"PATCH /api/v1/sites/:site": {want: admins(200), build: func(t *testing.T, w *matrixWorld, p principal) matrixRequest {
			return matrixRequest{path: "/api/v1/sites/" + w.site(t), body: map[string]any{"name": "Changed", "auto_threads": false}}
		}},
		"DELETE /api/v1/sites/:site": {want: admins(204), build: func(t *testing.T, w *matrixWorld, p principal) matrixRequest {
			return matrixRequest{path: "/api/v1/sites/" + w.site(t)}
		}},
		"POST /api/v1/sites/:site/comments": {
			want:  statuses{401, 201, 201, 201, 403, 201, 201, 201},
			codes: banned,
			build: func(t *testing.T, w *matrixWorld, p principal) matrixRequest {
				return matrixRequest{path: "/api/v1/sites/default/comments", body: map[string]string{"key": seedSlug, "body": fmt.Sprintf("matrix site post %d", w.next())}}
			},
		},

		// Admins only: the rules and roles.
		"PUT /api/v1/moderation/rules": {want: admins(200), build: func(t *testing.T, w *matrixWorld, p principal) matrixRequest {
			return matrixRequest{path: "/api/v1/moderation/rules", body: moderation.DefaultRules()}
		}},
		"PATCH /api/v1/admin/users/:id": {want: admins(200), build: withID("/api/v1/admin/users/%d", (*matrixWorld).target, map[string]string{"role": "moderator"})},

		// Imports and the export: admins only (the export holds every e-mail address).
		"POST /api/v1/admin/imports": {want: admins(202), build: func(*testing.T, *matrixWorld, principal) matrixRequest {
			return matrixRequest{path: "/api/v1/admin/imports?format=commento&site=default&dry_run=true", body: map[string]any{"version": 1, "comments": []any{}}}
		}},
		"GET /api/v1/admin/imports/:id": {want: admins(200), build: withID("/api/v1/admin/imports/%d", (*matrixWorld).importJob, nil)},
		"GET /api/v1/admin/export":      {want: admins(200), build: fixed("/api/v1/admin/export")},
	}
}

// importJob starts a dry-run import as the admin and returns its id.
func (w *matrixWorld) importJob(t *testing.T, _ principal) uint {
	rec := w.s.do(t, "POST", "/api/v1/admin/imports?format=commento&dry_run=true", w.token(t, pAdmin), map[string]any{"version": 1, "comments": []any{}})
	want(t, rec, 202)
	return decode[struct {
		Import struct{ ID uint } `json:"import"`
	}](t, rec).Import.ID
}

// TestAuthorizationMatrix walks the router's own route list and sends every
// route's request as every principal, each against fresh fixtures: the
// status (and, for refusals, the error code and shape) must be the one the
// matrix decides. A refused request must leave the database as it was, and
// so must every GET and HEAD.
func TestAuthorizationMatrix(t *testing.T) {
	w := newMatrixWorld(t)
	rows := matrixRows()
	maps.Copy(rows, identityMatrixRows())
	routes := w.s.e.Routes()
	slices.SortFunc(routes, func(a, b *echo.Route) int { return strings.Compare(a.Path+" "+a.Method, b.Path+" "+b.Method) })
	seen := map[string]bool{}
	for _, r := range routes {
		if r.Method == echo.RouteNotFound {
			continue // Echo's catch-alls of the /api/v1 group: they answer 404 and are no route of ours
		}
		key := r.Method + " " + r.Path
		_, own := rows[key]
		if _, get := rows["GET "+r.Path]; !own && get && r.Method == http.MethodHead {
			continue // the HEAD every GET route gets: its GET row's cells send HEAD too
		}
		if seen[key] {
			continue
		}
		seen[key] = true
		row, ok := rows[key]
		if !ok {
			t.Errorf("route %s has no row in the authorization matrix", key)
			continue
		}
		t.Run(key, func(t *testing.T) {
			for _, p := range principals {
				t.Run(p.String(), func(t *testing.T) { w.cell(t, r.Method, row, p) })
			}
		})
	}
	for key := range rows {
		if !seen[key] {
			t.Errorf("the matrix has a row for %s, which the router does not have", key)
		}
	}
	if len(seen) < 40 {
		t.Fatalf("the router lists only %d routes; the walk proves little", len(seen))
	}
}

// cell runs one request of the matrix and checks its outcome.
func (w *matrixWorld) cell(t *testing.T, method string, row matrixRow, p principal) {
	req := row.build(t, w, p)
	token := w.token(t, p)
	before := fingerprint(t, w.s)
	rec := w.s.do(t, method, req.path, token, req.body)
	after := fingerprint(t, w.s)
	if status := row.want[p]; rec.Code != status {
		t.Fatalf("%s %s as %s: status %d, want %d; body %s", method, req.path, p, rec.Code, status, truncate(rec.Body.String(), 300))
	}
	if rec.Code >= 400 {
		if strings.HasPrefix(req.path, "/api/") {
			code := row.codes[p]
			if code == "" {
				code = map[int]string{401: "unauthorized", 403: "forbidden"}[rec.Code]
			}
			wantErrorShape(t, rec, rec.Code)
			if got := decode[errorJSON](t, rec).Error.Code; code != "" && got != code {
				t.Fatalf("%s %s as %s: error code %q, want %q", method, req.path, p, got, code)
			}
		}
		if before != after {
			t.Fatalf("%s %s as %s was refused with %d but changed the database:\nbefore %s\nafter  %s", method, req.path, p, rec.Code, before, after)
		}
	} else if row.check != nil {
		row.check(t, p, rec)
	}
	if method != http.MethodGet && method != http.MethodHead {
		return
	}
	if before != after {
		t.Fatalf("%s %s as %s changed the database:\nbefore %s\nafter  %s", method, req.path, p, before, after)
	}
	if method == http.MethodHead {
		return
	}
	headers := map[string]string{}
	if token != "" {
		headers["Authorization"] = "Bearer " + token
	}
	head := doRaw(t, w.s, http.MethodHead, req.path, headers, "")
	if head.Code != rec.Code {
		t.Fatalf("HEAD %s as %s: status %d, want GET's %d", req.path, p, head.Code, rec.Code)
	}
	if again := fingerprint(t, w.s); again != after {
		t.Fatalf("HEAD %s as %s changed the database:\nbefore %s\nafter  %s", req.path, p, after, again)
	}
}

// fingerprint sums up what the database holds, so that a request that
// should change nothing can be caught changing something.
func fingerprint(t *testing.T, s *testServer) string {
	t.Helper()
	var b strings.Builder
	for _, table := range []string{"users", "articles", "comments", "votes", "flags", "audit_log", "refresh_tokens", "bans", "settings", "sites", "moderator_sites"} {
		var n int64
		if err := s.store.Read.Table(table).Count(&n).Error; err != nil {
			t.Fatalf("count %s: %v", table, err)
		}
		fmt.Fprintf(&b, "%s=%d ", table, n)
	}
	for _, q := range []struct{ name, sql string }{
		{"article_versions", "SELECT CAST(COALESCE(SUM(version), 0) AS BIGINT) FROM articles"},
		{"comment_counts", "SELECT CAST(COALESCE(SUM(comment_count), 0) AS BIGINT) FROM articles"},
		{"token_versions", "SELECT CAST(COALESCE(SUM(token_version), 0) AS BIGINT) FROM users"},
		{"scores", "SELECT CAST(COALESCE(SUM(score), 0) AS BIGINT) FROM comments"},
		{"approved", "SELECT COUNT(*) FROM comments WHERE status = 'approved'"},
		{"edited", "SELECT COUNT(*) FROM comments WHERE edited_at IS NOT NULL"},
		{"spent_refresh", "SELECT COUNT(*) FROM refresh_tokens WHERE used_at IS NOT NULL OR revoked_at IS NOT NULL"},
		{"open_flags", "SELECT COUNT(*) FROM flags WHERE resolved_at IS NULL"},
		{"banned", "SELECT COUNT(*) FROM users WHERE ban_kind <> ''"},
		{"site_settings", "SELECT COUNT(*) FROM sites WHERE auto_threads"},
	} {
		var n int64
		if err := s.store.Read.Raw(q.sql).Scan(&n).Error; err != nil {
			t.Fatalf("%s: %v", q.name, err)
		}
		fmt.Fprintf(&b, "%s=%d ", q.name, n)
	}
	return b.String()
}
