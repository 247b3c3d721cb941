package api

import (
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
)

// jsonSerializer is Echo's JSON encoder without HTML escaping. encoding/json
// escapes <, > and & as \u003c (six bytes for one) for JSON pasted into HTML;
// ours is served as application/json with nosniff, and body_html is full of
// those characters, so escaping would only make every page larger.
type jsonSerializer struct{}

// Serialize writes v as JSON, as Echo's default serializer does but unescaped.
func (jsonSerializer) Serialize(c echo.Context, v any, indent string) error {
	enc := json.NewEncoder(c.Response())
	enc.SetEscapeHTML(false)
	if indent != "" {
		enc.SetIndent("", indent)
	}
	return enc.Encode(v)
}

// Deserialize is Echo's default; handlers decode with decodeJSON instead.
func (jsonSerializer) Deserialize(c echo.Context, v any) error {
	return echo.DefaultJSONSerializer{}.Deserialize(c, v)
}

// commentMark records where, in an encoded anonymous page, one comment's
// reader-specific parts go, so that a signed-in reader's page can be made
// from the shared one by splicing instead of encoding again (see
// personalize): bodyAt is where the "body" field would sit, voteAt the
// offset of my_vote's 0.
type commentMark struct {
	id, author     uint // author is 0 for guests and tombstones
	bodyAt, voteAt int
}

// threadEncoder writes a thread page as JSON, byte for byte what
// jsonSerializer writes for a threadView (a test holds it to that), in a
// fraction of reflection's time; with record set it notes each comment's
// marks.
type threadEncoder struct {
	buf    []byte
	record bool
	marks  []commentMark
}

// encodeThread appends v's JSON to dst and returns it with, when record is
// set, its comments' marks.
func encodeThread(dst []byte, v threadView, record bool) ([]byte, []commentMark) {
	e := threadEncoder{buf: dst, record: record}
	e.buf = append(e.buf, `{"items":[`...)
	for i := range v.Items {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		e.comment(&v.Items[i])
	}
	e.buf = append(e.buf, `],"next_cursor":`...)
	if v.NextCursor == nil {
		e.buf = append(e.buf, "null"...)
	} else {
		e.buf = appendJSONString(e.buf, *v.NextCursor)
	}
	e.buf = append(e.buf, `,"total":`...)
	e.buf = strconv.AppendInt(e.buf, int64(v.Total), 10)
	e.buf = append(e.buf, "}\n"...)
	return e.buf, e.marks
}

func (e *threadEncoder) comment(v *commentView) {
	b := append(e.buf, `{"id":`...)
	b = strconv.AppendUint(b, uint64(v.ID), 10)
	b = append(b, `,"article_slug":`...)
	b = appendJSONString(b, v.ArticleSlug)
	b = append(b, `,"parent_id":`...)
	if v.ParentID == nil {
		b = append(b, "null"...)
	} else {
		b = strconv.AppendUint(b, uint64(*v.ParentID), 10)
	}
	b = append(b, `,"author":`...)
	var author uint
	if v.Author == nil {
		b = append(b, "null"...)
	} else {
		author = v.Author.ID
		b = appendAuthor(b, v.Author)
	}
	b = append(b, `,"body_html":`...)
	b = appendJSONString(b, v.BodyHTML)
	b = append(b, ',')
	mark := commentMark{id: v.ID, author: author, bodyAt: len(b)}
	if v.Body != nil {
		b = append(b, `"body":`...)
		b = appendJSONString(b, *v.Body)
		b = append(b, ',')
	}
	b = append(b, `"status":`...)
	b = appendJSONString(b, v.Status)
	b = append(b, `,"created_at":`...)
	b = appendTime(b, v.CreatedAt)
	b = append(b, `,"edited_at":`...)
	if v.EditedAt == nil {
		b = append(b, "null"...)
	} else {
		b = appendTime(b, *v.EditedAt)
	}
	b = append(b, `,"score":`...)
	b = strconv.AppendInt(b, int64(v.Score), 10)
	b = append(b, `,"my_vote":`...)
	mark.voteAt = len(b)
	b = strconv.AppendInt(b, int64(v.MyVote), 10)
	b = append(b, `,"deleted":`...)
	b = strconv.AppendBool(b, v.Deleted)
	if v.RepliesCursor != "" {
		b = append(b, `,"replies_cursor":`...)
		b = appendJSONString(b, v.RepliesCursor)
	}
	b = append(b, `,"replies":`...)
	if e.record {
		e.marks = append(e.marks, mark)
	}
	if v.Replies == nil {
		e.buf = append(b, "null}"...)
		return
	}
	e.buf = append(b, '[')
	for i := range v.Replies {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		e.comment(&v.Replies[i])
	}
	e.buf = append(e.buf, "]}"...)
}

// appendAuthor writes an authorView, leaving out empty fields (omitempty).
func appendAuthor(b []byte, a *authorView) []byte {
	b = append(b, '{')
	sep := false
	field := func(name string) {
		if sep {
			b = append(b, ',')
		}
		sep = true
		b = append(b, name...)
	}
	if a.ID != 0 {
		field(`"id":`)
		b = strconv.AppendUint(b, uint64(a.ID), 10)
	}
	if a.Username != "" {
		field(`"username":`)
		b = appendJSONString(b, a.Username)
	}
	if a.DisplayName != "" {
		field(`"display_name":`)
		b = appendJSONString(b, a.DisplayName)
	}
	if a.Role != "" {
		field(`"role":`)
		b = appendJSONString(b, a.Role)
	}
	if a.GuestName != "" {
		field(`"guest_name":`)
		b = appendJSONString(b, a.GuestName)
	}
	return append(b, '}')
}

// appendTime writes t as encoding/json does: RFC 3339 with nanoseconds.
func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// jsonSafe marks the ASCII bytes a JSON string may hold as they are.
var jsonSafe = func() (t [utf8.RuneSelf]bool) {
	for b := 0x20; b < utf8.RuneSelf; b++ {
		t[b] = b != '"' && b != '\\'
	}
	return t
}()

const hexDigits = "0123456789abcdef"

// appendJSONString writes s as a JSON string exactly as encoding/json does
// with HTML escaping off: control characters, quotes and backslashes
// escaped, invalid UTF-8 replaced by U+FFFD, U+2028 and U+2029 escaped.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if jsonSafe[c] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '\\', '"':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
