package identity

import (
	"net/http"
	"time"

	"github.com/parley-comments/parley/fault"

	"github.com/parley-comments/parley/auth"
	"github.com/parley-comments/parley/models"
	"github.com/parley-comments/parley/moderation"
)

// Errors of the identity flows.
var (
	// ErrMailOff means the feature needs mail and no SMTP server is configured.
	ErrMailOff = fault.New(fault.FeatureDisabled, "this server sends no mail")
	// ErrInvalidLink is any link that cannot be used: unknown, spent,
	// expired, or for an address that changed since. One error for all, so
	// that the answer tells an attacker nothing.
	ErrInvalidLink = fault.New(fault.InvalidLink, "this link is invalid or has expired; ask for a new one")
	// ErrNoEmail means the account has no address to verify.
	ErrNoEmail = &fault.Error{Code: fault.Unprocessable, Message: "the account has no email address", Fields: map[string]string{"email": "required"}}
)

// Lifetimes of the one-time links (HARDENING.md: verification a day,
// sign-in and reset well under an hour).
const (
	verifyTTL = 24 * time.Hour
	signInTTL = 20 * time.Minute
	resetTTL  = 30 * time.Minute
)

// Service runs the identity flows. Mail is false when no SMTP server is
// configured: every flow that sends mail then answers ErrMailOff.
type Service struct {
	Store     *models.Store
	Accounts  *auth.Accounts
	PublicURL string
	Mail      bool
	Now       func() time.Time
	// perAddress limits the mail one address receives, whoever asks;
	// nil allows everything (rate limiting off).
	perAddress *moderation.Limiter

	providers     map[string]*provider
	providerNames []string
	httpClient    *http.Client // for provider calls; nil is http.DefaultClient
}

// NewService returns a service; limit turns the per-address limit on
// (3 mails an address an hour, after a burst of 3).
func NewService(store *models.Store, accounts *auth.Accounts, publicURL string, mailOn, limit bool, now func() time.Time) *Service {
	s := &Service{Store: store, Accounts: accounts, PublicURL: publicURL, Mail: mailOn, Now: now}
	if limit {
		s.perAddress = moderation.NewLimiter(1, 3, 6, now)
	}
	return s
}

// mayMail reports whether one more mail may go to address now. Every ask
// counts, whether or not an account has the address, so the limit reveals
// nothing either.
func (s *Service) mayMail(purpose, address string) bool {
	ok, _ := s.perAddress.Allow(purpose + ":" + NormalizeEmail(address))
	return ok
}
