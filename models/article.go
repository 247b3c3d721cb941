package models

import (
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Article is a blog post that comments attach to: a thread of a site, keyed
// by Slug within it (a slug, or a normalized page URL; see sites.NormalizeKey).
// URL is the page's address. CommentCount counts the comments visible to the
// public; Version changes on every write that can change what the article's
// thread shows, which is what read caches key on.
type Article struct {
	ID             uint   `gorm:"primaryKey"`
	SiteID         string `gorm:"size:64;not null;default:default;uniqueIndex:idx_articles_site_slug,priority:1"`
	Slug           string `gorm:"size:512;not null;uniqueIndex:idx_articles_site_slug,priority:2"`
	Title          string `gorm:"size:300;not null"`
	Body           string `gorm:"not null;default:''"`
	URL            string `gorm:"size:2048;not null;default:''"`
	PublishedAt    time.Time
	CommentsLocked bool   `gorm:"not null;default:false"`
	ModerationMode string `gorm:"size:8;not null;default:post"`
	CommentCount   int    `gorm:"not null;default:0"`
	Version        int64  `gorm:"not null;default:0"`
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// TouchArticle records that what an article's thread shows changed: its
// version, which read caches key on, goes up, and its public comment count
// moves by delta. Every write that changes a thread (a comment, a vote, a
// moderation decision, an edit or lock of the article) calls it in its own
// transaction, so no cache serves a page after the thread changed.
func TouchArticle(tx *gorm.DB, articleID uint, delta int) error {
	err := tx.Model(&Article{}).Where("id = ?", articleID).Updates(map[string]any{
		"comment_count": gorm.Expr("comment_count + ?", delta),
		"version":       gorm.Expr("version + 1"),
	}).Error
	if err != nil {
		return fmt.Errorf("touch article %d: %w", articleID, err)
	}
	return nil
}
