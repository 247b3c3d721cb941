package identity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"gorm.io/gorm"

	"github.com/parley-comments/parley/auth"
	"github.com/parley-comments/parley/fault"
	"github.com/parley-comments/parley/mail"
	"github.com/parley-comments/parley/models"
)

// flowTTL bounds a sign-in with a provider, from the click to the login.
const flowTTL = 10 * time.Minute

var (
	// ErrUnknownProvider is a provider name that is not configured.
	ErrUnknownProvider = fault.New(fault.NotFound, "no such sign-in provider")
	// errRefused is a callback that proves nothing: a wrong or reused
	// state or code, or an ID token that fails a check.
	errRefused = errors.New("the sign-in could not be verified")
	// ErrLinkPending: the provider's verified address belongs to an
	// account, whose owner must confirm the link by mail first.
	ErrLinkPending = fault.New(fault.Conflict, "an account already has this address: we mailed it a link to confirm that this sign-in may be linked to it")
	// ErrIdentityTaken: linking an outside account already linked to another user.
	ErrIdentityTaken = fault.New(fault.Conflict, "this outside account is linked to another Parley account")
	// ErrLastWayIn: unlinking would leave the account with no way to sign in.
	ErrLastWayIn = fault.New(fault.Conflict, "this is the account's only way to sign in: set a password or link another provider first")
	// ErrFlowNotReady: the widget asked for the login before the callback ran.
	ErrFlowNotReady = fault.New(fault.Conflict, "the sign-in has not finished")
)

// SetProviders configures the outside providers; redirect URIs are
// PublicURL/auth/callback/NAME, compared exactly by providers.
func (s *Service) SetProviders(cfgs []ProviderConfig, client *http.Client) {
	s.providers = map[string]*provider{}
	s.providerNames = nil
	s.httpClient = client
	for _, c := range cfgs {
		c.Name = strings.ToLower(c.Name)
		s.providers[c.Name] = &provider{cfg: c, redirectURL: strings.TrimSuffix(s.PublicURL, "/") + "/auth/callback/" + c.Name, now: s.Now}
		s.providerNames = append(s.providerNames, c.Name)
	}
}

// Providers lists the configured providers' names, in configuration order.
func (s *Service) Providers() []string { return s.providerNames }

func (s *Service) withClient(ctx context.Context) context.Context {
	if s.httpClient != nil {
		return context.WithValue(ctx, oauth2.HTTPClient, s.httpClient)
	}
	return ctx
}

// Started is a sign-in begun: the widget opens AuthorizeURL in a popup and
// keeps Secret to collect the login with once the popup reports back.
type Started struct {
	AuthorizeURL string
	Secret       string
}

// StartLogin begins a sign-in with a provider (authorization code flow
// with PKCE, state and nonce). With linkTo set, the outside account is
// linked to that signed-in user instead.
func (s *Service) StartLogin(ctx context.Context, name string, linkTo *models.User) (*Started, error) {
	p := s.providers[strings.ToLower(name)]
	if p == nil {
		return nil, ErrUnknownProvider
	}
	c, err := p.setup(s.withClient(ctx))
	if err != nil {
		return nil, fault.Refine(fault.New(fault.Unavailable, ""), err.Error())
	}
	state, stateHash := newLinkToken()
	secret, secretHash := newLinkToken()
	nonce, _ := newLinkToken()
	verifier := oauth2.GenerateVerifier()
	now := s.Now().UTC()
	f := models.LoginFlow{StateHash: stateHash, Provider: p.cfg.Name, Nonce: nonce, Verifier: verifier,
		SecretHash: secretHash, ExpiresAt: now.Add(flowTTL), CreatedAt: now}
	if linkTo != nil {
		f.LinkUserID = &linkTo.ID
	}
	if err := s.Store.WriteTx(ctx, func(tx *gorm.DB) error {
		// Flows nobody finished are of no use past their time.
		if err := tx.Where("expires_at < ?", now.Add(-time.Hour)).Delete(&models.LoginFlow{}).Error; err != nil {
			return err
		}
		return tx.Create(&f).Error
	}); err != nil {
		return nil, err
	}
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier)}
	if p.cfg.Name != GitHub {
		opts = append(opts, oauth2.SetAuthURLParam("nonce", nonce))
	}
	return &Started{AuthorizeURL: c.AuthCodeURL(state, opts...), Secret: secret}, nil
}

