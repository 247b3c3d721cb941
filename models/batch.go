package models

import (
	"context"
	"fmt"
	"sync"
	"time"

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

	// onQuiet runs on the writer's goroutine once no write came for
	// quietAfter after the last one (nil: never); while it reports false
	// it runs again every quietAfter.
	onQuiet    func() bool
	quietAfter time.Duration
}

// errStoreClosed is ErrBusy: a write that arrives while the process shuts
// down may succeed on a retry, against the next process.
var errStoreClosed = fmt.Errorf("%w: the store is closed", ErrBusy)

func newBatcher(db *gorm.DB, onQuiet func() bool, quietAfter time.Duration) *batcher {
	b := &batcher{db: db, wake: make(chan struct{}, 1), stopped: make(chan struct{}), onQuiet: onQuiet, quietAfter: quietAfter}
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
	quiet := time.NewTimer(time.Hour)
	quiet.Stop()
	defer quiet.Stop()
	for running := true; running; {
		select {
		case _, running = <-b.wake:
			wrote := false
			for jobs := b.take(); len(jobs) > 0; jobs = b.take() {
				b.commit(jobs)
				wrote = true
			}
			if wrote && b.onQuiet != nil {
				quiet.Reset(b.quietAfter)
			}
		case <-quiet.C:
			if !b.onQuiet() {
				quiet.Reset(b.quietAfter)
			}
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
	for len(jobs) > 0 {
		jobs = b.commitSome(jobs)
	}
}

// commitSome is one transaction of commit; it returns the jobs it did not
// run. On SQLITE_FULL, SQLITE_IOERR or SQLITE_NOMEM, SQLite may roll back the
// whole transaction rather than the statement: the jobs that had run are then
// undone and told so, and the rest wait for a fresh transaction, since
// running them on would commit each on its own while its caller heard of a
// failed commit.
func (b *batcher) commitSome(jobs []*writeJob) []*writeJob {
	results := make([]error, len(jobs))
	tx := b.db.Begin()
	if tx.Error != nil {
		for _, j := range jobs {
			j.done <- tx.Error
		}
		return nil
	}
	ran, end := 0, len(jobs)
	var lost error
	for i, j := range jobs {
		if err := j.ctx.Err(); err != nil {
			results[i] = err
			continue
		}
		var txLost bool
		txLost, results[i] = runInSavepoint(tx, j.fn)
		ran++
		if txLost {
			lost, end = results[i], i+1
			break
		}
	}
	var commitErr error
	switch {
	case lost != nil:
		tx.Rollback() // most likely "no transaction is active"; it frees the connection
		commitErr = fmt.Errorf("rolled back with the batch: %w", lost)
	case ran > 0:
		commitErr = tx.Commit().Error
	default:
		tx.Rollback() // nothing was written
	}
	for i, j := range jobs[:end] {
		if results[i] == nil && commitErr != nil {
			results[i] = fmt.Errorf("commit: %w", commitErr)
		}
		j.done <- results[i]
	}
	return jobs[end:]
}

// runInSavepoint runs fn in a savepoint of tx, undoing just fn's writes when
// it fails. txLost reports that tx itself is gone: the savepoint could not be
// rolled back to or released because SQLite rolled back the transaction.
func runInSavepoint(tx *gorm.DB, fn func(tx *gorm.DB) error) (txLost bool, err error) {
	if err := tx.Exec("SAVEPOINT job").Error; err != nil {
		return true, err
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("write panicked: %v", p)
		}
		if err != nil {
			if tx.Exec("ROLLBACK TO SAVEPOINT job").Error != nil {
				txLost = true // err, not "no such savepoint", says why
				return
			}
		}
		if relErr := tx.Exec("RELEASE SAVEPOINT job").Error; relErr != nil {
			txLost = true
			if err == nil {
				err = relErr
			}
		}
	}()
	return false, fn(tx.Session(&gorm.Session{NewDB: true}))
}
