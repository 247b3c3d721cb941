package importer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/parley-comments/parley/markup"
	"github.com/parley-comments/parley/models"
	"github.com/parley-comments/parley/moderation"
	"github.com/parley-comments/parley/sites"
)

// Options say where and how to import.
type Options struct {
	Site   string // the site the threads belong to
	Format string // a key of Formats, or FormatParley
	Map    Rules  // URL remapping, applied before thread keys are normalized
	DryRun bool   // read and resolve everything, write nothing
	// Progress, when set, is called after each batch with the totals so far.
	Progress func(Summary)
}

// batchSize is the comments stored per transaction. On SQLite a batch shares
// the single writer with posters, who wait for it: 256 comments take a few
// milliseconds to insert (see BENCHMARKS.md), and one commit's fsync serves
// them all.
const batchSize = 256

// maxBodyBytes bounds an imported body; longer ones are skipped.
const maxBodyBytes = 256 << 10

// ErrUnknownFormat is returned for a --format that is not a Formats key.
var ErrUnknownFormat = errors.New("unknown format")

// Import reads src in opt.Format and stores it in site opt.Site, in batches
// that commit one by one. A failure stops the import where it is: what was
// committed stays, and running the same import again completes it, since
// comments already imported (by source id) are merged, not added twice.
func Import(ctx context.Context, st *models.Store, src Source, opt Options) (*Summary, error) {
	if opt.Format == FormatParley {
		return Restore(ctx, st, src, opt)
	}
	read, ok := Formats[opt.Format]
	if !ok {
		return nil, fmt.Errorf("%w %q (formats: %s)", ErrUnknownFormat, opt.Format, strings.Join(FormatNames(), ", "))
	}
	w, err := newWriter(ctx, st, opt)
	if err != nil {
		return nil, err
	}
	return w.run(func(s Stream) error { return read(src, s) })
}

// node is a stored comment as a reply needs it.
type node struct {
	id       uint
	parentID uint // 0 for a top-level comment
	root     uint // 0 for a top-level comment
	depth    int
	article  uint
}

// pending is a comment on its way to the database.
type pending struct {
	c       *Comment
	thread  *threadState
	body    string
	html    string
	skipped string // why it cannot be stored, found while rendering
	author  uint   // the account whose verified e-mail the comment carries

	// set while planning a batch
	parent   *pending // a comment of the same batch
	parentAt *node    // a stored comment
	node     node
}

// threadState is a source thread resolved to an article.
type threadState struct {
	key     string
	url     string
	title   string
	article uint // 0 until created
	err     string
	summary *ThreadSummary
	src     *Thread
}

type writer struct {
	stopped   atomic.Bool // the flushing goroutine failed: the reader stops
	ctx       context.Context
	st        *models.Store
	opt       Options
	keepQuery bool
	origin    string
	now       time.Time
	sum       *Summary

	mu      sync.Mutex // guards sum and batch against the reader goroutine
	batch   []*pending
	batches chan []*pending
	threads map[*Thread]*threadState
	byKey   map[string]*threadState
	nodes   nodeIndex
	waiting map[string][]*pending // replies whose parent has not been seen yet
	tombs   []uint                // tombstones made in this import
	emails  map[string]uint       // lower-cased e-mail → verified account (0: none)
	fakeID  uint                  // ids a dry run hands out
	err     error
}

func newWriter(ctx context.Context, st *models.Store, opt Options) (*writer, error) {
	var site struct {
		KeepQuery bool
		Origins   string
	}
	res := st.Read.WithContext(ctx).Raw("SELECT keep_query, origins FROM sites WHERE id = ?", opt.Site).Scan(&site)
	if res.Error != nil {
		return nil, models.MapError(res.Error)
	}
	if res.RowsAffected == 0 {
		return nil, fmt.Errorf("site %q: %w", opt.Site, models.ErrNotFound)
	}
	var origins []string
	_ = json.Unmarshal([]byte(site.Origins), &origins)
	w := &writer{ctx: ctx, st: st, opt: opt, keepQuery: site.KeepQuery, now: time.Now().UTC(),
		sum: newSummary(opt.Format, opt.Site, opt.DryRun), threads: map[*Thread]*threadState{}, byKey: map[string]*threadState{},
		nodes: newNodeIndex(), waiting: map[string][]*pending{}, emails: map[string]uint{}, fakeID: 1 << 40}
	if len(origins) > 0 {
		w.origin = strings.TrimSuffix(origins[0], "/")
	}
	w.nodes.keep = opt.DryRun
	return w, nil
}

