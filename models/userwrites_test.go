package models_test

import (
	"testing"

	"gorm.io/gorm"

	"github.com/parley-comments/parley/models"
	"github.com/parley-comments/parley/models/dbtest"
)

// TestUserWritesCounts: UserWrites moves on every kind of write to users,
// and only then.
func TestUserWritesCounts(t *testing.T) {
	s := dbtest.Open(t)
	if dbtest.Backend() == "postgres" {
		if _, ok := s.UserWrites(); ok {
			t.Fatal("UserWrites claims to know every write on PostgreSQL")
		}
		return
	}
	ctx := t.Context()
	u := models.User{Username: "counted", UsernameKey: "counted", PasswordHash: "x"}
	last, _ := s.UserWrites()
	for _, tc := range []struct {
		name   string
		do     func() error
		counts bool
	}{
		{"create in WriteTx", func() error {
			return s.WriteTx(ctx, func(tx *gorm.DB) error { return tx.Create(&u).Error })
		}, true},
		{"update in WriteTx", func() error {
			return s.WriteTx(ctx, func(tx *gorm.DB) error {
				return tx.Model(&models.User{}).Where("id = ?", u.ID).Update("role", models.RoleModerator).Error
			})
		}, true},
		{"raw Exec", func() error {
			return s.Write.Exec("UPDATE users SET token_version = token_version + 1 WHERE id = ?", u.ID).Error
		}, true},
		{"rolled back", func() error {
			s.WriteTx(ctx, func(tx *gorm.DB) error {
				tx.Model(&models.User{}).Where("id = ?", u.ID).Update("display_name", "never")
				return gorm.ErrInvalidData
			})
			return nil
		}, true},
		{"an article", func() error {
			return s.WriteTx(ctx, func(tx *gorm.DB) error {
				return tx.Create(&models.Article{Slug: "a", Title: "A"}).Error
			})
		}, false},
		{"a read of users", func() error { var n int64; return s.Read.Model(&models.User{}).Count(&n).Error }, false},
		{"a read of users in WriteTx", func() error {
			return s.WriteTx(ctx, func(tx *gorm.DB) error { var v models.User; return tx.First(&v, u.ID).Error })
		}, false},
	} {
		if err := tc.do(); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		now, _ := s.UserWrites()
		if (now > last) != tc.counts {
			t.Fatalf("%s: UserWrites went from %d to %d; want a change: %v", tc.name, last, now, tc.counts)
		}
		last = now
	}
}
