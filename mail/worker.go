package mail

import (
	"context"
	crand "crypto/rand"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/parley-comments/parley/models"
)

// Worker sends the outbox. Several workers (one per instance) may share a
// database: each claims rows before sending them, and a claim lapses after
// Lease, so the mail of a worker that died mid-send goes out from another.
// A message is sent at least once: a crash between the server's acceptance
// and the bookkeeping resends it, with the same Message-ID.
type Worker struct {
	Store  *models.Store
	SMTP   *SMTP
	Now    func() time.Time
	Logger *slog.Logger
	// Poll is how often the outbox is checked for due mail (default 2 s).
	Poll time.Duration
	// FirstRetry is the wait after the first failure (default 30 s); each
	// further failure doubles it, up to 6 hours.
	FirstRetry time.Duration
	// MaxAttempts ends the retries (default 12, about a day and a half).
	MaxAttempts int
	// Lease is how long a claim holds (default 5 minutes).
	Lease time.Duration
	// Batch is how many messages share one connection (default 20).
	Batch int
}

const maxRetryWait = 6 * time.Hour

func (w *Worker) defaults() {
	if w.Now == nil {
		w.Now = time.Now
	}
	if w.Logger == nil {
		w.Logger = slog.Default()
	}
	if w.Poll <= 0 {
		w.Poll = 2 * time.Second
	}
	if w.FirstRetry <= 0 {
		w.FirstRetry = 30 * time.Second
	}
	if w.MaxAttempts <= 0 {
		w.MaxAttempts = 12
	}
	if w.Lease <= 0 {
		w.Lease = 5 * time.Minute
	}
	if w.Batch <= 0 {
		w.Batch = 20
	}
}

// Run sends due mail until ctx ends. A message in flight when ctx ends is
// finished or left to its lease; nothing is lost.
func (w *Worker) Run(ctx context.Context) {
	w.defaults()
	t := time.NewTicker(w.Poll)
	defer t.Stop()
	for {
		for {
			n, err := w.SendDue(ctx)
			if err != nil && ctx.Err() == nil {
				w.Logger.Warn("mail outbox", "err", err)
			}
			if err != nil || n < w.Batch {
				break // drained; a full batch means more may wait
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// SendDue claims up to Batch due messages, sends them and records the
// outcome. It returns how many it claimed.
func (w *Worker) SendDue(ctx context.Context) (int, error) {
	w.defaults()
	now := w.Now().UTC()
	var due int64
	if err := w.Store.Read.WithContext(ctx).Model(&models.MailOutboxRow{}).
		Where("sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= ?", now).Limit(1).Count(&due).Error; err != nil {
		return 0, fmt.Errorf("look for due mail: %w", err)
	}
	if due == 0 {
		return 0, nil // the common case costs one read, no write
	}
	rows, token, err := w.claim(ctx, now)
	if err != nil || len(rows) == 0 {
		return 0, err
	}
	batch := make([]outgoing, len(rows))
	for i, r := range rows {
		var headers map[string]string
		if err := json.Unmarshal([]byte(r.Headers), &headers); err != nil {
			headers = nil // written by Enqueue, so never; send without them rather than never
		}
		batch[i] = outgoing{messageID: fmt.Sprintf("parley.%d.%d@%s", r.ID, r.CreatedAt.UnixNano(), w.SMTP.domain()),
			Message: Message{To: r.Recipient, Subject: r.Subject, Text: r.TextBody, HTML: r.HTMLBody, Headers: headers}}
	}
	errs := w.SMTP.send(ctx, batch)
	return len(rows), w.Store.WriteTx(context.WithoutCancel(ctx), func(tx *gorm.DB) error {
		done := w.Now().UTC()
		for i, r := range rows {
			q := tx.Model(&models.MailOutboxRow{}).Where("id = ? AND claim_token = ?", r.ID, token)
			updates := map[string]any{"claim_token": "", "attempts": r.Attempts + 1}
			switch {
			case errs[i] == nil:
				updates["sent_at"] = done
				updates["last_error"] = ""
			case r.Attempts+1 >= w.MaxAttempts:
				updates["failed_at"] = done
				updates["last_error"] = truncate(errs[i].Error(), 500)
				w.Logger.Error("mail given up", "id", r.ID, "attempts", r.Attempts+1, "err", errs[i])
			default:
				updates["next_attempt_at"] = done.Add(w.retryWait(r.Attempts + 1))
				updates["last_error"] = truncate(errs[i].Error(), 500)
				w.Logger.Warn("mail not sent, will retry", "id", r.ID, "attempts", r.Attempts+1, "err", errs[i])
			}
			if err := q.Updates(updates).Error; err != nil {
				return err
			}
		}
		return nil
	})
}

// claim marks due rows as this worker's for one lease and returns them. On
// PostgreSQL, SKIP LOCKED lets concurrent workers take different rows
// instead of waiting on each other; SQLite has one writer anyway.
func (w *Worker) claim(ctx context.Context, now time.Time) ([]models.MailOutboxRow, string, error) {
	token := crand.Text()
	var rows []models.MailOutboxRow
	err := w.Store.WriteTx(ctx, func(tx *gorm.DB) error {
		sel := tx.Model(&models.MailOutboxRow{}).Select("id").
			Where("sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= ?", now).Order("id").Limit(w.Batch)
		if tx.Dialector.Name() == "postgres" {
			sel = sel.Clauses(clause.Locking{Strength: "UPDATE", Options: "SKIP LOCKED"})
		}
		var ids []uint
		if err := sel.Find(&ids).Error; err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		if err := tx.Model(&models.MailOutboxRow{}).Where("id IN ?", ids).
			Updates(map[string]any{"claim_token": token, "next_attempt_at": now.Add(w.Lease)}).Error; err != nil {
			return err
		}
		return tx.Where("id IN ?", ids).Order("id").Find(&rows).Error
	})
	if err != nil {
		return nil, "", fmt.Errorf("claim mail: %w", err)
	}
	return rows, token, nil
}

// retryWait doubles from FirstRetry per failure, capped, with up to a
// fifth of jitter so that instances retrying a shared outage spread out.
func (w *Worker) retryWait(attempts int) time.Duration {
	d := w.FirstRetry
	for i := 1; i < attempts && d < maxRetryWait; i++ {
		d *= 2
	}
	d = min(d, maxRetryWait)
	return d + time.Duration(rand.Int64N(int64(d)/5+1))
}

// truncate cuts s to at most n bytes without splitting a character
// (PostgreSQL refuses invalid UTF-8).
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xc0 == 0x80 {
		n--
	}
	return s[:n]
}
