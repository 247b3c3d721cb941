package models

import (
	"time"
)

// Comment statuses.
const (
	StatusPending  = "pending"
	StatusApproved = "approved"
	StatusRejected = "rejected"
	StatusSpam     = "spam"
	StatusDeleted  = "deleted" // a tombstone kept because the comment has replies
)

// IsPublic reports whether a comment in this status is shown to everyone.
func IsPublic(status string) bool {
	return status == StatusApproved || status == StatusDeleted
}

// Comment is one comment. RootID is the top-level comment of its thread (nil
// for a top-level comment) so that a page of threads loads in one query.
type Comment struct {
	ID            uint  `gorm:"primaryKey"`
	ArticleID     uint  `gorm:"not null"`
	ParentID      *uint `gorm:"index"`
	RootID        *uint
	Depth         int `gorm:"not null;default:0"`
	AuthorID      *uint
	GuestName     string `gorm:"size:256;not null;default:''"`
	GuestEmail    string `gorm:"size:320;not null;default:''"`
	IP            string `gorm:"size:64;not null;default:''"`
	Body          string `gorm:"not null"`
	BodyHTML      string `gorm:"not null"`
	BodyHash      string `gorm:"size:64;not null;default:''"`
	RenderVersion int    `gorm:"not null;default:0"`
	Status        string `gorm:"size:16;not null"`
	Holds         string `gorm:"size:500;not null;default:''"`
	Shadow        bool   `gorm:"not null;default:false"`
	Score         int    `gorm:"not null;default:0"`
	CreatedAt     time.Time
	EditedAt      *time.Time
	UpdatedAt     time.Time
}
