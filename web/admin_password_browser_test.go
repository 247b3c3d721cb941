package web_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestAdminChangesOwnPassword: a signed-in moderator changes their password
// on the moderation page. A wrong current password or two differing new ones
// are refused in the form, the moderator staying signed in; on success every
// session ends, this one too, and the new password signs in.
func TestAdminChangesOwnPassword(t *testing.T) {
	s := newAdminSite(t)
	admin := s.signIn(t, "admin", adminTestPassword)
	mia := s.signUp(t, "mia", "Mia Moderator")
	s.send(t, "PATCH", fmt.Sprintf("/admin/users/%d", mia.User.ID), admin, map[string]string{"role": "moderator"}, nil)
	other := s.signIn(t, "mia", "password-mia") // a session elsewhere, which must end too

	ctx, problems := adminBrowser(t)
	signIn := func(password string) {
		adminDo(t, ctx,
			chromedp.SetValue(chromedp.CSS(`#signin input[name="login"]`), "mia"),
			chromedp.SetValue(chromedp.CSS(`#signin input[name="password"]`), password),
			chromedp.Click(chromedp.CSS(`#signin button[type="submit"]`)),
		)
		adminWait(t, ctx, `!document.querySelector("#work").hidden`)
	}
	change := func(current, next, repeat string) {
		adminDo(t, ctx,
			chromedp.SetValue(chromedp.CSS(`#password input[name="current_password"]`), current),
			chromedp.SetValue(chromedp.CSS(`#password input[name="new_password"]`), next),
			chromedp.SetValue(chromedp.CSS(`#password input[name="repeat"]`), repeat),
			chromedp.Click(chromedp.CSS(`#password button[type="submit"]`)),
		)
	}
	errorText := `document.querySelector("#password .err").textContent`

	adminDo(t, ctx, chromedp.Navigate(s.url+"/admin"))
	signIn("password-mia")
	adminDo(t, ctx, chromedp.Click(chromedp.CSS(`[data-view="password"]`)))
	adminWait(t, ctx, `!document.querySelector("#password-view").hidden`)

	change("password-mia", "a new long password", "a new long passwort")
	adminWait(t, ctx, errorText+` !== ""`)
	if got := adminEval[string](t, ctx, errorText); got != "The two new passwords differ." {
		t.Fatalf("differing new passwords: error %q", got)
	}
	change("not-my-password", "a new long password", "a new long password")
	adminWait(t, ctx, errorText+` === "That is not your current password."`)
	if adminEval[bool](t, ctx, `document.querySelector("#work").hidden`) {
		t.Fatal("a wrong current password signed the moderator out")
	}

	change("password-mia", "a new long password", "a new long password")
	adminWait(t, ctx, `document.querySelector("#work").hidden && !document.querySelector("#signin-view").hidden`)
	if got := adminEval[string](t, ctx, `document.querySelector("#status").textContent`); !strings.Contains(got, "password is changed") {
		t.Errorf("status after the change: %q", got)
	}
	if n := adminEval[int](t, ctx, `sessionStorage.length`); n != 0 {
		t.Errorf("%d items left in session storage", n)
	}
	if code := s.meStatus(t, other); code != http.StatusUnauthorized {
		t.Errorf("the other session's token after the change: %d, want 401", code)
	}
	signIn("a new long password")
	if p := problems(); len(p) > 0 {
		t.Fatalf("browser problems: %v", p)
	}
}

// meStatus returns the status of GET /api/v1/me with token.
func (s *adminSite) meStatus(t *testing.T, token string) int {
	t.Helper()
	req, err := http.NewRequest("GET", s.url+"/api/v1/me", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}
