package models

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/parley-comments/parley/fault"
	"gorm.io/gorm"
)

// Sorts of a thread's top-level comments.
const (
	SortOldest = "oldest"
	SortNewest = "newest"
	SortTop    = "top"
)

// ErrBadCursor is returned for a cursor that this server did not issue.
var ErrBadCursor = &fault.Error{Code: fault.Invalid, Message: "invalid cursor", Fields: map[string]string{"cursor": "invalid"}}

// Viewer says whose thread is being read: the public (zero value), a user
// (their own pending comments show too) or a moderator (all pending show).
type Viewer struct {
	UserID    uint
	Moderator bool
}

// ThreadQuery selects one page of an article's thread.
type ThreadQuery struct {
	ArticleID uint
	Sort      string
	Limit     int
	Cursor    string
	Viewer    Viewer
}

// ThreadComment is a comment as the thread shows it, with its author's names.
// Body, the Markdown source, is filled only where the viewer is shown it.
type ThreadComment struct {
	ID                uint
	ParentID          *uint
	AuthorID          *uint
	AuthorUsername    string
	AuthorDisplayName string
	AuthorRole        string // the author's role, for the staff badge
	GuestName         string
	Body              string
	BodyHTML          string
	Status            string
	Shadow            bool
	Score             int
	CreatedAt         time.Time
	EditedAt          *time.Time
	Replies           []*ThreadComment
	// RepliesCursor, on a top-level comment, is set when it has more
	// replies than the page carries: LoadReplies continues from it.
	RepliesCursor string
}

// RepliesPerRoot is how many replies a thread page carries below each
// top-level comment (the first ones, oldest first); the rest are read with
// LoadReplies. It bounds a page's size whatever one thread collected.
const RepliesPerRoot = 20

// ThreadPage is a page of top-level comments, each with its first replies.
type ThreadPage struct {
	Items      []*ThreadComment
	NextCursor string
	// IDs lists every comment on the page, in order, for per-viewer lookups.
	IDs []uint
}

// threadColumns lists a thread row's columns: the first %s is the author's
// names (joinedAuthor or lookedUpAuthor), the second the Markdown source's
// expression, which depends on the viewer (see bodyColumn).
const threadColumns = `c.id, c.parent_id, c.author_id, %s,
	c.guest_name, %s, c.body_html, c.status, c.shadow, c.score, c.created_at, c.edited_at`

// The author's names: from users joined as u, or looked up per row (see
// LoadThread's top sort).
const (
	joinedAuthor   = "COALESCE(u.username, ''), COALESCE(u.display_name, ''), COALESCE(u.role, '')"
	lookedUpAuthor = `COALESCE((SELECT u.username FROM users u WHERE u.id = c.author_id), ''),
	COALESCE((SELECT u.display_name FROM users u WHERE u.id = c.author_id), ''),
	COALESCE((SELECT u.role FROM users u WHERE u.id = c.author_id), '')`
)

// withAuthor is the FROM clause for joinedAuthor.
const withAuthor = "comments c LEFT JOIN users u ON u.id = c.author_id"

// bodyColumn selects the Markdown source only where the viewer is shown it
// (their own comments; every comment for a moderator): public pages carry
// body_html alone, and reading the source too would double the bytes read.
func bodyColumn(v Viewer) (string, []any) {
	switch {
	case v.Moderator:
		return "c.body", nil
	case v.UserID != 0:
		return "CASE WHEN c.author_id = ? THEN c.body ELSE '' END", []any{v.UserID}
	default:
		return "''", nil
	}
}

// ArticleRef is what a thread read needs of its article.
type ArticleRef struct {
	ID           uint
	CommentCount int
	Version      int64
}

// ThreadArticle looks an article up by site and key for a thread read. It
// reads three narrow columns (the article's body can be long) and, being
// read on every request, is what read caches learn the current version from.
func ThreadArticle(ctx context.Context, db *gorm.DB, site, slug string) (ArticleRef, error) {
	var a ArticleRef
	err := db.WithContext(ctx).Raw("SELECT id, comment_count, version FROM articles WHERE site_id = ? AND slug = ?", site, slug).Row().
		Scan(&a.ID, &a.CommentCount, &a.Version)
	if errors.Is(err, sql.ErrNoRows) {
		return a, fmt.Errorf("article %q: %w", slug, ErrNotFound)
	}
	if err != nil {
		return a, fmt.Errorf("article %q: %w", slug, MapError(err))
	}
	return a, nil
}

