package markup

import (
	"bytes"
	"net/url"
	"strings"

	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/renderer"
	"github.com/yuin/goldmark/util"
)

// commentRenderer overrides goldmark's HTML for the nodes a comment may not
// carry as-is. It holds no state: goldmark shares it across goroutines.
type commentRenderer struct{}

// RegisterFuncs implements renderer.NodeRenderer.
func (commentRenderer) RegisterFuncs(reg renderer.NodeRendererFuncRegisterer) {
	reg.Register(ast.KindHeading, renderHeading)
	reg.Register(ast.KindLink, renderLink)
	reg.Register(ast.KindAutoLink, renderAutoLink)
	reg.Register(ast.KindImage, renderImage)
	reg.Register(ast.KindRawHTML, renderRawHTMLAsText)
	reg.Register(ast.KindHTMLBlock, renderHTMLBlockAsText)
}

// renderHeading writes a heading as a bold paragraph: h1–h6 are not on the
// allowlist, and a comment should not outshout the article around it.
func renderHeading(w util.BufWriter, _ []byte, n ast.Node, entering bool) (ast.WalkStatus, error) {
	if !n.HasChildren() {
		return ast.WalkSkipChildren, nil
	}
	if entering {
		_, _ = w.WriteString("<p><strong>")
	} else {
		_, _ = w.WriteString("</strong></p>\n")
	}
	return ast.WalkContinue, nil
}

// renderLink writes an anchor only for a destination the policy will keep;
// otherwise the link text stays as plain text, so the output never holds an
// <a> without href and Links counts real links.
func renderLink(w util.BufWriter, _ []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	n := node.(*ast.Link)
	if insideLink(n) {
		return ast.WalkContinue, nil
	}
	dest := util.URLEscape(n.Destination, true)
	if !allowedURL(dest) {
		return ast.WalkContinue, nil
	}
	if entering {
		writeLinkStart(w, dest)
	} else {
		_, _ = w.WriteString("</a>")
	}
	return ast.WalkContinue, nil
}

// renderAutoLink handles <https://…>, <user@host> and linkified bare URLs.
func renderAutoLink(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	if !entering {
		return ast.WalkContinue, nil
	}
	n := node.(*ast.AutoLink)
	label := util.EscapeHTML(n.Label(source))
	dest := n.URL(source)
	if n.AutoLinkType == ast.AutoLinkEmail && !hasPrefixFold(dest, "mailto:") {
		dest = append([]byte("mailto:"), dest...)
	}
	dest = util.URLEscape(dest, false)
	if insideLink(n) || !allowedURL(dest) {
		_, _ = w.Write(label)
		return ast.WalkContinue, nil
	}
	writeLinkStart(w, dest)
	_, _ = w.Write(label)
	_, _ = w.WriteString("</a>")
	return ast.WalkContinue, nil
}

// renderImage drops the image and keeps its alt text: comments carry no
// images, so readers are not tracked through them and nothing is hot-linked.
func renderImage(util.BufWriter, []byte, ast.Node, bool) (ast.WalkStatus, error) {
	return ast.WalkContinue, nil
}

// renderRawHTMLAsText writes inline HTML as the text the reader typed,
// escaped: dropping it would silently lose words written beside it.
func renderRawHTMLAsText(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	if !entering {
		return ast.WalkSkipChildren, nil
	}
	segs := node.(*ast.RawHTML).Segments
	for i := 0; i < segs.Len(); i++ {
		seg := segs.At(i)
		_, _ = w.Write(util.EscapeHTML(seg.Value(source)))
	}
	return ast.WalkSkipChildren, nil
}

// renderHTMLBlockAsText writes an HTML block (CommonMark makes one of any
// paragraph that starts with a tag) as a paragraph of the text typed,
// escaped, its line breaks kept like those of any paragraph.
func renderHTMLBlockAsText(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	if !entering {
		return ast.WalkSkipChildren, nil
	}
	n := node.(*ast.HTMLBlock)
	var lines [][]byte
	for i := 0; i < n.Lines().Len(); i++ {
		seg := n.Lines().At(i)
		lines = append(lines, seg.Value(source))
	}
	if n.HasClosure() {
		lines = append(lines, n.ClosureLine.Value(source))
	}
	_, _ = w.WriteString("<p>")
	wrote := false
	for _, line := range lines {
		line = bytes.TrimRight(line, "\r\n")
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if wrote {
			_, _ = w.WriteString("<br>\n")
		}
		_, _ = w.Write(util.EscapeHTML(line))
		wrote = true
	}
	_, _ = w.WriteString("</p>\n")
	return ast.WalkSkipChildren, nil
}

func writeLinkStart(w util.BufWriter, dest []byte) {
	_, _ = w.WriteString(`<a href="`)
	_, _ = w.Write(util.EscapeHTML(dest))
	_, _ = w.WriteString(`" rel="` + linkRel + `">`)
}

// insideLink reports whether n sits within another link's text. Browsers do
// not nest anchors, so an inner link renders as text.
func insideLink(n ast.Node) bool {
	for p := n.Parent(); p != nil && p.Type() != ast.TypeBlock; p = p.Parent() {
		if k := p.Kind(); k == ast.KindLink || k == ast.KindAutoLink {
			return true
		}
	}
	return false
}

// allowedURL mirrors the policy's href check (parseable, no whitespace,
// scheme http, https or mailto, never relative) and is stricter in asking
// for a host or an address, so whatever it accepts the policy keeps.
func allowedURL(dest []byte) bool {
	if len(dest) == 0 || bytes.ContainsFunc(dest, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return false
	}
	u, err := url.Parse(string(dest))
	if err != nil {
		return false
	}
	switch u.Scheme {
	case "http", "https":
		return u.Host != ""
	case "mailto":
		return u.Opaque != ""
	}
	return false
}

func hasPrefixFold(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && strings.EqualFold(string(b[:len(prefix)]), prefix)
}
