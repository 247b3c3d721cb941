package models

import (
	"fmt"

	"gorm.io/gorm"
)

// ExplainLines runs an EXPLAIN statement and returns its plan a line a row:
// the last column, which is the detail on SQLite (id, parent, notused,
// detail) and the only one on PostgreSQL. The load driver and the plan
// tests read plans through it.
func ExplainLines(db *gorm.DB, query string, vars ...any) ([]string, error) {
	rows, err := db.Raw(query, vars...).Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var lines []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		lines = append(lines, fmt.Sprint(vals[len(vals)-1]))
	}
	return lines, rows.Err()
}
