package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/parley-comments/parley/api"
	"github.com/parley-comments/parley/models"
)

// commentCount is how many comments the database holds.
func commentCount(t *testing.T, s *testServer) int64 {
	t.Helper()
	var n int64
	if err := s.store.Read.Model(&models.Comment{}).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// A page on another site can make its visitors' browsers send forms and
// no-cors fetches; none of them may create a comment.
func TestCrossSiteWritesRefused(t *testing.T) {
	s := newTestServer(t, func(c *api.Config) { c.AllowGuests = true })
	path := "/api/v1/articles/" + seedSlug + "/comments"
	guest := `{"body":"posted through a visitor","guest_name":"Visitor"}`
	refused := []struct {
		name    string
		headers map[string]string
		body    string
		status  int
		code    string
	}{
		{"text/plain form", map[string]string{"Content-Type": "text/plain", "Origin": "https://evil.example"}, guest, 415, "unsupported_media_type"},
		{"text/plain same origin", map[string]string{"Content-Type": "text/plain"}, guest, 415, "unsupported_media_type"},
		{"urlencoded form", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, "body=x&guest_name=y", 415, "unsupported_media_type"},
		{"multipart form", map[string]string{"Content-Type": "multipart/form-data; boundary=x"}, "--x--", 415, "unsupported_media_type"},
		{"no content type", nil, guest, 415, "unsupported_media_type"},
		{"json lookalike", map[string]string{"Content-Type": "application/jsonx"}, guest, 415, "unsupported_media_type"},
		{"foreign origin", map[string]string{"Content-Type": "application/json", "Origin": "https://evil.example"}, guest, 403, "forbidden"},
		{"opaque origin", map[string]string{"Content-Type": "application/json", "Origin": "null"}, guest, 403, "forbidden"},
		{"cross-site fetch without origin", map[string]string{"Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"}, guest, 403, "forbidden"},
		{"allowed origin's subdomain", map[string]string{"Content-Type": "application/json", "Origin": "https://evil.blog.example"}, guest, 403, "forbidden"},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			rec := doRaw(t, s, "POST", path, tc.headers, tc.body)
			wantError(t, rec, tc.status, tc.code)
		})
	}
	if n := commentCount(t, s); n != 0 {
		t.Fatalf("%d comments stored by refused requests", n)
	}
	// Every other write route is guarded the same way, before authorization.
	for _, route := range [][2]string{{"POST", "/api/v1/auth/login"}, {"POST", "/api/v1/comments/1/flags"}, {"PUT", "/api/v1/comments/1/vote"},
		{"PATCH", "/api/v1/comments/1"}, {"DELETE", "/api/v1/comments/1"}, {"POST", "/api/v1/moderation/bulk"}} {
		rec := doRaw(t, s, route[0], route[1], map[string]string{"Content-Type": "text/plain"}, `{"value":1}`)
		wantError(t, rec, 415, "unsupported_media_type")
		rec = doRaw(t, s, route[0], route[1], map[string]string{"Content-Type": "application/json", "Origin": "https://evil.example"}, `{"value":1}`)
		wantError(t, rec, 403, "forbidden")
	}

	accepted := []map[string]string{
		{"Content-Type": "application/json"}, // a script or server, no browser headers
		{"Content-Type": "application/json; charset=utf-8", "Origin": "https://blog.example", "Sec-Fetch-Site": "cross-site"}, // an allowed blog
		{"Content-Type": "application/json", "Origin": "http://example.com", "Sec-Fetch-Site": "same-origin"},                 // the widget's own frame
	}
	for i, h := range accepted {
		rec := doRaw(t, s, "POST", path, h, strings.Replace(guest, "visitor", "visitor "+string(rune('a'+i)), 1))
		want(t, rec, http.StatusCreated)
	}
	// A site's own origins are allowed as soon as the site is created.
	admin := s.admin(t)
	fromNotes := map[string]string{"Content-Type": "application/json", "Origin": "https://notes.example", "Sec-Fetch-Site": "cross-site"}
	wantError(t, doRaw(t, s, "POST", path, fromNotes, strings.Replace(guest, "visitor", "visitor from notes", 1)), 403, "forbidden")
	want(t, s.do(t, "POST", "/api/v1/sites", admin.AccessToken, map[string]any{"id": "notes", "name": "Notes", "origins": []string{"https://notes.example"}}), http.StatusCreated)
	want(t, doRaw(t, s, "POST", path, fromNotes, strings.Replace(guest, "visitor", "visitor from notes", 1)), http.StatusCreated)
	// A body-less write needs no Content-Type.
	rec := doRaw(t, s, "POST", "/api/v1/moderation/comments/1/approve", map[string]string{"Authorization": "Bearer " + admin.AccessToken}, "")
	want(t, rec, http.StatusOK)
}

