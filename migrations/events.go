package migrations

import (
	"time"

	"gorm.io/gorm"
)

// changeEvents creates the log of changes (the change bus's durable half:
// live streams replay it, webhooks and notifications fan out from it) and
// the webhook endpoints with their delivery outbox.
func changeEvents(tx *gorm.DB) error {
	// IDs are never reused once pruned (SQLite AUTOINCREMENT, a sequence on
	// PostgreSQL): a live stream's Last-Event-ID must keep meaning one event.
	type event struct {
		ID        uint64    `gorm:"primaryKey;autoIncrement;index:idx_events_article,priority:2"`
		ArticleID uint      `gorm:"not null;default:0;index:idx_events_article,priority:1"`
		CommentID uint      `gorm:"not null;default:0"`
		UserID    uint      `gorm:"not null;default:0"`
		Kind      string    `gorm:"size:32;not null"`
		Public    bool      `gorm:"not null;default:false"`
		FanOut    bool      `gorm:"not null;default:true"`
		At        time.Time `gorm:"not null;index:idx_events_at"`
	}
	type webhook struct {
		ID           uint   `gorm:"primaryKey"`
		SiteID       string `gorm:"size:64;not null;default:'default';index:idx_webhooks_site"`
		URL          string `gorm:"size:2048;not null"`
		Secret       string `gorm:"size:128;not null"`
		Events       string `gorm:"size:500;not null"`
		AllowPrivate bool   `gorm:"not null;default:false"`
		Active       bool   `gorm:"not null;default:true"`
		CreatedAt    time.Time
		UpdatedAt    time.Time
	}
	type webhookDelivery struct {
		ID          uint64    `gorm:"primaryKey;autoIncrement"`
		WebhookID   uint      `gorm:"not null;index:idx_deliveries_webhook,priority:1;index:idx_deliveries_order,priority:1"`
		MessageID   string    `gorm:"size:64;not null"`
		EventID     uint64    `gorm:"not null;default:0"`
		CommentID   uint      `gorm:"not null;default:0;index:idx_deliveries_order,priority:2"`
		Kind        string    `gorm:"size:32;not null"`
		Payload     string    `gorm:"not null"`
		State       string    `gorm:"size:16;not null;index:idx_deliveries_due,priority:1;index:idx_deliveries_order,priority:3"`
		Attempts    int       `gorm:"not null;default:0"`
		NextAt      time.Time `gorm:"not null;index:idx_deliveries_due,priority:2"`
		LastCode    int       `gorm:"not null;default:0"`
		LastError   string    `gorm:"size:500;not null;default:''"`
		CreatedAt   time.Time `gorm:"not null"`
		DeliveredAt *time.Time
	}
	m := tx.Migrator()
	for _, t := range []any{&event{}, &webhook{}, &webhookDelivery{}} {
		if err := m.CreateTable(t); err != nil {
			return err
		}
	}
	// The fan-out reads the events not yet fanned out, oldest first.
	return tx.Exec("CREATE INDEX idx_events_fan_out ON events (id) WHERE fan_out").Error
}

// feedTokens creates the private tokens of users' replies feeds.
func feedTokens(tx *gorm.DB) error {
	type feedToken struct {
		UserID    uint   `gorm:"primaryKey;autoIncrement:false"`
		TokenHash string `gorm:"size:64;not null;uniqueIndex:idx_feed_tokens_hash"`
		CreatedAt time.Time
	}
	return tx.Migrator().CreateTable(&feedToken{})
}
