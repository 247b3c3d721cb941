package importer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-comments/parley/models"
	"github.com/parley-comments/parley/models/dbtest"
)

const disqusMap = "http://old.example/blog/* => https://new.example/posts/*; //www.old.example/blog/* => https://new.example/posts/*"

func importFile(t *testing.T, st *models.Store, format, path, rules string, dry bool) *Summary {
	t.Helper()
	rs, err := ParseRules(rules)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := Import(context.Background(), st, Source{Path: path}, Options{Site: models.DefaultSite, Format: format, Map: rs, DryRun: dry})
	if err != nil {
		t.Fatalf("import %s: %v", path, err)
	}
	return sum
}

type storedComment struct {
	ID, ArticleID                uint
	ParentID, RootID             *uint
	Depth                        int
	GuestName, GuestEmail, IP    string
	Body, BodyHTML, Status, Slug string
	CreatedAt                    time.Time
}

// bySource loads the comments of an import by their source id.
func bySource(t *testing.T, st *models.Store, format string) map[string]storedComment {
	t.Helper()
	rows, err := st.Read.Raw(`SELECT s.source_id, c.id, c.article_id, c.parent_id, c.root_id, c.depth, c.guest_name, c.guest_email, c.ip,
		c.body, c.body_html, c.status, c.created_at, a.slug FROM import_sources s JOIN comments c ON c.id = s.comment_id
		JOIN articles a ON a.id = c.article_id WHERE s.format = ?`, format).Rows()
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]storedComment{}
	for rows.Next() {
		var id string
		var c storedComment
		if err := rows.Scan(&id, &c.ID, &c.ArticleID, &c.ParentID, &c.RootID, &c.Depth, &c.GuestName, &c.GuestEmail, &c.IP,
			&c.Body, &c.BodyHTML, &c.Status, &c.CreatedAt, &c.Slug); err != nil {
			t.Fatal(err)
		}
		out[id] = c
	}
	return out
}

