package api_test

import (
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/parley-comments/parley/identity/oidctest"
	"github.com/parley-comments/parley/models"
)

// withEmail gives account id an address, verified or not, straight in the
// database, and returns it.
func (w *matrixWorld) withEmail(t *testing.T, id uint, verified bool) string {
	t.Helper()
	email := fmt.Sprintf("mx%d-%d@example.org", id, w.next())
	updates := map[string]any{"email": email, "email_verified_at": nil}
	if verified {
		updates["email_verified_at"] = time.Now().UTC()
	}
	if err := w.s.store.Write.Model(&models.User{}).Where("id = ?", id).Updates(updates).Error; err != nil {
		t.Fatal(err)
	}
	return email
}

// mailedToken asks route to mail a fresh verified account a link and
// returns the link's token.
func (w *matrixWorld) mailedToken(t *testing.T, route string) string {
	t.Helper()
	w.mail.deliver(t) // what earlier cells queued
	email := w.withEmail(t, w.freshUser(t).id, true)
	want(t, w.s.do(t, "POST", route, "", map[string]string{"email": email}), 202)
	got := w.mail.deliver(t)
	if len(got) != 1 {
		t.Fatalf("%s: %d mails, want 1", route, len(got))
	}
	_, token := linkIn(t, got[0])
	return token
}

