package moderation

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"gorm.io/gorm"

	"github.com/parley-comments/parley/models"
)

// Queue states: the statuses a moderator reviews, plus "flagged" (open flags, any status).
const (
	QueuePending  = models.StatusPending
	QueueFlagged  = "flagged"
	QueueSpam     = models.StatusSpam
	QueueRejected = models.StatusRejected
)

// Queue sorts. SortFlags puts the most open flags first, then the oldest.
const (
	SortOldest = "oldest"
	SortNewest = "newest"
	SortFlags  = "flags"
)

// QueueQuery selects one page of the moderation queue.
type QueueQuery struct {
	State   string   // QueuePending when empty
	Article string   // an article's slug (of the default site); empty for all articles
	Sites   []string // the sites to cover; nil for all (a moderator limited to some)
	Sort    string   // empty: SortFlags for pending and flagged, SortNewest for spam and rejected
	Limit   int
	Cursor  string
}

// QueueItem is one comment in the queue, with what a moderator decides on.
type QueueItem struct {
	Comment      models.Comment
	ArticleSite  string
	ArticleSlug  string
	ArticleTitle string
	// Author is the comment's author (ID, Username, DisplayName only), nil for a guest.
	Author *models.User
	// EmailVerified says the author's address (or the guest's) is confirmed.
	EmailVerified bool
	Flags         FlagCounts
	Holds         []string
}

// FlagNote is what one reader wrote when flagging.
type FlagNote struct {
	Reason string
	Note   string
}

// maxFlagNotes bounds the notes shown per queue item: enough to see why
// readers object, without one mass-flagged comment filling the page.
const maxFlagNotes = 5

// FlagCounts are a comment's open flags: how many, how many per reason, and
// the latest notes flaggers wrote.
type FlagCounts struct {
	Notes   []FlagNote
	Count   int
	Reasons map[string]int
}

// QueuePage is a page of the queue; NextCursor is empty on the last page.
type QueuePage struct {
	Items      []QueueItem
	NextCursor string
}

// QueueStats counts the comments in each queue.
type QueueStats struct {
	Pending  int
	Flagged  int
	Spam     int
	Rejected int
}

// openFlagsSQL counts a comment's open flags; it is both a column and the
// flags sort's key, so the cursor condition repeats it.
const openFlagsSQL = "(SELECT COUNT(*) FROM flags f WHERE f.comment_id = c.id AND f.resolved_at IS NULL)"

// flaggedSQL selects the comments of the flagged queue (open flags, not
// deleted) for the queue and its count alike. It starts from the open flags
// (idx_flags_unresolved), each comment found by primary key, so it costs what
// is flagged: asked as EXISTS per comment, SQLite read every comment.
const flaggedSQL = "c.id IN (SELECT comment_id FROM flags WHERE resolved_at IS NULL) AND c.status <> '" + models.StatusDeleted + "'"

type queueRow struct {
	models.Comment    `gorm:"embedded"`
	ArticleSite       string
	ArticleSlug       string
	ArticleTitle      string
	AuthorUsername    *string
	AuthorDisplayName *string
	OpenFlags         int
	// EmailVerified: the author's (or the guest's) address is confirmed.
	EmailVerified bool
}

// Queue returns one page of the moderation queue in three queries whatever
// the page size: the article (when filtered by one), the page with its
// articles, authors and flag counts, and the page's flag reasons.
func (s *Service) Queue(ctx context.Context, q QueueQuery) (*QueuePage, error) {
	if err := q.normalize(); err != nil {
		return nil, err
	}
	db := s.Store.Read.WithContext(ctx)
	query, err := queueQuery(db, q)
	if err != nil {
		return nil, err
	}
	var rows []queueRow
	if err := query.Limit(q.Limit + 1).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("load queue: %w", models.MapError(err))
	}
	page := &QueuePage{Items: make([]QueueItem, 0, min(len(rows), q.Limit))}
	if len(rows) > q.Limit {
		rows = rows[:q.Limit]
		last := rows[len(rows)-1]
		page.NextCursor = encodeQueueCursor(q.State, q.Sort, last.OpenFlags, last.ID)
	}
	if len(rows) == 0 {
		return page, nil
	}
	ids := make([]uint, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	reasons, notes, err := flagSummaries(db, ids)
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		page.Items = append(page.Items, r.item(reasons[r.ID], notes[r.ID]))
	}
	return page, nil
}

