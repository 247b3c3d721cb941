package auth

import (
	"sync"

	"github.com/parley-comments/parley/models"
)

// maxCachedUsers bounds the cache; past it the cache starts over. A few
// hundred bytes a user: 10,000 readers signed in at once is a few MB.
const maxCachedUsers = 10_000

// userCache keeps the user rows that access tokens are checked against, so
// that a signed-in request costs no query. It is only used where the store
// can say when users last changed (Store.UserWrites, SQLite): every row is
// kept under the count it was read at and dropped as soon as the count moves,
// so a ban, a role change or a logout is seen by the very next request. The
// zero value is ready to use.
type userCache struct {
	mu    sync.RWMutex
	count uint64
	rows  map[uint]models.User
}

// get returns a copy of user id's row if it was read under count.
func (c *userCache) get(id uint, count uint64) (*models.User, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.count != count {
		return nil, false
	}
	u, ok := c.rows[id]
	if !ok {
		return nil, false
	}
	return &u, true
}

// put keeps u, read after UserWrites returned count.
func (c *userCache) put(u *models.User, count uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case count < c.count:
		return // read before a change the cache has already seen
	case c.rows == nil:
		c.rows = map[uint]models.User{}
		c.count = count
	case count > c.count || len(c.rows) >= maxCachedUsers:
		clear(c.rows)
		c.count = count
	}
	c.rows[u.ID] = *u
}