func count(t *testing.T, st *models.Store, q string, args ...any) int {
	t.Helper()
	var n int
	if err := st.Read.Raw(q, args...).Row().Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestImportDisqus(t *testing.T) {
	st := dbtest.Open(t)
	sum := importFile(t, st, "disqus", "testdata/disqus.xml", disqusMap, false)
	if sum.Created != 8 || sum.Merged != 0 || sum.Skipped != 3 || sum.ThreadsCreated != 2 {
		t.Fatalf("summary created %d merged %d skipped %d threads %d, want 8 0 3 2: %+v", sum.Created, sum.Merged, sum.Skipped, sum.ThreadsCreated, sum)
	}
	got := bySource(t, st, "disqus")
	first, second := "https://new.example/posts/first-post", "https://new.example/posts/second-post"
	c1001, c1002, c1003 := got["1001"], got["1002"], got["1003"]
	switch {
	case c1001.Slug != first:
		t.Errorf("1001 thread %q, want %q (remapped, normalized)", c1001.Slug, first)
	case c1001.GuestName != "Ann" || c1001.GuestEmail != "ann@example.org" || c1001.IP != "198.51.100.7":
		t.Errorf("1001 author %q %q %q", c1001.GuestName, c1001.GuestEmail, c1001.IP)
	case !c1001.CreatedAt.Equal(time.Date(2015, 3, 1, 11, 0, 0, 0, time.UTC)):
		t.Errorf("1001 created %v, want the original time", c1001.CreatedAt)
	case !strings.Contains(c1001.BodyHTML, "<strong>world</strong>") || !strings.Contains(c1001.BodyHTML, `rel="nofollow ugc noopener"`):
		t.Errorf("1001 html %q", c1001.BodyHTML)
	case c1002.ParentID == nil || *c1002.ParentID != c1001.ID || c1002.Depth != 1:
		t.Errorf("1002 parent %v depth %d, want %d at 1", c1002.ParentID, c1002.Depth, c1001.ID)
	case c1003.ParentID == nil || *c1003.ParentID != c1002.ID || c1003.RootID == nil || *c1003.RootID != c1001.ID || c1003.Depth != 2:
		t.Errorf("1003 parent %v root %v depth %d, want %d %d 2", c1003.ParentID, c1003.RootID, c1003.Depth, c1002.ID, c1001.ID)
	}
	for _, bad := range []string{"<script", "alert", "onerror", "javascript:", "<img"} {
		if strings.Contains(c1002.BodyHTML, bad) || strings.Contains(c1002.Body, bad) {
			t.Errorf("1002 keeps %q: body %q html %q", bad, c1002.Body, c1002.BodyHTML)
		}
	}
	if got["1004"].Status != models.StatusSpam {
		t.Errorf("1004 status %q, want spam", got["1004"].Status)
	}
	if d := got["1005"]; d.Status != models.StatusDeleted || d.Body != "" || d.GuestName != "" {
		t.Errorf("1005 = %+v, want a tombstone (it has a reply)", d)
	}
	var noID storedComment
	for id, c := range got {
		if strings.HasPrefix(id, "sha256:") {
			noID = c
		}
	}
	if noID.Slug != second {
		t.Errorf("post without id on thread %q, want %q", noID.Slug, second)
	}
	// Counts as a post would leave them: the approved 1001, 1002, 1003,
	// 1006 and 1010 (neither the spam nor the tombstone count).
	if n := count(t, st, "SELECT comment_count FROM articles WHERE slug = ?", first); n != 5 {
		t.Errorf("comment_count = %d, want 5", n)
	}
	var locked bool
	if err := st.Read.Raw("SELECT comments_locked FROM articles WHERE slug = ?", second).Row().Scan(&locked); err != nil || !locked {
		t.Errorf("closed Disqus thread: comments_locked = %v (%v), want true", locked, err)
	}
}

// TestImportTwice: a second import of the same file adds nothing; an
// updated export adds only what is new.
func TestImportTwice(t *testing.T) {
	st := dbtest.Open(t)
	importFile(t, st, "disqus", "testdata/disqus.xml", disqusMap, false)
	before := count(t, st, "SELECT COUNT(*) FROM comments")
	sum := importFile(t, st, "disqus", "testdata/disqus.xml", disqusMap, false)
	if sum.Created != 0 || sum.Merged != 8 || sum.ThreadsCreated != 0 {
		t.Fatalf("second import: created %d merged %d new threads %d, want 0 8 0", sum.Created, sum.Merged, sum.ThreadsCreated)
	}
	if n := count(t, st, "SELECT COUNT(*) FROM comments"); n != before {
		t.Fatalf("comments %d after a second import, want %d", n, before)
	}

	src, err := os.ReadFile("testdata/disqus.xml")
	if err != nil {
		t.Fatal(err)
	}
	newer := strings.Replace(string(src), "</disqus>", `<post dsq:id="1011"><message>&lt;p&gt;New since the last export&lt;/p&gt;</message>
		<createdAt>2015-05-01T10:00:00Z</createdAt><isDeleted>false</isDeleted><isSpam>false</isSpam>
		<author><name>Kim</name></author><thread dsq:id="100"/><parent dsq:id="1003"/></post></disqus>`, 1)
	path := filepath.Join(t.TempDir(), "newer.xml")
	os.WriteFile(path, []byte(newer), 0o600)
	sum = importFile(t, st, "disqus", path, disqusMap, false)
	if sum.Created != 1 || sum.Merged != 8 {
		t.Fatalf("updated export: created %d merged %d, want 1 8", sum.Created, sum.Merged)
	}
	got := bySource(t, st, "disqus")
	if p := got["1011"].ParentID; p == nil || *p != got["1003"].ID {
		t.Fatalf("new reply's parent %v, want %d (imported by the first run)", p, got["1003"].ID)
	}
}

func TestImportDryRun(t *testing.T) {
	st := dbtest.Open(t)
	sum := importFile(t, st, "disqus", "testdata/disqus.xml", disqusMap, true)
	if n := count(t, st, "SELECT COUNT(*) FROM comments"); n != 0 {
		t.Fatalf("a dry run stored %d comments", n)
	}
	if n := count(t, st, "SELECT COUNT(*) FROM articles"); n != 0 {
		t.Fatalf("a dry run stored %d threads", n)
	}
	if sum.Created != 8 || sum.Skipped != 3 || sum.ThreadsCreated != 2 {
		t.Fatalf("dry run: created %d skipped %d new threads %d, want 8 3 2", sum.Created, sum.Skipped, sum.ThreadsCreated)
	}
	var out bytes.Buffer
	sum.Print(&out)
	for _, want := range []string{"dry run: would import 8 comments", "new      https://new.example/posts/first-post: 7 created, 0 merged, 0 skipped",
		"new      https://new.example/posts/second-post: 1 created", "skipped post 1008: its thread 999 is not in the file"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("dry-run summary lacks %q:\n%s", want, out.String())
		}
	}
	// After the real import, a dry run says everything would be merged.
	importFile(t, st, "disqus", "testdata/disqus.xml", disqusMap, false)
	sum = importFile(t, st, "disqus", "testdata/disqus.xml", disqusMap, true)
	if sum.Created != 0 || sum.Merged != 8 || sum.ThreadsCreated != 0 {
		t.Fatalf("dry run after import: created %d merged %d new threads %d, want 0 8 0", sum.Created, sum.Merged, sum.ThreadsCreated)
	}
}

