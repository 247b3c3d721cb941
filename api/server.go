// Package api is Parley's HTTP layer: routing, middleware, thin handlers that
// decode a request, call the service once and encode a view, and the one
// place that turns errors into the contract's error shape.
package api

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/parley-comments/parley/auth"
	"github.com/parley-comments/parley/events"
	"github.com/parley-comments/parley/identity"
	"github.com/parley-comments/parley/importer"
	"github.com/parley-comments/parley/models"
	"github.com/parley-comments/parley/moderation"
	"github.com/parley-comments/parley/notify"
	"github.com/parley-comments/parley/sites"
)

// Config is everything the HTTP layer needs; main builds it from the environment.
type Config struct {
	Store     *models.Store
	JWTSecret []byte
	// AccessTTL is the access tokens' lifetime (default 15 minutes).
	AccessTTL time.Duration
	// AllowedOrigins are the blog origins allowed by CORS and allowed to
	// embed the widget, compared exactly.
	AllowedOrigins []string
	AllowGuests    bool
	// RateLimit turns the per-user and per-IP limits on.
	RateLimit bool
	// TrustedProxies are the proxies whose X-Forwarded-For is believed.
	TrustedProxies []*net.IPNet
	Hasher         *auth.Hasher
	Now            func() time.Time
	Logger         *slog.Logger
	// PublicURL is the server's public origin, for links in mail.
	PublicURL string
	// Mail says an SMTP server is configured; without one the features
	// that send mail are off.
	Mail bool
	// Providers are the outside identity providers readers may sign in
	// with; ProviderClient, when set, makes their HTTP calls (tests).
	Providers      []identity.ProviderConfig
	ProviderClient *http.Client
	// QuietRequests turns off the log line of every request.
	QuietRequests bool
	// MetricsMux, when set, serves /metrics instead of the main router, for
	// a listen address of its own (PARLEY_METRICS_ADDR).
	MetricsMux *http.ServeMux
	// PageCacheBytes caps the memory of cached anonymous thread pages
	// (default 8 MiB; negative turns the cache off).
	PageCacheBytes int
	// Bus is the change bus (events.NewBus, running): it feeds the live
	// streams and, on PostgreSQL, keeps the page cache valid without a
	// query per read. Nil turns live streams off.
	Bus *events.Bus
	// LiveStreams and LivePerClient cap open live streams per instance and
	// per client IP; LiveHeartbeat is the idle streams' keep-alive period.
	LiveStreams   int
	LivePerClient int
	LiveHeartbeat time.Duration
	// Webhooks, when set, is woken when an admin replays a delivery.
	Webhooks *notify.Sender
	// ImportDir keeps the files uploaded at /admin until their import ends
	// (default: a folder in the system's temp dir).
	ImportDir string
}

// tokenIssuer and tokenAudience are fixed: tokens are only for this API.
const (
	tokenIssuer   = "parley"
	tokenAudience = "parley-api"
)

type handler struct {
	cfg      Config
	store    *models.Store
	accounts *auth.Accounts
	mod      *moderation.Service
	log      *slog.Logger
	pages    *pageCache // nil when turned off
	refs     articleRefs
	builds   chan struct{} // see buildPage
	metrics  *metrics
	live     *liveHub // nil without a bus
	identity *identity.Service
	sites    *sites.Directory
	imports  *importer.Jobs
}

// NewServer builds the Echo server with every route and middleware. It
// panics on a configuration main should have refused (a weak secret).
func NewServer(cfg Config) *echo.Echo {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.Logger = slog.New(RequestIDLogs(cfg.Logger.Handler()))
	if cfg.AccessTTL == 0 {
		cfg.AccessTTL = 15 * time.Minute
	}
	if cfg.Hasher == nil {
		cfg.Hasher = auth.NewHasher(auth.DefaultParams)
	}
	now := func() time.Time { return cfg.Now().UTC() }
	tokens, err := auth.NewTokens(cfg.JWTSecret, tokenIssuer, tokenAudience, cfg.AccessTTL, now)
	if err != nil {
		panic(fmt.Sprintf("api: %v", err))
	}
	h := &handler{
		cfg:      cfg,
		store:    cfg.Store,
		accounts: &auth.Accounts{Store: cfg.Store, Hasher: cfg.Hasher, Tokens: tokens, Now: now},
		mod:      moderation.NewService(cfg.Store, now),
		log:      cfg.Logger,
		builds:   make(chan struct{}, 2*runtime.GOMAXPROCS(0)),
		sites:    sites.NewDirectory(cfg.Store, cfg.AllowedOrigins),
	}
	h.identity = identity.NewService(cfg.Store, h.accounts, cfg.PublicURL, cfg.Mail, cfg.RateLimit, now)
	h.identity.SetProviders(cfg.Providers, cfg.ProviderClient)
	if cfg.PageCacheBytes == 0 {
		cfg.PageCacheBytes = defaultPageCacheBytes
	}
	if cfg.PageCacheBytes > 0 {
		h.pages = newPageCache(cfg.PageCacheBytes)
	}
	if cfg.Bus != nil {
		h.live = newLiveHub(cfg)
	}
	h.metrics = newMetrics(cfg.Store, h.pages, h.live)
	if cfg.ImportDir == "" {
		cfg.ImportDir = filepath.Join(os.TempDir(), "parley-imports")
	}
	h.imports = &importer.Jobs{Store: cfg.Store, Dir: cfg.ImportDir, Log: cfg.Logger}
	go func() {
		if err := h.imports.Resume(context.Background()); err != nil {
			cfg.Logger.Warn("imports not resumed", "err", err)
		}
	}()
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.JSONSerializer = jsonSerializer{}
	e.HTTPErrorHandler = h.handleError
	e.IPExtractor = ipExtractor(cfg.TrustedProxies)
	h.routes(e)
	return e
}

// ipExtractor takes the client IP from the connection unless trusted proxies
// are configured: Echo's default would believe any client's X-Forwarded-For.
func ipExtractor(proxies []*net.IPNet) echo.IPExtractor {
	if len(proxies) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, p := range proxies {
		opts = append(opts, echo.TrustIPRange(p))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}
