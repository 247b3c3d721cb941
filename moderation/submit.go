package moderation

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parley-comments/parley/events"
	"github.com/parley-comments/parley/markup"
	"github.com/parley-comments/parley/models"
	"github.com/parley-comments/parley/names"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Guest describes a comment posted without an account.
type Guest struct {
	Name  string
	Email string
}

// Submission is a new comment as the API received it.
type Submission struct {
	Site     string       // the article's site; empty for the default site
	Slug     string       // the article's key within its site
	Author   *models.User // nil for a guest
	Guest    *Guest
	Body     string
	ParentID *uint
	IP       string
	// Open, when set, creates the article if the site has none under Slug
	// yet, in the comment's transaction: a refused comment leaves no thread.
	Open *Opening
}

// Opening is the thread a first comment creates for a page that has none.
// Whoever sets it has checked that the site lets this page open one.
type Opening struct {
	Title string
	URL   string
}

// Submit validates, decides on and stores a new comment.
func (s *Service) Submit(ctx context.Context, in Submission) (*models.Comment, error) {
	site := cmp.Or(in.Site, models.DefaultSite)
	rules, matcher, err := s.siteRulesAndMatcher(ctx, site)
	if err != nil {
		return nil, err
	}
	body, err := cleanBody(in.Body, rules.MaxBodyChars)
	if err != nil {
		return nil, err
	}
	var guestName, guestEmail string
	if in.Author == nil {
		if in.Guest == nil {
			return nil, ErrGuestsDisabled
		}
		if guestName, guestEmail, err = cleanGuest(*in.Guest); err != nil {
			return nil, err
		}
		if err := names.Check(ctx, s.Store.Read, guestName, ""); errors.Is(err, names.ErrLookalike) {
			return nil, invalid("the guest name "+err.Error(), map[string]string{"guest_name": err.Error()})
		} else if err != nil {
			return nil, err
		}
	}
	now := s.Now()
	article, err := s.articleBySlug(ctx, site, in.Slug)
	if errors.Is(err, models.ErrNotFound) && in.Open != nil {
		article, err = &models.Article{SiteID: site, Slug: in.Slug, Title: in.Open.Title, URL: in.Open.URL,
			PublishedAt: now, ModerationMode: "post", CreatedAt: now, UpdatedAt: now}, nil
	}
	if err != nil {
		return nil, err
	}
	c := &models.Comment{ArticleID: article.ID, GuestName: guestName, GuestEmail: guestEmail, IP: in.IP,
		Body: body, BodyHash: hashBody(body), RenderVersion: markup.Version, CreatedAt: now, UpdatedAt: now}
	if in.ParentID != nil {
		if err := s.attach(ctx, c, *in.ParentID); err != nil {
			return nil, err
		}
	}
	rendered, err := render(body)
	if err != nil {
		return nil, err
	}
	c.BodyHTML = rendered.HTML

	author, err := s.authorFacts(ctx, in.Author, guestEmail, now, rules.TrustedAfter)
	if err != nil {
		return nil, err
	}
	if author.Guest {
		if author.BannedAddress, err = s.bannedAddress(ctx, in.IP, now); err != nil {
			return nil, err
		}
	}
	dupOwn, dupOther, err := s.duplicates(ctx, c, in.Author, rules, now)
	if err != nil {
		return nil, err
	}
	v := Decide(rules, Input{Body: body, Links: rendered.Links, Author: author,
		Article:      Article{ModerationMode: article.ModerationMode, Locked: article.CommentsLocked},
		DuplicateOwn: dupOwn, DuplicateOther: dupOther, Matcher: matcher})
	if v.Err != nil {
		return nil, v.Err
	}
	if in.Author != nil {
		c.AuthorID = &in.Author.ID
	}
	c.Status, c.Holds, c.Shadow = v.Status, strings.Join(v.Holds, ","), v.Shadow
	err = s.Store.WriteTx(ctx, func(tx *gorm.DB) error {
		if c.ArticleID == 0 {
			id, err := openThread(tx, *article)
			if err != nil {
				return err
			}
			c.ArticleID = id
		}
		if err := tx.Create(c).Error; err != nil {
			return err
		}
		public := c.Status == models.StatusApproved // its parent's thread is public (attach)
		if public {
			if err := models.TouchArticle(tx, c.ArticleID, 1); err != nil {
				return err
			}
		}
		return record(tx, now, events.CommentCreated, c, public)
	})
	if err != nil {
		if errors.Is(err, gorm.ErrForeignKeyViolated) {
			return nil, fmt.Errorf("post comment: %w", models.ErrNotFound)
		}
		return nil, fmt.Errorf("post comment: %w", err)
	}
	return c, nil
}

