package models_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/parley-comments/parley/models"
	"github.com/parley-comments/parley/models/dbtest"
)

type sizedRow struct {
	ID    uint `gorm:"primaryKey"`
	Value string
}

// openSQLite opens a fresh SQLite store whatever backend the run uses: the
// faults below are SQLite's own.
func openSQLite(t *testing.T, o models.Options) *models.Store {
	t.Helper()
	o.Path = filepath.Join(t.TempDir(), "parley.db")
	s, err := models.Open(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestBusyTimeoutOption(t *testing.T) {
	if dbtest.Backend() != "sqlite" {
		t.Skip("a SQLite setting")
	}
	for _, tc := range []struct {
		name string
		opt  time.Duration
		want string
	}{
		{"default", 0, "5000"},
		{"set", 250 * time.Millisecond, "250"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openSQLite(t, models.Options{BusyTimeout: tc.opt})
			for name, db := range map[string]*gorm.DB{"writer": s.Write, "reader": s.Read} {
				var got string
				if err := db.Raw("PRAGMA busy_timeout").Scan(&got).Error; err != nil {
					t.Fatal(err)
				}
				if got != tc.want {
					t.Errorf("%s busy_timeout = %s, want %s", name, got, tc.want)
				}
			}
		})
	}
}

// TestWriteTxBusy: while another connection holds the write lock, a write
// fails with ErrBusy once the busy timeout is over (no hang, no bare driver
// error), reads go on, and writes succeed again once the lock is released.
func TestWriteTxBusy(t *testing.T) {
	if dbtest.Backend() != "sqlite" {
		t.Skip("SQLite's file lock")
	}
	const timeout = 200 * time.Millisecond
	s := openSQLite(t, models.Options{BusyTimeout: timeout})
	if err := s.Write.AutoMigrate(&sizedRow{}); err != nil {
		t.Fatal(err)
	}
	release := holdWriteLock(t, s.Path)

	start := time.Now()
	err := s.WriteTx(t.Context(), func(tx *gorm.DB) error { return tx.Create(&sizedRow{Value: "x"}).Error })
	took := time.Since(start)
	if !errors.Is(err, models.ErrBusy) {
		t.Fatalf("err = %v, want ErrBusy", err)
	}
	if took < timeout || took > timeout+3*time.Second {
		t.Fatalf("ErrBusy after %v, want just after the %v busy timeout", took, timeout)
	}
	var n int64
	if err := s.Read.Model(&sizedRow{}).Count(&n).Error; err != nil {
		t.Fatalf("read while the write lock is held: %v", err)
	}

	release()
	if err := s.WriteTx(t.Context(), func(tx *gorm.DB) error { return tx.Create(&sizedRow{Value: "y"}).Error }); err != nil {
		t.Fatalf("write after the lock was released: %v", err)
	}
	if err := s.Read.Model(&sizedRow{}).Count(&n).Error; err != nil || n != 1 {
		t.Fatalf("rows = %d (%v), want 1: the busy write must not have landed", n, err)
	}
}

// holdWriteLock takes SQLite's write lock on path from a connection of its
// own, as another program would; the returned func releases it.
func holdWriteLock(t *testing.T, path string) func() {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(t.Context(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	release := func() {
		once.Do(func() {
			conn.ExecContext(context.Background(), "ROLLBACK") // t.Context is over by cleanup time
			conn.Close()
			db.Close()
		})
	}
	t.Cleanup(release)
	return release
}

// TestWriteTxDiskFull fills the database (max_page_count stands in for a
// full disk) with concurrent writes that share batches: every write either
// succeeds and is stored, or fails with ErrFull and left nothing behind.
// SQLite may roll back the whole batch on SQLITE_FULL, which must not leave
// writes stored but reported failed (or the reverse).
func TestWriteTxDiskFull(t *testing.T) {
	if dbtest.Backend() != "sqlite" {
		t.Skip("SQLite's max_page_count")
	}
	s := openSQLite(t, models.Options{})
	if err := s.Write.AutoMigrate(&sizedRow{}); err != nil {
		t.Fatal(err)
	}
	var pages int
	if err := s.Write.Raw("PRAGMA page_count").Scan(&pages).Error; err != nil {
		t.Fatal(err)
	}
	// The writer pool has one connection, so this per-connection limit
	// applies to every write that follows.
	if err := s.Write.Exec(fmt.Sprintf("PRAGMA max_page_count = %d", pages+20)).Error; err != nil {
		t.Fatal(err)
	}
	const writes = 80
	errs := make([]error, writes)
	var wg sync.WaitGroup
	for i := range writes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.WriteTx(t.Context(), func(tx *gorm.DB) error {
				return tx.Create(&sizedRow{Value: fmt.Sprintf("%03d:%s", i, strings.Repeat("x", 3000))}).Error
			})
		}()
	}
	wg.Wait()

	var stored []string
	if err := s.Read.Model(&sizedRow{}).Pluck("substr(value, 1, 3)", &stored).Error; err != nil {
		t.Fatal(err)
	}
	inDB := map[string]bool{}
	for _, v := range stored {
		inDB[v] = true
	}
	var ok, full int
	for i, err := range errs {
		key := fmt.Sprintf("%03d", i)
		switch {
		case err == nil:
			ok++
			if !inDB[key] {
				t.Errorf("write %d succeeded but is not stored", i)
			}
		case errors.Is(err, models.ErrFull):
			full++
			if inDB[key] {
				t.Errorf("write %d failed (%v) but is stored", i, err)
			}
		default:
			t.Errorf("write %d: err = %v, want nil or ErrFull", i, err)
		}
	}
	if full == 0 || ok == 0 {
		t.Fatalf("%d writes succeeded and %d met a full disk; want some of each", ok, full)
	}
	if len(stored) != ok {
		t.Fatalf("stored %d rows, want the %d acknowledged", len(stored), ok)
	}

	if err := s.Write.Exec("PRAGMA max_page_count = 1073741823").Error; err != nil {
		t.Fatal(err)
	}
	if err := s.WriteTx(t.Context(), func(tx *gorm.DB) error {
		return tx.Create(&sizedRow{Value: strings.Repeat("y", 3000)}).Error
	}); err != nil {
		t.Fatalf("write once space is back: %v", err)
	}
	var integrity string
	if err := s.Read.Raw("PRAGMA integrity_check").Scan(&integrity).Error; err != nil || integrity != "ok" {
		t.Fatalf("integrity_check = %q (%v), want ok", integrity, err)
	}
}
