package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/parley-comments/parley/api"
	"github.com/parley-comments/parley/auth"
	"github.com/parley-comments/parley/events"
	"github.com/parley-comments/parley/migrations"
	"github.com/parley-comments/parley/models"
	"github.com/parley-comments/parley/seeds"
)

const slug = seeds.ArticleSlug

// site is a running Parley and a blog on another origin that embeds its widget.
type site struct {
	parley *httptest.Server
	store  *models.Store
	// blogURL is the other blog's origin. It uses "localhost" while Parley
	// listens on 127.0.0.1, so the two are different sites to the browser,
	// like a real blog and its comment server.
	blogURL string
}

// newSite starts both servers; opts adjust Parley's configuration.
func newSite(t *testing.T, opts ...func(*api.Config)) *site {
	t.Helper()
	store, err := models.Open(models.Options{Path: filepath.Join(t.TempDir(), "parley.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if err := migrations.Up(store.Write); err != nil {
		t.Fatal(err)
	}
	hasher := auth.NewHasher(auth.TestParams)
	if err := seeds.Apply(context.Background(), store, seeds.Options{AdminPassword: "admin-password-123", Hasher: hasher}); err != nil {
		t.Fatal(err)
	}
	s := &site{store: store}
	var parleyURL string
	blog := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		widgets := `<div id="parley" data-article="` + slug + `"></div>`
		if r.URL.Path == "/two" { // an index page with a second comment section
			widgets += `<h2>Another post</h2><div data-parley-article="no-such-post"></div>`
		}
		fmt.Fprintf(w, `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Another blog</title></head>
<body><h1>A post on another blog</h1><p>Some words before the comments.</p>
%s<script src="%s/widget.js" async></script>
<p id="after">The end.</p></body></html>`, widgets, parleyURL)
	}))
	t.Cleanup(blog.Close)
	s.blogURL = strings.Replace(blog.URL, "127.0.0.1", "localhost", 1)
	bus := events.NewBus(store, nil)
	busCtx, stopBus := context.WithCancel(context.Background())
	busDone := make(chan struct{})
	go func() { defer close(busDone); bus.Run(busCtx) }()
	t.Cleanup(func() { stopBus(); <-busDone })
	// Parley's address is known before its configuration, which names it
	// (PublicURL: links in mail, sign-in redirect URIs).
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	parleyURL = "http://" + l.Addr().String()
	cfg := api.Config{
		Store:          store,
		JWTSecret:      []byte("a-test-secret-that-is-long-enough-0123456789"),
		AllowedOrigins: []string{s.blogURL},
		Hasher:         hasher,
		Bus:            bus,
		PublicURL:      parleyURL,
		QuietRequests:  true, // no line per request in the test's output
	}
	for _, o := range opts {
		o(&cfg)
	}
	s.parley = httptest.NewUnstartedServer(api.NewServer(cfg))
	s.parley.Listener.Close()
	s.parley.Listener = l
	s.parley.Start()
	t.Cleanup(s.parley.Close)
	return s
}

// call sends one API request and decodes the JSON answer into out.
func (s *site) call(t *testing.T, method, path, token string, body, out any) {
	t.Helper()
	s.callFrom(t, "", method, path, token, body, out)
}

// callFrom is call with an Origin header, as a page on origin sends it.
func (s *site) callFrom(t *testing.T, origin, method, path, token string, body, out any) {
	t.Helper()
	var rd bytes.Buffer
	if body != nil {
		if err := json.NewEncoder(&rd).Encode(body); err != nil {
			t.Fatal(err)
		}
	}
	req, err := http.NewRequest(method, s.parley.URL+"/api/v1"+path, &rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode >= 300 {
		var e bytes.Buffer
		e.ReadFrom(res.Body)
		t.Fatalf("%s %s: status %d: %s", method, path, res.StatusCode, e.String())
	}
	if out != nil {
		if err := json.NewDecoder(res.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
}

// register creates an account and returns its access token.
func (s *site) register(t *testing.T, username, displayName string) string {
	t.Helper()
	var out struct {
		AccessToken string `json:"access_token"`
	}
	s.call(t, "POST", "/auth/register", "", map[string]string{"username": username, "password": "password-" + username, "display_name": displayName}, &out)
	return out.AccessToken
}

// login signs in and returns the access token.
func (s *site) login(t *testing.T, login, password string) string {
	t.Helper()
	var out struct {
		AccessToken string `json:"access_token"`
	}
	s.call(t, "POST", "/auth/login", "", map[string]string{"login": login, "password": password}, &out)
	return out.AccessToken
}

// comment posts a comment (a reply when parent is not 0) and returns its id.
func (s *site) comment(t *testing.T, token, body string, parent uint) uint {
	t.Helper()
	req := map[string]any{"body": body}
	if parent != 0 {
		req["parent_id"] = parent
	}
	var out struct {
		Comment struct {
			ID uint `json:"id"`
		} `json:"comment"`
	}
	s.call(t, "POST", "/articles/"+slug+"/comments", token, req, &out)
	return out.Comment.ID
}

// chromePath finds a Chromium-family browser; without one the browser tests
// skip, except in CI where that is a broken setup.
func chromePath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no Chromium found in PATH (tried chromium, chromium-browser, google-chrome); CI needs it for the browser tests")
	}
	t.Skip("browser tests skipped: no Chromium found in PATH (install chromium to run them)")
	return ""
}

// newBrowser starts a headless Chromium with a fresh profile and returns a tab.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	path := chromePath(t)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	ctx, cancelTab := chromedp.NewContext(actx)
	ctx, cancelTime := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(func() {
		cancelTime()
		cancelTab()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1100, 900)); err != nil {
		t.Fatalf("start browser: %v", err)
	}
	return ctx
}

