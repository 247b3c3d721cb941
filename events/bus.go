package events

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/gorm"

	"github.com/parley-comments/parley/models"
)

// Bus hands committed events to this process's subscribers. On SQLite this
// process makes every write, so it tails the events table whenever one of
// its transactions commits. On PostgreSQL it listens on the schema's
// channel and takes each event from its notification, which the server
// delivers in commit order; after a lost connection it catches up from the
// table.
type Bus struct {
	store *models.Store
	log   *slog.Logger

	// gen moves on every event received and every local commit (see
	// Generation); live says the bus currently hears every change.
	gen  atomic.Uint64
	live atomic.Bool

	mu   sync.Mutex
	subs map[*Subscription]struct{}
	last uint64 // the highest id handed out

	wake    chan struct{}
	stopped atomic.Bool
}

// Subscription receives events on C. A subscriber that falls more than the
// buffer behind is dropped: C is closed, and it must resynchronize (a live
// stream reconnects with Last-Event-ID).
type Subscription struct {
	C   <-chan models.Event
	c   chan models.Event
	bus *Bus
}

// NewBus returns a bus on store, hooked to its commits; Run starts it.
func NewBus(store *models.Store, log *slog.Logger) *Bus {
	if log == nil {
		log = slog.Default()
	}
	b := &Bus{store: store, log: log, subs: map[*Subscription]struct{}{}, wake: make(chan struct{}, 1)}
	store.AfterCommit(b.committed)
	return b
}

func (b *Bus) committed() {
	// A local write changes what this instance must not serve from memory
	// at once, before the request that made it is answered.
	b.gen.Add(1)
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// Generation returns a number that moves whenever an article's thread may
// have changed, and whether the bus hears every change right now. While it
// does, what was read from the database under generation n may be served
// until Generation moves on.
func (b *Bus) Generation() (uint64, bool) {
	return b.gen.Load(), b.live.Load()
}

// Subscribe returns a subscription buffering up to size events.
func (b *Bus) Subscribe(size int) *Subscription {
	c := make(chan models.Event, size)
	s := &Subscription{C: c, c: c, bus: b}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stopped.Load() {
		close(c)
		return s
	}
	b.subs[s] = struct{}{}
	return s
}

// Close ends the subscription.
func (s *Subscription) Close() {
	s.bus.mu.Lock()
	defer s.bus.mu.Unlock()
	if _, ok := s.bus.subs[s]; ok {
		delete(s.bus.subs, s)
		close(s.c)
	}
}

func (b *Bus) publish(e models.Event) {
	b.gen.Add(1)
	b.mu.Lock()
	defer b.mu.Unlock()
	if e.ID > b.last {
		b.last = e.ID
	}
	for s := range b.subs {
		select {
		case s.c <- e:
		default: // too slow: dropped rather than buffered without bound
			delete(b.subs, s)
			close(s.c)
		}
	}
}

// Stopped reports whether Run has returned; subscriptions then end.
func (b *Bus) Stopped() bool { return b.stopped.Load() }

// stop ends every subscription once Run returns.
func (b *Bus) stop() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.stopped.Store(true)
	b.live.Store(false)
	for s := range b.subs {
		delete(b.subs, s)
		close(s.c)
	}
}

