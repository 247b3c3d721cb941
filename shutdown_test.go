package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// holdWriteLock takes SQLite's write lock on a data dir's database from a
// connection of its own, as another program would; release gives it back.
func holdWriteLock(t testing.TB, dataDir string) (release func()) {
	t.Helper()
	db, err := sql.Open("sqlite3", sqliteURI(filepath.Join(dataDir, "parley.db"), "_busy_timeout=5000"))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(t.Context(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			conn.ExecContext(context.Background(), "ROLLBACK") // t.Context is over by cleanup time
			conn.Close()
			db.Close()
		})
	}
	t.Cleanup(release)
	return release
}

// TestSIGTERMDrainsRequests: posts are in flight (held up by a write lock
// another program holds) when SIGTERM arrives. The server stops accepting
// connections, finishes every accepted request with its normal status,
// exits 0, and the comments are there after a restart.
func TestSIGTERMDrainsRequests(t *testing.T) {
	const inFlight = 8
	dir := t.TempDir()
	srv := startServer(t, dir)
	c := newClient(srv)
	u := c.register(t, "drainer")

	release := holdWriteLock(t, dir)
	// A connection of its own for each post: one reused from the pool may
	// be idle in the server's eyes when SIGTERM comes, and idle ones close.
	fresh := &client{base: c.base, http: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}}
	type result struct {
		status int
		id     uint
		err    error
	}
	results := make(chan result, inFlight)
	var written sync.WaitGroup
	for i := range inFlight {
		written.Add(1)
		go func() {
			status, id, err := postTraced(fresh, u.Token, fmt.Sprintf("drained post %d", i), written.Done)
			results <- result{status, id, err}
		}()
	}
	waitGroupWithin(t, &written, 10*time.Second, "requests to be written")
	waitRequestsRead(t, srv, inFlight)

	started := time.Now()
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	addr := srv.URL[len("http://"):]
	for deadline := time.Now().Add(5 * time.Second); ; {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			break // the listener is closed: no new work is taken
		}
		conn.Close()
		if time.Now().After(deadline) {
			t.Fatal("the server still accepts connections 5 s after SIGTERM")
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case <-srv.exited:
		t.Fatalf("the server exited (%d) with requests in flight:\n%s", srv.code, srv.Output)
	case <-time.After(300 * time.Millisecond):
	}
	release()

	var ids []uint
	for range inFlight {
		r := <-results
		if r.err != nil || r.status != http.StatusCreated {
			t.Errorf("in-flight post: status %d, err %v; want 201", r.status, r.err)
			continue
		}
		ids = append(ids, r.id)
	}
	if code := srv.wait(t, 25*time.Second); code != 0 {
		t.Fatalf("exit code = %d, want 0:\n%s", code, srv.Output)
	}
	t.Logf("drained %d posts; exited %v after SIGTERM", len(ids), time.Since(started).Round(time.Millisecond))
	if t.Failed() {
		t.FailNow()
	}

	srv = startServer(t, dir)
	newClient(srv).checkComments(t, ids)
	stored := checkDB(t, openDB(t, dir))
	for _, id := range ids {
		if _, ok := stored[id]; !ok {
			t.Errorf("comment %d is not in the database", id)
		}
	}
}

// postTraced posts a comment and calls wrote once the request is on the wire.
func postTraced(c *client, token, body string, wrote func()) (int, uint, error) {
	b, _ := json.Marshal(map[string]string{"body": body})
	var once sync.Once
	trace := &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { once.Do(wrote) }}
	req, err := http.NewRequest("POST", c.base+"/articles/"+seedSlug+"/comments", bytes.NewReader(b))
	if err != nil {
		once.Do(wrote)
		return 0, 0, err
	}
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.http.Do(req)
	once.Do(wrote)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	var v struct {
		Comment struct {
			ID uint `json:"id"`
		} `json:"comment"`
	}
	raw, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode == http.StatusCreated {
		err = json.Unmarshal(raw, &v)
	}
	return resp.StatusCode, v.Comment.ID, err
}

// waitRequestsRead waits until the server has read the requests sent to it:
// at least conns connections to its port, none holding unread bytes in the
// kernel. SIGTERM must come after that, since Go's server drops a request it
// reads once Shutdown began. Without /proc/net/tcp it waits a second instead.
func waitRequestsRead(t *testing.T, srv *process, conns int) {
	t.Helper()
	_, port, err := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf(":%04X", mustAtoi(t, port))
	for deadline := time.Now().Add(15 * time.Second); ; {
		raw, err := os.ReadFile("/proc/net/tcp")
		if err != nil {
			t.Logf("no /proc/net/tcp (%v): waiting a second instead", err)
			time.Sleep(time.Second)
			return
		}
		established, unread := 0, 0
		for _, line := range strings.Split(string(raw), "\n")[1:] {
			f := strings.Fields(line)
			// f[1] is the local address, f[3] the state (01: established),
			// f[4] the tx:rx queues in hex.
			if len(f) < 5 || !strings.HasSuffix(f[1], want) || f[3] != "01" {
				continue
			}
			established++
			if !strings.HasSuffix(f[4], ":00000000") {
				unread++
			}
		}
		if established >= conns && unread == 0 {
			// Past the read, each request goes on to its handler, where
			// the held lock keeps it.
			time.Sleep(100 * time.Millisecond)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 15 s the server has %d connections, %d with unread requests; want %d read", established, unread, conns)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func waitGroupWithin(t testing.TB, wg *sync.WaitGroup, d time.Duration, what string) {
	t.Helper()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("timed out after %v waiting for %s", d, what)
	}
}
