package moderation

import (
	"context"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/parley-comments/parley/fault"
	"github.com/parley-comments/parley/markup"
	"github.com/parley-comments/parley/models"
)

// Moderation actions on a comment; each is also the audit log's action and
// the resolution of the flags it closes.
const (
	ActionApprove = "approve" // pending, or approved with open flags → approved
	ActionReject  = "reject"  // pending, approved or spam → rejected
	ActionSpam    = "spam"    // pending, approved or rejected → spam
	ActionRestore = "restore" // rejected or spam → approved
)

// MaxBulk is the most comments one bulk action may change.
const MaxBulk = 200

// maxReason is the longest reason a moderator may give, in characters (the audit column's size).
const maxReason = 500

// rowLock locks the row a change starts from until the transaction ends, so
// concurrent changes of one comment or user (on PostgreSQL) run one after the
// other. NO KEY UPDATE still lets replies, votes and flags reference the row
// meanwhile; SQLite, which has a single writer, leaves the clause out.
var rowLock = clause.Locking{Strength: "NO KEY UPDATE"}

// TransitionError refuses an action the comment's current status does not
// allow, such as approving a deleted comment. It matches ErrConflict.
type TransitionError struct {
	CommentID uint
	Action    string
	Status    string
}

// Error says which comment could not take which action, and why.
func (e *TransitionError) Error() string {
	if e.Action == ActionApprove && e.Status == models.StatusApproved {
		return fmt.Sprintf("cannot approve comment %d: it is already approved and has no open flags", e.CommentID)
	}
	return fmt.Sprintf("cannot %s comment %d: it is %s", e.Action, e.CommentID, e.Status)
}

// Unwrap makes it a conflict (409) whose message is its own, under
// errors.Is(err, ErrConflict) and errors.As(err, **fault.Error).
func (e *TransitionError) Unwrap() error { return fault.Refine(ErrConflict, e.Error()) }

// transition returns the status an action moves a comment to, or false when
// the action does not apply to a comment in status (openFlags says whether it
// has open flags, which is what approving an approved comment reviews).
func transition(action, status string, openFlags bool) (string, bool) {
	switch action {
	case ActionApprove:
		return models.StatusApproved, status == models.StatusPending || status == models.StatusApproved && openFlags
	case ActionReject:
		return models.StatusRejected, slices.Contains([]string{models.StatusPending, models.StatusApproved, models.StatusSpam}, status)
	case ActionSpam:
		return models.StatusSpam, slices.Contains([]string{models.StatusPending, models.StatusApproved, models.StatusRejected}, status)
	case ActionRestore:
		return models.StatusApproved, status == models.StatusRejected || status == models.StatusSpam
	}
	return "", false
}

func validAction(action string, bulk bool) bool {
	switch action {
	case ActionApprove, ActionReject, ActionSpam:
		return true
	case ActionRestore:
		return !bulk
	}
	return false
}

// cleanReason tidies a moderator's free-text reason and checks its length.
func cleanReason(reason string) (string, error) {
	reason = markup.CleanName(reason)
	if utf8.RuneCountInString(reason) > maxReason {
		return "", invalid(fmt.Sprintf("reason is longer than %d characters", maxReason),
			map[string]string{"reason": fmt.Sprintf("at most %d characters", maxReason)})
	}
	return reason, nil
}

// Moderate applies one action to a comment: the status change, the
// resolution of its open flags, the audit entry and the article's recount
// happen in one transaction.
// An action the comment's status does not allow is a *TransitionError.
func (s *Service) Moderate(ctx context.Context, id uint, moderator *models.User, action, reason string) (*models.Comment, error) {
	if !moderator.IsModerator() {
		return nil, ErrForbidden
	}
	if !validAction(action, false) {
		return nil, invalid("unknown action "+action, map[string]string{"action": "approve, reject, spam or restore"})
	}
	reason, err := cleanReason(reason)
	if err != nil {
		return nil, err
	}
	limited, err := s.SitesOf(ctx, moderator)
	if err != nil {
		return nil, err
	}
	now := s.Now()
	var c models.Comment
	err = s.Store.WriteTx(ctx, func(tx *gorm.DB) error {
		if err := tx.Clauses(rowLock).Take(&c, id).Error; err != nil {
			return err
		}
		if err := checkSites(tx, limited, &c); err != nil {
			return err
		}
		if err := checkOutranks(tx, moderator, &c); err != nil {
			return err
		}
		flagged, err := openFlagged(tx, []uint{id})
		if err != nil {
			return err
		}
		from := c.Status
		if err := apply(tx, &c, moderator.ID, action, reason, flagged[id], now); err != nil {
			return err
		}
		public := showsDifferently(from, c.Status)
		if public {
			if err := recount(tx, c.ArticleID); err != nil {
				return err
			}
		}
		return record(tx, now, actionKinds[action], &c, public)
	})
	if err != nil {
		return nil, fmt.Errorf("%s comment %d: %w", action, id, err)
	}
	return &c, nil
}

