package auth

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/parley-comments/parley/models"
	"github.com/parley-comments/parley/models/dbtest"
)

// The account tests run on SQLite, then on PostgreSQL.
func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

func newTestAccounts(t *testing.T) *Accounts {
	t.Helper()
	return &Accounts{Store: dbtest.Open(t), Hasher: NewHasher(TestParams), Tokens: newTestTokensNow(t)}
}

// newTestTokensNow issues tokens on the real clock, as Authenticate checks them.
func newTestTokensNow(t *testing.T) *Tokens {
	t.Helper()
	tk, err := NewTokens(testSecret, testIssuer, testAudience, testTTL, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func register(t *testing.T, a *Accounts, name string) *Session {
	t.Helper()
	s, err := a.Register(t.Context(), Registration{Username: name, Password: "correct horse battery", Email: name + "@example.com"})
	if err != nil {
		t.Fatalf("register %s: %v", name, err)
	}
	return s
}

// TestAuthenticateSeesEveryChange: whatever changes a user's row, the next
// Authenticate returns the row as it is now, however often the token was
// checked before (on SQLite the rows are cached between changes).
func TestAuthenticateSeesEveryChange(t *testing.T) {
	a := newTestAccounts(t)
	ctx := t.Context()
	sess := register(t, a, "reader")
	other := register(t, a, "bystander")
	id := sess.User.ID
	for range 3 {
		if _, err := a.Authenticate(ctx, sess.AccessToken); err != nil {
			t.Fatalf("a fresh token is refused: %v", err)
		}
	}
	until := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	changes := []struct {
		name   string
		change func() error
		check  func(u *models.User) error
	}{
		{"display name in WriteTx", func() error {
			return a.Store.WriteTx(ctx, func(tx *gorm.DB) error {
				return tx.Model(&models.User{}).Where("id = ?", id).Update("display_name", "Renamed").Error
			})
		}, func(u *models.User) error {
			if u.DisplayName != "Renamed" {
				return fmt.Errorf("display name %q", u.DisplayName)
			}
			return nil
		}},
		{"ban outside a transaction", func() error {
			return a.Store.Write.Exec("UPDATE users SET ban_kind = ?, banned_until = ? WHERE id = ?", models.BanNormal, until, id).Error
		}, func(u *models.User) error {
			if u.ActiveBan(time.Now()) != models.BanNormal {
				return fmt.Errorf("ban %q until %v", u.BanKind, u.BannedUntil)
			}
			return nil
		}},
		{"another user's change", func() error {
			return a.Store.WriteTx(ctx, func(tx *gorm.DB) error {
				return tx.Model(&models.User{}).Where("id = ?", other.User.ID).Update("display_name", "Other").Error
			})
		}, func(u *models.User) error {
			if u.DisplayName != "Renamed" || u.ActiveBan(time.Now()) != models.BanNormal {
				return fmt.Errorf("lost earlier changes: %+v", u)
			}
			return nil
		}},
	}
	for _, c := range changes {
		if err := c.change(); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		u, err := a.Authenticate(ctx, sess.AccessToken)
		if err != nil {
			t.Fatalf("after %s: %v", c.name, err)
		}
		if err := c.check(u); err != nil {
			t.Fatalf("after %s: stale row: %v", c.name, err)
		}
	}

	// A role change and a logout revoke the token at once.
	if err := a.Store.WriteTx(ctx, func(tx *gorm.DB) error {
		return tx.Model(&models.User{}).Where("id = ?", id).Update("role", models.RoleModerator).Error
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(ctx, sess.AccessToken); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("token still accepted after a role change: %v", err)
	}
	if _, err := a.Authenticate(ctx, other.AccessToken); err != nil {
		t.Fatalf("the bystander's token: %v", err)
	}
	if err := a.Logout(ctx, other.RefreshToken); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(ctx, other.AccessToken); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("token still accepted after logout: %v", err)
	}
}

// TestAuthenticateUnderConcurrentChanges: while readers check a token in a
// loop, each committed rename is seen by every check that starts after the
// commit returned.
func TestAuthenticateUnderConcurrentChanges(t *testing.T) {
	a := newTestAccounts(t)
	ctx := t.Context()
	sess := register(t, a, "busyreader")
	var committed atomic.Int64 // the last rename whose WriteTx returned
	stop := make(chan struct{})
	errs := make(chan error, 8)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				want := committed.Load()
				u, err := a.Authenticate(context.Background(), sess.AccessToken)
				if err != nil {
					errs <- err
					return
				}
				var got int64
				if want > 0 {
					if _, err := fmt.Sscanf(u.DisplayName, "name %d", &got); err != nil || got < want {
						errs <- fmt.Errorf("saw %q after rename %d had committed", u.DisplayName, want)
						return
					}
				}
			}
		}()
	}
	for i := int64(1); i <= 40; i++ {
		err := a.Store.WriteTx(ctx, func(tx *gorm.DB) error {
			return tx.Model(&models.User{}).Where("id = ?", sess.User.ID).Update("display_name", fmt.Sprintf("name %d", i)).Error
		})
		if err != nil {
			t.Fatal(err)
		}
		committed.Store(i)
		time.Sleep(time.Millisecond)
	}
	close(stop)
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
}
