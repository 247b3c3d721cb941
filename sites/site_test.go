package sites_test

import (
	"context"
	"errors"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/parley-comments/parley/fault"
	"github.com/parley-comments/parley/models"
	"github.com/parley-comments/parley/models/dbtest"
	"github.com/parley-comments/parley/moderation"
	"github.com/parley-comments/parley/sites"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

var now = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func ptr[T any](v T) *T { return &v }

func TestSiteLifecycle(t *testing.T) {
	ctx := context.Background()
	st := dbtest.Open(t)

	def, err := sites.Get(ctx, st.Read, models.DefaultSite)
	if err != nil {
		t.Fatalf("default site after migration: %v", err)
	}
	if !def.AutoThreads || def.KeepQuery || def.Rules != "" || len(def.Origins) != 0 {
		t.Fatalf("default site = %+v, want automatic threads, no query, global rules, no stored origins", def)
	}

	s, err := sites.Create(ctx, st, "travel", sites.Patch{Name: ptr(" Travel\u202e notes "), Origins: &[]string{"https://Travel.example.com/", "https://travel.example.com"}}, now)
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "Travel notes" || !slices.Equal(s.Origins, []string{"https://travel.example.com"}) || !s.AutoThreads {
		t.Fatalf("created %+v", s)
	}
	if _, err := sites.Create(ctx, st, "travel", sites.Patch{Name: ptr("Again")}, now); !errors.Is(err, sites.ErrExists) {
		t.Fatalf("second create: %v, want ErrExists", err)
	}

	var invalid *fault.Error
	_, err = sites.Create(ctx, st, "Bad Id", sites.Patch{Origins: &[]string{"https://a.example/path"}, Rules: ptr(`{"max_links": -1}`)}, now)
	if !errors.As(err, &invalid) {
		t.Fatalf("invalid create: %v", err)
	}
	for _, f := range []string{"id", "name", "origins", "rules.max_links"} {
		if invalid.Fields[f] == "" {
			t.Errorf("no problem reported on %s: %v", f, invalid.Fields)
		}
	}

	s, err = sites.Update(ctx, st, "travel", sites.Patch{AutoThreads: ptr(false), KeepQuery: ptr(true), Rules: ptr(`{"max_links": 0}`)}, now)
	if err != nil {
		t.Fatal(err)
	}
	r, err := moderation.ParseRules([]byte(s.Rules))
	if err != nil || r.MaxLinks != 0 || r.FlagThreshold != moderation.DefaultRules().FlagThreshold {
		t.Fatalf("stored rules %q → %+v, %v", s.Rules, r, err)
	}
	got, _ := sites.Get(ctx, st.Read, "travel")
	if got.AutoThreads || !got.KeepQuery || got.Name != "Travel notes" {
		t.Fatalf("after update: %+v", got)
	}
	if s, err = sites.Update(ctx, st, "travel", sites.Patch{Rules: ptr("")}, now); err != nil || s.Rules != "" {
		t.Fatalf("clear rules: %+v, %v", s, err)
	}
	if _, err := sites.Update(ctx, st, "nowhere", sites.Patch{}, now); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("update of a missing site: %v", err)
	}

	list, err := sites.List(ctx, st.Read, "", 10, nil)
	if err != nil || len(list) != 2 || list[0].ID != "default" || list[1].ID != "travel" {
		t.Fatalf("list = %+v, %v", list, err)
	}

	// A site with threads stays; so does the default site.
	a := models.Article{SiteID: "travel", Slug: "https://travel.example.com/a", Title: "A", PublishedAt: now}
	if err := st.Write.Create(&a).Error; err != nil {
		t.Fatal(err)
	}
	if err := sites.Delete(ctx, st, "travel"); !errors.Is(err, sites.ErrInUse) {
		t.Fatalf("delete with threads: %v", err)
	}
	if err := sites.Delete(ctx, st, models.DefaultSite); !errors.Is(err, sites.ErrInUse) {
		t.Fatalf("delete default: %v", err)
	}
	st.Write.Delete(&a)
	if err := sites.Delete(ctx, st, "travel"); err != nil {
		t.Fatal(err)
	}
	if err := sites.Delete(ctx, st, "travel"); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
}