// LoadThread reads one page in two indexed queries, whatever the thread's
// size: the page's top-level comments, then the first RepliesPerRoot
// replies of each of them (one range of idx_comments_root per root, in one
// statement), nested in memory. A later page of the top sort may take
// three (see cursorRanges).
func LoadThread(ctx context.Context, db *gorm.DB, q ThreadQuery) (*ThreadPage, error) {
	visible, args := visibility(db, q.Viewer)
	where := "c.article_id = ? AND c.parent_id IS NULL AND " + visible
	args = append([]any{q.ArticleID}, args...)
	// The article and parent columns lead the ORDER BY, though fixed by the
	// WHERE, so that it is the index's own order (idx_comments_thread, or
	// idx_comments_score for the top sort): PostgreSQL does not count
	// "parent_id IS NULL" as fixing the column, and without them takes any
	// index on the article and sorts every top-level comment of the thread
	// to return fifty, in custom and generic plans (prepared statements) alike.
	order := "c.article_id, c.parent_id, c.id"
	from, author := withAuthor, joinedAuthor
	switch q.Sort {
	case SortNewest:
		order = "c.article_id DESC, c.parent_id DESC, c.id DESC"
	case SortTop:
		order = "c.article_id, c.parent_id, c.score DESC, c.id"
		// A range of one score expects a row or two in a generic plan
		// (which plans for an average thread), where a big thread has
		// thousands: joined to users, it hashed them and sorted those
		// thousands, giving up the index's order. Looked up per row, the
		// names leave the plan nothing to choose but the index.
		from, author = "comments c", lookedUpAuthor
	}
	ranges := []keyRange{{}} // the first page: the whole level
	if q.Cursor != "" {
		var err error
		if ranges, err = cursorRanges(q.Sort, q.Cursor); err != nil {
			return nil, err
		}
	}
	bodyCol, bodyArgs := bodyColumn(q.Viewer)
	columns := fmt.Sprintf(threadColumns, author, bodyCol)
	sqlDB := db.WithContext(ctx)
	var top []*ThreadComment
	for _, r := range ranges {
		cond := where
		if r.cond != "" {
			cond += " AND " + r.cond
		}
		rows, err := scanThread(sqlDB.Raw("SELECT "+columns+" FROM "+from+" WHERE "+cond+" ORDER BY "+order+" LIMIT ?",
			slices.Concat(bodyArgs, args, r.args, []any{q.Limit + 1 - len(top)})...))
		if err != nil {
			return nil, fmt.Errorf("load thread page: %w", MapError(err))
		}
		if top = append(top, rows...); len(top) > q.Limit {
			break
		}
	}
	page := &ThreadPage{Items: top}
	if len(top) > q.Limit {
		page.Items = top[:q.Limit]
		page.NextCursor = encodeCursor(q.Sort, page.Items[len(page.Items)-1])
	}
	if len(page.Items) == 0 {
		return page, nil
	}
	replies, err := firstReplies(sqlDB, page.Items, q.Viewer, bodyCol, bodyArgs)
	if err != nil {
		return nil, fmt.Errorf("load thread replies: %w", MapError(err))
	}
	page.IDs = nest(page.Items, replies)
	return page, nil
}

// firstReplies reads up to RepliesPerRoot replies of each root, oldest
// first, and sets RepliesCursor on the roots that have more. Each root is
// one LIMITed range of idx_comments_root, so a root with 20,000 replies
// costs what one with 21 does; the parts are joined with UNION ALL into
// one statement, and each row says its root so the order is rebuilt here
// (UNION ALL promises none).
func firstReplies(db *gorm.DB, roots []*ThreadComment, v Viewer, bodyCol string, bodyArgs []any) ([]*ThreadComment, error) {
	rvisible, rargs := visibility(db, v)
	columns := fmt.Sprintf(threadColumns, joinedAuthor, bodyCol)
	parts := make([]string, len(roots))
	var args []any
	for i, r := range roots {
		parts[i] = fmt.Sprintf("SELECT * FROM (SELECT c.root_id AS part_root, %s FROM %s WHERE c.root_id = ? AND %s ORDER BY c.id LIMIT ?) p%d",
			columns, withAuthor, rvisible, i)
		args = append(args, bodyArgs...)
		args = append(args, r.ID)
		args = append(args, rargs...)
		args = append(args, RepliesPerRoot+1)
	}
	var rootOf []uint
	rows, err := scanRows(db.Raw(strings.Join(parts, " UNION ALL "), args...), &rootOf)
	if err != nil {
		return nil, err
	}
	byRoot := make(map[uint][]*ThreadComment, len(roots))
	for i, c := range rows {
		byRoot[rootOf[i]] = append(byRoot[rootOf[i]], c)
	}
	var out []*ThreadComment
	for _, r := range roots {
		rs := byRoot[r.ID]
		slices.SortFunc(rs, func(a, b *ThreadComment) int { return cmp.Compare(a.ID, b.ID) })
		if len(rs) > RepliesPerRoot {
			rs = rs[:RepliesPerRoot]
			r.RepliesCursor = encodeRepliesCursor(r.ID, rs[len(rs)-1].ID)
		}
		out = append(out, rs...)
	}
	return out, nil
}