// embedFrame waits for the widget's iframe (a separate target, as it comes
// from another site) and returns a context whose actions run inside it.
func (s *site) embedFrame(t *testing.T, ctx context.Context) context.Context {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		infos, err := chromedp.Targets(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, info := range infos {
			if info.Type == "iframe" && strings.HasPrefix(info.URL, s.parley.URL+"/embed?") {
				fctx, cancel := chromedp.NewContext(ctx, chromedp.WithTargetID(info.TargetID))
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

// watchConsole fails the test on an uncaught exception or a blocked
// Content-Security-Policy violation in the target; expected API errors
// (a 400, a 401 before a renewal) are only network log lines and pass.
func watchConsole(t *testing.T, ctx context.Context, where string) {
	t.Helper()
	var mu sync.Mutex
	var bad []string
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.IsException() || strings.Contains(m.Text, "Content Security Policy") {
				mu.Lock()
				bad = append(bad, m.String())
				mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, m := range bad {
			t.Errorf("%s console: %s", where, m)
		}
	})
}

func do(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// wait polls a JavaScript condition until it holds.
func wait(t *testing.T, ctx context.Context, cond string) {
	t.Helper()
	_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](cond,
		chromedp.WithPollingInterval(40*time.Millisecond), chromedp.WithPollingTimeout(10*time.Second)))
	if err != nil {
		t.Fatalf("waiting for %s: %v", cond, err)
	}
}

// frameHeight is the iframe's height as the host page lays it out.
func frameHeight(t *testing.T, host context.Context) float64 {
	t.Helper()
	return eval[float64](t, host, `document.querySelector("#parley iframe").getBoundingClientRect().height`)
}

// settledHeight waits until the frame's height stops changing and returns it.
func settledHeight(t *testing.T, host context.Context) float64 {
	t.Helper()
	last := -1.0
	for range 50 {
		h := frameHeight(t, host)
		if h == last {
			return h
		}
		last = h
		time.Sleep(60 * time.Millisecond)
	}
	t.Fatalf("the frame's height never settled (last %v)", last)
	return 0
}

// noInnerScroll checks that the frame shows all of its content.
func noInnerScroll(t *testing.T, frame context.Context) {
	t.Helper()
	wait(t, frame, `document.documentElement.scrollHeight <= document.documentElement.clientHeight + 1`)
}

// snap saves a screenshot as an artifact: of the viewport, or of the whole
// page when full is set. A whole-page capture lays the page out again at
// full height, which a cross-site frame does not follow in time; the
// viewport is what a reader sees anyway.
func snap(t *testing.T, ctx context.Context, name string, full bool) {
	t.Helper()
	shot := chromedp.CaptureScreenshot()
	if full {
		shot = chromedp.FullScreenshot(100)
	}
	png, err := chromedp.Run(ctx, shot)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(artifactDir(t), name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// snapComments saves a screenshot of the widget alone, for a closer look.
func snapComments(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.Screenshot(chromedp.CSS("#parley")))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(artifactDir(t), name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

func artifactDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("PARLEY_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestDemoPage(t *testing.T) {
	s := newSite(t)
	alice := s.register(t, "alice", "Alice Liddell")
	bob := s.register(t, "bob", "")
	first := s.comment(t, alice, "A first visit in **24 years** says a lot about where things stand.", 0)
	s.comment(t, bob, "Agreed. The timing with the war is no accident.", first)
	s.comment(t, alice, "Does anyone know what was actually signed?\n\n> joint public statements", 0)

	ctx := newBrowser(t)
	watchConsole(t, ctx, "demo page")
	do(t, ctx, chromedp.Navigate(s.parley.URL+"/"))
	if got := eval[string](t, ctx, `document.querySelector("h1").textContent`); !strings.Contains(got, "Putin") {
		t.Fatalf("demo page title = %q, want the seeded article's", got)
	}
	// The demo page embeds the widget from its own origin, so the frame's
	// document is reachable from the page.
	const inFrame = `document.querySelector("#parley iframe").contentDocument`
	do(t, ctx, chromedp.Evaluate[chromedp.Void](`document.querySelector("#parley").scrollIntoView()`))
	wait(t, ctx, inFrame+`?.querySelectorAll("#thread li.c").length === 3`)
	if got := eval[string](t, ctx, inFrame+`.querySelector("#count").textContent`); got != "3 comments" {
		t.Errorf("count = %q, want %q", got, "3 comments")
	}
	authors := eval[[]string](t, ctx, `[...`+inFrame+`.querySelectorAll(".c-author")].map(e => e.textContent)`)
	if want := []string{"Alice Liddell", "bob", "Alice Liddell"}; strings.Join(authors, "|") != strings.Join(want, "|") {
		t.Errorf("authors = %q, want %q", authors, want)
	}
	nested := eval[bool](t, ctx, inFrame+`.querySelector("#c-`+fmt.Sprint(first)+` > .replies > li.c .c-author").textContent === "bob"`)
	if !nested {
		t.Error("bob's reply is not nested under alice's comment")
	}
	if got := eval[string](t, ctx, inFrame+`.querySelector(".c-text strong").textContent`); got != "24 years" {
		t.Errorf("rendered Markdown = %q, want the bold text", got)
	}
	if got := eval[string](t, ctx, inFrame+`.querySelector("time.c-time").textContent`); got != "just now" && !strings.Contains(got, "ago") {
		t.Errorf("relative time = %q", got)
	}

	dir := artifactDir(t)
	for _, shot := range []struct {
		name          string
		width, height int64
	}{
		{"demo-desktop", 1100, 900},
		{"demo-360", 360, 740},
	} {
		do(t, ctx, chromedp.EmulateViewport(shot.width, shot.height))
		settledHeight(t, ctx)
		wait(t, ctx, `(() => { const f = document.querySelector("#parley iframe"); const d = f.contentDocument.documentElement; return d.scrollHeight <= d.clientHeight + 1 })()`)
		snap(t, ctx, shot.name, true)
		snapComments(t, ctx, shot.name+"-comments")
		if overflow := eval[bool](t, ctx, `document.documentElement.scrollWidth > innerWidth`); overflow {
			t.Errorf("at %d px the page scrolls sideways", shot.width)
		}
	}
	err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}},
		})
		return err
	}))
	if err != nil {
		t.Fatal(err)
	}
	if bg := eval[string](t, ctx, `getComputedStyle(`+inFrame+`.body).backgroundColor`); bg == "rgb(255, 255, 255)" {
		t.Errorf("dark theme: the widget's background is still white")
	}
	settledHeight(t, ctx)
	do(t, ctx, chromedp.Evaluate[chromedp.Void](`document.querySelector(".comments").scrollIntoView()`))
	snap(t, ctx, "demo-360-dark", false)
	t.Logf("screenshots in %s", dir)
}

