package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/parley-comments/parley/api"
	"github.com/parley-comments/parley/auth"
	"github.com/parley-comments/parley/migrations"
	"github.com/parley-comments/parley/models"
	"github.com/parley-comments/parley/seeds"
)

// TestImportThroughAdmin: the admin uploads a Disqus export at /admin with
// a rule that moves the old blog's pages to the new one; the page shows
// the upload's progress and the summary; the new blog page then shows the
// imported comments, nested, in its widget, with the old script neutralized.
func TestImportThroughAdmin(t *testing.T) {
	store, err := models.Open(models.Options{Path: filepath.Join(t.TempDir(), "parley.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if err := migrations.Up(store.Write); err != nil {
		t.Fatal(err)
	}
	hasher := auth.NewHasher(auth.TestParams)
	if err := seeds.Apply(context.Background(), store, seeds.Options{AdminPassword: adminTestPassword, Hasher: hasher}); err != nil {
		t.Fatal(err)
	}
	var parleyURL, blogURL string
	blog := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>First post</title>
<link rel="canonical" href="%s/posts/first-post/"></head>
<body><h1>First post, moved from the old blog</h1>
<div id="parley" data-site="default"></div><script src="%s/widget.js" async></script></body></html>`, blogURL, parleyURL)
	}))
	t.Cleanup(blog.Close)
	blogURL = strings.Replace(blog.URL, "127.0.0.1", "localhost", 1)
	parley := httptest.NewServer(api.NewServer(api.Config{
		Store:          store,
		JWTSecret:      []byte("a-test-secret-that-is-long-enough-0123456789"),
		AllowedOrigins: []string{blogURL},
		Hasher:         hasher,
		ImportDir:      t.TempDir(),
		QuietRequests:  true, // no line per request in the test's output
	}))
	t.Cleanup(parley.Close)
	parleyURL = parley.URL

	ctx := newBrowser(t)
	watchConsole(t, ctx, "admin")
	file, err := filepath.Abs("../importer/testdata/disqus.xml")
	if err != nil {
		t.Fatal(err)
	}
	do(t, ctx, chromedp.Navigate(parleyURL+"/admin"),
		chromedp.SetValue(chromedp.CSS(`#signin input[name="login"]`), "admin"),
		chromedp.SetValue(chromedp.CSS(`#signin input[name="password"]`), adminTestPassword),
		chromedp.Click(chromedp.CSS(`#signin button[type="submit"]`)),
	)
	wait(t, ctx, `!document.querySelector("#transfer-tab").hidden`)
	do(t, ctx, chromedp.Click(chromedp.CSS(`#transfer-tab`)))
	wait(t, ctx, `!document.querySelector("#transfer-view").hidden`)
	// Nothing chosen, then an unknown site: refused with words, nothing stored.
	do(t, ctx, chromedp.Click(chromedp.CSS(`#import button[type="submit"]`)))
	wait(t, ctx, `document.querySelector("#import .err").textContent === "Choose the export file to import."`)
	do(t, ctx,
		chromedp.SetUploadFiles(chromedp.CSS(`#import input[name="file"]`), []string{file}),
		chromedp.SetValue(chromedp.CSS(`#import input[name="site"]`), "nosuch"),
		chromedp.Click(chromedp.CSS(`#import button[type="submit"]`)),
	)
	wait(t, ctx, `document.querySelector("#import .err").textContent === "There is no such site."`)
	do(t, ctx,
		chromedp.SetValue(chromedp.CSS(`#import input[name="site"]`), "default"),
		chromedp.SetValue(chromedp.CSS(`#import select[name="format"]`), "disqus"),
		chromedp.SetValue(chromedp.CSS(`#import textarea[name="map"]`), "http://old.example/blog/* => "+blogURL+"/posts/*"),
		chromedp.Click(chromedp.CSS(`#import button[type="submit"]`)),
	)
	wait(t, ctx, `document.querySelector("#import-state").textContent.startsWith("Done")`)
	state := eval[string](t, ctx, `document.querySelector("#import-state").textContent`)
	if state != "Done: 8 comments imported, 0 already there, 3 skipped." {
		t.Fatalf("import state %q", state)
	}
	if v := eval[float64](t, ctx, `document.querySelector("#import-progress").value`); v != 1 {
		t.Errorf("progress bar at %v when done, want 1", v)
	}
	totals := eval[string](t, ctx, `document.querySelector("#import-totals").textContent`)
	if !strings.Contains(totals, "Imported 8 comments into 2 threads (2 new)") {
		t.Errorf("totals %q", totals)
	}
	skips := eval[string](t, ctx, `document.querySelector("#import-skips").textContent`)
	if !strings.Contains(skips, "post 1008: its thread 999 is not in the file") {
		t.Errorf("skips %q", skips)
	}

	s := &site{parley: parley, store: store, blogURL: blogURL}
	do(t, ctx, chromedp.Navigate(blogURL+"/posts/first-post/"))
	frame := s.embedFrame(t, ctx)
	// 1001 with its reply 1002 and that one's reply 1003, 1010, and the
	// tombstone 1005 holding 1006; the spam stays hidden.
	wait(t, frame, `document.querySelectorAll("#thread li.c").length === 6`)
	text := eval[string](t, frame, `document.querySelector("#thread").innerText`)
	for _, want := range []string{"Ann", "Hello world & friends.", "I reply", "listed before its parent", "Replying to a deleted comment"} {
		if !strings.Contains(text, want) {
			t.Errorf("thread lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "Buy pills") {
		t.Error("the spam comment is shown")
	}
	if n := eval[int](t, frame, `document.querySelectorAll("#thread script, #thread img, #thread [onerror]").length`); n != 0 {
		t.Errorf("%d scripts or images in the imported thread", n)
	}
	if got := eval[string](t, frame, `(document.querySelector("#thread .c-text strong") || {}).textContent || ""`); got != "world" {
		t.Errorf("the imported HTML's <b> shows as %q, want bold \"world\"", got)
	}
	// 1003 is a reply to a reply: nested two levels below 1001.
	depth := eval[string](t, frame, `[...document.querySelectorAll("#thread li.c")].find(l => l.querySelector(":scope > .c-box .c-text").innerText.includes("listed before its parent")).dataset.depth`)
	if depth != "2" {
		t.Errorf("the reply to a reply sits at depth %s, want 2", depth)
	}
}
