package models

import (
	"context"
	"database/sql"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"gorm.io/gorm"
)

// maxWriterStmts bounds the writer's prepared statements. Writes come in a
// few dozen shapes; a statement that embeds a list (an IN of ids) makes a
// new shape per length, and past the bound those are simply not kept.
const maxWriterStmts = 256

// writerPool is the SQLite writer's connection pool as GORM sees it, keeping
// each write statement prepared across transactions.
//
// Every write runs in a transaction (see WriteTx). GORM's own statement cache
// (PrepareStmt) prepares a statement first met inside a transaction on that
// transaction, which closes it at commit, so it compiled the same INSERT
// again for every comment: about a third of the writer's time. Here a
// statement first met in a transaction runs unprepared once and is prepared
// on the pool when the transaction ends, when the pool's one connection is
// free (preparing on the pool from inside the transaction would wait for that
// connection forever); later transactions reuse it through Tx.StmtContext,
// which finds it already prepared on that connection.
type writerPool struct {
	*sql.DB

	// writes counts what has been committed: bumped once a transaction or
	// a statement outside one has returned, so when a reader sees the new
	// count, the data it counts is there to read (see Store.Writes).
	writes atomic.Uint64

	// userWrites moves when a statement that may change the users table
	// runs, and again when its transaction ends (see Store.UserWrites).
	userWrites atomic.Uint64

	mu      sync.Mutex
	stmts   map[string]*sql.Stmt
	pending map[string]bool // met in a transaction, to prepare after it; false once preparing failed
}

func newWriterPool(db *sql.DB) *writerPool {
	return &writerPool{DB: db, stmts: map[string]*sql.Stmt{}, pending: map[string]bool{}}
}

// ExecContext runs a statement outside a transaction and counts it.
func (p *writerPool) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	defer p.writes.Add(1)
	if mayWriteUsers(query) {
		p.userWrites.Add(1)
		defer p.userWrites.Add(1)
	}
	return p.DB.ExecContext(ctx, query, args...)
}

// QueryContext runs a query outside a transaction; an INSERT … RETURNING
// into users counts as a change of users.
func (p *writerPool) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if mayWriteUsers(query) {
		p.userWrites.Add(1)
		defer p.userWrites.Add(1)
	}
	return p.DB.QueryContext(ctx, query, args...)
}

// mayWriteUsers reports whether query may change the users table: any
// statement but a plain SELECT that names it. A false positive only costs
// the users' cache a refill.
func mayWriteUsers(query string) bool {
	q := strings.TrimSpace(query)
	if len(q) >= 6 && strings.EqualFold(q[:6], "select") {
		return false
	}
	return containsFold(q, "users")
}

// containsFold is strings.Contains ignoring ASCII case for a lower-case
// ASCII sub, without allocating: it runs for every statement the writer
// executes.
func containsFold(s, sub string) bool {
	first := sub[0] | 0x20
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i]|0x20 == first && strings.EqualFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}

// GetDBConn lets gorm.DB.DB find the pool.
func (p *writerPool) GetDBConn() (*sql.DB, error) { return p.DB, nil }

// BeginTx starts a transaction that uses the pool's prepared statements.
func (p *writerPool) BeginTx(ctx context.Context, opts *sql.TxOptions) (gorm.ConnPool, error) {
	tx, err := p.DB.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &writerTx{Tx: tx, pool: p}, nil
}

// stmt returns query's statement prepared on the pool, or nil after noting
// that query should be prepared once the transaction ends.
func (p *writerPool) stmt(query string) *sql.Stmt {
	p.mu.Lock()
	defer p.mu.Unlock()
	s, ok := p.stmts[query]
	if !ok {
		if _, seen := p.pending[query]; !seen && len(p.stmts)+len(p.pending) < maxWriterStmts {
			p.pending[query] = true
		}
	}
	return s
}

// prepareNoted prepares the statements met in the transaction that just
// ended, on the connection it freed.
func (p *writerPool) prepareNoted() {
	p.mu.Lock()
	var todo []string
	for q, ok := range p.pending {
		if ok {
			todo = append(todo, q)
		}
	}
	p.mu.Unlock()
	for _, q := range todo {
		s, err := p.DB.PrepareContext(context.Background(), q)
		p.mu.Lock()
		if err != nil {
			p.pending[q] = false // it stays unprepared, as before
		} else {
			delete(p.pending, q)
			p.stmts[q] = s
		}
		p.mu.Unlock()
	}
}

// writerTx is a transaction of the writer's pool.
type writerTx struct {
	*sql.Tx
	pool *writerPool
	// users says a statement of this transaction may have changed users.
	users bool
}

// noteUsers counts a change of users at once, and again when the
// transaction ends (see Store.UserWrites).
func (t *writerTx) noteUsers(query string) {
	if mayWriteUsers(query) {
		t.users = true
		t.pool.userWrites.Add(1)
	}
}

// ended counts the end of a transaction that may have changed users.
func (t *writerTx) ended() {
	if t.users {
		t.pool.userWrites.Add(1)
	}
	t.pool.prepareNoted()
}

// GetDBConn lets gorm.DB.DB find the pool from inside a transaction.
func (t *writerTx) GetDBConn() (*sql.DB, error) { return t.pool.DB, nil }