func TestWidgetOnAnotherSite(t *testing.T) {
	s := newSite(t)
	alice := s.register(t, "alice", "Alice")
	bob := s.register(t, "bob", "Bob")
	first := s.comment(t, alice, "Thread starter.", 0)
	s.comment(t, bob, "A first reply.", first)
	s.comment(t, alice, "A second reply.", first)

	host := newBrowser(t)
	do(t, host, chromedp.EmulateViewport(1000, 1500), chromedp.Navigate(s.blogURL+"/"))
	frame := s.embedFrame(t, host)
	wait(t, frame, `document.querySelectorAll("#thread li.c").length === 3`)

	t.Run("sign up inside the widget", func(t *testing.T) {
		do(t, frame,
			chromedp.Click(chromedp.CSS(`.signed-out [data-open="signup"]`)),
			chromedp.SendKeys(chromedp.CSS(`#signup input[name="username"]`), "carol"),
			chromedp.SendKeys(chromedp.CSS(`#signup input[name="display_name"]`), "Carol C."),
			chromedp.SendKeys(chromedp.CSS(`#signup input[name="password"]`), "correct horse battery"),
			chromedp.Click(chromedp.CSS(`#signup button[type="submit"]`)),
		)
		wait(t, frame, `!document.querySelector(".signed-in").hidden`)
		snap(t, host, "widget-signed-in", false)
		if got := eval[string](t, frame, `document.querySelector("#me-name").textContent`); got != "Carol C." {
			t.Fatalf("signed in as %q, want %q", got, "Carol C.")
		}
		if got := eval[bool](t, frame, `!!localStorage.getItem("parley.access") && !!localStorage.getItem("parley.refresh")`); !got {
			t.Fatal("tokens are not in the frame's storage")
		}
	})

	t.Run("host page cannot read the tokens", func(t *testing.T) {
		keys := eval[[]string](t, host, `Object.keys(localStorage).filter(k => k.startsWith("parley"))`)
		if len(keys) != 0 {
			t.Errorf("host localStorage has %q", keys)
		}
		got := eval[string](t, host, `(() => { try { return "read " + document.querySelector("#parley iframe").contentWindow.localStorage.length } catch (e) { return e.name } })()`)
		if got != "SecurityError" {
			t.Errorf("reading the frame's storage from the host: %q, want SecurityError", got)
		}
		if c := eval[string](t, host, `document.cookie`); c != "" {
			t.Errorf("host cookies = %q, want none", c)
		}
		if c := eval[string](t, frame, `document.cookie`); c != "" {
			t.Errorf("frame cookies = %q, want none", c)
		}
		if src := eval[string](t, host, `document.querySelector("#parley iframe").src`); strings.Contains(src, "token") {
			t.Errorf("iframe URL carries a token: %s", src)
		}
	})

	var mine string
	t.Run("post a comment and the frame grows", func(t *testing.T) {
		before := settledHeight(t, host)
		do(t, frame,
			chromedp.SendKeys(chromedp.CSS(`#compose-slot textarea`), "Hello from carol, with *emphasis*."),
			chromedp.Click(chromedp.CSS(`#compose-slot button[type="submit"]`)),
		)
		wait(t, frame, `[...document.querySelectorAll("#thread > li.c .c-text")].some(e => e.textContent.includes("Hello from carol"))`)
		if v := eval[string](t, frame, `document.querySelector("#compose-slot textarea").value`); v != "" {
			t.Errorf("textarea after a 201 = %q, want it cleared", v)
		}
		mine = eval[string](t, frame, `document.querySelector("#thread > li.c:last-child").id`)
		if got := eval[string](t, frame, `document.querySelector("#count").textContent`); got != "4 comments" {
			t.Errorf("count = %q, want 4 comments", got)
		}
		after := settledHeight(t, host)
		if after <= before {
			t.Errorf("frame height %v → %v after posting, want it to grow", before, after)
		}
		noInnerScroll(t, frame)
	})

	t.Run("reply nests under its comment", func(t *testing.T) {
		before := settledHeight(t, host)
		do(t, frame,
			chromedp.Click(chromedp.CSS(`#`+mine+` > .c-box [data-act="reply"]`)),
			chromedp.SendKeys(chromedp.CSS(`#`+mine+` > .c-box .c-slot textarea`), "Answering myself."),
			chromedp.Click(chromedp.CSS(`#`+mine+` > .c-box .c-slot button[type="submit"]`)),
		)
		wait(t, frame, `document.querySelector("#`+mine+` > .replies > li.c .c-text")?.textContent.includes("Answering myself")`)
		if got := eval[string](t, frame, `document.querySelector("#`+mine+` > .c-box [data-act=toggle]").textContent`); got != "Hide 1 reply" {
			t.Errorf("toggle = %q, want %q", got, "Hide 1 reply")
		}
		if after := settledHeight(t, host); after <= before {
			t.Errorf("frame height %v → %v after replying, want it to grow", before, after)
		}
		noInnerScroll(t, frame)
	})

	t.Run("hiding and showing replies resizes the frame", func(t *testing.T) {
		sel := fmt.Sprintf(`#c-%d > .c-box [data-act=toggle]`, first)
		open := settledHeight(t, host)
		do(t, frame, chromedp.Click(chromedp.CSS(sel)))
		wait(t, frame, `document.querySelector("`+sel+`").getAttribute("aria-expanded") === "false"`)
		closed := settledHeight(t, host)
		if closed >= open {
			t.Errorf("frame height %v → %v after hiding replies, want it to shrink", open, closed)
		}
		noInnerScroll(t, frame)
		do(t, frame, chromedp.Click(chromedp.CSS(sel)))
		wait(t, frame, `document.querySelector("`+sel+`").textContent === "Hide 2 replies"`)
		if again := settledHeight(t, host); again != open {
			t.Errorf("frame height after showing replies again = %v, want %v", again, open)
		}
		noInnerScroll(t, frame)
	})

	t.Run("vote toggles", func(t *testing.T) {
		up := fmt.Sprintf(`#c-%d > .c-box .up`, first)
		score := fmt.Sprintf(`#c-%d > .c-box .score`, first)
		do(t, frame, chromedp.Click(chromedp.CSS(up)))
		wait(t, frame, `document.querySelector("`+up+`").getAttribute("aria-pressed") === "true"`)
		if got := eval[string](t, frame, `document.querySelector("`+score+`").textContent`); got != "1" {
			t.Errorf("score after upvote = %q, want 1", got)
		}
		do(t, frame, chromedp.Click(chromedp.CSS(up)))
		wait(t, frame, `document.querySelector("`+up+`").getAttribute("aria-pressed") === "false"`)
		if got := eval[string](t, frame, `document.querySelector("`+score+`").textContent`); got != "0" {
			t.Errorf("score after taking the vote back = %q, want 0", got)
		}
	})

	t.Run("edit keeps the Markdown source", func(t *testing.T) {
		box := `#` + mine + ` > .c-box`
		do(t, frame, chromedp.Click(chromedp.CSS(box+` [data-act=edit]`)))
		wait(t, frame, `document.querySelector("`+box+` .c-slot form.edit textarea")`)
		if got := eval[string](t, frame, `document.querySelector("`+box+` .c-slot form.edit textarea").value`); got != "Hello from carol, with *emphasis*." {
			t.Fatalf("edit box = %q, want the Markdown source", got)
		}
		do(t, frame,
			chromedp.SendKeys(chromedp.CSS(box+` .c-slot form.edit textarea`), " Edited."),
			chromedp.Click(chromedp.CSS(box+` .c-slot form.edit button[type="submit"]`)),
		)
		wait(t, frame, `document.querySelector("`+box+` .c-text").textContent.includes("Edited.") && !document.querySelector("`+box+` .c-edited").hidden`)
		if n := eval[int](t, frame, `document.querySelectorAll("`+box+` .c-slot form.edit").length`); n != 0 {
			t.Errorf("%d edit forms left open after saving", n)
		}
	})

	t.Run("an expired access token is renewed once", func(t *testing.T) {
		before := eval[string](t, frame, `localStorage.getItem("parley.refresh")`)
		up := fmt.Sprintf(`#c-%d > .c-box .down`, first)
		do(t, frame,
			chromedp.Evaluate[chromedp.Void](`localStorage.setItem("parley.access", "expired.or.forged")`),
			chromedp.Click(chromedp.CSS(up)),
		)
		wait(t, frame, `document.querySelector("`+up+`").getAttribute("aria-pressed") === "true"`)
		if after := eval[string](t, frame, `localStorage.getItem("parley.refresh")`); after == before || after == "" {
			t.Error("the refresh token was not rotated")
		}
		if got := eval[string](t, frame, `document.querySelector("#me-name").textContent`); got != "Carol C." {
			t.Errorf("signed in as %q after the renewal, want Carol C.", got)
		}
		do(t, frame, chromedp.Click(chromedp.CSS(up))) // take the vote back
		wait(t, frame, `document.querySelector("`+up+`").getAttribute("aria-pressed") === "false"`)
	})

	t.Run("flag with a reason", func(t *testing.T) {
		box := fmt.Sprintf(`#c-%d > .c-box`, first)
		do(t, frame,
			chromedp.Click(chromedp.CSS(box+` [data-act="flag"]`)),
			chromedp.Click(chromedp.CSS(box+` .c-slot input[value="spam"]`)),
			chromedp.SendKeys(chromedp.CSS(box+` .c-slot textarea[name="note"]`), "Looks like an ad."),
			chromedp.Click(chromedp.CSS(box+` .c-slot button[type="submit"]`)),
		)
		wait(t, frame, `document.querySelector("`+box+` .c-slot .note")?.textContent.includes("Thanks for the report")`)
		var flag models.Flag
		if err := s.store.Read.Where("comment_id = ?", first).First(&flag).Error; err != nil {
			t.Fatalf("no flag stored: %v", err)
		}
		if flag.Reason != "spam" || flag.Note != "Looks like an ad." {
			t.Errorf("flag = %q/%q, want spam/%q", flag.Reason, flag.Note, "Looks like an ad.")
		}
		if hidden := eval[bool](t, frame, `document.querySelector("`+box+` [data-act=flag]").hidden`); !hidden {
			t.Error("the flag button is still offered after flagging")
		}
	})

	t.Run("errors show next to the form and keep the text", func(t *testing.T) {
		const form = `#compose-slot form`
		for _, tc := range []struct {
			name, text, want string
		}{
			{"blank", "   \n  ", "must not be empty"},
			{"too long", strings.Repeat("x", 10001), "10000 characters"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				js, _ := json.Marshal(tc.text)
				do(t, frame,
					chromedp.Evaluate[chromedp.Void](`document.querySelector("`+form+` textarea").value = `+string(js)),
					chromedp.Click(chromedp.CSS(form+` button[type="submit"]`)),
				)
				wait(t, frame, `document.querySelector("`+form+` .err").textContent !== ""`)
				if got := eval[string](t, frame, `document.querySelector("`+form+` .err").textContent`); !strings.Contains(got, tc.want) {
					t.Errorf("error = %q, want it to say %q", got, tc.want)
				}
				if got := eval[string](t, frame, `document.querySelector("`+form+` textarea").value`); got != tc.text {
					t.Errorf("textarea lost what was typed: %d chars left of %d", len(got), len(tc.text))
				}
				if got := eval[string](t, frame, `document.querySelector("`+form+` textarea").getAttribute("aria-invalid")`); got != "true" {
					t.Errorf("textarea aria-invalid = %q, want true", got)
				}
				noInnerScroll(t, frame)
			})
		}
		snap(t, host, "widget-error", false)
	})

	t.Run("pending comments are marked for their author", func(t *testing.T) {
		admin := s.login(t, "admin", "admin-password-123")
		s.call(t, "PATCH", "/articles/"+slug, admin, map[string]string{"moderation_mode": "pre"}, nil)
		t.Cleanup(func() {
			s.call(t, "PATCH", "/articles/"+slug, admin, map[string]string{"moderation_mode": "post"}, nil)
		})
		do(t, frame,
			chromedp.Evaluate[chromedp.Void](`document.querySelector("#compose-slot textarea").value = ""`),
			chromedp.SendKeys(chromedp.CSS(`#compose-slot textarea`), "Held for review."),
			chromedp.Click(chromedp.CSS(`#compose-slot button[type="submit"]`)),
		)
		wait(t, frame, `[...document.querySelectorAll("#thread > li.c")].some(li => li.querySelector(".c-text").textContent.includes("Held for review") && !li.querySelector(".c-pending").hidden)`)
		if got := eval[string](t, frame, `document.querySelector("#status").textContent`); !strings.Contains(got, "awaiting moderation") {
			t.Errorf("status = %q, want it to say the comment awaits moderation", got)
		}
	})

	t.Run("a locked article says comments are closed", func(t *testing.T) {
		admin := s.login(t, "admin", "admin-password-123")
		s.call(t, "PATCH", "/articles/"+slug, admin, map[string]any{"comments_locked": true}, nil)
		t.Cleanup(func() { s.call(t, "PATCH", "/articles/"+slug, admin, map[string]any{"comments_locked": false}, nil) })
		const form = `#compose-slot form`
		do(t, frame,
			chromedp.Evaluate[chromedp.Void](`document.querySelector("`+form+` textarea").value = "Too late?"`),
			chromedp.Click(chromedp.CSS(form+` button[type="submit"]`)),
		)
		wait(t, frame, `document.querySelector("`+form+` .err").textContent === "Comments are closed."`)
		if got := eval[string](t, frame, `document.querySelector("`+form+` textarea").value`); got != "Too late?" {
			t.Errorf("textarea = %q after the refusal, want the text kept", got)
		}
		if hidden := eval[bool](t, frame, `document.querySelector("#closed").hidden`); hidden {
			t.Error("the closed notice is not shown")
		}
		snap(t, host, "widget-locked", false)
	})

	t.Run("delete a reply", func(t *testing.T) {
		reply := eval[string](t, frame, `document.querySelector("#`+mine+` > .replies > li.c").id`)
		count := eval[string](t, frame, `document.querySelector("#count").textContent`)
		do(t, frame, chromedp.Click(chromedp.CSS(`#`+reply+` > .c-box [data-act=delete]`)))
		wait(t, frame, `document.querySelector("#`+reply+` .c-slot form.confirm")`)
		do(t, frame, chromedp.Click(chromedp.CSS(`#`+reply+` .c-slot form.confirm button[type="submit"]`)))
		wait(t, frame, `!document.getElementById("`+reply+`")`)
		if got := eval[bool](t, frame, `document.querySelector("#`+mine+` > .c-box [data-act=toggle]").hidden`); !got {
			t.Error("the replies toggle is still shown with no replies left")
		}
		if got := eval[string](t, frame, `document.querySelector("#count").textContent`); got == count {
			t.Errorf("count = %q, unchanged after a delete", got)
		}
	})

	t.Run("sign out", func(t *testing.T) {
		do(t, frame, chromedp.Click(chromedp.CSS(`#signout`)))
		wait(t, frame, `!document.querySelector(".signed-out").hidden`)
		if got := eval[bool](t, frame, `localStorage.getItem("parley.access") === null && localStorage.getItem("parley.refresh") === null`); !got {
			t.Error("tokens are still stored after signing out")
		}
	})
}

