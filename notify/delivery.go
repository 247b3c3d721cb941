package notify

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"

	"github.com/parley-comments/parley/models"
)

// Sender delivers the webhook outbox: each due delivery is claimed, POSTed,
// and marked delivered, or scheduled again with exponential backoff until a
// day has passed, then marked failed. Deliveries of one comment to one
// endpoint go out in order: a later one waits while an earlier one is
// pending. Several instances may run a Sender on one database.
type Sender struct {
	Store *models.Store
	Now   func() time.Time
	Log   *slog.Logger
	// Timeout bounds one attempt (default 10 s).
	Timeout time.Duration
	// FirstRetry is the first backoff (default 30 s); each later one
	// doubles, up to MaxRetry (default 2 h), with jitter.
	FirstRetry, MaxRetry time.Duration
	// GiveUpAfter is how long a delivery is retried (default 24 h).
	GiveUpAfter time.Duration
	// Poll is how often it looks without being woken (default 1 s).
	Poll time.Duration
	// Resolver resolves endpoint names (nil: the system's).
	Resolver *net.Resolver

	once            sync.Once
	guarded, direct *http.Client
	wake            chan struct{}
}

func (s *Sender) init() {
	s.once.Do(func() {
		if s.Timeout <= 0 {
			s.Timeout = 10 * time.Second
		}
		if s.FirstRetry <= 0 {
			s.FirstRetry = 30 * time.Second
		}
		if s.MaxRetry <= 0 {
			s.MaxRetry = 2 * time.Hour
		}
		if s.GiveUpAfter <= 0 {
			s.GiveUpAfter = 24 * time.Hour
		}
		if s.Poll <= 0 {
			s.Poll = time.Second
		}
		if s.Now == nil {
			s.Now = time.Now
		}
		if s.Log == nil {
			s.Log = slog.Default()
		}
		s.guarded = newClient(false, s.Timeout, s.Resolver)
		s.direct = newClient(true, s.Timeout, s.Resolver)
		s.wake = make(chan struct{}, 1)
	})
}

// Wake makes a running Sender look for due deliveries now.
func (s *Sender) Wake() {
	s.init()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run sends until ctx ends. A delivery in flight when ctx ends keeps its
// claim until the lease runs out, then goes out again: at least once.
func (s *Sender) Run(ctx context.Context) {
	s.init()
	t := time.NewTicker(s.Poll)
	defer t.Stop()
	for {
		for {
			n, err := s.SendDue(ctx)
			if err != nil && ctx.Err() == nil {
				s.Log.Warn("webhook deliveries", "err", err)
			}
			if err != nil || n == 0 {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-t.C:
		}
	}
}

// sendBatch is how many deliveries one pass claims; they go out in parallel.
const sendBatch = 8

// SendDue claims the due deliveries (up to a batch), sends them and records
// the outcomes. It returns how many it sent.
func (s *Sender) SendDue(ctx context.Context) (int, error) {
	s.init()
	now := s.Now().UTC()
	var due []models.WebhookDelivery
	err := s.Store.Read.WithContext(ctx).Raw(`SELECT d.* FROM webhook_deliveries d
		WHERE d.state = ? AND d.next_at <= ? AND NOT EXISTS (
			SELECT 1 FROM webhook_deliveries e WHERE e.webhook_id = d.webhook_id AND e.comment_id = d.comment_id
			AND d.comment_id <> 0 AND e.state = ? AND e.id < d.id)
		ORDER BY d.id LIMIT ?`, models.DeliveryPending, now, models.DeliveryPending, sendBatch).Scan(&due).Error
	if err != nil {
		return 0, fmt.Errorf("look for due deliveries: %w", models.MapError(err))
	}
	var wg sync.WaitGroup
	for _, d := range due {
		claimed, err := s.claim(ctx, d, now)
		if err != nil {
			return 0, err
		}
		if !claimed {
			continue // another instance has it
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.deliver(ctx, d)
		}()
	}
	wg.Wait()
	return len(due), nil
}

// claim leases a delivery: its next attempt moves past this one's timeout,
// so a crash mid-send means another try later, not a loss. The attempt
// count makes the claim exclusive.
func (s *Sender) claim(ctx context.Context, d models.WebhookDelivery, now time.Time) (bool, error) {
	var ok bool
	err := s.Store.WriteTx(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&models.WebhookDelivery{}).Where("id = ? AND state = ? AND attempts = ?", d.ID, models.DeliveryPending, d.Attempts).
			Updates(map[string]any{"attempts": d.Attempts + 1, "next_at": now.Add(s.Timeout + time.Minute)})
		ok = res.RowsAffected == 1
		return res.Error
	})
	return ok, err
}

func (s *Sender) deliver(ctx context.Context, d models.WebhookDelivery) {
	var h models.Webhook
	code, sendErr := 0, error(nil)
	if err := s.Store.Read.WithContext(ctx).Take(&h, d.WebhookID).Error; err != nil {
		sendErr = fmt.Errorf("load endpoint: %w", models.MapError(err))
	} else {
		code, sendErr = s.post(ctx, h, d)
	}
	now := s.Now().UTC()
	updates := map[string]any{"last_code": code, "last_error": ""}
	switch {
	case sendErr == nil:
		updates["state"], updates["delivered_at"] = models.DeliveryDelivered, now
	case now.Sub(d.CreatedAt) >= s.GiveUpAfter:
		updates["state"], updates["last_error"] = models.DeliveryFailed, clip(sendErr.Error())
	default:
		updates["next_at"], updates["last_error"] = now.Add(s.backoff(d.Attempts+1)), clip(sendErr.Error())
	}
	err := s.Store.WriteTx(context.WithoutCancel(ctx), func(tx *gorm.DB) error {
		return tx.Model(&models.WebhookDelivery{}).Where("id = ? AND attempts = ?", d.ID, d.Attempts+1).Updates(updates).Error
	})
	if err != nil {
		s.Log.Error("record webhook delivery", "id", d.ID, "err", err)
	}
	if sendErr != nil {
		s.Log.Info("webhook delivery failed", "id", d.ID, "webhook", d.WebhookID, "attempt", d.Attempts+1, "err", sendErr)
	}
}

// backoff is the wait before attempt n+1: FirstRetry doubled n-1 times, at
// most MaxRetry, give or take a tenth so that endpoints coming back up are
// not hit by every retry at once.
func (s *Sender) backoff(n int) time.Duration {
	d := s.MaxRetry
	if n < 30 {
		d = min(s.FirstRetry<<(n-1), s.MaxRetry)
	}
	return d + time.Duration(rand.Int64N(int64(d)/10+1))
}

// post sends one delivery, signed, and returns the response status; any
// status but 2xx is an error.
func (s *Sender) post(ctx context.Context, h models.Webhook, d models.WebhookDelivery) (int, error) {
	ts := s.Now().Unix()
	sig, err := Sign(h.Secret, d.MessageID, ts, []byte(d.Payload))
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, strings.NewReader(d.Payload))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Parley-Webhooks/1")
	req.Header.Set("webhook-id", d.MessageID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("webhook-signature", sig)
	client := s.guarded
	if h.AllowPrivate {
		client = s.direct
	}
	res, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10)) // let the connection be reused, within reason
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return res.StatusCode, fmt.Errorf("endpoint answered %s", res.Status)
	}
	return res.StatusCode, nil
}

func clip(s string) string {
	if len(s) > 500 {
		return s[:500]
	}
	return s
}
