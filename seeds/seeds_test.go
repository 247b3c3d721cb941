package seeds_test

import (
	"bytes"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/parley-comments/parley/auth"
	"github.com/parley-comments/parley/models"
	"github.com/parley-comments/parley/models/dbtest"
	"github.com/parley-comments/parley/seeds"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

func TestApplyOnceAcrossRestarts(t *testing.T) {
	s := dbtest.Open(t)
	var logs bytes.Buffer
	o := seeds.Options{Hasher: auth.NewHasher(auth.TestParams), Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	for range 3 {
		if err := seeds.Apply(t.Context(), s, o); err != nil {
			t.Fatal(err)
		}
	}
	var articles, admins int64
	s.Read.Model(&models.Article{}).Where("slug = ?", seeds.ArticleSlug).Count(&articles)
	s.Read.Model(&models.User{}).Where("username_key = 'admin' AND role = 'admin'").Count(&admins)
	if articles != 1 || admins != 1 {
		t.Fatalf("after three applies: %d seed articles, %d admins; want 1 and 1", articles, admins)
	}
	if n := strings.Count(logs.String(), "one-time password"); n != 1 {
		t.Fatalf("the generated admin password was logged %d times, want once:\n%s", n, logs.String())
	}
	var comments int64
	s.Read.Model(&models.Comment{}).Count(&comments)
	if comments != 0 {
		t.Fatalf("seeding created %d comments, want none", comments)
	}
}

func TestArticleBody(t *testing.T) {
	body := seeds.ArticleBody()
	paras := strings.Split(body, "\n\n")
	if len(paras) != 10 {
		t.Fatalf("%d paragraphs, want the document's 10", len(paras))
	}
	if strings.Contains(body, "Post a Comment") || strings.Contains(body, "0 Comments:") {
		t.Fatal("the old blog's comment section leaked into the article body")
	}
}

func TestAdminPasswordFromConfig(t *testing.T) {
	s := dbtest.Open(t)
	h := auth.NewHasher(auth.TestParams)
	if err := seeds.Apply(t.Context(), s, seeds.Options{Hasher: h, AdminPassword: "configured-password"}); err != nil {
		t.Fatal(err)
	}
	var admin models.User
	s.Read.Where("username_key = 'admin'").First(&admin)
	if ok, _, err := h.Verify(t.Context(), admin.PasswordHash, "configured-password"); err != nil || !ok {
		t.Fatalf("admin password not set from config: ok=%v err=%v", ok, err)
	}
}

// TestStaleAdminPasswordWarns: a PARLEY_ADMIN_PASSWORD that no longer signs
// the admin in is reported at start, not silently ignored.
func TestStaleAdminPasswordWarns(t *testing.T) {
	s := dbtest.Open(t)
	h := auth.NewHasher(auth.TestParams)
	for _, tc := range []struct {
		password string
		warns    bool
	}{
		{"first-password", false}, // creates the account
		{"first-password", false},
		{"", false},
		{"changed-in-the-environment", true},
	} {
		var logs bytes.Buffer
		o := seeds.Options{Hasher: h, AdminPassword: tc.password, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
		if err := seeds.Apply(t.Context(), s, o); err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(logs.String(), "level=WARN") && strings.Contains(logs.String(), "PARLEY_ADMIN_PASSWORD is not the admin's password"); got != tc.warns {
			t.Fatalf("password %q: warned = %v, want %v; log:\n%s", tc.password, got, tc.warns, logs.String())
		}
	}
}