func TestWidgetIgnoresScriptInComments(t *testing.T) {
	s := newSite(t)
	eve := s.register(t, "eve", `<script>window.__xss=1</script>Eve`)
	mallory := s.register(t, "mallory", `<img src=x onerror="window.__xss=2">`)
	s.comment(t, mallory, "Nothing to see.", 0)
	s.comment(t, eve, `<img src=x onerror="window.__xss=3"> hello`, 0)
	s.comment(t, eve, `[click me](javascript:window.__xss=4) and <a href="javascript:window.__xss=5">me</a> or [this](`+s.blogURL+`/next)`, 0)
	s.comment(t, eve, `<script>window.__xss=6</script><svg onload="window.__xss=7"></svg><iframe src="javascript:parent.__xss=8"></iframe>`+"\n\nhostile markup", 0)

	host := newBrowser(t)
	do(t, host, chromedp.Navigate(s.blogURL+"/"))
	frame := s.embedFrame(t, host)
	wait(t, frame, `document.querySelectorAll("#thread li.c").length === 4`)

	names := eval[[]string](t, frame, `[...document.querySelectorAll(".c-author")].map(e => e.textContent)`)
	if want := []string{`<img src=x onerror="window.__xss=2">`, `<script>window.__xss=1</script>Eve`}; names[0] != want[0] || names[1] != want[1] {
		t.Errorf("display names = %q, want them shown as text: %q", names, want)
	}
	if n := eval[int](t, frame, `document.querySelectorAll("#thread script, #thread img, #thread svg, #thread iframe, #thread [onerror], #thread [onload]").length`); n != 0 {
		t.Errorf("%d active elements made it into the thread", n)
	}
	// Click every link in the comments: none may run code, and the one real
	// link opens outside the frame.
	links := eval[[]string](t, frame, `[...document.querySelectorAll("#thread .c-text a")].map(a => a.getAttribute("href") + " " + a.target + " " + a.rel)`)
	if len(links) == 0 {
		t.Fatal("no links in the comments, want the real one")
	}
	for _, l := range links {
		if !strings.HasPrefix(l, s.blogURL+"/next _blank ") || !strings.Contains(l, "noopener") {
			t.Errorf("link %q, want only the real link, opening in a new tab with noopener", l)
		}
	}
	do(t, frame,
		chromedp.Click(chromedp.CSS(`#thread .c-text a`)),
		chromedp.Evaluate[chromedp.Void](`document.querySelectorAll("#thread .c-text a").forEach(a => a.click())`),
	)
	time.Sleep(300 * time.Millisecond) // a script that did get in would have run by now
	for name, ctx := range map[string]context.Context{"frame": frame, "host": host} {
		if got := eval[string](t, ctx, `String(window.__xss)`); got != "undefined" {
			t.Errorf("window.__xss in the %s = %s, want undefined", name, got)
		}
	}
}

