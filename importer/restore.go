package importer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/parley-comments/parley/models"
)

// ErrNotEmpty refuses to restore an export over existing content.
var ErrNotEmpty = errors.New("the database already has users, threads or comments")

// restoreBatch is the rows inserted per statement.
const restoreBatch = 200

// Restore reads Parley's own export into src. Into a database with no
// users, threads or comments it restores every row with its own id, in one
// transaction (all or nothing), so that exporting again gives the same file.
// Into a database that has content it merges instead: threads by page and
// comments by their id in the export, like any other format (see mergeParley).
func Restore(ctx context.Context, st *models.Store, src Source, opt Options) (*Summary, error) {
	empty, err := isEmpty(ctx, st.Read)
	if err != nil {
		return nil, err
	}
	if !empty {
		return mergeParley(ctx, st, src, opt)
	}
	sum := newSummary(FormatParley, opt.Site, opt.DryRun)
	columns, err := tableColumns(ctx, st.Read)
	if err != nil {
		return nil, err
	}
	order := map[string]int{}
	for i, t := range exportTables {
		order[t.name] = i
	}
	restore := func(tx *gorm.DB) error {
		var pending []map[string]any
		table, at := "", -1
		flush := func() error {
			if len(pending) == 0 || opt.DryRun {
				pending = pending[:0]
				return nil
			}
			q := tx.Table(table)
			if table == "sites" || table == "settings" {
				// The default site and the rules may exist in a fresh database.
				var cols []string
				for c := range pending[0] {
					if c != exportTables[at].key {
						cols = append(cols, c)
					}
				}
				sort.Strings(cols)
				q = q.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: exportTables[at].key}}, DoUpdates: clause.AssignmentColumns(cols)})
			}
			err := q.Create(pending).Error
			pending = pending[:0]
			return err
		}
		header := false
		var unknown []string
		err := jsonLines(src, func(n int, line []byte) error {
			if !header {
				var h exportHeader
				if err := json.Unmarshal(line, &h); err != nil || h.Format != exportFormat {
					return fmt.Errorf("%w: the first line is not a Parley export header", ErrWrongFormat)
				}
				if h.Version != exportVersion {
					return fmt.Errorf("%w: export version %d; this Parley reads version %d", ErrWrongFormat, h.Version, exportVersion)
				}
				header = true
				return nil
			}
			var l struct {
				Table string          `json:"table"`
				Row   json.RawMessage `json:"row"`
			}
			if err := json.Unmarshal(line, &l); err != nil {
				return fmt.Errorf("line %d: %w", n, err)
			}
			i, ok := order[l.Table]
			switch {
			case !ok:
				return fmt.Errorf("line %d: unknown table %q", n, l.Table)
			case i < at:
				return fmt.Errorf("line %d: table %s after %s: the export is out of order", n, l.Table, table)
			case i > at:
				if err := flush(); err != nil {
					return fmt.Errorf("restore %s: %w", table, err)
				}
				table, at = l.Table, i
			}
			row, extra, err := restoreRow(l.Row, columns[l.Table])
			if err != nil {
				return fmt.Errorf("line %d: %w", n, err)
			}
			unknown = append(unknown, extra...)
			if table == "users" {
				row["password_hash"] = "" // never exported: the account needs a password reset
			}
			if table == "comments" {
				sum.Created++
			}
			pending = append(pending, row)
			if len(pending) >= restoreBatch {
				return flush()
			}
			return nil
		})
		if err != nil {
			return err
		}
		if !header {
			return fmt.Errorf("%w: empty file", ErrWrongFormat)
		}
		if err := flush(); err != nil {
			return fmt.Errorf("restore %s: %w", table, err)
		}
		for _, c := range dedupe(unknown) {
			sum.note("column %s is not in this database's schema: left out", c)
		}
		return moveSequences(tx, st.Dialect)
	}
	if opt.DryRun {
		return sum, restore(nil)
	}
	if err := st.WriteTx(ctx, restore); err != nil {
		return nil, err
	}
	return sum, nil
}

// tableColumns reads each export table's columns and their database types
// from an empty result, one query a table.
func tableColumns(ctx context.Context, db *gorm.DB) (map[string]map[string]string, error) {
	columns := map[string]map[string]string{} // table → column → database type
	for _, t := range exportTables {
		rows, err := db.WithContext(ctx).Raw("SELECT * FROM " + t.name + " WHERE 1 = 0").Rows()
		if err != nil {
			return nil, fmt.Errorf("restore: table %s: %w", t.name, err)
		}
		cts, err := rows.ColumnTypes()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("restore: table %s: %w", t.name, err)
		}
		columns[t.name] = map[string]string{}
		for _, ct := range cts {
			columns[t.name][ct.Name()] = ct.DatabaseTypeName()
		}
	}
	return columns, nil
}

func isEmpty(ctx context.Context, db *gorm.DB) (bool, error) {
	var n int64
	err := db.WithContext(ctx).Raw(`SELECT (SELECT COUNT(*) FROM users) + (SELECT COUNT(*) FROM articles) + (SELECT COUNT(*) FROM comments)`).Row().Scan(&n)
	return n == 0, models.MapError(err)
}

