// Command bench is Parley's load driver. It builds the server, writes a data
// set (100,000 comments: threads of 200 and 20,000, 1,000 articles of 50,
// and an archive), starts the server on a loopback port, drives each
// scenario at a fixed concurrency for a fixed time with keep-alive clients,
// and prints requests per second, latency, errors and the server's peak
// RSS, beside a minimal static server answering the same bytes (the
// ceiling). Run it from the module root:
//
//	go run ./bench                      # SQLite in a temp data dir
//	go run ./bench -postgres URL        # a fresh database on that server
//	go run ./bench -explain             # also print the hot queries' plans
//
// The load generator shares the machine with the server, as it does with
// the ceiling, so the ratio between the two is fair.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// jwtSecret is the benchmark server's signing secret; only loopback hears it.
const jwtSecret = "bench-secret-bench-secret-bench-secret-0123"

func signalNotify(ch chan os.Signal) { signal.Notify(ch, os.Interrupt, syscall.SIGTERM) }

type options struct {
	root     string
	postgres string
	duration time.Duration
	warmup   time.Duration
	conns    int
	only     string
	explain  bool
	keep     bool
	env      string
}

func main() {
	var o options
	static := flag.String("serve-static", "", "internal: serve the page in this file (the ceiling)")
	flag.StringVar(&o.root, "root", ".", "the Parley module's directory")
	flag.StringVar(&o.postgres, "postgres", "", "run against a fresh database on this PostgreSQL server (postgres://…)")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "how long each scenario is measured")
	flag.DurationVar(&o.warmup, "warmup", 2*time.Second, "unmeasured load before each scenario")
	flag.IntVar(&o.conns, "conns", 16, "connections of the read scenarios")
	flag.StringVar(&o.only, "only", "", "comma-separated scenario name prefixes to run (default all)")
	flag.BoolVar(&o.explain, "explain", false, "print the query plans of the hot queries")
	flag.BoolVar(&o.keep, "keep", false, "keep the data dir (and PostgreSQL database) afterwards")
	flag.StringVar(&o.env, "server-env", "", "comma-separated KEY=VALUE settings added to the server's environment (GOMEMLIMIT=48MiB, GOGC=50)")
	flag.Parse()
	if *static != "" {
		if err := serveStatic(*static); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if err := bench(o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func bench(o options) error {
	ctx := context.Background()
	tmp, err := os.MkdirTemp("", "parley-bench-")
	if err != nil {
		return err
	}
	if !o.keep {
		defer os.RemoveAll(tmp)
	}
	machine()
	bin, err := build(o.root, tmp)
	if err != nil {
		return err
	}
	db, err := newDatabase(filepath.Join(tmp, "data"), o.postgres)
	if err != nil {
		return err
	}
	if !o.keep {
		defer func() {
			if err := db.drop(); err != nil {
				fmt.Fprintln(os.Stderr, "bench: drop database:", err)
			}
		}()
	}
	t0 := time.Now()
	if err := fill(ctx, db); err != nil {
		return fmt.Errorf("write data set: %w", err)
	}
	n, err := countComments(db)
	if err != nil {
		return err
	}
	fmt.Printf("data set: %d comments written in %s (%s)\n", n, time.Since(t0).Round(time.Millisecond), backend(o))

	logFile, err := os.Create(filepath.Join(tmp, "server.log"))
	if err != nil {
		return err
	}
	defer logFile.Close()
	env := append(db.env(), "PARLEY_RATE_LIMIT=off", "PARLEY_JWT_SECRET="+jwtSecret,
		"PARLEY_ADMIN_PASSWORD=bench-admin-password", "PARLEY_LOG_LEVEL=info")
	if o.env != "" {
		env = append(env, strings.Split(o.env, ",")...)
		fmt.Printf("server environment: %s\n", o.env)
	}
	// The first start seeds the admin (one password hash); the second is a
	// plain restart on 100,000 comments.
	srv, err := start(bin, nil, env, logFile)
	if err != nil {
		return err
	}
	fmt.Printf("start-up (first, seeds the admin): ready after %s, logged startup_ms=%d\n", srv.ready.Round(time.Millisecond), srv.startupMS())
	srv.stop()
	srv, err = start(bin, nil, env, logFile)
	if err != nil {
		return err
	}
	defer srv.stop()
	fmt.Printf("start-up (restart, %d comments): ready after %s, logged startup_ms=%d\n", n, srv.ready.Round(time.Millisecond), srv.startupMS())
	rss, _, _ := memory(srv.pid())
	fmt.Printf("idle RSS after start: %.1f MB\n\n", float64(rss)/1024)

	w, err := newWorkload(srv.base, o)
	if err != nil {
		return err
	}
	rows := w.runAll(srv, tmp)
	report(rows)

	if err := w.verifyPosts(db, n); err != nil {
		fmt.Println("posting check FAILED:", err)
	}
	time.Sleep(2 * time.Second)
	idle1, _, _ := memory(srv.pid())
	time.Sleep(10 * time.Second)
	idle2, _, _ := memory(srv.pid())
	fmt.Printf("idle RSS after the run: %.1f MB, 10 s later %.1f MB\n", float64(idle1)/1024, float64(idle2)/1024)
	if _, _, body, err := get(srv.base, "/metrics", ""); err == nil {
		for _, line := range strings.Split(string(body), "\n") {
			if hasAnyPrefix(line, "parley_thread_cache_", "parley_comments_posted_total", "go_memstats_heap_", "go_memstats_next_gc", "go_memstats_stack_inuse",
				"go_memstats_sys_bytes", "go_sql_open_connections", "process_resident_memory_bytes") {
				fmt.Println("  " + line)
			}
		}
	}
	loadavg, _ := os.ReadFile("/proc/loadavg")
	fmt.Printf("load average at the end: %s\n", strings.TrimSpace(string(loadavg)))
	if o.explain {
		srv.stop()
		fmt.Println("\n## Query plans (" + backend(o) + ")")
		if err := explain(ctx, db, os.Stdout); err != nil {
			return err
		}
	}
	return nil
}

func backend(o options) string {
	if o.postgres != "" {
		return "PostgreSQL"
	}
	return "SQLite"
}

// machine prints what the figures were measured on.
func machine() {
	cpu := "unknown"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	mem := "unknown"
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		mem = strings.TrimSpace(strings.TrimPrefix(strings.Split(string(b), "\n")[0], "MemTotal:"))
	}
	loadavg, _ := os.ReadFile("/proc/loadavg")
	goVersion, _ := exec.Command("go", "env", "GOVERSION").Output()
	fmt.Printf("machine: %d CPUs (%s), %s memory, %s %s/%s, load average %s\n", runtime.NumCPU(), cpu, mem,
		strings.TrimSpace(string(goVersion)), runtime.GOOS, runtime.GOARCH, strings.TrimSpace(string(loadavg)))
}

// writeStatic saves the page the ceiling server answers with.
func writeStatic(path string, p staticPage) error {
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

func hasAnyPrefix(s string, prefixes ...string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
