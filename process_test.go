package main

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"github.com/parley-comments/parley/models/dbtest"
	"github.com/parley-comments/parley/seeds"
)

// The tests in this package run the real binary, built once per run, on a
// temp data dir and a free loopback port, and end only the processes they
// started, by PID.

const (
	testJWTSecret     = "process-tests-jwt-secret-0123456789abcdef"
	testAdminPassword = "process-tests-admin-password"
	seedSlug          = seeds.ArticleSlug
)

var (
	binOnce sync.Once
	binDir  string
	binPath string
	binErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(dbtest.NoLeaks(code))
}

// parleyBinary builds the binary on first use, so a run of only the
// in-process tests does not pay for it.
func parleyBinary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		if binDir, binErr = os.MkdirTemp("", "parley-bin-"); binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "parley")
		// go test puts its own go first on PATH. Without symbols the link,
		// most of the build's time, is quicker.
		out, err := exec.Command("go", "build", "-ldflags=-s -w", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// syncBuffer collects a process's output while it runs.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// process is one run of the binary.
type process struct {
	cmd    *exec.Cmd
	URL    string // http://host:port when serving
	Output *syncBuffer
	exited chan struct{}
	code   int // exit code, -1 when killed by a signal; valid once exited is closed
}

// processEnv is the test's environment without PARLEY_* settings, plus the
// ones every run here uses, plus extra.
func processEnv(dataDir string, extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PARLEY_") {
			env = append(env, kv)
		}
	}
	// No request lines: the load tests would keep megabytes of them.
	env = append(env, "PARLEY_DATA_DIR="+dataDir, "PARLEY_RATE_LIMIT=off", "PARLEY_REQUEST_LOG=off",
		"PARLEY_ADMIN_PASSWORD="+testAdminPassword, "PARLEY_JWT_SECRET="+testJWTSecret)
	return append(env, extra...)
}

// startProcess runs the binary with args; the process is killed at cleanup
// if it still runs.
func startProcess(t testing.TB, env []string, args ...string) *process {
	t.Helper()
	return startBinary(t, parleyBinary(t), env, args...)
}

// startBinary is startProcess for another build of the binary.
func startBinary(t testing.TB, bin string, env []string, args ...string) *process {
	t.Helper()
	p := &process{cmd: exec.Command(bin, args...), Output: &syncBuffer{}, exited: make(chan struct{})}
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = p.Output, p.Output
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		err := p.cmd.Wait()
		p.code = 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			p.code = ee.ExitCode()
		}
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			p.cmd.Process.Kill() // SIGKILL to this PID only
			<-p.exited
		}
	})
	return p
}

// startServer serves dataDir on a free loopback port and waits until ready.
func startServer(t testing.TB, dataDir string, extraEnv ...string) *process {
	t.Helper()
	addr := freeAddr(t)
	p := startProcess(t, processEnv(dataDir, append([]string{"PARLEY_ADDR=" + addr}, extraEnv...)...))
	p.URL = "http://" + addr
	p.waitReady(t)
	return p
}

// waitReady waits until the process answers /readyz at p.URL.
func (p *process) waitReady(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	client := &http.Client{Timeout: time.Second}
	for {
		resp, err := client.Get(p.URL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-p.exited:
			t.Fatalf("server exited with %d before it was ready:\n%s", p.code, p.Output)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not ready after 30 s:\n%s", p.Output)
		}
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *process) kill(t testing.TB) {
	t.Helper()
	if err := p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Fatal(err)
	}
	<-p.exited
}

// stop sends SIGTERM and returns the exit code, failing the test if the
// process takes longer than within.
func (p *process) stop(t testing.TB, within time.Duration) int {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Fatal(err)
	}
	return p.wait(t, within)
}

func (p *process) wait(t testing.TB, within time.Duration) int {
	t.Helper()
	select {
	case <-p.exited:
		return p.code
	case <-time.After(within):
		t.Fatalf("process still running after %v:\n%s", within, p.Output)
		return 0
	}
}

// client talks to a running server.
type client struct {
	base string
	http *http.Client
}

func newClient(p *process) *client {
	return &client{base: p.URL + "/api/v1", http: &http.Client{Timeout: 30 * time.Second}}
}

// do sends a JSON request and returns the status and body; err is a
// transport error (no answer).
func (c *client) do(method, path, token string, body any) (int, []byte, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, r)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// user is a registered account.
type user struct {
	ID    uint
	Token string
}

