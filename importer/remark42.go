package importer

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/parley-comments/parley/models"
)

// Remark42's backup (the file its backup and export commands write,
// usually gzipped): JSON Lines, a first object with "version", "users" and
// "posts", then one comment a line with id, pid (its parent), text (HTML),
// orig (the Markdown the commenter typed, when kept), user, locator (site
// and page url), score, time and delete.

type remark42Comment struct {
	ID   string `json:"id"`
	PID  string `json:"pid"`
	Text string `json:"text"`
	Orig string `json:"orig"`
	User struct {
		Name string `json:"name"`
		ID   string `json:"id"`
		IP   string `json:"ip"`
	} `json:"user"`
	Locator struct {
		Site string `json:"site"`
		URL  string `json:"url"`
	} `json:"locator"`
	Score   int    `json:"score"`
	Time    string `json:"time"`
	Deleted bool   `json:"delete"`
	Title   string `json:"title"`
}

// maxLine caps one line of a JSON Lines file.
const maxLine = 16 << 20

func readRemark42(src Source, st Stream) error {
	threads := map[string]*Thread{}
	first := true
	return jsonLines(src, func(n int, line []byte) error {
		var rc remark42Comment
		err := json.Unmarshal(line, &rc)
		if first && (err != nil || line[0] != '{') {
			return fmt.Errorf("%w: the first line is not a JSON object: not a Remark42 backup", ErrWrongFormat)
		}
		first = false
		if err != nil {
			st.Skip(fmt.Sprintf("line %d", n), "not JSON: "+err.Error())
			return nil
		}
		if rc.ID == "" && rc.Locator.URL == "" {
			return nil // the header line, or another object that is not a comment
		}
		c, reason := remark42ToComment(&rc, threads)
		if c == nil {
			st.Skip(describe("comment", rc.ID), reason)
			return nil
		}
		return st.Comment(c)
	})
}

func remark42ToComment(rc *remark42Comment, threads map[string]*Thread) (*Comment, string) {
	page := strings.TrimSpace(rc.Locator.URL)
	if page == "" {
		return nil, "no locator url"
	}
	created, ok := parseTime(rc.Time, time.RFC3339Nano)
	if !ok {
		return nil, "time " + quote(rc.Time) + " is not a timestamp"
	}
	th := threads[page]
	if th == nil {
		th = &Thread{SourceID: page, URL: page, Title: rc.Title}
		threads[page] = th
	}
	c := &Comment{SourceID: strings.TrimSpace(rc.ID), ParentSourceID: strings.TrimSpace(rc.PID), Thread: th,
		AuthorName: strings.TrimSpace(rc.User.Name), IP: rc.User.IP, CreatedAt: created, Score: rc.Score, Status: models.StatusApproved}
	if rc.Orig != "" {
		c.Body = rc.Orig
	} else {
		c.Body = htmlToMarkdown(rc.Text)
	}
	if rc.Deleted {
		c.Status = models.StatusDeleted
	}
	if c.SourceID == "" {
		c.SourceID = derivedID("remark42", page, rc.Time, rc.User.ID, rc.Text)
	}
	return c, ""
}

// jsonLines calls each with every non-blank line of src (numbered from 1).
// A line longer than maxLine fails the file: it is not a backup.
func jsonLines(src Source, each func(n int, line []byte) error) error {
	r, err := src.Open()
	if err != nil {
		return err
	}
	defer r.Close()
	br := bufio.NewReaderSize(r, 256<<10)
	var long []byte
	for n := 1; ; {
		chunk, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			long = append(long, chunk...)
			if len(long) > maxLine {
				return fmt.Errorf("line %d is longer than %d MiB", n, maxLine>>20)
			}
			continue
		}
		line := chunk
		if long != nil {
			line = append(long, chunk...)
			long = nil
		}
		if trimmed := trimSpaceBytes(line); len(trimmed) > 0 {
			if err := each(n, trimmed); err != nil {
				return err
			}
		}
		n++
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func trimSpaceBytes(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\r' || b[0] == '\n' || b[0] == 0xef || b[0] == 0xbb || b[0] == 0xbf) {
		b = b[1:] // whitespace and a UTF-8 byte order mark
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t' || b[len(b)-1] == '\r' || b[len(b)-1] == '\n') {
		b = b[:len(b)-1]
	}
	return b
}
