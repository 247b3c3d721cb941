package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parley-comments/parley/models/dbtest"
)

// TestPostgresOnlyBuild: with CGO_ENABLED=0 the binary builds (statically
// linked, no C compiler), serves a PostgreSQL database, and without one
// says clearly that it has no SQLite instead of failing obscurely.
func TestPostgresOnlyBuild(t *testing.T) {
	dsn := dbtest.PostgresSchema(t)
	bin := filepath.Join(t.TempDir(), "parley-nocgo")
	build := exec.Command("go", "build", "-ldflags=-s -w", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("CGO_ENABLED=0 go build: %v\n%s", err, out)
	}

	cmd := exec.Command(bin)
	cmd.Env = processEnv(t.TempDir())
	out, err := cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); code != exitFailure || !strings.Contains(string(out), "no SQLite") {
		t.Fatalf("without a database URL: exit %d (%v), output %q; want 1 and a clear reason", code, err, out)
	}

	addr := freeAddr(t)
	p := startBinary(t, bin, processEnv(t.TempDir(), "PARLEY_ADDR="+addr, "PARLEY_DATABASE_URL="+dsn))
	p.URL = "http://" + addr
	p.waitReady(t)
}