// queueQuery selects the page q asks for: its state, article, the rows
// after its cursor, in its order.
func queueQuery(db *gorm.DB, q QueueQuery) (*gorm.DB, error) {
	query := db.Table("comments c").
		Select("c.*, a.site_id AS article_site, a.slug AS article_slug, a.title AS article_title, u.username AS author_username, " +
			"u.display_name AS author_display_name, " + openFlagsSQL + " AS open_flags, " +
			"(u.email_verified_at IS NOT NULL OR ge.verified_at IS NOT NULL) AS email_verified").
		Joins("JOIN articles a ON a.id = c.article_id").
		Joins("LEFT JOIN users u ON u.id = c.author_id").
		Joins("LEFT JOIN guest_emails ge ON c.author_id IS NULL AND ge.email = c.guest_email")
	articleCol := "c.article_id"
	if q.State == QueueFlagged {
		query = query.Where(flaggedSQL)
		if db.Dialector.Name() == "sqlite" {
			// Unary plus: without statistics SQLite would rather walk the
			// article's comments (tens of thousands on a big thread) than
			// the open flags.
			articleCol = "+c.article_id"
		}
	} else {
		query = query.Where("c.status = ?", q.State)
	}
	if q.Sites != nil {
		query = query.Where("a.site_id IN ?", q.Sites)
	}
	if q.Article != "" {
		var articleID uint
		if err := db.Model(&models.Article{}).Where("site_id = ? AND slug = ?", models.DefaultSite, q.Article).Limit(1).Pluck("id", &articleID).Error; err != nil {
			return nil, models.MapError(err)
		}
		if articleID == 0 {
			return nil, fmt.Errorf("article %q: %w", q.Article, models.ErrNotFound)
		}
		query = query.Where(articleCol+" = ?", articleID)
	}
	if q.Cursor != "" {
		flags, id, err := decodeQueueCursor(q.Cursor, q.State, q.Sort)
		if err != nil {
			return nil, err
		}
		switch q.Sort {
		case SortOldest:
			query = query.Where("c.id > ?", id)
		case SortNewest:
			query = query.Where("c.id < ?", id)
		default:
			query = query.Where("("+openFlagsSQL+" < ? OR "+openFlagsSQL+" = ? AND c.id > ?)", flags, flags, id)
		}
	}
	// Ids grow with time, so they order by age without ties.
	switch q.Sort {
	case SortOldest:
		return query.Order("c.id ASC"), nil
	case SortNewest:
		return query.Order("c.id DESC"), nil
	}
	return query.Order("open_flags DESC").Order("c.id ASC"), nil
}

// item is the row as the queue shows it, with its flags' reasons and notes.
func (r queueRow) item(reasons map[string]int, notes []FlagNote) QueueItem {
	if reasons == nil {
		reasons = map[string]int{}
	}
	item := QueueItem{Comment: r.Comment, ArticleSite: r.ArticleSite, ArticleSlug: r.ArticleSlug, ArticleTitle: r.ArticleTitle,
		Flags: FlagCounts{Count: r.OpenFlags, Reasons: reasons, Notes: notes}, Holds: splitHolds(r.Holds), EmailVerified: r.EmailVerified}
	if r.AuthorID != nil && r.AuthorUsername != nil {
		item.Author = &models.User{ID: *r.AuthorID, Username: *r.AuthorUsername, DisplayName: deref(r.AuthorDisplayName)}
	}
	return item
}

// normalize fills in the defaults and refuses unknown states and sorts.
func (q *QueueQuery) normalize() error {
	switch q.State {
	case "":
		q.State = QueuePending
	case QueuePending, QueueFlagged, QueueSpam, QueueRejected:
	default:
		return invalid("state must be pending, flagged, spam or rejected",
			map[string]string{"state": "pending, flagged, spam or rejected"})
	}
	switch q.Sort {
	case "":
		// What needs a decision most comes first; decided ones, latest first.
		q.Sort = SortFlags
		if q.State == QueueSpam || q.State == QueueRejected {
			q.Sort = SortNewest
		}
	case SortOldest, SortNewest, SortFlags:
	default:
		return invalid("sort must be oldest, newest or flags", map[string]string{"sort": "oldest, newest or flags"})
	}
	if q.Limit <= 0 {
		q.Limit = 50
	}
	return nil
}

// flagSummaries counts the open flags of the comments per reason and picks
// their latest notes, in one query: flags without a note collapse into one
// row per reason, so the rows grow with the notes written, not the flags.
func flagSummaries(db *gorm.DB, ids []uint) (map[uint]map[string]int, map[uint][]FlagNote, error) {
	var rows []struct {
		CommentID uint
		Reason    string
		Note      string
		N         int
	}
	if err := db.Model(&models.Flag{}).Select("comment_id, reason, note, COUNT(*) AS n").
		Where("comment_id IN ? AND resolved_at IS NULL", ids).
		Group("comment_id, reason, note").Order("MAX(id) DESC").Scan(&rows).Error; err != nil {
		return nil, nil, fmt.Errorf("load flag reasons: %w", models.MapError(err))
	}
	reasons := map[uint]map[string]int{}
	notes := map[uint][]FlagNote{}
	for _, r := range rows {
		if reasons[r.CommentID] == nil {
			reasons[r.CommentID] = map[string]int{}
		}
		reasons[r.CommentID][r.Reason] += r.N
		if r.Note != "" && len(notes[r.CommentID]) < maxFlagNotes {
			notes[r.CommentID] = append(notes[r.CommentID], FlagNote{Reason: r.Reason, Note: r.Note})
		}
	}
	return reasons, notes, nil
}

