package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/parley-comments/parley/mail"
	"github.com/parley-comments/parley/models"
)

// newLinkToken returns a 256-bit random token and its SHA-256, which is all
// the database keeps: a copy of the database signs nobody in.
func newLinkToken() (raw, hash string) {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand since Go 1.24)
	raw = base64.RawURLEncoding.EncodeToString(b)
	return raw, hashToken(raw)
}

func hashToken(raw string) string {
	sum := sha256.Sum256([]byte(raw))
	return hex.EncodeToString(sum[:])
}

// issue stores a token for purpose and queues the mail that carries it, in
// one transaction: no mail without its token, no token without its mail.
func (s *Service) issue(tx *gorm.DB, purpose string, userID *uint, email, payload string, ttl time.Duration, compose func(raw string) mail.Message) error {
	raw, hash := newLinkToken()
	now := s.Now().UTC()
	t := models.EmailToken{TokenHash: hash, Purpose: purpose, UserID: userID, Email: email, Payload: payload,
		ExpiresAt: now.Add(ttl), CreatedAt: now}
	if err := tx.Create(&t).Error; err != nil {
		return fmt.Errorf("store %s link: %w", purpose, err)
	}
	return mail.Enqueue(tx, compose(raw))
}

// spend finds a live token of one of the purposes and marks it used inside
// tx. A token is used once: the conditional update settles a race between
// two clicks.
func (s *Service) spend(tx *gorm.DB, raw string, purposes ...string) (*models.EmailToken, error) {
	t, err := s.find(tx, raw, purposes...)
	if err != nil {
		return nil, err
	}
	res := tx.Model(&models.EmailToken{}).Where("id = ? AND used_at IS NULL", t.ID).Update("used_at", s.Now().UTC())
	if res.Error != nil {
		return nil, res.Error
	}
	if res.RowsAffected == 0 {
		return nil, ErrInvalidLink
	}
	return t, nil
}

// find returns the live token of one of the purposes, or ErrInvalidLink.
func (s *Service) find(tx *gorm.DB, raw string, purposes ...string) (*models.EmailToken, error) {
	if raw == "" || len(raw) > 100 {
		return nil, ErrInvalidLink
	}
	var t models.EmailToken
	err := tx.Where("token_hash = ? AND purpose IN ?", hashToken(raw), purposes).Take(&t).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrInvalidLink
	}
	if err != nil {
		return nil, err
	}
	if t.UsedAt != nil || !s.Now().UTC().Before(t.ExpiresAt) {
		return nil, ErrInvalidLink
	}
	return &t, nil
}

// link is the address of one of Parley's account pages with the token. The
// pages that act on a click take it in the fragment, which browsers never
// send to a server or put in a Referer.
func (s *Service) link(page, raw string, inFragment bool) string {
	sep := "?token="
	if inFragment {
		sep = "#token="
	}
	return strings.TrimSuffix(s.PublicURL, "/") + "/account/" + page + sep + raw
}

// userByEmail finds the account with this address, or nil.
func (s *Service) userByEmail(ctx context.Context, email string) (*models.User, error) {
	var u models.User
	err := s.Store.Read.WithContext(ctx).Where("email = ?", NormalizeEmail(email)).Take(&u).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, models.MapError(err)
	}
	return &u, nil
}
