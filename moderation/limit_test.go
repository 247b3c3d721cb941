package moderation

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testClock is a pinned clock that tests move by hand.
type testClock struct{ t time.Time }

func newTestClock() *testClock {
	return &testClock{t: time.Date(2024, 6, 19, 12, 0, 0, 0, time.UTC)}
}

func (c *testClock) now() time.Time          { return c.t }
func (c *testClock) advance(d time.Duration) { c.t = c.t.Add(d) }

// allowN calls Allow n times and fails unless all are allowed.
func allowN(t *testing.T, l *Limiter, key string, n int) {
	t.Helper()
	for i := range n {
		if ok, retry := l.Allow(key); !ok {
			t.Fatalf("event %d of %d on %s refused (retry %v), want allowed", i+1, n, key, retry)
		}
	}
}

// refused fails unless Allow refuses key with exactly the retry wanted.
func refused(t *testing.T, l *Limiter, key string, want time.Duration) {
	t.Helper()
	ok, retry := l.Allow(key)
	if ok || retry != want {
		t.Fatalf("Allow(%s) = %v, %v; want false, %v", key, ok, retry, want)
	}
}

func TestLimiterBurstThenRefill(t *testing.T) {
	c := newTestClock()
	l := NewLimiter(6, 3, 0, c.now) // one per 10 s, burst 3

	allowN(t, l, "k", 3)
	refused(t, l, "k", 10*time.Second)
	c.advance(4 * time.Second)
	refused(t, l, "k", 6*time.Second)
	c.advance(6 * time.Second)
	allowN(t, l, "k", 1)
	refused(t, l, "k", 10*time.Second)
	c.advance(time.Hour) // refills to the burst, no further
	allowN(t, l, "k", 3)
	refused(t, l, "k", 10*time.Second)
}

func TestLimiterRetryAfterRounding(t *testing.T) {
	tests := []struct {
		name      string
		perMinute float64
		want      time.Duration
	}{
		{"fraction rounds up", 7, 9 * time.Second}, // 60/7 = 8.57 s
		{"short wait is at least a second", 600, time.Second},
		{"whole seconds stay", 1, time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestClock()
			l := NewLimiter(tt.perMinute, 1, 0, c.now)
			allowN(t, l, "k", 1)
			refused(t, l, "k", tt.want)
			// Waiting exactly the advertised time must be enough.
			c.advance(tt.want)
			allowN(t, l, "k", 1)
		})
	}
}

func TestLimiterHourlyCap(t *testing.T) {
	c := newTestClock()
	l := NewLimiter(60, 5, 8, c.now) // one a second, burst 5, 8 an hour

	allowN(t, l, "k", 5)
	refused(t, l, "k", time.Second) // the minute bucket
	for range 3 {
		c.advance(time.Second)
		allowN(t, l, "k", 1)
	}
	c.advance(time.Second)
	// Eight spent within four seconds: the hourly bucket refills one every 450 s.
	ok, retry := l.Allow("k")
	if ok || retry < 440*time.Second || retry > 450*time.Second || retry%time.Second != 0 {
		t.Fatalf("Allow = %v, %v; want refused for 440-450 whole seconds", ok, retry)
	}
	c.advance(retry)
	allowN(t, l, "k", 1)
}

func TestLimiterRefusalSpendsNothing(t *testing.T) {
	c := newTestClock()
	l := NewLimiter(1, 1, 2, c.now) // one a minute, two an hour
	allowN(t, l, "k", 1)
	for range 30 { // refused by the minute bucket; the hourly one must keep its token
		c.advance(time.Second)
		if ok, _ := l.Allow("k"); ok {
			t.Fatal("allowed within the minute")
		}
	}
	c.advance(30 * time.Second)
	allowN(t, l, "k", 1)
}

func TestLimiterPostingDefaults(t *testing.T) {
	c := newTestClock()
	l := DefaultRules().PostLimiter(c.now)
	// A client posting every 10 s for two hours.
	allowed := map[int]int{} // by hour
	for i := range 720 {
		if ok, _ := l.Allow("post:user:1"); ok {
			allowed[i/360]++
		}
		c.advance(10 * time.Second)
	}
	// A full bucket of 30 plus an hour's refill in the first hour, then 30 an hour.
	if allowed[0] < 30 || allowed[0] > 60 || allowed[1] < 29 || allowed[1] > 31 {
		t.Errorf("allowed per hour = %v, want 30-60 then about 30", allowed)
	}
}

