package models_test

import (
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/parley-comments/parley/models"
)

// A long-lived reader holds checkpoints back and the WAL grows; once it
// ends and writes go quiet, the WAL is checkpointed and truncated to zero
// bytes instead of keeping its largest size for ever.
func TestWALTruncatedWhenQuiet(t *testing.T) {
	path := filepath.Join(t.TempDir(), "parley.db")
	s, err := models.Open(models.Options{Path: path, CheckpointAfter: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var limit int64
	if err := s.Write.Raw("PRAGMA journal_size_limit").Scan(&limit).Error; err != nil || limit != 64<<20 {
		t.Fatalf("journal_size_limit = %d (%v), want 64 MiB", limit, err)
	}
	if err := s.Write.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)").Error; err != nil {
		t.Fatal(err)
	}
	write := func(n int) {
		t.Helper()
		for range n {
			err := s.WriteTx(t.Context(), func(tx *gorm.DB) error {
				return tx.Exec("INSERT INTO t (v) VALUES (?)", strings.Repeat("x", 64<<10)).Error
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	write(1)

	// Another process's reader, mid-transaction on the snapshot of now.
	other, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=100")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	reader, err := other.BeginTx(t.Context(), &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := reader.QueryRow("SELECT COUNT(*) FROM t").Scan(&n); err != nil {
		t.Fatal(err)
	}
	write(40)
	grown := s.WALBytes()
	if grown < 40*64<<10 {
		t.Fatalf("WAL = %d bytes with a reader holding it, want at least %d", grown, 40*64<<10)
	}
	waitFor(t, func() bool { _, blocked := s.Checkpoints(); return blocked > 0 })
	if s.WALBytes() < grown {
		t.Fatalf("WAL shrank to %d while the reader still needed it", s.WALBytes())
	}

	// The reader ends: the next attempt truncates, with no write needed.
	if err := reader.Rollback(); err != nil {
		t.Fatal(err)
	}
	// (The file is truncated inside the checkpoint, before it is counted.)
	waitFor(t, func() bool { done, _ := s.Checkpoints(); return done > 0 && s.WALBytes() == 0 })
	var rows int
	if err := s.Read.Raw("SELECT COUNT(*) FROM t").Scan(&rows).Error; err != nil || rows != 41 {
		t.Fatalf("rows = %d (%v), want 41", rows, err)
	}
}

// waitFor polls cond for up to ten seconds.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
