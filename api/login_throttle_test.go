package api_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

// Guesses spread over many addresses meet a per-account delay that grows,
// while the account's refresh tokens keep working.
func TestLoginThrottledAcrossAddresses(t *testing.T) {
	s, logs := newLoggedServer(t)
	victim := s.register(t, "victim")
	if err := s.store.Write.Exec("UPDATE users SET email = ? WHERE id = ?", "victim@example.com", victim.User.ID).Error; err != nil {
		t.Fatal(err)
	}
	attempt := func(i int, login, password string) *httptest.ResponseRecorder {
		return s.doFrom(t, fmt.Sprintf("198.51.100.%d", i+1), "POST", "/api/v1/auth/login", "", map[string]string{"login": login, "password": password})
	}
	// Five free failures, by username and email alike, from five addresses.
	for i := range 5 {
		login := "victim"
		if i%2 == 1 {
			login = "victim@example.com"
		}
		wantError(t, attempt(i, login, "guess-"+strconv.Itoa(i)), 401, "invalid_credentials")
	}
	// From then on every attempt, the right password included, waits.
	for i := 5; i < 20; i++ {
		rec := attempt(i, "victim", "guess-"+strconv.Itoa(i))
		wantError(t, rec, 429, "rate_limited")
		if rec.Header().Get("Retry-After") != "1" {
			t.Fatalf("Retry-After = %q, want 1", rec.Header().Get("Retry-After"))
		}
	}
	wantError(t, attempt(20, "victim", "password-victim"), 429, "rate_limited")
	// The victim's existing login is untouched.
	want(t, s.do(t, "POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": victim.RefreshToken}), http.StatusOK)

	var ev []map[string]any
	failed := 0
	for _, e := range logs.securityEvents(t) {
		if e["event"] == "login_failed" {
			failed++ // every wrong password is one, the throttled attempts (never checked) are not
			continue
		}
		ev = append(ev, e)
	}
	if failed != 5 {
		t.Fatalf("%d login_failed events, want 5", failed)
	}
	if len(ev) != 17 || ev[0]["event"] != "password_guessing" || ev[0]["user_id"] != float64(victim.User.ID) || ev[0]["failures"] != float64(5) ||
		ev[1]["event"] != "login_throttled" || ev[16]["event"] != "login_throttled" {
		t.Fatalf("security events = %v", ev)
	}

	// After the delay the right password works and clears the count.
	s.clock.Advance(time.Second)
	s.login(t, "victim", "password-victim")
	for i := range 4 {
		wantError(t, attempt(i, "victim", "wrong"), 401, "invalid_credentials")
	}
	s.login(t, "victim", "password-victim")

	// Each failure past the free ones doubles the delay: 1 s, 2 s, 4 s.
	for i := range 5 {
		wantError(t, attempt(i, "victim", "wrong"), 401, "invalid_credentials")
	}
	for _, delay := range []time.Duration{1, 2, 4} {
		s.clock.Advance(delay*time.Second - time.Millisecond)
		wantError(t, attempt(0, "victim", "password-victim"), 429, "rate_limited")
		s.clock.Advance(time.Millisecond)
		wantError(t, attempt(0, "victim", "wrong"), 401, "invalid_credentials")
	}
	if rec := attempt(0, "victim", "password-victim"); rec.Header().Get("Retry-After") != "8" {
		t.Fatalf("after three more failures Retry-After = %q, want 8", rec.Header().Get("Retry-After"))
	}

	// An unknown login answers exactly like a known one, so the delay does
	// not tell which accounts exist.
	for i := range 5 {
		wantError(t, attempt(i, "nobody-here", "guess"), 401, "invalid_credentials")
	}
	wantError(t, attempt(6, "nobody-here", "guess"), 429, "rate_limited")
}

// The most common passwords are refused however long they are.
func TestRegisterRefusesCommonPasswords(t *testing.T) {
	s := newTestServer(t)
	for _, pw := range []string{"password123", "PASSWORD1", "iloveyou", "qwertyuiop", "12345678", "common-user"} {
		rec := s.do(t, "POST", "/api/v1/auth/register", "", map[string]string{"username": "common-user", "password": pw})
		wantError(t, rec, 400, "validation_failed")
		if e := decode[errorJSON](t, rec); e.Error.Fields["password"] == "" {
			t.Fatalf("%q: fields = %v", pw, e.Error.Fields)
		}
	}
	want(t, s.do(t, "POST", "/api/v1/auth/register", "", map[string]string{"username": "common-user", "password": "correct horse battery"}), http.StatusCreated)
}