// FinishLogin is the provider's callback: it spends the flow named by
// state (once), trades the code, and records who signed in, or why nobody
// did. What it returns is for the popup to show.
func (s *Service) FinishLogin(ctx context.Context, name, state, code, providerError string) error {
	var f models.LoginFlow
	err := s.Store.WriteTx(ctx, func(tx *gorm.DB) error {
		if state == "" || len(state) > 100 {
			return errRefused
		}
		err := tx.Where("state_hash = ? AND provider = ?", hashToken(state), strings.ToLower(name)).Take(&f).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return errRefused
		}
		if err != nil {
			return err
		}
		now := s.Now().UTC()
		if f.DoneAt != nil || !now.Before(f.ExpiresAt) {
			return errRefused
		}
		res := tx.Model(&models.LoginFlow{}).Where("id = ? AND done_at IS NULL", f.ID).Update("done_at", now)
		if res.Error == nil && res.RowsAffected == 0 {
			return errRefused
		}
		return res.Error
	})
	if err != nil {
		return err
	}
	outcome := func(userID *uint, msg string) error {
		return s.Store.WriteTx(ctx, func(tx *gorm.DB) error {
			return tx.Model(&models.LoginFlow{}).Where("id = ?", f.ID).Updates(map[string]any{"user_id": userID, "outcome": truncateText(msg, 300)}).Error
		})
	}
	if providerError != "" || code == "" || len(code) > 2048 {
		_ = outcome(nil, "the provider did not sign you in")
		return fmt.Errorf("%w: the provider answered %q", errRefused, providerError)
	}
	ext, err := s.providers[f.Provider].identify(s.withClient(ctx), code, f.Verifier, f.Nonce)
	if err != nil {
		_ = outcome(nil, errRefused.Error())
		return err
	}
	var userID uint
	var pending bool
	err = s.Store.WriteTx(ctx, func(tx *gorm.DB) error {
		userID, pending, err = s.resolve(tx, &f, ext)
		return err
	})
	if err == nil && pending { // the confirmation mail is queued: the owner decides
		err = ErrLinkPending
	}
	if err != nil {
		var fe *fault.Error
		if errors.As(err, &fe) {
			_ = outcome(nil, fe.Message)
		}
		return err
	}
	return outcome(&userID, "")
}

// CompleteLogin trades the secret of a finished flow for a session, once.
func (s *Service) CompleteLogin(ctx context.Context, secret string) (*auth.Session, error) {
	var session *auth.Session
	err := s.Store.WriteTx(ctx, func(tx *gorm.DB) error {
		if secret == "" || len(secret) > 100 {
			return ErrInvalidLink
		}
		var f models.LoginFlow
		err := tx.Where("secret_hash = ?", hashToken(secret)).Take(&f).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return ErrInvalidLink
		}
		if err != nil {
			return err
		}
		if !s.Now().UTC().Before(f.ExpiresAt) {
			return ErrInvalidLink
		}
		if f.DoneAt == nil {
			return ErrFlowNotReady
		}
		if err := tx.Delete(&models.LoginFlow{}, f.ID).Error; err != nil { // once
			return err
		}
		if f.UserID == nil {
			return fault.Refine(fault.New(fault.Forbidden, ""), cmpOr(f.Outcome, errRefused.Error()))
		}
		var u models.User
		if err := tx.Take(&u, *f.UserID).Error; err != nil {
			return err
		}
		session, err = s.Accounts.StartSession(tx, &u)
		return err
	})
	return session, err
}

// resolve decides whose account the outside identity signs in to:
//   - an identity linked before signs in its user;
//   - a signed-in user who started the flow links it to themself;
//   - an address the provider verified that an account already has is
//     linked only after that account's owner confirms by mail (no takeover
//     by whoever controls an outside account claiming the address);
//   - anything else creates an account.
func (s *Service) resolve(tx *gorm.DB, f *models.LoginFlow, ext *External) (userID uint, pending bool, err error) {
	var known models.UserIdentity
	err = tx.Where("provider = ? AND subject = ?", ext.Provider, ext.Subject).Take(&known).Error
	switch {
	case err == nil && f.LinkUserID != nil && *f.LinkUserID != known.UserID:
		return 0, false, ErrIdentityTaken
	case err == nil:
		return known.UserID, false, nil
	case !errors.Is(err, gorm.ErrRecordNotFound):
		return 0, false, err
	}
	now := s.Now().UTC()
	email := NormalizeEmail(ext.Email)
	if f.LinkUserID != nil {
		return *f.LinkUserID, false, tx.Create(&models.UserIdentity{UserID: *f.LinkUserID, Provider: ext.Provider, Subject: ext.Subject, Email: email, CreatedAt: now}).Error
	}
	if email != "" && ext.EmailVerified {
		var owner models.User
		err := tx.Where("email = ?", email).Take(&owner).Error
		if err == nil {
			if !s.Mail {
				return 0, false, fault.New(fault.Conflict, "an account already has this address: sign in to it and link this provider from its account panel")
			}
			payload, _ := json.Marshal(ext)
			id := owner.ID
			if err := s.issue(tx, models.TokenLink, &id, email, string(payload), resetTTL, func(raw string) mail.Message {
				return linkNotice(s.link("link", raw, true), ProviderLabel(ext.Provider)).message(email)
			}); err != nil {
				return 0, false, err
			}
			return 0, true, nil
		}
		if !errors.Is(err, gorm.ErrRecordNotFound) {
			return 0, false, err
		}
	}
	u := models.User{DisplayName: displayName(ext), Role: models.RoleUser, CreatedAt: now, UpdatedAt: now}
	if email != "" && ext.EmailVerified {
		u.Email, u.EmailVerifiedAt = &email, &now
	}
	if err := s.createWithFreeName(tx, &u, ext); err != nil {
		return 0, false, err
	}
	return u.ID, false, tx.Create(&models.UserIdentity{UserID: u.ID, Provider: ext.Provider, Subject: ext.Subject, Email: email, CreatedAt: now}).Error
}

