//go:build soak

package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver

	"github.com/parley-comments/parley/models/dbtest"
)

// The soak tests run with -tags soak (CI does; go test ./... does not):
//
//	go test -tags soak -count=1 -run TestSoak . -args -soak.duration=1m
var (
	soakDuration = flag.Duration("soak.duration", durationEnv("PARLEY_SOAK_DURATION", 20*time.Second),
		"how long TestSoakLoad drives each server (env PARLEY_SOAK_DURATION)")
	soakWorkers = flag.Int("soak.workers", 32, "concurrent clients of TestSoakLoad")
)

func durationEnv(key string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(key)); err == nil && d > 0 {
		return d
	}
	return def
}

// TestSoakLoad drives the real server with mixed reads and writes from many
// clients for a bounded time, then reconciles: every 201 is exactly one
// comment row and no other row appeared, every acknowledged vote is the
// stored one and scores add up, comment counts match, and no request met a
// 5xx or "database is locked".
func TestSoakLoad(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		dir := t.TempDir()
		srv := startServer(t, dir)
		soak(t, srv, func(t *testing.T) map[uint]string { return checkDB(t, openDB(t, dir)) }, openDB(t, dir))
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := freshPostgres(t)
		srv := startServer(t, t.TempDir(), "PARLEY_DATABASE_URL="+dsn)
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		soak(t, srv, func(t *testing.T) map[uint]string { return storedComments(t, db) }, db)
	})
}

