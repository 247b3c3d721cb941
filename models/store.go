package models

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/parley-comments/parley/fault"

	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Store is Parley's database: one place to write, one pool to read.
//
// On SQLite, Write is a single connection and every write goes through a
// group-commit queue (see WriteTx), so concurrent posters never meet
// "database is locked" and many comments share one fsync. On PostgreSQL,
// Write and Read are the same pool.
type Store struct {
	Write   *gorm.DB
	Read    *gorm.DB
	Dialect string // "sqlite" or "postgres"
	Path    string // the SQLite file, empty on PostgreSQL

	batch *batcher

	wal *walKeeper // SQLite: quiet-time checkpoints; nil on PostgreSQL

	// committed is called after each WriteTx that committed (see AfterCommit).
	committed func()
}

// AfterCommit makes fn run after every WriteTx that committed, before
// WriteTx returns: the change bus learns of this process's own writes at
// once. Set it once, before serving.
func (s *Store) AfterCommit(fn func()) { s.committed = fn }

func (s *Store) afterCommit(err error) error {
	if err == nil {
		if s.committed != nil {
			s.committed()
		}
	}
	return err
}

// Options say which database to open.
type Options struct {
	// Path is the SQLite file; used when URL is empty.
	Path string
	// URL is a postgres:// connection string.
	URL string
	// Logger receives GORM's SQL log; nil keeps it silent.
	Logger logger.Interface
	// BusyTimeout is how long a SQLite statement waits for another
	// connection's lock before failing with ErrBusy (default 5 s).
	BusyTimeout time.Duration
	// CheckpointAfter is how long SQLite writes must pause before the WAL
	// is checkpointed and truncated (default 2 s).
	CheckpointAfter time.Duration
}

// defaultBusyTimeout outlasts any one batch commit by far, so a request only
// meets ErrBusy when something outside Parley holds the database.
const defaultBusyTimeout = 5 * time.Second

// sqliteWriterParams are the pragmas of the writing connection. They go in the
// DSN so that every connection the pool opens has them; FULL sync makes a
// 201 survive a power cut, and immediate transactions take the write lock up
// front instead of failing on upgrade. Both pools also get _busy_timeout
// from Options.
const sqliteWriterParams = "_journal_mode=WAL&_synchronous=FULL&_foreign_keys=1&_txlock=immediate"

// Open opens the database, tunes it and checks the settings took effect.
func Open(o Options) (*Store, error) {
	cfg := &gorm.Config{TranslateError: true, Logger: o.Logger, PrepareStmt: true}
	if cfg.Logger == nil {
		cfg.Logger = logger.Discard
	}
	if o.URL != "" {
		return openPostgres(o.URL, cfg)
	}
	busy := o.BusyTimeout
	if busy <= 0 {
		busy = defaultBusyTimeout
	}
	quiet := o.CheckpointAfter
	if quiet <= 0 {
		quiet = defaultQuietAfter
	}
	return openSQLite(o.Path, busy.Milliseconds(), quiet, cfg)
}

// pgSessionParams are set on every PostgreSQL connection unless the
// connection string sets them. Incremental sort off: for a thread's top page
// the planner preferred walking idx_comments_parent (every top-level comment
// of every article) into an incremental sort, which it costs as if the rows
// came in many small groups, over reading idx_comments_score in order (30 to
// 130 ms against 1.5 ms on a 20,000-comment thread). Parley's queries are
// written to read their indexes in order; none needs one.
//
// statement_timeout bounds every statement of a request: under overload a
// read that would take seconds is cut and answered 503 with Retry-After
// instead of holding a connection the queue behind it waits for (p99 of
// reads reached 977 ms under load without it). Migrations lift it for
// their own transactions. idle_in_transaction_session_timeout ends a
// session that left a transaction open (a crashed client, a bug), which
// would otherwise hold its locks and its row versions from vacuum. Either
// can be changed in PARLEY_DATABASE_URL (?statement_timeout=30s), which
// wins over these.
var pgSessionParams = map[string]string{
	"enable_incremental_sort":             "off",
	"statement_timeout":                   "5s",
	"idle_in_transaction_session_timeout": "10s",
}

// PostgresPoolSize is the most connections one Parley instance opens: 16
// per core. With 4 per core, 32 concurrent clients stalled the whole
// instance for seconds now and then (a request holding one connection while
// it waits for another, not yet found); 16 per core keeps the soak clean.
// With N instances, N × PostgresPoolSize plus room for migrations, backups
// and psql must stay under the server's max_connections (raise it from
// the default 100 for more than two 2-core instances).
func PostgresPoolSize() int { return 16 * runtime.NumCPU() }

