package auth

import (
	"context"
	"encoding/base64"
	"errors"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestHasher_RoundTrip(t *testing.T) {
	h := NewHasher(TestParams)
	ctx := context.Background()
	encoded, err := h.Hash(ctx, "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(encoded, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("hash = %q, want the PHC argon2id prefix with TestParams", encoded)
	}
	fields := strings.Split(encoded, "$")
	salt, err := base64.RawStdEncoding.DecodeString(fields[4])
	if err != nil || len(salt) != 16 {
		t.Errorf("salt = %q (%d bytes, err %v), want 16 bytes of raw std base64", fields[4], len(salt), err)
	}
	key, err := base64.RawStdEncoding.DecodeString(fields[5])
	if err != nil || len(key) != 32 {
		t.Errorf("key = %q (%d bytes, err %v), want 32 bytes of raw std base64", fields[5], len(key), err)
	}

	ok, needsRehash, err := h.Verify(ctx, encoded, "correct horse battery staple")
	if err != nil || !ok || needsRehash {
		t.Fatalf("Verify(right password) = %v, %v, %v; want true, false, nil", ok, needsRehash, err)
	}
	ok, needsRehash, err = h.Verify(ctx, encoded, "correct horse battery stapler")
	if err != nil || ok || needsRehash {
		t.Fatalf("Verify(wrong password) = %v, %v, %v; want false, false, nil", ok, needsRehash, err)
	}

	again, err := h.Hash(ctx, "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if again == encoded {
		t.Error("two hashes of one password are equal; the salt is not random")
	}
}

func TestHasher_DefaultParamsFormat(t *testing.T) {
	encoded, err := NewHasher(DefaultParams).Hash(context.Background(), "password")
	if err != nil {
		t.Fatal(err)
	}
	if want := "$argon2id$v=19$m=19456,t=2,p=1$"; !strings.HasPrefix(encoded, want) {
		t.Fatalf("hash = %q, want prefix %q", encoded, want)
	}
}

func TestHasher_NoTruncation(t *testing.T) {
	h := NewHasher(TestParams)
	ctx := context.Background()
	long := strings.Repeat("a", 1024)
	other := strings.Repeat("a", 1023) + "b"
	encoded, err := h.Hash(ctx, long)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		password string
		want     bool
	}{
		{"same 1024 bytes", long, true},
		{"last byte differs", other, false},
		{"last byte missing", long[:1023], false},
		{"bcrypt's 72-byte prefix", long[:72], false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, _, err := h.Verify(ctx, encoded, tc.password)
			if err != nil || ok != tc.want {
				t.Fatalf("Verify = %v, %v; want %v, nil", ok, err, tc.want)
			}
		})
	}
}

