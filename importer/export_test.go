package importer

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-comments/parley/models"
	"github.com/parley-comments/parley/models/dbtest"
)

// fillAll stores a row in every exported table: imported threads and
// comments, accounts, a second site, votes, flags, a ban, the moderation
// log and the rules.
func fillAll(t *testing.T, st *models.Store) {
	t.Helper()
	importFile(t, st, "disqus", "testdata/disqus.xml", disqusMap, false)
	db := st.Write
	now := time.Date(2026, 1, 2, 3, 4, 5, 678901000, time.UTC)
	email := "mod@example.com"
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	mod := models.User{Username: "Mod", UsernameKey: "mod", Email: &email, DisplayName: "Moderator ✓", PasswordHash: "$argon2id$secret",
		Role: models.RoleModerator, CreatedAt: now, UpdatedAt: now}
	must(db.Create(&mod).Error)
	reader := models.User{Username: "reader", UsernameKey: "reader", PasswordHash: "$argon2id$secret2", Role: models.RoleUser,
		BanKind: models.BanShadow, BannedUntil: &now, BanReason: "spam", CreatedAt: now, UpdatedAt: now}
	must(db.Create(&reader).Error)
	must(db.Create(&models.Site{ID: "other", Name: "Other blog", Origins: []string{"https://other.example"}, AutoThreads: false, KeepQuery: true, CreatedAt: now, UpdatedAt: now}).Error)
	must(db.Create(&models.ModeratorSite{UserID: mod.ID, SiteID: "other"}).Error)
	var c models.Comment
	must(db.Where("status = ?", models.StatusApproved).Order("id").First(&c).Error)
	must(db.Create(&models.Vote{CommentID: c.ID, UserID: reader.ID, ArticleID: c.ArticleID, Value: -1, CreatedAt: now}).Error)
	must(db.Create(&models.Flag{CommentID: c.ID, UserID: reader.ID, Reason: "spam", Note: "línea\n\"quoted\"", CreatedAt: now, ResolvedAt: &now, ResolvedBy: &mod.ID, Resolution: "dismissed"}).Error)
	must(db.Create(&models.Ban{UserID: reader.ID, ModeratorID: mod.ID, Kind: models.BanShadow, Reason: "spam", ExpiresAt: &now, CreatedAt: now}).Error)
	must(db.Create(&models.AuditEntry{At: now, ModeratorID: mod.ID, Action: "ban", TargetType: "user", TargetID: reader.ID, Reason: "spam"}).Error)
	must(db.Create(&models.Setting{Key: "moderation_rules", Value: `{"max_links":5}`, UpdatedAt: now}).Error)
	must(db.Create(&models.Setting{Key: "jwt_secret", Value: "never-exported", UpdatedAt: now}).Error)
}

func exportBytes(t *testing.T, st *models.Store, site string) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Export(context.Background(), st.Read, site, &b); err != nil {
		t.Fatalf("export: %v", err)
	}
	return b.Bytes()
}

// TestExportRoundTrip: export → import into an empty Parley → export gives
// the same file, and the file holds every table and no secret.
func TestExportRoundTrip(t *testing.T) {
	st := dbtest.Open(t)
	fillAll(t, st)
	first := exportBytes(t, st, "")
	for _, secret := range []string{"argon2id", "never-exported", "password_hash", "token_hash"} {
		if bytes.Contains(first, []byte(secret)) {
			t.Fatalf("the export contains %q", secret)
		}
	}
	tables := map[string]int{}
	lines := strings.Split(strings.TrimSpace(string(first)), "\n")
	for _, l := range lines[1:] {
		var row struct{ Table string }
		if err := json.Unmarshal([]byte(l), &row); err != nil {
			t.Fatal(err)
		}
		tables[row.Table]++
	}
	for _, tab := range exportTables {
		if tables[tab.name] == 0 {
			t.Errorf("no %s rows in the export", tab.name)
		}
	}
	if !strings.HasPrefix(lines[0], `{"format":"parley-export","version":1,"site":null}`) {
		t.Errorf("header %s", lines[0])
	}

	path := filepath.Join(t.TempDir(), "export.jsonl")
	os.WriteFile(path, first, 0o600)
	empty := dbtest.Open(t)
	sum, err := Import(context.Background(), empty, Source{Path: path}, Options{Site: models.DefaultSite, Format: FormatParley})
	if err != nil {
		t.Fatalf("restore: %v", err)
	}
	if sum.Created != tables["comments"] {
		t.Errorf("restored %d comments, want %d", sum.Created, tables["comments"])
	}
	second := exportBytes(t, empty, "")
	if !bytes.Equal(first, second) {
		a, b := strings.Split(string(first), "\n"), strings.Split(string(second), "\n")
		for i := range min(len(a), len(b)) {
			if a[i] != b[i] {
				t.Fatalf("line %d differs:\n%s\n%s", i+1, a[i], b[i])
			}
		}
		t.Fatalf("exports differ in length: %d and %d lines", len(a), len(b))
	}
	// The restored database goes on: new rows take ids past the restored ones.
	u := models.User{Username: "after", UsernameKey: "after", PasswordHash: "x", CreatedAt: time.Now(), UpdatedAt: time.Now()}
	if err := empty.Write.Create(&u).Error; err != nil {
		t.Fatalf("new user after restore: %v", err)
	}
}

