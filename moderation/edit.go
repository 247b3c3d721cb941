package moderation

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/parley-comments/parley/events"
	"github.com/parley-comments/parley/markup"
	"github.com/parley-comments/parley/models"
)

// edit is a decided change of a comment's body, ready to be written.
type edit struct {
	body, html string
	status     string // the comment's status after the edit
	holds      []string
	shadow     bool // the author is shadow-banned: a held edit is hidden as theirs are
	byAuthor   bool // false: a moderator changed someone else's words
	editorID   uint
	at         time.Time
}

// Edit replaces a comment's body: its author within the edit window, or a
// moderator at any time. The new body is decided on again.
func (s *Service) Edit(ctx context.Context, id uint, editor *models.User, raw string) (*models.Comment, error) {
	site, err := s.siteOfComment(ctx, id)
	if err != nil {
		return nil, err
	}
	rules, matcher, err := s.siteRulesAndMatcher(ctx, site)
	if err != nil {
		return nil, err
	}
	now := s.Now()
	c, author, err := s.editable(ctx, id, editor, rules, now)
	if err != nil {
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
	rendered, err := render(body)
	if err != nil {
		return nil, err
	}
	v := Decide(rules, Input{Body: body, Links: rendered.Links, Author: author, Edit: true, Matcher: matcher,
		Article: Article{ModerationMode: article.ModerationMode, Locked: article.CommentsLocked}})
	if v.Err != nil {
		return nil, v.Err
	}
	e := edit{body: body, html: rendered.HTML, shadow: v.Shadow, editorID: editor.ID, at: now,
		byAuthor: c.AuthorID != nil && *c.AuthorID == editor.ID}
	e.status, e.holds = editedStatus(c, editor, v)
	err = s.Store.WriteTx(ctx, func(tx *gorm.DB) error {
		public, err := saveEdit(tx, c, e)
		if err != nil {
			return err
		}
		return record(tx, now, events.CommentEdited, c, public)
	})
	if err != nil {
		return nil, fmt.Errorf("edit comment %d: %w", id, err)
	}
	c.Body, c.BodyHTML, c.EditedAt, c.UpdatedAt = body, rendered.HTML, &now, now
	return c, nil
}

// editable returns the comment if editor may edit it now, with the facts
// about the editor that the decision on the new body needs.
func (s *Service) editable(ctx context.Context, id uint, editor *models.User, rules Rules, now time.Time) (*models.Comment, Author, error) {
	c, err := s.Get(ctx, id, editor)
	if err != nil {
		return nil, Author{}, err
	}
	if c.Status == models.StatusDeleted {
		return nil, Author{}, fmt.Errorf("edit comment %d: %w", id, models.ErrNotFound)
	}
	author, err := s.authorFacts(ctx, editor, "", now, rules.TrustedAfter)
	if err != nil {
		return nil, Author{}, err
	}
	own := c.AuthorID != nil && *c.AuthorID == editor.ID
	if err := CanEdit(rules, author, own, now.Sub(c.CreatedAt)); err != nil {
		return nil, Author{}, err
	}
	if err := checkOutranks(s.Store.Read.WithContext(ctx), editor, c); err != nil {
		return nil, Author{}, err
	}
	if !own {
		if err := s.checkCovers(ctx, editor, c); err != nil {
			return nil, Author{}, err
		}
	}
	return c, author, nil
}

// editedStatus is the status a comment has after an edit: an approved
// comment edited into something the rules hold goes back to the queue
// rather than staying public, unless a moderator made the edit.
func editedStatus(c *models.Comment, editor *models.User, v Verdict) (string, []string) {
	if !editor.IsModerator() && v.Status == models.StatusPending && c.Status == models.StatusApproved {
		return models.StatusPending, v.Holds
	}
	return c.Status, splitHolds(c.Holds)
}

// saveEdit writes the edit in tx: the body, the audit entry of a
// moderator's edit, and the status change with its recount, or else the
// thread's version bump.
// saveEdit writes the edit and reports whether the public thread changed.
func saveEdit(tx *gorm.DB, c *models.Comment, e edit) (public bool, err error) {
	res := tx.Model(&models.Comment{}).Where("id = ? AND status = ?", c.ID, c.Status).Updates(map[string]any{
		"body": e.body, "body_html": e.html, "body_hash": hashBody(e.body), "render_version": markup.Version,
		"edited_at": e.at, "updated_at": e.at,
	})
	if res.Error != nil {
		return false, res.Error
	}
	if res.RowsAffected == 0 {
		return false, ErrConflict // changed under us (moderated or deleted meanwhile)
	}
	if !e.byAuthor {
		// A moderator changed someone else's words: that goes on the record.
		if err := audit(tx, e.at, e.editorID, "edit", "comment", c.ID, ""); err != nil {
			return false, err
		}
	}
	from := c.Status
	if e.status == from {
		public = models.IsPublic(c.Status) && !c.Shadow
		if public {
			return true, models.TouchArticle(tx, c.ArticleID, 0)
		}
		return false, nil
	}
	if err := setStatus(tx, c, e.status, e.holds, e.at); err != nil {
		return false, err
	}
	public = showsDifferently(from, e.status)
	if public { // back in the queue, it hides its replies
		if err := recount(tx, c.ArticleID); err != nil {
			return false, err
		}
	}
	if e.shadow {
		// A shadow-banned author's edit is hidden the way their new
		// comments are: a plain pending status would give the ban away.
		c.Shadow = true
		return public, tx.Model(&models.Comment{}).Where("id = ?", c.ID).Update("shadow", true).Error
	}
	return public, nil
}
