package api_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/parley-comments/parley/models"
)

// snapshot is a cheap fingerprint of what the database holds.
func snapshot(t *testing.T, s *testServer) string {
	t.Helper()
	var out []string
	for _, table := range []string{"users", "articles", "comments", "votes", "flags", "audit_log"} {
		var n int64
		if err := s.store.Read.Table(table).Count(&n).Error; err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s=%d", table, n))
	}
	var sum struct{ C, V int64 }
	s.store.Read.Raw("SELECT COALESCE(SUM(comment_count), 0) AS c, COALESCE(SUM(version), 0) AS v FROM articles").Scan(&sum)
	return strings.Join(out, " ") + fmt.Sprintf(" counts=%d versions=%d", sum.C, sum.V)
}

func TestHostileInput(t *testing.T) {
	s := newTestServer(t)
	u := s.register(t, "yara")
	c := s.post(t, u.AccessToken, seedSlug, "target", nil)
	before := snapshot(t, s)
	post := "/api/v1/articles/" + seedSlug + "/comments"
	deep := strings.Repeat("[", 20000) + strings.Repeat("]", 20000)

	cases := []struct {
		name, method, path, body string
		status                   int
	}{
		{"deeply nested JSON", "POST", post, `{"body": ` + deep + `}`, 400},
		{"nested JSON too large", "POST", post, `{"body": ` + strings.Repeat("[", 70000) + `}`, 413},
		{"invalid UTF-8", "POST", post, "{\"body\": \"bad \xff\xfe bytes\"}", 400},
		{"NUL in body", "POST", post, `{"body": "a\u0000b"}`, 400},
		{"escape character", "POST", post, `{"body": "a\u001bb"}`, 400},
		{"array instead of object", "POST", post, `[1,2,3]`, 400},
		{"two objects", "POST", post, `{"body": "a"}{"body": "b"}`, 400},
		{"number overflow parent", "POST", post, `{"body": "a", "parent_id": 99999999999999999999}`, 400},
		{"negative parent", "POST", post, `{"body": "a", "parent_id": -5}`, 400},
		{"string parent", "POST", post, `{"body": "a", "parent_id": "1 OR 1=1"}`, 400},
		{"huge vote", "PUT", fmt.Sprintf("/api/v1/comments/%d/vote", c.ID), `{"value": 1e309}`, 400},
		{"vote as string", "PUT", fmt.Sprintf("/api/v1/comments/%d/vote", c.ID), `{"value": "1"}`, 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := doRaw(t, s, tc.method, tc.path, map[string]string{"Authorization": "Bearer " + u.AccessToken, "Content-Type": "application/json"}, tc.body)
			wantErrorShape(t, rec, tc.status)
		})
	}

	sqlBits := []string{"' OR '1'='1", "1; DROP TABLE comments; --", "\" OR 1=1 --", "1 UNION SELECT password_hash FROM users", "%27%20OR%201%3D1", "../../etc/passwd", "\x00"}
	for _, bit := range sqlBits {
		q := url.QueryEscape(bit)
		paths := []string{
			"/api/v1/articles/" + url.PathEscape(bit),
			"/api/v1/articles/" + url.PathEscape(bit) + "/comments",
			"/api/v1/comments/" + url.PathEscape(bit),
			"/api/v1/articles?limit=" + q,
			"/api/v1/articles?cursor=" + q,
			"/api/v1/articles/" + seedSlug + "/comments?sort=" + q,
			"/api/v1/articles/" + seedSlug + "/comments?limit=" + q,
			"/api/v1/articles/" + seedSlug + "/comments?cursor=" + q,
		}
		for _, p := range paths {
			rec := doRaw(t, s, "GET", p, nil, "")
			if rec.Code < 400 || rec.Code >= 500 {
				t.Errorf("GET %s answered %d, want a 4xx", p, rec.Code)
				continue
			}
			wantErrorShape(t, rec, rec.Code)
		}
		rec := doRaw(t, s, "GET", "/api/v1/counts?slugs="+q, nil, "")
		if rec.Code != 200 && rec.Code != 400 || strings.Contains(rec.Body.String(), "$argon2") {
			t.Errorf("counts with %q: %d %s", bit, rec.Code, rec.Body)
		}
	}
	if after := snapshot(t, s); after != before {
		t.Fatalf("hostile input changed the database:\nbefore %s\nafter  %s", before, after)
	}
	// The comment is intact.
	var stored models.Comment
	s.store.Read.First(&stored, c.ID)
	if stored.Body != "target" || stored.Status != "approved" {
		t.Fatalf("target comment changed: %+v", stored)
	}
}

// TestBidiAndControlInNames: names keep their script but lose the
// characters that could reorder or hide text around them.
func TestBidiAndControlInNames(t *testing.T) {
	s := newTestServer(t, func(c *apiConfig) { c.AllowGuests = true })
	rec := s.do(t, "POST", "/api/v1/auth/register", "", map[string]string{"username": "zed", "password": "password-zed", "display_name": "Zoë \u202egnp.exe\u202c \u200bX\u0007"})
	want(t, rec, 201)
	sess := decode[session](t, rec)
	me := decode[struct {
		User struct {
			DisplayName string `json:"display_name"`
		} `json:"user"`
	}](t, s.do(t, "GET", "/api/v1/me", sess.AccessToken, nil))
	if me.User.DisplayName != "Zoë gnp.exe X" {
		t.Fatalf("display name = %q", me.User.DisplayName)
	}
	for _, name := range []string{"аdmin", "admin\u200b", "ad min", "Ａdmin", strings.Repeat("a", 33)} {
		rec := s.do(t, "POST", "/api/v1/auth/register", "", map[string]string{"username": name, "password": "password-x"})
		wantErrorShape(t, rec, http.StatusBadRequest)
	}
	g := s.do(t, "POST", "/api/v1/articles/"+seedSlug+"/comments", "", map[string]string{"body": "guest", "guest_name": "\u202eevil\u202c <b>guest</b>"})
	want(t, g, 201)
	gc := decode[struct{ Comment commentJSON }](t, g).Comment
	if gc.Author.GuestName != "evil <b>guest</b>" {
		t.Fatalf("guest name = %q (stored as text; the widget inserts it as text)", gc.Author.GuestName)
	}
}

// wantErrorShape checks the status and that the body is the contract's error shape.
func wantErrorShape(t *testing.T, rec interface {
	Result() *http.Response
}, status int) {
	t.Helper()
	r := rec.Result()
	defer r.Body.Close()
	if r.StatusCode != status {
		body := new(strings.Builder)
		fmt.Fprint(body, r.Body)
		t.Fatalf("status = %d, want %d", r.StatusCode, status)
	}
	var e errorJSON
	if err := decodeReader(r, &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("status %d without the error shape (err %v)", status, err)
	}
}