func TestLimiterKeysAreIndependent(t *testing.T) {
	c := newTestClock()
	l := NewLimiter(6, 2, 0, c.now)
	allowN(t, l, "post:user:1", 2)
	refused(t, l, "post:user:1", 10*time.Second)
	allowN(t, l, "post:user:2", 2)
	allowN(t, l, "post:ip:1.2.3.4", 2)
	if got := tracked(l); got != 3 {
		t.Errorf("Len = %d, want 3", got)
	}
}

func TestLimiterForgetsIdleKeys(t *testing.T) {
	c := newTestClock()
	l := NewLimiter(6, 3, 30, c.now)
	allowN(t, l, "old", 3)
	c.advance(30 * time.Minute)
	allowN(t, l, "recent", 1)
	c.advance(30 * time.Minute) // "old" idle an hour, "recent" half an hour
	allowN(t, l, "new", 1)
	if got := tracked(l); got != 2 {
		t.Errorf("Len = %d, want 2 (old forgotten)", got)
	}
	c.advance(2 * time.Hour)
	allowN(t, l, "newest", 1)
	if got := tracked(l); got != 1 {
		t.Errorf("Len = %d, want 1", got)
	}
}

func TestLimiterKeepsSlowRefillingKeys(t *testing.T) {
	// One a minute with a burst of 120 takes two hours to refill; forgetting the key after
	// one idle hour would hand out tokens that waiting would not.
	c := newTestClock()
	l := NewLimiter(1, 120, 0, c.now)
	allowN(t, l, "k", 120)
	c.advance(90 * time.Minute)
	allowN(t, l, "other", 1)
	allowN(t, l, "k", 90)
	refused(t, l, "k", time.Minute)
}

func TestLimiterCapEvictsLeastRecentlyUsed(t *testing.T) {
	c := newTestClock()
	l := NewLimiter(6, 1, 0, c.now)
	l.maxKeys = 2
	allowN(t, l, "a", 1)
	allowN(t, l, "b", 1)
	refused(t, l, "a", 10*time.Second) // a is now the most recently used
	allowN(t, l, "c", 1)               // evicts b
	if got := tracked(l); got != 2 {
		t.Fatalf("Len = %d, want 2", got)
	}
	refused(t, l, "a", 10*time.Second) // a kept its state
	refused(t, l, "c", 10*time.Second)
	allowN(t, l, "b", 1) // b starts afresh
}

func TestNilLimiterAllowsEverything(t *testing.T) {
	var l *Limiter
	for range 100 {
		if ok, _ := l.Allow("k"); !ok {
			t.Fatal("nil Limiter refused")
		}
	}
}

func TestNewLimiterRejectsBadLimits(t *testing.T) {
	tests := []struct {
		perMinute float64
		burst     int
		perHour   int
	}{
		{0, 1, 0},
		{-1, 1, 0},
		{1, 0, 0},
		{1, 1, -1},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt), func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("NewLimiter(%v, %d, %d) did not panic", tt.perMinute, tt.burst, tt.perHour)
				}
			}()
			NewLimiter(tt.perMinute, tt.burst, tt.perHour, time.Now)
		})
	}
}

func TestLimiterConcurrentUse(t *testing.T) {
	c := newTestClock() // pinned: no refill while the goroutines run
	l := NewLimiter(60, 5, 0, c.now)
	var shared atomic.Int64
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				if ok, _ := l.Allow("shared"); ok {
					shared.Add(1)
				}
				l.Allow(fmt.Sprintf("own:%d:%d", g, i%10))
			}
		})
	}
	wg.Wait()
	if got := shared.Load(); got != 5 {
		t.Errorf("shared key allowed %d times, want the burst of 5", got)
	}
	if got := tracked(l); got != 81 {
		t.Errorf("Len = %d, want 81", got)
	}
}

func BenchmarkLimiterAllow(b *testing.B) {
	l := NewLimiter(6, 3, 30, time.Now)
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = fmt.Sprintf("post:ip:10.0.%d.%d", i/256, i%256)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		l.Allow(keys[i%len(keys)])
		i++
	}
}

// tracked returns how many keys the limiter holds.
func tracked(l *Limiter) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.keys)
}
