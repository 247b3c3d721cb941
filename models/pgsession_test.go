package models_test

import (
	"errors"
	"testing"

	"gorm.io/gorm"

	"github.com/parley-comments/parley/models"

	"github.com/parley-comments/parley/models/dbtest"
)

// TestPostgresSessionParams: every PostgreSQL connection runs without
// incremental sort, which made the planner read a whole level of comments
// for a thread's top page instead of idx_comments_score in order, and with
// statement and idle-in-transaction timeouts.
func TestPostgresSessionParams(t *testing.T) {
	if dbtest.Backend() != "postgres" {
		t.Skip("a PostgreSQL setting; this run is on " + dbtest.Backend())
	}
	s := dbtest.Open(t)
	for name, want := range map[string]string{"enable_incremental_sort": "off", "statement_timeout": "5s", "idle_in_transaction_session_timeout": "10s"} {
		for pool, db := range map[string]*gorm.DB{"read": s.Read, "write": s.Write} {
			var got string
			if err := db.Raw("SHOW " + name).Row().Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Fatalf("%s pool: %s = %q, want %q", pool, name, got, want)
			}
		}
	}
	// A statement cut by the timeout is ErrBusy (a 503 with Retry-After), not a 500.
	err := s.Write.Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec("SET LOCAL statement_timeout = '50ms'").Error; err != nil {
			return err
		}
		return tx.Exec("SELECT pg_sleep(1)").Error
	})
	if !errors.Is(models.MapError(err), models.ErrBusy) {
		t.Fatalf("a timed-out statement maps to %v, want ErrBusy", models.MapError(err))
	}
}