// identityMatrixRows are the identity routes' rows of the authorization
// matrix. Asking for a link by mail is open to all and answers alike;
// spending one needs the link, not a login.
func identityMatrixRows() map[string]matrixRow {
	emailBody := func(t *testing.T, w *matrixWorld, path string) matrixRequest {
		return matrixRequest{path: path, body: map[string]string{"email": fmt.Sprintf("someone%d@example.org", w.next())}}
	}
	page := func(path string) matrixRow { return matrixRow{want: everyone(200), build: fixed(path)} }
	return map[string]matrixRow{
		"PUT /api/v1/me/email": {want: signedIn(202), build: func(t *testing.T, w *matrixWorld, p principal) matrixRequest {
			return emailBody(t, w, "/api/v1/me/email")
		}},
		"POST /api/v1/auth/email-verification": {want: signedIn(202), build: func(t *testing.T, w *matrixWorld, p principal) matrixRequest {
			if p != pAnon {
				w.withEmail(t, w.acct[p].id, false)
			}
			return matrixRequest{path: "/api/v1/auth/email-verification"}
		}},
		"POST /api/v1/auth/magic-link": {want: everyone(202), build: func(t *testing.T, w *matrixWorld, p principal) matrixRequest {
			return emailBody(t, w, "/api/v1/auth/magic-link")
		}},
		"POST /api/v1/auth/password-reset": {want: everyone(202), build: func(t *testing.T, w *matrixWorld, p principal) matrixRequest {
			return emailBody(t, w, "/api/v1/auth/password-reset")
		}},
		"POST /api/v1/auth/magic-link/redeem": {want: everyone(200), build: func(t *testing.T, w *matrixWorld, p principal) matrixRequest {
			return matrixRequest{path: "/api/v1/auth/magic-link/redeem", body: map[string]string{"token": w.mailedToken(t, "/api/v1/auth/magic-link")}}
		}},
		"POST /api/v1/auth/password-reset/redeem": {want: everyone(204), build: func(t *testing.T, w *matrixWorld, p principal) matrixRequest {
			return matrixRequest{path: "/api/v1/auth/password-reset/redeem", body: map[string]string{"token": w.mailedToken(t, "/api/v1/auth/password-reset"), "new_password": "matrix new password"}}
		}},
		"GET /account/verify": {want: everyone(200), build: func(t *testing.T, w *matrixWorld, p principal) matrixRequest {
			w.mail.deliver(t)
			a := w.freshUser(t)
			w.withEmail(t, a.id, false)
			want(t, w.s.do(t, "POST", "/api/v1/auth/email-verification", a.token, nil), 202)
			_, token := linkIn(t, w.mail.deliver(t)[0])
			return matrixRequest{path: "/account/verify?token=" + url.QueryEscape(token)}
		}},
		"HEAD /account/verify":                        page("/account/verify?token=not-a-token"),
		"GET /account/signin":                         page("/account/signin"),
		"HEAD /account/signin":                        page("/account/signin"),
		"GET /account/reset":                          page("/account/reset"),
		"HEAD /account/reset":                         page("/account/reset"),
		"GET /account/link":                           page("/account/link"),
		"GET /auth/callback/:provider":                page("/auth/callback/corp?state=forged&code=forged"),
		"HEAD /auth/callback/:provider":               page("/auth/callback/corp?state=forged&code=forged"),
		"POST /api/v1/auth/providers/:provider/flows": {want: everyone(201), build: fixed("/api/v1/auth/providers/corp/flows")},
		"POST /api/v1/auth/providers/complete": {want: everyone(200), build: func(t *testing.T, w *matrixWorld, p principal) matrixRequest {
			name := fmt.Sprintf("op-reader%d", w.next())
			w.op.AddUser(oidctest.User{Username: name, Email: name + "@op.example", EmailVerified: true})
			secret, _ := w.s.providerSignIn(t, w.op, "", name)
			return matrixRequest{path: "/api/v1/auth/providers/complete", body: map[string]string{"flow_secret": secret}}
		}},
		"POST /api/v1/auth/identities/confirm": {want: everyone(200), build: func(t *testing.T, w *matrixWorld, p principal) matrixRequest {
			w.mail.deliver(t)
			email := w.withEmail(t, w.freshUser(t).id, true)
			name := fmt.Sprintf("op-claimant%d", w.next())
			w.op.AddUser(oidctest.User{Username: name, Email: email, EmailVerified: true})
			w.s.providerSignIn(t, w.op, "", name)
			got := w.mail.deliver(t)
			if len(got) != 1 {
				t.Fatalf("%d link confirmation mails", len(got))
			}
			_, token := linkIn(t, got[0])
			return matrixRequest{path: "/api/v1/auth/identities/confirm", body: map[string]string{"token": token}}
		}},
		"GET /api/v1/me/identities": {want: signedIn(200), build: fixed("/api/v1/me/identities")},
		"GET /api/v1/me/comments":   {want: signedIn(200), build: fixed("/api/v1/me/comments")},
		"GET /api/v1/me/export":     {want: signedIn(200), build: fixed("/api/v1/me/export")},
		"PATCH /api/v1/me": {want: signedIn(200), build: func(t *testing.T, w *matrixWorld, p principal) matrixRequest {
			return matrixRequest{path: "/api/v1/me", body: map[string]string{"display_name": fmt.Sprintf("Name %d", w.next())}}
		}},
		// A deletion that succeeds would take the principal out of the
		// world, so the cells send no choice: past the token check, each
		// signed-in principal reaches the body check. TestSelfService
		// deletes accounts for real.
		"DELETE /api/v1/me": {want: statuses{401, 400, 400, 400, 400, 400, 400, 400}, codes: map[principal]string{
			pUser: "validation_failed", pOwner: "validation_failed", pOther: "validation_failed", pBanned: "validation_failed",
			pShadow: "validation_failed", pMod: "validation_failed", pAdmin: "validation_failed"}, build: func(t *testing.T, w *matrixWorld, p principal) matrixRequest {
			return matrixRequest{path: "/api/v1/me", body: map[string]string{}}
		}},
		// Each may unlink only their own: the owner's identity is a 404 to the rest.
		"DELETE /api/v1/me/identities/:id": {want: statuses{401, 404, 204, 404, 404, 404, 404, 404}, build: func(t *testing.T, w *matrixWorld, p principal) matrixRequest {
			row := models.UserIdentity{UserID: w.acct[pOwner].id, Provider: "corp", Subject: fmt.Sprintf("matrix-%d", w.next()), CreatedAt: time.Now()}
			if err := w.s.store.Write.Create(&row).Error; err != nil {
				t.Fatal(err)
			}
			return matrixRequest{path: fmt.Sprintf("/api/v1/me/identities/%d", row.ID)}
		}},
		"HEAD /account/link": page("/account/link"),
	}
}