// run feeds the reader's stream to the writer: the reader parses the next
// batch while the previous one is rendered and stored.
func (w *writer) run(read func(Stream) error) (*Summary, error) {
	w.batches = make(chan []*pending, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for b := range w.batches {
			if w.stopped.Load() {
				continue
			}
			if err := w.flush(b); err != nil {
				w.err = err // read by run only after done
				w.stopped.Store(true)
			}
		}
	}()
	readErr := read(w)
	w.mu.Lock()
	last := w.batch
	w.batch = nil
	w.mu.Unlock()
	if len(last) > 0 {
		w.batches <- last
	}
	close(w.batches)
	<-done
	if w.err == nil && readErr == nil {
		w.err = w.finish()
	}
	return w.sum, errors.Join(readErr, w.err)
}

// errStopped ends the reader once the writer has failed.
var errStopped = errors.New("import stopped")

// Comment takes one comment from the reader.
func (w *writer) Comment(c *Comment) error {
	if w.stopped.Load() {
		return errStopped
	}
	if err := w.ctx.Err(); err != nil {
		return err
	}
	if len(c.SourceID) > 255 {
		c.SourceID = derivedID(c.SourceID)
	}
	w.mu.Lock()
	w.batch = append(w.batch, &pending{c: c})
	var full []*pending
	if len(w.batch) >= batchSize {
		full, w.batch = w.batch, make([]*pending, 0, batchSize)
	}
	w.mu.Unlock()
	if full != nil {
		w.batches <- full
	}
	return nil
}

// Skip records an item the reader left out.
func (w *writer) Skip(item, reason string) {
	w.mu.Lock()
	w.sum.skip(item, reason)
	w.mu.Unlock()
}

// flush stores one batch: threads resolved, comments already imported
// merged, bodies cleaned and rendered, parents linked, then one transaction.
func (w *writer) flush(batch []*pending) error {
	if err := w.resolveThreads(batch); err != nil {
		return err
	}
	// Two comments with one id in a file (seen in real WordPress exports):
	// the second gets an id of its own, derived from what it says.
	ids := make(map[string]bool, len(batch))
	for _, p := range batch {
		if ids[p.c.SourceID] {
			old := p.c.SourceID
			p.c.SourceID = derivedID(w.opt.Format, old, p.c.Thread.SourceID, p.c.CreatedAt.String(), p.c.AuthorName, p.c.Body)
			w.mu.Lock()
			w.sum.note("comment %s: a second comment with this id, imported as %s", old, p.c.SourceID)
			w.mu.Unlock()
		}
		ids[p.c.SourceID] = true
	}
	known, err := w.importedAlready(batch)
	if err != nil {
		return err
	}
	var fresh []*pending
	for _, p := range batch {
		switch {
		case p.thread.err != "":
			w.countSkip(p, p.thread.err)
		case known[p.c.SourceID] != nil:
			w.mu.Lock()
			w.sum.Merged++
			p.thread.summary.Merged++
			w.mu.Unlock()
			w.nodes.put(p.c.SourceID, *known[p.c.SourceID])
			fresh = append(fresh, w.release(p.c.SourceID)...)
		default:
			fresh = append(fresh, p)
		}
	}
	renderAll(fresh)
	if err := w.linkAuthors(fresh); err != nil {
		return err
	}
	ready, err := w.plan(fresh)
	if err != nil {
		return err
	}
	return w.store(ready)
}

func (w *writer) countSkip(p *pending, reason string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.sum.skip(describe("comment", p.c.SourceID), reason)
	if p.thread != nil && p.thread.summary != nil {
		p.thread.summary.Skipped++
	}
}

// resolveThreads finds or prepares the article of each new source thread.
func (w *writer) resolveThreads(batch []*pending) error {
	for _, p := range batch {
		if ts := w.threads[p.c.Thread]; ts != nil {
			p.thread = ts
			continue
		}
		ts, err := w.resolveThread(p.c.Thread)
		if err != nil {
			return err
		}
		w.threads[p.c.Thread] = ts
		p.thread = ts
	}
	return nil
}

