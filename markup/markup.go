// Package markup turns comment Markdown into safe HTML and cleans user-supplied text.
package markup

import (
	"bytes"
	htmltext "html"
	"regexp"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/renderer"
	"github.com/yuin/goldmark/renderer/html"
	"github.com/yuin/goldmark/util"
)

// Version identifies the rendering pipeline; stored beside each comment's HTML so that a policy change can re-render old comments.
// Version 2 shows raw HTML as escaped text where version 1 dropped it.
const Version = 2

// linkRel is set on every link: comment links are user content (ugc), earn no
// ranking (nofollow) and get no window.opener (noopener).
const linkRel = "nofollow ugc noopener"

// Rendered is the output of Render.
type Rendered struct {
	HTML  string // sanitized HTML, safe to insert into a page
	Links int    // number of <a href> links in HTML (used by auto-moderation's max_links rule)
	// Visible reports whether HTML shows any text: a comment of nothing but
	// an image, an empty link or a rule would publish as an empty box.
	Visible bool
}

// Both are built once: goldmark.Markdown and bluemonday.Policy are safe for
// concurrent use after construction.
var (
	md     = newMarkdown()
	policy = newPolicy()
)

// newMarkdown builds the parser and renderer. html.WithUnsafe is deliberately
// absent, and commentRenderer replaces the renderers for headings, links,
// images and raw HTML (see renderer.go).
func newMarkdown() goldmark.Markdown {
	return goldmark.New(
		goldmark.WithExtensions(
			extension.Strikethrough,
			// Bare ftp:// URLs stay text: only http(s) survives the policy anyway.
			extension.NewLinkify(extension.WithLinkifyAllowedProtocols([]string{"http:", "https:"})),
		),
		goldmark.WithRendererOptions(
			// Commenters expect a line break to stay a line break.
			html.WithHardWraps(),
			// A lower number wins over goldmark's own HTML renderer (1000).
			renderer.WithNodeRenderers(util.Prioritized(commentRenderer{}, 100)),
		),
	)
}

// newPolicy builds the allowlist from SECURITY.md. It runs last, so it is
// the one place that decides what reaches a page, whatever goldmark emits.
func newPolicy() *bluemonday.Policy {
	p := bluemonday.NewPolicy()
	p.AllowElements("p", "br", "strong", "em", "del", "code", "pre", "blockquote", "ul", "ol", "li", "hr")
	// An <a> whose attributes are all refused is dropped, keeping its text.
	p.AllowAttrs("href").OnElements("a")
	p.AllowAttrs("rel").Matching(regexp.MustCompile(`^` + linkRel + `$`)).OnElements("a")
	p.AllowAttrs("class").Matching(regexp.MustCompile(`^language-[a-zA-Z0-9_+-]+$`)).OnElements("code")
	p.AllowURLSchemes("http", "https", "mailto")
	p.RequireParseableURLs(true)
	p.AllowRelativeURLs(false)
	return p
}

// maxPooledBuffer keeps one huge comment from pinning its buffer in the pool.
const maxPooledBuffer = 64 << 10

var bufPool = sync.Pool{New: func() any { return new(buffer) }}

// buffer is a bytes.Buffer that satisfies goldmark's util.BufWriter, so the
// renderer writes straight into it instead of allocating a bufio.Writer per call.
type buffer struct{ bytes.Buffer }

// Buffered reports no pending bytes: writes land in the buffer at once.
func (b *buffer) Buffered() int { return 0 }

// Flush does nothing, for the same reason.
func (b *buffer) Flush() error { return nil }

func getBuffer() *buffer {
	b := bufPool.Get().(*buffer)
	b.Reset()
	return b
}

func putBuffer(b *buffer) {
	if b.Cap() <= maxPooledBuffer {
		bufPool.Put(b)
	}
}

// Render turns Markdown into sanitized HTML.
func Render(src string) Rendered {
	raw, clean := getBuffer(), getBuffer()
	defer putBuffer(raw)
	defer putBuffer(clean)

	// Bodies pass CleanBody first; this keeps Render's own promise of valid
	// UTF-8 output for any caller.
	if !utf8.ValidString(src) {
		src = strings.ToValidUTF8(src, "\uFFFD")
	}
	// Both steps write to memory, so an error means a bug in one of them;
	// empty output fails closed.
	if err := md.Convert([]byte(src), raw); err != nil {
		return Rendered{}
	}
	if err := policy.SanitizeReaderToWriter(bytes.NewReader(raw.Bytes()), clean); err != nil {
		return Rendered{}
	}
	out := string(bytes.TrimRight(clean.Bytes(), "\n"))
	// The sanitizer escapes every '<' in text and attribute values, so each
	// "<a " in its output starts an anchor element.
	return Rendered{HTML: out, Links: strings.Count(out, "<a "), Visible: hasVisibleText(out)}
}

// hasVisibleText reports whether sanitized HTML holds a character a reader
// would see: not a tag, not white space, not an invisible format character
// or one of the blank letters used to fake an empty-looking post.
func hasVisibleText(sanitized string) bool {
	for len(sanitized) > 0 {
		if sanitized[0] == '<' { // the sanitizer escapes '<' in text: this is a tag
			end := strings.IndexByte(sanitized, '>')
			if end < 0 {
				return false
			}
			sanitized = sanitized[end+1:]
			continue
		}
		end := strings.IndexByte(sanitized, '<')
		if end < 0 {
			end = len(sanitized)
		}
		for _, r := range htmltext.UnescapeString(sanitized[:end]) {
			if unicode.IsGraphic(r) && !unicode.IsSpace(r) && !blankLetter(r) {
				return true
			}
		}
		sanitized = sanitized[end:]
	}
	return false
}

// blankLetter reports letters that print as nothing (Hangul fillers, the
// blank Braille pattern).
func blankLetter(r rune) bool {
	switch r {
	case '\u115F', '\u1160', '\u3164', '\uFFA0', '\u2800':
		return true
	}
	return false
}
