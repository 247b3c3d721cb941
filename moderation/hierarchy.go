package moderation

import (
	"fmt"

	"gorm.io/gorm"

	"github.com/parley-comments/parley/models"
)

// The hierarchy. Admins act on everyone's comments. Moderators act on
// users' and moderators' comments, never on an admin's: they cannot edit,
// delete, approve, reject, mark as spam or restore them, alone or in bulk
// (a moderator account taken over must not be able to rewrite or bury what
// the site's owners said). Bans follow the same order (see Ban): admins
// cannot be banned, and only admins ban moderators. Everyone acts on their
// own comments as the rules allow.
var errOutranked = refusalf(ErrForbidden, "moderators do not act on an admin's comments")

// checkOutranks refuses when actor, not an admin, acts on a comment by an
// admin other than themselves.
func checkOutranks(tx *gorm.DB, actor *models.User, comments ...*models.Comment) error {
	if actor.Role == models.RoleAdmin {
		return nil
	}
	var authors []uint
	for _, c := range comments {
		if c.AuthorID != nil && *c.AuthorID != actor.ID {
			authors = append(authors, *c.AuthorID)
		}
	}
	if len(authors) == 0 {
		return nil
	}
	var admins int64
	if err := tx.Model(&models.User{}).Where("id IN ? AND role = ?", authors, models.RoleAdmin).Count(&admins).Error; err != nil {
		return fmt.Errorf("check authors' roles: %w", models.MapError(err))
	}
	if admins > 0 {
		return errOutranked
	}
	return nil
}
