package notify_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-comments/parley/migrations"
	"github.com/parley-comments/parley/models"
	"github.com/parley-comments/parley/models/dbtest"
	"github.com/parley-comments/parley/moderation"
	"github.com/parley-comments/parley/notify"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

// world is a database with an article, two users and the moderation service.
type world struct {
	t       *testing.T
	store   *models.Store
	svc     *moderation.Service
	article *models.Article
	alice   *models.User
	bob     *models.User
	mod     *models.User
}

func newWorld(t *testing.T, store *models.Store) *world {
	t.Helper()
	w := &world{t: t, store: store, svc: moderation.NewService(store, nil)}
	now := time.Now().UTC()
	w.article = &models.Article{SiteID: models.DefaultSite, Slug: "hooked", Title: "Hooked", URL: "https://blog.example/hooked",
		PublishedAt: now, ModerationMode: moderation.ModePost, CreatedAt: now, UpdatedAt: now}
	if err := store.Write.Create(w.article).Error; err != nil {
		t.Fatal(err)
	}
	w.alice, w.bob, w.mod = w.user("alice", models.RoleUser), w.user("bob", models.RoleUser), w.user("mia", models.RoleModerator)
	return w
}

func (w *world) user(name, role string) *models.User {
	w.t.Helper()
	at := time.Now().UTC().Add(-48 * time.Hour)
	email := name + "@example.org"
	u := &models.User{Username: name, UsernameKey: name, Email: &email, PasswordHash: "x", Role: role, CreatedAt: at, UpdatedAt: at}
	if err := w.store.Write.Create(u).Error; err != nil {
		w.t.Fatal(err)
	}
	return u
}

func (w *world) comment(author *models.User, body string, parent *uint) *models.Comment {
	w.t.Helper()
	c, err := w.svc.Submit(w.t.Context(), moderation.Submission{Slug: w.article.Slug, Author: author, Body: body, ParentID: parent})
	if err != nil {
		w.t.Fatalf("submit: %v", err)
	}
	return c
}

// hook registers an endpoint of the default site for kinds (all when none).
func (w *world) hook(url string, allowPrivate bool, kinds ...string) *models.Webhook {
	w.t.Helper()
	if len(kinds) == 0 {
		kinds = []string{"comment.created", "comment.approved", "comment.rejected", "comment.flagged", "comment.edited", "comment.deleted", "user.banned"}
	}
	h, err := notify.CreateWebhook(w.t.Context(), w.store, notify.Endpoint{URL: &url, Events: &kinds, AllowPrivate: &allowPrivate}, time.Now())
	if err != nil {
		w.t.Fatalf("create webhook: %v", err)
	}
	return h
}

// received is one request the receiver accepted, its signature verified.
type received struct {
	ID      string
	Type    string
	Comment uint
	Body    []byte
}

// receiver is a real HTTP endpoint that checks each request's signature
// with the Standard Webhooks algorithm, written here from the
// specification rather than taken from the code under test.
type receiver struct {
	t      *testing.T
	secret string
	srv    *httptest.Server

	mu     sync.Mutex
	script []int // statuses to answer, in order, before 204s; 0 = hang past the timeout
	hits   int
	got    []received
	bad    []string
}

func newReceiver(t *testing.T, script ...int) *receiver {
	r := &receiver{t: t, script: script}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(rw http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	n := r.hits
	r.hits++
	status := http.StatusNoContent
	if n < len(r.script) {
		status = r.script[n]
	}
	secret := r.secret
	r.mu.Unlock()
	if status == 0 {
		select {
		case <-time.After(2 * time.Second):
		case <-req.Context().Done():
		}
		return
	}
	if status >= 300 {
		rw.WriteHeader(status)
		return
	}
	id, ts, sigs := req.Header.Get("webhook-id"), req.Header.Get("webhook-timestamp"), req.Header.Get("webhook-signature")
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "." + string(body)))
	expected := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	sec, _ := strconv.ParseInt(ts, 10, 64)
	valid := err == nil && id != "" && time.Since(time.Unix(sec, 0)).Abs() < 5*time.Minute
	matched := false
	for _, s := range strings.Fields(sigs) {
		matched = matched || hmac.Equal([]byte(s), []byte(expected))
	}
	var p struct {
		Type string `json:"type"`
		Data struct {
			Comment *struct {
				ID uint `json:"id"`
			} `json:"comment"`
		} `json:"data"`
	}
	json.Unmarshal(body, &p)
	r.mu.Lock()
	defer r.mu.Unlock()
	if !valid || !matched {
		r.bad = append(r.bad, id)
		rw.WriteHeader(http.StatusUnauthorized)
		return
	}
	rec := received{ID: id, Type: p.Type, Body: body}
	if p.Data.Comment != nil {
		rec.Comment = p.Data.Comment.ID
	}
	r.got = append(r.got, rec)
	rw.WriteHeader(status)
}

func (r *receiver) received() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

// pump fans out and sends until ok holds, failing after 10 s.
func pump(t *testing.T, store *models.Store, s *notify.Sender, ok func() bool) {
	t.Helper()
	f := &notify.FanOut{Store: store}
	for deadline := time.Now().Add(10 * time.Second); !ok(); {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		if _, err := f.Drain(t.Context()); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SendDue(t.Context()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// reopenable returns a function that opens the same database again, as a
// restarted process would.
func reopenable(t *testing.T) func() *models.Store {
	t.Helper()
	var o models.Options
	if dbtest.Backend() == "postgres" {
		o.URL = dbtest.MigratedPostgresSchema(t)
	} else {
		o.Path = filepath.Join(t.TempDir(), "parley.db")
	}
	return func() *models.Store {
		s, err := models.Open(o)
		if err != nil {
			t.Fatal(err)
		}
		if err := migrations.Up(s.Write); err != nil {
			t.Fatal(err)
		}
		return s
	}
}

var _ = context.Background
