package api

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// encodingJSON is what jsonSerializer writes for v.
func encodingJSON(t *testing.T, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// awkward are strings that take each of the escaper's paths.
var awkward = []string{
	"", "plain", `quote " and backslash \ `, "<p>a &amp; b</p>", "tab\tnew\nline\rcr", "\b\f\x00\x01\x1f\x7f",
	"naïve café 日本語 🙂", "bad \xff utf-8 \xc3", "line\u2028para\u2029end", `<a href="https://x.example/?a=1&b=2" rel="nofollow ugc noopener">x</a>`,
}

func randomString(rng *rand.Rand) string {
	var b strings.Builder
	for range rng.IntN(40) {
		switch rng.IntN(6) {
		case 0:
			b.WriteByte(byte(rng.IntN(256)))
		case 1:
			b.WriteString(awkward[rng.IntN(len(awkward))])
		default:
			b.WriteByte(byte('a' + rng.IntN(26)))
		}
	}
	return b.String()
}

func randomComment(rng *rand.Rand, depth int) commentView {
	s := func() string { return randomString(rng) }
	at := time.Date(2020+rng.IntN(10), time.Month(1+rng.IntN(12)), 1+rng.IntN(28), rng.IntN(24), rng.IntN(60), rng.IntN(60), rng.IntN(3)*int(time.Millisecond)*rng.IntN(1000), time.UTC)
	v := commentView{ID: uint(rng.Uint32()), ArticleSlug: s(), BodyHTML: s(), Status: s(), CreatedAt: at,
		Score: rng.IntN(200) - 100, MyVote: rng.IntN(3) - 1, Deleted: rng.IntN(2) == 0}
	if rng.IntN(3) == 0 {
		v.RepliesCursor = s()
	}
	if rng.IntN(2) == 0 {
		p := uint(rng.Uint32())
		v.ParentID = &p
	}
	switch rng.IntN(4) {
	case 0:
	case 1:
		v.Author = &authorView{GuestName: s()}
	case 2:
		v.Author = &authorView{ID: uint(rng.Uint32()), Username: s(), Role: s()}
	default:
		v.Author = &authorView{ID: uint(rng.Uint32()), Username: s(), DisplayName: s()}
	}
	if rng.IntN(2) == 0 {
		body := s()
		v.Body = &body
	}
	if rng.IntN(3) == 0 {
		e := at.Add(time.Duration(rng.IntN(1e9)) * time.Microsecond)
		v.EditedAt = &e
	}
	switch {
	case rng.IntN(8) == 0:
		v.Replies = nil
	case depth < 3:
		v.Replies = []commentView{}
		for range rng.IntN(3) {
			v.Replies = append(v.Replies, randomComment(rng, depth+1))
		}
	default:
		v.Replies = []commentView{}
	}
	return v
}

// TestEncodeThreadMatchesEncodingJSON holds the hand-written encoder to
// encoding/json's bytes on random pages full of awkward strings.
func TestEncodeThreadMatchesEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 300 {
		v := threadView{Items: []commentView{}, Total: rng.IntN(1000)}
		for range rng.IntN(6) {
			v.Items = append(v.Items, randomComment(rng, 0))
		}
		if i%2 == 0 {
			c := randomString(rng)
			v.NextCursor = &c
		}
		got, _ := encodeThread(nil, v, false)
		want := encodingJSON(t, v)
		if !bytes.Equal(got, want) {
			t.Fatalf("page %d:\ngot  %s\nwant %s", i, got, want)
		}
	}
}

// TestPersonalize checks that splicing votes and sources into the shared
// page gives the bytes of encoding the reader's view directly.
func TestPersonalize(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const me = 7
	for i := range 200 {
		v := threadView{Items: []commentView{}, Total: 3}
		for range 1 + rng.IntN(5) {
			v.Items = append(v.Items, randomComment(rng, 0))
		}
		// The shared page: nobody's votes, no sources; some comments are mine.
		var ids []*commentView
		var walk func(c *commentView)
		walk = func(c *commentView) {
			c.MyVote, c.Body = 0, nil
			if c.Author != nil && rng.IntN(3) == 0 {
				c.Author.ID = me
			}
			if c.Author != nil && c.Author.ID == me {
				c.Author.GuestName = ""
			}
			ids = append(ids, c)
			for i := range c.Replies {
				walk(&c.Replies[i])
			}
		}
		for i := range v.Items {
			walk(&v.Items[i])
		}
		shared, marks := encodeThread(nil, v, true)
		if len(marks) != len(ids) {
			t.Fatalf("page %d: %d marks for %d comments", i, len(marks), len(ids))
		}
		p := newPage(1, shared, marks)
		// The reader's view, built the slow way.
		votes, bodies := map[uint]int{}, map[uint]string{}
		for _, c := range ids {
			if c.Author != nil && c.Author.ID == me {
				src := randomString(rng)
				bodies[c.ID] = src
				c.Body = &src
			} else if vote := rng.IntN(3) - 1; vote != 0 {
				votes[c.ID] = vote
				c.MyVote = vote
			}
		}
		got, _ := p.personalize(nil, me, votes, bodies)
		if want := encodingJSON(t, v); !bytes.Equal(got, want) {
			t.Fatalf("page %d:\ngot  %s\nwant %s", i, got, want)
		}
	}
}

func BenchmarkAppendJSONString(b *testing.B) {
	html := benchPage().Items[0].BodyHTML
	buf := make([]byte, 0, 4096)
	b.SetBytes(int64(len(html)))
	for b.Loop() {
		buf = appendJSONString(buf[:0], html)
	}
}
