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
	"path/filepath"
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
			status, id, err := postTraced(c, u.Token, fmt.Sprintf("drained post %d", i), written.Done)
			results <- result{status, id, err}
		}()
	}
	waitGroupWithin(t, &written, 10*time.Second, "requests to be written")
	// Connections are accepted in order: once one opened after them is
	// answered, the server has accepted them all.
	fresh := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := fresh.Get(srv.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

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
