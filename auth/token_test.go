package auth

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"hash"
	"maps"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	testIssuer   = "parley-test"
	testAudience = "parley-api-test"
	testTTL      = 15 * time.Minute
)

var (
	testSecret = []byte("0123456789abcdef0123456789abcdef") // exactly 32 bytes
	fixedNow   = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
)

func newTestTokens(t testing.TB) *Tokens {
	t.Helper()
	tk, err := NewTokens(testSecret, testIssuer, testAudience, testTTL, func() time.Time { return fixedNow })
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

// validClaims are the claims Issue would write at fixedNow, as a map so a test
// can drop or bend any one of them.
func validClaims() map[string]any {
	return map[string]any{
		"sub":  "42",
		"iss":  testIssuer,
		"aud":  []string{testAudience},
		"iat":  fixedNow.Unix(),
		"exp":  fixedNow.Add(testTTL).Unix(),
		"jti":  "AAAAAAAAAAAAAAAAAAAAAA",
		"role": "user",
		"ver":  3,
	}
}

func with(changes map[string]any) map[string]any {
	c := validClaims()
	maps.Copy(c, changes)
	return c
}

func without(names ...string) map[string]any {
	c := validClaims()
	for _, n := range names {
		delete(c, n)
	}
	return c
}

func segment(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// forge builds a token by hand, signing header.payload with HMAC over mac and
// secret; a nil mac leaves the signature empty.
func forge(t testing.TB, header map[string]any, claims any, mac func() hash.Hash, secret []byte) string {
	t.Helper()
	return sign(segment(t, header)+"."+segment(t, claims), mac, secret)
}

func sign(signing string, mac func() hash.Hash, secret []byte) string {
	if mac == nil {
		return signing + "."
	}
	m := hmac.New(mac, secret)
	m.Write([]byte(signing))
	return signing + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func hs256(t testing.TB, claims map[string]any) string {
	t.Helper()
	return forge(t, map[string]any{"alg": "HS256", "typ": "JWT"}, claims, sha256.New, testSecret)
}

func TestTokens_IssueAndParse(t *testing.T) {
	tk := newTestTokens(t)
	raw, expiresIn, err := tk.Issue(42, "moderator", 7)
	if err != nil {
		t.Fatal(err)
	}
	if expiresIn != int(testTTL/time.Second) {
		t.Errorf("expiresIn = %d, want %d", expiresIn, int(testTTL/time.Second))
	}
	if !strings.HasPrefix(raw, segment(t, map[string]any{"alg": "HS256", "typ": "JWT"})+".") {
		t.Errorf("token %q does not start with an HS256 JWT header", raw)
	}

	c, err := tk.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	id, err := c.UserID()
	if err != nil || id != 42 {
		t.Errorf("UserID() = %d, %v; want 42, nil", id, err)
	}
	if c.Subject != "42" || c.Role != "moderator" || c.Version != 7 || c.Issuer != testIssuer {
		t.Errorf("claims = sub %q role %q ver %d iss %q; want 42 moderator 7 %s", c.Subject, c.Role, c.Version, c.Issuer, testIssuer)
	}
	if len(c.Audience) != 1 || c.Audience[0] != testAudience {
		t.Errorf("aud = %v, want [%s]", c.Audience, testAudience)
	}
	if c.IssuedAt == nil || !c.IssuedAt.Equal(fixedNow) {
		t.Errorf("iat = %v, want %v", c.IssuedAt, fixedNow)
	}
	if c.ExpiresAt == nil || !c.ExpiresAt.Equal(fixedNow.Add(testTTL)) {
		t.Errorf("exp = %v, want %v", c.ExpiresAt, fixedNow.Add(testTTL))
	}
	if c.NotBefore != nil {
		t.Errorf("nbf = %v, want none", c.NotBefore)
	}
	if jti, err := base64.RawURLEncoding.DecodeString(c.ID); err != nil || len(jti) != 16 {
		t.Errorf("jti = %q, want 16 bytes of unpadded base64url", c.ID)
	}

	raw2, _, err := tk.Issue(42, "moderator", 7)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := tk.Parse(raw2)
	if err != nil {
		t.Fatal(err)
	}
	if c2.ID == c.ID {
		t.Errorf("two tokens share jti %q", c.ID)
	}
}

func TestTokens_AcceptsWithinLeeway(t *testing.T) {
	tk := newTestTokens(t)
	tests := map[string]map[string]any{
		"expired 29 s ago":        with(map[string]any{"exp": fixedNow.Add(-29 * time.Second).Unix()}),
		"issued 29 s ahead":       with(map[string]any{"iat": fixedNow.Add(29 * time.Second).Unix()}),
		"valid from 29 s ahead":   with(map[string]any{"nbf": fixedNow.Add(29 * time.Second).Unix()}),
		"nbf in the past":         with(map[string]any{"nbf": fixedNow.Add(-time.Minute).Unix()}),
		"aud as a plain string":   with(map[string]any{"aud": testAudience}),
		"aud among others":        with(map[string]any{"aud": []string{"elsewhere", testAudience}}),
		"unknown extra claim":     with(map[string]any{"theme": "dark"}),
		"large subject":           with(map[string]any{"sub": "4294967295"}),
		"hand-built, like Issue":  validClaims(),
		"admin role":              with(map[string]any{"role": "admin"}),
		"negative version stored": with(map[string]any{"ver": -1}),
	}
	for name, claims := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := tk.Parse(hs256(t, claims)); err != nil {
				t.Fatalf("Parse: %v", err)
			}
		})
	}
}