// visibility is the WHERE fragment for what viewer may see in a thread.
//
// On SQLite the status column is written +c.status, which keeps the planner
// off idx_comments_status. Without ANALYZE statistics SQLite takes
// "status IN (2 values)" for more selective than "root_id IN (50 ids)" and
// walks every approved comment of every article to find a page's replies
// (seconds on 100,000 comments); the unary plus leaves it the thread and
// root indexes. PostgreSQL keeps statistics and needs no such hint.
func visibility(db *gorm.DB, v Viewer) (string, []any) {
	status := "c.status"
	if db.Dialector.Name() == "sqlite" {
		status = "+c.status"
	}
	switch {
	case v.Moderator:
		return status + " IN ('approved', 'deleted', 'pending')", nil
	case v.UserID != 0:
		return "(" + status + " IN ('approved', 'deleted') AND c.shadow = ? OR " + status + " = 'pending' AND c.author_id = ?)", []any{false, v.UserID}
	default:
		return status + " IN ('approved', 'deleted') AND c.shadow = ?", []any{false}
	}
}

// nest attaches replies under their parents. replies come by root, then by
// id: a parent was posted before its replies, so it comes first, and the
// root index yields that order with no sort (an ORDER BY id across roots
// made SQLite sort every reply row, bodies and all). A reply whose parent is
// not visible is dropped with its subtree: a hidden comment hides its replies.
func nest(top, replies []*ThreadComment) []uint {
	byID := make(map[uint]*ThreadComment, len(top)+len(replies))
	ids := make([]uint, 0, len(top)+len(replies))
	for _, c := range top {
		byID[c.ID] = c
		ids = append(ids, c.ID)
	}
	for _, r := range replies {
		if r.ParentID == nil {
			continue
		}
		p, ok := byID[*r.ParentID]
		if !ok {
			continue
		}
		p.Replies = append(p.Replies, r)
		byID[r.ID] = r
		ids = append(ids, r.ID)
	}
	return ids
}

func scanThread(q *gorm.DB) ([]*ThreadComment, error) { return scanRows(q, nil) }

