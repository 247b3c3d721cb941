package api_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/parley-comments/parley/models"
)

// forge signs arbitrary claims with the server's own secret (or none),
// the way an attacker who guessed the shape would.
func forge(t *testing.T, method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	tok, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func b64(v any) string {
	j, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(j)
}

// TestForgedTokensRefused presents every kind of forged or stale token to a
// read and to a write: each is a 401 and the write leaves no row.
func TestForgedTokensRefused(t *testing.T) {
	s := newTestServer(t)
	sess := s.register(t, "victim")
	now := s.clock.Now()
	sub := strconv.FormatUint(uint64(sess.User.ID), 10)
	valid := func() jwt.MapClaims {
		return jwt.MapClaims{"sub": sub, "role": "admin", "ver": 0, "iss": "parley", "aud": []string{"parley-api"},
			"iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(), "jti": "x"}
	}
	with := func(k string, v any) jwt.MapClaims {
		c := valid()
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	// The real token, with its payload swapped for one claiming admin.
	parts := strings.Split(sess.AccessToken, ".")
	tampered := parts[0] + "." + b64(valid()) + "." + parts[2]
	noneHeader := func(alg string) string {
		return b64(map[string]string{"alg": alg, "typ": "JWT"}) + "." + b64(valid()) + "."
	}
	userClaims := with("role", "user")

	cases := map[string]string{
		"alg none":                    forge(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, valid()),
		"alg None":                    noneHeader("None"),
		"alg NONE":                    noneHeader("NONE"),
		"alg nOnE with signature":     noneHeader("nOnE") + parts[2],
		"HS512 with the right secret": forge(t, jwt.SigningMethodHS512, testSecret, userClaims),
		"HS384 with the right secret": forge(t, jwt.SigningMethodHS384, testSecret, userClaims),
		"tampered payload":            tampered,
		"another secret":              forge(t, jwt.SigningMethodHS256, []byte("another-secret-another-secret-0123456"), userClaims),
		"missing exp":                 forge(t, jwt.SigningMethodHS256, testSecret, with("exp", nil)),
		"expired":                     forge(t, jwt.SigningMethodHS256, testSecret, with("exp", now.Add(-time.Hour).Unix())),
		"iat in the future":           forge(t, jwt.SigningMethodHS256, testSecret, with("iat", now.Add(time.Hour).Unix())),
		"nbf in the future":           forge(t, jwt.SigningMethodHS256, testSecret, with("nbf", now.Add(time.Hour).Unix())),
		"wrong iss":                   forge(t, jwt.SigningMethodHS256, testSecret, with("iss", "someone-else")),
		"missing iss":                 forge(t, jwt.SigningMethodHS256, testSecret, with("iss", nil)),
		"wrong aud":                   forge(t, jwt.SigningMethodHS256, testSecret, with("aud", "other-api")),
		"missing aud":                 forge(t, jwt.SigningMethodHS256, testSecret, with("aud", nil)),
		"role escalation":             forge(t, jwt.SigningMethodHS256, []byte("guess"+string(testSecret[5:])), valid()),
		"refresh token as access":     sess.RefreshToken,
		"over-long token":             sess.AccessToken + strings.Repeat("A", 5000),
		"garbage":                     "not.a.token",
	}
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) {
			wantError(t, s.do(t, "GET", "/api/v1/me", tok, nil), http.StatusUnauthorized, "unauthorized")
			wantError(t, s.do(t, "POST", "/api/v1/articles/"+seedSlug+"/comments", tok, map[string]string{"body": "forged " + name}), http.StatusUnauthorized, "unauthorized")
		})
	}
	var n int64
	s.store.Read.Model(&models.Comment{}).Count(&n)
	if n != 0 {
		t.Fatalf("forged tokens created %d comments", n)
	}
	// A token with the right secret and claims but a role the user does not have is refused too.
	escalated := forge(t, jwt.SigningMethodHS256, testSecret, valid())
	wantError(t, s.do(t, "GET", "/api/v1/me", escalated, nil), http.StatusUnauthorized, "unauthorized")
	// Malformed Authorization headers.
	for _, h := range []string{"Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "bearer " + sess.AccessToken} {
		rec := doRaw(t, s, "GET", "/api/v1/me", map[string]string{"Authorization": h}, "")
		if rec.Code != http.StatusUnauthorized {
			t.Errorf("Authorization %q: status %d, want 401", h, rec.Code)
		}
	}
}

// TestPasswordChangeLikeRevocation: bumping token_version (what logout,
// bans and role changes do) kills every earlier access token at once.
func TestTokenVersionRevokes(t *testing.T) {
	s := newTestServer(t)
	sess := s.register(t, "wendy")
	want(t, s.do(t, "GET", "/api/v1/me", sess.AccessToken, nil), 200)
	s.store.Write.Model(&models.User{}).Where("id = ?", sess.User.ID).Update("token_version", 1)
	wantError(t, s.do(t, "GET", "/api/v1/me", sess.AccessToken, nil), 401, "unauthorized")
	fresh := s.login(t, "wendy", "password-wendy")
	want(t, s.do(t, "GET", "/api/v1/me", fresh.AccessToken, nil), 200)
}

// TestConcurrentRefreshNeverTwoLogins: refreshing one token from many
// goroutines yields one new token, and never a 500.
func TestConcurrentRefreshNeverTwoLogins(t *testing.T) {
	s := newTestServer(t)
	sess := s.register(t, "xena")
	var wg sync.WaitGroup
	var mu sync.Mutex
	var winners []string
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec := s.do(t, "POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": sess.RefreshToken})
			if rec.Code >= 500 {
				t.Errorf("refresh answered %d", rec.Code)
			}
			if rec.Code == 200 {
				mu.Lock()
				winners = append(winners, decode[session](t, rec).RefreshToken)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(winners) != 1 {
		t.Fatalf("%d refreshes won, want 1", len(winners))
	}
	var live int64
	s.store.Read.Model(&models.RefreshToken{}).Where("user_id = ? AND used_at IS NULL AND revoked_at IS NULL", sess.User.ID).Count(&live)
	if live != 1 {
		t.Fatalf("%d live refresh tokens, want 1", live)
	}
}
