// Package importer reads comment exports of other systems (Disqus,
// WordPress, Commento, Remark42, Isso) and Parley's own, and stores them.
//
// Each format has a reader that streams the file into one neutral record
// stream (threads and comments with their original ids); a single Writer
// stores that stream, and Export writes Parley's own format.
package importer

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Thread is a page that comments belong to, as the source knew it.
type Thread struct {
	SourceID  string
	URL       string // as in the source: absolute, or a path on the blog
	Title     string
	CreatedAt time.Time
	Closed    bool
}

// Comment is one comment as the source knew it. Body is Markdown (HTML
// sources are converted by the reader) that has not been cleaned yet: the
// Writer cleans and renders it like a new comment.
type Comment struct {
	SourceID       string
	ParentSourceID string // "" for a top-level comment
	Thread         *Thread
	AuthorName     string
	AuthorEmail    string
	AuthorURL      string
	IP             string
	Body           string
	CreatedAt      time.Time
	Status         string // a models.Status* value
	Score          int
}

// Stream receives what a reader finds, in file order.
type Stream interface {
	// Comment receives one comment; an error stops the reader.
	Comment(c *Comment) error
	// Skip reports an item left out of the import and why.
	Skip(item, reason string)
}

// Reader reads one format from src into st. It returns an error only when
// the file as a whole cannot be read; a bad record is reported to st.Skip.
type Reader func(src Source, st Stream) error

// Formats are the readers by the name the command line and /admin use.
// "parley" is not among them: Parley's own export restores whole tables
// (see Restore).
var Formats = map[string]Reader{
	"disqus":    readDisqus,
	"wordpress": readWordPress,
	"commento":  readCommento,
	"remark42":  readRemark42,
	"isso":      readIsso,
}

// FormatNames lists every format accepted by Import, for usage messages.
func FormatNames() []string {
	names := []string{FormatParley}
	for n := range Formats {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// FormatParley names Parley's own export format.
const FormatParley = "parley"

// derivedID stands in for a missing source id: the same comment in the same
// place gets the same id, so a second import of the file still adds nothing.
func derivedID(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return "sha256:" + hex.EncodeToString(sum[:12])
}

// describe names a record for skip reports.
func describe(kind, id string) string {
	if id == "" {
		return kind + " without id"
	}
	return fmt.Sprintf("%s %s", kind, id)
}