// scanRows scans thread rows; with roots set, each row starts with one
// more column, its root's id, appended to *roots.
func scanRows(q *gorm.DB, roots *[]uint) ([]*ThreadComment, error) {
	rows, err := q.Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*ThreadComment
	for rows.Next() {
		c := new(ThreadComment)
		var edited sql.NullTime
		var root uint
		dest := []any{&c.ID, &c.ParentID, &c.AuthorID, &c.AuthorUsername, &c.AuthorDisplayName, &c.AuthorRole,
			&c.GuestName, &c.Body, &c.BodyHTML, &c.Status, &c.Shadow, &c.Score, &c.CreatedAt, &edited}
		if roots != nil {
			dest = append([]any{&root}, dest...)
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		if roots != nil {
			*roots = append(*roots, root)
		}
		if edited.Valid {
			t := edited.Time
			c.EditedAt = &t
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Cursors are "<sort>.<score>.<id>", base64url-encoded: opaque to clients,
// checked strictly here, and only ever used as bound parameters.
func encodeCursor(sort string, last *ThreadComment) string {
	raw := sort + "." + strconv.Itoa(last.Score) + "." + strconv.FormatUint(uint64(last.ID), 10)
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// keyRange is a WHERE fragment that one index range answers, with its arguments.
type keyRange struct {
	cond string
	args []any
}

// cursorRanges returns the index ranges that follow a cursor, in the page's
// order. The top sort needs two: the rest of the cursor's score, then the
// lower scores. "score < ? OR score = ? AND id > ?" selects the same rows,
// but no single range of an index ordered score DESC, id ASC answers it (a
// row-value comparison must go one way), so SQLite and PostgreSQL would read
// every comment tied at the cursor's score before reaching the page.
func cursorRanges(sort, cursor string) ([]keyRange, error) {
	if len(cursor) > 64 {
		return nil, ErrBadCursor
	}
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return nil, ErrBadCursor
	}
	parts := strings.Split(string(raw), ".")
	if len(parts) != 3 || parts[0] != sort {
		return nil, ErrBadCursor
	}
	score, err1 := strconv.Atoi(parts[1])
	id, err2 := strconv.ParseUint(parts[2], 10, 32)
	if err1 != nil || err2 != nil || id == 0 {
		return nil, ErrBadCursor
	}
	switch sort {
	case SortNewest:
		return []keyRange{{"c.id < ?", []any{id}}}, nil
	case SortTop:
		return []keyRange{{"c.score = ? AND c.id > ?", []any{score, id}}, {"c.score < ?", []any{score}}}, nil
	default:
		return []keyRange{{"c.id > ?", []any{id}}}, nil
	}
}

// VotesOf returns the user's votes on the given comments.
//
// It looks the reader's vote up once per comment asked about (the comment
// found by primary key, for its article), so it costs the page, not the
// voter: asked as "user_id = ? AND comment_id IN ?", SQLite and PostgreSQL
// read every vote the user ever cast from idx_votes_reader instead. A scalar
// subquery is one lookup per row on both; a join would let them choose.
func VotesOf(ctx context.Context, db *gorm.DB, userID uint, ids []uint) (map[uint]int, error) {
	rows, err := db.WithContext(ctx).Raw(`SELECT c.id, (SELECT v.value FROM votes v WHERE v.user_id = ? AND v.article_id = c.article_id AND v.comment_id = c.id)
		FROM comments c WHERE c.id IN ?`, userID, ids).Rows()
	if err != nil {
		return nil, MapError(err)
	}
	defer rows.Close()
	out := make(map[uint]int, len(ids))
	for rows.Next() {
		var id uint
		var value sql.NullInt64
		if err := rows.Scan(&id, &value); err != nil {
			return nil, err
		}
		if value.Valid {
			out[id] = int(value.Int64)
		}
	}
	return out, rows.Err()
}

// OwnBodies returns the Markdown source of those of the given comments that
// the user wrote, by id.
func OwnBodies(ctx context.Context, db *gorm.DB, userID uint, ids []uint) (map[uint]string, error) {
	out, err := StringsByID(db.WithContext(ctx).Raw("SELECT id, body FROM comments WHERE id IN ? AND author_id = ?", ids, userID))
	return out, MapError(err)
}

// StringsByID runs a query of (id, text) rows and returns the texts by id.
func StringsByID(q *gorm.DB) (map[uint]string, error) {
	rows, err := q.Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[uint]string{}
	for rows.Next() {
		var id uint
		var s string
		if err := rows.Scan(&id, &s); err != nil {
			return nil, err
		}
		out[id] = s
	}
	return out, rows.Err()
}

// ReaderFacts is what a signed-in reader's page needs beyond the public one.
type ReaderFacts struct {
	// Pending says the reader has a comment waiting for review on the article
	// (shadow-banned ones included): they see more of the thread than the
	// public does.
	Pending bool
	// Votes are the reader's votes on the article's comments, by comment.
	Votes map[uint]int
}

// LoadReaderFacts reads a reader's facts about an article in one query.
//
// The pending check starts from the reader's own pending comments (the unary
// plus keeps SQLite on idx_comments_author rather than the article's pending
// comments, thousands on a spammed article). The votes are one range of
// idx_votes_reader, read from the index alone: they cost the reader's votes
// on this article, whatever they voted elsewhere, and with both columns
// compared by equality a generic plan (PostgreSQL's prepared statements)
// has nothing else to choose.
func LoadReaderFacts(ctx context.Context, db *gorm.DB, articleID, userID uint) (ReaderFacts, error) {
	rows, err := db.WithContext(ctx).Raw(`SELECT 0, p.id, 0 FROM (SELECT id FROM comments WHERE author_id = ? AND status = ? AND +article_id = ? LIMIT 1) p
		UNION ALL
		SELECT 1, v.comment_id, v.value FROM votes v WHERE v.user_id = ? AND v.article_id = ?`,
		userID, StatusPending, articleID, userID, articleID).Rows()
	if err != nil {
		return ReaderFacts{}, MapError(err)
	}
	defer rows.Close()
	f := ReaderFacts{Votes: map[uint]int{}}
	for rows.Next() {
		var kind, value int
		var id uint
		if err := rows.Scan(&kind, &id, &value); err != nil {
			return ReaderFacts{}, err
		}
		if kind == 0 {
			f.Pending = true
		} else {
			f.Votes[id] = value
		}
	}
	return f, rows.Err()
}

// RepliesQuery selects a page of one top-level comment's replies, after the
// cursor a thread page or an earlier replies page gave.
type RepliesQuery struct {
	RootID uint
	Limit  int
	Cursor string
	Viewer Viewer
}

// RepliesPage is a page of replies below one top-level comment, flat and
// oldest first: each one's ParentID says where it goes.
type RepliesPage struct {
	ArticleID  uint
	Items      []*ThreadComment
	NextCursor string
	IDs        []uint
}

// LoadReplies reads the replies of a visible top-level comment that follow
// the cursor. Only replies whose every ancestor the viewer may see are
// returned, as on a thread page: which ones those are is worked out from
// the ids and parents of the root's visible replies (one range of
// idx_comments_root), then only the page's rows are read in full.
func LoadReplies(ctx context.Context, db *gorm.DB, q RepliesQuery) (*RepliesPage, error) {
	var after uint
	if q.Cursor != "" {
		root, last, err := decodeRepliesCursor(q.Cursor)
		if err != nil || root != q.RootID {
			return nil, ErrBadCursor
		}
		after = last
	}
	sqlDB := db.WithContext(ctx)
	visible, vargs := visibility(db, q.Viewer)
	var article []uint
	err := sqlDB.Raw("SELECT c.article_id FROM comments c WHERE c.id = ? AND c.parent_id IS NULL AND "+visible,
		slices.Concat([]any{q.RootID}, vargs)...).Scan(&article).Error
	if err != nil {
		return nil, fmt.Errorf("load replies: %w", MapError(err))
	}
	if len(article) == 0 {
		return nil, fmt.Errorf("comment %d: %w", q.RootID, ErrNotFound)
	}
	rows, err := sqlDB.Raw("SELECT c.id, c.parent_id FROM comments c WHERE c.root_id = ? AND "+visible+" ORDER BY c.id",
		slices.Concat([]any{q.RootID}, vargs)...).Rows()
	if err != nil {
		return nil, fmt.Errorf("load replies: %w", MapError(err))
	}
	shown := map[uint]bool{q.RootID: true}
	var ids []uint
	for rows.Next() {
		var id uint
		var parent sql.NullInt64
		if err := rows.Scan(&id, &parent); err != nil {
			rows.Close()
			return nil, fmt.Errorf("load replies: %w", MapError(err))
		}
		// Parents come before their replies: a reply is shown when its
		// parent is.
		if parent.Valid && shown[uint(parent.Int64)] {
			shown[id] = true
			if id > after && len(ids) <= q.Limit {
				ids = append(ids, id)
			}
		}
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, fmt.Errorf("load replies: %w", MapError(err))
	}
	page := &RepliesPage{ArticleID: article[0]}
	if len(ids) > q.Limit {
		ids = ids[:q.Limit]
		page.NextCursor = encodeRepliesCursor(q.RootID, ids[len(ids)-1])
	}
	if len(ids) == 0 {
		return page, nil
	}
	bodyCol, bodyArgs := bodyColumn(q.Viewer)
	items, err := scanThread(sqlDB.Raw("SELECT "+fmt.Sprintf(threadColumns, joinedAuthor, bodyCol)+" FROM "+withAuthor+
		" WHERE c.id IN ? ORDER BY c.id", slices.Concat(bodyArgs, []any{ids})...))
	if err != nil {
		return nil, fmt.Errorf("load replies: %w", MapError(err))
	}
	page.Items, page.IDs = items, ids
	return page, nil
}

// Replies cursors are "r.<root id>.<last reply id>", base64url-encoded.
func encodeRepliesCursor(root, last uint) string {
	return base64.RawURLEncoding.EncodeToString([]byte("r." + strconv.FormatUint(uint64(root), 10) + "." + strconv.FormatUint(uint64(last), 10)))
}

func decodeRepliesCursor(cursor string) (root, last uint, err error) {
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if len(cursor) > 64 || err != nil {
		return 0, 0, ErrBadCursor
	}
	parts := strings.Split(string(raw), ".")
	if len(parts) != 3 || parts[0] != "r" {
		return 0, 0, ErrBadCursor
	}
	r, err1 := strconv.ParseUint(parts[1], 10, 32)
	l, err2 := strconv.ParseUint(parts[2], 10, 32)
	if err1 != nil || err2 != nil || r == 0 || l == 0 || strconv.FormatUint(r, 10) != parts[1] || strconv.FormatUint(l, 10) != parts[2] {
		return 0, 0, ErrBadCursor
	}
	return uint(r), uint(l), nil
}
