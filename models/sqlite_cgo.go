//go:build cgo

package models

import (
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/mattn/go-sqlite3"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
)

// SQLite comes through mattn/go-sqlite3, which needs cgo; a build with
// CGO_ENABLED=0 is PostgreSQL-only (see sqlite_nocgo.go).

// sqliteReaderParams are the readers' pragmas; query_only is set by the
// parley_sqlite_ro driver's connect hook since mattn's DSN has no key for it.
// A reader's page cache is 1 MB (SQLite's default is 2 MB per connection):
// the file's pages stay in the OS cache either way, and the hot ones (the
// indexes a thread page walks) fit.
const sqliteReaderParams = "_foreign_keys=1&_cache_size=-1024"

const (
	readOnlyDriver = "parley_sqlite_ro"
	writerDriver   = "parley_sqlite_rw"
)

var registerReadOnly sync.Once

func openSQLite(path string, busyMS int64, quietAfter time.Duration, cfg *gorm.Config) (*Store, error) {
	if path == "" {
		return nil, errors.New("open sqlite: no path")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	registerReadOnly.Do(func() {
		sql.Register(readOnlyDriver, &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
			_, err := c.Exec("PRAGMA query_only = 1", nil)
			return err
		}})
		sql.Register(writerDriver, &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
			_, err := c.Exec("PRAGMA journal_size_limit = "+strconv.Itoa(journalSizeLimit), nil)
			return err
		}})
	})
	file := "file:" + (&url.URL{Path: path}).EscapedPath()
	busy := fmt.Sprintf("&_busy_timeout=%d", busyMS)
	wdb, err := sql.Open(writerDriver, file+"?"+sqliteWriterParams+busy)
	if err != nil {
		return nil, fmt.Errorf("open sqlite writer: %w", err)
	}
	wcfg := *cfg
	wcfg.PrepareStmt = false // writerPool keeps the statements (see sqlite.go)
	w, err := gorm.Open(sqlite.Dialector{Conn: newWriterPool(wdb)}, &wcfg)
	if err != nil {
		wdb.Close()
		return nil, fmt.Errorf("open sqlite writer: %w", err)
	}
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	wdb.SetConnMaxLifetime(0)

	r, err := gorm.Open(sqlite.Dialector{DriverName: readOnlyDriver, DSN: file + "?" + sqliteReaderParams + busy}, cfg)
	if err != nil {
		return nil, fmt.Errorf("open sqlite readers: %w", err)
	}
	if err := uncancelable(r); err != nil { // see sqlite.go
		return nil, err
	}
	rdb, err := r.DB()
	if err != nil {
		return nil, err
	}
	// Each reader keeps its own page cache (sqliteReaderParams), so readers
	// beyond what the cores can run at once add memory, not throughput; a
	// request holds one only for a query or two.
	readers := 2 * runtime.NumCPU()
	rdb.SetMaxOpenConns(readers)
	rdb.SetMaxIdleConns(readers)

	s := &Store{Write: w, Read: r, Dialect: "sqlite", Path: path}
	if err := s.checkPragmas(strconv.FormatInt(busyMS, 10)); err != nil {
		s.Close()
		return nil, err
	}
	// Checkpoints get a connection of their own, with a short busy wait.
	ckpt, err := sql.Open(writerDriver, file+"?_busy_timeout="+strconv.Itoa(checkpointBusyMS))
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("open sqlite checkpointer: %w", err)
	}
	ckpt.SetMaxOpenConns(1)
	s.wal = &walKeeper{conn: ckpt}
	s.batch = newBatcher(w, s.wal.checkpoint, quietAfter)
	return s, nil
}

// sqliteCondition is the sentinel for a SQLite error that callers act on,
// or nil.
func sqliteCondition(err error) error {
	var se sqlite3.Error
	if errors.As(err, &se) {
		switch se.Code {
		case sqlite3.ErrBusy, sqlite3.ErrLocked:
			return ErrBusy
		case sqlite3.ErrFull:
			return ErrFull
		}
	}
	return nil
}
