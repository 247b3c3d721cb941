package auth

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/parley-comments/parley/fault"
	"github.com/parley-comments/parley/markup"
	"github.com/parley-comments/parley/models"
	"github.com/parley-comments/parley/names"
)

// Account errors; the API maps each to a status.
var (
	ErrInvalidCredentials = fault.New(fault.InvalidCredentials, "wrong username or password")
	ErrTaken              = fault.New(fault.Conflict, "username or email is already taken")
	ErrInvalidRefresh     = fault.New(fault.InvalidToken, "the refresh token is invalid or expired; sign in again")
)

// ReusedError is what Refresh returns when a spent refresh token comes back
// after the grace: it was stolen or leaked, and its whole login has just
// been revoked. It matches ErrInvalidRefresh; the API logs it as a
// security event.
type ReusedError struct {
	UserID   uint
	FamilyID string
}

func (e *ReusedError) Error() string {
	return fmt.Sprintf("spent refresh token of user %d presented again; login revoked", e.UserID)
}

// Unwrap makes a ReusedError an ErrInvalidRefresh, for errors.Is and for the
// code and message the client gets (not this one's, which is for the log).
func (e *ReusedError) Unwrap() error { return ErrInvalidRefresh }

// RefreshTTL is how long a login lasts without being refreshed.
const RefreshTTL = 30 * 24 * time.Hour

// reuseGrace lets two tabs that refresh at the same moment both succeed
// without one of them revoking the whole login.
const reuseGrace = 5 * time.Second

// Accounts registers users, signs them in and rotates their refresh tokens.
type Accounts struct {
	Store  *models.Store
	Hasher *Hasher
	Tokens *Tokens
	Now    func() time.Time

	users userCache // on SQLite; see user
}

// Session is what a successful register, login or refresh returns.
type Session struct {
	User         *models.User
	AccessToken  string
	RefreshToken string
	ExpiresIn    int
}

// Registration is the input of Register.
type Registration struct {
	Username    string
	Password    string
	Email       string
	DisplayName string
}

// Register validates and creates a user account and signs it in.
func (a *Accounts) Register(ctx context.Context, r Registration) (*Session, error) {
	u, err := a.newUser(r)
	if err != nil {
		return nil, err
	}
	if err := names.Check(ctx, a.Store.Read, u.DisplayName, u.Username); errors.Is(err, names.ErrLookalike) {
		return nil, fault.InvalidFields("the display name "+err.Error(), map[string]string{"display_name": err.Error()})
	} else if err != nil {
		return nil, err
	}
	hash, err := a.Hasher.Hash(ctx, r.Password)
	if err != nil {
		return nil, err
	}
	u.PasswordHash = hash
	var s *Session
	err = a.Store.WriteTx(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(u).Error; err != nil {
			if errors.Is(err, gorm.ErrDuplicatedKey) {
				return ErrTaken
			}
			return err
		}
		s, err = a.startSession(tx, u, "")
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("register: %w", err)
	}
	return s, nil
}

func (a *Accounts) newUser(r Registration) (*models.User, error) {
	fields := map[string]string{}
	key := strings.ToLower(r.Username)
	switch {
	case !validUsername(r.Username):
		fields["username"] = "3 to 32 letters, digits, '_', '-' or '.'"
	case names.Reserved(r.Username):
		fields["username"] = "this name is reserved"
	}
	switch {
	case !validPassword(r.Password):
		fields["password"] = passwordRule
	case commonPassword(r.Password) || strings.EqualFold(r.Password, r.Username):
		fields["password"] = commonRule
	}
	var email *string
	if r.Email != "" {
		addr, err := mail.ParseAddress(r.Email)
		if err != nil || addr.Address != r.Email || len(r.Email) > 254 {
			fields["email"] = "not a valid email address"
		} else {
			e := strings.ToLower(addr.Address)
			email = &e
		}
	}
	display := markup.CleanName(r.DisplayName)
	if utf8.RuneCountInString(display) > 64 {
		fields["display_name"] = "at most 64 characters"
	}
	if len(fields) > 0 {
		return nil, fault.InvalidFields("invalid registration", fields)
	}
	if display == "" {
		display = r.Username
	}
	now := a.now()
	return &models.User{Username: r.Username, UsernameKey: key, Email: email, DisplayName: display,
		Role: models.RoleUser, CreatedAt: now, UpdatedAt: now}, nil
}

