package sites

import (
	"fmt"
	"regexp"
	"slices"
	"unicode/utf8"

	"github.com/parley-comments/parley/fault"
	"github.com/parley-comments/parley/markup"
	"github.com/parley-comments/parley/models"
	"github.com/parley-comments/parley/moderation"
)

const maxTitleChars = 300

var (
	// ErrNoAutoThreads refuses a first comment on a page of a site whose
	// threads are created by its admins only.
	ErrNoAutoThreads = fault.New(fault.AutoThreadsOff, "this site's threads are created by its admins; this page has none yet")
	// ErrForeignOrigin refuses to open a thread for a request that does not
	// come from one of the site's pages (or from Parley's own widget frame).
	ErrForeignOrigin = fault.New(fault.OriginNotAllowed, "this request does not come from one of the site's origins")
)

// markupPattern finds what reads as an HTML tag, comment or entity: a page
// title is plain text (document.title), so one carrying these was forged.
var markupPattern = regexp.MustCompile(`<[a-zA-Z/!?]|&[a-zA-Z#][a-zA-Z0-9]*;`)

// Visit is what a first comment tells about the page it was written on.
type Visit struct {
	Origin string // the request's Origin header
	Own    string // Parley's own origin: its widget frame posts from there
	URL    string // the page's address
	Title  string // the page's title
	Key    string // the normalized thread key, the title when none is given
}

// Open decides whether a first comment may create the page's thread on s,
// and returns the thread to create. A thread opens only when the site
// allows automatic threads, the request comes from one of its origins (or
// from Parley's widget frame, which the site's frame-ancestors confines to
// its pages), and the page's URL is on one of its origins. The default
// site also counts Parley's own origin as its own, as it always did.
// The title is cleaned like a display name and must be plain text.
func Open(s models.Site, v Visit) (*moderation.Opening, error) {
	if !s.AutoThreads {
		return nil, ErrNoAutoThreads
	}
	origins := s.Origins
	if s.ID == models.DefaultSite && v.Own != "" {
		origins = append(slices.Clip(origins), v.Own)
	}
	if v.Origin == "" || v.Origin != v.Own && !HasOrigin(origins, v.Origin) {
		return nil, ErrForeignOrigin
	}
	fields := map[string]string{}
	page := PageOrigin(v.URL)
	switch {
	case v.URL == "":
		fields["url"] = "required: the address of the page"
	case len(v.URL) > 2048:
		fields["url"] = "at most 2048 bytes"
	case page == "":
		fields["url"] = "an absolute http or https URL"
	case !slices.Contains(origins, page):
		fields["url"] = "not on one of the site's origins"
	}
	title := markup.CleanName(v.Title)
	switch {
	case markupPattern.MatchString(title):
		fields["title"] = "plain text only, no markup"
	case utf8.RuneCountInString(title) > maxTitleChars:
		fields["title"] = fmt.Sprintf("at most %d characters", maxTitleChars)
	case title == "":
		title = v.Key
		if utf8.RuneCountInString(title) > maxTitleChars {
			title = string([]rune(title)[:maxTitleChars])
		}
	}
	if len(fields) > 0 {
		return nil, fault.InvalidFields("cannot open a thread for this page: "+describe(fields), fields)
	}
	return &moderation.Opening{Title: title, URL: v.URL}, nil
}
