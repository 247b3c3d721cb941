package identity

import (
	"context"
	"errors"
	"time"

	"github.com/parley-comments/parley/fault"

	"gorm.io/gorm"

	"github.com/parley-comments/parley/mail"
	"github.com/parley-comments/parley/models"
)

// SendVerification mails u a link that verifies u's current address. An
// address already verified, or one that got its limit of mail, gets none.
func (s *Service) SendVerification(ctx context.Context, u *models.User) error {
	if !s.Mail {
		return ErrMailOff
	}
	if u.Email == nil || *u.Email == "" {
		return ErrNoEmail
	}
	if u.EmailVerifiedAt != nil || !s.mayMail(models.TokenVerify, *u.Email) {
		return nil
	}
	id := u.ID
	return s.Store.WriteTx(ctx, func(tx *gorm.DB) error {
		return s.issue(tx, models.TokenVerify, &id, *u.Email, "", verifyTTL, func(raw string) mail.Message {
			return verifyNotice(s.link("verify", raw, false)).message(*u.Email)
		})
	})
}

// ChangeEmail starts moving u to a new address: the address changes only
// when the link mailed to it is opened (double opt-in), so nobody can point
// an account, or its mail, at an address that is not theirs.
func (s *Service) ChangeEmail(ctx context.Context, u *models.User, address string) error {
	if !s.Mail {
		return ErrMailOff
	}
	email, err := cleanEmail(address)
	if err != nil {
		return err
	}
	if u.Email != nil && *u.Email == email && u.EmailVerifiedAt != nil {
		return nil
	}
	if !s.mayMail(models.TokenVerify, email) {
		return nil
	}
	id := u.ID
	return s.Store.WriteTx(ctx, func(tx *gorm.DB) error {
		return s.issue(tx, models.TokenVerify, &id, email, "", verifyTTL, func(raw string) mail.Message {
			return verifyNotice(s.link("verify", raw, false)).message(email)
		})
	})
}

// Verified says what a verification link proved.
type Verified struct {
	Guest bool
	Email string
}

// Verify spends a verification link (a plain GET of the link in the mail
// is enough: proving the mailbox is the whole point). For an account it
// sets the address the link was sent to as the account's verified one; a
// guest's address joins the verified guest addresses.
func (s *Service) Verify(ctx context.Context, raw string) (*Verified, error) {
	var out *Verified
	err := s.Store.WriteTx(ctx, func(tx *gorm.DB) error {
		t, err := s.spend(tx, raw, models.TokenVerify, models.TokenGuestVerify)
		if err != nil {
			return err
		}
		now := s.Now().UTC()
		if t.Purpose == models.TokenGuestVerify {
			out = &Verified{Guest: true, Email: t.Email}
			return markGuestVerified(tx, t.Email, now)
		}
		if t.UserID == nil {
			return ErrInvalidLink
		}
		res := tx.Model(&models.User{}).Where("id = ?", *t.UserID).
			Updates(map[string]any{"email": t.Email, "email_verified_at": now, "updated_at": now})
		if errors.Is(res.Error, gorm.ErrDuplicatedKey) {
			return fault.Refine(ErrInvalidLink, "another account has this address now")
		}
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 { // the account is gone
			return ErrInvalidLink
		}
		// Other open links of the user lose their use: they were for an
		// address that is no longer, or already, the account's.
		out = &Verified{Email: t.Email}
		return tx.Model(&models.EmailToken{}).Where("user_id = ? AND purpose = ? AND used_at IS NULL", *t.UserID, models.TokenVerify).
			Update("used_at", now).Error
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// PeekVerification says what Verify would do with the link, changing nothing.
func (s *Service) PeekVerification(ctx context.Context, raw string) (*Verified, error) {
	var out *Verified
	err := s.Store.Read.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		t, err := s.find(tx, raw, models.TokenVerify, models.TokenGuestVerify)
		if err == nil {
			out = &Verified{Guest: t.Purpose == models.TokenGuestVerify, Email: t.Email}
		}
		return err
	})
	return out, err
}

// SendGuestVerification mails a guest commenter a link proving their
// address, unless it is verified already or got its limit of mail.
func (s *Service) SendGuestVerification(ctx context.Context, address string) error {
	if !s.Mail || address == "" {
		return nil
	}
	email, err := cleanEmail(address)
	if err != nil {
		return nil // stored as given by the guest; not an address we can mail
	}
	ok, err := GuestEmailVerified(ctx, s.Store.Read, email)
	if err != nil || ok || !s.mayMail(models.TokenGuestVerify, email) {
		return err
	}
	return s.Store.WriteTx(ctx, func(tx *gorm.DB) error {
		return s.issue(tx, models.TokenGuestVerify, nil, email, "", verifyTTL, func(raw string) mail.Message {
			return verifyNotice(s.link("verify", raw, false)).message(email)
		})
	})
}

func markGuestVerified(tx *gorm.DB, email string, now time.Time) error {
	res := tx.Model(&models.GuestEmail{}).Where("email = ?", email).Update("verified_at", now)
	if res.Error != nil || res.RowsAffected > 0 {
		return res.Error
	}
	return tx.Create(&models.GuestEmail{Email: email, VerifiedAt: &now, CreatedAt: now}).Error
}
