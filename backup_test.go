package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestBackupUnderLoad runs the backup command while the server takes
// posts, restores the copy into a fresh data dir, and finds there every
// comment acknowledged before the backup started.
func TestBackupUnderLoad(t *testing.T) {
	const posters = 4
	dir := t.TempDir()
	srv := startServer(t, dir)
	c := newClient(srv)
	users := make([]user, posters)
	for i := range users {
		users[i] = c.register(t, fmt.Sprintf("backer%d", i))
	}

	var mu sync.Mutex
	var acked []uint
	var failures []string
	var stop atomic.Bool
	var wg sync.WaitGroup
	for p := range posters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; !stop.Load(); n++ {
				status, id, resp, err := c.post(users[p].Token, fmt.Sprintf("backup load: poster %d post %d", p, n), 0)
				mu.Lock()
				if err == nil && status == http.StatusCreated {
					acked = append(acked, id)
				} else {
					failures = append(failures, fmt.Sprintf("%d %s %v", status, resp, err))
				}
				mu.Unlock()
			}
		}()
	}
	t.Cleanup(func() { stop.Store(true); wg.Wait() })
	waitFor(t, 20*time.Second, "50 acknowledged posts", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(acked) >= 50
	})

	out := filepath.Join(t.TempDir(), "parley-backup.db")
	mu.Lock()
	before := append([]uint(nil), acked...)
	mu.Unlock()
	started := time.Now()
	b := startProcess(t, processEnv(dir), "backup", out)
	if code := b.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("backup exited %d:\n%s", code, b.Output)
	}
	took := time.Since(started)
	mu.Lock()
	during := len(acked) - len(before)
	mu.Unlock()
	time.Sleep(100 * time.Millisecond) // writes go on after the backup too
	stop.Store(true)
	wg.Wait()
	if len(failures) > 0 {
		t.Fatalf("%d posts failed during the backup, e.g. %s", len(failures), failures[0])
	}
	if code := srv.stop(t, 25*time.Second); code != 0 {
		t.Fatalf("server exit code = %d, want 0", code)
	}

	st, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(filepath.Dir(out))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Fatalf("backup dir holds %v, want only the backup (no temp, -wal or -shm files)", names)
	}
	t.Logf("backup of %d bytes in %v while the server took writes (%d posts acknowledged meanwhile)", st.Size(), took.Round(time.Millisecond), during)

	again := startProcess(t, processEnv(dir), "backup", out)
	if code := again.wait(t, 30*time.Second); code == 0 || !strings.Contains(again.Output.String(), "already exists") {
		t.Fatalf("second backup to the same file: exit %d, %q; want a refusal", code, again.Output)
	}
	if st2, err := os.Stat(out); err != nil || st2.Size() != st.Size() || !st2.ModTime().Equal(st.ModTime()) {
		t.Fatalf("the refused backup changed the existing file: %v %v", st2, err)
	}

	restored := t.TempDir()
	copyFile(t, out, filepath.Join(restored, "parley.db"))
	srv = startServer(t, restored)
	newClient(srv).checkComments(t, before)
	if code := srv.stop(t, 25*time.Second); code != 0 {
		t.Fatalf("restored server exit code = %d, want 0", code)
	}
	stored := checkDB(t, openDB(t, restored))
	all := map[uint]bool{}
	for _, id := range acked {
		all[id] = true
	}
	for id := range stored {
		if !all[id] {
			t.Errorf("the backup holds comment %d, which was never acknowledged", id)
		}
	}
	t.Logf("restored: %d comments, all %d acknowledged before the backup among them", len(stored), len(before))
}

// TestBackupRefusals: the command's refusals, each an error (a non-zero exit).
func TestBackupRefusals(t *testing.T) {
	empty, withDB := t.TempDir(), t.TempDir()
	// The refusals come before the database is opened: any file will do.
	if err := os.WriteFile(filepath.Join(withDB, "parley.db"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	existing := filepath.Join(t.TempDir(), "taken.db")
	if err := os.WriteFile(existing, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"postgres points to pg_dump", map[string]string{"PARLEY_DATA_DIR": withDB, "PARLEY_DATABASE_URL": "postgres://127.0.0.1:1/none"},
			[]string{"backup", filepath.Join(t.TempDir(), "b.db")}, "pg_dump"},
		{"no database yet", map[string]string{"PARLEY_DATA_DIR": empty}, []string{"backup", filepath.Join(t.TempDir(), "b.db")}, "no database"},
		{"no file named", map[string]string{"PARLEY_DATA_DIR": withDB}, []string{"backup"}, "usage"},
		{"existing file", map[string]string{"PARLEY_DATA_DIR": withDB}, []string{"backup", existing}, "already exists"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr strings.Builder
			code := run(tc.args, func(k string) string { return tc.env[k] }, io.Discard, &stderr)
			if code == 0 || !strings.Contains(stderr.String(), tc.want) {
				t.Fatalf("exit %d, stderr %q; want a failure mentioning %q", code, stderr.String(), tc.want)
			}
		})
	}
	if b, err := os.ReadFile(existing); err != nil || string(b) != "keep me" {
		t.Fatalf("existing file now holds %q (%v)", b, err)
	}
	if entries, _ := os.ReadDir(empty); len(entries) != 0 {
		t.Fatalf("backup created files in an empty data dir: %v", entries)
	}
}

func copyFile(t testing.TB, from, to string) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond until it holds.
func waitFor(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