func TestWidgetPagingAndSorting(t *testing.T) {
	s := newSite(t)
	dave := s.register(t, "dave", "Dave")
	const n = 53 // more than one page of 50
	for i := range n {
		s.comment(t, dave, fmt.Sprintf("Comment number %d.", i+1), 0)
	}

	host := newBrowser(t)
	do(t, host, chromedp.Navigate(s.blogURL+"/"))
	frame := s.embedFrame(t, host)
	wait(t, frame, `document.querySelectorAll("#thread > li.c").length === 50`)
	if got := eval[string](t, frame, `document.querySelector("#count").textContent`); got != fmt.Sprintf("%d comments", n) {
		t.Errorf("count = %q, want %d comments", got, n)
	}
	before := settledHeight(t, host)
	do(t, frame, chromedp.Click(chromedp.CSS(`#more`)))
	wait(t, frame, fmt.Sprintf(`document.querySelectorAll("#thread > li.c").length === %d && document.querySelector("#more").hidden`, n))
	loaded := settledHeight(t, host)
	if loaded <= before {
		t.Errorf("frame height %v → %v after loading more, want it to grow", before, loaded)
	}
	noInnerScroll(t, frame)

	do(t, frame, chromedp.SetValue(chromedp.CSS(`#sort`), "newest"), chromedp.Evaluate[chromedp.Void](`document.querySelector("#sort").dispatchEvent(new Event("change"))`))
	wait(t, frame, fmt.Sprintf(`document.querySelector("#thread > li.c .c-text")?.textContent.includes("number %d.")`, n))
	if got := eval[int](t, frame, `document.querySelectorAll("#thread > li.c").length`); got != 50 {
		t.Errorf("after sorting, %d comments shown, want the first page of 50", got)
	}
	if sorted := settledHeight(t, host); sorted >= loaded {
		t.Errorf("frame height %v → %v with one page again, want it to shrink", loaded, sorted)
	}
	noInnerScroll(t, frame)
}

