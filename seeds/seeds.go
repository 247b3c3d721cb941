// Package seeds loads the demo data: the seed article and the admin account.
// Rows are looked up first, so applying the seeds again changes nothing.
package seeds

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/parley-comments/parley/auth"
	"github.com/parley-comments/parley/models"
)

// ArticleSlug is the seed article's slug.
const ArticleSlug = "putin-visits-pyongyang"

// articleTitle is written for the seed document, whose first line is a lead
// sentence rather than a headline.
const articleTitle = "Putin visits Pyongyang for the first time in 24 years"

//go:embed article.txt
var articleText string

// Options configure Apply.
type Options struct {
	// AdminPassword is the admin's password; empty means generate one and
	// log it once.
	AdminPassword string
	Hasher        *auth.Hasher
	Logger        *slog.Logger
	Now           func() time.Time
}

// Apply creates the seed article and the admin account if they are missing.
func Apply(ctx context.Context, s *models.Store, o Options) error {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if err := seedArticle(ctx, s, o.Now().UTC()); err != nil {
		return err
	}
	return seedAdmin(ctx, s, o)
}

// ArticleBody returns the seed article's paragraphs joined by blank lines,
// without the old blog's empty comment section that ends the document.
func ArticleBody() string {
	var paras []string
	for _, line := range strings.Split(articleText, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line == "0 Comments:" || line == "Post a Comment" {
			continue
		}
		paras = append(paras, line)
	}
	return strings.Join(paras, "\n\n")
}

func seedArticle(ctx context.Context, s *models.Store, now time.Time) error {
	return s.WriteTx(ctx, func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&models.Article{}).Where("site_id = ? AND slug = ?", models.DefaultSite, ArticleSlug).Count(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		a := models.Article{Slug: ArticleSlug, Title: articleTitle, Body: ArticleBody(), PublishedAt: now, ModerationMode: "post"}
		// DO NOTHING on a clash: an instance sharing the database may have
		// seeded it a moment ago.
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&a).Error; err != nil {
			return fmt.Errorf("seed article: %w", err)
		}
		return nil
	})
}

func seedAdmin(ctx context.Context, s *models.Store, o Options) error {
	var existing models.User
	err := s.Read.WithContext(ctx).Where("username_key = ?", "admin").First(&existing).Error
	if err == nil {
		return warnStalePassword(ctx, existing, o)
	}
	if !errors.Is(err, gorm.ErrRecordNotFound) {
		return fmt.Errorf("look up admin: %w", err)
	}
	password, generated := o.AdminPassword, false
	if password == "" {
		p, err := auth.NewSecret()
		if err != nil {
			return err
		}
		password, generated = p[:24], true
	}
	hash, err := o.Hasher.Hash(ctx, password)
	if err != nil {
		return err
	}
	created := false
	err = s.WriteTx(ctx, func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&models.User{}).Where("username_key = ?", "admin").Count(&n).Error; err != nil || n > 0 {
			return err
		}
		u := models.User{Username: "admin", UsernameKey: "admin", DisplayName: "Admin", PasswordHash: hash, Role: models.RoleAdmin, CreatedAt: o.Now().UTC()}
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&u)
		created = res.Error == nil && res.RowsAffected == 1
		return res.Error
	})
	if err != nil {
		return fmt.Errorf("seed admin: %w", err)
	}
	if created && generated {
		// Printed once, on the start that creates the account; it is not stored anywhere.
		o.Logger.Info("created the admin account; sign in as admin with this one-time password and change it", "password", password)
	}
	return nil
}

// warnStalePassword says so when PARLEY_ADMIN_PASSWORD no longer is the
// admin's password: it only sets the password of the account's first start,
// and an operator who changed it there expects it to take effect.
func warnStalePassword(ctx context.Context, admin models.User, o Options) error {
	if o.AdminPassword == "" {
		return nil
	}
	ok, _, err := o.Hasher.Verify(ctx, admin.PasswordHash, o.AdminPassword)
	if err != nil {
		return fmt.Errorf("check admin password: %w", err)
	}
	if !ok {
		o.Logger.Warn("PARLEY_ADMIN_PASSWORD is not the admin's password: it only sets the password when the account is created; " +
			"the admin account exists and keeps its password. Sign in with it, or run `parley admin reset-password admin`, and unset PARLEY_ADMIN_PASSWORD")
	}
	return nil
}
