package markup

import (
	"strings"
	"sync"
	"testing"
)

// typicalComment is about 400 bytes: a link, emphasis and a code span.
const typicalComment = `Great write-up, thanks! I ran into the same problem last week when the ` +
	"`context.WithTimeout`" + ` call fired before the pool had warmed up. The fix that worked
for me was to *raise the dial timeout* and retry once; see the discussion in
[the issue tracker](https://github.com/example/project/issues/1234) for details.

Have you measured whether **keep-alives** change the numbers much? Curious about p99.`

var renderExact = []struct {
	name, in, want string
}{
	{"emphasis", "Hello *world* and _you_", "<p>Hello <em>world</em> and <em>you</em></p>"},
	{"strong and code span", "**bold** and `a<b && c`", "<p><strong>bold</strong> and <code>a&lt;b &amp;&amp; c</code></p>"},
	{"link gets rel", "[Go](https://go.dev/doc)", `<p><a href="https://go.dev/doc" rel="nofollow ugc noopener">Go</a></p>`},
	{"link title dropped", `[t](https://example.com "a title")`, `<p><a href="https://example.com" rel="nofollow ugc noopener">t</a></p>`},
	{"mailto link", "[mail](mailto:me@example.com)", `<p><a href="mailto:me@example.com" rel="nofollow ugc noopener">mail</a></p>`},
	{"autolink", "<https://example.com/a>", `<p><a href="https://example.com/a" rel="nofollow ugc noopener">https://example.com/a</a></p>`},
	{"bare url linkified", "see https://example.com/x?y=1 now", `<p>see <a href="https://example.com/x?y=1" rel="nofollow ugc noopener">https://example.com/x?y=1</a> now</p>`},
	{"bare email linkified", "write me@example.com", `<p>write <a href="mailto:me@example.com" rel="nofollow ugc noopener">me@example.com</a></p>`},
	{"strikethrough", "~~gone~~ stays", "<p><del>gone</del> stays</p>"},
	{"fenced code with language", "```go\nx := \"<b>\"\n```", "<pre><code class=\"language-go\">x := &#34;&lt;b&gt;&#34;\n</code></pre>"},
	{"language outside the class pattern", "```c#\nx\n```", "<pre><code>x\n</code></pre>"},
	{"bullet list", "- a\n- b", "<ul>\n<li>a</li>\n<li>b</li>\n</ul>"},
	{"ordered list loses start", "3. three\n4. four", "<ol>\n<li>three</li>\n<li>four</li>\n</ol>"},
	{"blockquote", "> quoted", "<blockquote>\n<p>quoted</p>\n</blockquote>"},
	{"thematic break", "a\n\n---\n\nb", "<p>a</p>\n<hr>\n<p>b</p>"},
	{"hard line break", "one  \ntwo", "<p>one<br>\ntwo</p>"},
	{"atx heading becomes bold paragraph", "# Title *here*", "<p><strong>Title <em>here</em></strong></p>"},
	{"setext heading becomes bold paragraph", "Title\n-----", "<p><strong>Title</strong></p>"},
	{"empty heading disappears", "#\n\ntext", "<p>text</p>"},
	{"image keeps alt text only", "![a *cat*](https://example.com/cat.png)", "<p>a <em>cat</em></p>"},
	{"image inside link keeps the link", "[![logo](https://example.com/l.png)](https://example.com)", `<p><a href="https://example.com" rel="nofollow ugc noopener">logo</a></p>`},
	{"relative link becomes text", "[home](/index.html) and [top](#top)", "<p>home and top</p>"},
	{"ftp link becomes text", "[f](ftp://example.com/f) ftp://example.com/g", "<p>f ftp://example.com/g</p>"},
	{"autolink inside link is not nested", "[<https://a.example>](https://b.example)", `<p><a href="https://b.example" rel="nofollow ugc noopener">https://a.example</a></p>`},
	{"bare url inside link text is not nested", "[www.a.example](https://b.example)", `<p><a href="https://b.example" rel="nofollow ugc noopener">www.a.example</a></p>`},
	{"raw html shown as typed", "hi <b>there</b>", "<p>hi &lt;b&gt;there&lt;/b&gt;</p>"},
	{"entities in text", "Tom & Jerry <3", "<p>Tom &amp; Jerry &lt;3</p>"},
	{"empty input", "", ""},
}

