package mail

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/parley-comments/parley/mail/mailtest"
	"github.com/parley-comments/parley/migrations"
	"github.com/parley-comments/parley/models"
	"github.com/parley-comments/parley/models/dbtest"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

const from = "Blog comments <comments@blog.example>"

func newWorker(t *testing.T, store *models.Store, srv *mailtest.Server) *Worker {
	t.Helper()
	s, err := NewSMTP(srv.URL(), from, srv.TLS)
	if err != nil {
		t.Fatal(err)
	}
	return &Worker{Store: store, SMTP: s, FirstRetry: time.Minute}
}

func enqueue(t *testing.T, store *models.Store, m Message) {
	t.Helper()
	if err := store.WriteTx(context.Background(), func(tx *gorm.DB) error { return Enqueue(tx, m) }); err != nil {
		t.Fatal(err)
	}
}

func outbox(t *testing.T, store *models.Store) []models.MailOutboxRow {
	t.Helper()
	var rows []models.MailOutboxRow
	if err := store.Read.Order("id").Find(&rows).Error; err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestWorker_SendsWithHeadersAndParts(t *testing.T) {
	for _, start := range []func(testing.TB) *mailtest.Server{mailtest.Start, mailtest.StartImplicitTLS} {
		srv := start(t)
		t.Run(strings.SplitN(srv.URL(), ":", 2)[0], func(t *testing.T) {
			store := dbtest.Open(t)
			enqueue(t, store, Message{To: "reader@example.org", Subject: "Réponse à « Putin »",
				Text: "Open https://comments.example/verify?token=abc", HTML: "<p>Open <a href=\"https://comments.example/verify?token=abc\">this</a></p>",
				Headers: map[string]string{"List-Unsubscribe": "<https://comments.example/unsubscribe?t=xyz>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}})
			w := newWorker(t, store, srv)
			if n, err := w.SendDue(context.Background()); err != nil || n != 1 {
				t.Fatalf("SendDue = %d, %v; want 1, nil", n, err)
			}
			got := srv.Wait(t, 1, 5*time.Second)[0]
			if got.From != "comments@blog.example" || len(got.To) != 1 || got.To[0] != "reader@example.org" {
				t.Fatalf("envelope from %q to %v", got.From, got.To)
			}
			h := got.Header
			if s, _ := h.Date(); s.IsZero() {
				t.Errorf("no Date header")
			}
			if sub, err := new(wordDecoder).DecodeHeader(h.Get("Subject")); err != nil || sub != "Réponse à « Putin »" {
				t.Errorf("Subject = %q (%v)", sub, err)
			}
			if h.Get("List-Unsubscribe") != "<https://comments.example/unsubscribe?t=xyz>" || h.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" {
				t.Errorf("List-Unsubscribe headers = %q, %q", h.Get("List-Unsubscribe"), h.Get("List-Unsubscribe-Post"))
			}
			if !strings.HasPrefix(h.Get("Message-Id"), "<parley.") || !strings.HasSuffix(h.Get("Message-Id"), "@blog.example>") {
				t.Errorf("Message-ID = %q", h.Get("Message-Id"))
			}
			if !strings.Contains(got.Text, "https://comments.example/verify?token=abc") || !strings.Contains(got.HTML, `href="https://comments.example/verify?token=abc"`) {
				t.Errorf("parts: text %q html %q", got.Text, got.HTML)
			}
			if rows := outbox(t, store); rows[0].SentAt == nil || rows[0].Attempts != 1 || rows[0].ClaimToken != "" {
				t.Errorf("row after sending: %+v", rows[0])
			}
		})
	}
}

func TestEnqueue_RefusesWhatCouldBreakAHeader(t *testing.T) {
	store := dbtest.Open(t)
	bad := map[string]Message{
		"line break in a header value":  {To: "a@example.org", Text: "x", Headers: map[string]string{"List-Unsubscribe": "<https://x>\r\nBcc: victim@example.org"}},
		"Bcc set by the caller":         {To: "a@example.org", Text: "x", Headers: map[string]string{"Bcc": "victim@example.org"}},
		"From set by the caller":        {To: "a@example.org", Text: "x", Headers: map[string]string{"from": "ceo@example.org"}},
		"colon in a header name":        {To: "a@example.org", Text: "x", Headers: map[string]string{"X-A: b\r\nBcc": "c"}},
		"two recipients":                {To: "a@example.org, b@example.org", Text: "x"},
		"line break in the recipient":   {To: "a@example.org\r\nBcc: b@example.org", Text: "x"},
		"display name in the recipient": {To: "Eve <a@example.org>", Text: "x"},
		"no text":                       {To: "a@example.org", Text: " "},
	}
	for name, m := range bad {
		t.Run(name, func(t *testing.T) {
			err := store.WriteTx(context.Background(), func(tx *gorm.DB) error { return Enqueue(tx, m) })
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Enqueue = %v, want ErrInvalid", err)
			}
		})
	}
	if rows := outbox(t, store); len(rows) != 0 {
		t.Fatalf("outbox holds %d rows, want 0", len(rows))
	}

	// A subject carries user text: its line breaks fold into spaces.
	srv := mailtest.Start(t)
	enqueue(t, store, Message{To: "a@example.org", Subject: "Hi\r\nBcc: victim@example.org", Text: "x"})
	if _, err := newWorker(t, store, srv).SendDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := srv.Wait(t, 1, 5*time.Second)[0]
	if got.Header.Get("Subject") != "Hi Bcc: victim@example.org" || got.Header.Get("Bcc") != "" || len(got.To) != 1 {
		t.Fatalf("Subject %q, Bcc %q, rcpt %v", got.Header.Get("Subject"), got.Header.Get("Bcc"), got.To)
	}
}

func TestWorker_RetriesAfterRefusalWithBackoff(t *testing.T) {
	store := dbtest.Open(t)
	srv := mailtest.Start(t)
	srv.Refuse(2)
	enqueue(t, store, Message{To: "reader@example.org", Subject: "s", Text: "t"})
	now := time.Now().UTC()
	w := newWorker(t, store, srv)
	w.Now = func() time.Time { return now }

	var waits []time.Duration
	for attempt := 1; attempt <= 2; attempt++ {
		if _, err := w.SendDue(context.Background()); err != nil {
			t.Fatal(err)
		}
		row := outbox(t, store)[0]
		if row.SentAt != nil || row.Attempts != attempt || !strings.Contains(row.LastError, "451") {
			t.Fatalf("after refusal %d: %+v", attempt, row)
		}
		wait := row.NextAttemptAt.Sub(now)
		waits = append(waits, wait)
		// Not due before its time: a poll now claims nothing.
		if n, _ := w.SendDue(context.Background()); n != 0 {
			t.Fatalf("claimed %d messages before the retry time", n)
		}
		now = row.NextAttemptAt
	}
	if waits[0] < time.Minute || waits[0] > 73*time.Second || waits[1] < 2*time.Minute || waits[1] > 145*time.Second {
		t.Fatalf("retry waits %v, want about 1 min then 2 min", waits)
	}
	if n, err := w.SendDue(context.Background()); err != nil || n != 1 {
		t.Fatalf("third attempt: %d, %v", n, err)
	}
	srv.Wait(t, 1, 5*time.Second)
	if row := outbox(t, store)[0]; row.SentAt == nil || row.Attempts != 3 || row.LastError != "" {
		t.Fatalf("after success: %+v", row)
	}
}

func TestWorker_GivesUpAfterMaxAttempts(t *testing.T) {
	store := dbtest.Open(t)
	srv := mailtest.Start(t)
	srv.Refuse(10)
	enqueue(t, store, Message{To: "reader@example.org", Subject: "s", Text: "t"})
	now := time.Now().UTC()
	w := newWorker(t, store, srv)
	w.Now, w.MaxAttempts = func() time.Time { return now }, 2
	for range 2 {
		if _, err := w.SendDue(context.Background()); err != nil {
			t.Fatal(err)
		}
		now = now.Add(time.Hour)
	}
	if row := outbox(t, store)[0]; row.FailedAt == nil || row.Attempts != 2 {
		t.Fatalf("row %+v, want failed after 2 attempts", row)
	}
	if n, _ := w.SendDue(context.Background()); n != 0 {
		t.Fatalf("a failed message was claimed again")
	}
}

func TestWorker_RefusesServerWithoutTLS(t *testing.T) {
	store := dbtest.Open(t)
	srv := mailtest.StartPlain(t)
	enqueue(t, store, Message{To: "reader@example.org", Subject: "s", Text: "t"})
	if _, err := newWorker(t, store, srv).SendDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(srv.Messages()) != 0 {
		t.Fatal("mail (and the password) went over a connection without TLS")
	}
	if row := outbox(t, store)[0]; row.SentAt != nil || row.Attempts != 1 {
		t.Fatalf("row %+v, want one failed attempt", row)
	}
}

// A message queued while the mail server is down, by a process that then
// stops, goes out from the next process.
func TestWorker_SurvivesRestart(t *testing.T) {
	if dbtest.Backend() != "sqlite" {
		t.Skip("reopens a SQLite file; the PostgreSQL run shares its rows across workers in TestWorker_ClaimsOnce")
	}
	path := filepath.Join(t.TempDir(), "parley.db")
	open := func() *models.Store {
		s, err := models.Open(models.Options{Path: path})
		if err != nil {
			t.Fatal(err)
		}
		if err := migrations.Up(s.Write); err != nil {
			t.Fatal(err)
		}
		return s
	}
	srv := mailtest.Start(t)
	first := open()
	enqueue(t, first, Message{To: "reader@example.org", Subject: "before the restart", Text: "t"})
	down, err := NewSMTP("smtp://127.0.0.1:1", from, srv.TLS) // nothing listens there
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (&Worker{Store: first, SMTP: down, FirstRetry: time.Millisecond}).SendDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	first.Close()

	second := open()
	defer second.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	w := newWorker(t, second, srv)
	w.Poll = 10 * time.Millisecond
	go func() { w.Run(ctx); close(done) }()
	got := srv.Wait(t, 1, 10*time.Second)
	cancel()
	<-done
	if got[0].Header.Get("Subject") != "before the restart" {
		t.Fatalf("got %q", got[0].Header.Get("Subject"))
	}
	if row := outbox(t, second)[0]; row.SentAt == nil || row.Attempts != 2 {
		t.Fatalf("row %+v", row)
	}
}

// Workers of several instances share the outbox: each message goes out once.
func TestWorker_ClaimsOnce(t *testing.T) {
	store := dbtest.Open(t)
	srv := mailtest.Start(t)
	const n = 30
	for i := range n {
		enqueue(t, store, Message{To: fmt.Sprintf("r%d@example.org", i), Subject: "s", Text: "t"})
	}
	var wg sync.WaitGroup
	for range 3 {
		w := newWorker(t, store, srv)
		w.Batch = 4
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k, err := w.SendDue(context.Background())
				if err != nil {
					t.Error(err)
					return
				}
				if k == 0 {
					return
				}
			}
		}()
	}
	wg.Wait()
	seen := map[string]int{}
	for _, m := range srv.Messages() {
		seen[m.To[0]]++
	}
	for i := range n {
		if c := seen[fmt.Sprintf("r%d@example.org", i)]; c != 1 {
			t.Errorf("r%d received %d copies, want 1", i, c)
		}
	}
}