// ConfirmLink spends a link confirmation from mail: the account's owner
// agrees that the outside account may sign in to theirs. It signs them in.
func (s *Service) ConfirmLink(ctx context.Context, raw string) (*auth.Session, error) {
	var session *auth.Session
	err := s.Store.WriteTx(ctx, func(tx *gorm.DB) error {
		t, err := s.spend(tx, raw, models.TokenLink)
		if err != nil {
			return err
		}
		u, err := ownerOf(tx, t)
		if err != nil {
			return err
		}
		var ext External
		if err := json.Unmarshal([]byte(t.Payload), &ext); err != nil || ext.Subject == "" {
			return ErrInvalidLink
		}
		err = tx.Create(&models.UserIdentity{UserID: u.ID, Provider: ext.Provider, Subject: ext.Subject, Email: t.Email, CreatedAt: s.Now().UTC()}).Error
		if errors.Is(err, gorm.ErrDuplicatedKey) {
			return ErrIdentityTaken
		}
		if err != nil {
			return err
		}
		session, err = s.Accounts.StartSession(tx, u)
		return err
	})
	return session, err
}

// Identities lists the outside accounts linked to u.
func (s *Service) Identities(ctx context.Context, u *models.User) ([]models.UserIdentity, error) {
	var out []models.UserIdentity
	err := s.Store.Read.WithContext(ctx).Where("user_id = ?", u.ID).Order("id").Find(&out).Error
	return out, models.MapError(err)
}

// Unlink removes one of u's outside accounts, unless it is u's only way in.
func (s *Service) Unlink(ctx context.Context, u *models.User, id uint) error {
	return s.Store.WriteTx(ctx, func(tx *gorm.DB) error {
		var fresh models.User
		if err := tx.Take(&fresh, u.ID).Error; err != nil {
			return err
		}
		var n int64
		if err := tx.Model(&models.UserIdentity{}).Where("user_id = ? AND id <> ?", u.ID, id).Count(&n).Error; err != nil {
			return err
		}
		_, verified := VerifiedEmail(&fresh)
		if fresh.PasswordHash == "" && n == 0 && !(verified && s.Mail) {
			return ErrLastWayIn
		}
		res := tx.Where("id = ? AND user_id = ?", id, u.ID).Delete(&models.UserIdentity{})
		if res.Error == nil && res.RowsAffected == 0 {
			return fmt.Errorf("identity %d: %w", id, models.ErrNotFound)
		}
		return res.Error
	})
}

// createWithFreeName stores u under a username taken from the profile,
// with a number added while the name is taken.
func (s *Service) createWithFreeName(tx *gorm.DB, u *models.User, ext *External) error {
	base := usernameBase(ext)
	for i := 0; i < 50; i++ {
		name := base
		if i > 0 {
			suffix := fmt.Sprintf("%d", i+1)
			if i >= 10 {
				suffix = strings.ToLower(newSuffix())
			}
			name = base[:min(len(base), 32-len(suffix))] + suffix
		}
		if !auth.UsernameFree(name) {
			continue
		}
		var n int64
		if err := tx.Model(&models.User{}).Where("username_key = ?", strings.ToLower(name)).Count(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			continue
		}
		u.Username, u.UsernameKey = name, strings.ToLower(name)
		return tx.Create(u).Error
	}
	return fault.New(fault.Conflict, "no free username could be found; sign up with a password instead")
}

// usernameBase is the profile's login name, else its address's local part,
// else its name, reduced to what usernames allow.
func usernameBase(ext *External) string {
	local, _, _ := strings.Cut(ext.Email, "@")
	for _, cand := range []string{ext.Username, local, ext.Name, "reader"} {
		var b strings.Builder
		for _, r := range cand {
			switch {
			case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-', r == '.':
				b.WriteRune(r)
			case r == ' ':
				b.WriteRune('.')
			}
		}
		if s := strings.Trim(b.String(), ".-_"); len(s) >= 3 {
			return s[:min(len(s), 24)]
		}
	}
	return "reader"
}

func displayName(ext *External) string {
	name := strings.TrimSpace(cmpOr(ext.Name, ext.Username))
	if r := []rune(name); len(r) > 64 {
		name = string(r[:64])
	}
	return name
}

func newSuffix() string {
	raw, _ := newLinkToken()
	return strings.NewReplacer("-", "", "_", "").Replace(raw)[:6]
}

// ProviderLabel is how a provider is named to readers.
func ProviderLabel(name string) string {
	if name == GitHub {
		return "GitHub"
	}
	return strings.ToUpper(name[:1]) + name[1:]
}

func truncateText(s string, n int) string {
	for len(s) > n {
		r := []rune(s)
		s = string(r[:len(r)-1])
	}
	return s
}
