package markup

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
	"golang.org/x/text/unicode/norm"
)

// allowedElements is the SECURITY.md allowlist, restated here so that the
// checker does not trust the policy it is checking.
var allowedElements = map[string]bool{
	"p": true, "br": true, "strong": true, "em": true, "del": true, "code": true, "pre": true,
	"blockquote": true, "ul": true, "ol": true, "li": true, "hr": true, "a": true,
}

var (
	languageClass = regexp.MustCompile(`^language-[a-zA-Z0-9_+-]+$`)
	// tagStart matches the start or end tag a '<' in the output must open;
	// escaped text never contains a bare '<'.
	tagStart = regexp.MustCompile(`^</?([a-z]+)[ >]`)
)

// checkSafeHTML parses s the way a browser parses innerHTML and fails unless
// every element, attribute and URL is on the allowlist; it returns the number
// of <a> elements found.
func checkSafeHTML(t testing.TB, s string) int {
	t.Helper()
	if !utf8.ValidString(s) {
		t.Errorf("output is not valid UTF-8: %q", s)
	}
	checkRawTags(t, s)

	ctx := &html.Node{Type: html.ElementNode, Data: "div", DataAtom: atom.Div}
	nodes, err := html.ParseFragment(strings.NewReader(s), ctx)
	if err != nil {
		t.Fatalf("parse output: %v\n%s", err, s)
	}
	anchors := 0
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		switch n.Type {
		case html.TextNode:
		case html.ElementNode:
			if n.Data == "a" {
				anchors++
			}
			checkElement(t, n, s)
		default: // comments, doctypes: the policy strips them all
			t.Errorf("unexpected node type %d (%q) in output:\n%s", n.Type, n.Data, s)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	for _, n := range nodes {
		walk(n)
	}
	return anchors
}

func checkElement(t testing.TB, n *html.Node, s string) {
	t.Helper()
	if n.Namespace != "" || !allowedElements[n.Data] {
		t.Errorf("element <%s> (namespace %q) is not allowed:\n%s", n.Data, n.Namespace, s)
	}
	hasHref := false
	for _, a := range n.Attr {
		key := strings.ToLower(a.Key)
		switch {
		case a.Namespace != "" || strings.HasPrefix(key, "on"):
			t.Errorf("attribute %s:%s on <%s> is not allowed:\n%s", a.Namespace, a.Key, n.Data, s)
		case n.Data == "a" && key == "href":
			hasHref = true
			checkHref(t, a.Val, s)
		case n.Data == "a" && key == "rel":
			if a.Val != linkRel {
				t.Errorf("rel = %q, want %q:\n%s", a.Val, linkRel, s)
			}
		case n.Data == "code" && key == "class":
			if !languageClass.MatchString(a.Val) {
				t.Errorf("code class %q is not language-…:\n%s", a.Val, s)
			}
		default:
			t.Errorf("attribute %s on <%s> is not allowed:\n%s", a.Key, n.Data, s)
		}
	}
	if n.Data == "a" && !hasHref {
		t.Errorf("<a> without href:\n%s", s)
	}
}

func checkHref(t testing.TB, href, s string) {
	t.Helper()
	u, err := url.Parse(href)
	if err != nil {
		t.Errorf("href %q does not parse: %v\n%s", href, err, s)
		return
	}
	switch u.Scheme {
	case "http", "https", "mailto":
	default:
		t.Errorf("href %q has scheme %q, want http, https or mailto:\n%s", href, u.Scheme, s)
	}
}

// checkRawTags looks at the serialized text rather than the parse tree, so a
// tokenizer quirk in either direction still shows up: every '<' must open or
// close an allowed element.
func checkRawTags(t testing.TB, s string) {
	t.Helper()
	for i := strings.IndexByte(s, '<'); i >= 0; {
		m := tagStart.FindStringSubmatch(s[i:])
		if m == nil || !allowedElements[m[1]] {
			t.Errorf("raw %q at byte %d is not an allowed tag:\n%s", s[i:min(i+20, len(s))], i, s)
			return
		}
		next := strings.IndexByte(s[i+1:], '<')
		if next < 0 {
			break
		}
		i += 1 + next
	}
}

// fuzzSeeds are the XSS cases plus ordinary Markdown; they also run as a
// plain unit test.
func fuzzSeeds() []string {
	seeds := []string{}
	for _, tc := range xssCases {
		seeds = append(seeds, tc.in)
	}
	for _, tc := range renderExact {
		seeds = append(seeds, tc.in)
	}
	for _, tc := range renderProps {
		seeds = append(seeds, tc.in)
	}
	return append(seeds, typicalComment, "", "\x00", "a\u202eb\u200bc", "e\u0301", "\xff\xfe")
}

func FuzzRender(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		r := Render(src)
		if anchors := checkSafeHTML(t, r.HTML); r.Links != anchors {
			t.Errorf("Links = %d, want %d <a> elements:\n%s", r.Links, anchors, r.HTML)
		}
		// Text that survives CleanBody must render just as safely.
		if body, err := CleanBody(src); err == nil {
			checkSafeHTML(t, Render(body).HTML)
		}
	})
}

