package auth

import (
	"errors"
	"testing"

	"github.com/parley-comments/parley/fault"
	"github.com/parley-comments/parley/models"
)

// TestAccounts_ResetPassword: the new password works, the old one does not,
// and every login the user had ends, access and refresh tokens alike.
func TestAccounts_ResetPassword(t *testing.T) {
	a := newTestAccounts(t)
	ctx := t.Context()
	sess := register(t, a, "forgetful")
	bystander := register(t, a, "bystander")

	password, err := a.ResetPassword(ctx, "FORGETFUL") // usernames are case-insensitive
	if err != nil {
		t.Fatal(err)
	}
	if len(password) < 16 {
		t.Fatalf("new password %q is too short to be random enough", password)
	}
	if _, err := a.Login(ctx, "forgetful", "correct horse battery"); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("old password: err = %v, want invalid credentials", err)
	}
	if _, err := a.Login(ctx, "forgetful", password); err != nil {
		t.Fatalf("new password refused: %v", err)
	}
	if _, err := a.Authenticate(ctx, sess.AccessToken); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("access token from before the reset: err = %v, want invalid token", err)
	}
	if _, err := a.Refresh(ctx, sess.RefreshToken); !errors.Is(err, ErrInvalidRefresh) {
		t.Fatalf("refresh token from before the reset: err = %v, want invalid refresh", err)
	}
	if _, err := a.Authenticate(ctx, bystander.AccessToken); err != nil {
		t.Fatalf("another user's login ended too: %v", err)
	}
	if _, err := a.ResetPassword(ctx, "nobody"); !errors.Is(err, ErrNoSuchUser) {
		t.Fatalf("unknown user: err = %v, want ErrNoSuchUser", err)
	}
}

func TestAccounts_CreateAccount(t *testing.T) {
	a := newTestAccounts(t)
	ctx := t.Context()
	for _, role := range Roles {
		name := "staff-" + role
		u, password, err := a.CreateAccount(ctx, name, role)
		if err != nil {
			t.Fatalf("%s: %v", role, err)
		}
		s, err := a.Login(ctx, name, password)
		if err != nil {
			t.Fatalf("%s: the printed password does not sign in: %v", role, err)
		}
		if s.User.ID != u.ID || s.User.Role != role {
			t.Fatalf("signed in as %d with role %q, want %d with %q", s.User.ID, s.User.Role, u.ID, role)
		}
	}
	if _, _, err := a.CreateAccount(ctx, "moderator", models.RoleModerator); err != nil {
		t.Fatalf("the operator may use a name reserved from readers: %v", err)
	}
	if _, _, err := a.CreateAccount(ctx, "Staff-User", models.RoleUser); !errors.Is(err, ErrTaken) {
		t.Fatalf("taken name (other case): err = %v, want ErrTaken", err)
	}
	var invalid *fault.Error
	for name, in := range map[string][2]string{
		"bad role":     {"someone", "owner"},
		"bad username": {"no spaces", models.RoleUser},
		"too short":    {"ab", models.RoleUser},
	} {
		if _, _, err := a.CreateAccount(ctx, in[0], in[1]); !errors.As(err, &invalid) {
			t.Fatalf("%s: err = %v, want a validation error", name, err)
		}
	}
}