// TestImportFormats stores each hand-written file and checks what the
// public thread counts and what was left out.
func TestImportFormats(t *testing.T) {
	for _, tc := range []struct {
		format, path, rules string
		created, threads    int
		deletedDropped      bool
	}{
		{"wordpress", "testdata/wordpress.xml", "", 3, 1, true},
		{"commento", "testdata/commento.json", "", 5, 2, false},
		{"remark42", "testdata/remark42.jsonl", "", 2, 1, true},
		{"isso", issoFixture(t), "/posts/* => https://isso.example/posts/*", 4, 1, false},
	} {
		t.Run(tc.format, func(t *testing.T) {
			st := dbtest.Open(t)
			sum := importFile(t, st, tc.format, tc.path, tc.rules, false)
			if sum.Created != tc.created+boolInt(tc.deletedDropped) || len(sum.Threads) != tc.threads {
				t.Fatalf("created %d threads %d, want %d %d: %+v", sum.Created, len(sum.Threads), tc.created, tc.threads, sum)
			}
			if n := count(t, st, "SELECT COUNT(*) FROM comments"); n != tc.created {
				t.Fatalf("%d comments stored, want %d", n, tc.created)
			}
			if tc.deletedDropped != strings.Contains(strings.Join(sum.Notes, "\n"), "deleted comments without replies were not kept") {
				t.Fatalf("notes %q", sum.Notes)
			}
			if strings.HasPrefix(tc.rules, "/posts") {
				if n := count(t, st, "SELECT COUNT(*) FROM articles WHERE slug = ?", "https://isso.example/posts/one"); n != 1 {
					t.Fatalf("isso page not remapped")
				}
			}
			// A second run adds nothing.
			if again := importFile(t, st, tc.format, tc.path, tc.rules, false); again.Created != 0 {
				t.Fatalf("second run created %d", again.Created)
			}
		})
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestImportResumes: an import stopped part way keeps its committed
// batches, and running it again completes it without duplicates.
func TestImportResumes(t *testing.T) {
	st := dbtest.Open(t)
	path := filepath.Join(t.TempDir(), "big.xml")
	writeDisqus(t, path, 3, 300)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err := Import(ctx, st, Source{Path: path}, Options{Site: models.DefaultSite, Format: "disqus",
		Progress: func(s Summary) { cancel() }})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	stored := count(t, st, "SELECT COUNT(*) FROM comments")
	if stored == 0 || stored >= 900 {
		t.Fatalf("%d comments stored by the stopped import, want some of 900", stored)
	}
	sum, err := Import(context.Background(), st, Source{Path: path}, Options{Site: models.DefaultSite, Format: "disqus"})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Created+sum.Merged != 900 || sum.Merged != stored {
		t.Fatalf("resumed: created %d merged %d, want %d merged and the rest created", sum.Created, sum.Merged, stored)
	}
	if n := count(t, st, "SELECT COUNT(*) FROM comments"); n != 900 {
		t.Fatalf("%d comments after resuming, want 900", n)
	}
	if n := count(t, st, "SELECT SUM(comment_count) FROM articles"); n != 900 {
		t.Fatalf("comment counts sum to %d, want 900", n)
	}
}

// writeDisqus writes a Disqus export of threads × perThread comments, each
// the reply of the one before it every other comment.
func writeDisqus(t *testing.T, path string, threads, perThread int) {
	t.Helper()
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?><disqus xmlns="http://disqus.com" xmlns:dsq="http://disqus.com/disqus-internals">`)
	for th := range threads {
		fmt.Fprintf(&b, `<thread dsq:id="t%d"><link>https://blog.example/p/%d/</link><title>Post %d</title><createdAt>2016-01-01T00:00:00Z</createdAt><isDeleted>false</isDeleted></thread>`, th, th, th)
	}
	id := 0
	for th := range threads {
		for i := range perThread {
			id++
			parent := ""
			if i%2 == 1 {
				parent = fmt.Sprintf(`<parent dsq:id="%d"/>`, id-1)
			}
			fmt.Fprintf(&b, `<post dsq:id="%d"><message><![CDATA[<p>comment %d</p>]]></message><createdAt>2016-02-01T00:00:00Z</createdAt><isDeleted>false</isDeleted><isSpam>false</isSpam><author><name>N%d</name></author><thread dsq:id="t%d"/>%s</post>`, id, id, id, th, parent)
		}
	}
	b.WriteString("</disqus>")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestOrphanReply: a reply whose parent never comes is imported at the top
// of its thread, and the summary says so.
func TestOrphanReply(t *testing.T) {
	st := dbtest.Open(t)
	path := filepath.Join(t.TempDir(), "orphan.xml")
	os.WriteFile(path, []byte(`<disqus xmlns:dsq="http://disqus.com/disqus-internals"><thread dsq:id="1"><link>https://b.example/x</link></thread>
		<post dsq:id="7"><message>lost parent</message><createdAt>2016-02-01T00:00:00Z</createdAt><thread dsq:id="1"/><parent dsq:id="6"/></post></disqus>`), 0o600)
	sum := importFile(t, st, "disqus", path, "", false)
	if sum.Created != 1 || !strings.Contains(strings.Join(sum.Notes, ""), "comment 7: its parent 6 is not in the file") {
		t.Fatalf("summary %+v", sum)
	}
	if n := count(t, st, "SELECT COUNT(*) FROM comments WHERE parent_id IS NULL"); n != 1 {
		t.Fatalf("orphan not stored at the top")
	}
}

func TestImportUnknownSiteAndFormat(t *testing.T) {
	st := dbtest.Open(t)
	_, err := Import(context.Background(), st, Source{Path: "testdata/disqus.xml"}, Options{Site: "nope", Format: "disqus"})
	if !errors.Is(err, models.ErrNotFound) {
		t.Errorf("unknown site: err = %v", err)
	}
	_, err = Import(context.Background(), st, Source{Path: "testdata/disqus.xml"}, Options{Site: models.DefaultSite, Format: "blogger"})
	if !errors.Is(err, ErrUnknownFormat) {
		t.Errorf("unknown format: err = %v", err)
	}
}

// TestImportForgetsParents: with the index of stored comments starting over
// every few comments, replies still find parents stored batches before.
func TestImportForgetsParents(t *testing.T) {
	defer func(n int) { maxNodes = n }(maxNodes)
	maxNodes = 50
	st := dbtest.Open(t)
	path := filepath.Join(t.TempDir(), "big.xml")
	writeDisqus(t, path, 2, 700)
	sum := importFile(t, st, "disqus", path, "", false)
	if sum.Created != 1400 || len(sum.Notes) != 0 {
		t.Fatalf("created %d, notes %q", sum.Created, sum.Notes)
	}
	if n := count(t, st, "SELECT COUNT(*) FROM comments WHERE parent_id IS NOT NULL"); n != 700 {
		t.Fatalf("%d replies linked to their parent, want 700", n)
	}
}
