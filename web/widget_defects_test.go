package web_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/parley-comments/parley/api"
)

// signInFrame signs in through the widget's own form.
func signInFrame(t *testing.T, frame context.Context, login, password string) {
	t.Helper()
	do(t, frame,
		chromedp.Click(chromedp.CSS(`.signed-out [data-open="signin"]`)),
		chromedp.SetValue(chromedp.CSS(`#signin input[name="login"]`), login),
		chromedp.SetValue(chromedp.CSS(`#signin input[name="password"]`), password),
		chromedp.Click(chromedp.CSS(`#signin button[type="submit"]`)),
	)
	wait(t, frame, `!document.querySelector(".signed-in").hidden`)
}

// TestWidgetShowsANewCommentInALongThread: in a thread longer than a page,
// a new comment shows at once where the reader sees it (the top, scrolled
// to, highlighted, focused) with a visible notice; "Load more" then puts it
// in its place at the end, once.
func TestWidgetShowsANewCommentInALongThread(t *testing.T) {
	s := newSite(t, func(c *api.Config) { c.RateLimit = false })
	other := s.register(t, "oldtimer", "")
	for i := range 55 {
		s.comment(t, other, fmt.Sprintf("Comment number %d.", i), 0)
	}
	s.register(t, "newcomer", "")
	host := newBrowser(t)
	do(t, host, chromedp.Navigate(s.blogURL+"/"))
	frame := s.embedFrame(t, host)
	signInFrame(t, frame, "newcomer", "password-newcomer")
	wait(t, frame, `document.querySelectorAll("#thread > li.c").length === 50 && !document.querySelector("#more").hidden`)

	const form = `#compose-slot form`
	do(t, frame,
		chromedp.SetValue(chromedp.CSS(form+` textarea`), "Late to the party."),
		chromedp.Click(chromedp.CSS(form+` button[type="submit"]`)),
	)
	wait(t, frame, `!document.querySelector("#notice").hidden`)
	if got := eval[string](t, frame, `document.querySelector("#notice").textContent`); got != "Your comment is posted." {
		t.Errorf("notice = %q", got)
	}
	if area := eval[float64](t, frame, `(() => { const r = document.querySelector("#notice").getBoundingClientRect(); return r.width * r.height })()`); area < 100 {
		t.Errorf("the notice takes %.0f px²: not visible", area)
	}
	first := `document.querySelector("#thread > li.c")`
	if got := eval[string](t, frame, first+`.querySelector(".c-text").textContent.trim()`); got != "Late to the party." {
		t.Fatalf("the first comment shown is %q, want the new one at the top", got)
	}
	if !eval[bool](t, frame, first+`.classList.contains("new") && `+first+`.contains(document.activeElement)`) {
		t.Error("the new comment is not highlighted and focused")
	}

	do(t, frame, chromedp.Click(chromedp.CSS(`#more`)))
	wait(t, frame, `document.querySelector("#more").hidden`)
	texts := eval[[]string](t, frame, `[...document.querySelectorAll("#thread > li.c .c-text")].map(e => e.textContent.trim())`)
	if len(texts) != 56 {
		t.Fatalf("%d comments after loading more, want 56", len(texts))
	}
	if texts[55] != "Late to the party." || texts[0] != "Comment number 0." {
		t.Errorf("order after loading more: first %q, last %q; want the oldest first and the new one last", texts[0], texts[55])
	}
}

