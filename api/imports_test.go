package api_test

import (
	"bufio"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"
)

func init() {
	// The export is JSON Lines; the OpenAPI check reads it as text.
	openapi3filter.RegisterBodyDecoder("application/x-ndjson", openapi3filter.FileBodyDecoder)
}

type importJSON struct {
	Import struct {
		ID        uint   `json:"id"`
		State     string `json:"state"`
		Created   int    `json:"created"`
		Merged    int    `json:"merged"`
		Skipped   int    `json:"skipped"`
		FileSize  int64  `json:"file_size"`
		BytesRead int64  `json:"bytes_read"`
		Error     *string
		Summary   *struct {
			Threads []struct {
				Key     string `json:"key"`
				Created int    `json:"created"`
			} `json:"threads"`
		} `json:"summary"`
	} `json:"import"`
}

// waitImport polls an import until it ends.
func waitImport(t *testing.T, s *testServer, token string, id uint) importJSON {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		rec := s.do(t, "GET", fmt.Sprintf("/api/v1/admin/imports/%d", id), token, nil)
		want(t, rec, 200)
		j := decode[importJSON](t, rec)
		if j.Import.State == "done" || j.Import.State == "failed" {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("import %d still %s", id, j.Import.State)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestAdminImport: an admin uploads a Disqus export, the import runs in the
// background with its progress readable, the comments show in the remapped
// page's thread, and the same upload again adds nothing.
func TestAdminImport(t *testing.T) {
	s := newTestServer(t)
	admin := s.admin(t).AccessToken
	file, err := os.ReadFile("../importer/testdata/disqus.xml")
	if err != nil {
		t.Fatal(err)
	}
	path := "/api/v1/admin/imports?format=disqus&site=default&name=disqus.xml&map=" +
		"http%3A%2F%2Fold.example%2Fblog%2F%2A%20%3D%3E%20https%3A%2F%2Fnew.example%2Fposts%2F%2A"
	rec := s.do(t, "POST", path, admin, file)
	want(t, rec, 202)
	job := waitImport(t, s, admin, decode[importJSON](t, rec).Import.ID)
	if j := job.Import; j.State != "done" || j.Created != 8 || j.Skipped != 3 || j.FileSize != int64(len(file)) || j.Summary == nil {
		t.Fatalf("import %+v", j)
	}
	var n int
	if err := s.store.Read.Raw("SELECT COUNT(*) FROM comments c JOIN articles a ON a.id = c.article_id WHERE a.slug = ?",
		"https://new.example/posts/first-post").Row().Scan(&n); err != nil || n != 7 {
		t.Fatalf("%d comments on the remapped page (%v), want 7", n, err)
	}

	rec = s.do(t, "POST", path, admin, file)
	want(t, rec, 202)
	again := waitImport(t, s, admin, decode[importJSON](t, rec).Import.ID)
	if again.Import.Created != 0 || again.Import.Merged != 8 {
		t.Fatalf("second upload created %d merged %d, want 0 8", again.Import.Created, again.Import.Merged)
	}

	// The export carries them.
	rec = s.do(t, "GET", "/api/v1/admin/export", admin, nil)
	want(t, rec, 200)
	if cd := rec.Header().Get("Content-Disposition"); !strings.Contains(cd, "attachment") {
		t.Fatalf("Content-Disposition %q", cd)
	}
	lines := 0
	comments := 0
	sc := bufio.NewScanner(strings.NewReader(rec.Body.String()))
	for sc.Scan() {
		lines++
		if strings.HasPrefix(sc.Text(), `{"table":"comments"`) {
			comments++
		}
	}
	if comments != 8 {
		t.Fatalf("export has %d comments in %d lines, want 8", comments, lines)
	}
	if strings.Contains(rec.Body.String(), "password_hash") || strings.Contains(rec.Body.String(), "argon2") {
		t.Fatal("the export carries password hashes")
	}
}

// TestAdminImportRefusals: wrong parameters are refused before the file is
// read, with the contract's error shape; a failed import says why.
func TestAdminImportRefusals(t *testing.T) {
	s := newTestServer(t)
	admin := s.admin(t).AccessToken
	for _, tc := range []struct {
		path   string
		status int
		code   string
	}{
		{"/api/v1/admin/imports?format=blogger", 400, "validation_failed"},
		{"/api/v1/admin/imports", 400, "validation_failed"},
		{"/api/v1/admin/imports?format=disqus&site=nosuch", 404, "not_found"},
		{"/api/v1/admin/imports?format=disqus&dry_run=maybe", 400, "validation_failed"},
		{"/api/v1/admin/imports?format=disqus&map=a*%20%3D%3E%20b*c*", 400, "validation_failed"},
		{"/api/v1/admin/imports?format=disqus&map=%2Fetc%2Fpasswd", 400, "validation_failed"},
	} {
		rec := s.do(t, "POST", tc.path, admin, "<disqus/>")
		if rec.Code != tc.status || !strings.Contains(rec.Body.String(), `"code":"`+tc.code+`"`) {
			t.Errorf("POST %s: %d %s, want %d %s", tc.path, rec.Code, rec.Body, tc.status, tc.code)
		}
		if strings.Contains(rec.Body.String(), "root:") {
			t.Errorf("POST %s: the answer shows a server file", tc.path)
		}
	}

	// A 2 GB upload is refused from its Content-Length, before a byte is read.
	req := httptest.NewRequest("POST", "/api/v1/admin/imports?format=disqus", strings.NewReader("<disqus/>"))
	req.Header.Set("Authorization", "Bearer "+admin)
	req.ContentLength = 2 << 30
	rec := httptest.NewRecorder()
	s.e.ServeHTTP(rec, req)
	if rec.Code != http.StatusRequestEntityTooLarge || !strings.Contains(rec.Body.String(), "payload_too_large") {
		t.Fatalf("2 GB upload: %d %s", rec.Code, rec.Body)
	}

	// A WordPress file sent as Disqus fails with a reason, and stores nothing.
	wxr, err := os.ReadFile("../importer/testdata/wordpress.xml")
	if err != nil {
		t.Fatal(err)
	}
	rec = s.do(t, "POST", "/api/v1/admin/imports?format=disqus", admin, wxr)
	want(t, rec, 202)
	job := waitImport(t, s, admin, decode[importJSON](t, rec).Import.ID)
	if job.Import.State != "failed" || job.Import.Error == nil || !strings.Contains(*job.Import.Error, "not <disqus>") {
		t.Fatalf("wrong format: %+v", job.Import)
	}
}
