package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm/logger"

	"github.com/parley-comments/parley/api"
	"github.com/parley-comments/parley/models"
	"github.com/parley-comments/parley/models/dbtest"
	"github.com/parley-comments/parley/seeds"
)

// statementCounter counts the SQL statements a store runs.
type statementCounter struct {
	logger.Interface
	n atomic.Int64
}

func (q *statementCounter) LogMode(logger.LogLevel) logger.Interface { return q }

func (q *statementCounter) Trace(context.Context, time.Time, func() (string, int64), error) {
	q.n.Add(1)
}

// TestLive_TwoInstancesOnePostgres runs two Parley instances on one
// PostgreSQL database: a comment approved on one reaches a live stream of
// the other through LISTEN/NOTIFY, and the other's cached page, served
// without a query while nothing changes, shows it at once.
func TestLive_TwoInstancesOnePostgres(t *testing.T) {
	if dbtest.Backend() != "postgres" {
		t.Skip("runs in the PostgreSQL pass")
	}
	url := dbtest.MigratedPostgresSchema(t)
	open := func(log logger.Interface) *models.Store {
		s, err := models.Open(models.Options{URL: url, Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	counter := &statementCounter{Interface: logger.Discard}
	storeA, storeB := open(nil), open(counter)
	clk := &clock{now: time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)}
	if err := seeds.Apply(t.Context(), storeA, seeds.Options{AdminPassword: "admin-password", Hasher: testHasher, Now: clk.Now}); err != nil {
		t.Fatal(err)
	}
	server := func(store *models.Store) *testServer {
		cfg := api.Config{Store: store, JWTSecret: testSecret, Hasher: testHasher, Now: clk.Now, Bus: runBus(t, store)}
		return &testServer{e: api.NewServer(cfg), store: store, clock: clk}
	}
	a, b := server(storeA), server(storeB)
	hsB := httptest.NewServer(b.e)
	t.Cleanup(hsB.Close)

	admin := a.admin(t)
	want(t, a.do(t, "PATCH", "/api/v1/articles/"+seedSlug, admin.AccessToken, map[string]string{"moderation_mode": "pre"}), 200)
	alice := a.register(t, "alice")
	held := a.post(t, alice.AccessToken, seedSlug, "held until a moderator looks", nil)

	ch, _ := openStream(t, hsB.URL, seedSlug, "")
	next(t, ch) // ready
	if got := b.thread(t, "", "").Total; got != 0 {
		t.Fatalf("B's thread total = %d, want 0", got)
	}
	before := counter.n.Load()
	for range 5 {
		b.thread(t, "", "")
	}
	if n := counter.n.Load() - before; n != 0 {
		t.Fatalf("B ran %d statements for 5 cached reads, want 0", n)
	}

	want(t, a.do(t, "POST", fmt.Sprintf("/api/v1/moderation/comments/%d/approve", held.ID), admin.AccessToken, map[string]string{}), http.StatusOK)
	wantEvent(t, ch, "comment", held.ID)
	if got := b.thread(t, "", ""); got.Total != 1 || len(got.Items) != 1 || got.Items[0].ID != held.ID {
		t.Fatalf("B's page after the event: %+v, want the approved comment", got)
	}

	// An edit on A changes B's cached page too.
	want(t, a.do(t, "PATCH", fmt.Sprintf("/api/v1/comments/%d", held.ID), admin.AccessToken, map[string]string{"body": "edited on A"}), http.StatusOK)
	wantEvent(t, ch, "edit", held.ID)
	if got := b.thread(t, "", "").Items[0].BodyHTML; got != "<p>edited on A</p>" {
		t.Fatalf("B's page shows %q, want the edit", got)
	}
}
