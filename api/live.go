package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/parley-comments/parley/events"
	"github.com/parley-comments/parley/fault"
	"github.com/parley-comments/parley/models"
)

// Live stream defaults (Config can change them).
const (
	defaultLiveStreams   = 5000 // per instance: about 20 KB each when idle
	defaultLivePerClient = 8    // per client IP: a reader's tabs
	defaultHeartbeat     = 20 * time.Second
	// streamBuffer is how many frames a stream may fall behind before it
	// is dropped (its client reconnects and replays what it missed).
	streamBuffer = 64
	// replayLimit caps a reconnect's replay; past it the client reloads.
	replayLimit = 500
)

// frame is one Server-Sent Event, encoded once for every stream.
type frame struct {
	id   uint64
	data []byte
}

// stream is one open SSE connection on an article.
type stream struct {
	article uint
	client  string
	frames  chan frame
	gone    chan struct{} // closed when the hub drops the stream
	once    sync.Once
}

func (s *stream) drop() { s.once.Do(func() { close(s.gone) }) }

// liveHub fans the bus's public events out to the streams open on this
// instance: it loads each event's comment once and encodes one frame for
// every stream of that article.
type liveHub struct {
	store     *models.Store
	bus       *events.Bus
	max       int
	perClient int
	heartbeat time.Duration

	mu      sync.Mutex
	streams map[uint]map[*stream]struct{}
	total   int
	clients map[string]int
	closed  bool
}

func newLiveHub(cfg Config) *liveHub {
	h := &liveHub{store: cfg.Store, bus: cfg.Bus, max: cfg.LiveStreams, perClient: cfg.LivePerClient, heartbeat: cfg.LiveHeartbeat,
		streams: map[uint]map[*stream]struct{}{}, clients: map[string]int{}}
	if h.max <= 0 {
		h.max = defaultLiveStreams
	}
	if h.perClient <= 0 {
		h.perClient = defaultLivePerClient
	}
	if h.heartbeat <= 0 {
		h.heartbeat = defaultHeartbeat
	}
	go h.run()
	return h
}

var (
	errLiveFull   = &fault.Error{Code: fault.Unavailable, Message: "too many live streams on this server; try again later", RetryAfter: 30 * time.Second}
	errLiveClient = &fault.Error{Code: fault.RateLimited, Message: "too many live streams from this client", RetryAfter: 30 * time.Second}
	errLiveOff    = &fault.Error{Code: fault.Unavailable, Message: "live updates are shutting down", RetryAfter: 5 * time.Second}
)

func (h *liveHub) open(article uint, client string) (*stream, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.closed:
		return nil, errLiveOff
	case h.total >= h.max:
		return nil, errLiveFull
	case h.clients[client] >= h.perClient:
		return nil, errLiveClient
	}
	s := &stream{article: article, client: client, frames: make(chan frame, streamBuffer), gone: make(chan struct{})}
	if h.streams[article] == nil {
		h.streams[article] = map[*stream]struct{}{}
	}
	h.streams[article][s] = struct{}{}
	h.total++
	h.clients[client]++
	return s, nil
}

func (h *liveHub) close(s *stream) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.streams[s.article][s]; !ok {
		return
	}
	delete(h.streams[s.article], s)
	if len(h.streams[s.article]) == 0 {
		delete(h.streams, s.article)
	}
	h.total--
	if h.clients[s.client]--; h.clients[s.client] == 0 {
		delete(h.clients, s.client)
	}
	s.drop()
}

// count returns the streams open on this instance.
func (h *liveHub) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.total
}

// run follows the bus until it stops, then ends every stream.
func (h *liveHub) run() {
	for {
		sub := h.bus.Subscribe(4096)
		for e := range sub.C {
			h.deliver(e)
		}
		if h.bus.Stopped() {
			h.shutdown()
			return
		}
		// Dropped for falling behind: every stream may have missed events,
		// so each reconnects and replays from its Last-Event-ID.
		h.dropAll()
	}
}

func (h *liveHub) deliver(e models.Event) {
	if !e.Public || e.CommentID == 0 {
		return
	}
	h.mu.Lock()
	n := len(h.streams[e.ArticleID])
	h.mu.Unlock()
	if n == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	f, err := buildFrame(ctx, h.store, e)
	if err != nil {
		h.dropArticle(e.ArticleID) // they replay it on reconnect
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.streams[e.ArticleID] {
		select {
		case s.frames <- f:
		default:
			s.drop() // a slow reader: it reconnects and replays
		}
	}
}

func (h *liveHub) dropArticle(article uint) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.streams[article] {
		s.drop()
	}
}

func (h *liveHub) dropAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, ss := range h.streams {
		for s := range ss {
			s.drop()
		}
	}
}

func (h *liveHub) shutdown() {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	h.dropAll()
}

// liveView is the data of a live event: what a widget needs to update the
// comment in place, or to count it as new. The widget fetches a changed
// comment's body itself, through the same visibility checks as any read.
type liveView struct {
	CommentID uint       `json:"comment_id"`
	ParentID  *uint      `json:"parent_id"`
	Score     int        `json:"score"`
	EditedAt  *time.Time `json:"edited_at"`
}

