package api_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/parley-comments/parley/api"
	"github.com/parley-comments/parley/models"
)

func withRateLimits(c *api.Config) { c.RateLimit = true }

// registerFrom registers a user from its own IP address, so that sign-ups
// do not run into the per-IP limit the test is not about.
func (s *testServer) registerFrom(t *testing.T, ip, username string) session {
	t.Helper()
	rec := s.doFrom(t, ip, "POST", "/api/v1/auth/register", "", map[string]string{"username": username, "password": "password-" + username})
	want(t, rec, http.StatusCreated)
	return decode[session](t, rec)
}

// wantLimited checks for a 429 rate_limited answer with Retry-After in whole seconds, and returns it.
func wantLimited(t *testing.T, rec *httptest.ResponseRecorder) int {
	t.Helper()
	wantError(t, rec, http.StatusTooManyRequests, "rate_limited")
	secs, err := strconv.Atoi(rec.Header().Get("Retry-After"))
	if err != nil || secs < 1 {
		t.Fatalf("Retry-After = %q, want whole seconds", rec.Header().Get("Retry-After"))
	}
	return secs
}

func (s *testServer) postFrom(t *testing.T, ip, token, body string) *httptest.ResponseRecorder {
	t.Helper()
	return s.doFrom(t, ip, "POST", "/api/v1/articles/"+seedSlug+"/comments", token, map[string]string{"body": body})
}

func TestRateLimitLoginPerIP(t *testing.T) {
	s := newTestServer(t, withRateLimits)
	wrong := map[string]string{"login": "admin", "password": "not-the-password"}
	for range 5 {
		wantError(t, s.doFrom(t, "10.0.0.1", "POST", "/api/v1/auth/login", "", wrong), 401, "invalid_credentials")
	}
	if secs := wantLimited(t, s.doFrom(t, "10.0.0.1", "POST", "/api/v1/auth/login", "", wrong)); secs != 12 {
		t.Fatalf("Retry-After = %d, want 12 (5 a minute)", secs)
	}
	// The right password does not get past the limit either.
	wantLimited(t, s.doFrom(t, "10.0.0.1", "POST", "/api/v1/auth/login", "", map[string]string{"login": "admin", "password": "admin-password"}))
	// Another address is not affected (for another account: five failures
	// hold this one's password login for a second, see login_throttle_test.go).
	wantError(t, s.doFrom(t, "10.0.0.2", "POST", "/api/v1/auth/login", "", map[string]string{"login": "someone", "password": "not-the-password"}), 401, "invalid_credentials")
	s.clock.Advance(12 * time.Second)
	want(t, s.doFrom(t, "10.0.0.1", "POST", "/api/v1/auth/login", "", map[string]string{"login": "admin", "password": "admin-password"}), 200)

	for i := range 5 {
		s.registerFrom(t, "10.0.0.3", fmt.Sprintf("signup%d", i))
	}
	wantLimited(t, s.doFrom(t, "10.0.0.3", "POST", "/api/v1/auth/register", "", map[string]string{"username": "signup5", "password": "password-signup5"}))
}

func TestRateLimitPostingPerUserAndIP(t *testing.T) {
	s := newTestServer(t, withRateLimits)
	// Default rules: a burst of 3, then one every 10 s.
	u := s.registerFrom(t, "10.0.1.1", "chatty")
	for i := range 3 {
		want(t, s.postFrom(t, fmt.Sprintf("10.0.2.%d", i), u.AccessToken, fmt.Sprintf("post %d", i)), 201)
	}
	if secs := wantLimited(t, s.postFrom(t, "10.0.2.9", u.AccessToken, "one too many")); secs != 10 {
		t.Fatalf("Retry-After = %d, want 10", secs)
	}
	s.clock.Advance(10 * time.Second)
	want(t, s.postFrom(t, "10.0.2.9", u.AccessToken, "after waiting"), 201)

	// Per IP: four accounts behind one address share its allowance.
	for i := range 4 {
		v := s.registerFrom(t, fmt.Sprintf("10.0.3.%d", i), fmt.Sprintf("sock%d", i))
		rec := s.postFrom(t, "10.0.4.1", v.AccessToken, "from the same place "+strconv.Itoa(i))
		if i < 3 {
			want(t, rec, 201)
		} else {
			wantLimited(t, rec)
		}
	}

	// Moderators are exempt, even from an address that is out of allowance.
	mod := s.registerFrom(t, "10.0.5.1", "mod1")
	if err := s.store.Write.Model(&models.User{}).Where("id = ?", mod.User.ID).Update("role", "moderator").Error; err != nil {
		t.Fatal(err)
	}
	modToken := decode[session](t, s.doFrom(t, "10.0.5.1", "POST", "/api/v1/auth/login", "", map[string]string{"login": "mod1", "password": "password-mod1"})).AccessToken
	for i := range 6 {
		want(t, s.postFrom(t, "10.0.4.1", modToken, fmt.Sprintf("moderator note %d", i)), 201)
	}
}