// ExecContext runs query with the pool's prepared statement when there is one.
func (t *writerTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	t.noteUsers(query)
	if s := t.pool.stmt(query); s != nil {
		return t.Tx.StmtContext(ctx, s).ExecContext(ctx, args...)
	}
	return t.Tx.ExecContext(ctx, query, args...)
}

// QueryContext runs query with the pool's prepared statement when there is one.
func (t *writerTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	t.noteUsers(query)
	if s := t.pool.stmt(query); s != nil {
		return t.Tx.StmtContext(ctx, s).QueryContext(ctx, args...)
	}
	return t.Tx.QueryContext(ctx, query, args...)
}

// QueryRowContext runs query with the pool's prepared statement when there is one.
func (t *writerTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	t.noteUsers(query)
	if s := t.pool.stmt(query); s != nil {
		return t.Tx.StmtContext(ctx, s).QueryRowContext(ctx, args...)
	}
	return t.Tx.QueryRowContext(ctx, query, args...)
}

// Commit commits and counts the write, then prepares what the transaction
// met for the first time.
func (t *writerTx) Commit() error {
	err := t.Tx.Commit()
	t.pool.writes.Add(1)
	t.ended()
	return err
}

// Writes returns how many writes this process has committed to SQLite, and
// false on PostgreSQL, where other instances write too. A reader that reads
// n, then the database, may keep what it read for as long as Writes still
// returns n: nothing has changed since. It counts the transactions and the
// statements run with Exec on Write, which is how Parley writes (WriteTx); a
// write made by a query outside a transaction (a scanned Raw INSERT …
// RETURNING) goes uncounted, so writes must not be made that way.
func (s *Store) Writes() (uint64, bool) {
	p, ok := s.Write.Config.ConnPool.(*writerPool)
	if !ok {
		return 0, false
	}
	return p.writes.Load(), true
}

// UserWrites is Writes for the users table alone, and false on PostgreSQL.
// A reader that reads n, then a user's row, may keep the row for as long as
// UserWrites still returns n. The count moves when a statement that may
// change users runs and again when its transaction ends: a row read before
// the commit was read under an older count, so it is never kept past it.
func (s *Store) UserWrites() (uint64, bool) {
	p, ok := s.Write.Config.ConnPool.(*writerPool)
	if !ok {
		return 0, false
	}
	return p.userWrites.Load(), true
}

// Rollback rolls back, then prepares what the transaction met for the first time.
func (t *writerTx) Rollback() error {
	err := t.Tx.Rollback()
	t.ended()
	return err
}

// uncancelable makes db's reads ignore their context's cancellation.
//
// go-sqlite3 fetches each row of a query whose context can be canceled on a
// goroutine of its own, so that it can interrupt SQLite midway: a 200-comment
// page meant 200 goroutines and as many hand-offs between threads, which cost
// more than reading the rows (two thirds of LoadThread's time). Parley's
// reads are short and bounded by a page, so they run to the end instead; a
// request whose client went away finishes its queries and is discarded.
func uncancelable(db *gorm.DB) error {
	strip := func(tx *gorm.DB) {
		if tx.Statement.Context != nil {
			tx.Statement.Context = context.WithoutCancel(tx.Statement.Context)
		}
	}
	if err := db.Callback().Query().Before("gorm:query").Register("parley:uncancelable", strip); err != nil {
		return err
	}
	return db.Callback().Row().Before("gorm:row").Register("parley:uncancelable", strip)
}

// journalSizeLimit is what SQLite truncates the WAL file back to after a
// checkpoint resets it. Without it the file keeps its largest size for
// ever: 892 MB after one long-lived reader held checkpoints back.
const journalSizeLimit = 64 << 20

// checkpointBusyMS is how long a checkpoint waits for readers to move to the
// newest snapshot before it gives up until the next quiet moment: a short
// wait, since writes queue behind it.
const checkpointBusyMS = 100

// defaultQuietAfter is how long the writer waits after its last write
// before it checkpoints the WAL back into the database and truncates it.
const defaultQuietAfter = 2 * time.Second

// walKeeper checkpoints the WAL back into the database and truncates it
// to zero bytes once writes went quiet (the batcher calls checkpoint, and
// again while it reports false). SQLite's own checkpoints run as the WAL
// grows but never shrink the file. A reader still on an older snapshot
// makes a checkpoint give up rather than hold writes back.
type walKeeper struct {
	conn    *sql.DB // a connection of its own, with a short busy wait
	done    atomic.Int64
	blocked atomic.Int64
}

func (w *walKeeper) checkpoint() bool {
	var busy, logFrames, moved int
	err := w.conn.QueryRow("PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logFrames, &moved)
	if err != nil || busy != 0 {
		w.blocked.Add(1)
		return false
	}
	w.done.Add(1)
	return true
}

// WALBytes is the size of the SQLite write-ahead log file (0 on PostgreSQL
// or when there is none).
func (s *Store) WALBytes() int64 {
	if s.Path == "" {
		return 0
	}
	fi, err := os.Stat(s.Path + "-wal")
	if err != nil {
		return 0
	}
	return fi.Size()
}

// Checkpoints returns how many quiet-time checkpoints truncated the WAL
// and how many a reader on an older snapshot held back.
func (s *Store) Checkpoints() (truncated, blocked int64) {
	if s.wal == nil {
		return 0, 0
	}
	return s.wal.done.Load(), s.wal.blocked.Load()
}