// passwordRule is what validPassword asks for, as the API states it.
const passwordRule = "8 to 256 characters"

// validPassword applies the one password rule: length only, no composition
// rules, so that passphrases and password managers both work.
func validPassword(p string) bool {
	n := utf8.RuneCountInString(p)
	return n >= 8 && n <= 256 && utf8.ValidString(p)
}

func validUsername(s string) bool {
	if len(s) < 3 || len(s) > 32 {
		return false
	}
	for _, c := range []byte(s) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.'
		if !ok {
			return false
		}
	}
	return true
}

// Login checks a username or email and password. Unknown users and wrong
// passwords get the same error after the same amount of hashing work.
// Every attempt counts against the account (see beginLogin): while its
// delay runs, the answer is a ThrottledError and the password is not
// checked.
func (a *Accounts) Login(ctx context.Context, login, password string) (*Session, error) {
	var found models.User
	u := &found
	key := strings.ToLower(strings.TrimSpace(login))
	q := a.Store.Read.WithContext(ctx)
	if strings.Contains(key, "@") {
		q = q.Where("email = ?", key)
	} else {
		q = q.Where("username_key = ?", key)
	}
	err := q.First(u).Error
	if errors.Is(err, gorm.ErrRecordNotFound) || len(login) > 320 || len(password) > 1024 {
		u = nil
	} else if err != nil {
		return nil, models.MapError(err)
	}
	if len(key) > 320 {
		key = key[:320]
	}
	subject := throttleKey(u, key)
	var userID uint
	if u != nil {
		userID = u.ID
	}
	var failures int
	var delay time.Duration
	err = a.Store.WriteTx(ctx, func(tx *gorm.DB) (err error) {
		failures, delay, err = beginLogin(tx, subject, userID, a.now())
		return err
	})
	if err != nil {
		return nil, err
	}
	refused := error(ErrInvalidCredentials)
	if delay > 0 {
		refused = &GuessingError{UserID: userID, Failures: failures, Delay: delay}
	}
	if u == nil || u.PasswordHash == "" { // an account made by an identity provider has no password
		a.Hasher.VerifyDummy(ctx, password)
		return nil, refused
	}
	ok, rehash, err := a.Hasher.Verify(ctx, u.PasswordHash, password)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, refused
	}
	var newHash string
	if rehash {
		if newHash, err = a.Hasher.Hash(ctx, password); err != nil {
			return nil, err
		}
	}
	var s *Session
	err = a.Store.WriteTx(ctx, func(tx *gorm.DB) error {
		if newHash != "" {
			if err := tx.Model(u).Update("password_hash", newHash).Error; err != nil {
				return err
			}
		}
		if err := clearLogin(tx, subject); err != nil {
			return err
		}
		s, err = a.startSession(tx, u, "")
		return err
	})
	return s, err
}

