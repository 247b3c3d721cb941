package migrations

import (
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// sites lets one server carry many blogs. A site has an id (used in URLs and
// the embed code), a name, the origins its pages live on, whether its threads
// may be created by a first comment, whether query strings are part of its
// thread keys, and optional moderation rules of its own (empty: the global
// ones). Every article belongs to a site, existing ones to "default", and
// its key is unique within the site, up to 512 bytes (a normalized page URL).
//
// articles.site_id carries no foreign key: SQLite adds a column with a
// REFERENCES clause only with a NULL default, and rebuilding articles would
// cascade into every comment. The code that deletes a site refuses while
// articles remain. moderator_sites limits a moderator to the listed sites; a
// moderator without rows covers every site.
func sites(tx *gorm.DB) error {
	type user struct {
		ID uint `gorm:"primaryKey"`
	}
	type site struct {
		ID          string `gorm:"primaryKey;size:64"`
		Name        string `gorm:"size:100;not null"`
		Origins     string `gorm:"not null;default:'[]'"` // a JSON array of origins
		AutoThreads bool   `gorm:"not null;default:true"`
		KeepQuery   bool   `gorm:"not null;default:false"`
		Rules       string `gorm:"not null;default:''"` // a JSON rules document; empty: the global rules
		CreatedAt   time.Time
		UpdatedAt   time.Time
	}
	type moderatorSite struct {
		UserID uint   `gorm:"primaryKey;autoIncrement:false"`
		User   *user  `gorm:"constraint:OnDelete:CASCADE"`
		SiteID string `gorm:"primaryKey;size:64;index:idx_moderator_sites_site"`
		Site   *site  `gorm:"constraint:OnDelete:CASCADE"`
	}
	m := tx.Migrator()
	if err := m.CreateTable(&site{}); err != nil {
		return err
	}
	if err := m.CreateTable(&moderatorSite{}); err != nil {
		return err
	}
	now := time.Now().UTC()
	if err := tx.Create(&site{ID: "default", Name: "Default", Origins: "[]", AutoThreads: true, CreatedAt: now, UpdatedAt: now}).Error; err != nil {
		return err
	}
	ddl := []string{
		"ALTER TABLE articles ADD COLUMN site_id varchar(64) NOT NULL DEFAULT 'default'",
		"DROP INDEX idx_articles_slug",
		"CREATE UNIQUE INDEX idx_articles_site_slug ON articles (site_id, slug)",
	}
	if tx.Dialector.Name() == "postgres" {
		// SQLite does not enforce declared lengths; PostgreSQL does.
		ddl = append(ddl, "ALTER TABLE articles ALTER COLUMN slug TYPE varchar(512)")
	}
	for _, q := range ddl {
		if err := tx.Exec(q).Error; err != nil {
			return fmt.Errorf("%s: %w", strings.Join(strings.Fields(q)[:3], " "), err)
		}
	}
	return nil
}

// sitesListing lets a site's articles be listed newest first from an index
// of their own: idx_articles_published orders every site's articles, and a
// small site among large ones would be found only by walking past theirs.
func sitesListing(tx *gorm.DB) error {
	return tx.Exec("CREATE INDEX idx_articles_site_published ON articles (site_id, published_at, id)").Error
}
