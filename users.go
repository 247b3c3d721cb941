package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/parley-comments/parley/auth"
	"github.com/parley-comments/parley/migrations"
	"github.com/parley-comments/parley/models"
)

// withAccounts opens the store as serve does (on SQLite that takes the data
// dir's lock: the server keeps a cache of users that a write from another
// process would leave stale, so it must be stopped first), applies pending
// migrations and hands fn the accounts.
func withAccounts(c *cli, fn func(ctx context.Context, a *auth.Accounts) error) error {
	cfg, _, err := c.config()
	if err != nil {
		return err
	}
	store, closeStore, err := openStore(cfg)
	if err != nil {
		return err
	}
	defer closeStore()
	if err := migrations.Up(store.Write); err != nil {
		return err
	}
	return fn(context.Background(), &auth.Accounts{Store: store, Hasher: auth.NewHasher(auth.DefaultParams)})
}

// parley admin reset-password USERNAME
func runResetPassword(c *cli, args []string) error {
	pos, err := parseArgs(flag.NewFlagSet("admin reset-password", flag.ContinueOnError), args, 1)
	if err != nil {
		return err
	}
	return withAccounts(c, func(ctx context.Context, a *auth.Accounts) error {
		password, err := a.ResetPassword(ctx, pos[0])
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "new one-time password for %s: %s\nall of %s's logins have ended; sign in with it and change it\n", pos[0], password, pos[0])
		return nil
	})
}

// parley user create --role ROLE USERNAME
func runCreateUser(c *cli, args []string) error {
	fs := flag.NewFlagSet("user create", flag.ContinueOnError)
	role := fs.String("role", "", "user, moderator or admin")
	pos, err := parseArgs(fs, args, 1)
	if err != nil {
		return err
	}
	switch *role {
	case models.RoleUser, models.RoleModerator, models.RoleAdmin:
	case "":
		return usagef("--role is required")
	default:
		return usagef("--role %q: want user, moderator or admin", *role)
	}
	return withAccounts(c, func(ctx context.Context, a *auth.Accounts) error {
		u, password, err := a.CreateAccount(ctx, pos[0], *role)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "created %s %s (id %d); one-time password: %s\n", u.Role, u.Username, u.ID, password)
		return nil
	})
}
