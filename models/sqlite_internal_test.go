package models

import (
	"path/filepath"
	"testing"

	"gorm.io/gorm"
)

// TestWriterPreparesOnce: a statement first met in a transaction is
// prepared on the pool when it ends, and later transactions use that one.
func TestWriterPreparesOnce(t *testing.T) {
	s, err := Open(Options{Path: filepath.Join(t.TempDir(), "p.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Write.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)").Error; err != nil {
		t.Fatal(err)
	}
	pool := s.Write.Config.ConnPool.(*writerPool)
	const insert = "INSERT INTO t (v) VALUES (?)"
	for i := range 3 {
		if err := s.WriteTx(t.Context(), func(tx *gorm.DB) error { return tx.Exec(insert, "x").Error }); err != nil {
			t.Fatal(err)
		}
		pool.mu.Lock()
		_, prepared := pool.stmts[insert]
		_, pending := pool.pending[insert]
		pool.mu.Unlock()
		if !prepared || pending {
			t.Fatalf("after transaction %d: prepared = %v, pending = %v; want it prepared", i+1, prepared, pending)
		}
	}
	var n int64
	if err := s.Read.Raw("SELECT COUNT(*) FROM t").Scan(&n).Error; err != nil || n != 3 {
		t.Fatalf("rows = %d (%v), want 3", n, err)
	}
}