// Run delivers events until ctx ends, then closes every subscription.
func (b *Bus) Run(ctx context.Context) error {
	defer b.stop()
	last, err := Latest(ctx, b.store)
	if err != nil {
		return err
	}
	b.mu.Lock()
	b.last = last
	b.mu.Unlock()
	if b.store.Dialect == "postgres" {
		return b.listen(ctx)
	}
	b.live.Store(true)
	for {
		if err := b.tail(ctx); err != nil && ctx.Err() == nil {
			b.log.Error("change bus: read events", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-b.wake:
		case <-time.After(time.Second): // writes made outside WriteTx, if any
		}
	}
}

// tail publishes the events after the last one handed out.
func (b *Bus) tail(ctx context.Context) error {
	for {
		b.mu.Lock()
		last := b.last
		b.mu.Unlock()
		var batch []models.Event
		if err := b.store.Read.WithContext(ctx).Where("id > ?", last).Order("id").Limit(500).Find(&batch).Error; err != nil {
			return models.MapError(err)
		}
		for _, e := range batch {
			b.publish(e)
		}
		if len(batch) < 500 {
			return nil
		}
	}
}

// listen keeps a connection listening on the schema's channel, reconnecting
// after a loss. While it is down the bus is not live: the page cache then
// asks the database on every read.
func (b *Bus) listen(ctx context.Context) error {
	for delay := 100 * time.Millisecond; ; delay = min(2*delay, 5*time.Second) {
		err := b.listenOnce(ctx)
		b.live.Store(false)
		b.gen.Add(1)
		if ctx.Err() != nil {
			return nil
		}
		b.log.Warn("change bus: listener lost, reconnecting", "err", err, "in", delay)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(delay):
		}
	}
}

func (b *Bus) listenOnce(ctx context.Context) error {
	sqlDB, err := b.store.Write.DB()
	if err != nil {
		return err
	}
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		pc := dc.(*stdlib.Conn).Conn()
		var channel string
		if err := pc.QueryRow(ctx, "SELECT "+channelExpr).Scan(&channel); err != nil {
			return err
		}
		if _, err := pc.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
			return err
		}
		// Unlisten before the connection goes back to the pool.
		defer pc.Exec(context.WithoutCancel(ctx), "UNLISTEN *")
		// What committed while nobody listened comes from the table.
		if err := b.tail(ctx); err != nil {
			return err
		}
		b.live.Store(true)
		b.gen.Add(1)
		for {
			n, err := pc.WaitForNotification(ctx)
			if err != nil {
				return err
			}
			var batch []wire
			if err := json.Unmarshal([]byte(n.Payload), &batch); err != nil {
				b.log.Error("change bus: bad notification", "err", err)
				continue
			}
			for _, w := range batch {
				b.publish(w.event())
			}
		}
	})
}

// Replay returns the article's public events after id, oldest first, at most
// limit; gone reports that events after id were pruned already, so a replay
// cannot be complete.
func Replay(ctx context.Context, store *models.Store, articleID uint, after uint64, limit int) (evs []models.Event, gone bool, err error) {
	db := store.Read.WithContext(ctx)
	if err := db.Where("article_id = ? AND id > ? AND public AND comment_id <> 0", articleID, after).Order("id").Limit(limit).Find(&evs).Error; err != nil {
		return nil, false, models.MapError(err)
	}
	var oldest sql.NullInt64
	if err := db.Raw("SELECT MIN(id) FROM events").Row().Scan(&oldest); err != nil {
		return nil, false, models.MapError(err)
	}
	return evs, !oldest.Valid && after > 0 || uint64(oldest.Int64) > after+1, nil
}

// Latest returns the id of the newest event, 0 when there is none.
func Latest(ctx context.Context, store *models.Store) (uint64, error) {
	var last sql.NullInt64
	if err := store.Read.WithContext(ctx).Raw("SELECT MAX(id) FROM events").Row().Scan(&last); err != nil {
		return 0, fmt.Errorf("latest event: %w", models.MapError(err))
	}
	return uint64(last.Int64), nil
}

// Prune deletes the events older than before that have been fanned out. It
// keeps the newest, whose id is where a new live stream starts from.
func Prune(ctx context.Context, store *models.Store, before time.Time) (int64, error) {
	var n int64
	err := store.WriteTx(ctx, func(tx *gorm.DB) error {
		res := tx.Where("at < ? AND NOT fan_out AND id < (SELECT MAX(id) FROM events)", before).Delete(&models.Event{})
		n = res.RowsAffected
		return res.Error
	})
	return n, err
}