// attach sets the comment's parent, root and depth from the parent it
// replies to, which must be a visible comment of the same article.
func (s *Service) attach(ctx context.Context, c *models.Comment, parentID uint) error {
	var p models.Comment
	err := s.Store.Read.WithContext(ctx).Select("id", "article_id", "parent_id", "root_id", "depth", "status", "shadow").Take(&p, parentID).Error
	if errors.Is(err, gorm.ErrRecordNotFound) || err == nil && (p.ArticleID != c.ArticleID || p.Status != models.StatusApproved) {
		return ErrBadParent
	}
	if err != nil {
		return models.MapError(err)
	}
	if p.ParentID != nil {
		hidden, err := s.hiddenAncestor(ctx, *p.ParentID)
		if err != nil {
			return err
		}
		if hidden {
			return ErrBadParent
		}
	}
	if p.Depth >= MaxDepth-1 {
		c.ParentID, c.RootID, c.Depth = p.ParentID, p.RootID, p.Depth
		return nil
	}
	root := p.ID
	if p.RootID != nil {
		root = *p.RootID
	}
	c.ParentID, c.RootID, c.Depth = &p.ID, &root, p.Depth+1
	return nil
}

// hiddenAncestor reports whether comment id or one above it is hidden from
// the public (held, rejected or spam): the thread then hides everything below
// it, so a reply there would be seen by nobody and counted by mistake. The
// walk is one query of at most MaxDepth primary-key lookups.
func (s *Service) hiddenAncestor(ctx context.Context, id uint) (bool, error) {
	var n int64
	err := s.Store.Read.WithContext(ctx).Raw(`WITH RECURSIVE up(id, parent_id, status, hops) AS (
			SELECT id, parent_id, status, 1 FROM comments WHERE id = ?
			UNION ALL
			SELECT c.id, c.parent_id, c.status, up.hops + 1 FROM comments c JOIN up ON c.id = up.parent_id WHERE up.hops < ?)
		SELECT COUNT(*) FROM up WHERE status IN ?`, id, MaxDepth, hiddenStatuses).Row().Scan(&n)
	if err != nil {
		return false, models.MapError(err)
	}
	return n > 0, nil
}

// articleBySlug loads what Submit needs of an article: not its body, which
// can be long.
func (s *Service) articleBySlug(ctx context.Context, site, slug string) (*models.Article, error) {
	var a models.Article
	if err := s.Store.Read.WithContext(ctx).Select("id", "moderation_mode", "comments_locked").Where("site_id = ? AND slug = ?", site, slug).Take(&a).Error; err != nil {
		return nil, fmt.Errorf("article %q of site %q: %w", slug, site, models.MapError(err))
	}
	return &a, nil
}

// openThread stores a, a page's first thread, and returns its id. A first
// comment posted at the same moment may have created it already: then that
// article is the thread.
func openThread(tx *gorm.DB, a models.Article) (uint, error) {
	if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&a).Error; err != nil {
		return 0, fmt.Errorf("open thread %q: %w", a.Slug, err)
	}
	if a.ID != 0 {
		return a.ID, nil
	}
	var id uint
	if err := tx.Model(&models.Article{}).Where("site_id = ? AND slug = ?", a.SiteID, a.Slug).Pluck("id", &id).Error; err != nil {
		return 0, fmt.Errorf("open thread %q: %w", a.Slug, err)
	}
	if id == 0 {
		return 0, fmt.Errorf("open thread %q: %w", a.Slug, models.ErrNotFound)
	}
	return id, nil
}

// authorFacts gathers what Decide needs to know about the author, with
// ApprovedCount counted up to trustedAfter.
func (s *Service) authorFacts(ctx context.Context, u *models.User, guestEmail string, now time.Time, trustedAfter int) (Author, error) {
	if u == nil {
		return s.guestFacts(ctx, guestEmail, trustedAfter)
	}
	a := Author{Role: u.Role, AccountAge: now.Sub(u.CreatedAt)}
	switch u.ActiveBan(now) {
	case models.BanNormal:
		a.Banned = true
	case models.BanShadow:
		a.ShadowBanned = true
	}
	if isStaff(a) {
		return a, nil
	}
	// Counting stops at trustedAfter, all that Trusted asks: a prolific
	// author's every comment would otherwise be counted on each post.
	// Row, not Scan: GORM's Scan formats the statement for its logger on
	// every call, which showed in the posting profile.
	var n int64
	if err := s.Store.Read.WithContext(ctx).Raw("SELECT COUNT(*) FROM (SELECT 1 FROM comments WHERE author_id = ? AND status = ? LIMIT ?) AS approved",
		u.ID, models.StatusApproved, trustedAfter).Row().Scan(&n); err != nil {
		return Author{}, models.MapError(err)
	}
	a.ApprovedCount = int(n)
	return a, nil
}