// TestWidgetGuestFormAndOwnComment: the guest's name is required and its
// error sits by the field; the name carries into the next form; the guest's
// own held comment offers no Flag and no votes, and survives a reload.
func TestWidgetGuestFormAndOwnComment(t *testing.T) {
	s := newSite(t, func(c *api.Config) { c.AllowGuests = true; c.RateLimit = false })
	s.comment(t, s.register(t, "regular", ""), "A published comment.", 0)
	host := newBrowser(t)
	do(t, host, chromedp.Navigate(s.blogURL+"/"))
	frame := s.embedFrame(t, host)
	const form = `#compose-slot form`
	wait(t, frame, `!document.querySelector("`+form+` .guest").hidden`)
	if !eval[bool](t, frame, `document.querySelector("`+form+` input[name=guest_name]").required`) {
		t.Error("the guest's name is not marked required")
	}
	do(t, frame,
		chromedp.SetValue(chromedp.CSS(form+` textarea`), "Hello from a guest."),
		chromedp.Click(chromedp.CSS(form+` button[type="submit"]`)),
	)
	wait(t, frame, `document.querySelector("`+form+` .field-err") !== null`)
	if got := eval[string](t, frame, `document.querySelector("`+form+` .err").textContent`); got != "" {
		t.Errorf("a message under the text box too: %q", got)
	}
	if !eval[bool](t, frame, `document.querySelector("`+form+` .field-err").previousElementSibling.contains(document.querySelector("`+form+` input[name=guest_name]"))`) {
		t.Error("the name's error is not by the name field")
	}
	do(t, frame,
		chromedp.SetValue(chromedp.CSS(form+` input[name="guest_name"]`), "Wanderer"),
		chromedp.Click(chromedp.CSS(form+` button[type="submit"]`)),
	)
	mineSel := `[...document.querySelectorAll("#thread li.c")].find(li => li.querySelector(".c-author").textContent === "Wanderer")`
	wait(t, frame, mineSel+` !== undefined`)
	check := func(when string) {
		t.Helper()
		if eval[bool](t, frame, mineSel+`.querySelector(".c-pending").hidden`) {
			t.Errorf("%s: the held comment is not marked awaiting moderation", when)
		}
		if !eval[bool](t, frame, mineSel+`.querySelector('[data-act="flag"]').hidden`) {
			t.Errorf("%s: the guest's own comment offers Flag", when)
		}
		if !eval[bool](t, frame, mineSel+`.querySelector('.up').hidden`) {
			t.Errorf("%s: the guest's own comment offers votes", when)
		}
	}
	check("after posting")
	if got := eval[string](t, frame, `document.querySelector("#notice").textContent`); got == "" {
		t.Error("no visible notice that the comment awaits moderation")
	}

	// The name carries into a reply form.
	do(t, frame, chromedp.Click(chromedp.CSS(`#thread li.c [data-act="reply"]`)))
	wait(t, frame, `document.querySelector('#thread form[data-kind="reply"] input[name=guest_name]') !== null`)
	if got := eval[string](t, frame, `document.querySelector('#thread form[data-kind="reply"] input[name=guest_name]').value`); got != "Wanderer" {
		t.Errorf("reply form's name = %q, want Wanderer", got)
	}

	do(t, host, chromedp.Reload())
	frame = s.embedFrame(t, host)
	wait(t, frame, mineSel+` !== undefined`)
	check("after a reload")
}

// TestWidgetOwnCommentHasNoVoteArrows: the server refuses votes on one's own
// comment, so the widget does not offer them.
func TestWidgetOwnCommentHasNoVoteArrows(t *testing.T) {
	s := newSite(t)
	s.comment(t, s.register(t, "author", ""), "My own words.", 0)
	host := newBrowser(t)
	do(t, host, chromedp.Navigate(s.blogURL+"/"))
	frame := s.embedFrame(t, host)
	signInFrame(t, frame, "author", "password-author")
	wait(t, frame, `document.querySelector("#thread li.c .up") !== null`)
	if !eval[bool](t, frame, `document.querySelector("#thread li.c .up").hidden && document.querySelector("#thread li.c .down").hidden`) {
		t.Error("vote arrows are offered on one's own comment")
	}
	if eval[string](t, frame, `document.querySelector("#thread li.c .score").textContent`) != "0" {
		t.Error("the score is not shown")
	}
}

// TestWidgetSignUpChecksFirst: a short password is caught before sending,
// with one message, by the field (its hint giving way).
func TestWidgetSignUpChecksFirst(t *testing.T) {
	s := newSite(t)
	host := newBrowser(t)
	do(t, host, chromedp.Navigate(s.blogURL+"/"))
	frame := s.embedFrame(t, host)
	do(t, frame,
		chromedp.Click(chromedp.CSS(`.signed-out [data-open="signup"]`)),
		chromedp.SetValue(chromedp.CSS(`#signup input[name="username"]`), "shorty"),
		chromedp.SetValue(chromedp.CSS(`#signup input[name="password"]`), "abc"),
		chromedp.Click(chromedp.CSS(`#signup button[type="submit"]`)),
	)
	wait(t, frame, `document.querySelectorAll("#signup .field-err").length > 0`)
	visible := eval[[]string](t, frame, `[...document.querySelectorAll("#signup .err, #signup .field-err, #password-hint")].filter(e => e.offsetParent !== null && e.textContent.trim() !== "").map(e => e.textContent)`)
	if len(visible) != 1 {
		t.Fatalf("messages shown = %q, want one", visible)
	}
	if !eval[bool](t, frame, `document.activeElement === document.querySelector('#signup input[name="password"]')`) {
		t.Error("focus is not on the password field")
	}
	var n int64
	if err := s.store.Read.Table("users").Where("username_key = ?", "shorty").Count(&n).Error; err != nil || n != 0 {
		t.Errorf("the account was created (%d, %v): the check did not run first", n, err)
	}
}