// apply moves one loaded comment through action and writes its flag
// resolution and audit entry, in the caller's transaction.
func apply(tx *gorm.DB, c *models.Comment, moderatorID uint, action, reason string, openFlags bool, now time.Time) error {
	status, ok := transition(action, c.Status, openFlags)
	if !ok {
		return &TransitionError{CommentID: c.ID, Action: action, Status: c.Status}
	}
	// A published comment has nothing left to hold it; a rejected or spam one
	// keeps its holds, which say why it was caught.
	holds := splitHolds(c.Holds)
	if status == models.StatusApproved {
		holds = nil
	}
	if status != c.Status || c.Holds != "" && holds == nil {
		if err := setStatus(tx, c, status, holds, now); err != nil {
			return err
		}
	}
	if err := resolveFlags(tx, []uint{c.ID}, moderatorID, action, now); err != nil {
		return err
	}
	return audit(tx, now, moderatorID, action, "comment", c.ID, reason)
}

// openFlagged reports which of the comments have open flags.
func openFlagged(tx *gorm.DB, ids []uint) (map[uint]bool, error) {
	var with []uint
	if err := tx.Model(&models.Flag{}).Distinct("comment_id").Where("comment_id IN ? AND resolved_at IS NULL", ids).
		Pluck("comment_id", &with).Error; err != nil {
		return nil, fmt.Errorf("load open flags: %w", err)
	}
	out := make(map[uint]bool, len(with))
	for _, id := range with {
		out[id] = true
	}
	return out, nil
}

// Bulk applies approve, reject or spam to up to MaxBulk comments, all or
// nothing: an unknown id is ErrNotFound and a comment the action does not
// apply to is a *TransitionError, and either leaves every comment as it was.
// It returns how many comments it changed.
func (s *Service) Bulk(ctx context.Context, ids []uint, moderator *models.User, action, reason string) (int, error) {
	if !moderator.IsModerator() {
		return 0, ErrForbidden
	}
	fields := map[string]string{}
	if !validAction(action, true) {
		fields["action"] = "approve, reject or spam"
	}
	switch {
	case len(ids) == 0:
		fields["ids"] = "at least one id"
	case len(ids) > MaxBulk:
		fields["ids"] = fmt.Sprintf("at most %d ids", MaxBulk)
	}
	if len(fields) > 0 {
		return 0, invalid("invalid bulk action: "+fault.DescribeFields(fields), fields)
	}
	reason, err := cleanReason(reason)
	if err != nil {
		return 0, err
	}
	limited, err := s.SitesOf(ctx, moderator)
	if err != nil {
		return 0, err
	}
	ids = slices.Clone(ids)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	now := s.Now()
	err = s.Store.WriteTx(ctx, func(tx *gorm.DB) error {
		var rows []models.Comment
		// Locked in id order, so two overlapping bulk actions cannot deadlock.
		if err := tx.Clauses(rowLock).Where("id IN ?", ids).Order("id").Find(&rows).Error; err != nil {
			return err
		}
		if len(rows) != len(ids) {
			return fmt.Errorf("comment %d: %w", firstMissing(ids, rows), models.ErrNotFound)
		}
		loaded := make([]*models.Comment, len(rows))
		for i := range rows {
			loaded[i] = &rows[i]
		}
		if err := checkSites(tx, limited, loaded...); err != nil {
			return err
		}
		if err := checkOutranks(tx, moderator, loaded...); err != nil {
			return err
		}
		flagged, err := openFlagged(tx, ids)
		if err != nil {
			return err
		}
		// Check every comment before changing any: the savepoint would undo a
		// partial change anyway, but this way the error names the first bad id.
		for i := range rows {
			if _, ok := transition(action, rows[i].Status, flagged[rows[i].ID]); !ok {
				return &TransitionError{CommentID: rows[i].ID, Action: action, Status: rows[i].Status}
			}
		}
		var changed []uint // articles whose public thread changed, recounted once each
		public := make([]bool, len(rows))
		for i := range rows {
			from := rows[i].Status
			if err := apply(tx, &rows[i], moderator.ID, action, reason, flagged[rows[i].ID], now); err != nil {
				return err
			}
			if public[i] = showsDifferently(from, rows[i].Status); public[i] {
				changed = append(changed, rows[i].ArticleID)
			}
		}
		if err := recount(tx, changed...); err != nil {
			return err
		}
		return recordChanged(tx, now, actionKinds[action], rows, public)
	})
	if err != nil {
		return 0, fmt.Errorf("bulk %s: %w", action, err)
	}
	return len(ids), nil
}

// firstMissing returns the first of the sorted ids that rows (sorted by id) lacks.
func firstMissing(ids []uint, rows []models.Comment) uint {
	for i, id := range ids {
		if i >= len(rows) || rows[i].ID != id {
			return id
		}
	}
	return 0
}
