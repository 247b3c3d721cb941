package importer

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-comments/parley/models/dbtest"
)

// want is one expected comment of a reader test.
type want struct {
	id, parent, url, status, author, email string
	body                                   string // a substring of the Markdown body
	notBody                                string // must not appear in the body
}

func TestReaders(t *testing.T) {
	skipOnPostgres(t)
	for _, tc := range []struct {
		name, format, path string
		comments           []want
		skips              []string // substrings of the skip reports, in order
	}{
		{
			name: "disqus with stray bytes, unquoted attribute, late thread, missing id", format: "disqus", path: "testdata/disqus.xml",
			comments: []want{
				{id: "1001", url: "http://old.example/blog/first-post/", status: "approved", author: "Ann", email: "ann@example.org",
					body: "Hello **world** & *friends*.\n\nSecond [link](https://example.org/x)"},
				{id: "1003", parent: "1002", url: "http://old.example/blog/first-post/", status: "approved", author: "Cid", body: "listed before its parent"},
				{id: "1002", parent: "1001", url: "http://old.example/blog/first-post/", status: "approved", author: "Bob",
					body: "I reply", notBody: "alert"},
				{id: "1004", url: "http://old.example/blog/first-post/", status: "spam", author: "Spammer", body: "Buy pills"},
				{id: "1005", url: "http://old.example/blog/first-post/", status: "deleted", author: "Dee"},
				{id: "1006", parent: "1005", url: "http://old.example/blog/first-post/", status: "approved", author: "Eve"},
				{id: "1010", url: "http://old.example/blog/first-post/", status: "approved", author: "Jo", body: "café and a raw one: caf \uFFFD"},
				{id: "sha256:", url: "http://www.old.example/blog/second-post/index.html", status: "approved", author: "Fay", body: "A post without an id"},
			},
			skips: []string{"post 1007: its thread 200 is deleted", `post 1009: createdAt "yesterday"`, "post 1008: its thread 999 is not in the file"},
		},
		{
			name: "wordpress", format: "wordpress", path: "testdata/wordpress.xml",
			comments: []want{
				{id: "11", url: "https://wp.example/2019/01/hello-world/", status: "approved", author: "Mia", email: "mia@example.net",
					body: "First line\nsecond line\n\nA new paragraph with **bold** and 1 \\< 2."},
				{id: "12", parent: "11", url: "https://wp.example/2019/01/hello-world/", status: "pending", author: "Ned", body: "replying to Mia here", notBody: "steal"},
				{id: "14", url: "https://wp.example/2019/01/hello-world/", status: "spam", author: "Casino"},
				{id: "15", url: "https://wp.example/2019/01/hello-world/", status: "deleted", author: "Oli"},
			},
			skips: []string{"comment 13: a pingback, not a comment", "comment 21: its post 8 has no link"},
		},
		{
			name: "commento with commenters after comments", format: "commento", path: "testdata/commento.json",
			comments: []want{
				{id: "aa01", url: "https://blog.example/notes/one", status: "approved", author: "Quinn", email: "quinn@example.com", body: "Plain *markdown* here"},
				{id: "aa02", parent: "aa01", url: "https://blog.example/notes/one", status: "pending", author: "Anonymous"},
				{id: "aa03", url: "https://blog.example/notes/one", status: "spam", author: "Rae"},
				{id: "aa04", url: "https://blog.example/notes/two", status: "deleted", author: "Rae"},
				{id: "aa05", parent: "aa04", url: "https://blog.example/notes/two", status: "approved", author: "Quinn"},
			},
			skips: []string{`comment aa06: creationDate "" is not a timestamp`, "comment #7: not a comment object"},
		},
		{
			name: "remark42 backup", format: "remark42", path: "testdata/remark42.jsonl",
			comments: []want{
				{id: "5b1f-1", url: "https://r42.example/a/", status: "approved", author: "Sam", body: "Hello from _remark42_"},
				{id: "5b1f-2", parent: "5b1f-1", url: "https://r42.example/a/", status: "approved", author: "Tia", body: "A reply in **HTML** only"},
				{id: "5b1f-3", url: "https://r42.example/a/", status: "deleted", author: "deleted"},
			},
			skips: []string{"line 5: not JSON", "comment 5b1f-5: no locator url"},
		},
		{
			name: "isso database", format: "isso", path: issoFixture(t),
			comments: []want{
				{id: "1", url: "/posts/one/", status: "approved", author: "Vic", email: "vic@example.com", body: "Isso uses *Markdown*"},
				{id: "2", parent: "1", url: "/posts/one/", status: "pending", author: "Wes"},
				{id: "3", url: "/posts/one/", status: "deleted"},
				{id: "4", parent: "3", url: "/posts/one/", status: "approved", author: "Xia"},
			},
			skips: []string{"comment 5: its thread 9 is not in the database", "comment 6: mode 7 is not a known state"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := read(t, tc.format, tc.path)
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			if len(got.comments) != len(tc.comments) {
				for _, c := range got.comments {
					t.Logf("got %s parent=%s %s", c.SourceID, c.ParentSourceID, c.Thread.URL)
				}
				t.Fatalf("got %d comments, want %d; skips %q", len(got.comments), len(tc.comments), got.skips)
			}
			for i, w := range tc.comments {
				c := got.comments[i]
				switch {
				case !strings.HasPrefix(c.SourceID, w.id) || (w.id != "sha256:" && c.SourceID != w.id):
					t.Errorf("comment %d: id %q, want %q", i, c.SourceID, w.id)
				case c.ParentSourceID != w.parent:
					t.Errorf("comment %s: parent %q, want %q", w.id, c.ParentSourceID, w.parent)
				case c.Thread.URL != w.url:
					t.Errorf("comment %s: url %q, want %q", w.id, c.Thread.URL, w.url)
				case c.Status != w.status:
					t.Errorf("comment %s: status %q, want %q", w.id, c.Status, w.status)
				case w.author != "" && c.AuthorName != w.author:
					t.Errorf("comment %s: author %q, want %q", w.id, c.AuthorName, w.author)
				case w.email != "" && c.AuthorEmail != w.email:
					t.Errorf("comment %s: email %q, want %q", w.id, c.AuthorEmail, w.email)
				case !strings.Contains(c.Body, w.body):
					t.Errorf("comment %s: body %q, want it to contain %q", w.id, c.Body, w.body)
				case w.notBody != "" && strings.Contains(c.Body, w.notBody):
					t.Errorf("comment %s: body %q still has %q", w.id, c.Body, w.notBody)
				case c.CreatedAt.IsZero() || c.CreatedAt.Location() != time.UTC:
					t.Errorf("comment %s: created %v, want a UTC time", w.id, c.CreatedAt)
				}
			}
			if len(got.skips) != len(tc.skips) {
				t.Fatalf("skips %q, want %d like %q", got.skips, len(tc.skips), tc.skips)
			}
			for i, s := range tc.skips {
				if !strings.Contains(got.skips[i], s) {
					t.Errorf("skip %d = %q, want it to contain %q", i, got.skips[i], s)
				}
			}
		})
	}
}

