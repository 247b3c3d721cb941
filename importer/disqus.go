package importer

import (
	"encoding/xml"
	"strings"
	"time"

	"github.com/parley-comments/parley/models"
)

// Disqus export XML (https://disqus.com/api/schemas/1.0/disqus.xsd): a flat
// list of <category>, <thread dsq:id> and <post dsq:id> elements; a post
// names its thread and its parent post by dsq:id, and its message is HTML.

type disqusRef struct {
	ID string `xml:"id,attr"`
}

type disqusAuthor struct {
	Email    string `xml:"email"`
	Name     string `xml:"name"`
	Username string `xml:"username"`
}

type disqusThread struct {
	ID        string `xml:"id,attr"`
	Link      string `xml:"link"`
	Title     string `xml:"title"`
	CreatedAt string `xml:"createdAt"`
	IsClosed  string `xml:"isClosed"`
	IsDeleted string `xml:"isDeleted"`
}

type disqusPost struct {
	ID         string       `xml:"id,attr"`
	Message    string       `xml:"message"`
	CreatedAt  string       `xml:"createdAt"`
	IsDeleted  string       `xml:"isDeleted"`
	IsSpam     string       `xml:"isSpam"`
	IsApproved *string      `xml:"isApproved"`
	Author     disqusAuthor `xml:"author"`
	IP         string       `xml:"ipAddress"`
	Thread     disqusRef    `xml:"thread"`
	Parent     *disqusRef   `xml:"parent"`
	Points     int          `xml:"points"`
}

func readDisqus(src Source, st Stream) error {
	r, err := src.Open()
	if err != nil {
		return err
	}
	defer r.Close()
	threads := map[string]*Thread{}
	deleted := map[string]bool{}
	// Exports list threads first; a post whose thread comes later waits here.
	waiting := map[string][]*disqusPost{}
	emit := func(p *disqusPost) error {
		th := threads[p.Thread.ID]
		if th == nil {
			waiting[p.Thread.ID] = append(waiting[p.Thread.ID], p)
			return nil
		}
		c, reason := disqusComment(p, th)
		if c == nil {
			st.Skip(describe("post", p.ID), reason)
			return nil
		}
		return st.Comment(c)
	}
	d := newXMLDecoder(r)
	err = xmlElements(d, "disqus", func(start xml.StartElement) (bool, error) {
		switch start.Name.Local {
		case "thread":
			var t disqusThread
			if err := d.DecodeElement(&t, &start); err != nil {
				return true, err
			}
			if t.ID == "" {
				st.Skip("thread without id", "no dsq:id: its posts cannot name it")
				return true, nil
			}
			if isTrue(t.IsDeleted) {
				deleted[t.ID] = true
				delete(waiting, t.ID)
				return true, nil
			}
			created, _ := parseTime(t.CreatedAt, time.RFC3339)
			th := &Thread{SourceID: t.ID, URL: strings.TrimSpace(t.Link), Title: strings.TrimSpace(t.Title), CreatedAt: created, Closed: isTrue(t.IsClosed)}
			threads[t.ID] = th
			for _, p := range waiting[t.ID] {
				if err := emit(p); err != nil {
					return true, err
				}
			}
			delete(waiting, t.ID)
		case "post":
			p := new(disqusPost)
			if err := d.DecodeElement(p, &start); err != nil {
				return true, err
			}
			if deleted[p.Thread.ID] {
				st.Skip(describe("post", p.ID), "its thread "+p.Thread.ID+" is deleted")
				return true, nil
			}
			return true, emit(p)
		}
		return false, nil
	})
	for id, posts := range waiting {
		for _, p := range posts {
			st.Skip(describe("post", p.ID), "its thread "+id+" is not in the file")
		}
	}
	return err
}

// disqusComment converts a post, or says why it cannot be imported.
func disqusComment(p *disqusPost, th *Thread) (*Comment, string) {
	created, ok := parseTime(p.CreatedAt, time.RFC3339)
	if !ok {
		return nil, "createdAt " + quote(p.CreatedAt) + " is not a timestamp"
	}
	c := &Comment{
		SourceID:    strings.TrimSpace(p.ID),
		Thread:      th,
		AuthorName:  strings.TrimSpace(p.Author.Name),
		AuthorEmail: strings.TrimSpace(p.Author.Email),
		IP:          strings.TrimSpace(p.IP),
		Body:        htmlToMarkdown(p.Message),
		CreatedAt:   created,
		Status:      models.StatusApproved,
		Score:       p.Points,
	}
	if c.AuthorName == "" {
		c.AuthorName = strings.TrimSpace(p.Author.Username)
	}
	if p.Parent != nil {
		c.ParentSourceID = strings.TrimSpace(p.Parent.ID)
	}
	switch {
	case isTrue(p.IsDeleted):
		c.Status = models.StatusDeleted
	case isTrue(p.IsSpam):
		c.Status = models.StatusSpam
	case p.IsApproved != nil && !isTrue(*p.IsApproved):
		c.Status = models.StatusPending
	}
	if c.SourceID == "" {
		c.SourceID = derivedID("disqus", th.SourceID, p.CreatedAt, c.AuthorName, p.Message)
	}
	return c, ""
}

func quote(s string) string {
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return `"` + s + `"`
}