func TestTokens_RefusesForgedAndStale(t *testing.T) {
	tk := newTestTokens(t)
	good, _, err := tk.Issue(42, "user", 3)
	if err != nil {
		t.Fatal(err)
	}
	header := func(alg string) map[string]any { return map[string]any{"alg": alg, "typ": "JWT"} }
	refresh, _, err := NewRefreshToken()
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, ".")
	tampered := parts[0] + "." + segment(t, with(map[string]any{"role": "admin"})) + "." + parts[2]

	// A signed token just over the limit, so only the length check can refuse it.
	padded := hs256(t, with(map[string]any{"pad": strings.Repeat("x", MaxTokenLength)}))
	if len(padded) <= MaxTokenLength {
		t.Fatalf("padded token is %d bytes, want more than %d", len(padded), MaxTokenLength)
	}

	tests := map[string]string{
		"empty string":        "",
		"garbage":             "not a token",
		"three dots":          "...",
		"two garbage parts":   "abc.def",
		"three garbage parts": "abc.def.ghi",
		"header only":         parts[0],
		"signature dropped":   parts[0] + "." + parts[1],
		"empty signature":     parts[0] + "." + parts[1] + ".",
		"extra segment":       good + ".e30",
		"bearer prefix kept":  "Bearer " + good,
		"trailing newline":    good + "\n",
		"line break inside":   parts[0] + "." + parts[1][:10] + "\r\n" + parts[1][10:] + "." + parts[2],
		"space inside":        parts[0] + ". " + parts[1] + "." + parts[2],
		"padded base64":       parts[0] + "==." + parts[1] + "." + parts[2],
		"payload not JSON":    sign(parts[0]+"."+base64.RawURLEncoding.EncodeToString([]byte("role=admin")), sha256.New, testSecret),
		"payload an array":    forge(t, header("HS256"), []int{1}, sha256.New, testSecret),
		"payload null":        forge(t, header("HS256"), nil, sha256.New, testSecret),
		"refresh token":       refresh,
		"over-long":           padded,
		"over-long garbage":   strings.Repeat("a", MaxTokenLength+1),

		"alg none, empty signature":     forge(t, header("none"), validClaims(), nil, nil),
		"alg None, empty signature":     forge(t, header("None"), validClaims(), nil, nil),
		"alg NONE, empty signature":     forge(t, header("NONE"), validClaims(), nil, nil),
		"alg nOnE, empty signature":     forge(t, header("nOnE"), validClaims(), nil, nil),
		"alg none, HMAC signature":      forge(t, header("none"), validClaims(), sha256.New, testSecret),
		"alg None, HMAC signature":      forge(t, header("None"), validClaims(), sha256.New, testSecret),
		"alg NONE, HMAC signature":      forge(t, header("NONE"), validClaims(), sha256.New, testSecret),
		"alg nOnE, HMAC signature":      forge(t, header("nOnE"), validClaims(), sha256.New, testSecret),
		"alg none, junk signature":      forge(t, header("none"), validClaims(), nil, nil) + "c2lnbmF0dXJl",
		"alg none from the library":     unsafeNone(t),
		"alg missing":                   forge(t, map[string]any{"typ": "JWT"}, validClaims(), sha256.New, testSecret),
		"alg empty":                     forge(t, header(""), validClaims(), sha256.New, testSecret),
		"alg hs256 lower case":          forge(t, header("hs256"), validClaims(), sha256.New, testSecret),
		"HS384 with the same secret":    forge(t, header("HS384"), validClaims(), sha512.New384, testSecret),
		"HS512 with the same secret":    forge(t, header("HS512"), validClaims(), sha512.New, testSecret),
		"RS256 header, HMAC signature":  forge(t, header("RS256"), validClaims(), sha256.New, testSecret),
		"ES256 header, HMAC signature":  forge(t, header("ES256"), validClaims(), sha256.New, testSecret),
		"role changed, signature kept":  tampered,
		"signed with another secret":    forge(t, header("HS256"), validClaims(), sha256.New, []byte("another secret, 32 bytes or more")),
		"signed with a secret's prefix": forge(t, header("HS256"), validClaims(), sha256.New, testSecret[:31]),

		"exp missing":                 hs256(t, without("exp")),
		"exp not a number":            hs256(t, with(map[string]any{"exp": "tomorrow"})),
		"expired beyond leeway":       hs256(t, with(map[string]any{"exp": fixedNow.Add(-31 * time.Second).Unix()})),
		"expired long ago":            hs256(t, with(map[string]any{"iat": fixedNow.Add(-48 * time.Hour).Unix(), "exp": fixedNow.Add(-24 * time.Hour).Unix()})),
		"iat beyond leeway in future": hs256(t, with(map[string]any{"iat": fixedNow.Add(31 * time.Second).Unix()})),
		"nbf in the future":           hs256(t, with(map[string]any{"nbf": fixedNow.Add(time.Minute).Unix()})),
		"iss wrong":                   hs256(t, with(map[string]any{"iss": "someone-else"})),
		"iss missing":                 hs256(t, without("iss")),
		"iss empty":                   hs256(t, with(map[string]any{"iss": ""})),
		"aud wrong":                   hs256(t, with(map[string]any{"aud": []string{"another-api"}})),
		"aud missing":                 hs256(t, without("aud")),
		"aud empty":                   hs256(t, with(map[string]any{"aud": ""})),
		"sub missing":                 hs256(t, without("sub")),
		"sub empty":                   hs256(t, with(map[string]any{"sub": ""})),
		"sub not numeric":             hs256(t, with(map[string]any{"sub": "alice"})),
		"sub zero":                    hs256(t, with(map[string]any{"sub": "0"})),
		"sub negative":                hs256(t, with(map[string]any{"sub": "-1"})),
		"sub leading zero":            hs256(t, with(map[string]any{"sub": "042"})),
		"sub with plus":               hs256(t, with(map[string]any{"sub": "+42"})),
		"sub fractional":              hs256(t, with(map[string]any{"sub": "42.0"})),
		"sub overflows":               hs256(t, with(map[string]any{"sub": "18446744073709551616"})),
		"sub a JSON number":           hs256(t, with(map[string]any{"sub": 42})),
		"role unknown":                hs256(t, with(map[string]any{"role": "superuser"})),
		"role capitalised":            hs256(t, with(map[string]any{"role": "Admin"})),
		"role missing":                hs256(t, without("role")),
		"ver a string":                hs256(t, with(map[string]any{"ver": "3"})),
		"exp a numeric string":        hs256(t, with(map[string]any{"exp": strconv.FormatInt(fixedNow.Add(testTTL).Unix(), 10)})),
		"exp null":                    hs256(t, with(map[string]any{"exp": nil})),
		"exp an object":               hs256(t, with(map[string]any{"exp": map[string]any{"n": 1}})),
		"iat missing":                 hs256(t, without("iat")),
		"iat null":                    hs256(t, with(map[string]any{"iat": nil})),
		"iat a numeric string":        hs256(t, with(map[string]any{"iat": strconv.FormatInt(fixedNow.Unix(), 10)})),
		"nbf a numeric string":        hs256(t, with(map[string]any{"nbf": strconv.FormatInt(fixedNow.Unix(), 10)})),
		"nbf true":                    hs256(t, with(map[string]any{"nbf": true})),
	}
	for name, raw := range tests {
		t.Run(name, func(t *testing.T) {
			c, err := tk.Parse(raw)
			if !errors.Is(err, ErrInvalidToken) || c != nil {
				t.Fatalf("Parse = %v, %v; want nil, ErrInvalidToken", c, err)
			}
		})
	}
}