// TestReadersTimestamps: original times are kept to the second or better.
func TestReadersTimestamps(t *testing.T) {
	skipOnPostgres(t)
	for format, want := range map[string]struct {
		path string
		at   time.Time
	}{
		"disqus":    {"testdata/disqus.xml", time.Date(2015, 3, 1, 11, 0, 0, 0, time.UTC)},
		"wordpress": {"testdata/wordpress.xml", time.Date(2019, 1, 5, 11, 30, 0, 0, time.UTC)},
		"commento":  {"testdata/commento.json", time.Date(2020, 5, 1, 10, 0, 0, 5e8, time.UTC)},
		"remark42":  {"testdata/remark42.jsonl", time.Date(2018, 6, 1, 10, 0, 0, 123456789, time.UTC)},
		"isso":      {issoFixture(t), time.Date(2021, 7, 1, 9, 0, 0, 250e6, time.UTC)},
	} {
		got, err := read(t, format, want.path)
		if err != nil {
			t.Fatal(err)
		}
		if at := got.comments[0].CreatedAt; !at.Equal(want.at) {
			t.Errorf("%s: first comment at %v, want %v", format, at, want.at)
		}
	}
}

// TestCompressedInputs: Disqus gzipped (as Disqus mails it) and WordPress in
// a zip read like the plain files.
func TestCompressedInputs(t *testing.T) {
	skipOnPostgres(t)
	dir := t.TempDir()
	plain, err := os.ReadFile("testdata/disqus.xml")
	if err != nil {
		t.Fatal(err)
	}
	gz := filepath.Join(dir, "disqus.xml.gz")
	writeGzip(t, gz, plain)
	wxr, err := os.ReadFile("testdata/wordpress.xml")
	if err != nil {
		t.Fatal(err)
	}
	zipped := filepath.Join(dir, "wordpress.zip")
	writeZip(t, zipped, map[string][]byte{"export/blog.wordpress.2019-01-10.xml": wxr, "__MACOSX/._blog.xml": []byte("junk")})
	for _, tc := range []struct{ format, plain, packed string }{
		{"disqus", "testdata/disqus.xml", gz},
		{"wordpress", "testdata/wordpress.xml", zipped},
	} {
		a, err := read(t, tc.format, tc.plain)
		if err != nil {
			t.Fatal(err)
		}
		b, err := read(t, tc.format, tc.packed)
		if err != nil {
			t.Fatalf("%s: %v", tc.packed, err)
		}
		if len(a.comments) != len(b.comments) || len(a.skips) != len(b.skips) {
			t.Errorf("%s: %d comments %d skips packed, want %d and %d", tc.format, len(b.comments), len(b.skips), len(a.comments), len(a.skips))
		}
	}
}

