// Package feeds builds Atom feeds (RFC 4287) of approved comments: a
// thread's, a site's latest, and the replies to one user (behind a private,
// revocable URL).
package feeds

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/parley-comments/parley/models"
)

// Size is how many comments a feed carries, newest first.
const Size = 50

// Entry is one comment in a feed, with its article.
type Entry struct {
	ID           uint
	BodyHTML     string
	CreatedAt    time.Time
	EditedAt     *time.Time
	Author       string
	ArticleTitle string
	ArticleURL   string
	ArticleSlug  string
	SiteID       string
}

// atom is the document; field order follows RFC 4287's examples.
type atom struct {
	XMLName xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	ID      string      `xml:"id"`
	Title   string      `xml:"title"`
	Updated string      `xml:"updated"`
	Links   []atomLink  `xml:"link"`
	Author  atomPerson  `xml:"author"`
	Entries []atomEntry `xml:"entry"`
}

type atomLink struct {
	Rel  string `xml:"rel,attr,omitempty"`
	Type string `xml:"type,attr,omitempty"`
	Href string `xml:"href,attr"`
}

type atomPerson struct {
	Name string `xml:"name"`
}

type atomEntry struct {
	ID        string     `xml:"id"`
	Title     string     `xml:"title"`
	Updated   string     `xml:"updated"`
	Published string     `xml:"published"`
	Author    atomPerson `xml:"author"`
	Link      atomLink   `xml:"link"`
	Content   atomText   `xml:"content"`
}

type atomText struct {
	Type string `xml:"type,attr"`
	Body string `xml:",chardata"`
}

// Feed describes a feed: its title, its own URL (also its id) and the page
// it is about.
type Feed struct {
	Title string
	Self  string
	Page  string
}

// Render writes the feed as Atom. Comment bodies are the stored, sanitized
// HTML, escaped as text of a type="html" content element.
func Render(f Feed, entries []Entry, now time.Time) ([]byte, error) {
	doc := atom{ID: f.Self, Title: f.Title, Updated: stamp(now), Author: atomPerson{Name: "Parley"},
		Links: []atomLink{{Rel: "self", Type: "application/atom+xml", Href: f.Self}}}
	if f.Page != "" {
		doc.Links = append(doc.Links, atomLink{Rel: "alternate", Type: "text/html", Href: f.Page})
	}
	if len(entries) > 0 {
		doc.Updated = stamp(latest(entries[0]))
	}
	for _, e := range entries {
		link := e.ArticleURL + "#parley-comment-" + fmt.Sprint(e.ID)
		doc.Entries = append(doc.Entries, atomEntry{
			ID:        fmt.Sprintf("%s#comment-%d", f.Self, e.ID),
			Title:     fmt.Sprintf("%s on %s", e.Author, e.ArticleTitle),
			Updated:   stamp(latest(e)),
			Published: stamp(e.CreatedAt),
			Author:    atomPerson{Name: e.Author},
			Link:      atomLink{Rel: "alternate", Type: "text/html", Href: link},
			Content:   atomText{Type: "html", Body: e.BodyHTML},
		})
	}
	out, err := xml.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, err
	}
	return append([]byte(xml.Header), out...), nil
}

func latest(e Entry) time.Time {
	if e.EditedAt != nil && e.EditedAt.After(e.CreatedAt) {
		return *e.EditedAt
	}
	return e.CreatedAt
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// entries reads approved, unshadowed comments matching where, newest first.
func entries(ctx context.Context, db *gorm.DB, where string, args ...any) ([]Entry, error) {
	var rows []struct {
		ID          uint
		BodyHTML    string
		CreatedAt   time.Time
		EditedAt    *time.Time
		GuestName   string
		Username    *string
		DisplayName *string
		Title       string
		URL         string
		Slug        string
		SiteID      string
	}
	err := db.WithContext(ctx).Table("comments c").
		Select("c.id, c.body_html, c.created_at, c.edited_at, c.guest_name, u.username, u.display_name, a.title, a.url, a.slug, a.site_id").
		Joins("JOIN articles a ON a.id = c.article_id").
		Joins("LEFT JOIN users u ON u.id = c.author_id").
		Where("c.status = ? AND NOT c.shadow", models.StatusApproved).
		Where(where, args...).
		Order("c.created_at DESC, c.id DESC").Limit(Size).Scan(&rows).Error
	if err != nil {
		return nil, models.MapError(err)
	}
	out := make([]Entry, len(rows))
	for i, r := range rows {
		name := r.GuestName
		if r.Username != nil {
			name = *r.Username
			if r.DisplayName != nil && *r.DisplayName != "" {
				name = *r.DisplayName
			}
		}
		out[i] = Entry{ID: r.ID, BodyHTML: r.BodyHTML, CreatedAt: r.CreatedAt, EditedAt: r.EditedAt, Author: name,
			ArticleTitle: r.Title, ArticleURL: r.URL, ArticleSlug: r.Slug, SiteID: r.SiteID}
	}
	return out, nil
}

// Thread returns the latest approved comments of an article.
func Thread(ctx context.Context, db *gorm.DB, articleID uint) ([]Entry, error) {
	return entries(ctx, db, "c.article_id = ?", articleID)
}

// Site returns the latest approved comments of a site's articles.
func Site(ctx context.Context, db *gorm.DB, siteID string) ([]Entry, error) {
	return entries(ctx, db, "a.site_id = ?", siteID)
}

// Replies returns the latest approved replies to a user's comments, not
// counting their own.
func Replies(ctx context.Context, db *gorm.DB, userID uint) ([]Entry, error) {
	return entries(ctx, db, "c.parent_id IN (SELECT p.id FROM comments p WHERE p.author_id = ?) AND (c.author_id IS NULL OR c.author_id <> ?)", userID, userID)
}

// NewToken makes (or replaces, revoking the old) the private token of a
// user's replies feed. Only its SHA-256 is stored.
func NewToken(ctx context.Context, store *models.Store, userID uint, now time.Time) (string, error) {
	b := make([]byte, 24)
	rand.Read(b)
	token := hex.EncodeToString(b)
	err := store.WriteTx(ctx, func(tx *gorm.DB) error {
		if err := tx.Where("user_id = ?", userID).Delete(&models.FeedToken{}).Error; err != nil {
			return err
		}
		return tx.Create(&models.FeedToken{UserID: userID, TokenHash: hash(token), CreatedAt: now}).Error
	})
	return token, err
}

// RevokeToken ends a user's replies feed URL.
func RevokeToken(ctx context.Context, store *models.Store, userID uint) error {
	return store.WriteTx(ctx, func(tx *gorm.DB) error {
		return tx.Where("user_id = ?", userID).Delete(&models.FeedToken{}).Error
	})
}

// TokenUser returns the user a feed token belongs to, or models.ErrNotFound.
func TokenUser(ctx context.Context, db *gorm.DB, token string) (uint, error) {
	if len(token) != 48 || strings.Trim(token, "0123456789abcdef") != "" {
		return 0, models.ErrNotFound
	}
	var t models.FeedToken
	if err := db.WithContext(ctx).Where("token_hash = ?", hash(token)).Take(&t).Error; err != nil {
		return 0, models.MapError(err)
	}
	return t.UserID, nil
}

func hash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
