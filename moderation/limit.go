package moderation

import (
	"container/list"
	"fmt"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// defaultMaxKeys bounds a limiter's memory (a few hundred bytes a key) when many clients
// show up at once, such as a flood from many addresses.
const defaultMaxKeys = 100000

// Limiter holds one token bucket per key (such as "post:user:42" or "login:ip:1.2.3.4"),
// forgetting keys idle for an hour or more and, past a cap on keys, the longest idle ones.
// It is safe for concurrent use; a nil *Limiter allows everything.
type Limiter struct {
	now       func() time.Time
	perMinute rate.Limit // in events per second, as rate counts
	burst     int
	perHour   rate.Limit
	hourBurst int
	idle      time.Duration // after this long unused, a key's buckets are full again
	maxKeys   int

	mu    sync.Mutex
	keys  map[string]*list.Element
	order list.List // of *buckets, most recently used first
}

type buckets struct {
	key    string
	minute *rate.Limiter
	hour   *rate.Limiter // nil without an hourly cap
	last   time.Time
}

// NewLimiter returns a limiter allowing perMinute events a minute with the given burst, plus
// an hourly cap of perHour events (0 = none); now is the clock. The hourly cap is a token
// bucket too, holding perHour and refilling at perHour an hour: the steady rate is perHour,
// but a key that starts with full buckets can get up to twice that in its first hour.
// NewLimiter panics when perMinute is not positive, burst is below 1 or perHour is
// negative, as such a limiter would refuse every event or none.
func NewLimiter(perMinute float64, burst int, perHour int, now func() time.Time) *Limiter {
	if perMinute <= 0 || burst < 1 || perHour < 0 {
		panic(fmt.Sprintf("moderation.NewLimiter: bad limits %v/min, burst %d, %d/hour", perMinute, burst, perHour))
	}
	l := &Limiter{
		now:       now,
		perMinute: rate.Limit(perMinute / 60),
		burst:     burst,
		perHour:   rate.Limit(float64(perHour) / 3600),
		hourBurst: perHour,
		maxKeys:   defaultMaxKeys,
		keys:      map[string]*list.Element{},
	}
	// Forgetting a key must not hand out more than waiting would: keep it until both of its
	// buckets have refilled, which the hourly one does in an hour.
	l.idle = time.Hour
	if refill := time.Duration(float64(burst) / perMinute * float64(time.Minute)); refill > l.idle {
		l.idle = refill
	}
	return l
}

// Allow takes one event for key. When refused, it returns how long until the next event
// would be allowed, rounded up to whole seconds and at least 1 s, for Retry-After.
func (l *Limiter) Allow(key string) (ok bool, retryAfter time.Duration) {
	if l == nil {
		return true, 0
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	b := l.get(key, now)
	// Both buckets are checked before either is spent, so an event refused by the hourly
	// cap does not use up the minute's allowance, and the reverse.
	wait := max(waitFor(b.minute, now), waitFor(b.hour, now))
	if wait > 0 {
		return false, wait
	}
	b.minute.AllowN(now, 1)
	if b.hour != nil {
		b.hour.AllowN(now, 1)
	}
	return true, 0
}

// get returns the buckets of key, creating them (and evicting the longest idle key when
// full) if needed, and marks them used at now.
func (l *Limiter) get(key string, now time.Time) *buckets {
	if e, ok := l.keys[key]; ok {
		b := e.Value.(*buckets)
		b.last = now
		l.order.MoveToFront(e)
		return b
	}
	for len(l.keys) >= l.maxKeys {
		l.remove(l.order.Back())
	}
	b := &buckets{key: key, minute: rate.NewLimiter(l.perMinute, l.burst), last: now}
	if l.hourBurst > 0 {
		b.hour = rate.NewLimiter(l.perHour, l.hourBurst)
	}
	l.keys[key] = l.order.PushFront(b)
	return b
}

// sweep forgets keys unused for l.idle. The list is in order of use, so it stops at the
// first key still in use and costs nothing when there is nothing to forget.
func (l *Limiter) sweep(now time.Time) {
	for e := l.order.Back(); e != nil; e = l.order.Back() {
		if now.Sub(e.Value.(*buckets).last) < l.idle {
			return
		}
		l.remove(e)
	}
}

func (l *Limiter) remove(e *list.Element) {
	delete(l.keys, e.Value.(*buckets).key)
	l.order.Remove(e)
}

// waitFor returns 0 when lim has a token at now, else the whole seconds until it has one.
func waitFor(lim *rate.Limiter, now time.Time) time.Duration {
	if lim == nil {
		return 0
	}
	tokens := lim.TokensAt(now)
	if tokens >= 1 {
		return 0
	}
	need := time.Duration((1 - tokens) / float64(lim.Limit()) * float64(time.Second))
	wait := max(need.Truncate(time.Second), time.Second)
	// Round up, and step past float rounding that would leave the bucket a hair short.
	for wait < need || lim.TokensAt(now.Add(wait)) < 1 {
		wait += time.Second
	}
	return wait
}
