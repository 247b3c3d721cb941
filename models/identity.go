package models

import "time"

// GuestEmail is an address a guest commenter gave, and whether and when
// they proved it theirs. Email is stored lower-cased, once.
type GuestEmail struct {
	ID         uint   `gorm:"primaryKey"`
	Email      string `gorm:"size:320;not null;uniqueIndex"`
	VerifiedAt *time.Time
	CreatedAt  time.Time
}

// One-time link purposes.
const (
	TokenVerify      = "verify"       // prove a user's address (after sign-up or a change)
	TokenGuestVerify = "guest_verify" // prove a guest's address
	TokenSignIn      = "signin"       // sign in without a password
	TokenReset       = "reset"        // choose a new password
	TokenLink        = "link"         // confirm linking an outside identity to an account
)

// EmailToken is a one-time link sent by mail. Only the SHA-256 of the token
// is stored; UsedAt spends it.
type EmailToken struct {
	ID        uint   `gorm:"primaryKey"`
	TokenHash string `gorm:"size:64;not null;uniqueIndex"`
	Purpose   string `gorm:"size:16;not null"`
	UserID    *uint
	Email     string `gorm:"size:320;not null"`
	Payload   string `gorm:"size:2000;not null;default:''"`
	ExpiresAt time.Time
	UsedAt    *time.Time
	CreatedAt time.Time
}

// UserIdentity links an account at an outside provider (Subject at
// Provider) to a user.
type UserIdentity struct {
	ID        uint   `gorm:"primaryKey"`
	UserID    uint   `gorm:"not null"`
	Provider  string `gorm:"size:32;not null"`
	Subject   string `gorm:"size:255;not null"`
	Email     string `gorm:"size:320;not null;default:''"`
	CreatedAt time.Time
}

// LoginFlow is a sign-in with an outside provider in progress: what the
// callback must find again (the state, by its hash), check (the nonce) and
// send (the PKCE verifier).
type LoginFlow struct {
	ID         uint   `gorm:"primaryKey"`
	StateHash  string `gorm:"size:64;not null"`
	Provider   string `gorm:"size:32;not null"`
	Nonce      string `gorm:"size:64;not null"`
	Verifier   string `gorm:"size:128;not null"`
	Origin     string `gorm:"size:2048;not null;default:''"`
	LinkUserID *uint
	ExpiresAt  time.Time
	CreatedAt  time.Time
	// SecretHash is the SHA-256 of the secret the widget collects the login with.
	SecretHash string `gorm:"size:64;not null;default:''"`
	// UserID is who the callback signed in; Outcome, when it signed nobody
	// in, says why; DoneAt is when the callback ran.
	UserID  *uint
	Outcome string `gorm:"size:300;not null;default:''"`
	DoneAt  *time.Time
}
