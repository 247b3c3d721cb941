package models

import (
	"time"
)

// Flag is one user's report of a comment. Resolved flags stay for the record.
type Flag struct {
	ID         uint   `gorm:"primaryKey"`
	CommentID  uint   `gorm:"not null"`
	UserID     uint   `gorm:"not null"`
	Reason     string `gorm:"size:16;not null"`
	Note       string `gorm:"size:500;not null;default:''"`
	CreatedAt  time.Time
	ResolvedAt *time.Time
	ResolvedBy *uint
	Resolution string `gorm:"size:16;not null;default:''"`
}
