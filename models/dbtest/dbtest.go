// Package dbtest gives each test a fresh, migrated database: a SQLite file in
// the test's temp dir, or a schema of its own on PostgreSQL. Main runs a
// package's tests once on each.
package dbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/goleak"

	"github.com/parley-comments/parley/migrations"
	"github.com/parley-comments/parley/models"
)

// DefaultPostgresURL is the PostgreSQL that CI machines run; override it
// with PARLEY_TEST_POSTGRES_URL.
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// backend is "sqlite" during the first run of Main and "postgres" during the second.
var backend = "sqlite"

// Backend names the database the current run uses.
func Backend() string { return backend }

// PostgresURL is where the PostgreSQL run connects.
func PostgresURL() string {
	if u := os.Getenv("PARLEY_TEST_POSTGRES_URL"); u != "" {
		return u
	}
	return DefaultPostgresURL
}

// Main runs the package's tests on SQLite and then on PostgreSQL. Without a
// reachable PostgreSQL the second run is skipped with a message, except in
// CI (CI=true), where that is a failure.
func Main(m *testing.M) int {
	if code := m.Run(); code != 0 {
		return code
	}
	if os.Getenv("PARLEY_TEST_POSTGRES") == "off" {
		fmt.Println("dbtest: PostgreSQL run turned off by PARLEY_TEST_POSTGRES=off")
		return 0
	}
	if err := ping(PostgresURL()); err != nil {
		if os.Getenv("CI") == "true" {
			fmt.Printf("dbtest: FAIL: PostgreSQL is required in CI but unreachable: %v\n", err)
			return 1
		}
		fmt.Printf("dbtest: skipping the PostgreSQL run: %v\n", err)
		return 0
	}
	backend = "postgres"
	fmt.Println("dbtest: running the tests again on PostgreSQL")
	return m.Run()
}

func ping(dsn string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	return conn.Ping(ctx)
}

// Open returns a fresh migrated store for t, closed and removed at cleanup.
func Open(t testing.TB) *models.Store {
	t.Helper()
	s := OpenEmpty(t)
	if err := migrations.Up(s.Write); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return s
}

// OpenEmpty returns a fresh store with no schema.
func OpenEmpty(t testing.TB) *models.Store {
	t.Helper()
	var o models.Options
	if backend == "postgres" {
		o.URL = freshSchema(t)
	} else {
		o.Path = filepath.Join(t.TempDir(), "parley.db")
	}
	s, err := models.Open(o)
	if err != nil {
		t.Fatalf("open %s: %v", backend, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// freshSchema creates a schema for one test and returns a URL whose
// search_path points at it; the schema is dropped at cleanup.
func freshSchema(t testing.TB) string {
	t.Helper()
	b := make([]byte, 6)
	rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	base := PostgresURL()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect postgres: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), base)
		if err != nil {
			t.Logf("drop schema %s: %v", schema, err)
			return
		}
		defer c.Close(context.Background())
		c.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse postgres url: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// PostgresSchema returns the URL of an empty schema of its own on the test
// PostgreSQL, whatever the run, for tests that hand a URL to a process.
// Without a reachable server it skips (fails in CI).
func PostgresSchema(t testing.TB) string {
	t.Helper()
	if err := ping(PostgresURL()); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL is required in CI: %v", err)
		}
		t.Skipf("no PostgreSQL: %v", err)
	}
	return freshSchema(t)
}

// OpenPostgres returns a fresh migrated store on PostgreSQL whatever the run,
// for tests of PostgreSQL-only behaviour. Without a reachable server it skips
// (fails in CI).
func OpenPostgres(t testing.TB) *models.Store {
	t.Helper()
	s, err := models.Open(models.Options{URL: PostgresSchema(t)})
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	if err := migrations.Up(s.Write); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return s
}

// MigratedPostgresSchema is PostgresSchema with the migrations applied, for
// tests that open several stores on one database (several instances).
func MigratedPostgresSchema(t testing.TB) string {
	t.Helper()
	u := PostgresSchema(t)
	s, err := models.Open(models.Options{URL: u})
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	defer s.Close()
	if err := migrations.Up(s.Write); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return u
}

// NoLeaks fails a package's run (code 0 becomes 1) when goroutines its tests
// started are still running once they all finished: a server, worker or
// stream that was not shut down. Use it in TestMain around Main.
func NoLeaks(code int) int {
	if code != 0 {
		return code
	}
	// GORM's prepared-statement cache starts an expiry goroutine per
	// database handle and offers no way to stop it.
	if err := goleak.Find(goleak.IgnoreTopFunction("gorm.io/gorm/internal/lru.NewLRU[...].func1")); err != nil {
		fmt.Printf("dbtest: FAIL: goroutines outlived the tests: %v\n", err)
		return 1
	}
	return 0
}
