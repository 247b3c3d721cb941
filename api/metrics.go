package api

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"gorm.io/gorm"

	"github.com/parley-comments/parley/buildinfo"
	"github.com/parley-comments/parley/models"
)

// latencyBuckets start at half a millisecond: a cached thread page is
// answered well under one, and the default buckets would lump those together.
var latencyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// metrics are the server's Prometheus metrics, in a registry of its own so
// that tests can build many servers in one process.
type metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	posted   *prometheus.CounterVec
	security *prometheus.CounterVec
}

func newMetrics(store *models.Store, pages *pageCache, live *liveHub) *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parley_http_requests_total",
			Help: "HTTP requests answered, by method, route pattern and status.",
		}, []string{"method", "route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "parley_http_request_duration_seconds",
			Help:    "Time to answer HTTP requests, by method, route pattern and status.",
			Buckets: latencyBuckets,
		}, []string{"method", "route", "status"}),
		posted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parley_comments_posted_total",
			Help: "Comments submitted, by outcome: approved or pending (stored), refused (a 4xx answer) or failed (a 5xx answer).",
		}, []string{"status"}),
		security: newSecurityEvents(),
	}
	m.registry.MustRegister(m.requests, m.latency, m.posted, m.security, buildInfoGauge(),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&queueCollector{store: store},
	)
	if pages != nil {
		m.registerCache(pages)
	}
	if live != nil {
		m.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "parley_live_streams", Help: "Live thread streams (Server-Sent Events) open on this instance.",
		}, func() float64 { return float64(live.count()) }))
	}
	if store.Path != "" {
		m.registry.MustRegister(
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "parley_sqlite_wal_bytes", Help: "Size of the SQLite write-ahead log file; truncated to 0 when writes go quiet, unless a reader holds it.",
			}, func() float64 { return float64(store.WALBytes()) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name: "parley_sqlite_checkpoints_total", Help: "Quiet-time checkpoints that truncated the WAL.",
			}, func() float64 { done, _ := store.Checkpoints(); return float64(done) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name: "parley_sqlite_checkpoints_blocked_total", Help: "Quiet-time checkpoints a reader on an older snapshot held back (a long-lived reader keeps the WAL growing).",
			}, func() float64 { _, blocked := store.Checkpoints(); return float64(blocked) }),
		)
	}
	m.registry.MustRegister(collectors.NewDBStatsCollector(sqlPool(store.Write), "write"))
	if store.Read != store.Write { // PostgreSQL has one pool for both
		m.registry.MustRegister(collectors.NewDBStatsCollector(sqlPool(store.Read), "read"))
	}
	return m
}

// buildInfoGauge is parley_build_info, 1, labelled with the build, so a
// dashboard can tell which version each instance runs.
func buildInfoGauge() prometheus.Collector {
	b := buildinfo.Get()
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "parley_build_info", Help: "Always 1; the labels name the running build.",
	}, []string{"version", "revision", "goversion"})
	g.WithLabelValues(b.Version, b.Revision, b.GoVersion).Set(1)
	return g
}

func (m *metrics) registerCache(pages *pageCache) {
	m.registry.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "parley_thread_cache_hits_total", Help: "Anonymous thread pages served from memory.",
		}, func() float64 { return float64(pages.hits.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "parley_thread_cache_misses_total", Help: "Anonymous thread pages that had to be built.",
		}, func() float64 { return float64(pages.misses.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "parley_thread_cache_evictions_total", Help: "Thread pages dropped to stay under the cache's size cap.",
		}, func() float64 { return float64(pages.evictions.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "parley_thread_cache_compressions_total", Help: "Thread pages compressed (Brotli and gzip), once per page and version.",
		}, func() float64 { return float64(pages.compressions.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "parley_thread_cache_bytes", Help: "Bytes of encoded thread pages held in memory, compressed forms included.",
		}, func() float64 { b, _ := pages.size(); return float64(b) }),
	)
}

func sqlPool(db *gorm.DB) *sql.DB {
	p, err := db.DB()
	if err != nil {
		panic(fmt.Sprintf("api: no sql.DB behind the store: %v", err)) // Open always builds one
	}
	return p
}

// handler returns GET /metrics in the Prometheus text format. A metric that
// fails to collect (the queue count, when the database is down) is left out
// and logged rather than failing the whole scrape.
func (m *metrics) handler(log *slog.Logger) echo.HandlerFunc {
	return echo.WrapHandler(m.httpHandler(log))
}

// httpHandler is handler for a listener of its own (Config.MetricsMux).
func (m *metrics) httpHandler(log *slog.Logger) http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{
		ErrorHandling: promhttp.ContinueOnError,
		ErrorLog:      promLogger{log},
	})
}

type promLogger struct{ log *slog.Logger }

func (l promLogger) Println(v ...any) { l.log.Warn("metrics", "err", fmt.Sprint(v...)) }

// instrument counts and times every request by its route pattern (not its
// path, which would make a series per comment id). It sits outside the
// other middleware so that it sees the status the error handler wrote.
func (m *metrics) instrument(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		if err := next(c); err != nil {
			c.Error(err)
		}
		route := c.Path()
		if route == "" {
			route = "unmatched"
		}
		status := strconv.Itoa(c.Response().Status)
		method := methodLabel(c.Request().Method)
		m.requests.WithLabelValues(method, route, status).Inc()
		m.latency.WithLabelValues(method, route, status).Observe(time.Since(start).Seconds())
		return nil
	}
}

// commentPosted records a submission's outcome: the stored comment's status,
// or refused or failed from the error's HTTP status.
func (m *metrics) commentPosted(status string, err error) {
	if err != nil {
		status = "refused"
		if code, _, _ := toAPIError(err); code >= 500 {
			status = "failed"
		}
	}
	m.posted.WithLabelValues(status).Inc()
}

// queueCollector reports the moderation queue's depth. It counts at most
// once per queueDepthTTL, however often and from however many scrapers
// /metrics is read, so a scrape costs no query in between.
type queueCollector struct {
	store *models.Store

	mu      sync.Mutex
	depth   float64
	counted time.Time
}

// queueDepthTTL is how stale the reported depth may be: a queue is worked
// through in minutes, and Prometheus scrapes every 15 to 60 s.
const queueDepthTTL = 15 * time.Second

var queueDesc = prometheus.NewDesc("parley_moderation_queue_depth", "Comments waiting for review (status pending), counted at most every 15 s.", nil, nil)

func (q *queueCollector) Describe(ch chan<- *prometheus.Desc) { ch <- queueDesc }

func (q *queueCollector) Collect(ch chan<- prometheus.Metric) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.counted.IsZero() || time.Since(q.counted) >= queueDepthTTL {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		var n int64
		err := q.store.Read.WithContext(ctx).Model(&models.Comment{}).Where("status = ?", models.StatusPending).Count(&n).Error
		if err != nil {
			ch <- prometheus.NewInvalidMetric(queueDesc, models.MapError(err))
			return
		}
		q.depth, q.counted = float64(n), time.Now()
	}
	ch <- prometheus.MustNewConstMetric(queueDesc, prometheus.GaugeValue, q.depth)
}
