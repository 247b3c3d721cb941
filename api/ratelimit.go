package api

import (
	"fmt"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/parley-comments/parley/fault"
	"github.com/parley-comments/parley/moderation"
)

// Starting limits for sign-in and actions, per client. Posting limits come from the rules.
const (
	authPerMinute   = 5 // login and register, per IP
	authBurst       = 5
	actionPerMinute = 10 // edit, delete, vote and flag, per user and kind
	actionBurst     = 10
	// Threads a client may open by commenting first on new pages, per IP:
	// a reader rarely opens more than a few, a script walking made-up URLs
	// would otherwise grow the database at will.
	threadsPerMinute = 2
	threadBurst      = 5
	threadsPerHour   = 20
)

// rateLimits holds the limiters of one server. With Config.RateLimit off
// every limiter is nil, and a nil *moderation.Limiter allows everything.
type rateLimits struct {
	on      bool
	mod     *moderation.Service
	now     func() time.Time
	auth    *moderation.Limiter
	actions *moderation.Limiter
	threads *moderation.Limiter

	mu        sync.Mutex
	post      *moderation.Limiter
	postRates [3]int // the rules' posts_per_minute, post_burst and posts_per_hour post was built from
}

func newRateLimits(cfg Config, mod *moderation.Service) *rateLimits {
	rl := &rateLimits{on: cfg.RateLimit, mod: mod, now: cfg.Now}
	if cfg.RateLimit {
		rl.auth = moderation.NewLimiter(authPerMinute, authBurst, 0, cfg.Now)
		rl.actions = moderation.NewLimiter(actionPerMinute, actionBurst, 0, cfg.Now)
		rl.threads = moderation.NewLimiter(threadsPerMinute, threadBurst, threadsPerHour, cfg.Now)
	}
	return rl
}

// tooMany is the 429 answer, with the wait in whole seconds for Retry-After.
func tooMany(wait time.Duration) error {
	secs := max(int((wait+time.Second-1)/time.Second), 1)
	return &fault.Error{Code: fault.RateLimited, Message: fmt.Sprintf("too many requests; try again in %d s", secs),
		RetryAfter: time.Duration(secs) * time.Second}
}

// byIP limits a route per client IP (login and register).
func (rl *rateLimits) byIP(kind string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if ok, wait := rl.auth.Allow(kind + ":ip:" + c.RealIP()); !ok {
				return tooMany(wait)
			}
			return next(c)
		}
	}
}

// byUser limits a signed-in user's edits, deletes, votes or flags (kind);
// it sits after requireUser.
func (rl *rateLimits) byUser(kind string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if u := currentUser(c); u != nil {
				if ok, wait := rl.actions.Allow(fmt.Sprintf("%s:user:%d", kind, u.ID)); !ok {
					return tooMany(wait)
				}
			}
			return next(c)
		}
	}
}

// openThread counts one thread opened by a first comment against the
// client's allowance.
func (rl *rateLimits) openThread(c echo.Context) error {
	if ok, wait := rl.threads.Allow("ip:" + c.RealIP()); !ok {
		return tooMany(wait)
	}
	return nil
}

// posting limits new comments per IP and per user (guests by IP alone) at the
// rules' rates. Moderators are exempt: they post to explain, not to flood.
func (rl *rateLimits) posting(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		u := currentUser(c)
		if !rl.on || u.IsModerator() {
			return next(c)
		}
		lim, err := rl.postLimiter(c)
		if err != nil {
			return err
		}
		// The IP goes first: a refused request then spends nothing of the user's allowance.
		if ok, wait := lim.Allow("ip:" + c.RealIP()); !ok {
			return tooMany(wait)
		}
		if u != nil {
			if ok, wait := lim.Allow(fmt.Sprintf("user:%d", u.ID)); !ok {
				return tooMany(wait)
			}
		}
		return next(c)
	}
}

// postLimiter returns the posting limiter for the current rules, building a
// new one when an admin changed the rates.
func (rl *rateLimits) postLimiter(c echo.Context) (*moderation.Limiter, error) {
	r, err := rl.mod.Rules(c.Request().Context())
	if err != nil {
		return nil, err
	}
	rates := [3]int{r.PostsPerMinute, r.PostBurst, r.PostsPerHour}
	rl.mu.Lock()
	defer rl.mu.Unlock()
	if rl.post == nil || rates != rl.postRates {
		rl.post, rl.postRates = r.PostLimiter(rl.now), rates
	}
	return rl.post, nil
}
