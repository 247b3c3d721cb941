package moderation

import (
	"time"

	"gorm.io/gorm"

	"github.com/parley-comments/parley/events"
	"github.com/parley-comments/parley/models"
)

// actionKinds names the change each moderation action records.
var actionKinds = map[string]string{
	ActionApprove: events.CommentApproved,
	ActionRestore: events.CommentApproved,
	ActionReject:  events.CommentRejected,
	ActionSpam:    events.CommentRejected,
}

// record logs a change of comment c on the change bus, in the caller's
// transaction. public says the public thread changed; the caller has then
// already bumped the article's version (touchArticle or recount).
func record(tx *gorm.DB, now time.Time, kind string, c *models.Comment, public bool) error {
	return events.Record(tx, now, change(kind, c, public))
}

func change(kind string, c *models.Comment, public bool) events.Change {
	var author uint
	if c.AuthorID != nil {
		author = *c.AuthorID
	}
	return events.Change{Kind: kind, ArticleID: c.ArticleID, CommentID: c.ID, UserID: author, Public: public}
}

// recordChanged records kind for each comment after a batch of actions;
// public[i] says whether rows[i] changed its thread.
func recordChanged(tx *gorm.DB, now time.Time, kind string, rows []models.Comment, public []bool) error {
	cs := make([]events.Change, len(rows))
	for i, c := range rows {
		cs[i] = change(kind, &c, public[i])
	}
	return events.RecordAll(tx, now, cs)
}