// freshPostgres creates a schema for the test on the test PostgreSQL and
// returns a URL that uses it; the schema is dropped at cleanup. Without a
// reachable server the test is skipped, except in CI.
func freshPostgres(t *testing.T) string {
	t.Helper()
	if os.Getenv("PARLEY_TEST_POSTGRES") == "off" {
		t.Skip("PARLEY_TEST_POSTGRES=off")
	}
	base := dbtest.PostgresURL()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL is required in CI: %v", err)
		}
		t.Skipf("PostgreSQL unreachable: %v", err)
	}
	defer conn.Close(context.Background())
	b := make([]byte, 6)
	rand.Read(b)
	schema := "soak_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), base)
		if err != nil {
			t.Logf("drop schema %s: %v", schema, err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Logf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// soakStats is what the clients saw.
type soakStats struct {
	mu         sync.Mutex
	byOp       map[string]map[int]int // op → status → count (0: no answer)
	unexpected []string
	locked     int // responses that mention "database is locked"
	acked      map[uint]string
	known      []knownComment // acknowledged comments, for replies, votes and reads
}

type knownComment struct {
	id     uint
	author int
}

func (s *soakStats) record(op string, want, status int, body []byte, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byOp[op] == nil {
		s.byOp[op] = map[int]int{}
	}
	s.byOp[op][status]++
	if strings.Contains(string(body), "database is locked") {
		s.locked++
	}
	if (err != nil || status != want) && len(s.unexpected) < 10 {
		s.unexpected = append(s.unexpected, fmt.Sprintf("%s: %d %.200s %v", op, status, body, err))
	}
}

func (s *soakStats) pick(r *mrand.Rand, notBy int) (knownComment, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range 4 {
		if len(s.known) == 0 {
			return knownComment{}, false
		}
		k := s.known[r.IntN(len(s.known))]
		if k.author != notBy {
			return k, true
		}
	}
	return knownComment{}, false
}

func soak(t *testing.T, srv *process, stored func(*testing.T) map[uint]string, db *sql.DB) {
	workers, duration := *soakWorkers, *soakDuration
	c := &client{base: srv.URL + "/api/v1", http: &http.Client{Timeout: 30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: workers * 2}}}
	users := make([]user, workers)
	var wg sync.WaitGroup
	for i := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			users[i] = c.register(t, fmt.Sprintf("soaker%02d", i))
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	before := stored(t)

	st := &soakStats{byOp: map[string]map[int]int{}, acked: map[uint]string{}}
	votes := make([]map[uint]int, workers) // each client's last acknowledged vote per comment
	deadline := time.Now().Add(duration)
	started := time.Now()
	for w := range workers {
		votes[w] = map[uint]int{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := mrand.New(mrand.NewPCG(uint64(w), uint64(started.UnixNano())))
			for n := 0; time.Now().Before(deadline); n++ {
				soakStep(c, st, r, w, n, users[w], votes[w])
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(started)
	if code := srv.stop(t, 25*time.Second); code != 0 {
		t.Errorf("server exit code after SIGTERM = %d, want 0", code)
	}

	var requests int
	// On PostgreSQL an overloaded server may answer 503 with Retry-After (a
	// statement or page build ran out of time): a refusal, never a loss.
	// Writes to the one hot article still stall past 5 s now and then on a
	// 2-core machine; until that is understood a few such refusals pass,
	// and every other 5xx fails.
	overloadOK := strings.HasSuffix(t.Name(), "/postgres")
	busy := 0
	var lines []string
	ops := make([]string, 0, len(st.byOp))
	for op := range st.byOp {
		ops = append(ops, op)
	}
	slices.Sort(ops)
	for _, op := range ops {
		var parts []string
		for status, n := range st.byOp[op] {
			requests += n
			parts = append(parts, fmt.Sprintf("%d×%d", n, status))
			if status == http.StatusServiceUnavailable && overloadOK {
				busy += n
				continue
			}
			if status >= 500 || status == 0 {
				t.Errorf("%s: %d responses with status %d", op, n, status)
			}
		}
		slices.Sort(parts)
		lines = append(lines, fmt.Sprintf("%s %s", op, strings.Join(parts, " ")))
	}
	t.Logf("%d requests from %d clients in %v (%.0f/s): %s", requests, workers, elapsed.Round(time.Millisecond),
		float64(requests)/elapsed.Seconds(), strings.Join(lines, "; "))
	if busy*100 > requests {
		t.Errorf("%d answers of 503 in %d requests: more than 1%%", busy, requests)
	} else if busy > 0 {
		t.Logf("%d answers of 503 (overloaded, with Retry-After) in %d requests", busy, requests)
	}
	unexpected := slices.DeleteFunc(st.unexpected, func(u string) bool {
		return overloadOK && strings.Contains(u, ": 503 ")
	})
	if len(unexpected) > 0 {
		t.Errorf("unexpected answers, e.g.:\n%s", strings.Join(unexpected, "\n"))
	}
	if st.locked > 0 {
		t.Errorf("%d responses mention \"database is locked\"", st.locked)
	}
	if strings.Contains(srv.Output.String(), "database is locked") {
		t.Errorf("the server log mentions \"database is locked\"")
	}

	after := stored(t)
	created := 0
	for id, body := range after {
		if _, old := before[id]; old {
			continue
		}
		created++
		if want, ok := st.acked[id]; !ok || want != body {
			t.Errorf("comment %d (%.60q) is stored but was not acknowledged as such", id, body)
		}
	}
	for id := range st.acked {
		if _, ok := after[id]; !ok {
			t.Errorf("acknowledged comment %d is missing", id)
		}
	}
	if created != len(st.acked) {
		t.Errorf("%d comments created, %d acknowledged", created, len(st.acked))
	}
	reconcileVotes(t, db, users, votes)
	t.Logf("reconciled: %d acknowledged comments = %d rows created", len(st.acked), created)
}

// soakStep does one random request of the mix.
func soakStep(c *client, st *soakStats, r *mrand.Rand, w, n int, u user, votes map[uint]int) {
	switch p := r.IntN(100); {
	case p < 25: // a top-level comment
		body := fmt.Sprintf("soak comment %d by client %d: %send", n, w, strings.Repeat("words ", r.IntN(60)))
		status, id, resp, err := c.post(u.Token, body, 0)
		st.record("post", http.StatusCreated, status, resp, err)
		if status == http.StatusCreated {
			st.mu.Lock()
			st.acked[id] = body
			st.known = append(st.known, knownComment{id: id, author: w})
			st.mu.Unlock()
		}
	case p < 40: // a reply
		parent, ok := st.pick(r, -1)
		if !ok {
			return
		}
		body := fmt.Sprintf("soak reply %d by client %d to %d", n, w, parent.id)
		status, id, resp, err := c.post(u.Token, body, parent.id)
		st.record("reply", http.StatusCreated, status, resp, err)
		if status == http.StatusCreated {
			st.mu.Lock()
			st.acked[id] = body
			st.known = append(st.known, knownComment{id: id, author: w})
			st.mu.Unlock()
		}
	case p < 55: // a vote on someone else's comment
		k, ok := st.pick(r, w)
		if !ok {
			return
		}
		value := r.IntN(3) - 1
		status, resp, err := c.do("PUT", fmt.Sprintf("/comments/%d/vote", k.id), u.Token, map[string]int{"value": value})
		st.record("vote", http.StatusOK, status, resp, err)
		if status == http.StatusOK {
			votes[k.id] = value
		}
	case p < 80: // a page of the thread, sometimes the next one too
		token := ""
		if r.IntN(2) == 0 {
			token = u.Token
		}
		sort := []string{"oldest", "newest", "top"}[r.IntN(3)]
		path := "/articles/" + seedSlug + "/comments?limit=20&sort=" + sort
		status, resp, err := c.do("GET", path, token, nil)
		st.record("thread", http.StatusOK, status, resp, err)
		var page struct {
			NextCursor *string `json:"next_cursor"`
		}
		if status == http.StatusOK && json.Unmarshal(resp, &page) == nil && page.NextCursor != nil && r.IntN(2) == 0 {
			status, resp, err = c.do("GET", path+"&cursor="+url.QueryEscape(*page.NextCursor), token, nil)
			st.record("thread", http.StatusOK, status, resp, err)
		}
	case p < 90: // counts for a blog index
		status, resp, err := c.do("GET", "/counts?slugs="+seedSlug+",no-such-post", "", nil)
		st.record("counts", http.StatusOK, status, resp, err)
	default: // one comment
		k, ok := st.pick(r, -1)
		if !ok {
			return
		}
		status, resp, err := c.do("GET", fmt.Sprintf("/comments/%d", k.id), "", nil)
		st.record("comment", http.StatusOK, status, resp, err)
	}
}

// reconcileVotes checks that each client's last acknowledged vote is the
// stored one (0: no row) and that every comment's score is its votes' sum.
func reconcileVotes(t *testing.T, db *sql.DB, users []user, votes []map[uint]int) {
	t.Helper()
	stored := map[[2]uint]int{}
	rows, err := db.Query("SELECT comment_id, user_id, value FROM votes")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var comment, user uint
		var value int
		if err := rows.Scan(&comment, &user, &value); err != nil {
			t.Fatal(err)
		}
		stored[[2]uint{comment, user}] = value
	}
	rows.Close()
	checked := 0
	for w, mine := range votes {
		for comment, value := range mine {
			checked++
			if got := stored[[2]uint{comment, users[w].ID}]; got != value {
				t.Errorf("client %d's vote on comment %d: stored %d, acknowledged %d", w, comment, got, value)
			}
		}
	}
	var drift int
	if err := db.QueryRow(`SELECT count(*) FROM comments c
		WHERE c.score <> COALESCE((SELECT sum(v.value) FROM votes v WHERE v.comment_id = c.id), 0)`).Scan(&drift); err != nil {
		t.Fatal(err)
	}
	if drift != 0 {
		t.Errorf("%d comments' score differs from the sum of their votes", drift)
	}
	t.Logf("reconciled: %d acknowledged votes (last per client and comment), %d vote rows, scores add up", checked, len(stored))
}
