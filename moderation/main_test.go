package moderation_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/parley-comments/parley/fault"
	"github.com/parley-comments/parley/models"
	"github.com/parley-comments/parley/models/dbtest"
	"github.com/parley-comments/parley/moderation"
)

// TestMain runs the package's database tests on SQLite, then on PostgreSQL.
func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

// clock is a settable time source for the service.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// fixture is a fresh database with a service, a post-moderated article and
// a pre-moderated one.
type fixture struct {
	t     *testing.T
	ctx   context.Context
	store *models.Store
	svc   *moderation.Service
	clock *clock
	post  *models.Article // moderation_mode "post"
	pre   *models.Article // moderation_mode "pre"
	n     *int            // makes comment bodies unique; shared by copies from on
}

// on returns the fixture reporting to t, for use inside a subtest.
func (f *fixture) on(t *testing.T) *fixture {
	g := *f
	g.t = t
	return &g
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	store := dbtest.Open(t)
	clk := &clock{now: time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)}
	f := &fixture{t: t, ctx: t.Context(), store: store, svc: moderation.NewService(store, clk.Now), clock: clk, n: new(int)}
	f.post = f.article("open-article", moderation.ModePost)
	f.pre = f.article("reviewed-article", moderation.ModePre)
	return f
}

func (f *fixture) article(slug, mode string) *models.Article {
	f.t.Helper()
	now := f.clock.Now()
	a := &models.Article{Slug: slug, Title: "Title of " + slug, PublishedAt: now, ModerationMode: mode, CreatedAt: now, UpdatedAt: now}
	if err := f.store.Write.Create(a).Error; err != nil {
		f.t.Fatal(err)
	}
	return a
}

// user creates an account a day old with role.
func (f *fixture) user(name, role string) *models.User {
	f.t.Helper()
	at := f.clock.Now().Add(-24 * time.Hour)
	u := &models.User{Username: name, UsernameKey: strings.ToLower(name), DisplayName: "The " + name, PasswordHash: "x",
		Role: role, CreatedAt: at, UpdatedAt: at}
	if err := f.store.Write.Create(u).Error; err != nil {
		f.t.Fatal(err)
	}
	return u
}

// reload reads a user back, as the API does for every request.
func (f *fixture) reload(u *models.User) *models.User {
	f.t.Helper()
	var got models.User
	if err := f.store.Read.Take(&got, u.ID).Error; err != nil {
		f.t.Fatal(err)
	}
	return &got
}

// comment posts a unique comment on a through the service.
func (f *fixture) comment(author *models.User, a *models.Article) *models.Comment {
	f.t.Helper()
	*f.n++
	c, err := f.svc.Submit(f.ctx, moderation.Submission{Slug: a.Slug, Author: author, Body: "comment number " + strings.Repeat("i", *f.n)})
	if err != nil {
		f.t.Fatalf("submit: %v", err)
	}
	return c
}

// stored reads a comment back from the database.
func (f *fixture) stored(id uint) models.Comment {
	f.t.Helper()
	var c models.Comment
	if err := f.store.Read.Take(&c, id).Error; err != nil {
		f.t.Fatal(err)
	}
	return c
}

// articleState returns an article's comment_count and version.
func (f *fixture) articleState(a *models.Article) (count int, version int64) {
	f.t.Helper()
	var got models.Article
	if err := f.store.Read.Take(&got, a.ID).Error; err != nil {
		f.t.Fatal(err)
	}
	return got.CommentCount, got.Version
}

// checkCounts fails unless every article's comment_count equals its approved,
// unshadowed comments: the invariant every status change must keep.
func (f *fixture) checkCounts() {
	f.t.Helper()
	for _, a := range []*models.Article{f.post, f.pre} {
		var want int64
		f.store.Read.Model(&models.Comment{}).Where("article_id = ? AND status = ? AND shadow = ?", a.ID, models.StatusApproved, false).Count(&want)
		if got, _ := f.articleState(a); int64(got) != want {
			f.t.Fatalf("article %s: comment_count = %d, want %d (its approved comments)", a.Slug, got, want)
		}
	}
}

// auditEntries returns the audit log, oldest first.
func (f *fixture) auditEntries() []models.AuditEntry {
	f.t.Helper()
	var rows []models.AuditEntry
	if err := f.store.Read.Order("id").Find(&rows).Error; err != nil {
		f.t.Fatal(err)
	}
	return rows
}

// flagsOf returns a comment's flags, oldest first.
func (f *fixture) flagsOf(commentID uint) []models.Flag {
	f.t.Helper()
	var rows []models.Flag
	if err := f.store.Read.Where("comment_id = ?", commentID).Order("id").Find(&rows).Error; err != nil {
		f.t.Fatal(err)
	}
	return rows
}

// flag flags a comment and fails on error.
func (f *fixture) flag(c *models.Comment, by *models.User, reason string) {
	f.t.Helper()
	if _, err := f.svc.Flag(f.ctx, c.ID, by, reason, ""); err != nil {
		f.t.Fatalf("flag comment %d by %s: %v", c.ID, by.Username, err)
	}
}

// moderate applies an action and fails on error.
func (f *fixture) moderate(c *models.Comment, by *models.User, action string) *models.Comment {
	f.t.Helper()
	got, err := f.svc.Moderate(f.ctx, c.ID, by, action, "")
	if err != nil {
		f.t.Fatalf("%s comment %d: %v", action, c.ID, err)
	}
	return got
}

// wantErr fails unless err matches target (errors.Is) or, for a nil target, is nil.
func wantErr(t *testing.T, err, target error) {
	t.Helper()
	if target == nil && err != nil || target != nil && !errors.Is(err, target) {
		t.Fatalf("err = %v, want %v", err, target)
	}
}

// wantInvalid fails unless err is a validation error naming field.
func wantInvalid(t *testing.T, err error, field string) {
	t.Helper()
	var v *fault.Error
	if !errors.As(err, &v) || v.Code != fault.Invalid || v.Fields[field] == "" {
		t.Fatalf("err = %v, want a validation error on %q", err, field)
	}
}

// queryCounter counts the SQL statements a gorm session runs.
type queryCounter struct {
	logger.Interface
	mu sync.Mutex
	n  int
}

func (q *queryCounter) LogMode(logger.LogLevel) logger.Interface { return q }

func (q *queryCounter) Trace(context.Context, time.Time, func() (string, int64), error) {
	q.mu.Lock()
	q.n++
	q.mu.Unlock()
}

func (q *queryCounter) count() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n
}

// countingService returns a service whose reads are counted.
func (f *fixture) countingService() (*moderation.Service, *queryCounter) {
	qc := &queryCounter{Interface: logger.Discard}
	s := *f.store
	s.Read = f.store.Read.Session(&gorm.Session{Logger: qc})
	return moderation.NewService(&s, f.clock.Now), qc
}
