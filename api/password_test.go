package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/parley-comments/parley/models"
)

const passwordPath = "/api/v1/auth/password"

func passwordChange(current, next string) map[string]string {
	return map[string]string{"current_password": current, "new_password": next}
}

// TestChangePassword: a password change ends every login of the user at
// once: earlier access tokens and refresh tokens are refused, the old
// password no longer signs in, the new one does.
func TestChangePassword(t *testing.T) {
	s := newTestServer(t)
	first := s.register(t, "paula")
	second := s.login(t, "paula", "password-paula") // the same user on another device
	bystander := s.register(t, "quentin")
	var before models.User
	if err := s.store.Read.Take(&before, first.User.ID).Error; err != nil {
		t.Fatal(err)
	}

	refusals := []struct {
		name   string
		token  string
		body   any
		status int
		code   string
	}{
		{"anonymous", "", passwordChange("password-paula", "a brand new secret"), 401, "unauthorized"},
		{"wrong current password", first.AccessToken, passwordChange("not-my-password", "a brand new secret"), 401, "invalid_credentials"},
		{"over-long current password", first.AccessToken, passwordChange(strings.Repeat("p", 2000), "a brand new secret"), 401, "invalid_credentials"},
		{"another user's password", bystander.AccessToken, passwordChange("password-paula", "a brand new secret"), 401, "invalid_credentials"},
		{"new password too short", first.AccessToken, passwordChange("password-paula", "short"), 400, "validation_failed"},
		{"new password too long", first.AccessToken, passwordChange("password-paula", strings.Repeat("x", 257)), 400, "validation_failed"},
		{"new password a common one", first.AccessToken, passwordChange("password-paula", "Password123"), 400, "validation_failed"},
		{"new password missing", first.AccessToken, map[string]string{"current_password": "password-paula"}, 400, "validation_failed"},
		{"wrong type", first.AccessToken, `{"current_password": "password-paula", "new_password": 12345678}`, 400, "validation_failed"},
		{"malformed JSON", first.AccessToken, `{"current_password": `, 400, "validation_failed"},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, s.do(t, "POST", passwordPath, tc.token, tc.body), tc.status, tc.code)
		})
	}
	// None of the refusals changed anything: the sessions still work.
	var unchanged models.User
	s.store.Read.Take(&unchanged, first.User.ID)
	if unchanged.PasswordHash != before.PasswordHash || unchanged.TokenVersion != before.TokenVersion {
		t.Fatal("a refused password change altered the account")
	}
	want(t, s.do(t, "GET", "/api/v1/me", first.AccessToken, nil), http.StatusOK)

	want(t, s.do(t, "POST", passwordPath, first.AccessToken, passwordChange("password-paula", "a brand new secret")), http.StatusNoContent)

	for name, sess := range map[string]session{"this device": first, "another device": second} {
		t.Run("old tokens of "+name, func(t *testing.T) {
			wantError(t, s.do(t, "GET", "/api/v1/me", sess.AccessToken, nil), 401, "unauthorized")
			wantError(t, s.do(t, "POST", "/api/v1/articles/"+seedSlug+"/comments", sess.AccessToken, map[string]string{"body": "still me?"}), 401, "unauthorized")
			wantError(t, s.do(t, "POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": sess.RefreshToken}), 401, "invalid_token")
		})
	}
	wantError(t, s.do(t, "POST", "/api/v1/auth/login", "", map[string]string{"login": "paula", "password": "password-paula"}), 401, "invalid_credentials")
	fresh := s.login(t, "paula", "a brand new secret")
	want(t, s.do(t, "GET", "/api/v1/me", fresh.AccessToken, nil), http.StatusOK)
	want(t, s.do(t, "POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": fresh.RefreshToken}), http.StatusOK)
	// Someone else's sessions are untouched.
	want(t, s.do(t, "GET", "/api/v1/me", bystander.AccessToken, nil), http.StatusOK)

	var after models.User
	s.store.Read.Take(&after, first.User.ID)
	if after.PasswordHash == before.PasswordHash || !strings.HasPrefix(after.PasswordHash, "$argon2id$") {
		t.Fatalf("password hash after the change = %q, want a new argon2id hash", after.PasswordHash)
	}
	var live int64
	s.store.Read.Model(&models.RefreshToken{}).Where("user_id = ? AND revoked_at IS NULL AND used_at IS NULL", first.User.ID).Count(&live)
	if live != 1 {
		t.Fatalf("%d live refresh tokens after the change and one sign-in with one refresh, want 1", live)
	}
}

// TestChangePasswordTwiceWithOneCurrent: the second of two changes that
// both prove the same old password is refused, as it no longer is current.
func TestChangePasswordTwiceWithOneCurrent(t *testing.T) {
	s := newTestServer(t)
	sess := s.register(t, "rupert")
	want(t, s.do(t, "POST", passwordPath, sess.AccessToken, passwordChange("password-rupert", "first new password")), http.StatusNoContent)
	again := s.login(t, "rupert", "first new password")
	wantError(t, s.do(t, "POST", passwordPath, again.AccessToken, passwordChange("password-rupert", "second new password")), 401, "invalid_credentials")
	s.login(t, "rupert", "first new password")
}

// TestChangePasswordRateLimited: guessing the current password with a
// stolen access token is limited per address like sign-in, and per user
// across addresses.
func TestChangePasswordRateLimited(t *testing.T) {
	s := newTestServer(t, withRateLimits)
	sess := s.registerFrom(t, "10.0.2.1", "sabine")
	guess := func(ip string, i int) *http.Response {
		return s.doFrom(t, ip, "POST", passwordPath, sess.AccessToken, passwordChange(fmt.Sprintf("guess-%d-xx", i), "a brand new secret")).Result()
	}
	for i := range 5 {
		if r := guess("10.0.2.2", i); r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("guess %d: status %d, want 401", i, r.StatusCode)
		}
	}
	wantLimited(t, s.doFrom(t, "10.0.2.2", "POST", passwordPath, sess.AccessToken, passwordChange("password-sabine", "a brand new secret")))
	// Five more from a second address use up the user's allowance of ten.
	for i := range 5 {
		if r := guess("10.0.2.3", 10+i); r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("guess %d from a second address: status %d, want 401", i, r.StatusCode)
		}
	}
	wantLimited(t, s.doFrom(t, "10.0.2.4", "POST", passwordPath, sess.AccessToken, passwordChange("password-sabine", "a brand new secret")))
	// The limit did not change the password or end the session.
	want(t, s.doFrom(t, "10.0.2.1", "GET", "/api/v1/me", sess.AccessToken, nil), http.StatusOK)
}