// Queue cursors are "q.<state>.<sort>.<open flags>.<id>", base64url-encoded:
// opaque to clients, checked strictly, and valid only for the state and sort
// that issued them.
func encodeQueueCursor(state, sort string, flags int, id uint) string {
	raw := "q." + state + "." + sort + "." + strconv.Itoa(flags) + "." + strconv.FormatUint(uint64(id), 10)
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

func decodeQueueCursor(cursor, state, sort string) (flags int, id uint, err error) {
	if len(cursor) > 96 {
		return 0, 0, models.ErrBadCursor
	}
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return 0, 0, models.ErrBadCursor
	}
	parts := strings.Split(string(raw), ".")
	if len(parts) != 5 || parts[0] != "q" || parts[1] != state || parts[2] != sort {
		return 0, 0, models.ErrBadCursor
	}
	f, err1 := strconv.Atoi(parts[3])
	n, err2 := strconv.ParseUint(parts[4], 10, 32)
	if err1 != nil || err2 != nil || f < 0 || n == 0 {
		return 0, 0, models.ErrBadCursor
	}
	return f, uint(n), nil
}

// Stats counts the comments in each queue, in two indexed queries; sites,
// when not nil, limits the counts to those sites' comments.
func (s *Service) Stats(ctx context.Context, sites []string) (QueueStats, error) {
	db := s.Store.Read.WithContext(ctx)
	var rows []struct {
		Status string
		N      int
	}
	// The statuses are written into the statement, not bound: a generic plan
	// (PostgreSQL's prepared statements) cannot tell three rare statuses from
	// approved, and counted them by reading every comment.
	counts := db.Table("comments c").Select("c.status, COUNT(*) AS n").
		Where("c.status IN ('" + models.StatusPending + "', '" + models.StatusSpam + "', '" + models.StatusRejected + "')")
	flaggedQ := db.Table("comments c").Where(flaggedSQL)
	if sites != nil {
		counts = counts.Joins("JOIN articles a ON a.id = c.article_id").Where("a.site_id IN ?", sites)
		flaggedQ = flaggedQ.Joins("JOIN articles a ON a.id = c.article_id").Where("a.site_id IN ?", sites)
	}
	if err := counts.Group("c.status").Scan(&rows).Error; err != nil {
		return QueueStats{}, fmt.Errorf("count queues: %w", models.MapError(err))
	}
	var st QueueStats
	for _, r := range rows {
		switch r.Status {
		case models.StatusPending:
			st.Pending = r.N
		case models.StatusSpam:
			st.Spam = r.N
		case models.StatusRejected:
			st.Rejected = r.N
		}
	}
	var flagged int64
	if err := flaggedQ.Count(&flagged).Error; err != nil {
		return QueueStats{}, fmt.Errorf("count flagged: %w", models.MapError(err))
	}
	st.Flagged = int(flagged)
	return st, nil
}

// LogEntry is one audit log entry with its moderator's names.
type LogEntry struct {
	models.AuditEntry
	ModeratorUsername    string
	ModeratorDisplayName string
}

// LogPage is a page of the audit log, newest first; NextCursor is empty on the last page.
type LogPage struct {
	Items      []LogEntry
	NextCursor string
}

// Log returns a page of the audit log, newest first, in one query. sites,
// when not nil, keeps the actions on those sites' comments.
func (s *Service) Log(ctx context.Context, limit int, cursor string, sites []string) (*LogPage, error) {
	if limit <= 0 {
		limit = 50
	}
	q := s.Store.Read.WithContext(ctx).Table("audit_log l").
		Select("l.*, COALESCE(u.username, '') AS moderator_username, COALESCE(u.display_name, '') AS moderator_display_name").
		Joins("LEFT JOIN users u ON u.id = l.moderator_id")
	if sites != nil {
		q = q.Where("l.target_type = 'comment' AND l.target_id IN (SELECT c.id FROM comments c JOIN articles a ON a.id = c.article_id WHERE a.site_id IN ?)", sites)
	}
	if cursor != "" {
		id, err := decodeLogCursor(cursor)
		if err != nil {
			return nil, err
		}
		q = q.Where("l.id < ?", id)
	}
	var rows []LogEntry
	if err := q.Order("l.id DESC").Limit(limit + 1).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("load audit log: %w", models.MapError(err))
	}
	page := &LogPage{Items: rows}
	if len(rows) > limit {
		page.Items = rows[:limit]
		page.NextCursor = base64.RawURLEncoding.EncodeToString([]byte("l." + strconv.FormatUint(uint64(rows[limit-1].ID), 10)))
	}
	return page, nil
}

func decodeLogCursor(cursor string) (uint, error) {
	if len(cursor) > 32 {
		return 0, models.ErrBadCursor
	}
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return 0, models.ErrBadCursor
	}
	s, ok := strings.CutPrefix(string(raw), "l.")
	if !ok {
		return 0, models.ErrBadCursor
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n == 0 {
		return 0, models.ErrBadCursor
	}
	return uint(n), nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
