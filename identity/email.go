// Package identity owns who a reader is beyond a password: verified e-mail
// addresses (of accounts and of guests), the one-time links that prove and
// use them, and the accounts of outside identity providers.
package identity

import (
	"context"
	"errors"
	"fmt"
	netmail "net/mail"
	"strings"

	"gorm.io/gorm"

	"github.com/parley-comments/parley/fault"
	"github.com/parley-comments/parley/models"
)

// VerifiedEmail returns the user's address if its owner has proved it
// theirs, and false otherwise. Mail other than a verification request goes
// only to an address this returns.
func VerifiedEmail(u *models.User) (string, bool) {
	if u == nil || u.Email == nil || *u.Email == "" || u.EmailVerifiedAt == nil {
		return "", false
	}
	return *u.Email, true
}

// NormalizeEmail is the form addresses are stored and compared in.
func NormalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// GuestEmailVerified reports whether a guest proved the address theirs.
func GuestEmailVerified(ctx context.Context, db *gorm.DB, email string) (bool, error) {
	var g models.GuestEmail
	err := db.WithContext(ctx).Where("email = ?", NormalizeEmail(email)).Take(&g).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("look up guest email: %w", err)
	}
	return g.VerifiedAt != nil, nil
}

// cleanEmail checks one bare address and returns it normalized.
func cleanEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	a, err := netmail.ParseAddress(s)
	if err != nil || a.Address != s || len(s) > 254 || strings.ContainsAny(s, "\r\n") {
		return "", fault.InvalidFields("not a valid email address", map[string]string{"email": "not a valid email address"})
	}
	return NormalizeEmail(s), nil
}