func TestRender(t *testing.T) {
	for _, tc := range renderExact {
		t.Run(tc.name, func(t *testing.T) {
			got := Render(tc.in)
			if got.HTML != tc.want {
				t.Errorf("Render(%q).HTML =\n%s\nwant\n%s", tc.in, got.HTML, tc.want)
			}
			if want := checkSafeHTML(t, got.HTML); got.Links != want {
				t.Errorf("Links = %d, want %d", got.Links, want)
			}
		})
	}
}

var renderProps = []struct {
	name     string
	in       string
	links    int
	contains []string
	excludes []string
}{
	{"typical comment", typicalComment, 1,
		[]string{"<code>context.WithTimeout</code>", "<em>raise the dial timeout</em>", "<strong>keep-alives</strong>", `href="https://github.com/example/project/issues/1234"`}, nil},
	{"www link gets http", "visit www.example.org/path today", 1, []string{`href="http://www.example.org/path"`}, nil},
	{"scheme lowercased", "[x](HTTPS://Example.com/A)", 1, []string{`href="https://Example.com/A"`}, nil},
	{"non-ascii path escaped", "[x](https://example.com/ä)", 1, []string{`href="https://example.com/%C3%A4"`}, nil},
	{"quote in url cannot break out", `[x](https://example.com/"onmouseover="alert(1))`, 1, []string{`href="https://example.com/%22onmouseover=%22alert(1)"`}, []string{`" onmouseover`}},
	{"four kinds of link", "a https://a.example b [c](https://c.example) <https://d.example> e@example.com", 4, nil, nil},
	{"inner link wins", "[a [b](https://c.example)](https://d.example)", 2, []string{`href="https://c.example"`}, nil},
	{"code span not linkified", "`https://example.com` here", 0, []string{"<code>https://example.com</code>"}, []string{"<a"}},
	{"code block not linkified", "```\nhttps://example.com\n```", 0, []string{"<pre><code>https://example.com"}, []string{"<a"}},
	{"every heading level", "# one\n## two\n### three\n#### four\n##### five\n###### six", 0,
		[]string{"<strong>one</strong>", "<strong>six</strong>"}, []string{"<h1", "<h2", "<h6"}},
	{"nested list and quote", "> - item with **bold**\n>   - nested ~strike~", 0, []string{"<blockquote>", "<ul>", "<del>strike</del>"}, nil},
	{"unicode kept", "emoji 🎉 and ünïcödé", 0, []string{"emoji 🎉 and ünïcödé"}, nil},
}

func TestRender_Properties(t *testing.T) {
	for _, tc := range renderProps {
		t.Run(tc.name, func(t *testing.T) {
			got := Render(tc.in)
			anchors := checkSafeHTML(t, got.HTML)
			if got.Links != tc.links || anchors != tc.links {
				t.Errorf("Links = %d (%d <a> parsed), want %d\n%s", got.Links, anchors, tc.links, got.HTML)
			}
			for _, s := range tc.contains {
				if !strings.Contains(got.HTML, s) {
					t.Errorf("output lacks %q:\n%s", s, got.HTML)
				}
			}
			for _, s := range tc.excludes {
				if strings.Contains(got.HTML, s) {
					t.Errorf("output holds %q:\n%s", s, got.HTML)
				}
			}
		})
	}
}

