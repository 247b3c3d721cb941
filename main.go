// Parley is a self-hosted comments and moderation backend for blogs.
//
//	go run .                 serve (PARLEY_* variables configure it)
//	go run . help            list the other commands (commands.go)
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/parley-comments/parley/api"
	"github.com/parley-comments/parley/auth"
	"github.com/parley-comments/parley/mail"
	"github.com/parley-comments/parley/migrations"
	"github.com/parley-comments/parley/models"
	"github.com/parley-comments/parley/seeds"
)

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// openStore prepares the data dir, takes its lock (SQLite allows one Parley
// process per file) and opens the database.
func openStore(cfg config) (*models.Store, func(), error) {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("create data dir: %w", err)
	}
	release := func() {}
	if cfg.DatabaseURL == "" {
		unlock, err := lockDataDir(cfg.DataDir)
		if err != nil {
			return nil, nil, err
		}
		release = unlock
	}
	store, err := models.Open(models.Options{Path: filepath.Join(cfg.DataDir, "parley.db"), URL: cfg.DatabaseURL})
	if err != nil {
		release()
		return nil, nil, err
	}
	return store, func() { store.Close(); release() }, nil
}

// startMail runs the outbox's sender when SMTP is configured and returns
// the function that stops it and waits; unsent mail stays in the outbox for
// the next start.
func startMail(cfg config, store *models.Store, log *slog.Logger) (stop func()) {
	if cfg.SMTP == nil {
		return func() {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	w := &mail.Worker{Store: store, SMTP: cfg.SMTP, Logger: log}
	go func() { w.Run(ctx); close(done) }()
	return func() { cancel(); <-done }
}

func migrate(cfg config, log *slog.Logger) error {
	store, closeStore, err := openStore(cfg)
	if err != nil {
		return err
	}
	defer closeStore()
	if err := migrations.Up(store.Write); err != nil {
		return err
	}
	ids, err := migrations.Applied(store.Write)
	if err != nil {
		return err
	}
	log.Info("migrations applied", "steps", len(ids))
	return nil
}

// defaultMemoryLimit is the Go runtime's soft memory limit unless
// GOMEMLIMIT sets one: near it the garbage collector works harder instead of
// letting a burst of page builds grow the heap. The live heap stays near
// 15 MB (the page cache's 8 MB cap and the requests in flight); the binary's
// code (about 24 MB resident) and SQLite's page caches (6 MB) come on top,
// which keeps the process under 64 MB.
const defaultMemoryLimit = 28 << 20

func serve(cfg config, log *slog.Logger) error {
	started := time.Now()
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	store, closeStore, err := openStore(cfg)
	if err != nil {
		return err
	}
	defer closeStore()
	if err := migrations.Up(store.Write); err != nil {
		return err
	}
	secret, err := jwtSecret(cfg, store)
	if err != nil {
		return err
	}
	hasher := auth.NewHasher(auth.DefaultParams)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := seeds.Apply(ctx, store, seeds.Options{AdminPassword: cfg.AdminPassword, Hasher: hasher, Logger: log}); err != nil {
		return err
	}
	ch := startChanges(ctx, store, log)
	defer ch.close()
	var metricsMux *http.ServeMux
	if cfg.MetricsAddr != "" {
		metricsMux = http.NewServeMux()
	}
	e := api.NewServer(api.Config{Store: store, JWTSecret: secret, AllowedOrigins: cfg.AllowedOrigins,
		AllowGuests: cfg.AllowGuests, RateLimit: cfg.RateLimit, TrustedProxies: cfg.TrustedProxies,
		Hasher: hasher, Logger: log, QuietRequests: !cfg.RequestLog, MetricsMux: metricsMux,
		PublicURL: cfg.PublicURL, Mail: cfg.SMTP != nil, Providers: cfg.Providers, Bus: ch.bus, Webhooks: ch.sender,
		ImportDir: filepath.Join(cfg.DataDir, "imports")})
	// Echo sets no timeouts; these keep slow clients from holding connections.
	srv := &http.Server{
		Addr:              cfg.Addr,
		Handler:           e,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
	}
	mailStopped := startMail(cfg, store, log)
	defer mailStopped()
	errc := make(chan error, 2)
	go func() { errc <- srv.ListenAndServe() }()
	servers := []*http.Server{srv}
	if metricsMux != nil {
		// Only Prometheus talks to it: keep it off the public address.
		msrv := &http.Server{Addr: cfg.MetricsAddr, Handler: metricsMux, ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout: 15 * time.Second, WriteTimeout: 30 * time.Second, MaxHeaderBytes: 16 << 10}
		go func() { errc <- fmt.Errorf("metrics listener: %w", msrv.ListenAndServe()) }()
		servers = append(servers, msrv)
	}
	log.Info("parley is ready", "addr", cfg.Addr, "metrics_addr", cfg.MetricsAddr, "database", store.Dialect, "startup_ms", time.Since(started).Milliseconds())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight requests")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, s := range servers {
		if err := s.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	}
	return nil
}