// TestBadInput: each hostile or wrong file is refused with a clear error
// and without reading far.
func TestBadInput(t *testing.T) {
	skipOnPostgres(t)
	dir := t.TempDir()
	file := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	bomb := `<?xml version="1.0"?>
<!DOCTYPE disqus [
 <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
 <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
]>
<disqus><thread dsq:id="1"><link>http://x.example/</link></thread>
<post dsq:id="2"><message>&c;</message><createdAt>2015-03-01T11:00:00Z</createdAt><thread dsq:id="1"/></post></disqus>`
	external := `<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x SYSTEM "file:///etc/passwd">]><rss><channel><item><link>http://x.example/</link><wp:comment><wp:comment_content>&x;</wp:comment_content></wp:comment></item></channel></rss>`

	zeros := bytes.Repeat([]byte{' '}, 8<<20) // compresses about 1000:1
	gzBomb := filepath.Join(dir, "bomb.xml.gz")
	writeGzip(t, gzBomb, append([]byte("<disqus>"), zeros...))
	zipBomb := filepath.Join(dir, "bomb.zip")
	writeZip(t, zipBomb, map[string][]byte{"wordpress.xml": append([]byte("<rss>"), zeros...)})
	zipTwo := filepath.Join(dir, "two.zip")
	writeZip(t, zipTwo, map[string][]byte{"../../../etc/a.xml": []byte("<rss/>"), "b.xml": []byte("<rss/>")})
	zipNone := filepath.Join(dir, "none.zip")
	writeZip(t, zipNone, map[string][]byte{"readme.txt": []byte("hello")})
	many := map[string][]byte{}
	for i := range 100 {
		many[strings.Repeat("d/", i%5)+string(rune('a'+i%26))+strings.Repeat("x", i)+".txt"] = nil
	}
	zipMany := filepath.Join(dir, "many.zip")
	writeZip(t, zipMany, many)
	huge := file("huge.xml", append([]byte("<disqus><post><message>"), bytes.Repeat([]byte("a"), maxRun+10)...))

	for _, tc := range []struct {
		name, format, path string
		want               error
		msg                string
	}{
		{"billion laughs", "disqus", file("bomb.xml", []byte(bomb)), ErrDTD, ""},
		{"external entity", "wordpress", file("xxe.xml", []byte(external)), ErrDTD, ""},
		{"gzip bomb", "disqus", gzBomb, ErrBomb, ""},
		{"zip bomb", "wordpress", zipBomb, ErrBomb, ""},
		{"zip with two documents and a path trick", "wordpress", zipTwo, nil, "more than one document"},
		{"zip without a document", "wordpress", zipNone, nil, "no .xml or .json document"},
		{"zip with too many entries", "wordpress", zipMany, nil, "entries, at most"},
		{"a text node of 16 MiB", "disqus", huge, ErrHugeText, ""},
		{"wordpress file as disqus", "disqus", "testdata/wordpress.xml", ErrWrongFormat, "not <disqus>"},
		{"disqus file as wordpress", "wordpress", "testdata/disqus.xml", ErrWrongFormat, "not <rss>"},
		{"commento file as disqus", "disqus", "testdata/commento.json", ErrWrongFormat, "no <disqus>"},
		{"disqus file as commento", "commento", "testdata/disqus.xml", ErrWrongFormat, "not a Commento export"},
		{"json without comments as commento", "commento", file("other.json", []byte(`{"posts": []}`)), ErrWrongFormat, `no "comments"`},
		{"xml as remark42", "remark42", "testdata/wordpress.xml", ErrWrongFormat, "not a Remark42 backup"},
		{"xml as isso", "isso", "testdata/wordpress.xml", ErrWrongFormat, "not an Isso database"},
		{"missing file", "disqus", filepath.Join(dir, "nope.xml"), os.ErrNotExist, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := read(t, tc.format, tc.path)
			if err == nil {
				t.Fatalf("no error; read %d comments", len(got.comments))
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("err = %v, want it to say %q", err, tc.msg)
			}
			if len(got.comments) != 0 {
				t.Fatalf("read %d comments from a refused file", len(got.comments))
			}
		})
	}
}