func TestWidgetGuestComment(t *testing.T) {
	s := newSite(t, func(c *api.Config) { c.AllowGuests = true })
	host := newBrowser(t)
	do(t, host, chromedp.Navigate(s.blogURL+"/"))
	frame := s.embedFrame(t, host)
	wait(t, frame, `document.querySelector("#empty") && !document.querySelector("#empty").hidden`)
	if got := eval[string](t, frame, `document.querySelector("#empty").textContent`); got != "Be the first to comment." {
		t.Errorf("empty state = %q", got)
	}
	const form = `#compose-slot form`
	wait(t, frame, `!document.querySelector("`+form+` .guest").hidden`)
	do(t, frame,
		chromedp.SendKeys(chromedp.CSS(form+` textarea`), "A guest was here."),
		chromedp.SendKeys(chromedp.CSS(form+` input[name="guest_name"]`), "Passer-by"),
		chromedp.Click(chromedp.CSS(form+` button[type="submit"]`)),
	)
	wait(t, frame, `document.querySelector("#thread > li.c .c-author")?.textContent === "Passer-by"`)
	if hidden := eval[bool](t, frame, `document.querySelector("#empty").hidden`); !hidden {
		t.Error("the empty state is still shown next to a comment")
	}
	// Guests are held for review by default; the guest sees why the comment
	// is not public yet.
	if hidden := eval[bool](t, frame, `document.querySelector("#thread > li.c .c-pending").hidden`); hidden {
		t.Error("the guest's held comment has no awaiting-moderation marker")
	}
	if got := eval[int](t, frame, `Object.keys(localStorage).filter(k => k.startsWith("parley.")).length`); got != 0 {
		t.Errorf("a guest comment stored %d parley keys, want none", got)
	}
}

