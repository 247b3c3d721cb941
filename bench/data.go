package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/parley-comments/parley/auth"
	"github.com/parley-comments/parley/bench/dataset"
	"github.com/parley-comments/parley/migrations"
	"github.com/parley-comments/parley/models"
	"github.com/parley-comments/parley/moderation"
)

// The data set's shape.
const (
	users         = 64
	smallArticles = 1000 // × 50 comments
	archive       = 298  // × 100 comments, to bring the total to 100,000
	slug200       = "bench-200"
	slug20k       = "bench-20k"
	password      = "bench-password"
)

func smallSlug(i int) string   { return fmt.Sprintf("bench-small-%04d", i) }
func archiveSlug(i int) string { return fmt.Sprintf("bench-archive-%03d", i) }

// database is where a run keeps its data: a SQLite file in a temp data dir,
// or a fresh PostgreSQL database dropped at the end.
type database struct {
	dataDir string // always set: the server's data dir
	url     string // PostgreSQL only
	drop    func() error
}

func (d *database) options() models.Options {
	if d.url != "" {
		return models.Options{URL: d.url}
	}
	return models.Options{Path: filepath.Join(d.dataDir, "parley.db")}
}

// env is the server's database environment.
func (d *database) env() []string {
	env := []string{"PARLEY_DATA_DIR=" + d.dataDir}
	if d.url != "" {
		env = append(env, "PARLEY_DATABASE_URL="+d.url)
	}
	return env
}

// newDatabase prepares an empty database. With adminURL it creates
// parley_bench_<n> on that PostgreSQL server.
func newDatabase(dataDir, adminURL string) (*database, error) {
	d := &database{dataDir: dataDir, drop: func() error { return nil }}
	if adminURL == "" {
		return d, nil
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return nil, fmt.Errorf("connect postgres: %w", err)
	}
	defer conn.Close(ctx)
	name := fmt.Sprintf("parley_bench_%d", time.Now().UnixNano()%1e9)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return nil, fmt.Errorf("create database: %w", err)
	}
	u, err := url.Parse(adminURL)
	if err != nil {
		return nil, err
	}
	u.Path = "/" + name
	d.url = u.String()
	d.drop = func() error {
		c, err := pgx.Connect(ctx, adminURL)
		if err != nil {
			return err
		}
		defer c.Close(ctx)
		_, err = c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		return err
	}
	return d, nil
}