func TestHTMLToMarkdown(t *testing.T) {
	skipOnPostgres(t)
	for _, tc := range []struct{ in, want string }{
		{"plain text", "plain text"},
		{"2 * 3 = 6 and a_b", `2 \* 3 = 6 and a\_b`},
		{"<p>one</p><p>two<br>three</p>", "one\n\ntwo\nthree"},
		{`<a href="https://x.example/a b(c)">x</a>`, "[x](https://x.example/a%20b%28c%29)"},
		{`<a href="javascript:alert(1)">x</a>`, "x"},
		{`<a href="data:text/html,hi">x</a>`, "x"},
		{`<script>alert(1)</script><style>p{}</style>ok`, "ok"},
		{`<iframe src="https://evil.example"></iframe>ok`, "ok"},
		{`<img src="https://x.example/i.png" alt="cat">`, "[cat](https://x.example/i.png)"},
		{`<blockquote>quoted<br>twice</blockquote>after`, "> quoted\n> twice\n\nafter"},
		{`<ul><li>a</li><li>b</li></ul>`, "- a\n- b"},
		{`<ol><li>a</li><li>b</li></ol>`, "1. a\n2. b"},
		{"<pre>x := `a`\n  y</pre>", "```\nx := `a`\n  y\n```"},
		{"<code>a`b</code>", "``a`b``"},
		{"# not a heading", `\# not a heading`},
		{"&lt;b&gt;not bold&lt;/b&gt;", `\<b\>not bold\</b\>`},
		{"&amp;copy; stays", `\&copy; stays`},
		{"<h2>Title</h2>text", "**Title**\n\ntext"},
		{`<span onclick="x()">hi</span>`, "hi"},
	} {
		if got := htmlToMarkdown(tc.in); got != tc.want {
			t.Errorf("htmlToMarkdown(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestParseRules(t *testing.T) {
	skipOnPostgres(t)
	rs, err := ParseRules("http://old.example/blog/* => https://new.example/posts/*; //www.example.com/* -> https://example.com/*\n# a comment\nhttp://x.example/about => https://x.example/me")
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{
		"http://old.example/blog/first/":    "https://new.example/posts/first/",
		"HTTP://OLD.example/blog/a?b=1":     "https://new.example/posts/a?b=1",
		"http://old.example/Blog/first/":    "http://old.example/Blog/first/", // paths compare with case
		"https://www.example.com/p/1":       "https://example.com/p/1",
		"http://www.example.com/":           "https://example.com/",
		"http://x.example/about/":           "https://x.example/me",
		"http://x.example/about/more":       "http://x.example/about/more",
		"http://elsewhere.example/blog/one": "http://elsewhere.example/blog/one",
	} {
		if got := rs.Apply(in); got != want {
			t.Errorf("Apply(%q) = %q, want %q", in, got, want)
		}
	}
	for _, bad := range []string{"nothing => ", "a* => b*c*", "a/*/b => c", "a => b*"} {
		if _, err := ParseRules(bad); err == nil {
			t.Errorf("ParseRules(%q): no error", bad)
		}
	}
}

func writeGzip(t *testing.T, path string, data []byte) {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write(data)
	zw.Close()
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

func writeZip(t *testing.T, path string, files map[string][]byte) {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for name, data := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	zw.Close()
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// issoFixture builds an Isso database with the schema Isso creates.
func issoFixture(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "comments.db")
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{
		`CREATE TABLE threads (id INTEGER PRIMARY KEY, uri VARCHAR(256) UNIQUE, title VARCHAR(256))`,
		`CREATE TABLE comments (tid REFERENCES threads(id), id INTEGER PRIMARY KEY, parent INTEGER,
			created FLOAT NOT NULL, modified FLOAT, mode INTEGER, remote_addr VARCHAR, text VARCHAR,
			author VARCHAR, email VARCHAR, website VARCHAR, likes INTEGER DEFAULT 0, dislikes INTEGER DEFAULT 0,
			voters BLOB NOT NULL, notification INTEGER DEFAULT 0)`,
		`INSERT INTO threads VALUES (1, '/posts/one/', 'Post one')`,
		`INSERT INTO comments VALUES (1, 1, NULL, 1625130000.25, NULL, 1, '192.0.2.0', 'Isso uses *Markdown*', 'Vic', 'vic@example.com', 'https://vic.example', 3, 1, x'00', 0)`,
		`INSERT INTO comments VALUES (1, 2, 1, 1625130100, NULL, 2, '192.0.2.0', 'held', 'Wes', NULL, NULL, 0, 0, x'00', 0)`,
		`INSERT INTO comments VALUES (1, 3, NULL, 1625130200, NULL, 4, '192.0.2.0', '', NULL, NULL, NULL, 0, 0, x'00', 0)`,
		`INSERT INTO comments VALUES (1, 4, 3, 1625130300, NULL, 1, '192.0.2.0', 'below a deleted one', 'Xia', NULL, NULL, 0, 0, x'00', 0)`,
		`INSERT INTO comments VALUES (9, 5, NULL, 1625130400, NULL, 1, '192.0.2.0', 'thread gone', 'Yan', NULL, NULL, 0, 0, x'00', 0)`,
		`INSERT INTO comments VALUES (1, 6, NULL, 1625130500, NULL, 7, '192.0.2.0', 'odd mode', 'Zed', NULL, NULL, 0, 0, x'00', 0)`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// skipOnPostgres skips a test that reads files only: the PostgreSQL run of
// the package would repeat it unchanged.
func skipOnPostgres(t *testing.T) {
	if dbtest.Backend() == "postgres" {
		t.Skip("no database involved")
	}
}
