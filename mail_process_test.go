package main

import (
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/parley-comments/parley/mail/mailtest"
)

// TestServeSendsTheOutbox: with PARLEY_SMTP_URL set, the server sends what
// is queued in the outbox, over STARTTLS with the URL's credentials, and
// still stops promptly on SIGTERM.
func TestServeSendsTheOutbox(t *testing.T) {
	smtp := mailtest.Start(t)
	dir := t.TempDir()
	srv := startServer(t, dir, "PARLEY_SMTP_URL="+smtp.URL(), "PARLEY_MAIL_FROM=Comments <comments@blog.example>",
		"SSL_CERT_FILE="+smtp.CAFile)
	rw, err := sql.Open("sqlite3", sqliteURI(filepath.Join(dir, "parley.db"), "_busy_timeout=5000"))
	if err != nil {
		t.Fatal(err)
	}
	defer rw.Close()
	if _, err := rw.Exec(`INSERT INTO mail_outbox (recipient, subject, text_body, html_body, headers, attempts, next_attempt_at, claim_token, last_error, created_at)
		VALUES ('reader@example.org', 'queued', 'hello', '', '{}', 0, ?, '', '', ?)`, time.Now().UTC(), time.Now().UTC()); err != nil {
		t.Fatal(err)
	}
	got := smtp.Wait(t, 1, 15*time.Second)
	if got[0].Header.Get("Subject") != "queued" || got[0].From != "comments@blog.example" {
		t.Fatalf("got subject %q from %q", got[0].Header.Get("Subject"), got[0].From)
	}
	if code := srv.stop(t, 10*time.Second); code != 0 {
		t.Fatalf("exit %d:\n%s", code, srv.Output)
	}
}
