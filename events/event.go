// Package events is Parley's change bus. Writers record each change in the
// events table inside their own transaction (Record); after the commit the
// Bus hands it to this process's consumers (live streams, the page cache)
// and, on PostgreSQL, through LISTEN/NOTIFY to every other instance's. The
// table is also the durable outbox that webhooks and notifications fan out
// from, and what a reconnecting live stream replays.
package events

import (
	"encoding/json"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/parley-comments/parley/models"
)

// Kinds of change. The first seven are also the webhook event names.
const (
	CommentCreated  = "comment.created"
	CommentApproved = "comment.approved"
	CommentRejected = "comment.rejected"
	CommentFlagged  = "comment.flagged"
	CommentEdited   = "comment.edited"
	CommentDeleted  = "comment.deleted"
	UserBanned      = "user.banned"

	// CommentVoted is a score change: live streams show it, nobody is told.
	CommentVoted = "comment.voted"
	// ArticleChanged is an article's own change (title, lock, deletion).
	ArticleChanged = "article.changed"
)

// WebhookKinds are the kinds a webhook endpoint may subscribe to.
var WebhookKinds = []string{CommentCreated, CommentApproved, CommentRejected, CommentFlagged, CommentEdited, CommentDeleted, UserBanned}

// IsWebhookKind reports whether kind is one of WebhookKinds.
func IsWebhookKind(kind string) bool {
	for _, k := range WebhookKinds {
		if k == kind {
			return true
		}
	}
	return false
}

// Change is what a writer records. Public says that the change altered what
// the article's public thread shows: only those reach live streams and flush
// page caches. The writer must have bumped the article's version (which
// locks its row) earlier in the same transaction, so that an article's
// public events get their ids in commit order.
type Change struct {
	Kind      string
	ArticleID uint
	CommentID uint
	UserID    uint
	Public    bool
}

// Record appends the change to the events table in the writer's
// transaction. On PostgreSQL it also queues a notification, which the
// server sends to every listening instance when (and only if) tx commits.
func Record(tx *gorm.DB, at time.Time, c Change) error {
	return RecordAll(tx, at, []Change{c})
}

// notifyBatch is how many events one notification carries: well under
// PostgreSQL's 8,000-byte payload limit.
const notifyBatch = 100

// RecordAll is Record for several changes, in order: one INSERT, and on
// PostgreSQL one notification per hundred events (a bulk action on a big
// thread would otherwise pay two round trips per comment).
func RecordAll(tx *gorm.DB, at time.Time, cs []Change) error {
	if len(cs) == 0 {
		return nil
	}
	evs := make([]models.Event, len(cs))
	for i, c := range cs {
		evs[i] = models.Event{ArticleID: c.ArticleID, CommentID: c.CommentID, UserID: c.UserID, Kind: c.Kind,
			Public: c.Public, FanOut: IsWebhookKind(c.Kind), At: at.UTC()}
	}
	if err := tx.Create(&evs).Error; err != nil {
		return fmt.Errorf("record %s: %w", cs[0].Kind, err)
	}
	if tx.Dialector.Name() != "postgres" {
		return nil
	}
	for start := 0; start < len(evs); start += notifyBatch {
		batch := make([]wire, 0, notifyBatch)
		for _, e := range evs[start:min(start+notifyBatch, len(evs))] {
			batch = append(batch, wireEvent(e))
		}
		payload, err := json.Marshal(batch)
		if err != nil {
			return err
		}
		if err := tx.Exec("SELECT pg_notify("+channelExpr+", ?)", string(payload)).Error; err != nil {
			return fmt.Errorf("notify %s: %w", cs[0].Kind, err)
		}
	}
	return nil
}

// channelExpr names the notification channel: one per schema, so databases
// that hold several Parley schemas (tests do) keep their buses apart.
const channelExpr = "'parley_events_' || current_schema()"

// wire is an event as a notification carries it (at most 8,000 bytes).
type wire struct {
	ID        uint64 `json:"i"`
	ArticleID uint   `json:"a,omitempty"`
	CommentID uint   `json:"c,omitempty"`
	UserID    uint   `json:"u,omitempty"`
	Kind      string `json:"k"`
	Public    bool   `json:"p,omitempty"`
}

func wireEvent(e models.Event) wire {
	return wire{ID: e.ID, ArticleID: e.ArticleID, CommentID: e.CommentID, UserID: e.UserID, Kind: e.Kind, Public: e.Public}
}

func (w wire) event() models.Event {
	return models.Event{ID: w.ID, ArticleID: w.ArticleID, CommentID: w.CommentID, UserID: w.UserID, Kind: w.Kind, Public: w.Public}
}
