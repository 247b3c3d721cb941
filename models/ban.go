package models

import (
	"time"
)

// Ban is the record of one ban, kept after it ends.
type Ban struct {
	ID          uint   `gorm:"primaryKey"`
	UserID      uint   `gorm:"not null;index"`
	ModeratorID uint   `gorm:"not null"`
	Kind        string `gorm:"size:16;not null"`
	Reason      string `gorm:"size:500;not null;default:''"`
	ExpiresAt   *time.Time
	CreatedAt   time.Time
	LiftedAt    *time.Time
}
