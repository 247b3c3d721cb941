package moderation

import (
	"context"
	"fmt"
	"slices"

	"gorm.io/gorm"

	"github.com/parley-comments/parley/models"
)

// SitesOf returns the sites a moderator is limited to (moderator_sites), nil
// when they moderate every site: admins always do, and so does a moderator
// without rows.
func (s *Service) SitesOf(ctx context.Context, u *models.User) ([]string, error) {
	if u == nil || u.Role == models.RoleAdmin {
		return nil, nil
	}
	var ids []string
	if err := s.Store.Read.WithContext(ctx).Model(&models.ModeratorSite{}).Where("user_id = ?", u.ID).Order("site_id").
		Pluck("site_id", &ids).Error; err != nil {
		return nil, fmt.Errorf("sites of moderator %d: %w", u.ID, models.MapError(err))
	}
	if len(ids) == 0 {
		return nil, nil
	}
	return ids, nil
}

// requireAllSites refuses what reaches every site (bans, which hold on all
// of them) to a moderator limited to some.
func (s *Service) requireAllSites(ctx context.Context, u *models.User) error {
	limited, err := s.SitesOf(ctx, u)
	if err != nil {
		return err
	}
	if limited != nil {
		return refusalf(ErrForbidden, "you moderate only some sites; a ban reaches them all")
	}
	return nil
}

// checkSites refuses, inside tx, an action on comments of a site the
// moderator does not cover.
func checkSites(tx *gorm.DB, limited []string, comments ...*models.Comment) error {
	if limited == nil || len(comments) == 0 {
		return nil
	}
	ids := make([]uint, 0, len(comments))
	for _, c := range comments {
		ids = append(ids, c.ArticleID)
	}
	var sites []string
	if err := tx.Model(&models.Article{}).Distinct("site_id").Where("id IN ?", ids).Pluck("site_id", &sites).Error; err != nil {
		return fmt.Errorf("sites of comments: %w", err)
	}
	for _, site := range sites {
		if !slices.Contains(limited, site) {
			return refusalf(ErrForbidden, "this comment is on a site you do not moderate")
		}
	}
	return nil
}

// checkCovers refuses a moderator's action on a comment of a site they do
// not moderate: editing or deleting someone else's words is moderation too.
func (s *Service) checkCovers(ctx context.Context, u *models.User, c *models.Comment) error {
	limited, err := s.SitesOf(ctx, u)
	if err != nil {
		return err
	}
	return checkSites(s.Store.Read.WithContext(ctx), limited, c)
}