// TestExportSite: an export of one site holds its threads and comments only.
func TestExportSite(t *testing.T) {
	st := dbtest.Open(t)
	fillAll(t, st)
	out := exportBytes(t, st, "other")
	if !strings.HasPrefix(string(out), `{"format":"parley-export","version":1,"site":"other"}`) {
		t.Fatalf("header %.80s", out)
	}
	if bytes.Contains(out, []byte(`"table":"comments"`)) || bytes.Contains(out, []byte(`"table":"articles"`)) {
		t.Fatalf("the export of an empty site holds threads or comments")
	}
	if err := Export(context.Background(), st.Read, "missing", &bytes.Buffer{}); err == nil {
		t.Fatal("export of an unknown site: no error")
	}
}

// TestRestoreMerges: a Parley export imported into a database with content
// merges its threads and comments by id, twice without duplicates.
func TestRestoreMerges(t *testing.T) {
	src := dbtest.Open(t)
	importFile(t, src, "disqus", "testdata/disqus.xml", disqusMap, false)
	path := filepath.Join(t.TempDir(), "export.jsonl")
	os.WriteFile(path, exportBytes(t, src, ""), 0o600)

	dst := dbtest.Open(t)
	importFile(t, dst, "wordpress", "testdata/wordpress.xml", "", false) // content already
	before := count(t, dst, "SELECT COUNT(*) FROM comments")
	sum := importFile(t, dst, FormatParley, path, "", false)
	want := count(t, src, "SELECT COUNT(*) FROM comments")
	if sum.Created != want {
		t.Fatalf("merged %d comments, want %d: %+v", sum.Created, want, sum)
	}
	if n := count(t, dst, "SELECT COUNT(*) FROM comments"); n != before+want {
		t.Fatalf("%d comments, want %d", n, before+want)
	}
	if again := importFile(t, dst, FormatParley, path, "", false); again.Created != 0 || again.Merged != want {
		t.Fatalf("second merge created %d merged %d", again.Created, again.Merged)
	}
}

func TestRestoreRefusesOtherFiles(t *testing.T) {
	st := dbtest.Open(t)
	dir := t.TempDir()
	for name, body := range map[string]string{
		"newer.jsonl": `{"format":"parley-export","version":9,"site":null}` + "\n",
		"other.jsonl": `{"version":1,"users":[]}` + "\n",
		"table.jsonl": `{"format":"parley-export","version":1,"site":null}` + "\n" + `{"table":"refresh_tokens","row":{"id":1}}` + "\n",
		"order.jsonl": `{"format":"parley-export","version":1,"site":null}` + "\n" + `{"table":"comments","row":{}}` + "\n" + `{"table":"users","row":{}}` + "\n",
	} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(body), 0o600)
		if _, err := Import(context.Background(), st, Source{Path: p}, Options{Site: models.DefaultSite, Format: FormatParley}); err == nil {
			t.Errorf("%s: no error", name)
		}
		if n := count(t, st, "SELECT COUNT(*) FROM users") + count(t, st, "SELECT COUNT(*) FROM comments"); n != 0 {
			t.Fatalf("%s: a refused restore left %d rows", name, n)
		}
	}
}
