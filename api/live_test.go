package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parley-comments/parley/api"
	"github.com/parley-comments/parley/events"
	"github.com/parley-comments/parley/models"
)

// sse is one Server-Sent Event as a client parses it.
type sse struct {
	ID    string
	Event string
	Data  string
}

// liveData is the data of comment events.
type liveData struct {
	CommentID uint  `json:"comment_id"`
	ParentID  *uint `json:"parent_id"`
	Score     int   `json:"score"`
}

// runBus starts a change bus on store, stopped at cleanup.
func runBus(t testing.TB, store *models.Store) *events.Bus {
	t.Helper()
	bus := events.NewBus(store, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); bus.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	waitFor(t, "the bus to listen", func() bool { _, live := bus.Generation(); return live })
	return bus
}

// newLiveServer is newTestServer behind a real HTTP listener, for streams.
func newLiveServer(t *testing.T, opts ...func(*api.Config)) (*testServer, *httptest.Server) {
	t.Helper()
	s := newTestServer(t, opts...)
	hs := httptest.NewServer(s.e)
	t.Cleanup(hs.Close)
	return s, hs
}

// openStream opens the live stream of slug and returns its parsed events.
func openStream(t *testing.T, base, slug, lastID string) (<-chan sse, *http.Response) {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/api/v1/articles/"+slug+"/live", nil)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	if res.StatusCode != http.StatusOK {
		return nil, res
	}
	if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type = %q, want text/event-stream", ct)
	}
	out := make(chan sse, 100)
	go func() {
		defer close(out)
		sc := bufio.NewScanner(res.Body)
		var ev sse
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.Event != "" || ev.Data != "" {
					out <- ev
				}
				ev = sse{ID: ev.ID}
			case strings.HasPrefix(line, "id: "):
				ev.ID = line[4:]
			case strings.HasPrefix(line, "event: "):
				ev.Event = line[7:]
			case strings.HasPrefix(line, "data: "):
				ev.Data = line[6:]
			}
		}
	}()
	return out, res
}

// next returns the next event with a name other than ready, failing after 5 s.
func next(t *testing.T, ch <-chan sse) sse {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("stream ended")
		}
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5 s")
	}
	return sse{}
}

func wantEvent(t *testing.T, ch <-chan sse, name string, commentID uint) sse {
	t.Helper()
	ev := next(t, ch)
	var d liveData
	json.Unmarshal([]byte(ev.Data), &d)
	if ev.Event != name || d.CommentID != commentID {
		t.Fatalf("event = %s %s, want %s of comment %d", ev.Event, ev.Data, name, commentID)
	}
	return ev
}

