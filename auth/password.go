// Package auth hashes passwords and issues and parses Parley's access and refresh tokens.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id cost parameters.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
}

// DefaultParams follow OWASP: m = 19 MiB, t = 2, p = 1.
var DefaultParams = Params{Memory: 19 * 1024, Time: 2, Threads: 1}

// TestParams are cheap parameters for test suites (same algorithm, tiny cost): m = 64 KiB, t = 1, p = 1.
var TestParams = Params{Memory: 64, Time: 1, Threads: 1}

// ErrMalformedHash is wrapped by every error about a stored hash that is not a PHC argon2id string Parley can verify.
var ErrMalformedHash = errors.New("auth: malformed password hash")

const (
	saltLen = 16
	keyLen  = 32

	// Limits on what a stored hash may ask for, so that a corrupted or planted row
	// cannot make one login allocate gigabytes or spin for minutes.
	maxMemory  = 256 * 1024 // KiB
	maxTime    = 32
	minSaltLen = 8
	maxSaltLen = 64
	minKeyLen  = 16
	maxKeyLen  = 64
)

// Hasher hashes and verifies passwords with argon2id, limiting concurrent hashing (a semaphore of runtime.NumCPU()) so a login flood cannot exhaust memory.
type Hasher struct {
	params Params
	sem    chan struct{}
	dummy  string // a well-formed hash no password matches, for VerifyDummy
}

// NewHasher returns a Hasher using p for new hashes; it panics if p cannot be used (zero time or threads).
func NewHasher(p Params) *Hasher {
	if p.Time < 1 || p.Threads < 1 || p.Memory < 8*uint32(p.Threads) {
		panic(fmt.Sprintf("auth: unusable argon2 parameters %+v", p))
	}
	// The dummy needs the same parameters and sizes as a real hash, but not a real
	// key: a random one makes the comparison fail exactly like a wrong password.
	salt := make([]byte, saltLen)
	key := make([]byte, keyLen)
	rand.Read(salt) // never fails since Go 1.24
	rand.Read(key)
	return &Hasher{
		params: p,
		sem:    make(chan struct{}, runtime.NumCPU()),
		dummy:  encodeHash(p, salt, key),
	}
}

// Hash returns the PHC string form: $argon2id$v=19$m=19456,t=2,p=1$<salt b64 raw std>$<key b64 raw std>, 16-byte random salt, 32-byte key.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key, err := h.derive(ctx, []byte(password), salt, h.params, keyLen)
	if err != nil {
		return "", err
	}
	return encodeHash(h.params, salt, key), nil
}

// Verify reports whether password matches the PHC hash (constant-time compare), and whether the hash used other parameters than the hasher's (so the caller can rehash on login).
//
// needsRehash is only reported for a matching password: a caller has nothing to
// rehash with otherwise.
func (h *Hasher) Verify(ctx context.Context, encoded, password string) (ok, needsRehash bool, err error) {
	p, salt, want, err := decodeHash(encoded)
	if err != nil {
		return false, false, err
	}
	got, err := h.derive(ctx, []byte(password), salt, p, uint32(len(want)))
	if err != nil {
		return false, false, err
	}
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return false, false, nil
	}
	stale := p != h.params || len(salt) != saltLen || len(want) != keyLen
	return true, stale, nil
}

// VerifyDummy does the same work as a failed Verify, for unknown users, so that login timing does not reveal whether a username exists.
func (h *Hasher) VerifyDummy(ctx context.Context, password string) {
	_, _, _ = h.Verify(ctx, h.dummy, password)
}

// derive runs argon2id while holding a semaphore slot; a caller still queued
// when ctx ends gets ctx.Err() instead of waiting on.
func (h *Hasher) derive(ctx context.Context, password, salt []byte, p Params, n uint32) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	select {
	case h.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-h.sem }()
	return argon2.IDKey(password, salt, p.Time, p.Memory, p.Threads, n), nil
}

func encodeHash(p Params, salt, key []byte) string {
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// decodeHash parses the PHC form written by encodeHash, strictly: fields in that
// order, canonical decimal numbers, unpadded standard base64, bounded costs.
func decodeHash(encoded string) (p Params, salt, key []byte, err error) {
	fields := strings.Split(encoded, "$")
	if len(fields) != 6 || fields[0] != "" {
		return p, nil, nil, fmt.Errorf("%w: want 5 $-separated fields", ErrMalformedHash)
	}
	if fields[1] != "argon2id" {
		return p, nil, nil, fmt.Errorf("%w: algorithm %q, want argon2id", ErrMalformedHash, fields[1])
	}
	if fields[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, fmt.Errorf("%w: version %q, want v=%d", ErrMalformedHash, fields[2], argon2.Version)
	}
	if p, err = decodeParams(fields[3]); err != nil {
		return p, nil, nil, err
	}
	b64 := base64.RawStdEncoding.Strict()
	if salt, err = b64.DecodeString(fields[4]); err != nil || len(salt) < minSaltLen || len(salt) > maxSaltLen {
		return p, nil, nil, fmt.Errorf("%w: bad salt", ErrMalformedHash)
	}
	if key, err = b64.DecodeString(fields[5]); err != nil || len(key) < minKeyLen || len(key) > maxKeyLen {
		return p, nil, nil, fmt.Errorf("%w: bad key", ErrMalformedHash)
	}
	return p, salt, key, nil
}

func decodeParams(s string) (Params, error) {
	var p Params
	parts := strings.Split(s, ",")
	if len(parts) != 3 {
		return p, fmt.Errorf("%w: parameters %q", ErrMalformedHash, s)
	}
	m, errM := decodeUint(parts[0], "m=", 32)
	t, errT := decodeUint(parts[1], "t=", 32)
	th, errP := decodeUint(parts[2], "p=", 8)
	if err := errors.Join(errM, errT, errP); err != nil {
		return p, fmt.Errorf("%w: parameters %q", ErrMalformedHash, s)
	}
	p = Params{Memory: uint32(m), Time: uint32(t), Threads: uint8(th)}
	if p.Time < 1 || p.Time > maxTime || p.Threads < 1 || p.Memory < 8*uint32(p.Threads) || p.Memory > maxMemory {
		return p, fmt.Errorf("%w: parameters %q out of range", ErrMalformedHash, s)
	}
	return p, nil
}

// decodeUint accepts only canonical decimals ("7", not "07" or "+7") after prefix.
func decodeUint(s, prefix string, bits int) (uint64, error) {
	digits, ok := strings.CutPrefix(s, prefix)
	if !ok {
		return 0, fmt.Errorf("missing %q", prefix)
	}
	n, err := strconv.ParseUint(digits, 10, bits)
	if err != nil {
		return 0, err
	}
	if strconv.FormatUint(n, 10) != digits {
		return 0, fmt.Errorf("non-canonical number %q", digits)
	}
	return n, nil
}