// xssCases must all come out inert; the checker does the heavy lifting and
// forbiddenInXSS catches anything it might miss by parsing leniently.
var xssCases = []struct {
	name, in string
	links    int
	want     string // exact output, for cases whose text survives escaped
}{
	{"script block", "<script>alert(1)</script>", 0, ""},
	{"script inline", "hi <script>alert(1)</script> there", 0, ""},
	{"img onerror", "<img src=x onerror=alert(1)>", 0, ""},
	{"img onerror inline", "text <img src=x onerror=alert(1)> text", 0, ""},
	{"javascript link", "[x](javascript:alert(1))", 0, ""},
	{"mixed-case javascript link", "[x](JaVaScRiPt:alert(1))", 0, ""},
	{"decimal entity scheme", "[x](&#106;avascript:alert(1))", 0, ""},
	{"hex entity scheme", "[x](&#x6A;avascript:alert(1))", 0, ""},
	{"named entity colon", "[x](javascript&colon;alert(1))", 0, ""},
	{"entity tab in scheme", "[x](java&#x09;script:alert(1))", 0, ""},
	{"tab in scheme", "[x](java\tscript:alert(1))", 0, ""},
	{"newline in scheme", "[x](java\nscript:alert(1))", 0, ""},
	{"nul in scheme", "[x](java\x00script:alert(1))", 0, ""},
	{"leading space and angle brackets", "[x](<  javascript:alert(1)>)", 0, ""},
	{"data html link", "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)", 0, ""},
	{"vbscript link", "[x](vbscript:msgbox(1))", 0, ""},
	{"protocol-relative link", "[x](//evil.example/x)", 0, "<p>x</p>"},
	{"scheme without host", "[x](https:javascript:alert(1))", 0, "<p>x</p>"},
	{"file link", "[x](file:///etc/passwd)", 0, "<p>x</p>"},
	{"javascript autolink", "<javascript:alert(1)>", 0, "<p>javascript:alert(1)</p>"},
	{"javascript reference link", "[x][r]\n\n[r]: javascript:alert(1)", 0, ""},
	{"raw anchor", `<a href="javascript:alert(1)">x</a>`, 0, ""},
	{"raw anchor with target", `<a href="https://example.com" target="_blank" onclick="alert(1)">x</a>`, 0, ""},
	{"iframe", `<iframe src="https://evil.example"></iframe>`, 0, ""},
	{"svg onload", `<svg onload=alert(1)>`, 0, ""},
	{"svg inline", `a <svg><script>alert(1)</script></svg> b`, 0, ""},
	{"style block", "<style>body{display:none}</style>", 0, ""},
	{"style attribute", `<p style="position:fixed">x</p>`, 0, ""},
	{"form", `<form action="https://evil.example"><input name=x></form>`, 0, ""},
	{"javascript image", "![x](javascript:alert(1))", 0, ""},
	{"data image", "![x](data:image/png;base64,iVBORw0KGgo=)", 0, ""},
	{"svg data image", "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)", 0, ""},
	{"noscript mxss", `<noscript><p title="</noscript><img src=x onerror=alert(1)>">`, 0, ""},
	{"math mxss", `<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>`, 0, ""},
	{"math mxss inline", `x <math><mtext><table><mglyph><style><!--</style><img title="--&gt;&lt;img src=1 onerror=alert(1)&gt;">`, 0, ""},
	{"html comment", "<!-- <script>alert(1)</script> -->", 0, ""},
	{"html comment inline", "a <!-- x --> b", 0, ""},
	{"cdata", "<![CDATA[<script>alert(1)</script>]]>", 0, ""},
	{"processing instruction", "<?xml version=\"1.0\"?><script>alert(1)</script>", 0, ""},
	{"breaking out of href", `[x](https://example.com/"><script>alert(1)</script>)`, 1, ""},
	{"breaking out of code class", "```go\" onmouseover=\"alert(1)\nx\n```", 0, ""},
	{"language with markup", "```<script>\nx\n```", 0, ""},
	{"unclosed tag", "<img src=x onerror=alert(1)//", 0, "<p>&lt;img src=x onerror=alert(1)//</p>"},
	{"object embed", `<object data="javascript:alert(1)"></object><embed src="javascript:alert(1)">`, 0, ""},
	{"meta refresh", `<meta http-equiv="refresh" content="0;url=javascript:alert(1)">`, 0, ""},
	{"base href", `<base href="javascript:alert(1)//">`, 0, ""},
}