// TestTokens_KeyOnlyForHS256 checks the keyfunc on its own, as if the parser's
// method allowlist were ever dropped.
func TestTokens_KeyOnlyForHS256(t *testing.T) {
	tk := newTestTokens(t)
	lax := jwt.NewParser(jwt.WithTimeFunc(func() time.Time { return fixedNow }))
	for name, raw := range map[string]string{
		"HS384":        forge(t, map[string]any{"alg": "HS384"}, validClaims(), sha512.New384, testSecret),
		"HS512":        forge(t, map[string]any{"alg": "HS512"}, validClaims(), sha512.New, testSecret),
		"RS256 header": forge(t, map[string]any{"alg": "RS256"}, validClaims(), sha256.New, testSecret),
		"none":         unsafeNone(t),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := lax.ParseWithClaims(raw, &Claims{}, tk.key); err == nil {
				t.Fatal("a parser with no method allowlist accepted the token through key")
			}
		})
	}
	if _, err := lax.ParseWithClaims(hs256(t, validClaims()), &Claims{}, tk.key); err != nil {
		t.Fatalf("HS256 through key: %v", err)
	}
}

// unsafeNone is what an attacker gets from the library itself when asking for "none".
func unsafeNone(t *testing.T) string {
	t.Helper()
	claims := Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   "1",
			Issuer:    testIssuer,
			Audience:  jwt.ClaimStrings{testAudience},
			IssuedAt:  jwt.NewNumericDate(fixedNow),
			ExpiresAt: jwt.NewNumericDate(fixedNow.Add(time.Hour)),
		},
		Role: "admin",
	}
	raw, err := jwt.NewWithClaims(jwt.SigningMethodNone, &claims).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestTokens_ExpiresWithTheClock(t *testing.T) {
	now := fixedNow
	tk, err := NewTokens(testSecret, testIssuer, testAudience, testTTL, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	raw, _, err := tk.Issue(7, "user", 0)
	if err != nil {
		t.Fatal(err)
	}
	now = fixedNow.Add(testTTL + 29*time.Second)
	if _, err := tk.Parse(raw); err != nil {
		t.Fatalf("Parse within leeway: %v", err)
	}
	now = fixedNow.Add(testTTL + 31*time.Second)
	_, err = tk.Parse(raw)
	if !errors.Is(err, ErrInvalidToken) || !errors.Is(err, jwt.ErrTokenExpired) {
		t.Fatalf("Parse after expiry = %v, want ErrInvalidToken and jwt.ErrTokenExpired", err)
	}
}

func TestTokens_OtherIssuerOrAudience(t *testing.T) {
	raw, _, err := newTestTokens(t).Issue(1, "user", 0)
	if err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return fixedNow }
	for name, args := range map[string][2]string{
		"other issuer":   {"another-parley", testAudience},
		"other audience": {testIssuer, "another-api"},
	} {
		t.Run(name, func(t *testing.T) {
			other, err := NewTokens(testSecret, args[0], args[1], testTTL, now)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := other.Parse(raw); !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("Parse = %v, want ErrInvalidToken", err)
			}
		})
	}
}

