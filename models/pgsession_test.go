package models_test

import (
	"testing"

	"github.com/parley-comments/parley/models/dbtest"
)

// TestPostgresSessionParams: every PostgreSQL connection runs without
// incremental sort, which made the planner read a whole level of comments
// for a thread's top page instead of idx_comments_score in order.
func TestPostgresSessionParams(t *testing.T) {
	if dbtest.Backend() != "postgres" {
		t.Skip("a PostgreSQL setting; this run is on " + dbtest.Backend())
	}
	s := dbtest.Open(t)
	for _, db := range []struct {
		name string
		q    func() (string, error)
	}{
		{"read", func() (v string, err error) { return v, s.Read.Raw("SHOW enable_incremental_sort").Row().Scan(&v) }},
		{"write", func() (v string, err error) { return v, s.Write.Raw("SHOW enable_incremental_sort").Row().Scan(&v) }},
	} {
		got, err := db.q()
		if err != nil {
			t.Fatal(err)
		}
		if got != "off" {
			t.Fatalf("%s pool: enable_incremental_sort = %q, want off", db.name, got)
		}
	}
}
