package models

import (
	"time"

	"gorm.io/gorm"

	"github.com/parley-comments/parley/markup"
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

// User is an account. Username keeps the spelling the user chose; UsernameKey
// is its case-folded form, which is what uniqueness is checked on.
type User struct {
	ID          uint   `gorm:"primaryKey"`
	Username    string `gorm:"size:32;not null"`
	UsernameKey string `gorm:"size:32;not null;uniqueIndex"`
	// UsernameSkeleton is Username's look-alike skeleton (markup.Skeleton),
	// set on every save, so that a display name that passes for another
	// user's username is found by index.
	UsernameSkeleton string `gorm:"size:128;not null;default:''"`
	Email            *string
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

// BeforeSave keeps UsernameSkeleton in step with Username.
func (u *User) BeforeSave(*gorm.DB) error {
	if u.Username != "" {
		u.UsernameSkeleton = markup.Skeleton(u.Username)
	}
	return nil
}
