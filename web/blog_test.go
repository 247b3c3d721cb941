package web_test

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parley-comments/parley/api"
)

// hugoPath finds Hugo; without it the blog test skips, except in CI.
func hugoPath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("hugo")
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no hugo in PATH; CI installs Debian's hugo package for the blog test")
	}
	t.Skip("blog test skipped: no hugo in PATH (install hugo to run it)")
	return ""
}

// hugoBlog builds the small Hugo site of testdata/hugo for one Parley site
// and serves it from its own loopback origin, http://localhost:PORT. edit
// may change the copied sources before the build.
func hugoBlog(t *testing.T, hugo, parleyURL, siteID, title string, edit func(dir string)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	origin := fmt.Sprintf("http://localhost:%d", ln.Addr().(*net.TCPAddr).Port)
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("testdata/hugo")); err != nil {
		t.Fatal(err)
	}
	config := fmt.Sprintf("baseURL = %q\ntitle = %q\ndisableKinds = [\"taxonomy\", \"term\", \"RSS\", \"sitemap\", \"robotsTXT\", \"404\"]\n[params.parley]\nserver = %q\nsite = %q\n",
		origin+"/", title, parleyURL, siteID)
	if err := os.WriteFile(filepath.Join(dir, "hugo.toml"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(dir)
	}
	cmd := exec.Command(hugo, "--source", dir, "--destination", filepath.Join(dir, "public"), "--quiet", "--noBuildLock")
	cmd.Env = append(os.Environ(), "HUGO_CACHEDIR="+t.TempDir())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("hugo: %v\n%s", err, out)
	}
	if _, err := fs.Stat(os.DirFS(dir), "public/posts/first/index.html"); err != nil {
		t.Fatalf("hugo built no post page: %v", err)
	}
	srv := httptest.NewUnstartedServer(http.FileServer(http.Dir(filepath.Join(dir, "public"))))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return origin
}

