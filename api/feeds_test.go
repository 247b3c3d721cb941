package api_test

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/mmcdole/gofeed"
)

// parseAtom parses a feed with a real feed parser and checks it is Atom.
func parseAtom(t *testing.T, body []byte) *gofeed.Feed {
	t.Helper()
	var root struct{ XMLName xml.Name }
	if err := xml.Unmarshal(body, &root); err != nil || root.XMLName.Space != "http://www.w3.org/2005/Atom" || root.XMLName.Local != "feed" {
		t.Fatalf("not an Atom document (%v %v): %s", root.XMLName, err, truncate(string(body), 300))
	}
	f, err := gofeed.NewParser().Parse(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("parse feed: %v", err)
	}
	if f.FeedType != "atom" {
		t.Fatalf("feed type %q, want atom", f.FeedType)
	}
	return f
}

func TestFeeds(t *testing.T) {
	s := newTestServer(t)
	alice, bob := s.register(t, "alice"), s.register(t, "bob")
	mod := s.userWithRole(t, "mia", "moderator")
	first := s.post(t, alice.AccessToken, seedSlug, "Hello **feeds** <script>alert(1)</script>", nil)
	reply := s.post(t, bob.AccessToken, seedSlug, "A reply to alice", &first.ID)
	rejected := s.post(t, bob.AccessToken, seedSlug, "rejectedmark in no feed", nil)
	want(t, s.do(t, "POST", fmt.Sprintf("/api/v1/moderation/comments/%d/reject", rejected.ID), mod.AccessToken, map[string]string{}), 200)

	rec := s.do(t, "GET", "/api/v1/feeds/articles/"+seedSlug, "", nil)
	want(t, rec, http.StatusOK)
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/atom+xml") {
		t.Fatalf("Content-Type %q", ct)
	}
	f := parseAtom(t, rec.Body.Bytes())
	if len(f.Items) != 2 || !strings.Contains(f.Items[0].Content, "A reply to alice") {
		t.Fatalf("thread feed has %d items, the first %q; want the two approved, newest first", len(f.Items), f.Items[0].Content)
	}
	if c := f.Items[1].Content; !strings.Contains(c, "<strong>feeds</strong>") || strings.Contains(c, "<script") {
		t.Fatalf("content %q, want the sanitized HTML", c)
	}
	if !strings.HasSuffix(f.Items[1].Link, fmt.Sprintf("#parley-comment-%d", first.ID)) {
		t.Fatalf("link %q, want the comment's permalink", f.Items[1].Link)
	}
	if strings.Contains(rec.Body.String(), "rejectedmark") {
		t.Fatal("a rejected comment is in the feed")
	}

	rec = s.do(t, "GET", "/api/v1/feeds/sites/default", "", nil)
	want(t, rec, http.StatusOK)
	if f := parseAtom(t, rec.Body.Bytes()); len(f.Items) != 2 {
		t.Fatalf("site feed has %d items, want 2", len(f.Items))
	}
	wantError(t, s.do(t, "GET", "/api/v1/feeds/sites/nowhere", "", nil), http.StatusNotFound, "not_found")

	// The replies feed: a private URL, replaced and revoked by its owner.
	rec = s.do(t, "POST", "/api/v1/me/replies-feed", alice.AccessToken, nil)
	want(t, rec, http.StatusCreated)
	url := decode[struct{ URL string }](t, rec).URL
	path := url[strings.Index(url, "/api/v1/"):]
	rec = s.do(t, "GET", path, "", nil)
	want(t, rec, http.StatusOK)
	if f := parseAtom(t, rec.Body.Bytes()); len(f.Items) != 1 || !strings.Contains(f.Items[0].Content, "A reply to alice") {
		t.Fatalf("replies feed: %+v, want bob's reply %d", f.Items, reply.ID)
	}
	rec = s.do(t, "POST", "/api/v1/me/replies-feed", alice.AccessToken, nil)
	want(t, rec, http.StatusCreated)
	wantError(t, s.do(t, "GET", path, "", nil), http.StatusNotFound, "not_found") // replaced
	next := decode[struct{ URL string }](t, rec).URL
	want(t, s.do(t, "DELETE", "/api/v1/me/replies-feed", alice.AccessToken, nil), http.StatusNoContent)
	wantError(t, s.do(t, "GET", next[strings.Index(next, "/api/v1/"):], "", nil), http.StatusNotFound, "not_found")
	wantError(t, s.do(t, "GET", "/api/v1/feeds/replies/forged", "", nil), http.StatusNotFound, "not_found")
}
