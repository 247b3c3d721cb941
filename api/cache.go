package api

import (
	"container/list"
	"context"
	"encoding/binary"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/cespare/xxhash/v2"
	"github.com/labstack/echo/v4"
	"golang.org/x/sync/singleflight"

	"github.com/parley-comments/parley/models"
)

// defaultPageCacheBytes bounds the encoded pages kept in memory: about forty
// 200-comment pages. The garbage collector lets the heap grow to twice what
// is live, so the cache costs twice its size in memory; at 8 MB the whole
// process stays under 64 MB.
const defaultPageCacheBytes = 8 << 20

// buildTimeout bounds a shared page build. The build outlives the request
// that started it (others may be waiting on it), so it gets its own deadline.
const buildTimeout = 10 * time.Second

// pageKey names one anonymous thread page.
type pageKey struct {
	article uint
	sort    string
	limit   int
	cursor  string
}

// page is an encoded response body, the article version it was built for,
// its validator and, for a shared page, its comments' marks.
type page struct {
	version int64
	body    []byte
	etag    string
	marks   []commentMark

	// gz and br are body compressed, for a shared page worth compressing
	// (set before the page is shared, read-only after).
	gz, br []byte
}

// compress fills gz and br once, when the shared page is built, and
// reports whether the page was worth it.
func (p *page) compress() bool {
	if len(p.body) < minCompressSize {
		return false
	}
	p.gz, p.br = compressBody(p.body)
	return true
}

// newPage wraps an encoded body; the ETag hashes the bytes themselves, so
// two instances that build the same page hand out the same validator.
func newPage(version int64, body []byte, marks []commentMark) *page {
	return &page{version: version, body: body, etag: `"` + strconv.FormatUint(xxhash.Sum64(body), 16) + `"`, marks: marks}
}

// cost is what a page holds in memory, roughly.
func (p *page) cost() int {
	return cap(p.body) + len(p.gz) + len(p.br) + cap(p.marks)*int(unsafe.Sizeof(commentMark{})) + 200
}

// personalize appends to out the page as a signed-in reader sees it when
// the shared page already holds every comment they may see (they have
// nothing pending on the article and are no moderator): the same bytes with
// their votes in my_vote and the Markdown source of their own comments in
// body. bodies must hold the source of each of the reader's comments on the
// page.
//
// The ETag hashes what the page is made of (the shared page's ETag and what
// was spliced where) rather than its bytes, which would cost a pass over
// the whole page per request.
func (p *page) personalize(out []byte, userID uint, votes map[uint]int, bodies map[uint]string) ([]byte, string) {
	extra := 0
	for _, src := range bodies {
		extra += len(src) + len(src)/8 + 16
	}
	out = slices.Grow(out, len(p.body)+extra+2*len(votes))
	var d xxhash.Digest
	d.Reset()
	d.WriteString(p.etag)
	var num [8]byte
	word := func(n uint64) {
		binary.LittleEndian.PutUint64(num[:], n)
		d.Write(num[:])
	}
	last := 0
	for _, m := range p.marks {
		if m.author == userID {
			out = append(out, p.body[last:m.bodyAt]...)
			start := len(out)
			out = append(out, `"body":`...)
			out = appendJSONString(out, bodies[m.id])
			out = append(out, ',')
			last = m.bodyAt
			word(uint64(m.bodyAt))
			word(uint64(len(out) - start))
			d.Write(out[start:])
		}
		if v := votes[m.id]; v != 0 {
			out = append(out, p.body[last:m.voteAt]...)
			out = strconv.AppendInt(out, int64(v), 10)
			last = m.voteAt + 1 // past the shared page's 0
			word(uint64(m.voteAt))
			word(uint64(int64(v)))
		}
	}
	return append(out, p.body[last:]...), `"` + strconv.FormatUint(d.Sum64(), 16) + `"`
}

// ownComments lists the page's comments written by userID.
func (p *page) ownComments(userID uint) []uint {
	var own []uint
	for _, m := range p.marks {
		if m.author == userID {
			own = append(own, m.id)
		}
	}
	return own
}

type cacheEntry struct {
	key  pageKey
	page *page
}

// pageCache keeps the encoded JSON of anonymous thread pages. An entry is
// used only while the article's version, read from the database on every
// request, is the one the entry was built for: every write that changes what
// a thread shows bumps that version in the same transaction, so a page is
// never served after its thread changed, whichever instance wrote. Concurrent
// misses of one page share a single build; memory is capped, least recently
// used pages going first.
type pageCache struct {
	maxBytes int

	mu    sync.Mutex
	items map[pageKey]*list.Element
	lru   list.List // of *cacheEntry, most recently used first
	bytes int

	flights singleflight.Group

	hits, misses, evictions atomic.Uint64
	compressions            atomic.Uint64 // pages compressed, one per page and version
}