// frameOf waits for the widget's frame on the page and returns a context
// that acts inside it, once its thread has loaded.
func frameOf(t *testing.T, host context.Context, parleyURL string) context.Context {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		infos, err := chromedp.Targets(host)
		if err != nil {
			t.Fatal(err)
		}
		for _, info := range infos {
			if info.Type == "iframe" && strings.HasPrefix(info.URL, parleyURL+"/embed?") && info.Attached {
				fctx, cancel := chromedp.NewContext(host, chromedp.WithTargetID(info.TargetID))
				t.Cleanup(cancel)
				watchConsole(t, fctx, "frame")
				wait(t, fctx, `document.readyState === "complete" && document.querySelector("#count").textContent !== "Comments"`)
				return fctx
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("the widget's iframe never appeared")
	return nil
}

// postAsGuest writes a comment in the frame's form and waits for it to show.
func postAsGuest(t *testing.T, frame context.Context, name, body string) {
	t.Helper()
	const form = `#compose-slot form`
	wait(t, frame, `!document.querySelector("`+form+` .guest").hidden`)
	do(t, frame,
		chromedp.SendKeys(chromedp.CSS(form+` textarea`), body),
		chromedp.SendKeys(chromedp.CSS(form+` input[name="guest_name"]`), name),
		chromedp.Click(chromedp.CSS(form+` button[type="submit"]`)),
	)
	shown := fmt.Sprintf(`[...document.querySelectorAll("#thread li.c .c-text")].some(e => e.textContent.includes(%q))`, body)
	wait(t, frame, shown+` || document.querySelector("`+form+` .err")?.textContent`)
	if msg := eval[string](t, frame, `document.querySelector("`+form+` .err")?.textContent || ""`); msg != "" {
		t.Fatalf("posting %q failed: %s", body, msg)
	}
	wait(t, frame, shown)
}

// TestHugoBlog is a real blog in a real browser: Hugo builds a site whose
// post layout holds the two-line embed and whose index uses counts.js;
// served from its own origin, it gets comments on two posts (their threads
// opened by the first comment), shows their counts, follows a comment's
// permalink past the first page of the thread, and a second site's page
// shows its own thread only, even under the same key.
func TestHugoBlog(t *testing.T) {
	hugo := hugoPath(t)
	s := newSite(t, func(c *api.Config) { c.AllowGuests = true })
	admin := s.login(t, "admin", "admin-password-123")

	blog := hugoBlog(t, hugo, s.parley.URL, "blog", "A static blog", nil)
	firstKey := blog + "/posts/first/"
	notes := hugoBlog(t, hugo, s.parley.URL, "notes", "Notes", func(dir string) {
		// The second site's first post claims the blog's page as its key.
		path := filepath.Join(dir, "content/posts/first.md")
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		src = bytes.Replace(src, []byte("date: 2026-05-01\n"), []byte("date: 2026-05-01\nparley_key: "+firstKey+"\n"), 1)
		if err := os.WriteFile(path, src, 0o644); err != nil {
			t.Fatal(err)
		}
	})
	// Guests post without review on these sites (their own rules).
	for id, origin := range map[string]string{"blog": blog, "notes": notes} {
		s.call(t, "POST", "/sites", admin, map[string]any{"id": id, "name": id, "origins": []string{origin}, "rules": map[string]any{"hold_guests": false}}, nil)
	}
	// The first post's thread: opened by one comment from the blog's page,
	// then enough comments that a new one lands past the first page.
	for i := range 52 {
		s.callFrom(t, blog, "POST", "/sites/blog/comments", admin, map[string]any{"key": firstKey, "url": firstKey, "title": "The first post", "body": fmt.Sprintf("Earlier comment number %d.", i+1)}, nil)
	}

	host := newBrowser(t)
	watchConsole(t, host, "blog")

	// Two posts, each commented on in the page's own widget.
	do(t, host, chromedp.Navigate(firstKey))
	frame := frameOf(t, host, s.parley.URL)
	wait(t, frame, `document.querySelector("#count").textContent === "52 comments"`)
	postAsGuest(t, frame, "Reader", "Found this through the index.")
	permalink := eval[string](t, frame, `[...document.querySelectorAll("#thread li.c")].find(li => li.querySelector(".c-text").textContent.includes("through the index")).querySelector("a.c-link").href`)
	if !strings.HasPrefix(permalink, firstKey+"#parley-comment-") {
		t.Fatalf("permalink = %q, want the post's URL with #parley-comment-ID", permalink)
	}
	id := strings.TrimPrefix(permalink, firstKey+"#parley-comment-")

	do(t, host, chromedp.Navigate(blog+"/posts/second/"))
	frame = frameOf(t, host, s.parley.URL)
	wait(t, frame, `!document.querySelector("#empty").hidden`)
	postAsGuest(t, frame, "Reader", "The second one is better.")

	// The index page: counts for both posts from one request.
	do(t, host, chromedp.Navigate(blog+"/"))
	wait(t, host, `document.querySelector('[data-post="first"] .count').textContent === "53" && document.querySelector('[data-post="second"] .count').textContent === "1"`)
	if got := eval[string](t, host, `document.querySelector('[data-post="first"] .count-link').textContent`); got != "53 comments" {
		t.Errorf("the first post's link reads %q, want %q", got, "53 comments")
	}
	if got := eval[string](t, host, `document.querySelector('[data-post="second"] .count-link').textContent`); got != "1 comment" {
		t.Errorf("the second post's link reads %q, want %q", got, "1 comment")
	}
	if n := eval[int](t, host, `document.querySelectorAll("iframe").length`); n != 0 {
		t.Errorf("the index page has %d iframes, want none", n)
	}
	if n := eval[int](t, host, `performance.getEntriesByType("resource").filter(e => e.name.includes("/counts?")).length`); n != 1 {
		t.Errorf("counts took %d requests, want 1", n)
	}

	// The permalink: a fresh load of the page at the comment, which is on
	// the thread's second page.
	do(t, host, chromedp.Navigate("about:blank"), chromedp.Navigate(permalink))
	frame = frameOf(t, host, s.parley.URL)
	wait(t, frame, `document.querySelector("#c-`+id+`.target") !== null`)
	if n := eval[int](t, frame, `document.querySelectorAll("#thread > li.c").length`); n != 53 {
		t.Errorf("%d comments loaded, want both pages (53)", n)
	}
	wait(t, host, `scrollY > 0 && (() => { const f = document.querySelector("#parley iframe").getBoundingClientRect(); return f.top < innerHeight })()`)
	snap(t, host, "hugo-permalink", false)

	// The second site: the same key, its own (empty) thread; a comment there
	// stays there.
	do(t, host, chromedp.Navigate(notes+"/posts/first/"))
	frame = frameOf(t, host, s.parley.URL)
	wait(t, frame, `!document.querySelector("#empty").hidden`)
	if n := eval[int](t, frame, `document.querySelectorAll("#thread li.c").length`); n != 0 {
		t.Fatalf("the second site's page shows %d comments of the first", n)
	}
	postAsGuest(t, frame, "Note taker", "A note on the notes site.")
	if got := eval[string](t, frame, `document.querySelector("#count").textContent`); got != "1 comment" {
		t.Errorf("the second site's count = %q", got)
	}
	var counts map[string]int
	s.call(t, "GET", "/sites/blog/counts?key="+firstKey, "", nil, &counts)
	if counts[firstKey] != 53 {
		t.Errorf("the blog's first post counts %d after a comment on the other site, want 53", counts[firstKey])
	}
	s.call(t, "GET", "/sites/notes/counts?key="+firstKey, "", nil, &counts)
	if counts[firstKey] != 1 {
		t.Errorf("the notes site's thread counts %d, want 1", counts[firstKey])
	}
	// Its index counts its pages by the keys they use.
	do(t, host, chromedp.Navigate(notes+"/"))
	wait(t, host, `document.querySelector('[data-post="first"] .count').textContent === "1" && document.querySelector('[data-post="second"] .count').textContent === "0"`)
}
