package moderation

import (
	"fmt"
	"slices"

	"gorm.io/gorm"

	"github.com/parley-comments/parley/models"
)

// hiddenStatuses are the statuses the public thread leaves out (those
// models.IsPublic says no to). A comment in one of them hides its replies
// with it, however they are moderated (models.LoadThread).
var hiddenStatuses = []string{models.StatusPending, models.StatusRejected, models.StatusSpam}

// recount recomputes the comment_count of each article from its comments and
// bumps its version, in the caller's transaction. Callers run it after a
// change that can alter what an article's public thread shows. Counting is
// not left to +1 and -1 per comment because hiding or showing a comment
// hides or shows its replies with it.
//
// The version bump comes first because it locks the article's row: on
// PostgreSQL a concurrent change of the same thread then commits before the
// count is read, and the count's statements, started after the lock, see it.
// Articles are locked in id order, so two transactions recounting the same
// articles cannot deadlock on them.
func recount(tx *gorm.DB, articleIDs ...uint) error {
	ids := slices.Clone(articleIDs)
	slices.Sort(ids)
	for _, id := range slices.Compact(ids) {
		if err := models.TouchArticle(tx, id, 0); err != nil {
			return fmt.Errorf("recount article %d: %w", id, err)
		}
		n, err := publicCount(tx, id)
		if err != nil {
			return fmt.Errorf("recount article %d: %w", id, err)
		}
		if err := tx.Model(&models.Article{}).Where("id = ?", id).Update("comment_count", n).Error; err != nil {
			return fmt.Errorf("recount article %d: %w", id, err)
		}
	}
	return nil
}

// maxIDsPerQuery bounds an IN list, well below both databases' limits on
// bound parameters.
const maxIDsPerQuery = 500

// publicCount counts the approved comments of an article that a public
// reader sees in its thread: all its approved comments, less the approved
// ones below a hidden comment. Rather than visit every comment, it counts
// from indexes alone the article's comments (idx_comments_thread) less those
// not approved (idx_comments_unapproved, partial: its condition is spelled
// out for the planners), finds the hidden comments that have replies (one
// index probe each: held comments, thousands on a spammed article, rarely
// have any), and walks down from those a level at a time
// (idx_comments_parent).
//
// The reply check is a scalar subquery so that both databases run it as
// that probe. As a join, or as one recursive query for the whole walk, the
// planners chose scans instead: SQLite scanned the article once per reply
// found, and PostgreSQL scanned or hashed the whole article, with parallel
// workers on top, tens of milliseconds on 20,000 comments.
//
// Shadow is not looked at: only pending comments are shadowed (setStatus
// clears the mark on any other status), and pending ones are hidden anyway.
func publicCount(tx *gorm.DB, articleID uint) (int, error) {
	var approved int
	if err := tx.Raw(`SELECT (SELECT COUNT(*) FROM comments WHERE article_id = ?)
		- (SELECT COUNT(*) FROM comments WHERE article_id = ? AND status <> 'approved')`, articleID, articleID).
		Row().Scan(&approved); err != nil {
		return 0, err
	}
	var parents []uint
	if err := tx.Raw(`SELECT h.id FROM comments h WHERE h.article_id = ? AND h.status <> 'approved' AND h.status IN ?
		AND (SELECT c.id FROM comments c WHERE c.parent_id = h.id LIMIT 1) IS NOT NULL`, articleID, hiddenStatuses).
		Scan(&parents).Error; err != nil {
		return 0, err
	}
	below := map[uint]bool{} // a reply below two hidden comments is reached twice
	for len(parents) > 0 {
		var next []uint
		for chunk := range slices.Chunk(parents, maxIDsPerQuery) {
			replies, err := models.StringsByID(tx.Raw("SELECT id, status FROM comments WHERE parent_id IN ?", chunk))
			if err != nil {
				return 0, err
			}
			for id, status := range replies {
				if below[id] {
					continue
				}
				below[id] = true
				next = append(next, id)
				if status == models.StatusApproved {
					approved--
				}
			}
		}
		parents = next
	}
	return approved, nil
}

// showsDifferently reports whether moving a comment from one status to
// another can change what its article's public thread shows (and so its
// count): the comment, with its replies, appears or disappears, or turns
// into a tombstone. A change between two hidden statuses, as rejecting a
// pending comment, changes nothing there and needs no recount.
func showsDifferently(from, to string) bool {
	return from != to && (models.IsPublic(from) || models.IsPublic(to))
}

// Recount is recount for writers outside this package (the importer), which
// add comments in bulk and must leave counts and versions as a post would.
func Recount(tx *gorm.DB, articleIDs ...uint) error { return recount(tx, articleIDs...) }
