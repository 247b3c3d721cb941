package identity

import (
	"context"
	"errors"

	"gorm.io/gorm"

	"github.com/parley-comments/parley/auth"
	"github.com/parley-comments/parley/mail"
	"github.com/parley-comments/parley/models"
)

// RequestSignIn mails a one-time sign-in link to the account with this
// verified address. The answer is the same whether or not there is one.
func (s *Service) RequestSignIn(ctx context.Context, address string) error {
	if !s.Mail {
		return ErrMailOff
	}
	email, err := cleanEmail(address)
	if err != nil {
		return err
	}
	if !s.mayMail(models.TokenSignIn, email) {
		return nil
	}
	u, err := s.userByEmail(ctx, email)
	if err != nil || u == nil {
		return err
	}
	if _, ok := VerifiedEmail(u); !ok {
		return nil // an unverified claim to an address signs nobody in
	}
	id := u.ID
	return s.Store.WriteTx(ctx, func(tx *gorm.DB) error {
		return s.issue(tx, models.TokenSignIn, &id, email, "", signInTTL, func(raw string) mail.Message {
			return signInNotice(s.link("signin", raw, true)).message(email)
		})
	})
}

// RedeemSignIn spends a sign-in link and starts a login. It runs when the
// reader presses the page's button, not when the link is fetched.
func (s *Service) RedeemSignIn(ctx context.Context, raw string) (*auth.Session, error) {
	var session *auth.Session
	err := s.Store.WriteTx(ctx, func(tx *gorm.DB) error {
		t, err := s.spend(tx, raw, models.TokenSignIn)
		if err != nil {
			return err
		}
		u, err := ownerOf(tx, t)
		if err != nil {
			return err
		}
		session, err = s.Accounts.StartSession(tx, u)
		return err
	})
	return session, err
}

// RequestReset mails a password reset link to the account with this
// address, verified or not: the address is all an account without a
// working password has. The answer is the same whether or not there is one.
func (s *Service) RequestReset(ctx context.Context, address string) error {
	if !s.Mail {
		return ErrMailOff
	}
	email, err := cleanEmail(address)
	if err != nil {
		return err
	}
	if !s.mayMail(models.TokenReset, email) {
		return nil
	}
	u, err := s.userByEmail(ctx, email)
	if err != nil || u == nil {
		return err
	}
	id := u.ID
	return s.Store.WriteTx(ctx, func(tx *gorm.DB) error {
		return s.issue(tx, models.TokenReset, &id, email, "", resetTTL, func(raw string) mail.Message {
			return resetNotice(s.link("reset", raw, true)).message(email)
		})
	})
}

// RedeemReset spends a reset link and sets the new password; every login
// of the account ends. Opening the link proved the mailbox, so the address
// counts as verified from now on.
func (s *Service) RedeemReset(ctx context.Context, raw, password string) error {
	hash, err := s.Accounts.HashNewPassword(ctx, password)
	if err != nil {
		return err
	}
	return s.Store.WriteTx(ctx, func(tx *gorm.DB) error {
		t, err := s.spend(tx, raw, models.TokenReset)
		if err != nil {
			return err
		}
		u, err := ownerOf(tx, t)
		if err != nil {
			return err
		}
		if err := s.Accounts.ReplacePassword(tx, u.ID, hash); err != nil {
			return err
		}
		if u.EmailVerifiedAt == nil {
			return tx.Model(&models.User{}).Where("id = ?", u.ID).Update("email_verified_at", s.Now().UTC()).Error
		}
		return nil
	})
}

// ownerOf loads the token's user, who must still have the address the
// link went to: a link sent before an address change is void.
func ownerOf(tx *gorm.DB, t *models.EmailToken) (*models.User, error) {
	if t.UserID == nil {
		return nil, ErrInvalidLink
	}
	var u models.User
	err := tx.Take(&u, *t.UserID).Error
	if errors.Is(err, gorm.ErrRecordNotFound) || err == nil && (u.Email == nil || *u.Email != t.Email) {
		return nil, ErrInvalidLink
	}
	return &u, err
}
