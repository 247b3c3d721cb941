package models

import "time"

// LoginThrottle counts the failed password logins of one account (Subject
// "u:ID") or of one unknown login name ("n:NAME"), so that guesses spread
// over many addresses still meet a growing delay.
type LoginThrottle struct {
	Subject     string `gorm:"primaryKey;size:340"`
	Failures    int    `gorm:"not null;default:0"`
	LockedUntil *time.Time
	UpdatedAt   time.Time `gorm:"not null"`
}
