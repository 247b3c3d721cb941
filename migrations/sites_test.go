package migrations_test

import (
	"slices"
	"testing"

	"github.com/parley-comments/parley/migrations"
	"github.com/parley-comments/parley/models/dbtest"
)

// TestSites applies 0006 over articles made before sites: they belong to the
// default site, keys are unique per site instead of globally, and a second
// Up changes nothing.
func TestSites(t *testing.T) {
	s := dbtest.OpenEmpty(t)
	db := s.Write
	i := slices.IndexFunc(migrations.Steps, func(st migrations.Step) bool { return st.ID == "0006_sites" })
	if i < 0 {
		t.Fatal("no step 0006_sites")
	}
	if err := migrations.Apply(db, migrations.Steps[:i]); err != nil {
		t.Fatalf("apply the steps before 0006: %v", err)
	}
	exec := func(q string) error { return db.Exec(q).Error }
	if err := exec("INSERT INTO articles (id, slug, title, published_at, created_at, updated_at) VALUES (10, 'one', 'One', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP), (20, 'two', 'Two', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"); err != nil {
		t.Fatal(err)
	}
	if err := migrations.Up(db); err != nil {
		t.Fatalf("Up over the older schema: %v", err)
	}
	if err := migrations.Up(db); err != nil {
		t.Fatalf("second Up: %v", err)
	}
	var sites []string
	db.Table("articles").Order("id").Pluck("site_id", &sites)
	if !slices.Equal(sites, []string{"default", "default"}) {
		t.Fatalf("site ids of existing articles = %v", sites)
	}
	var def struct {
		Name        string
		Origins     string
		AutoThreads bool
		KeepQuery   bool
	}
	if err := db.Table("sites").Where("id = 'default'").Take(&def).Error; err != nil {
		t.Fatalf("default site: %v", err)
	}
	if !def.AutoThreads || def.KeepQuery || def.Origins != "[]" {
		t.Fatalf("default site = %+v", def)
	}
	if err := exec("INSERT INTO sites (id, name, created_at, updated_at) VALUES ('b', 'B', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"); err != nil {
		t.Fatalf("a site with the column defaults: %v", err)
	}
	if err := exec("INSERT INTO articles (site_id, slug, title, published_at) VALUES ('b', 'one', 'B one', CURRENT_TIMESTAMP)"); err != nil {
		t.Fatalf("the same key on another site: %v", err)
	}
	if err := exec("INSERT INTO articles (site_id, slug, title, published_at) VALUES ('default', 'one', 'again', CURRENT_TIMESTAMP)"); err == nil {
		t.Fatal("the same key twice on one site was stored")
	}
	if !db.Migrator().HasIndex("articles", "idx_articles_site_published") {
		t.Fatal("no index for a site's articles by date")
	}
	if !db.Migrator().HasIndex("articles", "idx_articles_site_slug") || db.Migrator().HasIndex("articles", "idx_articles_slug") {
		t.Fatal("articles' key index is not (site_id, slug)")
	}
	// Moderator rows go with their user and their site.
	if err := exec("INSERT INTO users (id, username, username_key, password_hash, created_at, updated_at) VALUES (1, 'mo', 'mo', 'x', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"); err != nil {
		t.Fatal(err)
	}
	if err := exec("INSERT INTO moderator_sites (user_id, site_id) VALUES (1, 'b'), (1, 'default')"); err != nil {
		t.Fatal(err)
	}
	if err := exec("INSERT INTO moderator_sites (user_id, site_id) VALUES (1, 'nowhere')"); err == nil {
		t.Fatal("a moderator row for a missing site was stored")
	}
	if err := exec("DELETE FROM articles WHERE site_id = 'b'"); err != nil {
		t.Fatal(err)
	}
	if err := exec("DELETE FROM sites WHERE id = 'b'"); err != nil {
		t.Fatal(err)
	}
	var n int64
	db.Table("moderator_sites").Count(&n)
	if n != 1 {
		t.Fatalf("moderator rows after deleting site b = %d, want 1", n)
	}
}