func TestNewTokens(t *testing.T) {
	now := func() time.Time { return fixedNow }
	tests := []struct {
		name     string
		secret   []byte
		issuer   string
		audience string
		ttl      time.Duration
		wantErr  bool
		weak     bool
	}{
		{name: "32-byte secret", secret: testSecret, issuer: testIssuer, audience: testAudience, ttl: testTTL},
		{name: "64-byte secret", secret: bytes.Repeat(testSecret, 2), issuer: testIssuer, audience: testAudience, ttl: testTTL},
		{name: "31-byte secret", secret: testSecret[:31], issuer: testIssuer, audience: testAudience, ttl: testTTL, wantErr: true, weak: true},
		{name: "empty secret", secret: nil, issuer: testIssuer, audience: testAudience, ttl: testTTL, wantErr: true, weak: true},
		{name: "empty issuer", secret: testSecret, audience: testAudience, ttl: testTTL, wantErr: true},
		{name: "empty audience", secret: testSecret, issuer: testIssuer, ttl: testTTL, wantErr: true},
		{name: "zero ttl", secret: testSecret, issuer: testIssuer, audience: testAudience, wantErr: true},
		{name: "sub-second ttl", secret: testSecret, issuer: testIssuer, audience: testAudience, ttl: time.Millisecond, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tk, err := NewTokens(tc.secret, tc.issuer, tc.audience, tc.ttl, now)
			if (err != nil) != tc.wantErr || errors.Is(err, ErrWeakSecret) != tc.weak {
				t.Fatalf("NewTokens error = %v, want error %v (weak secret %v)", err, tc.wantErr, tc.weak)
			}
			if (tk == nil) != tc.wantErr {
				t.Fatalf("NewTokens returned %v with error %v", tk, err)
			}
		})
	}

	t.Run("caller's slice reused", func(t *testing.T) {
		secret := append([]byte(nil), testSecret...)
		tk, err := NewTokens(secret, testIssuer, testAudience, testTTL, now)
		if err != nil {
			t.Fatal(err)
		}
		clear(secret)
		raw, _, err := tk.Issue(1, "user", 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := newTestTokens(t).Parse(raw); err != nil {
			t.Fatalf("token signed after the caller wiped its slice does not verify with the original secret: %v", err)
		}
	})

	t.Run("nil clock means the real one", func(t *testing.T) {
		tk, err := NewTokens(testSecret, testIssuer, testAudience, testTTL, nil)
		if err != nil {
			t.Fatal(err)
		}
		raw, _, err := tk.Issue(1, "user", 0)
		if err != nil {
			t.Fatal(err)
		}
		c, err := tk.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if d := time.Since(c.IssuedAt.Time); d < -time.Minute || d > time.Minute {
			t.Fatalf("iat = %v, want about now", c.IssuedAt)
		}
	})
}