func (w *writer) resolveThread(t *Thread) (*threadState, error) {
	url := w.opt.Map.Apply(strings.TrimSpace(t.URL))
	if strings.HasPrefix(url, "/") && !strings.HasPrefix(url, "//") && w.origin != "" {
		url = w.origin + url // a path on the blog: the site's first origin is the blog
	}
	key, err := sites.NormalizeKey(url, w.keepQuery)
	if err != nil {
		return &threadState{err: fmt.Sprintf("page %s: %v", quote(t.URL), err), src: t}, nil
	}
	if ts := w.byKey[key]; ts != nil {
		return ts, nil // two source threads on one page become one thread
	}
	title := strings.TrimSpace(markup.CleanName(t.Title))
	if title == "" {
		title = key
	}
	title = truncateRunes(title, 300)
	ts := &threadState{key: key, url: truncateRunes(url, 2048), title: title, src: t}
	var id uint
	res := w.st.Read.WithContext(w.ctx).Raw("SELECT id FROM articles WHERE site_id = ? AND slug = ?", w.opt.Site, key).Scan(&id)
	if res.Error != nil {
		return nil, models.MapError(res.Error)
	}
	ts.article = id
	w.mu.Lock()
	ts.summary = w.sum.thread(key, title, id == 0)
	w.mu.Unlock()
	w.byKey[key] = ts
	return ts, nil
}

// importedAlready returns the batch's comments imported before, by source id.
func (w *writer) importedAlready(batch []*pending) (map[string]*node, error) {
	ids := make([]string, 0, len(batch))
	for _, p := range batch {
		ids = append(ids, p.c.SourceID)
	}
	return w.lookup(ids)
}

// lookup finds stored comments by source id.
func (w *writer) lookup(ids []string) (map[string]*node, error) {
	found := map[string]*node{}
	if len(ids) == 0 {
		return found, nil
	}
	rows, err := w.st.Read.WithContext(w.ctx).Raw(`SELECT s.source_id, s.comment_id, COALESCE(c.parent_id, 0), COALESCE(c.root_id, 0), COALESCE(c.depth, 0), COALESCE(c.article_id, 0)
		FROM import_sources s LEFT JOIN comments c ON c.id = s.comment_id
		WHERE s.site_id = ? AND s.format = ? AND s.source_id IN ?`, w.opt.Site, w.opt.Format, ids).Rows()
	if err != nil {
		return nil, models.MapError(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var n node
		if err := rows.Scan(&id, &n.id, &n.parentID, &n.root, &n.depth, &n.article); err != nil {
			return nil, err
		}
		found[id] = &n
	}
	return found, models.MapError(rows.Err())
}

// renderAll cleans and renders the batch's bodies on every core.
func renderAll(batch []*pending) {
	workers := min(runtime.NumCPU(), 4)
	var wg sync.WaitGroup
	for k := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := k; i < len(batch); i += workers {
				batch[i].render()
			}
		}()
	}
	wg.Wait()
}

func (p *pending) render() {
	if p.c.Status == models.StatusDeleted {
		return // a tombstone keeps no body (as a deletion in Parley)
	}
	if len(p.c.Body) > maxBodyBytes {
		p.skipped = fmt.Sprintf("body longer than %d KiB", maxBodyBytes>>10)
		return
	}
	body, err := markup.CleanBody(neutralize(p.c.Body))
	if err != nil {
		p.skipped = "body: " + err.Error()
		return
	}
	if strings.TrimSpace(body) == "" {
		p.skipped = "empty body"
		return
	}
	p.body = body
	p.html = markup.Render(body).HTML
}

