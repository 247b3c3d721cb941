package web_test

import (
	"testing"

	"github.com/chromedp/chromedp"
)

// TestAdminPageKeepsTheSessionThroughOutages: when the access token runs out
// while the server cannot renew it (a dropped connection, a 429, a 503), the
// moderator stays signed in with their refresh token kept, and the next
// renewal that gets through carries on. Only a refused refresh token signs
// them out.
func TestAdminPageKeepsTheSessionThroughOutages(t *testing.T) {
	s := newAdminSite(t)
	ctx, problems := adminBrowser(t)
	adminDo(t, ctx, chromedp.Navigate(s.url+"/admin"),
		chromedp.SetValue(chromedp.CSS(`#signin input[name="login"]`), "admin"),
		chromedp.SetValue(chromedp.CSS(`#signin input[name="password"]`), adminTestPassword),
		chromedp.Click(chromedp.CSS(`#signin button[type="submit"]`)),
	)
	adminWait(t, ctx, `!document.querySelector("#work").hidden`)
	refresh := adminEval[string](t, ctx, `sessionStorage.getItem("parley.admin.refresh")`)

	for _, fault := range []string{"drop", "429", "503"} {
		t.Run(fault, func(t *testing.T) {
			s.refreshFault.Store(fault)
			// An access token the server no longer takes: the next call must renew.
			adminDo(t, ctx, chromedp.Evaluate[chromedp.Void](`sessionStorage.setItem("parley.admin.access", "expired")`))
			adminDo(t, ctx, chromedp.Click(chromedp.CSS(`#reload`)))
			adminWait(t, ctx, `!document.querySelector("#queue-err").hidden`)
			if adminEval[bool](t, ctx, `document.querySelector("#work").hidden`) {
				t.Fatal("the moderator was signed out")
			}
			if got := adminEval[string](t, ctx, `sessionStorage.getItem("parley.admin.refresh")`); got != refresh {
				t.Fatalf("refresh token = %q after the outage, want it kept (%q)", got, refresh)
			}
		})
	}

	t.Run("the renewal that gets through carries on", func(t *testing.T) {
		s.refreshFault.Store("")
		adminDo(t, ctx, chromedp.Click(chromedp.CSS(`#queue-err button`)))
		adminWait(t, ctx, `document.querySelector("#queue-err").hidden && !document.querySelector("#work").hidden`)
		if got := adminEval[string](t, ctx, `sessionStorage.getItem("parley.admin.refresh")`); got == refresh || got == "" {
			t.Fatalf("refresh token = %q, want a new one", got)
		}
	})
	if p := problems(); len(p) > 0 {
		t.Errorf("console problems: %q", p)
	}
}

// TestAdminPageSignInNoticeLeavesThePhoneScreen: the "Signed in as …" notice
// is for screen readers; on a phone it must not float over the queue.
func TestAdminPageSignInNoticeLeavesThePhoneScreen(t *testing.T) {
	s := newAdminSite(t)
	ctx, _ := adminBrowser(t)
	adminDo(t, ctx, chromedp.EmulateViewport(375, 667), chromedp.Navigate(s.url+"/admin"),
		chromedp.SetValue(chromedp.CSS(`#signin input[name="login"]`), "admin"),
		chromedp.SetValue(chromedp.CSS(`#signin input[name="password"]`), adminTestPassword),
		chromedp.Click(chromedp.CSS(`#signin button[type="submit"]`)),
	)
	adminWait(t, ctx, `!document.querySelector("#work").hidden && document.querySelector("#status").textContent !== ""`)
	if got := adminEval[string](t, ctx, `document.querySelector("#status").textContent`); got != "Signed in as Admin (admin)." && got != "Signed in as admin." {
		t.Logf("notice = %q", got)
	}
	area := adminEval[float64](t, ctx, `(() => { const r = document.querySelector("#status").getBoundingClientRect(); return r.width * r.height; })()`)
	if area > 4 {
		t.Fatalf("the sign-in notice covers %.0f px² of the phone screen, want it for screen readers only", area)
	}
}