// ChangePassword replaces user's password once current is proven right;
// a wrong one is ErrInvalidCredentials after the same hashing work as a
// failed login. On success every access token issued before stops working
// (the token version goes up) and every refresh token of the user is
// revoked, so all logins end, this one included: whoever stole a session
// loses it, and the client signs in again with the new password.
func (a *Accounts) ChangePassword(ctx context.Context, user *models.User, current, next string) error {
	if !validPassword(next) {
		return fault.InvalidFields("the new password must be "+passwordRule, map[string]string{"new_password": passwordRule})
	}
	if commonPassword(next) || strings.EqualFold(next, user.Username) {
		return &fault.Error{Code: fault.Invalid, Message: "the new password is " + commonRule, Fields: map[string]string{"new_password": commonRule}}
	}
	// The hash is read again rather than taken from user: it may have
	// changed since the request was authenticated.
	var u models.User
	if err := a.Store.Read.WithContext(ctx).Select("id", "password_hash").Take(&u, user.ID).Error; err != nil {
		return fmt.Errorf("change password: %w", models.MapError(err))
	}
	if len(current) > 1024 || u.PasswordHash == "" { // no password yet: set one by a reset link
		a.Hasher.VerifyDummy(ctx, current)
		return ErrInvalidCredentials
	}
	ok, _, err := a.Hasher.Verify(ctx, u.PasswordHash, current)
	if err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	if !ok {
		return ErrInvalidCredentials
	}
	hash, err := a.Hasher.Hash(ctx, next)
	if err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	now := a.now()
	err = a.Store.WriteTx(ctx, func(tx *gorm.DB) error {
		// Conditional on the hash just verified: of two concurrent changes
		// with the same current password, only one wins.
		res := tx.Model(&models.User{}).Where("id = ? AND password_hash = ?", u.ID, u.PasswordHash).Updates(map[string]any{
			"password_hash": hash, "token_version": gorm.Expr("token_version + 1"), "updated_at": now,
		})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrInvalidCredentials
		}
		return tx.Model(&models.RefreshToken{}).Where("user_id = ? AND revoked_at IS NULL", u.ID).Update("revoked_at", now).Error
	})
	if err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	return nil
}

// Refresh spends a refresh token and returns a new pair of the same login.
// A token presented again after it was spent (outside a short grace for
// tabs racing each other) means it was stolen: the whole login is revoked.
func (a *Accounts) Refresh(ctx context.Context, raw string) (*Session, error) {
	if raw == "" || len(raw) > 256 {
		return nil, ErrInvalidRefresh
	}
	hash := HashRefreshToken(raw)
	now := a.now()
	var s *Session
	var reused *ReusedError
	err := a.Store.WriteTx(ctx, func(tx *gorm.DB) error {
		var rt models.RefreshToken
		if err := tx.Where("token_hash = ?", hash).First(&rt).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return ErrInvalidRefresh
			}
			return err
		}
		if rt.RevokedAt != nil || !now.Before(rt.ExpiresAt) {
			return ErrInvalidRefresh
		}
		// Spend it only if nobody else did: the conditional update makes
		// two concurrent refreshes produce one winner.
		res := tx.Model(&models.RefreshToken{}).Where("id = ? AND used_at IS NULL", rt.ID).Update("used_at", now)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			if rt.UsedAt != nil && now.Sub(*rt.UsedAt) > reuseGrace {
				reused = &ReusedError{UserID: rt.UserID, FamilyID: rt.FamilyID}
				return tx.Model(&models.RefreshToken{}).Where("family_id = ? AND revoked_at IS NULL", rt.FamilyID).Update("revoked_at", now).Error
			}
			return ErrInvalidRefresh
		}
		var u models.User
		if err := tx.First(&u, rt.UserID).Error; err != nil {
			return err
		}
		var err error
		s, err = a.startSession(tx, &u, rt.FamilyID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("refresh: %w", err)
	}
	if reused != nil {
		return nil, reused
	}
	return s, nil
}

// Logout revokes the login the refresh token belongs to. Unknown tokens are
// ignored: logging out twice is not an error.
func (a *Accounts) Logout(ctx context.Context, raw string) error {
	if raw == "" || len(raw) > 256 {
		return nil
	}
	hash := HashRefreshToken(raw)
	now := a.now()
	return a.Store.WriteTx(ctx, func(tx *gorm.DB) error {
		var rt models.RefreshToken
		err := tx.Where("token_hash = ?", hash).First(&rt).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := tx.Model(&models.RefreshToken{}).Where("family_id = ? AND revoked_at IS NULL", rt.FamilyID).Update("revoked_at", now).Error; err != nil {
			return err
		}
		// Access tokens of this user stop working at once, everywhere.
		return tx.Model(&models.User{}).Where("id = ?", rt.UserID).Update("token_version", gorm.Expr("token_version + 1")).Error
	})
}

