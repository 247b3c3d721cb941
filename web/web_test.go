package web_test

import (
	"bytes"
	"compress/gzip"
	"io/fs"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parley-comments/parley/web"
)

func TestParagraphs(t *testing.T) {
	tests := []struct {
		name string
		body string
		want []string
	}{
		{"empty", "", nil},
		{"one", "Hello.", []string{"Hello."}},
		{"blank lines split", "One.\n\nTwo.\n\n\n\nThree.", []string{"One.", "Two.", "Three."}},
		{"single newline stays", "One\ncontinued.\n\nTwo.", []string{"One\ncontinued.", "Two."}},
		{"windows newlines", "One.\r\n\r\nTwo.", []string{"One.", "Two."}},
		{"whitespace trimmed", "  One.  \n\n \t \n\nTwo.", []string{"One.", "Two."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := web.Paragraphs(tt.body); !slices.Equal(got, tt.want) {
				t.Fatalf("Paragraphs(%q) = %q, want %q", tt.body, got, tt.want)
			}
		})
	}
}

func TestIndex(t *testing.T) {
	var buf bytes.Buffer
	post := web.Post{
		Slug:        "a-slug",
		Title:       "Fish & <chips>",
		PublishedAt: time.Date(2024, 6, 18, 9, 0, 0, 0, time.UTC),
		Paragraphs:  []string{"First <b>para</b>.", "Second."},
	}
	if err := web.Index.Execute(&buf, post); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, want := range []string{
		`<h1>Fish &amp; &lt;chips&gt;</h1>`,
		`<p class="lede">First &lt;b&gt;para&lt;/b&gt;.</p>`,
		`<p>Second.</p>`,
		`<time datetime="2024-06-18T09:00:00Z">18 June 2024</time>`,
		`<div id="parley" data-article="a-slug"></div><script src="/widget.js" async></script>`,
		`<link rel="stylesheet" href="/assets/blog.css">`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s\n%s", want, page)
		}
	}
}

// The pages are served with a CSP that forbids inline code and styles; these
// patterns would be blocked in the browser, so they must not be in the files.
func TestStaticHasNoInlineCodeOrStyles(t *testing.T) {
	inline := map[string]*regexp.Regexp{
		"inline script":  regexp.MustCompile(`<script(?:\s[^>]*)?>\s*[^<\s]`),
		"style element":  regexp.MustCompile(`<style`),
		"style attr":     regexp.MustCompile(`\sstyle\s*=`),
		"event handler":  regexp.MustCompile(`\son[a-z]+\s*=`),
		"javascript url": regexp.MustCompile(`(?i)javascript:`),
	}
	pages := map[string]string{"index.html.tmpl": indexSource(t)}
	for _, name := range []string{"static/embed.html"} {
		b, err := fs.ReadFile(web.Static, name)
		if err != nil {
			t.Fatal(err)
		}
		pages[name] = string(b)
	}
	for name, src := range pages {
		for what, re := range inline {
			if loc := re.FindStringIndex(src); loc != nil {
				t.Errorf("%s has an %s: %q", name, what, src[loc[0]:min(loc[1]+20, len(src))])
			}
		}
	}
	js, err := fs.ReadFile(web.Static, "static/embed.js")
	if err != nil {
		t.Fatal(err)
	}
	for _, banned := range []string{"eval(", "new Function", "document.write", `"*")`} {
		if bytes.Contains(js, []byte(banned)) {
			t.Errorf("embed.js uses %s", banned)
		}
	}
}

func indexSource(t *testing.T) string {
	t.Helper()
	var buf bytes.Buffer
	if err := web.Index.Execute(&buf, web.Post{Slug: "s", Title: "t", Paragraphs: []string{"p"}}); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// Everything a reader's browser loads for the widget stays small.
func TestWidgetSize(t *testing.T) {
	const budget = 20 << 10
	total := 0
	for _, name := range []string{"widget.js", "embed.html", "embed.js", "embed.css"} {
		b, err := fs.ReadFile(web.Static, "static/"+name)
		if err != nil {
			t.Fatal(err)
		}
		var z bytes.Buffer
		w, _ := gzip.NewWriterLevel(&z, gzip.BestCompression)
		w.Write(b)
		w.Close()
		t.Logf("%-10s %6d bytes, %5d gzipped", name, len(b), z.Len())
		total += z.Len()
	}
	if total > budget {
		t.Fatalf("widget files gzipped = %d bytes, want at most %d", total, budget)
	}
	if widget, _ := fs.ReadFile(web.Static, "static/widget.js"); len(widget) > 3<<10 {
		t.Errorf("widget.js = %d bytes, want at most 3 KiB: every blog page loads it", len(widget))
	}
}
