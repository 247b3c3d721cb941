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