func TestHasher_VerifyMalformed(t *testing.T) {
	h := NewHasher(TestParams)
	salt := base64.RawStdEncoding.EncodeToString(make([]byte, 16))
	key := base64.RawStdEncoding.EncodeToString(make([]byte, 32))
	valid := "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key
	if _, _, err := h.Verify(context.Background(), valid, "x"); err != nil {
		t.Fatalf("the well-formed base case is refused: %v", err)
	}
	tests := map[string]string{
		"empty":               "",
		"plain text":          "hunter2",
		"bcrypt":              "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
		"argon2i":             strings.Replace(valid, "argon2id", "argon2i", 1),
		"no leading dollar":   valid[1:],
		"version 16":          strings.Replace(valid, "v=19", "v=16", 1),
		"version missing":     strings.Replace(valid, "$v=19", "", 1),
		"version garbage":     strings.Replace(valid, "v=19", "v=x", 1),
		"too few fields":      "$argon2id$v=19$m=64,t=1,p=1$" + salt,
		"too many fields":     valid + "$extra",
		"params reordered":    strings.Replace(valid, "m=64,t=1,p=1", "t=1,m=64,p=1", 1),
		"params missing one":  strings.Replace(valid, "m=64,t=1,p=1", "m=64,t=1", 1),
		"params extra":        strings.Replace(valid, "m=64,t=1,p=1", "m=64,t=1,p=1,k=2", 1),
		"param not a number":  strings.Replace(valid, "m=64", "m=lots", 1),
		"param with plus":     strings.Replace(valid, "m=64", "m=+64", 1),
		"param leading zero":  strings.Replace(valid, "m=64", "m=064", 1),
		"param negative":      strings.Replace(valid, "t=1", "t=-1", 1),
		"param empty":         strings.Replace(valid, "t=1", "t=", 1),
		"memory zero":         strings.Replace(valid, "m=64", "m=0", 1),
		"memory over 32 bits": strings.Replace(valid, "m=64", "m=4294967296", 1),
		"memory over cap":     strings.Replace(valid, "m=64", "m=4194304", 1),
		"time zero":           strings.Replace(valid, "t=1", "t=0", 1),
		"time over cap":       strings.Replace(valid, "t=1", "t=1000000", 1),
		"threads zero":        strings.Replace(valid, "p=1", "p=0", 1),
		"threads over 8 bits": strings.Replace(valid, "p=1", "p=256", 1),
		"salt not base64":     "$argon2id$v=19$m=64,t=1,p=1$!!!!$" + key,
		"salt padded":         "$argon2id$v=19$m=64,t=1,p=1$" + salt + "==$" + key,
		"salt empty":          "$argon2id$v=19$m=64,t=1,p=1$$" + key,
		"salt too short":      "$argon2id$v=19$m=64,t=1,p=1$AAAA$" + key,
		"key url alphabet":    "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + strings.Repeat("_", 43),
		"key empty":           "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$",
		"key too short":       "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$AAAA",
		"key too long":        "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + strings.Repeat("A", 200),
		"only dollars":        "$$$$$",
	}
	for name, encoded := range tests {
		t.Run(name, func(t *testing.T) {
			ok, needsRehash, err := h.Verify(context.Background(), encoded, "x")
			if !errors.Is(err, ErrMalformedHash) || ok || needsRehash {
				t.Fatalf("Verify(%q) = %v, %v, %v; want false, false, ErrMalformedHash", encoded, ok, needsRehash, err)
			}
		})
	}
}

func TestHasher_NeedsRehash(t *testing.T) {
	ctx := context.Background()
	old := NewHasher(TestParams)
	encoded, err := old.Hash(ctx, "password")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		hasher     Params
		encoded    string
		password   string
		wantOK     bool
		wantRehash bool
	}{
		{name: "same params", hasher: TestParams, encoded: encoded, password: "password", wantOK: true},
		{name: "more memory", hasher: Params{Memory: 128, Time: 1, Threads: 1}, encoded: encoded, password: "password", wantOK: true, wantRehash: true},
		{name: "more time", hasher: Params{Memory: 64, Time: 2, Threads: 1}, encoded: encoded, password: "password", wantOK: true, wantRehash: true},
		{name: "more threads", hasher: Params{Memory: 64, Time: 1, Threads: 2}, encoded: encoded, password: "password", wantOK: true, wantRehash: true},
		{name: "wrong password reports no rehash", hasher: Params{Memory: 128, Time: 1, Threads: 1}, encoded: encoded, password: "passw0rd"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ok, needsRehash, err := NewHasher(tc.hasher).Verify(ctx, tc.encoded, tc.password)
			if err != nil || ok != tc.wantOK || needsRehash != tc.wantRehash {
				t.Fatalf("Verify = %v, %v, %v; want %v, %v, nil", ok, needsRehash, err, tc.wantOK, tc.wantRehash)
			}
		})
	}

	t.Run("short salt", func(t *testing.T) {
		// A hash with the right parameters but an 8-byte salt still deserves a rehash.
		salt := []byte("8 bytes!")
		want := encodeHash(TestParams, salt, deriveForTest(t, "password", salt))
		ok, needsRehash, err := NewHasher(TestParams).Verify(ctx, want, "password")
		if err != nil || !ok || !needsRehash {
			t.Fatalf("Verify = %v, %v, %v; want true, true, nil", ok, needsRehash, err)
		}
	})
}

