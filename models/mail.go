package models

import "time"

// MailOutboxRow is one queued e-mail. The worker that sends it claims it by
// setting ClaimToken and moving NextAttemptAt past a lease, so a crashed
// sender's rows come due again and two senders never take the same row.
type MailOutboxRow struct {
	ID            uint   `gorm:"primaryKey"`
	Recipient     string `gorm:"size:320;not null"`
	Subject       string `gorm:"size:998;not null"`
	TextBody      string `gorm:"not null"`
	HTMLBody      string `gorm:"not null;default:''"`
	Headers       string `gorm:"not null;default:'{}'"` // JSON object of extra headers
	Attempts      int    `gorm:"not null;default:0"`
	NextAttemptAt time.Time
	ClaimToken    string `gorm:"size:32;not null;default:''"`
	LastError     string `gorm:"size:500;not null;default:''"`
	SentAt        *time.Time
	FailedAt      *time.Time
	CreatedAt     time.Time
}

// TableName is the outbox's table.
func (MailOutboxRow) TableName() string { return "mail_outbox" }