// TestWidgetFrameLayout: the frame has a heading one, and the "Signed in
// as" line starts at the same edge as the heading.
func TestWidgetFrameLayout(t *testing.T) {
	s := newSite(t)
	s.register(t, "lefty", "")
	host := newBrowser(t)
	do(t, host, chromedp.Navigate(s.blogURL+"/"))
	frame := s.embedFrame(t, host)
	if n := eval[int](t, frame, `document.querySelectorAll("h1").length`); n != 1 {
		t.Errorf("%d h1 in the frame, want 1", n)
	}
	signInFrame(t, frame, "lefty", "password-lefty")
	off := eval[float64](t, frame, `document.querySelector(".signed-in").getBoundingClientRect().left - document.querySelector("#count").getBoundingClientRect().left`)
	if off != 0 {
		t.Errorf(`the "Signed in as" line is %.0f px off the heading's edge`, off)
	}
}

// TestWidgetExplainsAReplyToAHiddenComment: a reply to a comment hidden
// since the page loaded is refused (422); the widget says why, keeping the
// reply.
func TestWidgetExplainsAReplyToAHiddenComment(t *testing.T) {
	s := newSite(t)
	id := s.comment(t, s.register(t, "speaker", ""), "Soon to be hidden.", 0)
	s.register(t, "replier", "")
	host := newBrowser(t)
	do(t, host, chromedp.Navigate(s.blogURL+"/"))
	frame := s.embedFrame(t, host)
	signInFrame(t, frame, "replier", "password-replier")
	wait(t, frame, `document.querySelector('#thread li.c [data-act="reply"]') !== null`)
	const reply = `#thread form[data-kind="reply"]`
	do(t, frame, chromedp.Click(chromedp.CSS(`#thread li.c [data-act="reply"]`)))
	wait(t, frame, `document.querySelector('`+reply+`') !== null`)
	do(t, frame, chromedp.SetValue(chromedp.CSS(reply+` textarea`), "I agree."))
	// Hidden while the reader writes.
	s.call(t, "POST", fmt.Sprintf("/moderation/comments/%d/reject", id), s.login(t, "admin", "admin-password-123"), map[string]string{}, nil)
	do(t, frame, chromedp.Evaluate[chromedp.Void](`document.querySelector('`+reply+` button[type="submit"]').click()`))
	wait(t, frame, `document.querySelector('`+reply+` .err').textContent !== ""`)
	if got := eval[string](t, frame, `document.querySelector('`+reply+` .err').textContent`); !strings.Contains(got, "can't take replies") {
		t.Errorf("error = %q, want it to say the comment cannot take replies now", got)
	}
	if got := eval[string](t, frame, `document.querySelector('`+reply+` textarea').value`); got != "I agree." {
		t.Errorf("the reply's text = %q, want it kept", got)
	}
}

// TestWidgetLearnsLockFromTheThread: whether comments are closed comes with
// the thread page; the widget does not download the article for it.
func TestWidgetLearnsLockFromTheThread(t *testing.T) {
	s := newSite(t)
	s.call(t, "PATCH", "/articles/"+slug, s.login(t, "admin", "admin-password-123"), map[string]any{"comments_locked": true}, nil)
	host := newBrowser(t)
	do(t, host, chromedp.Navigate(s.blogURL+"/"))
	frame := s.embedFrame(t, host)
	wait(t, frame, `!document.querySelector("#closed").hidden && document.querySelector("#compose-slot").hidden`)
	fetched := eval[[]string](t, frame, `performance.getEntriesByType("resource").map(e => new URL(e.name).pathname)`)
	for _, p := range fetched {
		if p == "/api/v1/articles/"+slug || strings.HasSuffix(p, "/thread") {
			t.Errorf("the widget fetched %s to learn whether comments are closed", p)
		}
	}
}