func TestTokens_IssueRefuses(t *testing.T) {
	tk := newTestTokens(t)
	for name, tc := range map[string]struct {
		id   uint
		role string
	}{
		"user id 0":    {0, "user"},
		"unknown role": {1, "root"},
		"empty role":   {1, ""},
	} {
		t.Run(name, func(t *testing.T) {
			if raw, _, err := tk.Issue(tc.id, tc.role, 0); err == nil {
				t.Fatalf("Issue(%d, %q) = %q, want an error", tc.id, tc.role, raw)
			}
		})
	}
}

func TestClaims_UserID(t *testing.T) {
	tests := []struct {
		sub     string
		want    uint
		wantErr bool
	}{
		{sub: "1", want: 1},
		{sub: "4294967295", want: 4294967295},
		{sub: "", wantErr: true},
		{sub: "0", wantErr: true},
		{sub: "-3", wantErr: true},
		{sub: "03", wantErr: true},
		{sub: " 3", wantErr: true},
		{sub: "3a", wantErr: true},
		{sub: "0x10", wantErr: true},
		{sub: "18446744073709551616", wantErr: true},
	}
	for _, tc := range tests {
		c := Claims{RegisteredClaims: jwt.RegisteredClaims{Subject: tc.sub}}
		got, err := c.UserID()
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("UserID() with sub %q = %d, %v; want %d, error %v", tc.sub, got, err, tc.want, tc.wantErr)
		}
	}
}

func BenchmarkIssue(b *testing.B) {
	tk := newTestTokens(b)
	for b.Loop() {
		if _, _, err := tk.Issue(42, "user", 3); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	tk := newTestTokens(b)
	raw, _, err := tk.Issue(42, "user", 3)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := tk.Parse(raw); err != nil {
			b.Fatal(err)
		}
	}
}