// buildFrame encodes the event as the public may see it, from its comment's
// current state: "comment" (new or newly shown), "edit", "score", or
// "remove" (deleted, hidden or turned into a tombstone).
func buildFrame(ctx context.Context, store *models.Store, e models.Event) (frame, error) {
	var c models.Comment
	err := store.Read.WithContext(ctx).Select("id", "parent_id", "status", "shadow", "score", "edited_at").Take(&c, e.CommentID).Error
	name := "remove"
	v := liveView{CommentID: e.CommentID}
	switch err = models.MapError(err); {
	case errors.Is(err, models.ErrNotFound):
	case err != nil:
		return frame{}, err
	case c.Status == models.StatusApproved && !c.Shadow:
		v.ParentID, v.Score, v.EditedAt = c.ParentID, c.Score, c.EditedAt
		switch e.Kind {
		case events.CommentEdited:
			name = "edit"
		case events.CommentVoted:
			name = "score"
		default:
			name = "comment"
		}
	}
	data, err := json.Marshal(v)
	if err != nil {
		return frame{}, err
	}
	return frame{id: e.ID, data: fmt.Appendf(nil, "id: %d\nevent: %s\ndata: %s\n\n", e.ID, name, data)}, nil
}

// GET /api/v1/articles/:slug/live
//
// A Server-Sent Events stream of the article's public changes. A client that
// reconnects with Last-Event-ID (or ?last_event_id=) first gets what it
// missed; one that was away longer than the events are kept gets a "reset"
// event and reloads the thread.
func (h *handler) liveThread(c echo.Context) error {
	return h.stream(c, models.DefaultSite, c.Param("slug"))
}

// GET /api/v1/sites/:site/live?key=K: the same for a site's page.
func (h *handler) liveSiteThread(c echo.Context) error {
	s, key, err := h.siteKey(c, c.QueryParam("key"))
	if err != nil {
		return err
	}
	return h.stream(c, s.ID, key)
}

func (h *handler) stream(c echo.Context, site, key string) error {
	if h.live == nil {
		return errLiveOff
	}
	ctx := c.Request().Context()
	a, err := models.ThreadArticle(ctx, h.store.Read, site, key)
	if err != nil {
		return err
	}
	last, resume, err := lastEventID(c)
	if err != nil {
		return err
	}
	if isHead(c) { // the headers say it all
		streamHeaders(c.Response().Header())
		return c.NoContent(http.StatusOK)
	}
	s, err := h.live.open(a.ID, c.RealIP())
	if err != nil {
		return err
	}
	defer h.live.close(s)
	// Registered before the replay is read, so nothing falls between them;
	// frames the replay already sent are skipped by id.
	replay, reset, err := h.replay(ctx, a.ID, last, resume)
	if err != nil {
		return err
	}
	w := c.Response()
	streamHeaders(w.Header())
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w.Writer)
	send := func(b []byte) error {
		// Each write gets its own deadline rather than lifting the server's
		// WriteTimeout for every route.
		if err := rc.SetWriteDeadline(time.Now().Add(h.live.heartbeat + 10*time.Second)); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return err
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
		return rc.Flush()
	}
	head := []byte("retry: 2000\n\n")
	if reset {
		head = append(head, "event: reset\ndata: {}\n\n"...)
	}
	if err := send(append(head, replay.data...)); err != nil {
		return nil
	}
	sent := replay.id
	tick := time.NewTicker(h.live.heartbeat)
	defer tick.Stop()
	for {
		select {
		case f := <-s.frames:
			if f.id <= sent {
				continue
			}
			sent = f.id
			if send(f.data) != nil {
				return nil
			}
		case <-tick.C:
			if send([]byte(": ping\n\n")) != nil {
				return nil
			}
		case <-s.gone:
			return nil
		case <-ctx.Done():
			return nil
		}
	}
}

func streamHeaders(hd http.Header) {
	hd.Set(echo.HeaderContentType, "text/event-stream")
	hd.Set(echo.HeaderCacheControl, "no-store")
	hd.Set("X-Accel-Buffering", "no") // proxies must pass events at once
}

// replay encodes what a resuming client missed since last, or, on a first
// connection, just the current position: the id to resume from.
func (h *handler) replay(ctx context.Context, article uint, last uint64, resume bool) (frame, bool, error) {
	if !resume {
		id, err := events.Latest(ctx, h.store)
		if err != nil {
			return frame{}, false, err
		}
		return frame{id: id, data: fmt.Appendf(nil, "id: %d\nevent: ready\ndata: {}\n\n", id)}, false, nil
	}
	evs, gone, err := events.Replay(ctx, h.store, article, last, replayLimit)
	if err != nil {
		return frame{}, false, err
	}
	if gone || len(evs) == replayLimit {
		id, err := events.Latest(ctx, h.store)
		return frame{id: id, data: fmt.Appendf(nil, "id: %d\n", id)}, true, err
	}
	out := frame{id: last}
	for _, e := range evs {
		f, err := buildFrame(ctx, h.store, e)
		if err != nil {
			return frame{}, false, err
		}
		out.id = f.id
		out.data = append(out.data, f.data...)
	}
	return out, false, nil
}

// lastEventID returns where a resuming client left off, and whether it is
// resuming at all (0 is a position: before the first event).
func lastEventID(c echo.Context) (uint64, bool, error) {
	raw := c.Request().Header.Get("Last-Event-ID")
	if raw == "" {
		raw = c.QueryParam("last_event_id")
	}
	if raw == "" {
		return 0, false, nil
	}
	n, err := strconv.ParseUint(raw, 10, 63)
	if err != nil {
		return 0, false, badRequest("Last-Event-ID must be an event id", map[string]string{"last_event_id": "an event id"})
	}
	return n, true, nil
}
