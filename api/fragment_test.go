package api_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// TestThreadFragment parses the fragment as a browser would: replies stay
// nested under their parents, each comment is a schema.org Comment with its
// permalink id, and neither a pending comment nor a script gets in.
func TestThreadFragment(t *testing.T) {
	s := newTestServer(t, func(c *apiConfig) { c.AllowGuests = true })
	admin := s.admin(t).AccessToken
	s.createSite(t, admin, map[string]any{"id": "blog", "name": "Blog", "origins": []string{"http://127.0.0.1:1313"}})
	page := "http://127.0.0.1:1313/posts/hello/"
	path := "/api/v1/sites/blog/fragment?key=" + url.QueryEscape(page)

	// No thread yet: an empty fragment, no row.
	rec := s.do(t, "GET", path, "", nil)
	want(t, rec, http.StatusOK)
	if !strings.Contains(rec.Body.String(), "0 comments") || s.articlesOf(t, "blog") != 0 {
		t.Fatalf("empty fragment: %s", rec.Body)
	}

	ann := s.register(t, "ann").AccessToken
	postOn := func(token, body string, parent *uint) commentJSON {
		t.Helper()
		req := map[string]any{"key": page, "url": page, "title": "Hello", "body": body}
		if parent != nil {
			req["parent_id"] = *parent
		}
		rec := s.doOrigin(t, "http://127.0.0.1:1313", "POST", "/api/v1/sites/blog/comments", token, req)
		want(t, rec, http.StatusCreated)
		return decode[struct {
			Comment commentJSON `json:"comment"`
		}](t, rec).Comment
	}
	root := postOn(ann, "Root <script>alert(1)</script> **bold**", nil)
	reply := postOn(admin, "A reply", &root.ID)
	nested := postOn(ann, "A reply to the reply", &reply.ID)
	second := postOn(admin, "Second top-level", nil)
	// A guest's comment is held for review (hold_guests) and must not show.
	rec = s.doOrigin(t, "http://127.0.0.1:1313", "POST", "/api/v1/sites/blog/comments", "",
		map[string]any{"key": page, "body": "Held guest comment", "guest_name": "Guest"})
	want(t, rec, http.StatusCreated)
	if c := decode[struct {
		Comment commentJSON `json:"comment"`
	}](t, rec).Comment; c.Status != "pending" {
		t.Fatalf("guest comment %s, want pending", c.Status)
	}

	rec = s.do(t, "GET", path, "", nil)
	want(t, rec, http.StatusOK)
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Fatalf("Content-Type %q", ct)
	}
	if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'self' http://127.0.0.1:1313") || !strings.Contains(csp, "default-src 'none'") {
		t.Fatalf("CSP %q", csp)
	}
	doc, err := html.Parse(strings.NewReader(rec.Body.String()))
	if err != nil {
		t.Fatal(err)
	}
	var comments []*html.Node
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch {
			case n.Data == "script":
				t.Fatalf("the fragment holds a script: %s", rec.Body)
			case attr(n, "itemtype") == "https://schema.org/Comment":
				comments = append(comments, n)
			}
			for _, a := range n.Attr {
				if strings.HasPrefix(a.Key, "on") {
					t.Fatalf("an event handler attribute %s", a.Key)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	ids := map[string]*html.Node{}
	for _, c := range comments {
		ids[attr(c, "id")] = c
	}
	for _, c := range []commentJSON{root, reply, nested, second} {
		if ids["parley-comment-"+itoa(c.ID)] == nil {
			t.Fatalf("comment %d missing; have %v in %s", c.ID, keys(ids), rec.Body)
		}
	}
	if len(comments) != 4 || strings.Contains(rec.Body.String(), "Held guest comment") {
		t.Fatalf("%d comments shown (want 4, no pending): %s", len(comments), rec.Body)
	}
	// Nesting: the reply's <li> sits inside the root's <li>, the nested one inside the reply's.
	parentComment := func(n *html.Node) string {
		li := n.Parent // the comment's <li>
		for p := li.Parent; p != nil; p = p.Parent {
			if p.Type == html.ElementNode && p.Data == "li" {
				for c := p.FirstChild; c != nil; c = c.NextSibling {
					if c.Type == html.ElementNode && attr(c, "itemtype") == "https://schema.org/Comment" {
						return attr(c, "id")
					}
				}
			}
		}
		return ""
	}
	for child, parent := range map[uint]string{reply.ID: "parley-comment-" + itoa(root.ID), nested.ID: "parley-comment-" + itoa(reply.ID), root.ID: "", second.ID: ""} {
		if got := parentComment(ids["parley-comment-"+itoa(child)]); got != parent {
			t.Fatalf("comment %d nests under %q, want %q", child, got, parent)
		}
	}
	if !strings.Contains(rec.Body.String(), "<strong>bold</strong>") || !strings.Contains(rec.Body.String(), `itemprop="text"`) {
		t.Fatalf("the body's HTML or its markup is missing: %s", rec.Body)
	}

	// Cached like the JSON pages: the same ETag until the thread changes.
	etag := rec.Header().Get("ETag")
	rec = doRaw(t, s, "GET", path, map[string]string{"If-None-Match": etag}, "")
	want(t, rec, http.StatusNotModified)
	postOn(admin, "Third", nil)
	rec = doRaw(t, s, "GET", path, map[string]string{"If-None-Match": etag}, "")
	want(t, rec, http.StatusOK)

	// Pages: a "more" link to the next one.
	rec = s.do(t, "GET", path+"&limit=1", "", nil)
	want(t, rec, http.StatusOK)
	if !strings.Contains(rec.Body.String(), "/api/v1/sites/blog/fragment?cursor=") {
		t.Fatalf("no link to the next page: %s", rec.Body)
	}
	wantError(t, s.do(t, "GET", "/api/v1/sites/nowhere/fragment?key=a", "", nil), http.StatusNotFound, "not_found")
	wantError(t, s.do(t, "GET", path+"&cursor=bogus", "", nil), http.StatusBadRequest, "validation_failed")
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func itoa(n uint) string { return strconv.FormatUint(uint64(n), 10) }

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
