package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/parley-comments/parley/api"
	"github.com/parley-comments/parley/auth"
	"github.com/parley-comments/parley/migrations"
	"github.com/parley-comments/parley/models"
	"github.com/parley-comments/parley/seeds"
	"github.com/parley-comments/parley/web"
)

const adminTestPassword = "admin-password-123"

// adminSite is a running Parley on a fresh database, driven through its API.
type adminSite struct {
	url   string
	store *models.Store
	// refreshFault, when set, is how /api/v1/auth/refresh fails: "drop"
	// (the connection closes unanswered), or a status such as "503".
	refreshFault atomic.Value
}

func newAdminSite(t *testing.T) *adminSite {
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
	if err := seeds.Apply(context.Background(), store, seeds.Options{AdminPassword: adminTestPassword, Hasher: hasher}); err != nil {
		t.Fatal(err)
	}
	parley := api.NewServer(api.Config{
		Store:     store,
		JWTSecret: []byte("a-test-secret-that-is-long-enough-0123456789"),
		Hasher:    hasher,
		// No line per request in the test's output.
		QuietRequests: true,
	})
	s := &adminSite{store: store}
	s.refreshFault.Store("")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fault := s.refreshFault.Load().(string)
		if r.URL.Path != "/api/v1/auth/refresh" || fault == "" {
			parley.ServeHTTP(w, r)
			return
		}
		if fault == "drop" {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(map[string]int{"429": 429, "503": 503}[fault])
	}))
	t.Cleanup(srv.Close)
	s.url = srv.URL
	return s
}

// send makes one API request and decodes a 2xx answer into out; any other
// status fails the test.
func (s *adminSite) send(t *testing.T, method, path, token string, body, out any) {
	t.Helper()
	var rd bytes.Buffer
	if body != nil {
		if err := json.NewEncoder(&rd).Encode(body); err != nil {
			t.Fatal(err)
		}
	}
	req, err := http.NewRequest(method, s.url+"/api/v1"+path, &rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
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

type adminSession struct {
	AccessToken string `json:"access_token"`
	User        struct {
		ID uint `json:"id"`
	} `json:"user"`
}

// signUp registers an account; its password is "password-" + username.
func (s *adminSite) signUp(t *testing.T, username, displayName string) adminSession {
	t.Helper()
	var out adminSession
	s.send(t, "POST", "/auth/register", "", map[string]string{"username": username, "password": "password-" + username, "display_name": displayName}, &out)
	return out
}

func (s *adminSite) signIn(t *testing.T, login, password string) string {
	t.Helper()
	var out adminSession
	s.send(t, "POST", "/auth/login", "", map[string]string{"login": login, "password": password}, &out)
	return out.AccessToken
}

// post comments on the seed article and returns the comment's id and status.
func (s *adminSite) post(t *testing.T, token, body string) (uint, string) {
	t.Helper()
	var out struct {
		Comment struct {
			ID     uint   `json:"id"`
			Status string `json:"status"`
		} `json:"comment"`
	}
	s.send(t, "POST", "/articles/"+seeds.ArticleSlug+"/comments", token, map[string]string{"body": body}, &out)
	return out.Comment.ID, out.Comment.Status
}

func (s *adminSite) status(t *testing.T, id uint) string {
	t.Helper()
	var c models.Comment
	if err := s.store.Read.First(&c, id).Error; err != nil {
		t.Fatalf("comment %d: %v", id, err)
	}
	return c.Status
}

// adminBrowser starts a headless Chromium with a fresh profile and returns a
// tab, and a func that lists the page's uncaught exceptions and CSP reports.
func adminBrowser(t *testing.T) (context.Context, func() []string) {
	t.Helper()
	path := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("no Chromium found in PATH (tried chromium, chromium-browser, google-chrome); CI needs it for the browser tests")
		}
		t.Skip("browser test skipped: no Chromium found in PATH (install chromium to run it)")
	}
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
	var mu sync.Mutex
	var problems []string
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.IsException() || m.Source == "security" || strings.Contains(m.Text, "Content Security Policy") {
				mu.Lock()
				problems = append(problems, m.String())
				mu.Unlock()
			}
		}
	}()
	return ctx, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), problems...)
	}
}