// guestFacts: a guest whose address is confirmed (guest_emails) earns trust
// from the approved comments posted with that address, as an account does.
func (s *Service) guestFacts(ctx context.Context, email string, trustedAfter int) (Author, error) {
	a := Author{Guest: true}
	if email == "" {
		return a, nil
	}
	var verified int64
	db := s.Store.Read.WithContext(ctx)
	if err := db.Raw("SELECT COUNT(*) FROM guest_emails WHERE email = ? AND verified_at IS NOT NULL", email).Row().Scan(&verified); err != nil {
		return Author{}, models.MapError(err)
	}
	if verified == 0 {
		return a, nil
	}
	a.VerifiedGuest = true
	var n int64
	if err := db.Raw("SELECT COUNT(*) FROM (SELECT 1 FROM comments WHERE author_id IS NULL AND guest_email = ? AND status = ? LIMIT ?) AS approved",
		email, models.StatusApproved, trustedAfter).Row().Scan(&n); err != nil {
		return Author{}, models.MapError(err)
	}
	a.ApprovedCount = int(n)
	return a, nil
}

// duplicates reports whether the same body was posted recently by the same
// author (refused) or by someone else (held as likely spam).
func (s *Service) duplicates(ctx context.Context, c *models.Comment, u *models.User, r Rules, now time.Time) (own, other bool, err error) {
	if r.DuplicateWindowSeconds <= 0 {
		return false, false, nil
	}
	since := now.Add(-r.DuplicateWindow())
	rows, err := s.Store.Read.WithContext(ctx).Model(&models.Comment{}).Select("author_id", "guest_name").
		Where("body_hash = ? AND created_at >= ?", c.BodyHash, since).Limit(20).Rows()
	if err != nil {
		return false, false, models.MapError(err)
	}
	defer rows.Close()
	for rows.Next() {
		var authorID *uint
		var guestName string
		if err := rows.Scan(&authorID, &guestName); err != nil {
			return false, false, models.MapError(err)
		}
		same := u != nil && authorID != nil && *authorID == u.ID ||
			u == nil && authorID == nil && strings.EqualFold(guestName, c.GuestName)
		if same {
			own = true
		} else {
			other = true
		}
	}
	return own, other, models.MapError(rows.Err())
}

func cleanGuest(g Guest) (name, email string, err error) {
	name = markup.CleanName(g.Name)
	fields := map[string]string{}
	if n := utf8.RuneCountInString(name); n < 1 || n > 64 {
		fields["guest_name"] = "1 to 64 characters"
	}
	email = strings.TrimSpace(g.Email)
	if len(email) > 254 || email != "" && !strings.Contains(email, "@") {
		fields["guest_email"] = "not a valid email address"
	}
	if len(fields) > 0 {
		return "", "", invalid("invalid guest details", fields)
	}
	return name, strings.ToLower(email), nil
}

// BannedAddressWindow is how far back a guest's address is matched against
// the comments of banned users.
const BannedAddressWindow = 30 * 24 * time.Hour

// bannedAddress reports whether a user now under a ban (normal or shadow)
// posted from ip within BannedAddressWindow: a banned user who signs out
// and posts as a guest from the same client is held for review. It walks
// the banned users' comments (idx_comments_author), which are few.
func (s *Service) bannedAddress(ctx context.Context, ip string, now time.Time) (bool, error) {
	if ip == "" {
		return false, nil
	}
	var ids []uint
	err := s.Store.Read.WithContext(ctx).Raw(`SELECT c.id FROM comments c WHERE c.ip = ? AND c.created_at >= ? AND c.author_id IN
		(SELECT u.id FROM users u WHERE u.ban_kind <> '' AND (u.banned_until IS NULL OR u.banned_until > ?)) LIMIT 1`,
		ip, now.Add(-BannedAddressWindow), now).Scan(&ids).Error
	if err != nil {
		return false, fmt.Errorf("check banned addresses: %w", models.MapError(err))
	}
	return len(ids) > 0, nil
}
