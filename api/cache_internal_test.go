package api

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func pageOf(version int64, size int) *page {
	return newPage(version, make([]byte, size), nil)
}

func TestPageCacheVersion(t *testing.T) {
	pc := newPageCache(1 << 20)
	key := pageKey{article: 1, sort: "oldest", limit: 50}
	builds := 0
	build := func(v int64) func(context.Context) (*page, error) {
		return func(context.Context) (*page, error) { builds++; return pageOf(v, 10), nil }
	}
	for _, step := range []struct {
		name    string
		version int64
		hit     bool
	}{
		{"first read builds", 1, false},
		{"same version is a hit", 1, true},
		{"a new version builds again", 2, false},
		{"and is then a hit", 2, true},
		{"an older version never gets the newer page", 1, false},
	} {
		p, hit, err := pc.get(t.Context(), key, step.version, build(step.version))
		if err != nil {
			t.Fatal(err)
		}
		if hit != step.hit || p.version != step.version {
			t.Fatalf("%s: hit = %v, version = %d; want %v, %d", step.name, hit, p.version, step.hit, step.version)
		}
	}
	if builds != 3 {
		t.Fatalf("builds = %d, want 3", builds)
	}
	// The older build finishing last did not replace the newer page.
	if _, hit, _ := pc.get(t.Context(), key, 2, build(2)); !hit {
		t.Fatal("version 2 was replaced by an older build")
	}
}

func TestPageCacheBound(t *testing.T) {
	const max = 100 << 10
	pc := newPageCache(max)
	get := func(article uint, size int) bool {
		_, hit, err := pc.get(t.Context(), pageKey{article: article}, 1, func(context.Context) (*page, error) { return pageOf(1, size), nil })
		if err != nil {
			t.Fatal(err)
		}
		return hit
	}
	for a := range uint(40) {
		get(a, 10<<10)
		if b, _ := pc.size(); b > max {
			t.Fatalf("after %d pages the cache holds %d bytes, over its cap of %d", a+1, b, max)
		}
	}
	if _, n := pc.size(); n < 5 || n > 10 {
		t.Fatalf("holds %d pages of 10 KiB under a 100 KiB cap", n)
	}
	if !get(39, 10<<10) || get(0, 10<<10) {
		t.Fatal("want the most recent page kept and the oldest evicted")
	}
	if pc.evictions.Load() == 0 {
		t.Fatal("no evictions counted")
	}
	// A page over an eighth of the cap is served but not kept.
	get(1000, max/4)
	if get(1000, max/4) {
		t.Fatal("an oversized page was cached")
	}
}

// TestPageCacheSharesBuilds: many concurrent misses of one page run one build.
func TestPageCacheSharesBuilds(t *testing.T) {
	pc := newPageCache(1 << 20)
	var builds atomic.Int32
	release := make(chan struct{})
	build := func(context.Context) (*page, error) {
		builds.Add(1)
		<-release
		return pageOf(1, 10), nil
	}
	const readers = 20
	var wg sync.WaitGroup
	var started sync.WaitGroup
	started.Add(readers)
	for range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			started.Done()
			if _, _, err := pc.get(t.Context(), pageKey{article: 1}, 1, build); err != nil {
				t.Error(err)
			}
		}()
	}
	started.Wait()
	// Let the stragglers reach the flight before it lands.
	for deadline := time.Now().Add(2 * time.Second); pc.misses.Load()+pc.hits.Load() < readers && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	if n := builds.Load(); n != 1 {
		t.Fatalf("%d builds for %d concurrent readers, want 1", n, readers)
	}
}

// TestPageCacheCanceledReader: a reader that goes away does not cancel the
// build others wait on, and a failed build is not cached.
func TestPageCacheCanceledReader(t *testing.T) {
	pc := newPageCache(1 << 20)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	var sawCanceled bool
	_, _, err := pc.get(ctx, pageKey{article: 1}, 1, func(bctx context.Context) (*page, error) {
		sawCanceled = bctx.Err() != nil
		return pageOf(1, 10), nil
	})
	if err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	// The build may still be running; wait for it to land.
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if _, n := pc.size(); n == 1 {
			break
		}
	}
	if sawCanceled {
		t.Fatal("the build saw the first reader's cancellation")
	}
	boom := errors.New("boom")
	if _, _, err := pc.get(t.Context(), pageKey{article: 2}, 1, func(context.Context) (*page, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	if _, hit, _ := pc.get(t.Context(), pageKey{article: 2}, 1, func(context.Context) (*page, error) { return pageOf(1, 1), nil }); hit {
		t.Fatal("a failed build was cached")
	}
}

func TestETagMatches(t *testing.T) {
	const etag = `"abc"`
	for header, want := range map[string]bool{
		"":                  false,
		`"abc"`:             true,
		`W/"abc"`:           true,
		`"x", "abc"`:        true,
		`"x",W/"abc"`:       true,
		`"abcd"`:            false,
		`abc`:               false,
		"*":                 true,
		`"x", "y"`:          false,
		`  "abc"  , "zzz" `: true,
	} {
		if got := etagMatches(header, etag); got != want {
			t.Errorf("etagMatches(%q) = %v, want %v", header, got, want)
		}
	}
}