func TestArticleKeyUniquePerSite(t *testing.T) {
	ctx := context.Background()
	st := dbtest.Open(t)
	if _, err := sites.Create(ctx, st, "other", sites.Patch{Name: ptr("Other")}, now); err != nil {
		t.Fatal(err)
	}
	key := "https://blog.example.com/p"
	for _, a := range []models.Article{{Slug: key, Title: "default"}, {SiteID: "other", Slug: key, Title: "other"}} {
		if err := st.Write.Create(&a).Error; err != nil {
			t.Fatalf("create %+v: %v", a, err)
		}
	}
	var siteIDs []string
	st.Read.Model(&models.Article{}).Where("slug = ?", key).Order("site_id").Pluck("site_id", &siteIDs)
	if !slices.Equal(siteIDs, []string{"default", "other"}) {
		t.Fatalf("site ids = %v (an article without SiteID belongs to default)", siteIDs)
	}
	dup := models.Article{SiteID: "other", Slug: key, Title: "again"}
	if err := st.Write.Create(&dup).Error; err == nil {
		t.Fatal("a second article with the same key on one site was stored")
	}
	long := models.Article{SiteID: "other", Slug: "https://blog.example.com/" + string(slices.Repeat([]byte("x"), sites.MaxKeyBytes-25)), Title: "long"}
	if err := st.Write.Create(&long).Error; err != nil {
		t.Fatalf("a %d-byte key: %v", len(long.Slug), err)
	}
}

func TestModeratedBy(t *testing.T) {
	ctx := context.Background()
	st := dbtest.Open(t)
	u := models.User{Username: "mo", UsernameKey: "mo", PasswordHash: "x", Role: models.RoleModerator}
	if err := st.Write.Create(&u).Error; err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"b", "a"} {
		if _, err := sites.Create(ctx, st, id, sites.Patch{Name: ptr(id)}, now); err != nil {
			t.Fatal(err)
		}
	}
	if ids, err := sites.ModeratedBy(ctx, st.Read, u.ID); err != nil || len(ids) != 0 {
		t.Fatalf("a new moderator's sites = %v, %v; want none (all sites)", ids, err)
	}
	ids, err := sites.SetModeratedBy(ctx, st, u.ID, []string{"b", "a", "b"})
	if err != nil || !slices.Equal(ids, []string{"a", "b"}) {
		t.Fatalf("set = %v, %v", ids, err)
	}
	var invalid *fault.Error
	if _, err := sites.SetModeratedBy(ctx, st, u.ID, []string{"a", "nowhere"}); !errors.As(err, &invalid) {
		t.Fatalf("unknown site: %v", err)
	}
	if _, err := sites.SetModeratedBy(ctx, st, 9999, []string{"a"}); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("unknown user: %v", err)
	}
	if ids, _ := sites.ModeratedBy(ctx, st.Read, u.ID); !slices.Equal(ids, []string{"a", "b"}) {
		t.Fatalf("after a refused change: %v", ids)
	}
	// Deleting a site drops it from the moderator's list.
	if err := sites.Delete(ctx, st, "b"); err != nil {
		t.Fatal(err)
	}
	if ids, _ := sites.ModeratedBy(ctx, st.Read, u.ID); !slices.Equal(ids, []string{"a"}) {
		t.Fatalf("after deleting b: %v", ids)
	}
	if ids, err := sites.SetModeratedBy(ctx, st, u.ID, nil); err != nil || len(ids) != 0 {
		t.Fatalf("clear: %v, %v", ids, err)
	}
}

func TestDirectory(t *testing.T) {
	ctx := context.Background()
	st := dbtest.Open(t)
	d := sites.NewDirectory(st, []string{"https://Blog.example.com", "not an origin"})
	def, err := d.Site(ctx, models.DefaultSite)
	if err != nil || !slices.Equal(def.Origins, []string{"https://blog.example.com"}) {
		t.Fatalf("default = %+v, %v", def, err)
	}
	if _, err := d.Site(ctx, "nowhere"); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("unknown site: %v", err)
	}
	if _, err := sites.Create(ctx, st, "two", sites.Patch{Name: ptr("Two"), Origins: &[]string{"http://127.0.0.1:9000"}}, now); err != nil {
		t.Fatal(err)
	}
	d.Forget()
	all, err := d.Origins(ctx)
	if err != nil || !slices.Equal(all, []string{"http://127.0.0.1:9000", "https://blog.example.com"}) {
		t.Fatalf("origins = %v, %v", all, err)
	}
	if !sites.HasOrigin(def.Origins, "https://blog.example.com") || sites.HasOrigin(def.Origins, "https://evil.example") || sites.HasOrigin(def.Origins, "") {
		t.Fatal("HasOrigin")
	}
}