// A worker that claimed mail and died leaves it to another after the lease.
func TestWorker_LapsedClaimIsTakenOver(t *testing.T) {
	store := dbtest.Open(t)
	srv := mailtest.Start(t)
	enqueue(t, store, Message{To: "reader@example.org", Subject: "s", Text: "t"})
	now := time.Now().UTC()
	dead := newWorker(t, store, srv)
	dead.defaults()
	if rows, _, err := dead.claim(context.Background(), now); err != nil || len(rows) != 1 {
		t.Fatalf("claim: %d rows, %v", len(rows), err)
	}
	w := newWorker(t, store, srv)
	w.Now = func() time.Time { return now.Add(time.Minute) }
	if n, _ := w.SendDue(context.Background()); n != 0 {
		t.Fatal("a claimed message was taken within its lease")
	}
	w.Now = func() time.Time { return now.Add(6 * time.Minute) }
	if n, err := w.SendDue(context.Background()); n != 1 || err != nil {
		t.Fatalf("after the lease: %d, %v", n, err)
	}
	srv.Wait(t, 1, 5*time.Second)
}

func TestNewSMTP_RefusesBadURLs(t *testing.T) {
	for _, u := range []string{"", "http://mail.example", "smtp://", "smtp://host:99999", "mail.example:587"} {
		if _, err := NewSMTP(u, from, nil); err == nil {
			t.Errorf("NewSMTP(%q) accepted", u)
		}
	}
	if _, err := NewSMTP("smtp://mail.example", "not an address", nil); err == nil {
		t.Error("a bad From was accepted")
	}
}
