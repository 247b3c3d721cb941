package moderation

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/parley-comments/parley/events"
	"github.com/parley-comments/parley/fault"
	"github.com/parley-comments/parley/markup"
	"github.com/parley-comments/parley/models"
)

// Flag reasons a reader may give.
const (
	FlagSpam     = "spam"
	FlagAbuse    = "abuse"
	FlagOffTopic = "off_topic"
	FlagOther    = "other"
)

// maxFlagNote is the longest note a flag may carry, in characters (the column's size).
const maxFlagNote = 500

// FlagReasons lists the valid flag reasons in the order the API documents them.
var FlagReasons = []string{FlagSpam, FlagAbuse, FlagOffTopic, FlagOther}

func validFlagReason(r string) bool {
	for _, v := range FlagReasons {
		if r == v {
			return true
		}
	}
	return false
}

// Flag records that flagger reports a comment. One flag per user and comment
// (a second is ErrConflict, even after the first was resolved, so a decision
// cannot be re-opened by the same person); one's own comment cannot be
// flagged (ErrForbidden); banned users are refused (ErrBanned). When the
// comment's distinct open flaggers reach Rules.FlagThreshold, an approved
// comment is hidden: pending with the hold "flagged" until a moderator acts.
func (s *Service) Flag(ctx context.Context, commentID uint, flagger *models.User, reason, note string) (*models.Flag, error) {
	note, err := cleanFlag(reason, note)
	if err != nil {
		return nil, err
	}
	now := s.Now()
	if flagger.ActiveBan(now) == models.BanNormal {
		return nil, ErrBanned
	}
	siteID, err := s.siteOfComment(ctx, commentID)
	if err != nil {
		return nil, err
	}
	rules, err := s.RulesFor(ctx, siteID)
	if err != nil {
		return nil, err
	}
	f := &models.Flag{CommentID: commentID, UserID: flagger.ID, Reason: reason, Note: note, CreatedAt: now}
	err = s.Store.WriteTx(ctx, func(tx *gorm.DB) error {
		c, err := flaggable(tx, commentID, flagger)
		if err != nil {
			return err
		}
		if err := tx.Create(f).Error; err != nil {
			if errors.Is(err, gorm.ErrDuplicatedKey) {
				return refusalf(ErrConflict, "you already flagged this comment")
			}
			return err
		}
		hidden, err := hideIfFlagged(tx, c, rules, now)
		if err != nil {
			return err
		}
		return record(tx, now, events.CommentFlagged, c, hidden)
	})
	if err != nil {
		return nil, fmt.Errorf("flag comment %d: %w", commentID, err)
	}
	return f, nil
}

// cleanFlag checks the reason and tidies the note.
func cleanFlag(reason, note string) (string, error) {
	note = markup.CleanName(note)
	fields := map[string]string{}
	if !validFlagReason(reason) {
		fields["reason"] = "spam, abuse, off_topic or other"
	}
	if utf8.RuneCountInString(note) > maxFlagNote {
		fields["note"] = fmt.Sprintf("at most %d characters", maxFlagNote)
	}
	if len(fields) > 0 {
		return "", invalid("invalid flag: "+fault.DescribeFields(fields), fields)
	}
	return note, nil
}

// flaggable locks and returns the comment if flagger may flag it: one they
// can see, not their own, not already decided on, not flagged by them before.
// The row lock makes concurrent flags of one comment (PostgreSQL) count one
// after the other, so the comment is hidden exactly once.
func flaggable(tx *gorm.DB, commentID uint, flagger *models.User) (*models.Comment, error) {
	var c models.Comment
	if err := tx.Clauses(rowLock).Take(&c, commentID).Error; err != nil {
		return nil, err
	}
	switch {
	case !CanSee(&c, flagger) || c.Status == models.StatusDeleted:
		return nil, models.ErrNotFound
	case c.AuthorID != nil && *c.AuthorID == flagger.ID:
		return nil, refusalf(ErrForbidden, "you cannot flag your own comment")
	case c.Status != models.StatusApproved && c.Status != models.StatusPending:
		return nil, refusalf(ErrConflict, "the comment is already %s", c.Status)
	}
	var n int64
	if err := tx.Model(&models.Flag{}).Where("comment_id = ? AND user_id = ?", commentID, flagger.ID).Count(&n).Error; err != nil {
		return nil, err
	}
	if n > 0 {
		return nil, refusalf(ErrConflict, "you already flagged this comment")
	}
	return &c, nil
}

// hideIfFlagged hides an approved comment once its distinct open flaggers
// reach the rules' threshold: pending with the hold "flagged", its replies
// hidden with it. It reports whether it hid the comment.
func hideIfFlagged(tx *gorm.DB, c *models.Comment, rules Rules, now time.Time) (bool, error) {
	if c.Status != models.StatusApproved {
		return false, nil
	}
	flaggers, err := countFlaggers(tx, c.ID, now)
	if err != nil || !ShouldHide(rules, c.Status, flaggers) {
		return false, err
	}
	if err := setStatus(tx, c, models.StatusPending, []string{HoldFlagged}, now); err != nil {
		return false, err
	}
	return true, recount(tx, c.ArticleID)
}

// countFlaggers counts the distinct users with an open flag on a comment,
// leaving out users under an active shadow ban: a troll kept quiet that way
// must not be able to hide other people's comments either. (The unique index
// on comment and user makes every flag a distinct flagger.)
func countFlaggers(tx *gorm.DB, commentID uint, now time.Time) (int, error) {
	var n int64
	err := tx.Table("flags f").Joins("JOIN users u ON u.id = f.user_id").
		Where("f.comment_id = ? AND f.resolved_at IS NULL", commentID).
		Where("NOT (u.ban_kind = ? AND (u.banned_until IS NULL OR u.banned_until > ?))", models.BanShadow, now).
		Count(&n).Error
	return int(n), err
}

// resolveFlags closes the open flags of the comments with the moderator's action.
func resolveFlags(tx *gorm.DB, commentIDs []uint, moderatorID uint, action string, now time.Time) error {
	err := tx.Model(&models.Flag{}).Where("comment_id IN ? AND resolved_at IS NULL", commentIDs).
		Updates(map[string]any{"resolved_at": now, "resolved_by": moderatorID, "resolution": action}).Error
	if err != nil {
		return fmt.Errorf("resolve flags: %w", err)
	}
	return nil
}
