package auth

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"gorm.io/gorm"

	"github.com/parley-comments/parley/fault"
	"github.com/parley-comments/parley/models"
)

// Per-account login throttle. Per-address limits do not stop guesses spread
// over many addresses, so every password login also counts against the
// account it names: the first freeFailures failures cost nothing, each one
// after them locks password login for twice as long as the one before, up
// to maxLoginDelay. A success clears the count, and a day without failures
// forgets it. Only password login is held: refresh tokens (and other ways
// in) keep working, so a guesser can slow a user's sign-in, never end
// their sessions.
const (
	freeFailures  = 5
	firstDelay    = time.Second
	maxLoginDelay = 15 * time.Minute
	failureMemory = 24 * time.Hour
)

// ThrottledError refuses a login attempt made while its account's delay
// runs; the password was not checked. UserID is 0 for an unknown login.
type ThrottledError struct {
	UserID uint
	Wait   time.Duration
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("too many failed logins; try again in %v", e.Wait.Round(time.Second))
}

// Unwrap gives the client a 429 with this message and the wait.
func (e *ThrottledError) Unwrap() error {
	return &fault.Error{Code: fault.RateLimited, Message: e.Error(), RetryAfter: e.Wait}
}

// GuessingError is a wrong password that started or lengthened a delay: a
// sign of guessing, which the API logs. It matches ErrInvalidCredentials,
// and the client sees exactly that.
type GuessingError struct {
	UserID   uint
	Failures int
	Delay    time.Duration
}

func (e *GuessingError) Error() string {
	return fmt.Sprintf("failed login %d in a row; password login held for %v", e.Failures, e.Delay)
}

// Unwrap makes a GuessingError an ErrInvalidCredentials, for errors.Is and
// for what the client sees.
func (e *GuessingError) Unwrap() error { return ErrInvalidCredentials }

// loginDelay is how long password login is held after the nth failure in a row.
func loginDelay(failures int) time.Duration {
	if failures < freeFailures {
		return 0
	}
	if shift := failures - freeFailures; shift < 20 && firstDelay<<shift < maxLoginDelay {
		return firstDelay << shift
	}
	return maxLoginDelay
}

// throttleKey names whose failures a login counts: the account when it
// exists, else the login as typed (so unknown and known logins behave the
// same and the delay reveals nothing).
func throttleKey(u *models.User, login string) string {
	if u != nil {
		return "u:" + strconv.FormatUint(uint64(u.ID), 10)
	}
	return "n:" + login
}

// beginLogin counts an attempt on key as a failure before the password is
// checked, in one write: concurrent guesses cannot all slip in before the
// first of them is counted. A success calls clearLogin. It returns the
// failure count and the delay this attempt sets should it fail, or a
// ThrottledError while an earlier delay runs.
func beginLogin(tx *gorm.DB, key string, userID uint, now time.Time) (int, time.Duration, error) {
	var t models.LoginThrottle
	err := tx.Where("subject = ?", key).Take(&t).Error
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound):
		// Old rows go when new ones come, so unknown logins cannot pile up.
		if err := tx.Where("updated_at < ?", now.Add(-failureMemory)).Delete(&models.LoginThrottle{}).Error; err != nil {
			return 0, 0, err
		}
		t = models.LoginThrottle{Subject: key}
	case err != nil:
		return 0, 0, err
	case t.LockedUntil != nil && now.Before(*t.LockedUntil):
		return 0, 0, &ThrottledError{UserID: userID, Wait: t.LockedUntil.Sub(now)}
	case now.Sub(t.UpdatedAt) > failureMemory:
		t.Failures = 0
	}
	t.Failures++
	t.UpdatedAt = now
	t.LockedUntil = nil
	delay := loginDelay(t.Failures)
	if delay > 0 {
		until := now.Add(delay)
		t.LockedUntil = &until
	}
	return t.Failures, delay, tx.Save(&t).Error
}

// clearLogin forgets key's failures after a successful login.
func clearLogin(tx *gorm.DB, key string) error {
	return tx.Where("subject = ?", key).Delete(&models.LoginThrottle{}).Error
}
