package api_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestRegister(t *testing.T) {
	s := newTestServer(t)
	rec := s.do(t, "POST", "/api/v1/auth/register", "", map[string]string{"username": "Alice", "password": "a good password", "email": "alice@example.com", "display_name": "Alice \u202eevil"})
	want(t, rec, http.StatusCreated)
	sess := decode[session](t, rec)
	if sess.User.Username != "Alice" || sess.User.Role != "user" || sess.AccessToken == "" || sess.RefreshToken == "" || sess.ExpiresIn != 900 {
		t.Fatalf("session = %+v", sess)
	}
	if sess.User.Email != "alice@example.com" {
		t.Fatalf("own email not shown: %+v", sess.User)
	}
	me := s.do(t, "GET", "/api/v1/me", sess.AccessToken, nil)
	want(t, me, http.StatusOK)
	if strings.Contains(me.Body.String(), "\u202e") {
		t.Fatalf("bidi override kept in display name: %s", me.Body)
	}

	cases := []struct {
		name   string
		body   any
		status int
		code   string
	}{
		{"same name in other case", map[string]string{"username": "alice", "password": "another password"}, 409, "conflict"},
		{"same email", map[string]string{"username": "alice2", "password": "another password", "email": "ALICE@example.com"}, 409, "conflict"},
		{"short password", map[string]string{"username": "bob", "password": "short"}, 400, "validation_failed"},
		{"long password", map[string]string{"username": "bob", "password": strings.Repeat("x", 257)}, 400, "validation_failed"},
		{"reserved name", map[string]string{"username": "moderator", "password": "a good password"}, 400, "validation_failed"},
		{"reserved admin look-alike", map[string]string{"username": "Admin", "password": "a good password"}, 400, "validation_failed"},
		{"bad characters", map[string]string{"username": "bob smith", "password": "a good password"}, 400, "validation_failed"},
		{"too short name", map[string]string{"username": "bo", "password": "a good password"}, 400, "validation_failed"},
		{"bad email", map[string]string{"username": "bob", "password": "a good password", "email": "not-an-email"}, 400, "validation_failed"},
		{"wrong type", `{"username": 5, "password": "a good password"}`, 400, "validation_failed"},
		{"malformed JSON", `{"username": "bob",`, 400, "validation_failed"},
		{"empty body", ``, 400, "validation_failed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantError(t, s.do(t, "POST", "/api/v1/auth/register", "", c.body), c.status, c.code)
		})
	}
}

func TestLogin(t *testing.T) {
	s := newTestServer(t)
	s.register(t, "carol")
	s.login(t, "carol", "password-carol")
	s.login(t, "CAROL", "password-carol")

	wrong := s.do(t, "POST", "/api/v1/auth/login", "", map[string]string{"login": "carol", "password": "wrong password"})
	unknown := s.do(t, "POST", "/api/v1/auth/login", "", map[string]string{"login": "nobody", "password": "wrong password"})
	wantError(t, wrong, 401, "invalid_credentials")
	wantError(t, unknown, 401, "invalid_credentials")
	if wrong.Body.String() != unknown.Body.String() {
		t.Fatalf("unknown user and wrong password answer differently: %s vs %s", wrong.Body, unknown.Body)
	}
}

func TestMeNeedsToken(t *testing.T) {
	s := newTestServer(t)
	wantError(t, s.do(t, "GET", "/api/v1/me", "", nil), 401, "unauthorized")
	wantError(t, s.do(t, "GET", "/api/v1/me", "not-a-token", nil), 401, "unauthorized")
	sess := s.register(t, "dave")
	s.clock.Advance(16 * time.Minute)
	wantError(t, s.do(t, "GET", "/api/v1/me", sess.AccessToken, nil), 401, "unauthorized")
}

func TestRefreshRotation(t *testing.T) {
	s := newTestServer(t)
	first := s.register(t, "erin")

	rec := s.do(t, "POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": first.RefreshToken})
	want(t, rec, http.StatusOK)
	second := decode[session](t, rec)
	if second.RefreshToken == first.RefreshToken || second.AccessToken == "" {
		t.Fatalf("refresh did not rotate: %+v", second)
	}

	// Presenting the spent token again, after the grace for racing tabs,
	// revokes the whole login: the newer token stops working too.
	s.clock.Advance(10 * time.Second)
	wantError(t, s.do(t, "POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": first.RefreshToken}), 401, "invalid_token")
	wantError(t, s.do(t, "POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": second.RefreshToken}), 401, "invalid_token")

	// Another login of the same user is unaffected.
	other := s.login(t, "erin", "password-erin")
	want(t, s.do(t, "POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": other.RefreshToken}), http.StatusOK)

	wantError(t, s.do(t, "POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": "made-up"}), 401, "invalid_token")
	wantError(t, s.do(t, "POST", "/api/v1/auth/refresh", "", map[string]string{}), 401, "invalid_token")
}

func TestConcurrentRefreshOneWinner(t *testing.T) {
	s := newTestServer(t)
	sess := s.register(t, "frank")
	var wg sync.WaitGroup
	codes := make([]int, 8)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = s.do(t, "POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": sess.RefreshToken}).Code
		}()
	}
	wg.Wait()
	ok := 0
	for _, c := range codes {
		switch c {
		case 200:
			ok++
		case 401:
		default:
			t.Fatalf("concurrent refresh answered %d", c)
		}
	}
	if ok != 1 {
		t.Fatalf("%d concurrent refreshes succeeded, want exactly 1 (codes %v)", ok, codes)
	}
}

func TestLogoutRevokes(t *testing.T) {
	s := newTestServer(t)
	sess := s.register(t, "gina")
	want(t, s.do(t, "POST", "/api/v1/auth/logout", "", map[string]string{"refresh_token": sess.RefreshToken}), http.StatusNoContent)
	wantError(t, s.do(t, "POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": sess.RefreshToken}), 401, "invalid_token")
	wantError(t, s.do(t, "GET", "/api/v1/me", sess.AccessToken, nil), 401, "unauthorized")
	// Logging out again is harmless.
	want(t, s.do(t, "POST", "/api/v1/auth/logout", "", map[string]string{"refresh_token": sess.RefreshToken}), http.StatusNoContent)
}

func TestRoleChangeRevokesToken(t *testing.T) {
	s := newTestServer(t)
	sess := s.register(t, "hank")
	if err := s.store.Write.Exec("UPDATE users SET role = 'moderator' WHERE id = ?", sess.User.ID).Error; err != nil {
		t.Fatal(err)
	}
	wantError(t, s.do(t, "GET", "/api/v1/me", sess.AccessToken, nil), 401, "unauthorized")
}
