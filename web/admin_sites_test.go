package web_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/parley-comments/parley/models"
)

// TestAdminSites: an admin adds, changes and deletes a site on /admin, the
// server refuses a bad origin next to its field, and the queue filters by site.
func TestAdminSites(t *testing.T) {
	s := newAdminSite(t)
	alice := s.signUp(t, "alice", "Alice")
	if _, st := s.post(t, alice.AccessToken, "Held: [a](https://a.example) [b](https://b.example) [c](https://c.example)"); st != "pending" {
		t.Fatalf("fixture comment is %s, want pending", st)
	}

	ctx, problems := adminBrowser(t)
	adminDo(t, ctx, chromedp.Navigate(s.url+"/admin"),
		chromedp.SetValue(chromedp.CSS(`#signin input[name="login"]`), "admin"),
		chromedp.SetValue(chromedp.CSS(`#signin input[name="password"]`), adminTestPassword),
		chromedp.Click(chromedp.CSS(`#signin button[type="submit"]`)),
	)
	adminWait(t, ctx, `document.querySelectorAll("#queue li.item").length === 1`)
	if !adminEval[bool](t, ctx, `document.querySelector("#site").closest("label").hidden`) {
		t.Error("the site filter is offered with one site only")
	}
	adminDo(t, ctx, chromedp.Click(chromedp.CSS(`[data-view="sites"]`)))
	adminWait(t, ctx, `document.querySelector('#sites form[data-site="default"]') !== null`)
	if got := adminEval[string](t, ctx, `document.querySelector('#sites form[data-site="default"] .embed-code').textContent`); !strings.Contains(got, `data-site="default"`) || !strings.Contains(got, "/widget.js") {
		t.Errorf("embed code = %q", got)
	}

	// A bad origin is refused next to its field; nothing is stored.
	adminDo(t, ctx,
		chromedp.SendKeys(chromedp.CSS(`#site-new input[name="id"]`), "travel"),
		chromedp.SendKeys(chromedp.CSS(`#site-new input[name="name"]`), "Travel notes"),
		chromedp.SendKeys(chromedp.CSS(`#site-new textarea[name="origins"]`), "travel.example/blog"),
		chromedp.Click(chromedp.CSS(`#site-new button[type="submit"]`)),
	)
	adminWait(t, ctx, `document.querySelector('#site-new textarea[name="origins"]').getAttribute("aria-invalid") === "true"`)
	var n int64
	s.store.Read.Model(&models.Site{}).Count(&n)
	if n != 1 {
		t.Fatalf("%d sites after a refused one, want 1", n)
	}

	adminDo(t, ctx,
		chromedp.SetValue(chromedp.CSS(`#site-new textarea[name="origins"]`), "https://Travel.example/\nhttp://127.0.0.1:4000"),
		chromedp.Click(chromedp.CSS(`#site-new button[type="submit"]`)),
	)
	adminWait(t, ctx, `document.querySelector('#sites form[data-site="travel"]') !== null`)
	if got := adminEval[string](t, ctx, `document.querySelector('#sites form[data-site="travel"] textarea[name="origins"]').value`); got != "https://travel.example\nhttp://127.0.0.1:4000" {
		t.Errorf("stored origins = %q", got)
	}

	// Automatic threads off, saved.
	adminDo(t, ctx,
		chromedp.Click(chromedp.CSS(`#sites form[data-site="travel"] input[name="auto_threads"]`)),
		chromedp.Click(chromedp.CSS(`#sites form[data-site="travel"] button[type="submit"]`)),
	)
	adminWait(t, ctx, `document.querySelector('#sites form[data-site="travel"] input[name="auto_threads"]')?.checked === false && !document.querySelector('#sites form[data-site="travel"]').hasAttribute("aria-busy")`)
	var site models.Site
	if err := s.store.Read.Where("id = ?", "travel").Take(&site).Error; err != nil {
		t.Fatal(err)
	}
	if site.AutoThreads || site.Name != "Travel notes" || len(site.Origins) != 2 {
		t.Fatalf("stored site = %+v", site)
	}

	// The queue's site filter: the held comment is the default site's.
	adminDo(t, ctx, chromedp.Click(chromedp.CSS(`[data-view="pending"]`)))
	adminWait(t, ctx, `!document.querySelector("#site").closest("label").hidden && document.querySelectorAll("#queue li.item").length === 1`)
	adminDo(t, ctx, chromedp.SetValue(chromedp.CSS(`#site`), "travel"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector("#site").dispatchEvent(new Event("change"))`))
	adminWait(t, ctx, `document.querySelectorAll("#queue li.item").length === 0 && !document.querySelector("#queue-empty").hidden`)
	adminWait(t, ctx, `document.querySelector('[data-count="pending"]').textContent === "0"`)

	// Deleted.
	adminDo(t, ctx, chromedp.Click(chromedp.CSS(`[data-view="sites"]`)))
	adminWait(t, ctx, `document.querySelector('#sites form[data-site="travel"]') !== null`)
	if adminEval[bool](t, ctx, `document.querySelector('#sites form[data-site="default"] [data-act="delete"]').hidden === false`) {
		t.Error("the default site offers to be deleted")
	}
	adminDo(t, ctx, chromedp.Click(chromedp.CSS(`#sites form[data-site="travel"] [data-act="delete"]`)))
	adminWait(t, ctx, `document.querySelector('#sites form[data-site="travel"]') === null`)
	s.store.Read.Model(&models.Site{}).Count(&n)
	if n != 1 {
		t.Fatalf("%d sites after deleting one, want 1", n)
	}
	for _, p := range problems() {
		t.Errorf("console: %s", p)
	}
}
