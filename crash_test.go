package main

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// crashLedger records what the posters were told: acknowledged comments by
// id, and the bodies of posts whose outcome is unknown because the process
// died while they were in flight.
type crashLedger struct {
	mu       sync.Mutex
	acked    map[uint]string
	inFlight map[string]bool
	failures []string
}

func (l *crashLedger) record(body string, status int, id uint, resp []byte, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case err != nil:
		l.inFlight[body] = true
	case status == http.StatusCreated:
		l.acked[id] = body
	default:
		l.failures = append(l.failures, fmt.Sprintf("%q: %d %s", body, status, resp))
	}
}

// TestCrashSurvival posts from several goroutines and SIGKILLs the server at
// a random moment, several rounds over; after each kill every comment that
// was acknowledged with 201 is in the database file, which passes
// integrity_check, and the only other comments are posts that were in flight.
func TestCrashSurvival(t *testing.T) {
	const rounds, posters = 5, 6
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 0))
	t.Logf("random seed %d", seed)

	dir := t.TempDir()
	srv := startServer(t, dir)
	c := newClient(srv)
	users := make([]user, posters)
	for i := range users {
		users[i] = c.register(t, fmt.Sprintf("crasher%d", i))
	}
	ledger := &crashLedger{acked: map[uint]string{}, inFlight: map[string]bool{}}
	for round := range rounds {
		if round > 0 {
			srv = startServer(t, dir) // recovers the WAL the killed process left
			c = newClient(srv)
		}
		var wg sync.WaitGroup
		for p := range posters {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for n := 0; ; n++ {
					body := fmt.Sprintf("crash round %d poster %d post %d", round, p, n)
					status, id, resp, err := c.post(users[p].Token, body, 0)
					ledger.record(body, status, id, resp, err)
					if err != nil || status != http.StatusCreated {
						return // the server is gone, or the test fails below
					}
				}
			}()
		}
		time.Sleep(time.Duration(100+rng.IntN(500)) * time.Millisecond)
		srv.kill(t)
		wg.Wait()
		if len(ledger.failures) > 0 {
			t.Fatalf("round %d: posts refused: %s", round, strings.Join(ledger.failures, "; "))
		}
		stored := checkDB(t, openDB(t, dir))
		reconcile(t, round, ledger, stored)
	}

	srv = startServer(t, dir)
	ids := make([]uint, 0, len(ledger.acked))
	for id := range ledger.acked {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	newClient(srv).checkComments(t, ids)
	if code := srv.stop(t, 25*time.Second); code != 0 {
		t.Fatalf("exit code after SIGTERM = %d, want 0", code)
	}
	stored := checkDB(t, openDB(t, dir))
	reconcile(t, rounds, ledger, stored)
	t.Logf("%d SIGKILL rounds survived; %d acknowledged comments reconciled (by id, in the file and through the API); %d posts were in flight at a kill",
		rounds, len(ids), len(ledger.inFlight))
}

// reconcile checks the stored comments against the ledger.
func reconcile(t *testing.T, round int, l *crashLedger, stored map[uint]string) {
	t.Helper()
	for id, body := range l.acked {
		if got, ok := stored[id]; !ok || got != body {
			t.Fatalf("after round %d: acknowledged comment %d (%q) is stored as %q (present: %v)", round, id, body, got, ok)
		}
	}
	for id, body := range stored {
		if _, ok := l.acked[id]; !ok && !l.inFlight[body] {
			t.Fatalf("after round %d: comment %d (%q) is stored but was never acknowledged nor in flight", round, id, body)
		}
	}
}