func waitFor(t testing.TB, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !ok(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func TestLive_ThreadChangesReachTheStream(t *testing.T) {
	s, hs := newLiveServer(t)
	alice := s.register(t, "alice")
	bob := s.register(t, "bob")
	ch, _ := openStream(t, hs.URL, seedSlug, "")
	ready := next(t, ch)
	if ready.Event != "ready" || ready.ID == "" {
		t.Fatalf("first event = %+v, want ready with an id", ready)
	}

	c := s.post(t, alice.AccessToken, seedSlug, "first!", nil)
	created := wantEvent(t, ch, "comment", c.ID)
	reply := s.post(t, bob.AccessToken, seedSlug, "a reply", &c.ID)
	ev := wantEvent(t, ch, "comment", reply.ID)
	var d liveData
	json.Unmarshal([]byte(ev.Data), &d)
	if d.ParentID == nil || *d.ParentID != c.ID {
		t.Fatalf("reply's parent_id = %v, want %d", d.ParentID, c.ID)
	}
	want(t, s.do(t, "PATCH", fmt.Sprintf("/api/v1/comments/%d", c.ID), alice.AccessToken, map[string]string{"body": "first, edited"}), 200)
	wantEvent(t, ch, "edit", c.ID)
	want(t, s.do(t, "PUT", fmt.Sprintf("/api/v1/comments/%d/vote", c.ID), bob.AccessToken, map[string]int{"value": 1}), 200)
	if ev := wantEvent(t, ch, "score", c.ID); !strings.Contains(ev.Data, `"score":1`) {
		t.Fatalf("score event %s, want score 1", ev.Data)
	}
	want(t, s.do(t, "DELETE", fmt.Sprintf("/api/v1/comments/%d", reply.ID), bob.AccessToken, nil), 204)
	wantEvent(t, ch, "remove", reply.ID)

	// A held comment is nobody's business on the public stream.
	mod := s.userWithRole(t, "mia", "moderator")
	want(t, s.do(t, "PATCH", "/api/v1/articles/"+seedSlug, s.admin(t).AccessToken, map[string]string{"moderation_mode": "pre"}), 200)
	held := s.post(t, bob.AccessToken, seedSlug, "held for review", nil)
	if held.Status != "pending" {
		t.Fatalf("status = %s, want pending", held.Status)
	}
	want(t, s.do(t, "POST", fmt.Sprintf("/api/v1/moderation/comments/%d/approve", held.ID), mod.AccessToken, map[string]string{}), 200)
	wantEvent(t, ch, "comment", held.ID) // shown once approved, not before

	// A reconnect from the first event replays everything after it.
	again, _ := openStream(t, hs.URL, seedSlug, created.ID)
	seen := map[string]bool{}
	for range 5 { // the reply (now gone), the edit, the vote, the deletion, the approval
		ev := next(t, again)
		seen[ev.Event] = true
	}
	for _, name := range []string{"remove", "edit", "score", "comment"} {
		if !seen[name] {
			t.Fatalf("replay lacks a %s event: %v", name, seen)
		}
	}
}

func TestLive_ReplayOlderThanTheLogResets(t *testing.T) {
	s, hs := newLiveServer(t)
	alice := s.register(t, "alice")
	s.post(t, alice.AccessToken, seedSlug, "one", nil)
	s.post(t, alice.AccessToken, seedSlug, "two", nil)
	s.post(t, alice.AccessToken, seedSlug, "three", nil)
	s.clock.Advance(72 * time.Hour)
	// As once webhooks and notifications have been derived from them.
	if err := s.store.Write.Exec("UPDATE events SET fan_out = ?", false).Error; err != nil {
		t.Fatal(err)
	}
	if _, err := events.Prune(t.Context(), s.store, s.clock.Now().Add(-48*time.Hour)); err != nil {
		t.Fatal(err)
	}
	ch, _ := openStream(t, hs.URL, seedSlug, "1")
	if ev := next(t, ch); ev.Event != "reset" {
		t.Fatalf("event = %+v, want reset", ev)
	}
}

func TestLive_Caps(t *testing.T) {
	s, hs := newLiveServer(t, func(c *api.Config) { c.LiveStreams = 3; c.LivePerClient = 2 })
	for range 2 {
		if _, res := openStream(t, hs.URL, seedSlug, ""); res.StatusCode != 200 {
			t.Fatalf("status = %d, want 200", res.StatusCode)
		}
	}
	_, res := openStream(t, hs.URL, seedSlug, "")
	if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" {
		t.Fatalf("third stream of one client: status %d, want 429 with Retry-After", res.StatusCode)
	}
	// Another client (through a trusted proxy would be the same): the instance cap.
	rec := httptest.NewRecorder()
	third, leave := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() { defer close(served); s.e.ServeHTTP(rec, liveRequest("10.0.0.1").WithContext(third)) }()
	defer func() { leave(); <-served }()
	waitFor(t, "the third stream", func() bool { return metricValue(t, s, "parley_live_streams") == 3 })
	rec4 := httptest.NewRecorder()
	s.e.ServeHTTP(rec4, liveRequest("10.0.0.2"))
	if rec4.Code != http.StatusServiceUnavailable {
		t.Fatalf("fourth stream: status %d, want 503", rec4.Code)
	}
	wantError(t, rec4, http.StatusServiceUnavailable, "unavailable")
	if _, res := openStream(t, hs.URL, "no-such-article", ""); res.StatusCode != 404 {
		t.Fatalf("unknown article: %d, want 404", res.StatusCode)
	}
	bad := httptest.NewRecorder()
	req := liveRequest("10.0.0.3")
	req.Header.Set("Last-Event-ID", "zzz")
	s.e.ServeHTTP(bad, req)
	wantError(t, bad, http.StatusBadRequest, "validation_failed")
}

func liveRequest(ip string) *http.Request {
	req := httptest.NewRequest("GET", "/api/v1/articles/"+seedSlug+"/live", nil)
	req.RemoteAddr = ip + ":5000"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	_ = cancel
	return req.WithContext(ctx)
}

// metricValue reads one gauge from /metrics.
func metricValue(t *testing.T, s *testServer, name string) float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	s.e.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		if rest, ok := strings.CutPrefix(line, name+" "); ok {
			v, _ := strconv.ParseFloat(rest, 64)
			return v
		}
	}
	return -1
}

func TestLive_ShutdownEndsStreams(t *testing.T) {
	s := newTestServer(t)
	bus := events.NewBus(s.store, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); bus.Run(ctx) }()
	defer func() { cancel(); <-done }()
	waitFor(t, "the bus", func() bool { _, live := bus.Generation(); return live })
	hs := httptest.NewServer(api.NewServer(api.Config{Store: s.store, JWTSecret: testSecret, Hasher: testHasher, Bus: bus}))
	defer hs.Close()
	ch, _ := openStream(t, hs.URL, seedSlug, "")
	next(t, ch) // ready
	cancel()
	select {
	case _, ok := <-ch:
		if ok {
			t.Fatal("an event after shutdown, want the stream to end")
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the stream outlived the bus's shutdown")
	}
	// A new stream is refused while shutting down.
	if _, res := openStream(t, hs.URL, seedSlug, ""); res.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("status = %d, want 503", res.StatusCode)
	}
}