func newPageCache(maxBytes int) *pageCache {
	return &pageCache{maxBytes: maxBytes, items: map[pageKey]*list.Element{}}
}

// get returns the page for key at version, building it with build on a miss.
// hit reports whether it came from memory.
func (pc *pageCache) get(ctx context.Context, key pageKey, version int64, build func(context.Context) (*page, error)) (p *page, hit bool, err error) {
	if p := pc.lookup(key, version); p != nil {
		pc.hits.Add(1)
		return p, true, nil
	}
	pc.misses.Add(1)
	ch := pc.flights.DoChan(flightKey(key, version), func() (any, error) {
		// A reader that missed just as the previous flight landed finds
		// the page here instead of building it again.
		if p := pc.lookup(key, version); p != nil {
			return p, nil
		}
		bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), buildTimeout)
		defer cancel()
		p, err := build(bctx)
		if err != nil {
			return nil, err
		}
		pc.store(key, p)
		return p, nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, false, r.Err
		}
		return r.Val.(*page), false, nil
	case <-ctx.Done():
		return nil, false, ctx.Err()
	}
}

func flightKey(k pageKey, version int64) string {
	var b strings.Builder
	b.Grow(48 + len(k.cursor))
	b.WriteString(strconv.FormatUint(uint64(k.article), 10))
	b.WriteByte('|')
	b.WriteString(strconv.FormatInt(version, 10))
	b.WriteByte('|')
	b.WriteString(k.sort)
	b.WriteByte('|')
	b.WriteString(strconv.Itoa(k.limit))
	b.WriteByte('|')
	b.WriteString(k.cursor)
	return b.String()
}

func (pc *pageCache) lookup(key pageKey, version int64) *page {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	el, ok := pc.items[key]
	if !ok {
		return nil
	}
	e := el.Value.(*cacheEntry)
	if e.page.version != version {
		return nil
	}
	pc.lru.MoveToFront(el)
	return e.page
}

// store keeps p unless it is too large to be worth a slot: a page over an
// eighth of the cap would push out many others.
func (pc *pageCache) store(key pageKey, p *page) {
	size := p.cost() + len(key.cursor)
	if size > pc.maxBytes/8 {
		return
	}
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if el, ok := pc.items[key]; ok {
		old := el.Value.(*cacheEntry)
		if old.page.version > p.version {
			return // a slower build of an older version finished last
		}
		pc.bytes -= old.page.cost() + len(key.cursor)
		old.page = p
		pc.lru.MoveToFront(el)
	} else {
		pc.items[key] = pc.lru.PushFront(&cacheEntry{key: key, page: p})
	}
	pc.bytes += size
	for pc.bytes > pc.maxBytes {
		el := pc.lru.Back()
		e := el.Value.(*cacheEntry)
		pc.lru.Remove(el)
		delete(pc.items, e.key)
		pc.bytes -= e.page.cost() + len(e.key.cursor)
		pc.evictions.Add(1)
	}
}

// size returns the bytes held and the number of pages.
func (pc *pageCache) size() (bytes, pages int) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	return pc.bytes, len(pc.items)
}

// servePage answers with p, or with 304 Not Modified when the client already
// holds it. cacheControl says who may keep it: anyone for anonymous pages
// (revalidating each time), only the browser for a signed-in reader's.
func servePage(c echo.Context, p *page, cacheControl string) error {
	hd := c.Response().Header()
	hd.Set(echo.HeaderCacheControl, cacheControl)
	// A shared cache must not hand a signed-in reader the anonymous page.
	hd.Add(echo.HeaderVary, echo.HeaderAuthorization)
	// A page compressed when built goes out as it is (the compression
	// middleware leaves a response with a Content-Encoding alone); any
	// other is compressed there, on the fly, if the client accepts it.
	body, etag := p.body, p.etag
	accept := c.Request().Header.Get(echo.HeaderAcceptEncoding)
	switch {
	case p.br != nil && accepts(accept, "br"):
		body, etag = p.br, p.etag[:len(p.etag)-1]+`-br"`
		hd.Set(echo.HeaderContentEncoding, "br")
	case p.gz != nil && accepts(accept, "gzip"):
		body, etag = p.gz, p.etag[:len(p.etag)-1]+`-gzip"`
		hd.Set(echo.HeaderContentEncoding, "gzip")
	}
	if p.gz != nil && !slices.Contains(hd.Values(echo.HeaderVary), echo.HeaderAcceptEncoding) {
		hd.Add(echo.HeaderVary, echo.HeaderAcceptEncoding)
	}
	hd.Set("ETag", etag)
	// The compression middleware took any encoding suffix off the tags.
	if etagMatches(c.Request().Header.Get("If-None-Match"), p.etag) {
		return c.NoContent(304)
	}
	hd.Set(echo.HeaderContentLength, strconv.Itoa(len(body)))
	return c.Blob(200, echo.MIMEApplicationJSON, body)
}