// forbiddenInXSS must not appear in the markup (tags and attributes) of any
// xssCases entry's output. Raw HTML may come back as escaped text, which is
// what the reader typed and runs nothing.
var forbiddenInXSS = []string{"<script", "<img", "<iframe", "<svg", "<math", "<style", "<form", "<object",
	"<embed", "<meta", "<base", "<!--", "onerror=", "onload=", "onclick=", "javascript:", "vbscript:", "data:", "target="}

func TestRender_XSS(t *testing.T) {
	for _, tc := range xssCases {
		t.Run(tc.name, func(t *testing.T) {
			got := Render(tc.in)
			anchors := checkSafeHTML(t, got.HTML)
			if got.Links != tc.links || anchors != tc.links {
				t.Errorf("Links = %d (%d <a> parsed), want %d\n%s", got.Links, anchors, tc.links, got.HTML)
			}
			if tc.want != "" {
				if got.HTML != tc.want {
					t.Errorf("Render(%q).HTML =\n%s\nwant\n%s", tc.in, got.HTML, tc.want)
				}
				return
			}
			lower := strings.ToLower(tagsOf(got.HTML))
			for _, s := range forbiddenInXSS {
				if strings.Contains(lower, s) {
					t.Errorf("Render(%q) holds %q:\n%s", tc.in, s, got.HTML)
				}
			}
		})
	}
}

// TestRender_Concurrent shares the one parser and policy between goroutines;
// run with -race it shows that nothing per call is shared by mistake.
func TestRender_Concurrent(t *testing.T) {
	inputs := []string{typicalComment, longComment(), "# h\n\n[x](https://a.example) ![i](https://b.example/i.png)"}
	want := make([]Rendered, len(inputs))
	for i, in := range inputs {
		want[i] = Render(in)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for n := range 30 {
				i := (g + n) % len(inputs)
				if got := Render(inputs[i]); got != want[i] {
					t.Errorf("goroutine %d: Render(input %d) differs from the sequential result", g, i)
					return
				}
			}
		})
	}
	wg.Wait()
}

// longComment is a 4 KB comment mixing the usual constructs.
func longComment() string {
	const chunk = "A longer paragraph with *emphasis*, **strong text**, `code`, a bare link " +
		"https://example.com/page and [a named one](https://example.org/docs?q=1).\n\n" +
		"> Quoting an earlier reply\n\n- first point\n- second point with ~~strike~~\n\n" +
		"```go\nfmt.Println(\"hello\")\n```\n\n"
	var b strings.Builder
	for b.Len() < 4096-len(chunk) {
		b.WriteString(chunk)
	}
	b.WriteString(strings.Repeat("x", 4096-b.Len()))
	return b.String()
}

func BenchmarkRender(b *testing.B) {
	for _, bc := range []struct{ name, in string }{
		{"400B", typicalComment},
		{"4KB", longComment()},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.in)))
			for b.Loop() {
				Render(bc.in)
			}
		})
		b.Run(bc.name+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.in)))
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					Render(bc.in)
				}
			})
		})
	}
}

func TestRenderKeepsLineBreaks(t *testing.T) {
	got := Render("first line\nsecond line").HTML
	if got != "<p>first line<br>second line</p>" && got != "<p>first line<br/>\nsecond line</p>" && got != "<p>first line<br>\nsecond line</p>" {
		t.Fatalf("Render = %q, want the line break kept as <br>", got)
	}
}

// tagsOf keeps only the tags of sanitized HTML, whose text holds no '<'.
func tagsOf(sanitized string) string {
	var b strings.Builder
	for {
		start := strings.IndexByte(sanitized, '<')
		if start < 0 {
			return b.String()
		}
		end := strings.IndexByte(sanitized[start:], '>')
		if end < 0 {
			b.WriteString(sanitized[start:])
			return b.String()
		}
		b.WriteString(sanitized[start : start+end+1])
		sanitized = sanitized[start+end+1:]
	}
}