func deriveForTest(t *testing.T, password string, salt []byte) []byte {
	t.Helper()
	key, err := NewHasher(TestParams).derive(context.Background(), []byte(password), salt, TestParams, keyLen)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func TestNewHasher_RefusesUnusableParams(t *testing.T) {
	for _, p := range []Params{{}, {Memory: 64, Time: 0, Threads: 1}, {Memory: 64, Time: 1, Threads: 0}, {Memory: 4, Time: 1, Threads: 1}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewHasher(%+v) did not panic", p)
				}
			}()
			NewHasher(p)
		}()
	}
}

// TestHasher_VerifyDummyTiming checks that an unknown user costs what a wrong
// password costs. The parameters are large enough (8 MiB) for argon2 to dominate
// the measurement and small enough to keep the test around a second.
func TestHasher_VerifyDummyTiming(t *testing.T) {
	h := NewHasher(Params{Memory: 8 * 1024, Time: 1, Threads: 1})
	ctx := context.Background()
	encoded, err := h.Hash(ctx, "the real password")
	if err != nil {
		t.Fatal(err)
	}
	const runs = 20
	var failed, dummy []time.Duration
	for range runs {
		// Interleaved, so a slow patch on the machine hits both sides alike.
		start := time.Now()
		if ok, _, err := h.Verify(ctx, encoded, "a wrong password"); ok || err != nil {
			t.Fatalf("Verify(wrong password) = %v, %v", ok, err)
		}
		failed = append(failed, time.Since(start))
		start = time.Now()
		h.VerifyDummy(ctx, "a wrong password")
		dummy = append(dummy, time.Since(start))
	}
	ratio := float64(median(dummy)) / float64(median(failed))
	t.Logf("median failed Verify %v, VerifyDummy %v, ratio %.2f", median(failed), median(dummy), ratio)
	if ratio < 0.5 || ratio > 2.0 {
		t.Fatalf("VerifyDummy/Verify median ratio = %.2f, want within 0.5–2.0", ratio)
	}
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func TestHasher_ContextWhileQueued(t *testing.T) {
	h := NewHasher(TestParams)
	if cap(h.sem) != runtime.NumCPU() {
		t.Fatalf("semaphore size = %d, want NumCPU = %d", cap(h.sem), runtime.NumCPU())
	}
	encoded, err := h.Hash(context.Background(), "password")
	if err != nil {
		t.Fatal(err)
	}
	// Take every slot, as a login flood would.
	for range cap(h.sem) {
		h.sem <- struct{}{}
	}

	t.Run("cancelled while waiting", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			_, err := h.Hash(ctx, "password")
			done <- err
		}()
		select {
		case err := <-done:
			t.Fatalf("Hash returned %v with every slot taken", err)
		case <-time.After(20 * time.Millisecond):
		}
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("Hash error = %v, want context.Canceled", err)
		}
	})
	t.Run("deadline while waiting", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		defer cancel()
		ok, _, err := h.Verify(ctx, encoded, "password")
		if ok || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Verify = %v, %v; want false, context.DeadlineExceeded", ok, err)
		}
	})
	t.Run("already cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := h.Hash(ctx, "password"); !errors.Is(err, context.Canceled) {
			t.Fatalf("Hash error = %v, want context.Canceled", err)
		}
	})

	// Freeing one slot lets the next caller through.
	<-h.sem
	ok, _, err := h.Verify(context.Background(), encoded, "password")
	if err != nil || !ok {
		t.Fatalf("Verify after a slot freed = %v, %v; want true, nil", ok, err)
	}
	if n := len(h.sem); n != cap(h.sem)-1 {
		t.Fatalf("slots held after Verify = %d, want %d (the slot was not released)", n, cap(h.sem)-1)
	}
}

func BenchmarkHasher_Hash(b *testing.B) {
	h := NewHasher(DefaultParams)
	ctx := context.Background()
	for b.Loop() {
		if _, err := h.Hash(ctx, "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}
