package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/parley-comments/parley/bench/dataset"
)

// workload holds what the scenarios need: tokens, cursors, bodies.
type workload struct {
	base    string
	o       options
	tokens  []string // one per data set user
	admin   string
	cursors []string // of the 20,000-comment thread's pages 2…21
	bodies  []string
	posted  int // 201s of every posting run, warm-ups included
	seq     atomic.Uint64
}

func newWorkload(base string, o options) (*workload, error) {
	w := &workload{base: base, o: o}
	for i := range users {
		tok, err := login(base, dataset.Username(i), password)
		if err != nil {
			return nil, err
		}
		w.tokens = append(w.tokens, tok)
	}
	tok, err := login(base, "admin", "bench-admin-password")
	if err != nil {
		return nil, err
	}
	w.admin = tok
	path := "/api/v1/articles/" + slug20k + "/comments"
	for len(w.cursors) < 20 {
		q := path
		if n := len(w.cursors); n > 0 {
			q += "?cursor=" + url.QueryEscape(w.cursors[n-1])
		}
		status, _, body, err := get(base, q, "")
		if err != nil || status != http.StatusOK {
			return nil, fmt.Errorf("walk the thread: %d %v", status, err)
		}
		var page struct {
			NextCursor *string `json:"next_cursor"`
		}
		if err := json.Unmarshal(body, &page); err != nil || page.NextCursor == nil {
			return nil, fmt.Errorf("walk the thread: no next page (%v)", err)
		}
		w.cursors = append(w.cursors, *page.NextCursor)
	}
	rng := rand.New(rand.NewPCG(9, 9))
	for i := range 64 {
		w.bodies = append(w.bodies, dataset.Markdown(rng, i))
	}
	return w, nil
}

func login(base, name, pass string) (string, error) {
	body, _ := json.Marshal(map[string]string{"login": name, "password": pass})
	resp, err := http.Post(base+"/api/v1/auth/login", "application/json", strings.NewReader(string(body)))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var s struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil || resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("log in as %s: %d %v", name, resp.StatusCode, err)
	}
	return s.AccessToken, nil
}

func threadPath(slug string) string { return "/api/v1/articles/" + slug + "/comments" }

func (w *workload) read(slug string, token func(client, n int) string) func(client, n int) request {
	path := threadPath(slug)
	return func(client, n int) request {
		return request{method: "GET", path: path, token: token(client, n), want: http.StatusOK}
	}
}

func anonymous(int, int) string { return "" }

func (w *workload) user(client, n int) string { return w.tokens[(client+n*7)%len(w.tokens)] }

func (w *workload) moderator(int, int) string { return w.admin }

// post is a new comment by a rotating user, with a body no one posted before
// (duplicate detection would refuse it).
func (w *workload) post(slug func(client, n int) string) func(client, n int) request {
	return func(client, n int) request {
		seq := w.seq.Add(1)
		body, _ := json.Marshal(map[string]string{"body": fmt.Sprintf("Comment %d. %s", seq, w.bodies[seq%uint64(len(w.bodies))])})
		return request{method: "POST", path: threadPath(slug(client, n)), token: w.tokens[(client+n*17)%len(w.tokens)], body: body, want: http.StatusCreated}
	}
}

func (w *workload) scenarios() []scenario {
	c := w.o.conns
	small := func(client, n int) string { return smallSlug((client*7919 + n) % smallArticles) }
	countsPaths := make([]string, 50)
	for i := range countsPaths {
		slugs := make([]string, 20)
		for j := range slugs {
			slugs[j] = smallSlug((i*20 + j) % smallArticles)
		}
		countsPaths[i] = "/api/v1/counts?slugs=" + strings.Join(slugs, ",")
	}
	cursorRead := func(token func(client, n int) string) func(client, n int) request {
		return func(client, n int) request {
			cur := w.cursors[(client+n)%len(w.cursors)]
			return request{method: "GET", path: threadPath(slug20k) + "?cursor=" + url.QueryEscape(cur), token: token(client, n), want: http.StatusOK}
		}
	}
	read200 := w.read(slug200, anonymous)
	post200 := w.post(func(int, int) string { return slug200 })
	return []scenario{
		{"read-200-anon", c, read200},
		{"read-20k-anon", c, w.read(slug20k, anonymous)},
		{"read-20k-cursor-anon", c, cursorRead(anonymous)},
		{"read-200-signed", c, w.read(slug200, w.user)},
		{"read-20k-signed", c, w.read(slug20k, w.user)},
		{"read-20k-cursor-signed", c, cursorRead(w.user)},
		{"read-200-moderator", c, w.read(slug200, w.moderator)},
		{"read-20k-moderator", c, w.read(slug20k, w.moderator)},
		{"counts-20", c, func(client, n int) request {
			return request{method: "GET", path: countsPaths[(client+n)%len(countsPaths)], want: http.StatusOK}
		}},
		{"post-16", 16, w.post(small)},
		{"post-64", 64, w.post(small)},
		{"mixed-95-5", c, func(client, n int) request {
			if n%20 == 19 {
				return post200(client, n)
			}
			return read200(client, n)
		}},
	}
}

// row is one line of the report.
type row struct {
	name  string
	conns int
	res   result
	peak  int64 // KiB
}