func (c *client) register(t testing.TB, name string) user {
	t.Helper()
	status, body, err := c.do("POST", "/auth/register", "", map[string]string{"username": name, "password": "password-" + name})
	if err != nil || status != http.StatusCreated {
		t.Fatalf("register %s: %d %s %v", name, status, body, err)
	}
	var s struct {
		User struct {
			ID uint `json:"id"`
		} `json:"user"`
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(body, &s); err != nil {
		t.Fatal(err)
	}
	return user{ID: s.User.ID, Token: s.AccessToken}
}

// post creates a comment; id is set on 201.
func (c *client) post(token, body string, parent uint) (status int, id uint, resp []byte, err error) {
	req := map[string]any{"body": body}
	if parent != 0 {
		req["parent_id"] = parent
	}
	status, resp, err = c.do("POST", "/articles/"+seedSlug+"/comments", token, req)
	if err != nil || status != http.StatusCreated {
		return status, 0, resp, err
	}
	var v struct {
		Comment struct {
			ID uint `json:"id"`
		} `json:"comment"`
	}
	if err := json.Unmarshal(resp, &v); err != nil {
		return status, 0, resp, fmt.Errorf("decode %s: %w", resp, err)
	}
	return status, v.Comment.ID, resp, nil
}

// checkComments fetches every id through the API, a few at a time.
func (c *client) checkComments(t testing.TB, ids []uint) {
	t.Helper()
	work := make(chan uint)
	var mu sync.Mutex
	var missing []string
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range work {
				status, body, err := c.do("GET", fmt.Sprintf("/comments/%d", id), "", nil)
				if err != nil || status != http.StatusOK {
					mu.Lock()
					missing = append(missing, fmt.Sprintf("%d: %d %s %v", id, status, body, err))
					mu.Unlock()
				}
			}
		}()
	}
	for _, id := range ids {
		work <- id
	}
	close(work)
	wg.Wait()
	if len(missing) > 0 {
		t.Fatalf("%d of %d acknowledged comments are not served, e.g. %s", len(missing), len(ids), missing[0])
	}
}

// openDB opens a data dir's SQLite file for checks. It writes nothing, but
// may recover the WAL index after a crash, as the server would.
func openDB(t testing.TB, dataDir string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite3", sqliteURI(filepath.Join(dataDir, "parley.db"), "mode=ro&_busy_timeout=5000"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// checkDB runs integrity_check on a SQLite database, then storedComments.
func checkDB(t testing.TB, db *sql.DB) map[uint]string {
	t.Helper()
	var integrity string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&integrity); err != nil || integrity != "ok" {
		t.Fatalf("integrity_check = %q (%v), want ok", integrity, err)
	}
	return storedComments(t, db)
}

// storedComments checks that each article's comment_count matches its
// approved comments and returns the comments' bodies by id.
func storedComments(t testing.TB, db *sql.DB) map[uint]string {
	t.Helper()
	rows, err := db.Query(`SELECT a.slug, a.comment_count,
		(SELECT count(*) FROM comments c WHERE c.article_id = a.id AND c.status = 'approved') FROM articles a`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var slug string
		var count, approved int
		if err := rows.Scan(&slug, &count, &approved); err != nil {
			t.Fatal(err)
		}
		if count != approved {
			t.Errorf("article %s: comment_count = %d, want %d approved comments", slug, count, approved)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	rows, err = db.Query("SELECT id, body FROM comments")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	bodies := map[uint]string{}
	for rows.Next() {
		var id uint
		var body string
		if err := rows.Scan(&id, &body); err != nil {
			t.Fatal(err)
		}
		bodies[id] = body
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return bodies
}

// TestSecondProcessRefused: a second server on the same data dir exits
// non-zero, naming the directory, and the first one keeps serving.
func TestSecondProcessRefused(t *testing.T) {
	dir := t.TempDir()
	first := startServer(t, dir)
	second := startProcess(t, processEnv(dir, "PARLEY_ADDR="+freeAddr(t)))
	code := second.wait(t, 30*time.Second)
	out := second.Output.String()
	if code == 0 {
		t.Fatalf("second process exited 0, want non-zero:\n%s", out)
	}
	if !strings.Contains(out, "another Parley process") || !strings.Contains(out, dir) {
		t.Fatalf("second process said %q, want a message naming the data directory %s", out, dir)
	}
	c := newClient(first)
	if status, body, err := c.do("GET", "/articles/"+seedSlug, "", nil); err != nil || status != http.StatusOK {
		t.Fatalf("first server after the refused start: %d %s %v", status, body, err)
	}
}