func TestRateLimitFollowsRules(t *testing.T) {
	s := newTestServer(t, withRateLimits)
	admin := decode[session](t, s.doFrom(t, "10.0.9.9", "POST", "/api/v1/auth/login", "", map[string]string{"login": "admin", "password": "admin-password"}))
	rules := decode[map[string]any](t, s.doFrom(t, "10.0.9.9", "GET", "/api/v1/moderation/rules", admin.AccessToken, nil))
	rules["posts_per_minute"], rules["post_burst"], rules["posts_per_hour"] = 60, 10, 5
	want(t, s.doFrom(t, "10.0.9.9", "PUT", "/api/v1/moderation/rules", admin.AccessToken, rules), 200)

	u := s.registerFrom(t, "10.0.1.1", "steady")
	for i := range 5 {
		want(t, s.postFrom(t, fmt.Sprintf("10.0.2.%d", i), u.AccessToken, fmt.Sprintf("post %d", i)), 201)
	}
	// The minute allows more, the hour does not: the next post waits for the hourly bucket.
	if secs := wantLimited(t, s.postFrom(t, "10.0.2.9", u.AccessToken, "sixth")); secs != 720 {
		t.Fatalf("Retry-After = %d, want 720 (5 an hour)", secs)
	}
}

func TestRateLimitActionsPerUser(t *testing.T) {
	s := newTestServer(t, withRateLimits)
	author := s.registerFrom(t, "10.0.1.1", "author")
	voter := s.registerFrom(t, "10.0.1.2", "voter")
	other := s.registerFrom(t, "10.0.1.3", "other")
	c := decode[struct{ Comment commentJSON }](t, s.postFrom(t, "10.0.1.1", author.AccessToken, "vote on me")).Comment
	path := fmt.Sprintf("/api/v1/comments/%d/vote", c.ID)
	for i := range 10 {
		want(t, s.doFrom(t, fmt.Sprintf("10.0.6.%d", i), "PUT", path, voter.AccessToken, map[string]int{"value": 1 - 2*(i%2)}), 200)
	}
	if secs := wantLimited(t, s.doFrom(t, "10.0.6.99", "PUT", path, voter.AccessToken, map[string]int{"value": 0})); secs != 6 {
		t.Fatalf("Retry-After = %d, want 6 (10 a minute)", secs)
	}
	// Another user, and the same user's flags, have their own allowance.
	want(t, s.doFrom(t, "10.0.1.3", "PUT", path, other.AccessToken, map[string]int{"value": 1}), 200)
	want(t, s.doFrom(t, "10.0.1.2", "POST", fmt.Sprintf("/api/v1/comments/%d/flags", c.ID), voter.AccessToken, map[string]string{"reason": "spam"}), 201)
}

func TestRateLimitOff(t *testing.T) {
	s := newTestServer(t) // RateLimit left false, as with PARLEY_RATE_LIMIT=off
	u := s.register(t, "unlimited")
	for i := range 12 {
		s.post(t, u.AccessToken, seedSlug, fmt.Sprintf("post %d", i), nil)
	}
	// Logins from one address are not limited (each names another login:
	// the per-account delay stays on, as it guards accounts, not load).
	for i := range 8 {
		wantError(t, s.do(t, "POST", "/api/v1/auth/login", "", map[string]string{"login": fmt.Sprintf("nobody%d", i), "password": "nope"}), 401, "invalid_credentials")
	}
}