func (w *workload) selected(name string) bool {
	if w.o.only == "" {
		return true
	}
	for _, p := range strings.Split(w.o.only, ",") {
		if p != "" && strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// runAll measures the ceiling, then every scenario against srv.
func (w *workload) runAll(srv *server, tmp string) []row {
	var rows []row
	if r, err := w.ceiling(tmp); err != nil {
		fmt.Fprintln(os.Stderr, "bench: ceiling:", err)
	} else {
		rows = append(rows, r)
	}
	for _, sc := range w.scenarios() {
		if !w.selected(sc.name) {
			continue
		}
		warm := run(srv.base, sc, w.o.warmup)
		sampler := sampleRSS(srv.pid())
		res := run(srv.base, sc, w.o.duration)
		peak := sampler.peak()
		if strings.HasPrefix(sc.name, "post") || strings.HasPrefix(sc.name, "mixed") {
			w.posted += warm.count(http.StatusCreated) + res.count(http.StatusCreated)
		}
		r := row{name: sc.name, conns: sc.conns, res: res, peak: peak}
		printRow(r)
		rows = append(rows, r)
	}
	return rows
}

// ceiling serves the 200-comment page, as Parley answered it (bytes and
// headers), from a minimal server, and drives it like read-200-anon.
func (w *workload) ceiling(tmp string) (row, error) {
	status, hd, body, err := get(w.base, threadPath(slug200), "")
	if err != nil || status != http.StatusOK {
		return row{}, fmt.Errorf("fetch the page: %d %v", status, err)
	}
	hd.Del("Date") // net/http writes its own
	file := filepath.Join(tmp, "static.json")
	if err := writeStatic(file, staticPage{Header: hd, Body: body}); err != nil {
		return row{}, err
	}
	self, err := os.Executable()
	if err != nil {
		return row{}, err
	}
	srv, err := start(self, []string{"-serve-static", file}, nil, os.Stderr)
	if err != nil {
		return row{}, err
	}
	defer srv.stop()
	fmt.Printf("page of the 200-comment thread: %d bytes; headers: %s\n\n", len(body), headerNames(hd))
	printHeader()
	sc := scenario{"ceiling-200 (static)", w.o.conns, func(int, int) request {
		return request{method: "GET", path: threadPath(slug200), want: http.StatusOK}
	}}
	run(srv.base, sc, w.o.warmup)
	sampler := sampleRSS(srv.pid())
	res := run(srv.base, sc, w.o.duration)
	r := row{name: sc.name, conns: sc.conns, res: res, peak: sampler.peak()}
	printRow(r)
	return r, nil
}

func headerNames(h http.Header) string {
	var names []string
	for k := range h {
		names = append(names, k)
	}
	return strings.Join(names, ", ")
}

func printHeader() {
	fmt.Printf("%-24s %5s %9s %9s %9s %7s %9s  %s\n", "scenario", "conns", "req/s", "p50", "p99", "errors", "peak RSS", "statuses")
}

func printRow(r row) {
	fmt.Printf("%-24s %5d %9.0f %9s %9s %7d %7.1f MB  %s\n", r.name, r.conns, r.res.rate(),
		ms(r.res.percentile(0.50)), ms(r.res.percentile(0.99)), r.res.errors, float64(r.peak)/1024, r.res.statusSummary())
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d.Microseconds())/1000) }

// report prints the targets' ratios from the rows.
func report(rows []row) {
	by := map[string]row{}
	var peak int64
	for _, r := range rows {
		by[strings.Fields(r.name)[0]] = r
		if !strings.HasPrefix(r.name, "ceiling") {
			peak = max(peak, r.peak)
		}
	}
	ceiling, ok := by["ceiling-200"]
	if !ok {
		return
	}
	fmt.Println()
	ratio := func(a, b string) string {
		ra, okA := by[a]
		rb, okB := by[b]
		if !okA || !okB || rb.res.rate() == 0 {
			return "n/a"
		}
		return fmt.Sprintf("%.2f", ra.res.rate()/rb.res.rate())
	}
	cost := func(big, small string) string { return ratio(small, big) } // cost per request is 1/rate
	fmt.Printf("read-200-anon / ceiling:            %s (p99 %s)\n", ratio("read-200-anon", "ceiling-200"), ms(by["read-200-anon"].res.percentile(0.99)))
	fmt.Printf("read-200-signed / ceiling:          %s\n", ratio("read-200-signed", "ceiling-200"))
	fmt.Printf("cost of 20k first page / 200:       anonymous %s, signed-in %s, moderator (built every time) %s\n",
		cost("read-20k-anon", "read-200-anon"), cost("read-20k-signed", "read-200-signed"), cost("read-20k-moderator", "read-200-moderator"))
	fmt.Printf("cost of 20k later pages / 200:      anonymous %s, signed-in %s\n",
		cost("read-20k-cursor-anon", "read-200-anon"), cost("read-20k-cursor-signed", "read-200-signed"))
	if m, ok := by["mixed-95-5"]; ok {
		fivexx := 0
		for s, n := range m.res.statuses {
			if s >= 500 || s == 0 {
				fivexx += n
			}
		}
		fmt.Printf("mixed 95/5: p99 %s, 5xx or failed %d\n", ms(m.res.percentile(0.99)), fivexx)
	}
	fmt.Printf("highest peak RSS of the server: %.1f MB (ceiling server %.1f MB)\n", float64(peak)/1024, float64(ceiling.peak)/1024)
}

// verifyPosts checks that every acknowledged comment was stored.
func (w *workload) verifyPosts(db *database, before int64) error {
	after, err := countComments(db)
	if err != nil {
		return err
	}
	fmt.Printf("posting check: %d comments acknowledged with 201, %d new rows stored\n", w.posted, after-before)
	if after-before != int64(w.posted) {
		return fmt.Errorf("%d acknowledged, %d stored", w.posted, after-before)
	}
	return nil
}
