package models

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"gorm.io/gorm"
)

// maxBatch bounds how many writes share one transaction, so one commit's
// latency stays small while an fsync still serves many comments.
const maxBatch = 128

type writeJob struct {
	ctx  context.Context
	fn   func(tx *gorm.DB) error
	done chan error
}

// batcher is the single SQLite writer. Requests append to an unbounded
// queue (a request never waits for room in it; the number of requests in
// flight is bounded by the HTTP server instead) and one goroutine commits
// whatever is queued in one transaction.
type batcher struct {
	db *gorm.DB

	mu      sync.Mutex
	queue   []*writeJob
	closed  bool
	wake    chan struct{}
	stopped chan struct{}
}

var errStoreClosed = errors.New("store closed")

func newBatcher(db *gorm.DB) *batcher {
	b := &batcher{db: db, wake: make(chan struct{}, 1), stopped: make(chan struct{})}
	go b.run()
	return b
}

func (b *batcher) do(ctx context.Context, fn func(tx *gorm.DB) error) error {
	j := &writeJob{ctx: ctx, fn: fn, done: make(chan error, 1)}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return errStoreClosed
	}
	b.queue = append(b.queue, j)
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default:
	}
	// Once queued, the write may commit even if the caller goes away, so
	// wait for the outcome rather than ctx: the caller must learn the truth.
	return <-j.done
}

func (b *batcher) stop() {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return
	}
	b.closed = true
	b.mu.Unlock()
	close(b.wake)
	<-b.stopped
}

func (b *batcher) take() []*writeJob {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := min(len(b.queue), maxBatch)
	jobs := make([]*writeJob, n)
	copy(jobs, b.queue)
	rest := copy(b.queue, b.queue[n:])
	clear(b.queue[rest:])
	b.queue = b.queue[:rest]
	return jobs
}

func (b *batcher) run() {
	defer close(b.stopped)
	for range b.wake {
		for {
			jobs := b.take()
			if len(jobs) == 0 {
				break
			}
			b.commit(jobs)
		}
	}
	// Drain what was queued before stop.
	for jobs := b.take(); len(jobs) > 0; jobs = b.take() {
		b.commit(jobs)
	}
}

// commit runs jobs in one transaction, each in a savepoint, and reports each
// job's own error, or the commit's error to every job that had succeeded.
func (b *batcher) commit(jobs []*writeJob) {
	results := make([]error, len(jobs))
	tx := b.db.Begin()
	if tx.Error != nil {
		for _, j := range jobs {
			j.done <- tx.Error
		}
		return
	}
	ran := 0
	for i, j := range jobs {
		if err := j.ctx.Err(); err != nil {
			results[i] = err
			continue
		}
		results[i] = runInSavepoint(tx, j.fn)
		ran++
	}
	var commitErr error
	if ran > 0 {
		commitErr = tx.Commit().Error
	} else {
		commitErr = tx.Rollback().Error
		if commitErr != nil {
			commitErr = nil // nothing was written
		}
	}
	for i, j := range jobs {
		if results[i] == nil && commitErr != nil {
			results[i] = fmt.Errorf("commit: %w", commitErr)
		}
		j.done <- results[i]
	}
}

func runInSavepoint(tx *gorm.DB, fn func(tx *gorm.DB) error) (err error) {
	if err := tx.Exec("SAVEPOINT job").Error; err != nil {
		return err
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("write panicked: %v", p)
		}
		if err != nil {
			if rbErr := tx.Exec("ROLLBACK TO SAVEPOINT job").Error; rbErr != nil {
				err = errors.Join(err, rbErr)
			}
		}
		if relErr := tx.Exec("RELEASE SAVEPOINT job").Error; relErr != nil && err == nil {
			err = relErr
		}
	}()
	return fn(tx.Session(&gorm.Session{NewDB: true}))
}
