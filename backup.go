package main

import (
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"time"

	_ "github.com/mattn/go-sqlite3" // the "sqlite3" driver
)

// backup writes a consistent copy of the SQLite database to file. It works
// while the server runs and takes writes: it reads one snapshot through a
// read-only connection and does not take the data dir's lock.
func backup(cfg config, log *slog.Logger, file string) error {
	if cfg.DatabaseURL != "" {
		return errors.New("backup copies the SQLite database; on PostgreSQL use pg_dump, " +
			`e.g. pg_dump --format=custom --file=parley.dump "$PARLEY_DATABASE_URL"`)
	}
	started := time.Now()
	src := filepath.Join(cfg.DataDir, "parley.db")
	if _, err := os.Stat(src); err != nil {
		return fmt.Errorf("no database to back up: %w", err)
	}
	dst, err := filepath.Abs(file)
	if err != nil {
		return err
	}
	if err := refuseExisting(dst); err != nil {
		return err
	}
	size, err := writeBackup(src, dst)
	if err != nil {
		return fmt.Errorf("backup to %s: %w", file, err)
	}
	log.Info("backup written", "file", file, "bytes", size, "duration_ms", time.Since(started).Milliseconds())
	return nil
}

func refuseExisting(path string) error {
	_, err := os.Lstat(path)
	switch {
	case err == nil:
		return fmt.Errorf("%s already exists; backup never overwrites a file, pick a new name", path)
	case !errors.Is(err, fs.ErrNotExist):
		return err
	}
	return nil
}

// writeBackup copies src to dst through a temp file beside dst: VACUUM INTO,
// integrity check, fsync, then link into place, so dst is either absent or
// a whole, checked copy.
func writeBackup(src, dst string) (int64, error) {
	dir := filepath.Dir(dst)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(dst)+".*.tmp")
	if err != nil {
		return 0, err
	}
	tmpPath := tmp.Name()
	tmp.Close() // VACUUM INTO accepts an empty file as its target
	defer os.Remove(tmpPath)

	if err := vacuumInto(src, tmpPath); err != nil {
		return 0, err
	}
	if err := checkIntegrity(tmpPath); err != nil {
		return 0, err
	}
	size, err := syncFile(tmpPath)
	if err != nil {
		return 0, err
	}
	// A hard link, unlike rename, fails if dst appeared in the meantime.
	if err := os.Link(tmpPath, dst); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return 0, refuseExisting(dst)
		}
		// A file system without hard links: rename, having checked again.
		if err := refuseExisting(dst); err != nil {
			return 0, err
		}
		if err := os.Rename(tmpPath, dst); err != nil {
			return 0, err
		}
	}
	return size, syncDir(dir)
}

// sqliteURI is a file: URI for path with query q.
func sqliteURI(path, q string) string {
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q
}

// vacuumInto writes a snapshot of src into the empty file out. The source is
// opened read-only: VACUUM INTO needs only a read transaction, so the
// server's writes go on meanwhile (WAL).
func vacuumInto(src, out string) error {
	db, err := sql.Open("sqlite3", sqliteURI(src, "mode=ro&_busy_timeout=5000"))
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.Exec("VACUUM INTO ?", out); err != nil {
		return fmt.Errorf("vacuum into: %w", err)
	}
	return db.Close()
}

// checkIntegrity runs PRAGMA integrity_check on the copy. immutable=1 keeps
// SQLite from creating -wal or -shm files beside it: nothing else has it open.
func checkIntegrity(path string) error {
	db, err := sql.Open("sqlite3", sqliteURI(path, "mode=ro&immutable=1"))
	if err != nil {
		return err
	}
	defer db.Close()
	var res string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&res); err != nil {
		return fmt.Errorf("integrity check: %w", err)
	}
	if res != "ok" {
		return fmt.Errorf("integrity check of the copy: %s", res)
	}
	return db.Close()
}

func syncFile(path string) (int64, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return 0, err
	}
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return st.Size(), f.Close()
}

// syncDir makes the new directory entry durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return err
	}
	return d.Close()
}
