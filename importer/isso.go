package importer

import (
	"database/sql"
	"errors"
	"fmt"
	"math"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	_ "github.com/mattn/go-sqlite3" // Isso keeps its comments in SQLite

	"github.com/parley-comments/parley/models"
)

// Isso's database (comments.db): tables threads (id, uri, title) and
// comments (tid, id, parent, created and modified as Unix seconds, mode 1
// accepted / 2 in moderation / 4 deleted, remote_addr, text in Markdown,
// author, email, website, likes, dislikes). The file is opened read-only
// and immutable: the import never writes to it, and Isso may keep running.

func readIsso(src Source, st Stream) error {
	if fi, err := os.Stat(src.Path); err != nil {
		return err
	} else if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a file", src.Path)
	}
	dsn := "file:" + (&url.URL{Path: src.Path}).EscapedPath() + "?mode=ro&immutable=1"
	db, err := sql.Open("sqlite3", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	rows, err := db.Query(`SELECT c.id, c.parent, c.created, c.mode, c.remote_addr, c.text, c.author, c.email, c.website,
		c.likes, c.dislikes, c.tid, t.id, t.uri, t.title
		FROM comments c LEFT JOIN threads t ON t.id = c.tid ORDER BY c.id`)
	if err != nil {
		return fmt.Errorf("%w: not an Isso database: %w", ErrWrongFormat, err)
	}
	defer rows.Close()
	threads := map[int64]*Thread{}
	for rows.Next() {
		var (
			id, mode, tid                             int64
			parent, threadID, likes, dislikes         sql.NullInt64
			created                                   sql.NullFloat64
			ip, text, author, email, site, uri, title sql.NullString
		)
		if err := rows.Scan(&id, &parent, &created, &mode, &ip, &text, &author, &email, &site, &likes, &dislikes, &tid, &threadID, &uri, &title); err != nil {
			return fmt.Errorf("not an Isso database: %w", err)
		}
		item := describe("comment", strconv.FormatInt(id, 10))
		if !threadID.Valid || strings.TrimSpace(uri.String) == "" {
			st.Skip(item, fmt.Sprintf("its thread %d is not in the database", tid))
			continue
		}
		if !created.Valid || math.IsNaN(created.Float64) || math.IsInf(created.Float64, 0) {
			st.Skip(item, "no creation time")
			continue
		}
		th := threads[tid]
		if th == nil {
			th = &Thread{SourceID: strconv.FormatInt(tid, 10), URL: strings.TrimSpace(uri.String), Title: title.String}
			threads[tid] = th
		}
		sec, frac := math.Modf(created.Float64)
		c := &Comment{SourceID: strconv.FormatInt(id, 10), Thread: th, AuthorName: strings.TrimSpace(author.String),
			AuthorEmail: strings.TrimSpace(email.String), AuthorURL: strings.TrimSpace(site.String), IP: ip.String,
			Body: text.String, CreatedAt: time.Unix(int64(sec), int64(frac*1e6)*1e3).UTC(),
			Score: int(likes.Int64 - dislikes.Int64)}
		if parent.Valid {
			c.ParentSourceID = strconv.FormatInt(parent.Int64, 10)
		}
		switch mode {
		case 1:
			c.Status = models.StatusApproved
		case 2:
			c.Status = models.StatusPending
		case 4:
			c.Status = models.StatusDeleted
		default:
			st.Skip(item, fmt.Sprintf("mode %d is not a known state", mode))
			continue
		}
		if err := st.Comment(c); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		return fmt.Errorf("read the Isso database: %w", err)
	}
	return nil
}
