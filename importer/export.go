package importer

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/parley-comments/parley/models"
)

// Parley's export format, version 1: JSON Lines. The first line is the header
//
//	{"format":"parley-export","version":1,"site":null}
//
// ("site" names the one site exported, or is null for all of them); every
// other line is one stored row, {"table":"comments","row":{...}}, with the
// row's columns by their database names. Tables come in the order of
// exportTables (a row only refers to rows above it), rows in primary-key
// order. Timestamps are RFC 3339 in UTC with nanoseconds, booleans are JSON
// booleans, missing values null. Password hashes, token versions, refresh
// tokens, the signing secret and import jobs are never exported.
const (
	exportFormat  = "parley-export"
	exportVersion = 1
)

// exportTable is one table of the export: its primary key (the order rows
// are written in), the columns left out, and how rows of one site are chosen.
type exportTable struct {
	name    string
	key     string
	omit    []string
	bySite  string // a WHERE clause with one ? for the site, or "" for every row
	where   string // a fixed condition on every export
	serials bool   // has an id sequence to move past restored ids (PostgreSQL)
}

// exportTables are the tables of an export, parents first.
var exportTables = []exportTable{
	{name: "sites", key: "id", bySite: "id = ?"},
	// A user's password hash and token version are credentials, not content.
	{name: "users", key: "id", omit: []string{"password_hash", "token_version"}, serials: true},
	{name: "moderator_sites", key: "user_id, site_id", bySite: "site_id = ?"},
	{name: "articles", key: "id", bySite: "site_id = ?", serials: true},
	{name: "comments", key: "id", bySite: "article_id IN (SELECT id FROM articles WHERE site_id = ?)", serials: true},
	{name: "votes", key: "comment_id, user_id", bySite: "article_id IN (SELECT id FROM articles WHERE site_id = ?)"},
	{name: "flags", key: "id", serials: true,
		bySite: "comment_id IN (SELECT c.id FROM comments c JOIN articles a ON a.id = c.article_id WHERE a.site_id = ?)"},
	{name: "bans", key: "id", serials: true},
	{name: "audit_log", key: "id", serials: true},
	{name: "settings", key: "key", where: "key = 'moderation_rules'"},
	{name: "import_sources", key: "site_id, format, source_id", bySite: "site_id = ?"},
}

type exportHeader struct {
	Format  string  `json:"format"`
	Version int     `json:"version"`
	Site    *string `json:"site"`
}

type exportLine struct {
	Table string         `json:"table"`
	Row   map[string]any `json:"row"`
}

// Export writes every row of the export tables (of one site, when site is
// not empty) to out, reading from db in one read transaction so the file is
// one consistent moment.
func Export(ctx context.Context, db *gorm.DB, site string, out io.Writer) error {
	bw := bufio.NewWriterSize(out, 256<<10)
	h := exportHeader{Format: exportFormat, Version: exportVersion}
	if site != "" {
		var n int64
		if err := db.WithContext(ctx).Table("sites").Where("id = ?", site).Count(&n).Error; err != nil {
			return models.MapError(err)
		}
		if n == 0 {
			return fmt.Errorf("site %q: %w", site, models.ErrNotFound)
		}
		h.Site = &site
	}
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(h); err != nil {
		return err
	}
	err := db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		for _, t := range exportTables {
			if err := exportRows(tx, t, site, enc); err != nil {
				return fmt.Errorf("export %s: %w", t.name, err)
			}
		}
		return nil
	}, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	return bw.Flush()
}

func exportRows(tx *gorm.DB, t exportTable, site string, enc *json.Encoder) error {
	q := "SELECT * FROM " + t.name
	var conds []string
	var args []any
	if t.where != "" {
		conds = append(conds, t.where)
	}
	if site != "" && t.bySite != "" {
		conds = append(conds, t.bySite)
		args = append(args, site)
	}
	if len(conds) > 0 {
		q += " WHERE " + strings.Join(conds, " AND ")
	}
	rows, err := tx.Raw(q+" ORDER BY "+t.key, args...).Rows()
	if err != nil {
		return err
	}
	defer rows.Close()
	types, err := rows.ColumnTypes()
	if err != nil {
		return err
	}
	vals := make([]any, len(types))
	ptrs := make([]any, len(types))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	omit := map[string]bool{}
	for _, c := range t.omit {
		omit[c] = true
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		row := make(map[string]any, len(types))
		for i, ct := range types {
			if !omit[ct.Name()] {
				row[ct.Name()] = exportValue(vals[i], ct.DatabaseTypeName())
			}
		}
		if err := enc.Encode(exportLine{Table: t.name, Row: row}); err != nil {
			return err
		}
	}
	return rows.Err()
}

// exportValue gives a column value the same JSON form on both databases.
func exportValue(v any, dbType string) any {
	switch x := v.(type) {
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case []byte:
		return string(x)
	case int64:
		if isBoolType(dbType) {
			return x != 0
		}
	}
	return v
}

// isBoolType: GORM declares bool columns "numeric" on SQLite, "boolean" on PostgreSQL.
func isBoolType(dbType string) bool {
	switch strings.ToUpper(dbType) {
	case "NUMERIC", "BOOLEAN", "BOOL":
		return true
	}
	return false
}

func isTimeType(dbType string) bool {
	t := strings.ToUpper(dbType)
	return strings.HasPrefix(t, "DATETIME") || strings.HasPrefix(t, "TIMESTAMP") || t == "DATE"
}
