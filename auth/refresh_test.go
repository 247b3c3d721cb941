package auth

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"testing"
	"time"
)

func TestNewRefreshToken(t *testing.T) {
	raw, hash, err := NewRefreshToken()
	if err != nil {
		t.Fatal(err)
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(raw)
	if err != nil || len(b) != 32 {
		t.Errorf("raw = %q (%d bytes, err %v), want 32 bytes of unpadded base64url", raw, len(b), err)
	}
	sum := sha256.Sum256([]byte(raw))
	if want := hex.EncodeToString(sum[:]); hash != want {
		t.Errorf("hash = %q, want the hex SHA-256 of raw %q", hash, want)
	}
	if got := HashRefreshToken(raw); got != hash {
		t.Errorf("HashRefreshToken(raw) = %q, want the hash returned with it %q", got, hash)
	}
	raw2, hash2, err := NewRefreshToken()
	if err != nil {
		t.Fatal(err)
	}
	if raw2 == raw || hash2 == hash {
		t.Error("two refresh tokens are equal")
	}
}

func TestHashRefreshToken(t *testing.T) {
	// The SHA-256 test vector from FIPS 180-2.
	if got, want := HashRefreshToken("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"; got != want {
		t.Fatalf("HashRefreshToken(abc) = %q, want %q", got, want)
	}
}

func TestNewSecret(t *testing.T) {
	s, err := NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	if b, err := hex.DecodeString(s); err != nil || len(b) != 32 {
		t.Fatalf("secret = %q, want 32 hex-encoded bytes", s)
	}
	s2, err := NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	if s2 == s {
		t.Error("two secrets are equal")
	}
	if _, err := NewTokens([]byte(s), testIssuer, testAudience, time.Minute, nil); err != nil {
		t.Fatalf("NewTokens refuses a generated secret: %v", err)
	}
}