func TestWidgetSeveralSections(t *testing.T) {
	s := newSite(t)
	host := newBrowser(t)
	do(t, host, chromedp.Navigate(s.blogURL+"/two"))
	wait(t, host, `document.querySelectorAll("iframe").length === 2`)
	srcs := eval[[]string](t, host, `[...document.querySelectorAll("iframe")].map(f => f.src)`)
	for i, want := range []string{slug, "no-such-post"} {
		// The page's address follows, for permalinks.
		if w := s.parley.URL + "/embed?article=" + want + "&parent=" + url.QueryEscape(s.blogURL) + "&url="; !strings.HasPrefix(srcs[i], w) {
			t.Errorf("iframe %d src = %s, want %s", i, srcs[i], w)
		}
	}
	if n := eval[int](t, host, `document.styleSheets.length + document.querySelectorAll("style, link").length`); n != 0 {
		t.Errorf("the widget added %d style sheets to the blog page", n)
	}

	var missing context.Context
	deadline := time.Now().Add(10 * time.Second)
	for missing == nil && time.Now().Before(deadline) {
		infos, err := chromedp.Targets(host)
		if err != nil {
			t.Fatal(err)
		}
		for _, info := range infos {
			if info.Type == "iframe" && strings.Contains(info.URL, "article=no-such-post") {
				fctx, cancel := chromedp.NewContext(host, chromedp.WithTargetID(info.TargetID))
				t.Cleanup(cancel)
				missing = fctx
			}
		}
	}
	if missing == nil {
		t.Fatal("the second section's frame never appeared")
	}
	wait(t, missing, `document.querySelector("#loaderr") && !document.querySelector("#loaderr").hidden`)
	if got := eval[string](t, missing, `document.querySelector("#loaderr p").textContent`); !strings.Contains(got, "could not be found") {
		t.Errorf("error state = %q", got)
	}
	// Each frame is sized by its own messages.
	wait(t, host, `(() => { const [a, b] = document.querySelectorAll("iframe"); return a.style.height && b.style.height && a.style.height !== b.style.height })()`)
}

// TestWidgetIgnoresForeignMessages: the loader resizes its frame only on
// messages from the Parley origin sent by that frame; a script on the host
// page cannot resize (or otherwise drive) the widget by posting messages.
func TestWidgetIgnoresForeignMessages(t *testing.T) {
	s := newSite(t)
	host := newBrowser(t)
	do(t, host, chromedp.Navigate(s.blogURL+"/"))
	frame := s.embedFrame(t, host)
	wait(t, frame, `document.querySelector("#empty") && !document.querySelector("#empty").hidden`)
	before := settledHeight(t, host)
	eval[bool](t, host, `window.postMessage({type: "parley:height", height: 4321}, "*"), true`)
	eval[bool](t, host, `window.dispatchEvent(new MessageEvent("message", {data: {type: "parley:height", height: 4321}, origin: "`+s.parley.URL+`"})), true`)
	time.Sleep(300 * time.Millisecond)
	if after := frameHeight(t, host); after != before {
		t.Fatalf("a message from the host page resized the frame: %v → %v", before, after)
	}
}

