package models

import "time"

// Event is one change in the change log (see package events): what happened
// to which comment, article or user. Public says the change altered what an
// article's public thread shows; FanOut, that webhooks and notifications
// have yet to be derived from it.
type Event struct {
	ID        uint64 `gorm:"primaryKey"`
	ArticleID uint
	CommentID uint
	UserID    uint
	Kind      string
	Public    bool
	FanOut    bool
	At        time.Time
}

// Webhook is an endpoint registered for a site's events. Secret is the
// Standard Webhooks signing secret ("whsec_" and base64); Events is the
// comma-separated list of event kinds it receives.
type Webhook struct {
	ID           uint `gorm:"primaryKey"`
	SiteID       string
	URL          string
	Secret       string
	Events       string
	AllowPrivate bool
	Active       bool
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Webhook delivery states.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed"
)

// WebhookDelivery is one message to one endpoint: the outbox row the
// delivery worker sends, retries and finally marks, and the log admins read.
type WebhookDelivery struct {
	ID          uint64 `gorm:"primaryKey"`
	WebhookID   uint
	MessageID   string
	EventID     uint64
	CommentID   uint
	Kind        string
	Payload     string
	State       string
	Attempts    int
	NextAt      time.Time
	LastCode    int
	LastError   string
	CreatedAt   time.Time
	DeliveredAt *time.Time
}

// FeedToken is the private token of a user's replies feed; only its SHA-256
// is stored, and a new one replaces the old.
type FeedToken struct {
	UserID    uint `gorm:"primaryKey;autoIncrement:false"`
	TokenHash string
	CreatedAt time.Time
}
