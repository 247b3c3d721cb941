// Package names decides which names a person may show: usernames kept for
// the service, and display or guest names that would pass for someone
// else's. Names are compared on their look-alike skeleton (Unicode TR39,
// see markup.Skeleton), so "Аdmin" in Cyrillic, full-width "ａｄｍｉｎ" and
// "ad\u200Bmin" all count as "admin".
package names

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"gorm.io/gorm"

	"github.com/parley-comments/parley/markup"
	"github.com/parley-comments/parley/models"
)

// posing are names that would let anyone pose as staff, as the service or
// as what the widget shows for a deleted comment: neither usernames nor
// display or guest names may look like them.
var posing = []string{
	"admin", "administrator", "moderator", "mod", "parley", "root", "system", "staff", "support",
	"official", "security", "webmaster", "postmaster", "deleted", "anonymous",
}

// reservedOnly are kept from usernames too, but are harmless to show ("Guest").
var reservedOnly = []string{"guest", "null", "undefined", "api", "www"}

var (
	posingSkeletons   = skeletons(posing)
	reservedSkeletons = skeletons(append(append([]string{}, posing...), reservedOnly...))
)

func skeletons(names []string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[markup.Skeleton(n)] = true
	}
	return m
}

// Reserved reports whether a username is kept for the service: one of the
// reserved names, or one starting with "admin" or "moderator".
func Reserved(username string) bool {
	key := strings.ToLower(username)
	return reservedSkeletons[markup.Skeleton(key)] || strings.HasPrefix(key, "admin") || strings.HasPrefix(key, "moderator")
}

// ErrLookalike is Check's refusal: the name passes for a reserved name, a
// staff member or another user.
var ErrLookalike = errors.New("looks like a reserved name, a staff member's name or another user's username")

// Check refuses a display or guest name whose skeleton matches a reserved
// name, a moderator's or admin's username or display name, or another
// user's username. own is the username of the person choosing the name (""
// for a guest): what they pass for by their own username is theirs.
func Check(ctx context.Context, db *gorm.DB, name, own string) error {
	sk := markup.Skeleton(name)
	if sk == "" {
		return nil
	}
	if posingSkeletons[sk] && (own == "" || sk != markup.Skeleton(own)) {
		return ErrLookalike
	}
	var staff []struct{ Username, DisplayName string }
	err := db.WithContext(ctx).Model(&models.User{}).Select("username", "display_name").
		Where("role IN ?", []string{models.RoleModerator, models.RoleAdmin}).Find(&staff).Error
	if err != nil {
		return fmt.Errorf("check name: %w", models.MapError(err))
	}
	for _, s := range staff {
		if !strings.EqualFold(s.Username, own) && (markup.Skeleton(s.Username) == sk || markup.Skeleton(s.DisplayName) == sk) {
			return ErrLookalike
		}
	}
	var n int64
	err = db.WithContext(ctx).Model(&models.User{}).Where("username_skeleton = ? AND username_key <> ?", sk, strings.ToLower(own)).Count(&n).Error
	if err != nil {
		return fmt.Errorf("check name: %w", models.MapError(err))
	}
	if n > 0 {
		return ErrLookalike
	}
	return nil
}
