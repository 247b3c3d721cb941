// Package models holds Parley's GORM models, their status and role constants,
// and the database handles (see Store).
package models

import (
	"time"

	"github.com/parley-comments/parley/fault"
)

// ErrNotFound is returned when a looked-up row does not exist.
var ErrNotFound = fault.New(fault.NotFound, "not found")

// RefreshToken is one refresh token of a login (a family). Only its SHA-256 is stored.
type RefreshToken struct {
	ID        uint   `gorm:"primaryKey"`
	UserID    uint   `gorm:"not null;index"`
	FamilyID  string `gorm:"size:64;not null;index"`
	TokenHash string `gorm:"size:64;not null;uniqueIndex"`
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    *time.Time
	RevokedAt *time.Time
}

// AuditEntry records one moderation action: who, what, when, which target, why.
type AuditEntry struct {
	ID          uint      `gorm:"primaryKey"`
	At          time.Time `gorm:"not null;index"`
	ModeratorID uint      `gorm:"not null"`
	Action      string    `gorm:"size:32;not null"`
	TargetType  string    `gorm:"size:16;not null"`
	TargetID    uint      `gorm:"not null"`
	Reason      string    `gorm:"size:500;not null;default:''"`
}

// TableName keeps the audit log's table name short and stable.
func (AuditEntry) TableName() string { return "audit_log" }

// Setting is a named JSON document, such as the moderation rules.
type Setting struct {
	Key       string `gorm:"primaryKey;size:64"`
	Value     string `gorm:"not null"`
	UpdatedAt time.Time
}