// Authenticate checks an access token and returns its user as the database
// has it now, so that a ban, role change or logout takes effect at once.
func (a *Accounts) Authenticate(ctx context.Context, raw string) (*models.User, error) {
	claims, err := a.Tokens.Parse(raw)
	if err != nil {
		return nil, err
	}
	id, err := claims.UserID()
	if err != nil {
		return nil, err
	}
	u, err := a.user(ctx, id)
	if err != nil {
		return nil, err
	}
	if u.TokenVersion != claims.Version || u.Role != claims.Role {
		return nil, fmt.Errorf("%w: token was revoked", ErrInvalidToken)
	}
	return u, nil
}

// user reads user id's row, from the cache where the store allows one.
func (a *Accounts) user(ctx context.Context, id uint) (*models.User, error) {
	count, cacheable := a.Store.UserWrites()
	if cacheable {
		if u, ok := a.users.get(id, count); ok {
			return u, nil
		}
	}
	var u models.User
	if err := a.Store.Read.WithContext(ctx).First(&u, id).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil, fmt.Errorf("%w: no such user", ErrInvalidToken)
		}
		return nil, models.MapError(err)
	}
	if cacheable {
		a.users.put(&u, count)
	}
	return &u, nil
}

// startSession issues an access token and a new refresh token in family (a
// new family when empty).
func (a *Accounts) startSession(tx *gorm.DB, u *models.User, family string) (*Session, error) {
	raw, hash, err := NewRefreshToken()
	if err != nil {
		return nil, err
	}
	if family == "" {
		family = strconv.FormatUint(uint64(u.ID), 10) + "-" + hash[:16]
	}
	now := a.now()
	rt := models.RefreshToken{UserID: u.ID, FamilyID: family, TokenHash: hash, CreatedAt: now, ExpiresAt: now.Add(RefreshTTL)}
	if err := tx.Create(&rt).Error; err != nil {
		return nil, err
	}
	access, expiresIn, err := a.Tokens.Issue(u.ID, u.Role, u.TokenVersion)
	if err != nil {
		return nil, err
	}
	return &Session{User: u, AccessToken: access, RefreshToken: raw, ExpiresIn: expiresIn}, nil
}

func (a *Accounts) now() time.Time {
	if a.Now != nil {
		return a.Now().UTC()
	}
	return time.Now().UTC()
}

// StartSession starts a login for u in tx without a password check, for
// callers that proved who the user is another way (a one-time link from
// mail, an identity provider).
func (a *Accounts) StartSession(tx *gorm.DB, u *models.User) (*Session, error) {
	return a.startSession(tx, u, "")
}

// HashNewPassword checks a new password against the one rule and hashes it.
func (a *Accounts) HashNewPassword(ctx context.Context, password string) (string, error) {
	if !validPassword(password) {
		return "", fault.InvalidFields("the new password must be "+passwordRule, map[string]string{"new_password": passwordRule})
	}
	return a.Hasher.Hash(ctx, password)
}

// ReplacePassword stores hash as user id's password in tx and ends every
// login of the user (token version up, refresh tokens revoked).
func (a *Accounts) ReplacePassword(tx *gorm.DB, id uint, hash string) error {
	now := a.now()
	if err := tx.Model(&models.User{}).Where("id = ?", id).Updates(map[string]any{
		"password_hash": hash, "token_version": gorm.Expr("token_version + 1"), "updated_at": now,
	}).Error; err != nil {
		return err
	}
	return tx.Model(&models.RefreshToken{}).Where("user_id = ? AND revoked_at IS NULL", id).Update("revoked_at", now).Error
}

// UsernameFree reports whether name follows the username rule and is not
// reserved; whether it is taken is the database's to say.
func UsernameFree(name string) bool {
	return validUsername(name) && !names.Reserved(name)
}
