package migrations_test

import (
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver

	"database/sql"
	"os"
	"slices"
	"sync"
	"testing"

	"github.com/parley-comments/parley/migrations"
	"github.com/parley-comments/parley/models/dbtest"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

func TestUpFromEmptyAndAgain(t *testing.T) {
	s := dbtest.OpenEmpty(t)
	if err := migrations.Up(s.Write); err != nil {
		t.Fatalf("first Up: %v", err)
	}
	tables, err := s.Write.Migrator().GetTables()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"users", "articles", "comments", "votes", "flags", "refresh_tokens", "bans", "audit_log", "settings", "schema_migrations"} {
		if !slices.Contains(tables, want) {
			t.Errorf("table %s missing after Up (have %v)", want, tables)
		}
	}
	for _, idx := range []string{"idx_comments_thread", "idx_comments_root", "idx_comments_score"} {
		if !s.Write.Migrator().HasIndex("comments", idx) {
			t.Errorf("index %s missing", idx)
		}
	}
	applied, err := migrations.Applied(s.Write)
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) != len(migrations.Steps) {
		t.Fatalf("applied %v, want all %d steps", applied, len(migrations.Steps))
	}

	// A second run changes nothing: same records, data untouched.
	if err := s.Write.Exec("INSERT INTO articles (slug, title, body, url, published_at, created_at, updated_at) VALUES ('keep', 'Keep', '', '', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)").Error; err != nil {
		t.Fatal(err)
	}
	if err := migrations.Up(s.Write); err != nil {
		t.Fatalf("second Up: %v", err)
	}
	again, _ := migrations.Applied(s.Write)
	if !slices.Equal(applied, again) {
		t.Fatalf("second Up changed the record: %v → %v", applied, again)
	}
	var n int64
	s.Write.Table("articles").Where("slug = 'keep'").Count(&n)
	if n != 1 {
		t.Fatal("second Up lost data")
	}
}

func TestForeignKeysCascade(t *testing.T) {
	s := dbtest.Open(t)
	db := s.Write
	exec := func(q string) {
		t.Helper()
		if err := db.Exec(q).Error; err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec("INSERT INTO articles (id, slug, title, body, url, published_at, created_at, updated_at) VALUES (1, 'a', 'A', '', '', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)")
	exec("INSERT INTO comments (id, article_id, body, body_html, status, created_at, updated_at) VALUES (1, 1, 'x', 'x', 'approved', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)")
	exec("INSERT INTO comments (id, article_id, parent_id, root_id, body, body_html, status, created_at, updated_at) VALUES (2, 1, 1, 1, 'y', 'y', 'approved', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)")
	if err := db.Exec("INSERT INTO comments (article_id, body, body_html, status, created_at, updated_at) VALUES (99, 'z', 'z', 'approved', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)").Error; err == nil {
		t.Fatal("a comment on a missing article was accepted: foreign keys are off")
	}
	exec("DELETE FROM articles WHERE id = 1")
	var n int64
	db.Table("comments").Count(&n)
	if n != 0 {
		t.Fatalf("%d comments survived their article", n)
	}
}

// TestUpReleasesItsLock runs Up from several goroutines on a pool of many
// connections and checks that afterwards another session can take the
// migration lock: the lock and the unlock must run on one connection, or the
// lock stays held by an idle pooled connection and the next start hangs.
func TestUpReleasesItsLock(t *testing.T) {
	if dbtest.Backend() != "postgres" {
		t.Skip("the advisory lock is PostgreSQL's")
	}
	s := dbtest.OpenEmpty(t)
	sqlDB, err := s.Write.DB()
	if err != nil {
		t.Fatal(err)
	}
	sqlDB.SetMaxOpenConns(8)
	sqlDB.SetMaxIdleConns(8)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- migrations.Up(s.Write)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Up: %v", err)
		}
	}
	other, err := sql.Open("pgx", dbtest.PostgresURL())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	// Other test processes may migrate meanwhile and hold the lock for a
	// while (every test schema migrates under the one database-wide lock,
	// for seconds on a loaded machine); a leaked lock stays held.
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var got bool
		if err := other.QueryRow("SELECT pg_try_advisory_lock($1)", migrations.LockKey).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the migration lock is still held after Up returned")
		}
	}
	if _, err := other.Exec("SELECT pg_advisory_unlock($1)", migrations.LockKey); err != nil {
		t.Fatal(err)
	}
}
