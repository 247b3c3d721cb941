package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/parley-comments/parley/events"
	"github.com/parley-comments/parley/models"
)

// FanOut turns the change log's new events into outbox rows: a webhook
// delivery per subscribed endpoint, and the notification mail. Each event is
// claimed and fanned out in one transaction, so every event is fanned out
// exactly once whichever instance gets to it, and a crash loses nothing.
type FanOut struct {
	Store *models.Store
	Bus   *events.Bus // wakes the fan-out at once; nil: it polls
	Now   func() time.Time
	Log   *slog.Logger
	// Poll is how often it looks without being woken (default 2 s).
	Poll time.Duration
	// Delivered wakes the webhook sender after new deliveries (optional).
	Delivered func()
}

// fanOutBatch is how many events one pass reads.
const fanOutBatch = 100

// Run fans out until ctx ends.
func (f *FanOut) Run(ctx context.Context) {
	if f.Poll <= 0 {
		f.Poll = 2 * time.Second
	}
	var wake <-chan models.Event
	if f.Bus != nil {
		sub := f.Bus.Subscribe(1024)
		defer sub.Close()
		wake = sub.C
	}
	t := time.NewTicker(f.Poll)
	defer t.Stop()
	prune := time.NewTicker(time.Hour)
	defer prune.Stop()
	for {
		for {
			n, err := f.Drain(ctx)
			if err != nil && ctx.Err() == nil {
				f.log().Warn("fan-out", "err", err)
			}
			if err != nil || n < fanOutBatch {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case _, ok := <-wake:
			if !ok { // dropped or stopped: poll from now on
				wake = nil
			}
		case <-t.C:
		case <-prune.C:
			// Live streams replay up to two days; older events go.
			if _, err := events.Prune(ctx, f.Store, f.now().Add(-48*time.Hour)); err != nil && ctx.Err() == nil {
				f.log().Warn("prune events", "err", err)
			}
		}
	}
}

func (f *FanOut) log() *slog.Logger {
	if f.Log == nil {
		return slog.Default()
	}
	return f.Log
}

// Drain fans out up to one batch of events and returns how many it read.
func (f *FanOut) Drain(ctx context.Context) (int, error) {
	var batch []models.Event
	if err := f.Store.Read.WithContext(ctx).Where("fan_out").Order("id").Limit(fanOutBatch).Find(&batch).Error; err != nil {
		return 0, fmt.Errorf("read events: %w", models.MapError(err))
	}
	delivered := false
	for _, e := range batch {
		n := 0
		err := f.Store.WriteTx(ctx, func(tx *gorm.DB) error {
			res := tx.Model(&models.Event{}).Where("id = ? AND fan_out", e.ID).Update("fan_out", false)
			if res.Error != nil || res.RowsAffected == 0 {
				return res.Error // another instance has it
			}
			var err error
			n, err = fanOut(tx, e, f.now())
			return err
		})
		if err != nil {
			return 0, fmt.Errorf("fan out event %d: %w", e.ID, err)
		}
		delivered = delivered || n > 0
	}
	if delivered && f.Delivered != nil {
		f.Delivered()
	}
	return len(batch), nil
}

func (f *FanOut) now() time.Time {
	if f.Now == nil {
		return time.Now().UTC()
	}
	return f.Now().UTC()
}

// subject is what an event is about, loaded once for every endpoint.
type subject struct {
	comment *models.Comment
	article *models.Article
	author  *models.User
	user    *models.User
}

func load(tx *gorm.DB, e models.Event) (subject, error) {
	var s subject
	if e.CommentID != 0 {
		var c models.Comment
		switch err := tx.Take(&c, e.CommentID).Error; {
		case errors.Is(err, gorm.ErrRecordNotFound): // deleted since: say what is known
			c = models.Comment{ID: e.CommentID, ArticleID: e.ArticleID, Status: models.StatusDeleted}
		case err != nil:
			return s, err
		}
		s.comment = &c
	}
	if e.ArticleID != 0 {
		var a models.Article
		switch err := tx.Select("id", "site_id", "slug", "title", "url").Take(&a, e.ArticleID).Error; {
		case errors.Is(err, gorm.ErrRecordNotFound):
		case err != nil:
			return s, err
		default:
			s.article = &a
		}
	}
	if id := e.UserID; id != 0 {
		var u models.User
		switch err := tx.Take(&u, id).Error; {
		case errors.Is(err, gorm.ErrRecordNotFound):
		case err != nil:
			return s, err
		default:
			if e.Kind == events.UserBanned {
				s.user = &u
			} else {
				s.author = &u
			}
		}
	}
	return s, nil
}

// fanOut writes the event's webhook deliveries in tx and returns how many.
func fanOut(tx *gorm.DB, e models.Event, now time.Time) (int, error) {
	if !events.IsWebhookKind(e.Kind) {
		return 0, nil
	}
	s, err := load(tx, e)
	if err != nil {
		return 0, err
	}
	q := tx.Where("active")
	if e.ArticleID != 0 {
		if s.article == nil {
			return 0, nil // the article is gone, and its site's endpoints with it
		}
		q = q.Where("site_id = ?", s.article.SiteID)
	}
	var hooks []models.Webhook
	if err := q.Order("id").Find(&hooks).Error; err != nil {
		return 0, err
	}
	body, err := json.Marshal(webhookPayload(e, s))
	if err != nil {
		return 0, err
	}
	n := 0
	for _, h := range hooks {
		if !slices.Contains(strings.Split(h.Events, ","), e.Kind) {
			continue
		}
		d := models.WebhookDelivery{WebhookID: h.ID, MessageID: fmt.Sprintf("msg_parley_%d", e.ID), EventID: e.ID,
			CommentID: e.CommentID, Kind: e.Kind, Payload: string(body), State: models.DeliveryPending, NextAt: now, CreatedAt: now}
		if err := tx.Create(&d).Error; err != nil {
			return 0, err
		}
		n++
	}
	return n, nil
}

// Payload is a webhook's body: {type, timestamp, data}, as the Standard
// Webhooks specification suggests.
type Payload struct {
	Type      string      `json:"type"`
	Timestamp time.Time   `json:"timestamp"`
	Data      PayloadData `json:"data"`
}

// PayloadData holds the comment or the user an event is about.
type PayloadData struct {
	Comment *CommentData `json:"comment,omitempty"`
	User    *UserData    `json:"user,omitempty"`
}

// CommentData is a comment as webhooks describe it.
type CommentData struct {
	ID         uint       `json:"id"`
	Site       string     `json:"site"`
	Article    string     `json:"article_slug"`
	ArticleURL string     `json:"article_url"`
	ParentID   *uint      `json:"parent_id"`
	Status     string     `json:"status"`
	BodyHTML   string     `json:"body_html"`
	Author     *UserData  `json:"author"`
	GuestName  string     `json:"guest_name,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	EditedAt   *time.Time `json:"edited_at"`
	Score      int        `json:"score"`
	// Shadow marks a shadow-banned author's comment, hidden from all but them.
	Shadow bool `json:"shadow"`
}

// UserData is a user as webhooks describe them.
type UserData struct {
	ID          uint   `json:"id"`
	Username    string `json:"username"`
	DisplayName string `json:"display_name"`
}

func userData(u *models.User) *UserData {
	if u == nil {
		return nil
	}
	return &UserData{ID: u.ID, Username: u.Username, DisplayName: u.DisplayName}
}

func webhookPayload(e models.Event, s subject) Payload {
	p := Payload{Type: e.Kind, Timestamp: e.At.UTC()}
	if c := s.comment; c != nil {
		d := &CommentData{ID: c.ID, ParentID: c.ParentID, Status: c.Status, BodyHTML: c.BodyHTML, GuestName: c.GuestName,
			CreatedAt: c.CreatedAt.UTC(), EditedAt: c.EditedAt, Score: c.Score, Author: userData(s.author)}
		d.Shadow = c.Shadow
		if s.article != nil {
			d.Site, d.Article, d.ArticleURL = s.article.SiteID, s.article.Slug, s.article.URL
		}
		p.Data.Comment = d
	}
	p.Data.User = userData(s.user)
	return p
}
