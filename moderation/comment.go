package moderation

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/parley-comments/parley/events"
	"github.com/parley-comments/parley/markup"
	"github.com/parley-comments/parley/models"
)

// hashBody is what duplicate detection compares: the body's look-alike
// skeleton without punctuation or spacing (markup.MatchKey), so that a
// trailing "!" or one Cyrillic letter does not make a spam run new.
func hashBody(body string) string {
	sum := sha256.Sum256([]byte(markup.MatchKey(body)))
	return hex.EncodeToString(sum[:16])
}

// HashBody is the duplicate-detection hash stored with each comment, for
// writers outside this package (the importer).
func HashBody(body string) string { return hashBody(body) }

// render renders a clean body, refusing one that would show no text: a
// comment of only an image, an empty link or a rule would publish as an
// empty box.
func render(body string) (markup.Rendered, error) {
	r := markup.Render(body)
	if !r.Visible {
		return r, invalid("your comment shows no text; write something readers can see",
			map[string]string{"body": "no visible text"})
	}
	return r, nil
}

func cleanBody(raw string, maxChars int) (string, error) {
	body, err := markup.CleanBody(raw)
	if err != nil {
		return "", invalid("body "+err.Error(), map[string]string{"body": err.Error()})
	}
	body = strings.TrimSpace(body)
	switch {
	case body == "":
		return "", invalid("body must not be empty", map[string]string{"body": "required"})
	case utf8.RuneCountInString(body) > maxChars:
		return "", invalid(fmt.Sprintf("body is longer than %d characters", maxChars), map[string]string{"body": "too long"})
	}
	return body, nil
}

// Get returns a comment that viewer may see: public ones to everyone,
// others only to their author and moderators.
func (s *Service) Get(ctx context.Context, id uint, viewer *models.User) (*models.Comment, error) {
	var c models.Comment
	if err := s.Store.Read.WithContext(ctx).Take(&c, id).Error; err != nil {
		return nil, fmt.Errorf("comment %d: %w", id, models.MapError(err))
	}
	if !CanSee(&c, viewer) {
		return nil, fmt.Errorf("comment %d: %w", id, models.ErrNotFound)
	}
	return &c, nil
}

// CanSee reports whether viewer may see the comment.
func CanSee(c *models.Comment, viewer *models.User) bool {
	if models.IsPublic(c.Status) && !c.Shadow {
		return true
	}
	if viewer == nil {
		return false
	}
	return viewer.IsModerator() || c.AuthorID != nil && *c.AuthorID == viewer.ID && c.Status == models.StatusPending
}

func splitHolds(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, ",")
}

func (s *Service) articleByID(ctx context.Context, id uint) (*models.Article, error) {
	var a models.Article
	if err := s.Store.Read.WithContext(ctx).Take(&a, id).Error; err != nil {
		return nil, fmt.Errorf("article %d: %w", id, models.MapError(err))
	}
	return &a, nil
}

// Delete removes a comment for its author or a moderator. A comment with
// replies stays as a tombstone (no body, no author) so the thread keeps its
// shape; one without replies is removed with its votes and flags.
func (s *Service) Delete(ctx context.Context, id uint, by *models.User) error {
	c, err := s.Get(ctx, id, by)
	if err != nil {
		return err
	}
	own := c.AuthorID != nil && *c.AuthorID == by.ID
	if !own && !by.IsModerator() {
		return ErrForbidden
	}
	if err := checkOutranks(s.Store.Read.WithContext(ctx), by, c); err != nil {
		return err
	}
	if !own {
		if err := s.checkCovers(ctx, by, c); err != nil {
			return err
		}
	}
	if c.Status == models.StatusDeleted {
		return fmt.Errorf("delete comment %d: %w", id, models.ErrNotFound)
	}
	now := s.Now()
	return s.Store.WriteTx(ctx, func(tx *gorm.DB) error {
		var replies int64
		if err := tx.Model(&models.Comment{}).Where("parent_id = ?", c.ID).Count(&replies).Error; err != nil {
			return err
		}
		from, to := c.Status, "" // "": the row is gone
		if replies == 0 {
			res := tx.Where("id = ? AND status = ?", c.ID, c.Status).Delete(&models.Comment{})
			if res.Error != nil {
				return res.Error
			}
			if res.RowsAffected == 0 {
				return ErrConflict
			}
		} else {
			to = models.StatusDeleted
			if err := tx.Model(&models.Comment{}).Where("id = ?", c.ID).Updates(map[string]any{
				"body": "", "body_html": "", "author_id": nil, "guest_name": "", "guest_email": "", "ip": "",
			}).Error; err != nil {
				return err
			}
			if err := setStatus(tx, c, models.StatusDeleted, nil, now); err != nil {
				return err
			}
		}
		// Recounted when the public thread changed: a public comment went,
		// or a tombstone (public) took a comment's place, which shows the
		// replies of one that was hidden.
		public := showsDifferently(from, to)
		if public {
			if err := recount(tx, c.ArticleID); err != nil {
				return err
			}
		}
		if !own {
			if err := audit(tx, now, by.ID, "delete", "comment", c.ID, ""); err != nil {
				return err
			}
		}
		return record(tx, now, events.CommentDeleted, c, public)
	})
}
