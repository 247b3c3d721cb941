package importer

import (
	"encoding/xml"
	"strings"

	"github.com/parley-comments/parley/models"
)

// WordPress eXtended RSS (WXR, Tools → Export): an RSS channel whose <item>
// elements are posts, pages and attachments, each with its <wp:comment>
// elements. comment_content is the raw text WordPress shows through
// wpautop: blank lines are paragraphs, line breaks are <br>, and inline
// HTML is allowed.

type wpItem struct {
	Title         string      `xml:"title"`
	Link          string      `xml:"link"`
	PostID        string      `xml:"post_id"`
	PostDateGMT   string      `xml:"post_date_gmt"`
	CommentStatus string      `xml:"comment_status"`
	Comments      []wpComment `xml:"comment"`
}

type wpComment struct {
	ID       string `xml:"comment_id"`
	Author   string `xml:"comment_author"`
	Email    string `xml:"comment_author_email"`
	URL      string `xml:"comment_author_url"`
	IP       string `xml:"comment_author_IP"`
	Date     string `xml:"comment_date"`
	DateGMT  string `xml:"comment_date_gmt"`
	Content  string `xml:"comment_content"`
	Approved string `xml:"comment_approved"`
	Type     string `xml:"comment_type"`
	Parent   string `xml:"comment_parent"`
}

const wpTime = "2006-01-02 15:04:05"

func readWordPress(src Source, st Stream) error {
	r, err := src.Open()
	if err != nil {
		return err
	}
	defer r.Close()
	d := newXMLDecoder(r)
	return xmlElements(d, "rss", func(start xml.StartElement) (bool, error) {
		if start.Name.Local != "item" {
			return false, nil
		}
		var it wpItem
		if err := d.DecodeElement(&it, &start); err != nil {
			return true, err
		}
		if len(it.Comments) == 0 {
			return true, nil
		}
		th := &Thread{SourceID: strings.TrimSpace(it.PostID), URL: strings.TrimSpace(it.Link), Title: strings.TrimSpace(it.Title),
			Closed: strings.TrimSpace(it.CommentStatus) == "closed"}
		th.CreatedAt, _ = parseTime(it.PostDateGMT, wpTime)
		if th.URL == "" {
			for _, c := range it.Comments {
				st.Skip(describe("comment", c.ID), "its post "+th.SourceID+" has no link")
			}
			return true, nil
		}
		if th.SourceID == "" {
			th.SourceID = derivedID("wordpress", th.URL)
		}
		for i := range it.Comments {
			c, reason := wpToComment(&it.Comments[i], th)
			if c == nil {
				st.Skip(describe("comment", it.Comments[i].ID), reason)
				continue
			}
			if err := st.Comment(c); err != nil {
				return true, err
			}
		}
		return true, nil
	})
}

func wpToComment(w *wpComment, th *Thread) (*Comment, string) {
	switch t := strings.TrimSpace(w.Type); t {
	case "", "comment":
	default:
		return nil, "a " + t + ", not a comment"
	}
	created, ok := parseTime(w.DateGMT, wpTime)
	if !ok || created.Year() < 1971 { // drafts carry 0000-00-00 00:00:00
		if created, ok = parseTime(w.Date, wpTime); !ok {
			return nil, "comment_date " + quote(w.Date) + " is not a timestamp"
		}
	}
	c := &Comment{
		SourceID:    strings.TrimSpace(w.ID),
		Thread:      th,
		AuthorName:  strings.TrimSpace(w.Author),
		AuthorEmail: strings.TrimSpace(w.Email),
		AuthorURL:   strings.TrimSpace(w.URL),
		IP:          strings.TrimSpace(w.IP),
		Body:        htmlToMarkdown(wpautop(w.Content)),
		CreatedAt:   created,
	}
	if p := strings.TrimSpace(w.Parent); p != "0" {
		c.ParentSourceID = p
	}
	switch strings.TrimSpace(w.Approved) {
	case "1", "approve", "approved":
		c.Status = models.StatusApproved
	case "0", "hold":
		c.Status = models.StatusPending
	case "spam":
		c.Status = models.StatusSpam
	case "trash", "post-trashed":
		c.Status = models.StatusDeleted
	default:
		return nil, "comment_approved " + quote(w.Approved) + " is not a known state"
	}
	if c.SourceID == "" {
		c.SourceID = derivedID("wordpress", th.SourceID, w.Date, w.Author, w.Content)
	}
	return c, ""
}

// wpautop gives WordPress's plain-text line breaks their HTML meaning
// before the HTML conversion, which would otherwise fold them into spaces.
func wpautop(s string) string {
	s = strings.ReplaceAll(strings.TrimSpace(strings.ReplaceAll(s, "\r\n", "\n")), "\n\n", "</p><p>")
	return "<p>" + strings.ReplaceAll(s, "\n", "<br>") + "</p>"
}