func openPostgres(dsn string, cfg *gorm.Config) (*Store, error) {
	pc, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	for k, v := range pgSessionParams {
		if _, set := pc.RuntimeParams[k]; !set {
			pc.RuntimeParams[k] = v
		}
	}
	db, err := gorm.Open(postgres.New(postgres.Config{Conn: stdlib.OpenDB(*pc)}), cfg)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	sqlDB.SetMaxOpenConns(PostgresPoolSize())
	sqlDB.SetMaxIdleConns(PostgresPoolSize())
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	if err := sqlDB.Ping(); err != nil {
		return nil, fmt.Errorf("reach postgres: %w", err)
	}
	return &Store{Write: db, Read: db, Dialect: "postgres"}, nil
}

// checkPragmas reads the settings back: a driver that ignored a DSN key would
// otherwise run silently with weaker durability.
func (s *Store) checkPragmas(busyMS string) error {
	want := []struct {
		db     *gorm.DB
		pragma string
		value  string
	}{
		{s.Write, "journal_mode", "wal"},
		{s.Write, "synchronous", "2"}, // FULL
		{s.Write, "busy_timeout", busyMS},
		{s.Write, "foreign_keys", "1"},
		{s.Write, "journal_size_limit", strconv.Itoa(journalSizeLimit)},
		{s.Read, "busy_timeout", busyMS},
		{s.Read, "foreign_keys", "1"},
		{s.Read, "query_only", "1"},
	}
	for _, w := range want {
		var got string
		if err := w.db.Raw("PRAGMA " + w.pragma).Scan(&got).Error; err != nil {
			return fmt.Errorf("read pragma %s: %w", w.pragma, err)
		}
		if !strings.EqualFold(got, w.value) {
			return fmt.Errorf("sqlite pragma %s = %q, want %q", w.pragma, got, w.value)
		}
	}
	return nil
}

// Close stops the write queue and closes both pools.
func (s *Store) Close() error {
	if s.batch != nil {
		s.batch.stop()
	}
	var errs []error
	if s.wal != nil {
		errs = append(errs, s.wal.conn.Close())
	}
	for _, db := range []*gorm.DB{s.Write, s.Read} {
		if sqlDB, err := db.DB(); err == nil {
			errs = append(errs, sqlDB.Close())
		}
		if s.Read == s.Write {
			break
		}
	}
	return errors.Join(errs...)
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	sqlDB, err := s.Read.DB()
	if err != nil {
		return err
	}
	return sqlDB.PingContext(ctx)
}

// WriteTx runs fn in a write transaction and returns once it is committed.
// On SQLite, fn shares its transaction with other queued writes (each inside
// its own savepoint, so one failing fn does not undo the others) and the
// caller hears back only after the commit that made its write durable.
// fn must not keep tx after it returns, and any effect outside the database
// belongs after WriteTx returns nil.
func (s *Store) WriteTx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	if s.batch != nil {
		return s.afterCommit(mapDBError(s.batch.do(ctx, fn)))
	}
	safe := func(tx *gorm.DB) (err error) {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("write panicked: %v", p)
			}
		}()
		return fn(tx)
	}
	var err error
	for attempt := 0; attempt < 4; attempt++ {
		err = s.Write.WithContext(ctx).Transaction(safe)
		if !isRetryable(err) {
			break
		}
		time.Sleep(time.Duration(attempt+1) * 7 * time.Millisecond)
	}
	return s.afterCommit(mapDBError(err))
}

// ErrBusy means the database could not take the request now; try again soon.
var ErrBusy = &fault.Error{Code: fault.Unavailable, Message: "the server is busy; try again shortly", RetryAfter: time.Second}

// ErrFull means the database's disk is full.
var ErrFull = &fault.Error{Code: fault.StorageFull, Message: "the server cannot store more data right now", RetryAfter: 30 * time.Second}

// mapDBError turns driver-level conditions that callers act on into our
// sentinels, and gorm.ErrRecordNotFound into ErrNotFound.
func mapDBError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	if sentinel := sqliteCondition(err); sentinel != nil {
		return fmt.Errorf("%w: %w", sentinel, err)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		// Too many connections, a statement timeout, or a serialization
		// failure or deadlock that outlived its retries: the server is
		// overloaded, not the request wrong, so the client should retry.
		case "53300", "57014", "40001", "40P01":
			return fmt.Errorf("%w: %w", ErrBusy, err)
		case "53100":
			return fmt.Errorf("%w: %w", ErrFull, err)
		}
	}
	return err
}

// MapError is mapDBError for reads done outside the Store's methods.
func MapError(err error) error { return mapDBError(err) }

func isRetryable(err error) bool {
	if err == nil {
		return false
	}
	// PostgreSQL serialization failure and deadlock: safe to run again.
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}
