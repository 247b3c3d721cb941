package sites

import (
	"context"
	"fmt"
	"slices"

	"gorm.io/gorm"

	"github.com/parley-comments/parley/fault"
	"github.com/parley-comments/parley/models"
)

// ModeratedBy returns the sites a moderator is limited to, in id order;
// none means every site.
func ModeratedBy(ctx context.Context, db *gorm.DB, userID uint) ([]string, error) {
	ids := []string{}
	if err := db.WithContext(ctx).Model(&models.ModeratorSite{}).Where("user_id = ?", userID).Order("site_id").Pluck("site_id", &ids).Error; err != nil {
		return nil, fmt.Errorf("sites of moderator %d: %w", userID, models.MapError(err))
	}
	return ids, nil
}

// SetModeratedBy limits a user to the given sites (none: every site). Each
// must exist; the user must exist.
func SetModeratedBy(ctx context.Context, st *models.Store, userID uint, siteIDs []string) ([]string, error) {
	ids := make([]string, 0, len(siteIDs))
	for _, id := range siteIDs {
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	err := st.WriteTx(ctx, func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&models.User{}).Where("id = ?", userID).Count(&n).Error; err != nil {
			return err
		}
		if n == 0 {
			return models.ErrNotFound
		}
		if len(ids) > 0 {
			if err := tx.Model(&models.Site{}).Where("id IN ?", ids).Count(&n).Error; err != nil {
				return err
			}
			if int(n) != len(ids) {
				return &fault.Error{Code: fault.Invalid, Message: "sites must name existing sites", Fields: map[string]string{"sites": "unknown site"}}
			}
		}
		if err := tx.Where("user_id = ?", userID).Delete(&models.ModeratorSite{}).Error; err != nil {
			return err
		}
		for _, id := range ids {
			if err := tx.Create(&models.ModeratorSite{UserID: userID, SiteID: id}).Error; err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("set sites of moderator %d: %w", userID, models.MapError(err))
	}
	slices.Sort(ids)
	return ids, nil
}
