package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-comments/parley/api"
	"github.com/parley-comments/parley/auth"
	"github.com/parley-comments/parley/migrations"
	"github.com/parley-comments/parley/models"
	"github.com/parley-comments/parley/seeds"
)

// inProcess is the real router over HTTP on a loopback port, in this
// process, so a test can reach into the store (its busy timeout, its
// writer connection) while requests run.
type inProcess struct {
	store *models.Store
	dir   string
	log   *syncBuffer
	*client
}

func startInProcess(t *testing.T, o models.Options) *inProcess {
	t.Helper()
	dir := t.TempDir()
	o.Path = filepath.Join(dir, "parley.db")
	store, err := models.Open(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if err := migrations.Up(store.Write); err != nil {
		t.Fatal(err)
	}
	hasher := auth.NewHasher(auth.TestParams)
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	if err := seeds.Apply(t.Context(), store, seeds.Options{AdminPassword: testAdminPassword, Hasher: hasher, Logger: log}); err != nil {
		t.Fatal(err)
	}
	e := api.NewServer(api.Config{Store: store, JWTSecret: []byte(testJWTSecret), Hasher: hasher, Logger: log})
	ts := httptest.NewServer(e)
	t.Cleanup(ts.Close)
	return &inProcess{store: store, dir: dir, log: logs,
		client: &client{base: ts.URL + "/api/v1", http: &http.Client{Timeout: 30 * time.Second}}}
}

// postResponse is a post's whole answer, headers included.
type postResponse struct {
	status     int
	code       string // the error code of a refusal
	retryAfter string
	id         uint
}

func (c *client) postFull(t testing.TB, token, body string) postResponse {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"body": body})
	req, err := http.NewRequest("POST", c.base+"/articles/"+seedSlug+"/comments", strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.http.Do(req)
	if err != nil {
		t.Fatalf("post: %v", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Comment struct {
			ID uint `json:"id"`
		} `json:"comment"`
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("post: status %d, body %q: %v", resp.StatusCode, raw, err)
	}
	return postResponse{status: resp.StatusCode, code: v.Error.Code, retryAfter: resp.Header.Get("Retry-After"), id: v.Comment.ID}
}

// TestBusyDatabase: while another program holds the database's write lock,
// a post answers 503 "unavailable" with Retry-After once the busy timeout is
// over (not 500, not a hang), reads still answer, and posting works again
// once the lock is released.
func TestBusyDatabase(t *testing.T) {
	const busy = 300 * time.Millisecond
	s := startInProcess(t, models.Options{BusyTimeout: busy})
	u := s.register(t, "patient")
	release := holdWriteLock(t, s.dir)

	start := time.Now()
	r := s.postFull(t, u.Token, "posted while the database is locked")
	took := time.Since(start)
	if r.status != http.StatusServiceUnavailable || r.code != "unavailable" || r.retryAfter == "" {
		t.Fatalf("post = %d %q Retry-After %q, want 503 unavailable with Retry-After", r.status, r.code, r.retryAfter)
	}
	if took < busy || took > busy+5*time.Second {
		t.Fatalf("answered after %v, want soon after the %v busy timeout", took, busy)
	}
	if status, body, err := s.do("GET", "/articles/"+seedSlug+"/comments", "", nil); err != nil || status != http.StatusOK {
		t.Fatalf("read while locked: %d %s %v", status, body, err)
	}

	release()
	r = s.postFull(t, u.Token, "posted once the lock is gone")
	if r.status != http.StatusCreated {
		t.Fatalf("post after release = %d %q, want 201", r.status, r.code)
	}
	stored := checkDB(t, openDB(t, s.dir))
	if len(stored) != 1 || stored[r.id] != "posted once the lock is gone" {
		t.Fatalf("stored comments = %v, want only %d", stored, r.id)
	}
}

// TestFullDisk fills the database (SQLite's max_page_count stands in for a
// full disk) with concurrent posts: they answer 201 or 507 storage_full with
// Retry-After, never 500; exactly the acknowledged comments are stored and
// the article's comment_count agrees; once space is back, posts succeed.
func TestFullDisk(t *testing.T) {
	const posters = 16
	s := startInProcess(t, models.Options{})
	users := make([]user, posters)
	for i := range users {
		users[i] = s.register(t, fmt.Sprintf("filler%d", i))
	}
	var pages int
	if err := s.store.Write.Raw("PRAGMA page_count").Scan(&pages).Error; err != nil {
		t.Fatal(err)
	}
	// The writer pool has exactly one connection, so this per-connection
	// limit holds for every write the server makes from now on.
	if err := s.store.Write.Exec(fmt.Sprintf("PRAGMA max_page_count = %d", pages+120)).Error; err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	acked := map[uint]bool{}
	statuses := map[int]int{}
	var wg sync.WaitGroup
	for p := range posters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range 200 {
				body := fmt.Sprintf("poster %d post %d %s", p, n, strings.Repeat("filling the disk. ", 450))
				r := s.postFull(t, users[p].Token, body)
				mu.Lock()
				statuses[r.status]++
				if r.status == http.StatusCreated {
					acked[r.id] = true
				}
				mu.Unlock()
				if r.status == http.StatusInsufficientStorage && (r.code != "storage_full" || r.retryAfter == "") {
					t.Errorf("507 with code %q and Retry-After %q, want storage_full and a Retry-After", r.code, r.retryAfter)
				}
				if r.status != http.StatusCreated {
					return
				}
			}
		}()
	}
	wg.Wait()
	t.Logf("statuses until full: %v", statuses)
	if statuses[http.StatusInsufficientStorage] == 0 || len(statuses) != 2 {
		t.Fatalf("statuses = %v, want only 201 and 507", statuses)
	}
	stored := checkDB(t, openDB(t, s.dir))
	for id := range stored {
		if !acked[id] {
			t.Errorf("comment %d is stored but its post was refused", id)
		}
	}
	if len(stored) != len(acked) {
		t.Fatalf("stored %d comments, want the %d acknowledged", len(stored), len(acked))
	}

	if err := s.store.Write.Exec("PRAGMA max_page_count = 1073741823").Error; err != nil {
		t.Fatal(err)
	}
	r := s.postFull(t, users[0].Token, "space is back")
	if r.status != http.StatusCreated {
		t.Fatalf("post once space is back = %d %q, want 201", r.status, r.code)
	}
	if stored := checkDB(t, openDB(t, s.dir)); len(stored) != len(acked)+1 {
		t.Fatalf("stored %d comments, want %d", len(stored), len(acked)+1)
	}
}
