package moderation

import (
	"context"
	"fmt"

	"gorm.io/gorm"

	"github.com/parley-comments/parley/models"
)

// DeletedAuthor is the name a kept comment shows once its author deleted
// their account.
const DeletedAuthor = "deleted user"

// EraseUser deletes an account at its owner's request. Their comments are
// either kept, signed DeletedAuthor, or removed as the author would delete
// them one by one (a comment with replies stays as a tombstone). Their
// votes leave the scores; flags, logins, links and identities go with the
// account. The audit log keeps what the user did as a moderator.
func (s *Service) EraseUser(ctx context.Context, userID uint, removeComments bool) error {
	return s.Store.WriteTx(ctx, func(tx *gorm.DB) error {
		var touched []uint
		var votes []models.Vote
		if err := tx.Where("user_id = ?", userID).Find(&votes).Error; err != nil {
			return err
		}
		for _, v := range votes {
			if err := tx.Model(&models.Comment{}).Where("id = ?", v.CommentID).Update("score", gorm.Expr("score - ?", v.Value)).Error; err != nil {
				return err
			}
			touched = append(touched, v.ArticleID)
		}
		var own []models.Comment
		// Newest first: a reply goes before the comment it answers, which
		// then may have no replies left and go too.
		if err := tx.Where("author_id = ?", userID).Order("id DESC").Find(&own).Error; err != nil {
			return err
		}
		for _, c := range own {
			touched = append(touched, c.ArticleID)
			if !removeComments {
				continue
			}
			var replies int64
			if err := tx.Model(&models.Comment{}).Where("parent_id = ?", c.ID).Count(&replies).Error; err != nil {
				return err
			}
			if replies == 0 {
				if err := tx.Delete(&models.Comment{}, c.ID).Error; err != nil {
					return err
				}
				continue
			}
			if err := tx.Model(&models.Comment{}).Where("id = ?", c.ID).Updates(map[string]any{
				"body": "", "body_html": "", "author_id": nil, "guest_name": "", "guest_email": "", "ip": "",
			}).Error; err != nil {
				return err
			}
			if c.Status != models.StatusDeleted {
				if err := setStatus(tx, &c, models.StatusDeleted, nil, s.Now()); err != nil {
					return err
				}
			}
		}
		if !removeComments {
			if err := tx.Model(&models.Comment{}).Where("author_id = ?", userID).Updates(map[string]any{
				"author_id": nil, "guest_name": DeletedAuthor, "guest_email": "", "ip": "",
			}).Error; err != nil {
				return err
			}
		}
		res := tx.Delete(&models.User{}, userID)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("user %d: %w", userID, models.ErrNotFound)
		}
		return recount(tx, touched...)
	})
}
