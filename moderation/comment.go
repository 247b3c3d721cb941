package moderation

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/parley-comments/parley/events"
	"github.com/parley-comments/parley/markup"
	"github.com/parley-comments/parley/models"
)

// Guest describes a comment posted without an account.
type Guest struct {
	Name  string
	Email string
}

// Submission is a new comment as the API received it.
type Submission struct {
	Slug     string
	Author   *models.User // nil for a guest
	Guest    *Guest
	Body     string
	ParentID *uint
	IP       string
}

// ErrGuestsDisabled refuses a guest comment when guests may not post.
var ErrGuestsDisabled = errors.New("sign in to comment")

// ErrBadParent refuses a reply to a comment that is not a visible comment of
// the same article (API: 422).
var ErrBadParent = errors.New("parent_id must be a visible comment of this article")

// Submit validates, decides on and stores a new comment.
func (s *Service) Submit(ctx context.Context, in Submission) (*models.Comment, error) {
	rules, matcher, err := s.rulesAndMatcher(ctx)
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
	}
	article, err := s.articleBySlug(ctx, in.Slug)
	if err != nil {
		return nil, err
	}
	now := s.Now()
	c := &models.Comment{ArticleID: article.ID, GuestName: guestName, GuestEmail: guestEmail, IP: in.IP,
		Body: body, BodyHash: hashBody(body), RenderVersion: markup.Version, CreatedAt: now, UpdatedAt: now}
	if in.ParentID != nil {
		if err := s.attach(ctx, c, *in.ParentID); err != nil {
			return nil, err
		}
	}
	rendered := markup.Render(body)
	c.BodyHTML = rendered.HTML

	author, err := s.authorFacts(ctx, in.Author, now, rules.TrustedAfter)
	if err != nil {
		return nil, err
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
		if err := tx.Create(c).Error; err != nil {
			return err
		}
		public := c.Status == models.StatusApproved // its parent's thread is public (attach)
		if public {
			if err := touchArticle(tx, c.ArticleID, 1); err != nil {
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
func (s *Service) articleBySlug(ctx context.Context, slug string) (*models.Article, error) {
	var a models.Article
	if err := s.Store.Read.WithContext(ctx).Select("id", "moderation_mode", "comments_locked").Where("site_id = ? AND slug = ?", models.DefaultSite, slug).Take(&a).Error; err != nil {
		return nil, fmt.Errorf("article %q: %w", slug, models.MapError(err))
	}
	return &a, nil
}

// authorFacts gathers what Decide needs to know about the author, with
// ApprovedCount counted up to trustedAfter.
func (s *Service) authorFacts(ctx context.Context, u *models.User, now time.Time, trustedAfter int) (Author, error) {
	if u == nil {
		return Author{Guest: true}, nil
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

func hashBody(body string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(strings.Join(strings.Fields(body), " "))))
	return hex.EncodeToString(sum[:16])
}

func cleanBody(raw string, maxChars int) (string, error) {
	body, err := markup.CleanBody(raw)
	if err != nil {
		return "", &ValidationError{Message: "body " + err.Error(), Fields: map[string]string{"body": err.Error()}}
	}
	body = strings.TrimSpace(body)
	switch {
	case body == "":
		return "", &ValidationError{Message: "body must not be empty", Fields: map[string]string{"body": "required"}}
	case utf8.RuneCountInString(body) > maxChars:
		return "", &ValidationError{Message: fmt.Sprintf("body is longer than %d characters", maxChars), Fields: map[string]string{"body": "too long"}}
	}
	return body, nil
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
		return "", "", &ValidationError{Message: "invalid guest details", Fields: fields}
	}
	return name, strings.ToLower(email), nil
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

// Edit replaces a comment's body: its author within the edit window, or a
// moderator at any time. The new body is decided on again.
func (s *Service) Edit(ctx context.Context, id uint, editor *models.User, raw string) (*models.Comment, error) {
	rules, matcher, err := s.rulesAndMatcher(ctx)
	if err != nil {
		return nil, err
	}
	c, err := s.Get(ctx, id, editor)
	if err != nil {
		return nil, err
	}
	now := s.Now()
	if c.Status == models.StatusDeleted {
		return nil, fmt.Errorf("edit comment %d: %w", id, models.ErrNotFound)
	}
	author, err := s.authorFacts(ctx, editor, now, rules.TrustedAfter)
	if err != nil {
		return nil, err
	}
	own := c.AuthorID != nil && *c.AuthorID == editor.ID
	if err := CanEdit(rules, author, own, now.Sub(c.CreatedAt)); err != nil {
		return nil, err
	}
	body, err := cleanBody(raw, rules.MaxBodyChars)
	if err != nil {
		return nil, err
	}
	article, err := s.articleByID(ctx, c.ArticleID)
	if err != nil {
		return nil, err
	}
	rendered := markup.Render(body)
	v := Decide(rules, Input{Body: body, Links: rendered.Links, Author: author, Edit: true, Matcher: matcher,
		Article: Article{ModerationMode: article.ModerationMode, Locked: article.CommentsLocked}})
	if v.Err != nil {
		return nil, v.Err
	}
	status, holds := c.Status, splitHolds(c.Holds)
	if !editor.IsModerator() && v.Status == models.StatusPending && c.Status == models.StatusApproved {
		// An approved comment edited into something the rules hold goes
		// back to the queue rather than staying public.
		status, holds = models.StatusPending, v.Holds
	}
	err = s.Store.WriteTx(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&models.Comment{}).Where("id = ? AND status = ?", c.ID, c.Status).Updates(map[string]any{
			"body": body, "body_html": rendered.HTML, "body_hash": hashBody(body), "render_version": markup.Version,
			"edited_at": now, "updated_at": now,
		})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrConflict // changed under us (moderated or deleted meanwhile)
		}
		if !own {
			// A moderator changed someone else's words: that goes on the record.
			if err := audit(tx, now, editor.ID, "edit", "comment", c.ID, ""); err != nil {
				return err
			}
		}
		if from := c.Status; status != from {
			if err := setStatus(tx, c, status, holds, now); err != nil {
				return err
			}
			public := showsDifferently(from, status)
			if public { // back in the queue, it hides its replies
				if err := recount(tx, c.ArticleID); err != nil {
					return err
				}
			}
			if v.Shadow {
				// A shadow-banned author's edit is hidden the way their new
				// comments are: a plain pending status would give the ban away.
				c.Shadow = true
				if err := tx.Model(&models.Comment{}).Where("id = ?", c.ID).Update("shadow", true).Error; err != nil {
					return err
				}
			}
			return record(tx, now, events.CommentEdited, c, public)
		}
		public := models.IsPublic(c.Status) && !c.Shadow
		if public {
			if err := touchArticle(tx, c.ArticleID, 0); err != nil {
				return err
			}
		}
		return record(tx, now, events.CommentEdited, c, public)
	})
	if err != nil {
		return nil, fmt.Errorf("edit comment %d: %w", id, err)
	}
	c.Body, c.BodyHTML, c.EditedAt, c.UpdatedAt = body, rendered.HTML, &now, now
	return c, nil
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

// VoteResult is a comment's score after a vote, and the voter's vote.
type VoteResult struct {
	Score  int
	MyVote int
}

// Vote sets the user's vote on a public comment to value (1, -1, or 0 to
// withdraw it). Voting on one's own comment is refused.
func (s *Service) Vote(ctx context.Context, id uint, voter *models.User, value int) (VoteResult, error) {
	if value < -1 || value > 1 {
		return VoteResult{}, &ValidationError{Message: "value must be 1, -1 or 0", Fields: map[string]string{"value": "must be 1, -1 or 0"}}
	}
	if voter.ActiveBan(s.Now()) == models.BanNormal {
		return VoteResult{}, ErrBanned
	}
	c, err := s.Get(ctx, id, voter)
	if err != nil {
		return VoteResult{}, err
	}
	if c.Status != models.StatusApproved || c.Shadow {
		return VoteResult{}, fmt.Errorf("vote on comment %d: %w", id, models.ErrNotFound)
	}
	if c.AuthorID != nil && *c.AuthorID == voter.ID {
		return VoteResult{}, fmt.Errorf("%w: you cannot vote on your own comment", ErrForbidden)
	}
	if voter.ActiveBan(s.Now()) == models.BanShadow {
		// A shadow-banned voter is answered as if the vote counted, but
		// nothing is stored: their votes must not move public scores.
		return VoteResult{Score: c.Score + value, MyVote: value}, nil
	}
	var out VoteResult
	err = s.Store.WriteTx(ctx, func(tx *gorm.DB) error {
		var old models.Vote
		err := tx.Where("comment_id = ? AND user_id = ?", id, voter.ID).Take(&old).Error
		if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
			return err
		}
		delta := value - old.Value
		switch {
		case value == 0:
			err = tx.Where("comment_id = ? AND user_id = ?", id, voter.ID).Delete(&models.Vote{}).Error
		case old.Value == 0:
			err = tx.Create(&models.Vote{CommentID: id, UserID: voter.ID, ArticleID: c.ArticleID, Value: value, CreatedAt: s.Now()}).Error
		default:
			err = tx.Model(&models.Vote{}).Where("comment_id = ? AND user_id = ?", id, voter.ID).Update("value", value).Error
		}
		if err != nil {
			return err
		}
		if delta != 0 {
			if err := tx.Model(&models.Comment{}).Where("id = ?", id).Update("score", gorm.Expr("score + ?", delta)).Error; err != nil {
				return err
			}
			if err := touchArticle(tx, c.ArticleID, 0); err != nil {
				return err
			}
			if err := record(tx, s.Now(), events.CommentVoted, c, true); err != nil {
				return err
			}
		}
		out.MyVote = value
		return tx.Model(&models.Comment{}).Where("id = ?", id).Pluck("score", &out.Score).Error
	})
	if err != nil {
		return VoteResult{}, fmt.Errorf("vote on comment %d: %w", id, err)
	}
	return out, nil
}
