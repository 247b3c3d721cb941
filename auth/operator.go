package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"gorm.io/gorm"

	"github.com/parley-comments/parley/fault"
	"github.com/parley-comments/parley/models"
)

// ErrNoSuchUser is returned by the operator's account commands for an
// unknown username.
var ErrNoSuchUser = fault.New(fault.NotFound, "no such user")

// newPassword returns a random password of 24 hex characters (96 bits),
// handed to the operator once and stored only as a hash.
func newPassword() (string, error) {
	s, err := NewSecret()
	if err != nil {
		return "", err
	}
	return s[:24], nil
}

// ResetPassword gives username a new random password and returns it. Every
// login of the user ends: the token version goes up, so access tokens stop
// working, and every refresh token is revoked.
func (a *Accounts) ResetPassword(ctx context.Context, username string) (string, error) {
	password, err := newPassword()
	if err != nil {
		return "", err
	}
	hash, err := a.Hasher.Hash(ctx, password)
	if err != nil {
		return "", err
	}
	now := a.now()
	err = a.Store.WriteTx(ctx, func(tx *gorm.DB) error {
		var u models.User
		if err := tx.Select("id").Where("username_key = ?", strings.ToLower(username)).Take(&u).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return fmt.Errorf("%w: %q", ErrNoSuchUser, username)
			}
			return err
		}
		if err := tx.Model(&models.User{}).Where("id = ?", u.ID).Updates(map[string]any{
			"password_hash": hash, "token_version": gorm.Expr("token_version + 1"), "updated_at": now,
		}).Error; err != nil {
			return err
		}
		return tx.Model(&models.RefreshToken{}).Where("user_id = ? AND revoked_at IS NULL", u.ID).Update("revoked_at", now).Error
	})
	if err != nil {
		return "", fmt.Errorf("reset password: %w", err)
	}
	return password, nil
}

// Roles lists the roles an account can have, lowest first.
var Roles = []string{models.RoleUser, models.RoleModerator, models.RoleAdmin}

// CreateAccount creates an account with role and a random password, which
// it returns. It is the operator's way in, so reserved names (which keep
// readers from posing as staff) are allowed; the username's form is not.
func (a *Accounts) CreateAccount(ctx context.Context, username, role string) (*models.User, string, error) {
	if !validUsername(username) {
		return nil, "", &fault.Error{Code: fault.Invalid, Message: "username: 3 to 32 letters, digits, '_', '-' or '.'",
			Fields: map[string]string{"username": "3 to 32 letters, digits, '_', '-' or '.'"}}
	}
	known := false
	for _, r := range Roles {
		known = known || r == role
	}
	if !known {
		return nil, "", &fault.Error{Code: fault.Invalid, Message: "role must be one of " + strings.Join(Roles, ", "),
			Fields: map[string]string{"role": "one of " + strings.Join(Roles, ", ")}}
	}
	password, err := newPassword()
	if err != nil {
		return nil, "", err
	}
	hash, err := a.Hasher.Hash(ctx, password)
	if err != nil {
		return nil, "", err
	}
	now := a.now()
	u := &models.User{Username: username, UsernameKey: strings.ToLower(username), DisplayName: username,
		PasswordHash: hash, Role: role, CreatedAt: now, UpdatedAt: now}
	err = a.Store.WriteTx(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(u).Error; err != nil {
			if errors.Is(err, gorm.ErrDuplicatedKey) {
				return ErrTaken
			}
			return err
		}
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("create account: %w", err)
	}
	return u, password, nil
}