// restoreRow decodes one exported row into column values for cols (the
// target table's columns and types); columns the table lacks are returned
// as extra, and never reach SQL.
func restoreRow(raw json.RawMessage, cols map[string]string) (map[string]any, []string, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var in map[string]any
	if err := dec.Decode(&in); err != nil || in == nil {
		return nil, nil, fmt.Errorf("row is not an object")
	}
	out := make(map[string]any, len(in))
	var extra []string
	for k, v := range in {
		typ, ok := cols[k]
		if !ok {
			extra = append(extra, k)
			continue
		}
		switch x := v.(type) {
		case json.Number:
			n, err := x.Int64()
			if err != nil {
				f, ferr := x.Float64()
				if ferr != nil {
					return nil, nil, fmt.Errorf("column %s: %w", k, err)
				}
				out[k] = f
				continue
			}
			if isBoolType(typ) {
				out[k] = n != 0
			} else {
				out[k] = n
			}
		case string:
			if isTimeType(typ) {
				t, err := time.Parse(time.RFC3339Nano, x)
				if err != nil {
					return nil, nil, fmt.Errorf("column %s: %w", k, err)
				}
				out[k] = t
			} else {
				out[k] = x
			}
		case bool, nil:
			out[k] = x
		default:
			return nil, nil, fmt.Errorf("column %s: a nested value", k)
		}
	}
	return out, extra, nil
}

// moveSequences sets each restored table's id sequence past the largest id
// (PostgreSQL; SQLite picks the next rowid from the table itself).
func moveSequences(tx *gorm.DB, dialect string) error {
	if dialect != "postgres" || tx == nil {
		return nil
	}
	for _, t := range exportTables {
		if !t.serials {
			continue
		}
		q := fmt.Sprintf("SELECT setval(pg_get_serial_sequence('%[1]s', 'id'), COALESCE((SELECT MAX(id) FROM %[1]s), 0) + 1, false)", t.name)
		if err := tx.Exec(q).Error; err != nil {
			return fmt.Errorf("move the id sequence of %s: %w", t.name, err)
		}
	}
	return nil
}

func dedupe(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// mergeParley imports an export into a database that has content: its
// threads by page and its comments by their id in the export (so a second
// run adds nothing), authors as guests under their name. Votes, flags,
// accounts and the moderation log belong to the other database's accounts
// and are not merged.
func mergeParley(ctx context.Context, st *models.Store, src Source, opt Options) (*Summary, error) {
	w, err := newWriter(ctx, st, opt)
	if err != nil {
		return nil, err
	}
	sum, err := w.run(func(s Stream) error { return readParley(src, s) })
	if sum != nil {
		sum.note("merged into a database with content: comments and threads only; accounts, votes, flags and the moderation log are not merged")
	}
	return sum, err
}

// readParley streams an export's comments as a source of threads and
// comments. Articles and users come before comments in the file, so a
// comment's thread and author are known when it comes; only the articles of
// the export are held (by id), and users by id with their display name.
func readParley(src Source, st Stream) error {
	threads := map[int64]*Thread{}
	names := map[int64]string{}
	header := false
	return jsonLines(src, func(n int, line []byte) error {
		if !header {
			var h exportHeader
			if err := json.Unmarshal(line, &h); err != nil || h.Format != exportFormat {
				return fmt.Errorf("%w: the first line is not a Parley export header", ErrWrongFormat)
			}
			header = true
			return nil
		}
		var l struct {
			Table string `json:"table"`
			Row   struct {
				ID          int64   `json:"id"`
				Slug        string  `json:"slug"`
				URL         string  `json:"url"`
				Title       string  `json:"title"`
				Username    string  `json:"username"`
				DisplayName string  `json:"display_name"`
				ArticleID   int64   `json:"article_id"`
				ParentID    *int64  `json:"parent_id"`
				AuthorID    *int64  `json:"author_id"`
				GuestName   string  `json:"guest_name"`
				GuestEmail  string  `json:"guest_email"`
				IP          string  `json:"ip"`
				Body        string  `json:"body"`
				Status      string  `json:"status"`
				Score       int     `json:"score"`
				CreatedAt   string  `json:"created_at"`
				Locked      bool    `json:"comments_locked"`
				Published   *string `json:"published_at"`
			} `json:"row"`
		}
		if err := json.Unmarshal(line, &l); err != nil {
			st.Skip(fmt.Sprintf("line %d", n), "not an export row: "+err.Error())
			return nil
		}
		r := l.Row
		switch l.Table {
		case "users":
			names[r.ID] = cmpOr(r.DisplayName, r.Username)
		case "articles":
			key := r.URL
			if key == "" {
				key = r.Slug
			}
			th := &Thread{SourceID: fmt.Sprint(r.ID), URL: key, Title: r.Title, Closed: r.Locked}
			if r.Published != nil {
				th.CreatedAt, _ = time.Parse(time.RFC3339Nano, *r.Published)
			}
			threads[r.ID] = th
		case "comments":
			th := threads[r.ArticleID]
			id := fmt.Sprint(r.ID)
			if th == nil {
				st.Skip(describe("comment", id), fmt.Sprintf("its thread %d is not in the file", r.ArticleID))
				return nil
			}
			created, err := time.Parse(time.RFC3339Nano, r.CreatedAt)
			if err != nil {
				st.Skip(describe("comment", id), "created_at "+quote(r.CreatedAt)+" is not a timestamp")
				return nil
			}
			c := &Comment{SourceID: id, Thread: th, AuthorName: r.GuestName, AuthorEmail: r.GuestEmail, IP: r.IP,
				Body: r.Body, CreatedAt: created, Status: r.Status, Score: r.Score}
			if r.AuthorID != nil {
				c.AuthorName = names[*r.AuthorID]
			}
			if r.ParentID != nil {
				c.ParentSourceID = fmt.Sprint(*r.ParentID)
			}
			switch c.Status {
			case models.StatusApproved, models.StatusPending, models.StatusSpam, models.StatusDeleted:
			case models.StatusRejected:
				c.Status = models.StatusRejected
			default:
				st.Skip(describe("comment", id), "status "+quote(c.Status)+" is not a known state")
				return nil
			}
			return st.Comment(c)
		}
		return nil
	})
}

func cmpOr(a, b string) string {
	if strings.TrimSpace(a) != "" {
		return a
	}
	return b
}