// encoding/json matches keys ignoring case and lets the last duplicate win;
// the API refuses both rather than store what a reader of the first key
// did not see.
func TestDuplicateAndCaseVariantKeys(t *testing.T) {
	s := newTestServer(t)
	u := s.register(t, "keys")
	path := "/api/v1/articles/" + seedSlug + "/comments"
	for _, body := range []string{
		`{"body":"a","BODY":"b"}`,
		`{"body":"a","body":"b"}`,
		`{"BODY":"b"}`,
		`{"Body":"b"}`,
		`{"body":"a","parent_id":null,"Parent_ID":2}`,
		`{"body":"a","extra":{"x":1,"X":2}}`,
		`{"body":"a","extra":[{"x":1},{"y":1,"y":2}]}`,
		`{"body":"a","bod\u0059":"b"}`,
	} {
		rec := doRaw(t, s, "POST", path, map[string]string{"Content-Type": "application/json", "Authorization": "Bearer " + u.AccessToken}, body)
		wantError(t, rec, http.StatusBadRequest, "validation_failed")
	}
	// The Kelvin sign folds onto k for encoding/json: "to\u212Aen" would be
	// read as a refresh token's "token" key.
	rec := doRaw(t, s, "POST", "/api/v1/auth/refresh", map[string]string{"Content-Type": "application/json"}, "{\"refresh_to\u212Aen\":\"x\"}")
	wantError(t, rec, http.StatusBadRequest, "validation_failed")
	if n := commentCount(t, s); n != 0 {
		t.Fatalf("%d comments stored from ambiguous JSON", n)
	}
	// Distinct keys in different objects, and unknown keys, are fine.
	rec = doRaw(t, s, "POST", path, map[string]string{"Content-Type": "application/json", "Authorization": "Bearer " + u.AccessToken},
		`{"body":"fine","unknown":{"body":1,"x":[{"a":1},{"a":2}]}}`)
	want(t, rec, http.StatusCreated)
}

// One resource has one URL: leading zeros, signs and escapes are not ids.
func TestCanonicalIDs(t *testing.T) {
	s := newTestServer(t)
	u := s.register(t, "ids")
	c := s.post(t, u.AccessToken, seedSlug, "hello", nil)
	if c.ID != 1 {
		t.Fatalf("first comment id = %d", c.ID)
	}
	want(t, s.do(t, "GET", "/api/v1/comments/1", "", nil), http.StatusOK)
	for _, p := range []string{"/api/v1/comments/01", "/api/v1/comments/%31", "/api/v1/comments/+1", "/api/v1/comments/1%20", "/api/v1/comments/0x1", "/api/v1/comments/1.0"} {
		rec := doRaw(t, s, "GET", p, nil, "")
		wantError(t, rec, http.StatusNotFound, "not_found")
	}
	rec := doRaw(t, s, "PUT", "/api/v1/comments/%31/vote", map[string]string{"Content-Type": "application/json", "Authorization": "Bearer " + u.AccessToken}, `{"value":1}`)
	wantError(t, rec, http.StatusNotFound, "not_found")
}

// The body limit is 64 KiB, as the error message and SECURITY.md say.
func TestBodyLimitIs64KiB(t *testing.T) {
	s := newTestServer(t)
	body := func(size int) string {
		head := `{"login":"nobody","password":"wrong-password","pad":"`
		return head + strings.Repeat("x", size-len(head)-2) + `"}`
	}
	rec := doRaw(t, s, "POST", "/api/v1/auth/login", map[string]string{"Content-Type": "application/json"}, body(64*1024))
	wantError(t, rec, http.StatusUnauthorized, "invalid_credentials")
	rec = doRaw(t, s, "POST", "/api/v1/auth/login", map[string]string{"Content-Type": "application/json"}, body(64*1024+1))
	wantError(t, rec, http.StatusRequestEntityTooLarge, "payload_too_large")
	if e := decode[errorJSON](t, rec); !strings.Contains(e.Error.Message, "64 KiB") {
		t.Fatalf("message = %q", e.Error.Message)
	}
}