// fill migrates the database and writes the data set: 64 users, one
// article with 200 comments (and 4 of the users' pending), one with 20,000,
// 1,000 with 50 (and a guest's comment held each), and 298 with 100:
// 100,000 approved comments in all, with votes on the two big threads.
func fill(ctx context.Context, d *database) error {
	store, err := models.Open(d.options())
	if err != nil {
		return err
	}
	defer store.Close()
	if err := migrations.Up(store.Write); err != nil {
		return err
	}
	hash, err := auth.NewHasher(auth.DefaultParams).Hash(ctx, password)
	if err != nil {
		return err
	}
	err = store.Write.Transaction(func(tx *gorm.DB) error {
		ids, err := dataset.Users(ctx, tx, users, hash)
		if err != nil {
			return err
		}
		bodies := dataset.Bodies(64, 1)
		threads := []dataset.Thread{
			{Slug: slug200, Comments: 200, Pending: 4, Votes: 20},
			{Slug: slug20k, Comments: 20000, Votes: 20},
		}
		for i := range smallArticles {
			threads = append(threads, dataset.Thread{Slug: smallSlug(i), Comments: 50, HeldGuests: 1})
		}
		for i := range archive {
			threads = append(threads, dataset.Thread{Slug: archiveSlug(i), Comments: 100})
		}
		for _, t := range threads {
			if _, err := dataset.Article(ctx, tx, t, ids, bodies); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil || d.url == "" {
		return err
	}
	// Autovacuum would gather PostgreSQL's statistics within a minute of a
	// bulk load; the benchmark does not wait for it. SQLite is left without
	// statistics, as a deployment's file is.
	return store.Write.Exec("ANALYZE").Error
}

// countComments counts every comment row, reading the database directly.
func countComments(d *database) (int64, error) {
	db, err := openDirect(d, nil)
	if err != nil {
		return 0, err
	}
	defer closeDirect(db)
	var n int64
	err = db.Model(&models.Comment{}).Count(&n).Error
	return n, err
}

// openDirect opens the database beside the server: read-only on SQLite.
func openDirect(d *database, log logger.Interface) (*gorm.DB, error) {
	if log == nil {
		log = logger.Discard
	}
	if d.url != "" {
		store, err := models.Open(models.Options{URL: d.url, Logger: log})
		if err != nil {
			return nil, err
		}
		return store.Read, nil
	}
	file := "file:" + (&url.URL{Path: filepath.Join(d.dataDir, "parley.db")}).EscapedPath() + "?mode=ro&_busy_timeout=5000"
	return gorm.Open(sqlite.Open(file), &gorm.Config{Logger: log})
}

func closeDirect(db *gorm.DB) {
	if sqlDB, err := db.DB(); err == nil {
		sqlDB.Close()
	}
}

// recorder keeps the SQL that GORM runs, with its values inlined.
type recorder struct {
	logger.Interface
	mu  sync.Mutex
	sql []string
}

func (r *recorder) LogMode(logger.LogLevel) logger.Interface { return r }

func (r *recorder) Trace(_ context.Context, _ time.Time, fc func() (string, int64), _ error) {
	s, _ := fc()
	r.mu.Lock()
	r.sql = append(r.sql, s)
	r.mu.Unlock()
}

func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.sql
	r.sql = nil
	return out
}

// explain prints the plans of the hot queries, captured as the code runs
// them: a thread page (first and later, public and signed-in), the article
// lookup, and the moderation queue (pending and flagged).
func explain(ctx context.Context, d *database, w *os.File) error {
	rec := &recorder{Interface: logger.Discard}
	db, err := openDirect(d, rec)
	if err != nil {
		return err
	}
	defer closeDirect(db)
	article, err := models.ThreadArticle(ctx, db, models.DefaultSite, slug20k)
	if err != nil {
		return err
	}
	page, err := models.LoadThread(ctx, db, models.ThreadQuery{ArticleID: article.ID, Sort: models.SortOldest, Limit: 50})
	if err != nil {
		return err
	}
	steps := []struct {
		name string
		run  func() error
	}{
		{"article lookup", func() error { _, err := models.ThreadArticle(ctx, db, models.DefaultSite, slug20k); return err }},
		{"thread, first page, public (20,000 comments)", func() error {
			_, err := models.LoadThread(ctx, db, models.ThreadQuery{ArticleID: article.ID, Sort: models.SortOldest, Limit: 50})
			return err
		}},
		{"thread, later page via cursor, public", func() error {
			_, err := models.LoadThread(ctx, db, models.ThreadQuery{ArticleID: article.ID, Sort: models.SortOldest, Limit: 50, Cursor: page.NextCursor})
			return err
		}},
		{"thread, first page, sort=top", func() error {
			_, err := models.LoadThread(ctx, db, models.ThreadQuery{ArticleID: article.ID, Sort: models.SortTop, Limit: 50})
			return err
		}},
		{"thread, first page, signed in", func() error {
			_, err := models.LoadThread(ctx, db, models.ThreadQuery{ArticleID: article.ID, Sort: models.SortOldest, Limit: 50, Viewer: models.Viewer{UserID: 1}})
			return err
		}},
		{"thread, first page, moderator", func() error {
			_, err := models.LoadThread(ctx, db, models.ThreadQuery{ArticleID: article.ID, Sort: models.SortOldest, Limit: 50, Viewer: models.Viewer{UserID: 1, Moderator: true}})
			return err
		}},
		{"signed-in extras: the reader's facts (pending check and votes), then votes by id (moderation queue, one comment)", func() error {
			if _, err := models.LoadReaderFacts(ctx, db, article.ID, 1); err != nil {
				return err
			}
			_, err := models.VotesOf(ctx, db, 1, page.IDs)
			return err
		}},
		{"moderation queue, pending", func() error {
			_, err := moderation.NewService(&models.Store{Read: db, Write: db}, nil).Queue(ctx, moderation.QueueQuery{State: moderation.QueuePending})
			return err
		}},
		{"moderation queue, flagged", func() error {
			_, err := moderation.NewService(&models.Store{Read: db, Write: db}, nil).Queue(ctx, moderation.QueueQuery{State: moderation.QueueFlagged})
			return err
		}},
	}
	prefix := "EXPLAIN QUERY PLAN "
	if d.url != "" {
		prefix = "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) "
	}
	for _, st := range steps {
		rec.take()
		if err := st.run(); err != nil {
			return fmt.Errorf("%s: %w", st.name, err)
		}
		fmt.Fprintf(w, "\n### %s\n", st.name)
		for _, q := range rec.take() {
			fmt.Fprintf(w, "\n%s\n", shorten(q))
			lines, err := models.ExplainLines(db, prefix+q)
			if err != nil {
				return fmt.Errorf("explain %s: %w", st.name, err)
			}
			for _, l := range lines {
				fmt.Fprintf(w, "    %s\n", l)
			}
		}
	}
	return nil
}

// shorten keeps a logged query readable: long IN lists are cut.
func shorten(q string) string {
	q = strings.Join(strings.Fields(q), " ")
	if i := strings.Index(q, " IN ("); i >= 0 {
		if j := strings.Index(q[i:], ")"); j > 80 {
			q = q[:i+40] + " …" + q[i+j:]
		}
	}
	return q
}