// neutralize replaces invalid UTF-8 and drops control characters other than
// newline and tab, which CleanBody would refuse: a stray byte in an old
// comment should not cost the comment.
func neutralize(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.Map(func(r rune) rune {
		if r != '\n' && r != '\t' && r != '\r' && unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
}

// plan orders the batch so that parents come before their replies, and
// holds back replies whose parent has not been met yet.
func (w *writer) plan(batch []*pending) ([]*pending, error) {
	var parents []string
	for _, p := range batch {
		if id := p.c.ParentSourceID; id != "" && !w.nodes.has(id) {
			parents = append(parents, id)
		}
	}
	stored, err := w.lookup(parents)
	if err != nil {
		return nil, err
	}
	for id, n := range stored {
		w.nodes.put(id, *n)
	}
	inBatch := map[string]*pending{}
	var ready []*pending
	var add func(p *pending)
	add = func(p *pending) {
		if p.skipped != "" {
			w.countSkip(p, p.skipped)
			// Its replies go on: they attach where a missing parent's do.
			for _, child := range w.takeWaiting(p.c.SourceID) {
				child.c.ParentSourceID = ""
				w.orphanNote(child, p.c.SourceID)
				add(child)
			}
			return
		}
		ready = append(ready, p)
		inBatch[p.c.SourceID] = p
		for _, child := range w.takeWaiting(p.c.SourceID) {
			child.parent, child.parentAt = p, nil
			add(child)
		}
	}
	for _, p := range batch {
		pid := p.c.ParentSourceID
		switch {
		case pid == "":
			add(p)
		case inBatch[pid] != nil:
			p.parent = inBatch[pid]
			add(p)
		case w.nodes.has(pid):
			n := w.nodes.get(pid)
			p.parentAt = &n
			add(p)
		case stored[pid] != nil: // found in the database; the index may have started over since
			p.parentAt = stored[pid]
			add(p)
		default:
			w.waiting[pid] = append(w.waiting[pid], p)
		}
	}
	return ready, nil
}

func (w *writer) takeWaiting(id string) []*pending {
	ws := w.waiting[id]
	delete(w.waiting, id)
	return ws
}

// release returns the replies that waited for a comment found already stored.
func (w *writer) release(id string) []*pending {
	var out []*pending
	for _, child := range w.takeWaiting(id) {
		n := w.nodes.get(id)
		child.parentAt = &n
		out = append(out, child)
	}
	return out
}

func (w *writer) orphanNote(p *pending, parent string) {
	w.mu.Lock()
	w.sum.note("comment %s: its parent %s is not in the file or not imported: imported as a top-level comment", p.c.SourceID, parent)
	w.mu.Unlock()
}

// store writes one planned batch in one transaction.
func (w *writer) store(ready []*pending) error {
	if len(ready) == 0 {
		return nil
	}
	var touched []uint
	var held time.Duration
	err := w.write(func(tx *gorm.DB) error {
		began := time.Now()
		defer func() { held = time.Since(began) }()
		touched = touched[:0]
		if err := w.createArticles(tx, ready); err != nil {
			return err
		}
		ids, err := w.allocate(tx, len(ready))
		if err != nil {
			return err
		}
		rows := make([]*models.Comment, 0, len(ready))
		for i, p := range ready {
			p.link(ids[i])
			rows = append(rows, p.row(w.now))
		}
		if w.opt.DryRun {
			return nil
		}
		if err := insertComments(tx, rows); err != nil {
			return fmt.Errorf("insert comments: %w", err)
		}
		if err := w.insertSources(tx, ready); err != nil {
			return fmt.Errorf("record source ids: %w", err)
		}
		seen := map[uint]bool{}
		for _, p := range ready {
			if !seen[p.node.article] {
				seen[p.node.article] = true
				touched = append(touched, p.node.article)
			}
		}
		return moderation.Recount(tx, touched...)
	})
	if err != nil {
		return err
	}
	w.mu.Lock()
	if !w.opt.DryRun {
		w.sum.Batches++
		w.sum.SlowestBatchMS = max(w.sum.SlowestBatchMS, float64(held.Microseconds())/1000)
	}
	for _, p := range ready {
		w.nodes.put(p.c.SourceID, p.node)
		w.sum.Created++
		p.thread.summary.Created++
		if p.c.Status == models.StatusDeleted {
			w.tombs = append(w.tombs, p.node.id)
		}
	}
	sum := *w.sum
	w.mu.Unlock()
	if w.opt.Progress != nil {
		w.opt.Progress(sum)
	}
	return nil
}

// write runs fn in a write transaction, or without one on a dry run.
func (w *writer) write(fn func(tx *gorm.DB) error) error {
	if w.opt.DryRun {
		return fn(nil)
	}
	return w.st.WriteTx(w.ctx, fn)
}

// createArticles makes the articles of new threads in the batch. A thread
// made meanwhile by a first comment on the page is taken as it is.
func (w *writer) createArticles(tx *gorm.DB, ready []*pending) error {
	for _, p := range ready {
		ts := p.thread
		if ts.article != 0 {
			continue
		}
		if w.opt.DryRun {
			w.fakeID++
			ts.article = w.fakeID
			continue
		}
		published := ts.src.CreatedAt
		if published.IsZero() {
			published = p.c.CreatedAt
		}
		a := models.Article{SiteID: w.opt.Site, Slug: ts.key, Title: ts.title, URL: ts.url, PublishedAt: published,
			CommentsLocked: ts.src.Closed, ModerationMode: "post", CreatedAt: w.now, UpdatedAt: w.now}
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&a).Error; err != nil {
			return fmt.Errorf("create thread %s: %w", ts.key, err)
		}
		if a.ID == 0 {
			if err := tx.Raw("SELECT id FROM articles WHERE site_id = ? AND slug = ?", w.opt.Site, ts.key).Scan(&a.ID).Error; err != nil {
				return err
			}
		}
		ts.article = a.ID
	}
	return nil
}

// allocate reserves n comment ids, so that replies in the batch can name
// their parents before any row is written. On SQLite the import holds the
// only writer, so the ids above the largest are free; PostgreSQL hands them
// out from the table's sequence.
func (w *writer) allocate(tx *gorm.DB, n int) ([]uint, error) {
	ids := make([]uint, n)
	if w.opt.DryRun {
		for i := range ids {
			w.fakeID++
			ids[i] = w.fakeID
		}
		return ids, nil
	}
	if w.st.Dialect == "postgres" {
		if err := tx.Raw("SELECT nextval(pg_get_serial_sequence('comments', 'id')) FROM generate_series(1, ?)", n).Scan(&ids).Error; err != nil {
			return nil, fmt.Errorf("allocate comment ids: %w", err)
		}
		return ids, nil
	}
	var top uint
	if err := tx.Raw("SELECT COALESCE(MAX(id), 0) FROM comments").Scan(&top).Error; err != nil {
		return nil, fmt.Errorf("allocate comment ids: %w", err)
	}
	for i := range ids {
		ids[i] = top + uint(i) + 1
	}
	return ids, nil
}

// link sets the comment's place in its thread from its parent, with the
// depth cap of a reply posted in Parley (moderation.MaxDepth): a reply
// below the deepest level attaches beside its parent.
func (p *pending) link(id uint) {
	p.node = node{id: id, article: p.thread.article}
	var parent node
	switch {
	case p.parent != nil:
		parent = p.parent.node
	case p.parentAt != nil:
		parent = *p.parentAt
	default:
		return
	}
	if parent.article != p.node.article || parent.id == 0 {
		return // a parent on another page: the reply starts its own thread
	}
	if parent.depth >= moderation.MaxDepth-1 {
		p.node.root, p.node.depth = parent.root, parent.depth
		p.node.parentID = parent.parentID
		return
	}
	root := parent.root
	if root == 0 {
		root = parent.id
	}
	p.node.root, p.node.depth, p.node.parentID = root, parent.depth+1, parent.id
}

func (p *pending) row(now time.Time) *models.Comment {
	c := p.c
	row := &models.Comment{ID: p.node.id, ArticleID: p.node.article, Depth: p.node.depth, IP: truncateBytes(c.IP, 64),
		Body: p.body, BodyHTML: p.html, RenderVersion: markup.Version, Status: c.Status, Score: c.Score,
		CreatedAt: c.CreatedAt, UpdatedAt: now}
	if p.node.parentID != 0 {
		parent, root := p.node.parentID, p.node.root
		row.ParentID, row.RootID = &parent, &root
	}
	switch {
	case c.Status == models.StatusDeleted:
		row.IP = ""
	case p.author != 0:
		author := p.author
		row.AuthorID = &author
		row.BodyHash = moderation.HashBody(p.body)
	default:
		row.GuestName = truncateBytes(markup.CleanName(c.AuthorName), 256)
		if row.GuestName == "" {
			row.GuestName = "Anonymous"
		}
		row.GuestEmail = truncateBytes(strings.TrimSpace(c.AuthorEmail), 320)
		row.BodyHash = moderation.HashBody(p.body)
	}
	return row
}

// commentColumns are the columns an imported comment fills, in the order
// commentValues gives them.
const commentColumns = "id, article_id, parent_id, root_id, depth, author_id, guest_name, guest_email, ip, body, body_html, " +
	"body_hash, render_version, status, holds, shadow, score, created_at, edited_at, updated_at"

func commentValues(c *models.Comment) []any {
	return []any{c.ID, c.ArticleID, c.ParentID, c.RootID, c.Depth, c.AuthorID, c.GuestName, c.GuestEmail, c.IP, c.Body, c.BodyHTML,
		c.BodyHash, c.RenderVersion, c.Status, c.Holds, c.Shadow, c.Score, c.CreatedAt, c.EditedAt, c.UpdatedAt}
}

// insertRows is the rows one INSERT statement carries: few enough for
// both databases' limits on parameters, and two statement shapes at most
// per batch (a full chunk and the rest), which the writer keeps prepared.
const insertRows = 64

// insertComments writes rows with their allocated ids in multi-row
// INSERTs: GORM's Create reflects on every row and reads each id back,
// which took most of the writer's time.
func insertComments(tx *gorm.DB, rows []*models.Comment) error {
	for chunk := range chunks(rows, insertRows) {
		args := make([]any, 0, len(chunk)*20)
		for _, c := range chunk {
			args = append(args, commentValues(c)...)
		}
		q := "INSERT INTO comments (" + commentColumns + ") VALUES " + placeholders(len(chunk), 20)
		if err := tx.Exec(q, args...).Error; err != nil {
			return err
		}
	}
	return nil
}

func (w *writer) insertSources(tx *gorm.DB, ready []*pending) error {
	for chunk := range chunks(ready, insertRows) {
		args := make([]any, 0, len(chunk)*4)
		for _, p := range chunk {
			args = append(args, w.opt.Site, w.opt.Format, p.c.SourceID, p.node.id)
		}
		q := "INSERT INTO import_sources (site_id, format, source_id, comment_id) VALUES " + placeholders(len(chunk), 4)
		if err := tx.Exec(q, args...).Error; err != nil {
			return err
		}
	}
	return nil
}

// placeholders is "(?, ?), (?, ?)" for rows of cols values.
func placeholders(rows, cols int) string {
	one := "(" + strings.Repeat("?, ", cols-1) + "?)"
	return strings.Repeat(one+", ", rows-1) + one
}

// maxKnownEmails bounds the writer's memory of which e-mail addresses
// belong to an account; past it, addresses are looked up again.
const maxKnownEmails = 100_000

// linkAuthors gives a comment to the account whose e-mail address it
// carries, when that account has verified the address: anyone can type
// someone else's address into an old comment form, so an unverified match
// proves nothing and the comment stays a guest's.
func (w *writer) linkAuthors(batch []*pending) error {
	var ask []string
	seen := map[string]bool{}
	for _, p := range batch {
		e := strings.ToLower(strings.TrimSpace(p.c.AuthorEmail))
		if e == "" || p.c.Status == models.StatusDeleted {
			continue
		}
		if _, known := w.emails[e]; !known && !seen[e] {
			seen[e] = true
			ask = append(ask, e)
		}
	}
	if len(ask) > 0 {
		var rows []struct {
			ID    uint
			Email string
		}
		if err := w.st.Read.WithContext(w.ctx).Raw(`SELECT id, email FROM users WHERE email_verified_at IS NOT NULL AND LOWER(email) IN ?`, ask).
			Scan(&rows).Error; err != nil {
			return models.MapError(err)
		}
		if len(w.emails) > maxKnownEmails {
			clear(w.emails)
		}
		for _, e := range ask {
			w.emails[e] = 0
		}
		for _, r := range rows {
			w.emails[strings.ToLower(r.Email)] = r.ID
		}
	}
	for _, p := range batch {
		p.author = w.emails[strings.ToLower(strings.TrimSpace(p.c.AuthorEmail))]
	}
	return nil
}

// finish stores the replies whose parent never came (at the top of their
// thread) and removes the tombstones of this import that have no replies:
// Parley keeps a deleted comment only to hold its replies in place.
func (w *writer) finish() error {
	for len(w.waiting) > 0 {
		var orphans []*pending
		for parent, ps := range w.waiting {
			for _, p := range ps {
				w.orphanNote(p, parent)
				p.c.ParentSourceID = ""
				orphans = append(orphans, p)
			}
			delete(w.waiting, parent)
		}
		for len(orphans) > 0 {
			n := min(len(orphans), batchSize)
			ready, err := w.plan(orphans[:n])
			if err != nil {
				return err
			}
			if err := w.store(ready); err != nil {
				return err
			}
			orphans = orphans[n:]
		}
	}
	return w.dropBareTombstones()
}

func (w *writer) dropBareTombstones() error {
	if w.opt.DryRun || len(w.tombs) == 0 {
		return nil
	}
	var dropped int
	for chunk := range chunks(w.tombs, 500) {
		for range moderation.MaxDepth + 1 { // a chain of tombstones goes a level at a time
			var articles []uint
			var n int64
			err := w.st.WriteTx(w.ctx, func(tx *gorm.DB) error {
				if err := tx.Raw(`SELECT DISTINCT article_id FROM comments t WHERE t.id IN ? AND t.status = ?
					AND NOT EXISTS (SELECT 1 FROM comments c WHERE c.parent_id = t.id)`, chunk, models.StatusDeleted).Scan(&articles).Error; err != nil {
					return err
				}
				res := tx.Exec(`DELETE FROM comments WHERE id IN ? AND status = ?
					AND NOT EXISTS (SELECT 1 FROM comments c WHERE c.parent_id = comments.id)`, chunk, models.StatusDeleted)
				if res.Error != nil {
					return res.Error
				}
				n = res.RowsAffected
				return moderation.Recount(tx, articles...)
			})
			if err != nil {
				return fmt.Errorf("drop deleted comments without replies: %w", err)
			}
			dropped += int(n)
			if n == 0 {
				break
			}
		}
	}
	if dropped > 0 {
		w.mu.Lock()
		w.sum.note("%d deleted comments without replies were not kept (Parley keeps a deleted comment only to hold its replies)", dropped)
		w.mu.Unlock()
	}
	return nil
}

func chunks[T any](s []T, n int) func(func([]T) bool) {
	return func(yield func([]T) bool) {
		for len(s) > 0 {
			k := min(n, len(s))
			if !yield(s[:k]) {
				return
			}
			s = s[k:]
		}
	}
}

func truncateBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// nodeIndex remembers where the comments stored by this import went, by
// source id, so that a reply finds its parent without a query. Most sources
// number their comments, and a number-keyed map takes a third of the memory
// of a string-keyed one. It is a cache: past maxNodes entries it starts
// over, and a reply whose parent it forgot finds it through import_sources
// (writer.lookup), so memory stays flat however large the file. A dry run
// stores nothing to look up, and keeps every entry.
type nodeIndex struct {
	byNum map[uint64]node
	byStr map[string]node
	keep  bool // never forget (dry runs)
}

// maxNodes bounds the index: about 10 MB (a variable for the tests).
var maxNodes = 100_000

func newNodeIndex() nodeIndex {
	return nodeIndex{byNum: map[uint64]node{}, byStr: map[string]node{}}
}

func numericID(id string) (uint64, bool) {
	n, err := strconv.ParseUint(id, 10, 64)
	return n, err == nil && strconv.FormatUint(n, 10) == id
}

func (x *nodeIndex) put(id string, n node) {
	if !x.keep && len(x.byNum)+len(x.byStr) >= maxNodes {
		// New maps: clear keeps a map's grown buckets.
		x.byNum, x.byStr = map[uint64]node{}, map[string]node{}
	}
	if k, ok := numericID(id); ok {
		x.byNum[k] = n
		return
	}
	x.byStr[id] = n
}

func (x *nodeIndex) get(id string) node {
	if k, ok := numericID(id); ok {
		return x.byNum[k]
	}
	return x.byStr[id]
}

func (x *nodeIndex) has(id string) bool {
	if k, ok := numericID(id); ok {
		_, found := x.byNum[k]
		return found
	}
	_, found := x.byStr[id]
	return found
}