// etagMatches applies If-None-Match's weak comparison (RFC 9110 13.1.2).
func etagMatches(header, etag string) bool {
	if header == "" {
		return false
	}
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}

// maxArticleRefs bounds the articles articleRefs remembers; past it, it
// forgets them all at once, as the next write would.
const maxArticleRefs = 10000

// articleRefs remembers articles' thread facts (id, count, version) between
// writes, on SQLite only. There this process makes every write (the data dir
// is locked to it) and Store.Writes counts them, so facts read once the count
// was n still hold while it is n. That saves the one query a cached anonymous
// read made (a tenth of its time). On PostgreSQL other instances write too,
// and each read asks the database.
type articleRefs struct {
	mu     sync.Mutex
	writes uint64
	refs   map[string]models.ArticleRef
}

func (r *articleRefs) get(slug string, writes uint64) (models.ArticleRef, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.writes != writes {
		return models.ArticleRef{}, false
	}
	a, ok := r.refs[slug]
	return a, ok
}

func (r *articleRefs) put(slug string, writes uint64, a models.ArticleRef) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case writes < r.writes:
		return // read before a write that a newer entry already saw
	case writes > r.writes || len(r.refs) >= maxArticleRefs || r.refs == nil:
		r.writes, r.refs = writes, map[string]models.ArticleRef{}
	}
	r.refs[slug] = a
}

// threadArticle returns the facts of a site's thread, from memory when no
// write happened since they were read (see articleRefs; on PostgreSQL, the
// change bus says when another instance wrote).
func (h *handler) threadArticle(ctx context.Context, site, slug string) (models.ArticleRef, error) {
	writes, local := h.store.Writes()
	if !local && h.cfg.Bus != nil {
		// On PostgreSQL the change bus hears every instance's writes: what
		// was read under one generation holds until the next.
		writes, local = h.cfg.Bus.Generation()
	}
	if !local {
		return models.ThreadArticle(ctx, h.store.Read, site, slug)
	}
	ref := slug
	if site != models.DefaultSite {
		ref = site + "\x00" + slug // no key holds a NUL (sites.NormalizeKey)
	}
	if a, ok := h.refs.get(ref, writes); ok {
		return a, nil
	}
	a, err := models.ThreadArticle(ctx, h.store.Read, site, slug)
	if err != nil {
		return a, err
	}
	h.refs.put(ref, writes, a)
	return a, nil
}

// threadPage returns a thread page as viewer sees it, with the Cache-Control
// it may be kept under. Pages come from the page cache, keyed on the
// article's version, read from the database on every request (on SQLite,
// from memory while no write has happened since: see articleRefs). A
// signed-in reader who sees what the public sees (no moderator, nothing of
// theirs pending on the article) gets the shared page with their votes and
// sources spliced in; anyone else's page is built for them. A page made for
// one reader is written into *buf, which the caller recycles.
func (h *handler) threadPage(ctx context.Context, a models.ArticleRef, slug string, q models.ThreadQuery, viewer *models.User, buf *[]byte) (*page, string, error) {
	q.ArticleID = a.ID
	var facts models.ReaderFacts
	var err error
	if viewer != nil {
		if facts, err = models.LoadReaderFacts(ctx, h.store.Read, a.ID, viewer.ID); err != nil {
			return nil, "", err
		}
	}
	if h.pages != nil && !viewer.IsModerator() {
		var p *page
		if !facts.Pending { // the public page lacks their pending comments
			if p, err = h.sharedPage(ctx, q, a, slug); err != nil {
				return nil, "", err
			}
		}
		if viewer == nil {
			return p, "no-cache", nil
		}
		if p != nil {
			mine, err := h.personalize(ctx, p, viewer.ID, facts.Votes, (*buf)[:0])
			if err != nil {
				return nil, "", err
			}
			if mine != nil {
				*buf = mine.body
				return mine, "private, no-cache", nil
			}
		}
	}
	cacheControl := "no-cache"
	if viewer != nil {
		q.Viewer = models.Viewer{UserID: viewer.ID, Moderator: viewer.IsModerator()}
		cacheControl = "private, no-cache"
	}
	p, err := h.buildPage(ctx, q, a, slug, viewer, facts.Votes, (*buf)[:0], false)
	if err != nil {
		return nil, "", err
	}
	*buf = p.body
	return p, cacheControl, nil
}