func adminDo(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

func adminEval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// adminWait polls a JavaScript condition until it holds.
func adminWait(t *testing.T, ctx context.Context, cond string) {
	t.Helper()
	_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](cond,
		chromedp.WithPollingInterval(40*time.Millisecond), chromedp.WithPollingTimeout(10*time.Second)))
	if err != nil {
		t.Fatalf("waiting for %s: %v", cond, err)
	}
}

// adminSnap saves a screenshot of the whole page, as laid out in a window of
// the given width, under PARLEY_ARTIFACTS (or the test's temp dir). The
// window grows to the page's height for the shot, so no scrollbar takes
// width from the page, and gets its height back afterwards.
func adminSnap(t *testing.T, ctx context.Context, name string, width, height int64) {
	t.Helper()
	dir := os.Getenv("PARLEY_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for range 3 { // a wider page may wrap to a shorter one
		h := max(height, adminEval[int64](t, ctx, `Math.ceil(document.body.getBoundingClientRect().height)`))
		adminDo(t, ctx, chromedp.EmulateViewport(width, h))
		if adminEval[int64](t, ctx, `Math.ceil(document.body.getBoundingClientRect().height)`) <= h {
			break
		}
	}
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	adminDo(t, ctx, chromedp.EmulateViewport(width, height))
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// queued is the selector of a comment in the queue.
func queued(id uint) string { return fmt.Sprintf("#q-%d", id) }

func TestAdminPageHeaders(t *testing.T) {
	s := newAdminSite(t)
	res, err := http.Get(s.url + "/admin")
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	body.ReadFrom(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /admin: status %d", res.StatusCode)
	}
	csp := res.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'", "form-action 'none'", "base-uri 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP = %q, want it to have %s", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-") {
		t.Errorf("CSP = %q allows unsafe code", csp)
	}
	for name, want := range map[string]string{
		"X-Frame-Options":        "DENY",
		"Cache-Control":          "no-store",
		"Content-Type":           "text/html; charset=utf-8",
		"X-Content-Type-Options": "nosniff",
	} {
		if got := res.Header.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if !strings.Contains(body.String(), `<script type="module" src="/assets/admin.js"></script>`) {
		t.Error("the page does not load /assets/admin.js")
	}
	for _, asset := range []struct{ path, ctype string }{
		{"/assets/admin.js", "application/javascript; charset=utf-8"},
		{"/assets/client.js", "application/javascript; charset=utf-8"},
		{"/assets/admin.css", "text/css; charset=utf-8"},
	} {
		res, err := http.Get(s.url + asset.path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != asset.ctype {
			t.Errorf("GET %s: %d %q, want 200 %q", asset.path, res.StatusCode, res.Header.Get("Content-Type"), asset.ctype)
		}
	}
	// The page is served by its own route only, with its own policy.
	if res, err := http.Get(s.url + "/assets/admin.html"); err != nil {
		t.Fatal(err)
	} else if res.Body.Close(); res.StatusCode != http.StatusNotFound {
		t.Errorf("GET /assets/admin.html: status %d, want 404", res.StatusCode)
	}
}

// The page runs under a CSP without 'unsafe-inline', and only the server's
// sanitized comment HTML may be parsed as HTML.
func TestAdminPageSources(t *testing.T) {
	page, err := fs.ReadFile(web.Static, "static/admin.html")
	if err != nil {
		t.Fatal(err)
	}
	for what, re := range map[string]*regexp.Regexp{
		"inline script":  regexp.MustCompile(`<script(?:\s[^>]*)?>\s*[^<\s]`),
		"style element":  regexp.MustCompile(`<style`),
		"style attr":     regexp.MustCompile(`\sstyle\s*=`),
		"event handler":  regexp.MustCompile(`\son[a-z]+\s*=`),
		"javascript url": regexp.MustCompile(`(?i)javascript:`),
	} {
		if loc := re.FindIndex(page); loc != nil {
			t.Errorf("admin.html has an %s: %q", what, page[loc[0]:min(loc[1]+20, len(page))])
		}
	}
	code, err := fs.ReadFile(web.Static, "static/admin.js")
	if err != nil {
		t.Fatal(err)
	}
	for _, banned := range []string{"eval(", "new Function", "document.write", "outerHTML", "insertAdjacentHTML", "setAttribute(\"on", "localStorage"} {
		if bytes.Contains(code, []byte(banned)) {
			t.Errorf("admin.js uses %s", banned)
		}
	}
	if uses := regexp.MustCompile(`\.innerHTML\s*=.*`).FindAll(code, -1); len(uses) != 1 || !bytes.Contains(uses[0], []byte("c.body_html")) {
		t.Errorf("admin.js sets innerHTML in %q, want it once, for the comment's body_html", uses)
	}
}

func TestAdminPage(t *testing.T) {
	s := newAdminSite(t)
	admin := s.signIn(t, "admin", adminTestPassword)
	mia := s.signUp(t, "mia", "Mia Moderator")
	s.send(t, "PATCH", fmt.Sprintf("/admin/users/%d", mia.User.ID), admin, map[string]string{"role": "moderator"}, nil)
	alice := s.signUp(t, "alice", "Alice")
	bob := s.signUp(t, "bob", "Bob")
	carol := s.signUp(t, "carol", "")
	dave := s.signUp(t, "dave", "")
	erin := s.signUp(t, "erin", `<img src=x onerror="window.__xss=1">Erin`)

	s.post(t, alice.AccessToken, "A perfectly ordinary comment.")
	// Three distinct flaggers hide bob's comment until a moderator looks.
	flagged, _ := s.post(t, bob.AccessToken, "Cheap watches, **best prices**, ask me how.")
	for _, f := range []struct {
		token, reason, note string
	}{{carol.AccessToken, "spam", "a fake watch shop"}, {dave.AccessToken, "spam", ""}, {alice.AccessToken, "abuse", ""}} {
		s.send(t, "POST", fmt.Sprintf("/comments/%d/flags", flagged), f.token, map[string]string{"reason": f.reason, "note": f.note}, nil)
	}
	// Pre-moderation holds everything new on the article.
	s.send(t, "PATCH", "/articles/"+seeds.ArticleSlug, admin, map[string]string{"moderation_mode": "pre"}, nil)
	held, st := s.post(t, erin.AccessToken, "My first comment: *hello*.\n\n<script>window.__xss=2</script>")
	if st != "pending" {
		t.Fatalf("erin's comment is %s, want pending", st)
	}
	links, _ := s.post(t, erin.AccessToken, "Visit [one](https://a.example) [two](https://b.example) [three](https://c.example)")
	third, _ := s.post(t, dave.AccessToken, "Held as well.")

	ctx, problems := adminBrowser(t)
	adminDo(t, ctx, chromedp.Navigate(s.url+"/admin"))

	signIn := func(t *testing.T, login, password string) {
		t.Helper()
		adminDo(t, ctx,
			chromedp.SetValue(chromedp.CSS(`#signin input[name="login"]`), login),
			chromedp.SetValue(chromedp.CSS(`#signin input[name="password"]`), password),
			chromedp.Click(chromedp.CSS(`#signin button[type="submit"]`)),
		)
	}

	t.Run("a reader's account is refused", func(t *testing.T) {
		signIn(t, "alice", "password-alice")
		adminWait(t, ctx, `document.querySelector("#signin .err").textContent !== ""`)
		if got := adminEval[string](t, ctx, `document.querySelector("#signin .err").textContent`); got != "This account cannot moderate." {
			t.Errorf("error = %q, want %q", got, "This account cannot moderate.")
		}
		if n := adminEval[int](t, ctx, `sessionStorage.length`); n != 0 {
			t.Errorf("%d items in session storage after a refused sign-in, want none", n)
		}
		if !adminEval[bool](t, ctx, `document.querySelector("#work").hidden`) {
			t.Error("the moderation views are shown to a reader")
		}
	})

	t.Run("a moderator sees the queue", func(t *testing.T) {
		signIn(t, "mia", "password-mia")
		adminWait(t, ctx, `document.querySelectorAll("#queue li.item").length === 4`)
		adminWait(t, ctx, `document.querySelector('[data-count="pending"]').textContent === "4"`)
		if got := adminEval[string](t, ctx, `document.querySelector("#me-name").textContent`); got != "Mia Moderator (mia)" {
			t.Errorf("signed in as %q", got)
		}
		keys := adminEval[[]string](t, ctx, `Object.keys(sessionStorage).sort()`)
		if strings.Join(keys, ",") != "parley.admin.access,parley.admin.refresh" {
			t.Errorf("session storage keys = %q, want the access and refresh tokens under parley.admin.", keys)
		}
		if n := adminEval[int](t, ctx, `localStorage.length`); n != 0 {
			t.Errorf("%d items in local storage, want none", n)
		}

		chips := adminEval[[]string](t, ctx, `[...document.querySelectorAll("`+queued(held)+` .chips li")].map(e => e.textContent)`)
		if strings.Join(chips, ",") != "pre-moderation" {
			t.Errorf("hold chips of the held comment = %q, want [pre-moderation]", chips)
		}
		chips = adminEval[[]string](t, ctx, `[...document.querySelectorAll("`+queued(links)+` .chips li")].map(e => e.textContent)`)
		if strings.Join(chips, ",") != "too many links,pre-moderation" {
			t.Errorf("hold chips of the comment with links = %q", chips)
		}
		if got := adminEval[string](t, ctx, `document.querySelector("`+queued(held)+` .body em").textContent`); got != "hello" {
			t.Errorf("rendered comment = %q, want the emphasis rendered", got)
		}
		if got := adminEval[string](t, ctx, `document.querySelector("`+queued(held)+` .source pre").textContent`); !strings.HasPrefix(got, "My first comment: *hello*.") {
			t.Errorf("Markdown source = %q", got)
		}
		if got := adminEval[string](t, ctx, `document.querySelector("`+queued(held)+` .author").textContent`); !strings.HasPrefix(got, `<img src=x onerror="window.__xss=1">Erin`) {
			t.Errorf("author = %q, want the display name as text", got)
		}
		if got := adminEval[string](t, ctx, `document.querySelector("`+queued(held)+` .article").textContent`); !strings.Contains(got, "Putin") {
			t.Errorf("article = %q, want the seed article's title", got)
		}
		if n := adminEval[int](t, ctx, `document.querySelectorAll("#queue script, #queue img, #queue [onerror]").length`); n != 0 {
			t.Errorf("%d active elements in the queue", n)
		}
		if got := adminEval[string](t, ctx, `String(window.__xss)`); got != "undefined" {
			t.Errorf("window.__xss = %s, want undefined", got)
		}
		adminSnap(t, ctx, "admin-desktop", 1100, 900)
		adminDo(t, ctx, chromedp.EmulateViewport(360, 740))
		if adminEval[bool](t, ctx, `document.documentElement.scrollWidth > document.documentElement.clientWidth`) {
			t.Error("at 360 px the page scrolls sideways")
		}
		adminSnap(t, ctx, "admin-360", 360, 740)
		err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
				Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}},
			})
			return err
		}))
		if err != nil {
			t.Fatal(err)
		}
		if bg := adminEval[string](t, ctx, `getComputedStyle(document.body).backgroundColor`); bg == "rgb(255, 255, 255)" {
			t.Error("dark theme: the background is still white")
		}
		adminSnap(t, ctx, "admin-360-dark", 360, 740)
		adminDo(t, ctx, chromedp.EmulateViewport(1100, 900))
	})

	t.Run("the flagged tab shows why readers flagged", func(t *testing.T) {
		adminDo(t, ctx, chromedp.Click(chromedp.CSS(`[data-view="flagged"]`)))
		adminWait(t, ctx, `document.querySelector("#queue-title").textContent === "Flagged comments" && document.querySelectorAll("#queue li.item").length === 1`)
		if got := adminEval[string](t, ctx, `document.querySelector("`+queued(flagged)+` .flags").textContent`); got != "Flagged 3 times: spam ×2, abuse ×1" {
			t.Errorf("flags = %q", got)
		}
		if got := adminEval[string](t, ctx, `document.querySelector("`+queued(flagged)+` .flag-notes").textContent`); got != "spam: “a fake watch shop”" {
			t.Errorf("flag notes = %q", got)
		}
		if got := adminEval[string](t, ctx, `document.querySelector("`+queued(flagged)+` .chips").textContent`); got != "flagged" {
			t.Errorf("holds = %q, want flagged", got)
		}
	})

	t.Run("approve a held comment and it is public", func(t *testing.T) {
		adminDo(t, ctx, chromedp.Click(chromedp.CSS(`[data-view="pending"]`)))
		adminWait(t, ctx, `document.querySelectorAll("#queue li.item").length === 4`)
		adminDo(t, ctx, chromedp.Click(chromedp.CSS(queued(held)+` [data-act="approve"]`)))
		adminWait(t, ctx, `!document.querySelector("`+queued(held)+`")`)
		adminWait(t, ctx, `document.querySelector('[data-count="pending"]').textContent === "3"`)
		if got := adminEval[string](t, ctx, `document.querySelector("#status").textContent`); !strings.Contains(got, "approved") {
			t.Errorf("status = %q, want it to say the comment is approved", got)
		}
		if focused := adminEval[string](t, ctx, `document.activeElement.closest("li.item")?.id ?? document.activeElement.id`); focused == "" {
			t.Error("keyboard focus fell back to the page after the item left")
		}
		var thread struct {
			Items []struct {
				ID     uint   `json:"id"`
				Status string `json:"status"`
			} `json:"items"`
		}
		s.send(t, "GET", "/articles/"+seeds.ArticleSlug+"/comments", "", nil, &thread)
		public := false
		for _, c := range thread.Items {
			public = public || c.ID == held && c.Status == "approved"
		}
		if !public {
			t.Errorf("comment %d is not in the public thread after approval: %+v", held, thread.Items)
		}
		// And readers see it in the widget.
		tab, closeTab := chromedp.NewContext(ctx)
		defer closeTab()
		adminDo(t, tab, chromedp.Navigate(s.url+"/embed?article="+seeds.ArticleSlug+"&parent="+url.QueryEscape(s.url)))
		adminWait(t, tab, `document.body.innerText.includes("My first comment")`)
	})

	t.Run("an action another moderator got to first says so", func(t *testing.T) {
		s.send(t, "POST", fmt.Sprintf("/moderation/comments/%d/approve", third), admin, nil, nil)
		adminDo(t, ctx, chromedp.Click(chromedp.CSS(queued(third)+` [data-act="approve"]`)))
		adminWait(t, ctx, `document.querySelector("`+queued(third)+` .err").textContent !== ""`)
		if got := adminEval[string](t, ctx, `document.querySelector("`+queued(third)+` .err").textContent`); !strings.Contains(got, "already approved") {
			t.Errorf("error next to the comment = %q, want it to say it is already approved", got)
		}
		if adminEval[bool](t, ctx, `document.querySelector('`+queued(third)+` [data-act="approve"]').disabled`) {
			t.Error("the actions stay disabled after the error")
		}
	})

	t.Run("bulk reject", func(t *testing.T) {
		adminDo(t, ctx,
			chromedp.Click(chromedp.CSS(queued(links)+` .pick`)),
			chromedp.Click(chromedp.CSS(queued(third)+` .pick`)),
		)
		if got := adminEval[string](t, ctx, `document.querySelector("#picked").textContent`); got != "2 selected" {
			t.Errorf("selection = %q, want 2 selected", got)
		}
		if !adminEval[bool](t, ctx, `document.querySelector("#all").indeterminate`) {
			t.Error("select all is not shown as partly checked")
		}
		adminDo(t, ctx, chromedp.Click(chromedp.CSS(`[data-bulk="reject"]`)))
		adminWait(t, ctx, `document.querySelectorAll("#queue li.item").length === 1`)
		adminWait(t, ctx, `document.querySelector('[data-count="rejected"]').textContent === "2"`)
		for _, id := range []uint{links, third} {
			if got := s.status(t, id); got != models.StatusRejected {
				t.Errorf("comment %d is %s, want rejected", id, got)
			}
		}
		if got := adminEval[string](t, ctx, `document.querySelector("#picked").textContent`); got != "None selected" {
			t.Errorf("selection after the bulk action = %q", got)
		}
	})

	t.Run("an expired access token is renewed", func(t *testing.T) {
		adminDo(t, ctx, chromedp.Evaluate[chromedp.Void](`sessionStorage.setItem("parley.admin.access", "not-a-token")`))
		adminDo(t, ctx, chromedp.Click(chromedp.CSS(`#reload`)))
		adminWait(t, ctx, `sessionStorage.getItem("parley.admin.access") !== "not-a-token" && document.querySelectorAll("#queue li.item").length === 1`)
		if !adminEval[bool](t, ctx, `document.querySelector("#signin-view").hidden`) {
			t.Fatal("signed out although the refresh token was good")
		}
	})

	t.Run("the audit log lists the actions", func(t *testing.T) {
		adminDo(t, ctx, chromedp.Click(chromedp.CSS(`[data-view="log"]`)))
		adminWait(t, ctx, `document.querySelectorAll("#log li").length >= 3`)
		adminSnap(t, ctx, "admin-log", 1100, 900)
		entries := adminEval[[]string](t, ctx, `[...document.querySelectorAll("#log .what")].map(e => e.textContent)`)
		joined := strings.Join(entries, "\n")
		for _, want := range []string{
			fmt.Sprintf("Mia Moderator (mia) approved comment #%d", held),
			fmt.Sprintf("Mia Moderator (mia) rejected comment #%d", links),
			fmt.Sprintf("Mia Moderator (mia) rejected comment #%d", third),
		} {
			if !strings.Contains(joined, want) {
				t.Errorf("log lacks %q:\n%s", want, joined)
			}
		}
	})

	t.Run("a moderator reads the rules but cannot save them", func(t *testing.T) {
		adminDo(t, ctx, chromedp.Click(chromedp.CSS(`[data-view="rules"]`)))
		adminWait(t, ctx, `document.querySelector('#rules [name="flag_threshold"]').value === "3"`)
		if adminEval[bool](t, ctx, `document.querySelector("#rules-note").hidden || !document.querySelector('#rules [type="submit"]').hidden`) {
			t.Error("a moderator is offered to save the rules")
		}
		if !adminEval[bool](t, ctx, `document.querySelector('#rules [name="max_links"]').readOnly`) {
			t.Error("the rules are editable for a moderator")
		}
	})

	t.Run("ban an author and purge their comments", func(t *testing.T) {
		adminDo(t, ctx, chromedp.Click(chromedp.CSS(`[data-view="flagged"]`)))
		adminWait(t, ctx, `document.querySelector("#queue-title").textContent === "Flagged comments" && document.querySelector("`+queued(flagged)+`")`)
		form := queued(flagged) + ` form.ban`
		adminDo(t, ctx,
			chromedp.Click(chromedp.CSS(queued(flagged)+` [data-act="ban"]`)),
			chromedp.Click(chromedp.CSS(form+` button[type="submit"]`)),
		)
		adminWait(t, ctx, `document.querySelector('`+form+` [name="reason"]').getAttribute("aria-invalid") === "true"`)
		adminDo(t, ctx,
			chromedp.SendKeys(chromedp.CSS(form+` [name="reason"]`), "Advertising."),
			chromedp.Click(chromedp.CSS(form+` [name="term"][value="hours"]`)),
			chromedp.SetValue(chromedp.CSS(form+` [name="duration_hours"]`), "48"),
			chromedp.Click(chromedp.CSS(form+` [name="purge"]`)),
		)
		adminSnap(t, ctx, "admin-ban", 1100, 900)
		adminDo(t, ctx, chromedp.Click(chromedp.CSS(form+` button[type="submit"]`)))
		adminWait(t, ctx, `document.querySelector("#status").textContent === "Bob is banned for 48 hours, and their comments are rejected."`)
		adminWait(t, ctx, `!document.querySelector("`+queued(flagged)+`") && !document.querySelector("#queue-empty").hidden`)
		var u models.User
		if err := s.store.Read.First(&u, bob.User.ID).Error; err != nil {
			t.Fatal(err)
		}
		if u.BannedUntil == nil || u.BanReason != "Advertising." {
			t.Errorf("bob's ban: until %v, reason %q; want 48 hours for advertising", u.BannedUntil, u.BanReason)
		}
		if got := s.status(t, flagged); got != models.StatusRejected {
			t.Errorf("bob's comment is %s after the purge, want rejected", got)
		}
	})

	t.Run("sign out", func(t *testing.T) {
		adminDo(t, ctx, chromedp.Click(chromedp.CSS(`#signout`)))
		adminWait(t, ctx, `!document.querySelector("#signin-view").hidden`)
		if n := adminEval[int](t, ctx, `sessionStorage.length`); n != 0 {
			t.Errorf("%d items in session storage after signing out", n)
		}
	})

	t.Run("an admin saves the rules", func(t *testing.T) {
		signIn(t, "admin", adminTestPassword)
		adminWait(t, ctx, `!document.querySelector("#work").hidden`)
		adminDo(t, ctx, chromedp.Click(chromedp.CSS(`[data-view="rules"]`)))
		adminWait(t, ctx, `document.querySelector("#rules").dataset.loaded === "true" && document.querySelector('#rules [name="flag_threshold"]').value === "3" && !document.querySelector('#rules [type="submit"]').hidden`)
		const threshold = `#rules [name="flag_threshold"]`
		adminDo(t, ctx,
			chromedp.SetValue(chromedp.CSS(threshold), "0"),
			chromedp.Click(chromedp.CSS(`#rules button[type="submit"]`)),
		)
		adminWait(t, ctx, `document.querySelector('`+threshold+`').getAttribute("aria-invalid") === "true"`)
		if got := adminEval[string](t, ctx, `document.querySelector('`+threshold+`').closest("label").querySelector(".field-err").textContent`); got != "Must be at least 1." {
			t.Errorf("field error = %q, want %q", got, "Must be at least 1.")
		}
		adminSnap(t, ctx, "admin-rules-error", 1100, 900)
		adminDo(t, ctx,
			chromedp.SetValue(chromedp.CSS(threshold), "5"),
			chromedp.SetValue(chromedp.CSS(`#rules [name="blocked_words"]`), "casino\n  viagra  \n\n"),
			chromedp.Click(chromedp.CSS(`#rules button[type="submit"]`)),
		)
		adminWait(t, ctx, `document.querySelector("#status").textContent === "The rules are saved."`)
		if adminEval[bool](t, ctx, `!!document.querySelector("#rules [aria-invalid]")`) {
			t.Error("a field is still marked invalid after saving")
		}
		var rules struct {
			FlagThreshold int      `json:"flag_threshold"`
			BlockedWords  []string `json:"blocked_words"`
			MaxLinks      int      `json:"max_links"`
		}
		s.send(t, "GET", "/moderation/rules", admin, nil, &rules)
		if rules.FlagThreshold != 5 || strings.Join(rules.BlockedWords, ",") != "casino,viagra" || rules.MaxLinks != 2 {
			t.Errorf("stored rules = %+v, want threshold 5, words casino and viagra, max links untouched", rules)
		}
		if got := adminEval[string](t, ctx, `document.querySelector('#rules [name="blocked_words"]').value`); got != "casino\nviagra" {
			t.Errorf("blocked words after saving = %q, want the stored list", got)
		}
	})

	t.Run("an ended session signs out", func(t *testing.T) {
		adminDo(t, ctx, chromedp.Evaluate[chromedp.Void](`sessionStorage.setItem("parley.admin.access", "bad"); sessionStorage.setItem("parley.admin.refresh", "bad")`))
		adminDo(t, ctx, chromedp.Click(chromedp.CSS(`[data-view="log"]`)))
		adminWait(t, ctx, `!document.querySelector("#signin-view").hidden`)
		if got := adminEval[string](t, ctx, `document.querySelector("#status").textContent`); !strings.Contains(got, "session has expired") {
			t.Errorf("status = %q, want it to say the session expired", got)
		}
	})

	if p := problems(); len(p) > 0 {
		t.Errorf("the page reported problems:\n%s", strings.Join(p, "\n"))
	}

	t.Run("the policy stops inline script", func(t *testing.T) {
		adminDo(t, ctx, chromedp.Evaluate[chromedp.Void](`(() => { const s = document.createElement("script"); s.textContent = "window.__inline = 1"; document.body.append(s) })()`))
		deadline := time.Now().Add(5 * time.Second)
		for len(problems()) == 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if got := adminEval[string](t, ctx, `String(window.__inline)`); got != "undefined" {
			t.Errorf("an inline script ran: window.__inline = %s", got)
		}
		if p := problems(); len(p) == 0 || !strings.Contains(p[0], "Content Security Policy") {
			t.Errorf("no CSP report for the inline script, got %q", p)
		}
	})
}
