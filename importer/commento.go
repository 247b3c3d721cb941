package importer

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/parley-comments/parley/models"
)

// Commento's JSON export: one object with "version", "comments" and
// "commenters". Comments name their author by commenterHex and their parent
// by parentHex ("root" at the top); bodies are Markdown; a page is a domain
// and a path. Commenters are read first in a pass of their own, since the
// export may list them after the comments.

type commentoComment struct {
	CommentHex   string `json:"commentHex"`
	Domain       string `json:"domain"`
	URL          string `json:"url"`
	CommenterHex string `json:"commenterHex"`
	Markdown     string `json:"markdown"`
	HTML         string `json:"html"`
	ParentHex    string `json:"parentHex"`
	Score        int    `json:"score"`
	State        string `json:"state"`
	CreationDate string `json:"creationDate"`
	Deleted      bool   `json:"deleted"`
}

type commentoCommenter struct {
	CommenterHex string `json:"commenterHex"`
	Email        string `json:"email"`
	Name         string `json:"name"`
	Link         string `json:"link"`
}

func readCommento(src Source, st Stream) error {
	people := map[string]commentoCommenter{}
	if err := commentoArray(src, "commenters", false, func(dec *json.Decoder, i int) error {
		var p commentoCommenter
		if err := dec.Decode(&p); err != nil {
			return err
		}
		people[p.CommenterHex] = p
		return nil
	}); err != nil {
		return err
	}
	threads := map[string]*Thread{}
	return commentoArray(src, "comments", true, func(dec *json.Decoder, i int) error {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return err
		}
		var cc commentoComment
		if err := json.Unmarshal(raw, &cc); err != nil {
			st.Skip(fmt.Sprintf("comment #%d", i+1), "not a comment object: "+err.Error())
			return nil
		}
		c, reason := commentoToComment(&cc, people, threads)
		if c == nil {
			st.Skip(describe("comment", cc.CommentHex), reason)
			return nil
		}
		return st.Comment(c)
	})
}

func commentoToComment(cc *commentoComment, people map[string]commentoCommenter, threads map[string]*Thread) (*Comment, string) {
	created, ok := parseTime(cc.CreationDate, time.RFC3339Nano)
	if !ok {
		return nil, "creationDate " + quote(cc.CreationDate) + " is not a timestamp"
	}
	page := strings.TrimSpace(cc.URL)
	if page == "" {
		return nil, "no page url"
	}
	if !strings.Contains(page, "://") {
		page = "https://" + strings.TrimSpace(cc.Domain) + "/" + strings.TrimPrefix(page, "/")
	}
	th := threads[page]
	if th == nil {
		th = &Thread{SourceID: page, URL: page}
		threads[page] = th
	}
	c := &Comment{SourceID: strings.TrimSpace(cc.CommentHex), Thread: th, Body: cc.Markdown, CreatedAt: created, Score: cc.Score, Status: models.StatusApproved}
	if cc.Markdown == "" && cc.HTML != "" {
		c.Body = htmlToMarkdown(cc.HTML)
	}
	if p := strings.TrimSpace(cc.ParentHex); p != "" && p != "root" {
		c.ParentSourceID = p
	}
	if who, ok := people[cc.CommenterHex]; ok {
		c.AuthorName, c.AuthorEmail, c.AuthorURL = who.Name, who.Email, who.Link
	} else {
		c.AuthorName = "Anonymous"
	}
	switch {
	case cc.Deleted:
		c.Status = models.StatusDeleted
	case cc.State == "unapproved":
		c.Status = models.StatusPending
	case cc.State == "flagged":
		c.Status = models.StatusSpam
	}
	if c.SourceID == "" {
		c.SourceID = derivedID("commento", page, cc.CreationDate, cc.CommenterHex, cc.Markdown)
	}
	return c, ""
}

// commentoArray streams the elements of one top-level array of the export
// to each, skipping every other member without holding it in memory.
func commentoArray(src Source, key string, required bool, each func(dec *json.Decoder, i int) error) error {
	r, err := src.Open()
	if err != nil {
		return err
	}
	defer r.Close()
	dec := json.NewDecoder(r)
	if err := expectDelim(dec, '{'); err != nil {
		return fmt.Errorf("%w: not a Commento export: %w", ErrWrongFormat, err)
	}
	found := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		name, _ := tok.(string)
		if name != key {
			if err := skipValue(dec); err != nil {
				return err
			}
			continue
		}
		if err := expectDelim(dec, '['); err != nil {
			return fmt.Errorf("%w: %q: %w", ErrWrongFormat, key, err)
		}
		found = true
		for i := 0; dec.More(); i++ {
			if err := each(dec, i); err != nil {
				return fmt.Errorf("%s #%d: %w", key, i+1, err)
			}
		}
		if _, err := dec.Token(); err != nil {
			return err
		}
	}
	if required && !found {
		return fmt.Errorf("%w: no %q array: not a Commento export", ErrWrongFormat, key)
	}
	return nil
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("expected %q, found %v", want, tok)
	}
	return nil
}

// skipValue consumes one JSON value token by token.
func skipValue(dec *json.Decoder) error {
	depth := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return io.ErrUnexpectedEOF
		}
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
		if depth == 0 {
			return nil
		}
	}
}
