package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parley-comments/parley/api"
	"github.com/parley-comments/parley/identity"
	"github.com/parley-comments/parley/identity/oidctest"
)

// TestWidgetProviderSignIn signs in from the widget with a real OpenID
// Provider on loopback: the popup shows the provider's login page, returns
// to Parley's callback, tells the widget's frame, which collects the login;
// then the reader comments and signs out. No cookie carries the session.
func TestWidgetProviderSignIn(t *testing.T) {
	var op *oidctest.Provider
	s := newSite(t, func(c *api.Config) {
		op = oidctest.Start(t, oidctest.Client{ID: "parley", Secret: "parley-secret", RedirectURI: c.PublicURL + "/auth/callback/corp"})
		c.Providers = []identity.ProviderConfig{{Name: "corp", Issuer: op.Issuer, ClientID: "parley", ClientSecret: "parley-secret"}}
	})
	op.AddUser(oidctest.User{Username: "hedy", Email: "hedy@example.org", EmailVerified: true, First: "Hedy", Last: "Lamarr"})

	host := newBrowser(t)
	do(t, host, chromedp.Navigate(s.blogURL+"/"))
	frame := s.embedFrame(t, host)
	do(t, frame, chromedp.Click(chromedp.CSS(`.signed-out [data-open="signin"]`)))
	wait(t, frame, `!document.querySelector("#providers").hidden`)
	if got := eval[string](t, frame, `document.querySelector("#providers button").textContent`); got != "Sign in with Corp" {
		t.Fatalf("provider button %q", got)
	}
	do(t, frame, chromedp.Click(chromedp.CSS(`#providers button[data-provider="corp"]`)))

	popup := waitTarget(t, host, op.Issuer+"/login/")
	do(t, popup,
		chromedp.WaitVisible(chromedp.CSS(`input[name="username"]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="username"]`), "hedy"),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), oidctest.Password),
		chromedp.Submit(chromedp.CSS(`input[name="password"]`)),
	)
	wait(t, frame, `!document.querySelector(".signed-in").hidden`)
	if got := eval[string](t, frame, `document.querySelector("#me-name").textContent`); got != "Hedy Lamarr" {
		t.Fatalf("signed in as %q", got)
	}
	if got := eval[string](t, frame, `document.cookie`); got != "" {
		t.Fatalf("the frame has cookies: %q", got)
	}

	do(t, frame,
		chromedp.SendKeys(chromedp.CSS(`#compose-slot textarea`), "Signed in with my provider."),
		chromedp.Click(chromedp.CSS(`#compose-slot button[type="submit"]`)),
	)
	wait(t, frame, `[...document.querySelectorAll("#thread li.c")].some(li => li.textContent.includes("Signed in with my provider."))`)

	do(t, frame, chromedp.Click(chromedp.CSS(`#signout`)))
	wait(t, frame, `!document.querySelector(".signed-out").hidden`)
	if got := eval[bool](t, frame, `localStorage.getItem("parley.refresh") === null`); !got {
		t.Fatal("the login is still stored after signing out")
	}
}

// waitTarget waits for a page whose address starts with prefix (a popup)
// and returns a context that acts in it.
func waitTarget(t *testing.T, ctx context.Context, prefix string) context.Context {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		infos, err := chromedp.Targets(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, info := range infos {
			if info.Type == "page" && strings.HasPrefix(info.URL, prefix) {
				pctx, cancel := chromedp.NewContext(ctx, chromedp.WithTargetID(info.TargetID))
				t.Cleanup(cancel)
				return pctx
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no page at %s opened", prefix)
	return nil
}