func FuzzCleanBody(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := CleanBody(s)
		if err != nil {
			if got != "" {
				t.Errorf("CleanBody(%q) = %q with error %v, want empty", s, got, err)
			}
			return
		}
		if !utf8.ValidString(got) || !norm.NFC.IsNormalString(got) {
			t.Errorf("CleanBody(%q) = %q: not valid NFC UTF-8", s, got)
		}
		for _, r := range got {
			if (unicode.IsControl(r) && r != '\n' && r != '\t') || isBidiOverride(r) {
				t.Errorf("CleanBody(%q) = %q keeps %U", s, got, r)
			}
		}
		if strings.TrimRightFunc(got, unicode.IsSpace) != got {
			t.Errorf("CleanBody(%q) = %q keeps trailing whitespace", s, got)
		}
		if again, err := CleanBody(got); err != nil || again != got {
			t.Errorf("CleanBody not idempotent: %q -> %q -> %q, %v", s, got, again, err)
		}
	})
}

func FuzzCleanName(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	for _, tc := range cleanNameCases {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := CleanName(s)
		if !utf8.ValidString(got) || !norm.NFC.IsNormalString(got) {
			t.Errorf("CleanName(%q) = %q: not valid NFC UTF-8", s, got)
		}
		for _, r := range got {
			if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || (unicode.IsSpace(r) && r != ' ') {
				t.Errorf("CleanName(%q) = %q keeps %U", s, got, r)
			}
		}
		if strings.TrimSpace(got) != got || strings.Contains(got, "  ") {
			t.Errorf("CleanName(%q) = %q: untrimmed or uncollapsed spaces", s, got)
		}
		if again := CleanName(got); again != got {
			t.Errorf("CleanName not idempotent: %q -> %q -> %q", s, got, again)
		}
	})
}

// failRecorder stands in for *testing.T so the checker itself can be tested.
type failRecorder struct {
	testing.TB
	failed bool
}

func (r *failRecorder) Helper()               {}
func (r *failRecorder) Errorf(string, ...any) { r.failed = true }
func (r *failRecorder) Fatalf(string, ...any) { r.failed = true }

func TestCheckSafeHTML(t *testing.T) {
	tests := []struct {
		name, html string
		safe       bool
	}{
		{"escaped text", "<p>a &lt;script&gt; b</p>", true},
		{"good link", `<p><a href="https://example.com" rel="nofollow ugc noopener">x</a></p>`, true},
		{"good code class", `<pre><code class="language-c++">x</code></pre>`, true},
		{"script element", "<script>alert(1)</script>", false},
		{"img element", "<p><img src=x></p>", false},
		{"svg element", "<svg></svg>", false},
		{"math element", "<p><math></math></p>", false},
		{"comment", "<!-- x -->", false},
		{"event handler", `<p onclick="alert(1)">x</p>`, false},
		{"style attribute", `<p style="color:red">x</p>`, false},
		{"javascript href", `<a href="javascript:alert(1)" rel="nofollow ugc noopener">x</a>`, false},
		{"relative href", `<a href="/x" rel="nofollow ugc noopener">x</a>`, false},
		{"unparseable href", `<a href="https://[::1" rel="nofollow ugc noopener">x</a>`, false},
		{"wrong rel", `<a href="https://example.com" rel="nofollow">x</a>`, false},
		{"target", `<a href="https://example.com" rel="nofollow ugc noopener" target="_blank">x</a>`, false},
		{"anchor without href", `<a rel="nofollow ugc noopener">x</a>`, false},
		{"bad code class", `<code class="x">y</code>`, false},
		{"class on p", `<p class="language-go">y</p>`, false},
		{"heading", "<h1>x</h1>", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &failRecorder{TB: t}
			checkSafeHTML(r, tc.html)
			if r.failed == tc.safe {
				t.Errorf("checkSafeHTML(%q) failed = %v, want %v", tc.html, r.failed, !tc.safe)
			}
		})
	}
}
