package importer

import (
	"net/url"
	"strconv"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// htmlToMarkdown turns a comment body written in HTML (Disqus, WordPress,
// Remark42) into Markdown that renders to the same text and structure
// through Parley's pipeline: emphasis, links, quotes, lists and code keep
// their form; everything else keeps only its text. Scripts, styles, frames
// and forms are dropped with their content. Nothing is fetched: an image
// becomes a link to it. The result is Markdown source, which the Writer
// cleans and renders like any new comment, so the sanitizer has the last word.
func htmlToMarkdown(s string) string {
	if !strings.ContainsAny(s, "<&") {
		return strings.TrimSpace(escapeMarkdown(collapseSpace(s), true))
	}
	nodes, err := html.ParseFragment(strings.NewReader(s), &html.Node{Type: html.ElementNode, Data: "body", DataAtom: atom.Body})
	if err != nil {
		return strings.TrimSpace(escapeMarkdown(collapseSpace(s), true))
	}
	var w mdWriter
	for _, n := range nodes {
		w.node(n)
	}
	return strings.TrimSpace(w.b.String())
}

// mdWriter builds Markdown; atLineStart lets the escaper protect characters
// that start a block ("#", "-", ">", "1.") only where they would.
type mdWriter struct {
	b    strings.Builder
	link bool // inside <a>: nested links are flattened to text
}

func (w *mdWriter) lineStart() bool {
	s := w.b.String()
	return s == "" || strings.HasSuffix(s, "\n")
}

func (w *mdWriter) text(s string) {
	s = collapseSpace(s)
	if w.lineStart() {
		s = strings.TrimLeft(s, " ")
	}
	w.b.WriteString(escapeMarkdown(s, w.lineStart()))
}

// block ends the current paragraph: Markdown separates blocks with a blank line.
func (w *mdWriter) block() {
	s := w.b.String()
	switch {
	case s == "", strings.HasSuffix(s, "\n\n"):
	case strings.HasSuffix(s, "\n"):
		w.b.WriteString("\n")
	default:
		w.b.WriteString("\n\n")
	}
}

func (w *mdWriter) children(n *html.Node) {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		w.node(c)
	}
}

// inline renders n's children apart, so a wrapper can be put around them.
func (w *mdWriter) inline(n *html.Node) string {
	sub := mdWriter{link: w.link}
	sub.children(n)
	return strings.TrimSpace(sub.b.String())
}

func (w *mdWriter) node(n *html.Node) {
	switch n.Type {
	case html.TextNode:
		w.text(n.Data)
		return
	case html.ElementNode:
	default:
		w.children(n)
		return
	}
	switch n.DataAtom {
	case atom.Script, atom.Style, atom.Iframe, atom.Object, atom.Embed, atom.Form, atom.Template,
		atom.Noscript, atom.Svg, atom.Math, atom.Head, atom.Title, atom.Button, atom.Select, atom.Textarea:
		return
	case atom.Br:
		w.b.WriteString("\n")
	case atom.P, atom.Div, atom.Section, atom.Article, atom.Table, atom.Tr, atom.Figure:
		w.block()
		w.children(n)
		w.block()
	case atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6:
		w.block()
		w.wrap("**", n)
		w.block()
	case atom.Hr:
		w.block()
		w.b.WriteString("---")
		w.block()
	case atom.B, atom.Strong:
		w.wrap("**", n)
	case atom.I, atom.Em, atom.Cite:
		w.wrap("*", n)
	case atom.S, atom.Del, atom.Strike:
		w.wrap("~~", n)
	case atom.Code, atom.Tt, atom.Kbd:
		w.code(textOf(n))
	case atom.Pre:
		w.block()
		body := strings.TrimRight(textOf(n), "\n")
		fence := "```"
		for strings.Contains(body, fence) {
			fence += "`"
		}
		w.b.WriteString(fence + "\n" + body + "\n" + fence)
		w.block()
	case atom.Blockquote:
		w.block()
		sub := mdWriter{}
		sub.children(n)
		for _, line := range strings.Split(strings.TrimSpace(sub.b.String()), "\n") {
			w.b.WriteString(strings.TrimRight("> "+line, " ") + "\n")
		}
		w.block()
	case atom.Ul, atom.Ol:
		w.block()
		i := 0
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if c.Type != html.ElementNode || c.DataAtom != atom.Li {
				continue
			}
			i++
			marker := "- "
			if n.DataAtom == atom.Ol {
				marker = strconv.Itoa(i) + ". "
			}
			item := strings.ReplaceAll(w.inline(c), "\n", "\n   ")
			w.b.WriteString(marker + item + "\n")
		}
		w.block()
	case atom.A:
		href := safeURL(attr(n, "href"))
		if w.link || href == "" {
			w.children(n)
			return
		}
		w.link = true
		label := w.inline(n)
		w.link = false
		if label == "" {
			label = escapeMarkdown(href, false)
		}
		w.b.WriteString("[" + label + "](" + href + ")")
	case atom.Img:
		src := safeURL(attr(n, "src"))
		if src == "" || w.link {
			w.text(attr(n, "alt"))
			return
		}
		label := escapeMarkdown(collapseSpace(attr(n, "alt")), false)
		if label == "" {
			label = "image"
		}
		w.b.WriteString("[" + label + "](" + src + ")")
	default:
		w.children(n)
	}
}

func (w *mdWriter) wrap(mark string, n *html.Node) {
	inner := w.inline(n)
	if inner == "" {
		return
	}
	w.b.WriteString(mark + inner + mark)
}

// code writes an inline code span with a fence longer than any run of
// backticks inside it.
func (w *mdWriter) code(s string) {
	s = collapseSpace(s)
	if strings.TrimSpace(s) == "" {
		return
	}
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	pad := ""
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		pad = " "
	}
	w.b.WriteString(fence + pad + s + pad + fence)
}

func textOf(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		if n.Type == html.ElementNode && n.DataAtom == atom.Br {
			b.WriteString("\n")
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return b.String()
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return strings.TrimSpace(a.Val)
		}
	}
	return ""
}

// safeURL keeps http, https and mailto links, in a form that cannot end the
// Markdown link early; anything else (javascript:, data:, relative) is dropped.
func safeURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https", "mailto":
	default:
		return ""
	}
	s := u.String()
	r := strings.NewReplacer(" ", "%20", "(", "%28", ")", "%29", "<", "%3C", ">", "%3E")
	return r.Replace(s)
}

func collapseSpace(s string) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		if r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f' {
			if !space {
				b.WriteByte(' ')
			}
			space = true
			continue
		}
		space = false
		b.WriteRune(r)
	}
	return b.String()
}

// escapeMarkdown backslash-escapes what Markdown would read as syntax in
// text that was plain in the HTML.
func escapeMarkdown(s string, lineStart bool) string {
	var b strings.Builder
	for i, r := range s {
		switch r {
		case '\\', '`', '*', '_', '[', ']', '<', '>', '~', '|':
			b.WriteByte('\\')
		case '&':
			if i+1 < len(s) && (isAlnum(s[i+1]) || s[i+1] == '#') {
				b.WriteByte('\\')
			}
		case '#', '-', '+', '=':
			if lineStart && i == 0 {
				b.WriteByte('\\')
			}
		case '.', ')':
			if lineStart && i > 0 && isDigits(s[:i]) {
				b.WriteByte('\\')
			}
		}
		b.WriteRune(r)
	}
	return b.String()
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