// TestWidgetLiveBar: a comment posted while a reader has the thread open
// shows up as a "1 new comment — show" bar within a second or two; clicking
// it shows the comment, and an edit and a vote elsewhere change the
// comment on screen without a reload.
func TestWidgetLiveBar(t *testing.T) {
	s := newSite(t)
	host := newBrowser(t)
	do(t, host, chromedp.Navigate(s.blogURL+"/"))
	frame := s.embedFrame(t, host)
	wait(t, frame, `document.querySelector("#live").hidden && document.querySelector("#empty").hidden === false`)

	wren := s.register(t, "wren", "Wren")
	first := s.comment(t, wren, "Posted while you were reading.", 0)
	s.comment(t, wren, "And another one.", 0)
	wait(t, frame, `!document.querySelector("#live").hidden && document.querySelector("#live").textContent === "2 new comments — show"`)
	if n := eval[int](t, frame, `document.querySelectorAll("#thread li.c").length`); n != 0 {
		t.Fatalf("%d comments shown before the bar was clicked, want 0", n)
	}
	snapComments(t, host, "live-bar")
	do(t, frame, chromedp.Click(chromedp.CSS("#live")))
	wait(t, frame, `document.querySelectorAll("#thread li.c").length === 2 && document.querySelector("#live").hidden`)

	s.call(t, "PATCH", fmt.Sprintf("/comments/%d", first), wren, map[string]string{"body": "Edited live."}, nil)
	wait(t, frame, fmt.Sprintf(`document.querySelector("#c-%d .c-text").textContent.trim() === "Edited live."`, first))
	voter := s.register(t, "vic", "Vic")
	s.call(t, "PUT", fmt.Sprintf("/comments/%d/vote", first), voter, map[string]int{"value": 1}, nil)
	wait(t, frame, fmt.Sprintf(`document.querySelector("#c-%d .score").textContent === "1"`, first))
}

func TestWidgetShowsStaffAndUsernames(t *testing.T) {
	s := newSite(t)
	admin := s.login(t, "admin", "admin-password-123")
	s.comment(t, admin, "Official answer.", 0)
	mimic := s.register(t, "mimic", "The Admin Team")
	s.comment(t, mimic, "Please send me your password.", 0)
	plain := s.register(t, "plain", "Plain")
	s.comment(t, plain, "Just reading.", 0)

	host := newBrowser(t)
	do(t, host, chromedp.Navigate(s.blogURL+"/"))
	frame := s.embedFrame(t, host)
	wait(t, frame, `document.querySelectorAll("#thread > li.c").length === 3`)
	rows := eval[[]string](t, frame, `[...document.querySelectorAll("#thread > li.c")].map(li => {
		const shown = (sel) => { const e = li.querySelector(sel); return e.hidden ? "-" : e.textContent; };
		return [shown(".c-author"), shown(".c-staff"), shown(".c-user")].join("|");
	})`)
	want := []string{"Admin|Admin|-", "The Admin Team|-|@mimic", "Plain|-|-"}
	for i := range want {
		if rows[i] != want[i] {
			t.Errorf("comment %d shows %q, want %q (no badge; the username beside a different display name)", i, rows[i], want[i])
		}
	}
	// The badge is not text a name can carry: it is its own element.
	if n := eval[int](t, frame, `document.querySelectorAll("#thread .c-staff:not([hidden])").length`); n != 1 {
		t.Errorf("%d staff badges shown, want 1", n)
	}
}

func TestWidgetShowsMoreReplies(t *testing.T) {
	s := newSite(t)
	talker := s.register(t, "talker", "Talker")
	root := s.comment(t, talker, "A popular comment.", 0)
	const n = 75 // the page carries 20; two clicks bring 50, then 5
	for i := range n {
		s.comment(t, talker, fmt.Sprintf("Reply number %d.", i+1), root)
	}

	host := newBrowser(t)
	do(t, host, chromedp.Navigate(s.blogURL+"/"))
	frame := s.embedFrame(t, host)
	replies := fmt.Sprintf(`document.querySelectorAll("#c-%d > .replies > li.c").length`, root)
	more := fmt.Sprintf(`#c-%d > .c-more`, root)
	wait(t, frame, replies+` === 20`)
	if hidden := eval[bool](t, frame, `document.querySelector("`+more+`").hidden`); hidden {
		t.Fatal("no show-more-replies button below 20 of 75 replies")
	}
	do(t, frame, chromedp.Click(chromedp.CSS(more)))
	wait(t, frame, replies+` === 70`)
	do(t, frame, chromedp.Click(chromedp.CSS(more)))
	wait(t, frame, replies+fmt.Sprintf(` === %d && document.querySelector("%s").hidden`, n, more))
	texts := eval[[]string](t, frame, fmt.Sprintf(`[...document.querySelectorAll("#c-%d > .replies > li.c > .c-box .c-text")].map(e => e.textContent.trim())`, root))
	for i, got := range texts {
		if want := fmt.Sprintf("Reply number %d.", i+1); got != want {
			t.Fatalf("reply %d reads %q, want %q (each once, oldest first)", i, got, want)
		}
	}
	noInnerScroll(t, frame)
}
