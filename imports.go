package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"

	"github.com/parley-comments/parley/importer"
	"github.com/parley-comments/parley/migrations"
	"github.com/parley-comments/parley/models"
)

// parley import --format FORMAT --site SITE [--dry-run] [--map RULES] FILE
//
// On SQLite it takes the data dir's lock like the server: stop the server
// first, or upload the file at /admin instead. The import commits batch by
// batch; when it fails or is interrupted, running it again completes it.
func runImport(c *cli, args []string) error {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	format := fs.String("format", "", strings.Join(importer.FormatNames(), "|"))
	site := fs.String("site", "", "the site whose threads receive the comments")
	dry := fs.Bool("dry-run", false, "print what would be created, merged and skipped, and store nothing")
	mapRules := fs.String("map", "", `URL rules "FROM => TO" separated by ";" or newlines, or a file of them`)
	pos, err := parseArgs(fs, args, 1)
	if err != nil {
		return err
	}
	switch {
	case *format == "":
		return usagef("--format is required (%s)", strings.Join(importer.FormatNames(), ", "))
	case !slices.Contains(importer.FormatNames(), *format):
		return usagef("--format %q: want one of %s", *format, strings.Join(importer.FormatNames(), ", "))
	case *site == "":
		return usagef("--site is required (the default site is %q)", models.DefaultSite)
	}
	rules, err := importer.LoadRules(*mapRules)
	if err != nil {
		return usagef("%v", err)
	}
	if _, err := os.Stat(pos[0]); err != nil {
		return err
	}
	cfg, _, err := c.config()
	if err != nil {
		return err
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		// The import's live heap is its index of source ids (tens of MB for
		// a million comments); a soft limit makes the collector work harder
		// instead of doubling it.
		debug.SetMemoryLimit(importMemoryLimit)
		debug.SetGCPercent(400) // within the limit, collect less often: the heap is mostly that index
	}
	store, closeStore, err := openStore(cfg)
	if err != nil {
		return err
	}
	defer closeStore()
	if err := migrations.Up(store.Write); err != nil {
		return err
	}
	if store.Dialect == "sqlite" {
		// A million comments make the indexes far larger than the writer's
		// 2 MB page cache; 16 MB keeps their hot pages in, with fewer reads.
		if err := store.Write.Exec("PRAGMA cache_size = -16384").Error; err != nil {
			return err
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	sum, err := importer.Import(ctx, store, importer.Source{Path: pos[0]},
		importer.Options{Site: *site, Format: *format, Map: rules, DryRun: *dry})
	if sum != nil {
		sum.Print(c.stdout)
	}
	if err != nil {
		if sum != nil && sum.Created > 0 && !*dry {
			return fmt.Errorf("%w (the %d comments stored so far stay; run the same import again to complete it)", err, sum.Created)
		}
		return err
	}
	return nil
}

// importMemoryLimit is the Go heap's soft limit during `parley import`.
const importMemoryLimit = 96 << 20

// parley export [--site SITE] FILE
//
// It reads one consistent snapshot and takes no lock, so it runs beside
// the server. FILE is written through a temp file and never overwritten;
// "-" writes to stdout.
func runExport(c *cli, args []string) error {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	site := fs.String("site", "", "export this site only (default: everything)")
	pos, err := parseArgs(fs, args, 1)
	if err != nil {
		return err
	}
	cfg, _, err := c.config()
	if err != nil {
		return err
	}
	if cfg.DatabaseURL == "" {
		if _, err := os.Stat(filepath.Join(cfg.DataDir, "parley.db")); err != nil {
			return fmt.Errorf("no database to export: %w", err)
		}
	}
	store, err := models.Open(models.Options{Path: filepath.Join(cfg.DataDir, "parley.db"), URL: cfg.DatabaseURL})
	if err != nil {
		return err
	}
	defer store.Close()
	ctx := context.Background()
	if pos[0] == "-" {
		return importer.Export(ctx, store.Read, *site, c.stdout)
	}
	dst, err := filepath.Abs(pos[0])
	if err != nil {
		return err
	}
	if err := refuseExisting(dst); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	err = importer.Export(ctx, store.Read, *site, tmp)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("export to %s: %w", pos[0], err)
	}
	if err := os.Link(tmp.Name(), dst); err != nil {
		return err
	}
	info, err := os.Stat(dst)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "exported to %s (%d bytes)\n", pos[0], info.Size())
	return nil
}
