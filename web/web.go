// Package web holds what browsers load from Parley: the embeddable comment widget,
// the comment app shown inside its iframe, and the demo blog page.
package web

import (
	"embed"
	"html/template"
	"strings"
	"time"
)

// Static holds the files under static/: widget.js, embed.html and the assets they load.
//
//go:embed static
var Static embed.FS

//go:embed index.html.tmpl
var indexSource string

// Index is the demo blog page; execute it with a Post.
var Index = template.Must(template.New("index").Parse(indexSource))

// Post is what the demo blog page shows: one article and the widget below it.
type Post struct {
	Slug        string
	Title       string
	PublishedAt time.Time
	Paragraphs  []string
}

// Paragraphs splits an article body into paragraphs at blank lines, trimming each
// and dropping empty ones.
func Paragraphs(body string) []string {
	body = strings.ReplaceAll(body, "\r\n", "\n")
	var out []string
	for _, p := range strings.Split(body, "\n\n") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

//go:embed fragment.html.tmpl
var fragmentSource string

// Fragment is a thread's approved comments as HTML, for blogs without
// JavaScript and for crawlers; execute "fragment" with a Thread.
var Fragment = template.Must(template.New("fragment").Parse(fragmentSource))

// Thread is what a fragment shows: a page of a thread's public comments.
type Thread struct {
	Key      string
	Total    int
	Comments []FragmentComment
	More     string // the next page's URL, empty on the last page
}

// FragmentComment is one comment of a fragment, with its replies nested.
type FragmentComment struct {
	ID          uint
	Deleted     bool
	Author      string
	Created     string // RFC 3339
	CreatedText string
	BodyHTML    template.HTML // sanitized when stored (markup.Render)
	Replies     []FragmentComment
}
