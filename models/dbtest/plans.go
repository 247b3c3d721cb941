package dbtest

import (
	"fmt"
	"strings"
	"testing"

	"gorm.io/gorm"

	"github.com/parley-comments/parley/models"
)

// Plans returns a statement's query plans, one line per node: SQLite's
// EXPLAIN QUERY PLAN; on PostgreSQL the plan for these values and the
// generic plan a prepared statement may switch to after five runs.
func Plans(t testing.TB, db *gorm.DB, sql string, vars ...any) []string {
	t.Helper()
	if db.Dialector.Name() == "sqlite" {
		return []string{explain(t, db, "EXPLAIN QUERY PLAN "+sql, vars...)}
	}
	plans := []string{explain(t, db, "EXPLAIN (COSTS OFF) "+sql, vars...)}
	err := db.Connection(func(conn *gorm.DB) error {
		if err := conn.Exec("SET plan_cache_mode = force_generic_plan").Error; err != nil {
			return err
		}
		defer conn.Exec("RESET plan_cache_mode")
		if err := conn.Exec("PREPARE plan_test AS " + sql).Error; err != nil {
			return err
		}
		defer conn.Exec("DEALLOCATE plan_test")
		execute := "EXECUTE plan_test"
		if len(vars) > 0 {
			params := make([]string, len(vars))
			for i := range params {
				params[i] = fmt.Sprintf("$%d", i+1)
			}
			execute = conn.Dialector.Explain(execute+"("+strings.Join(params, ", ")+")", vars...)
		}
		plans = append(plans, explain(t, conn, "EXPLAIN (COSTS OFF) "+execute))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return plans
}

// explain returns an EXPLAIN's plan, one row a line.
func explain(t testing.TB, db *gorm.DB, q string, vars ...any) string {
	t.Helper()
	lines, err := models.ExplainLines(db, q, vars...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return strings.Join(lines, "\n")
}
