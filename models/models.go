// Package models holds Parley's GORM models, their status and role constants,
// and the database handles (see Store).
package models

import (
	"errors"
	"time"
)

// ErrNotFound is returned when a looked-up row does not exist.
var ErrNotFound = errors.New("not found")

// Comment statuses.
const (
	StatusPending  = "pending"
	StatusApproved = "approved"
	StatusRejected = "rejected"
	StatusSpam     = "spam"
	StatusDeleted  = "deleted" // a tombstone kept because the comment has replies
)

// Roles.
const (
	RoleUser      = "user"
	RoleModerator = "moderator"
	RoleAdmin     = "admin"
)

// Ban kinds.
const (
	BanNone   = ""
	BanNormal = "normal"
	BanShadow = "shadow"
)

// IsPublic reports whether a comment in this status is shown to everyone.
func IsPublic(status string) bool {
	return status == StatusApproved || status == StatusDeleted
}

// User is an account. Username keeps the spelling the user chose; UsernameKey
// is its case-folded form, which is what uniqueness is checked on.
type User struct {
	ID          uint   `gorm:"primaryKey"`
	Username    string `gorm:"size:32;not null"`
	UsernameKey string `gorm:"size:32;not null;uniqueIndex"`
	Email       *string
	// EmailVerifiedAt is when the owner proved Email theirs; nil means
	// unverified, and no mail but a verification request goes to it.
	EmailVerifiedAt *time.Time
	DisplayName     string `gorm:"size:256;not null;default:''"`
	PasswordHash    string `gorm:"not null"`
	Role            string `gorm:"size:16;not null;default:user"`
	TokenVersion    int    `gorm:"not null;default:0"`
	BanKind         string `gorm:"size:16;not null;default:''"`
	BannedUntil     *time.Time
	BanReason       string `gorm:"size:500;not null;default:''"`
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// IsModerator reports whether the user may moderate.
func (u *User) IsModerator() bool {
	return u != nil && (u.Role == RoleModerator || u.Role == RoleAdmin)
}

// ActiveBan returns the ban kind in force at now, or BanNone.
func (u *User) ActiveBan(now time.Time) string {
	if u == nil || u.BanKind == BanNone {
		return BanNone
	}
	if u.BannedUntil != nil && !now.Before(*u.BannedUntil) {
		return BanNone
	}
	return u.BanKind
}

// Article is a blog post that comments attach to: a thread of a site, keyed
// by Slug within it (a slug, or a normalized page URL; see sites.NormalizeKey).
// URL is the page's address. CommentCount counts the comments visible to the
// public; Version changes on every write that can change what the article's
// thread shows, which is what read caches key on.
type Article struct {
	ID             uint   `gorm:"primaryKey"`
	SiteID         string `gorm:"size:64;not null;default:default;uniqueIndex:idx_articles_site_slug,priority:1"`
	Slug           string `gorm:"size:512;not null;uniqueIndex:idx_articles_site_slug,priority:2"`
	Title          string `gorm:"size:300;not null"`
	Body           string `gorm:"not null;default:''"`
	URL            string `gorm:"size:2048;not null;default:''"`
	PublishedAt    time.Time
	CommentsLocked bool   `gorm:"not null;default:false"`
	ModerationMode string `gorm:"size:8;not null;default:post"`
	CommentCount   int    `gorm:"not null;default:0"`
	Version        int64  `gorm:"not null;default:0"`
	CreatedAt      time.Time
	UpdatedAt      time.Time
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

// Vote is one user's vote on one comment. ArticleID is the comment's
// article, kept on the vote so a reader's votes on a thread are one index range.
type Vote struct {
	CommentID uint `gorm:"primaryKey;autoIncrement:false"`
	UserID    uint `gorm:"primaryKey;autoIncrement:false"`
	ArticleID uint `gorm:"not null"`
	Value     int  `gorm:"not null"`
	CreatedAt time.Time
}

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
