package api_test

import (
	"cmp"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parley-comments/parley/api"
	"github.com/parley-comments/parley/models"
)

type flagJSON struct {
	Flag struct {
		ID        uint      `json:"id"`
		Reason    string    `json:"reason"`
		Note      string    `json:"note"`
		CreatedAt time.Time `json:"created_at"`
	} `json:"flag"`
}

type queueItemJSON struct {
	Comment commentJSON `json:"comment"`
	Article struct {
		Slug  string `json:"slug"`
		Title string `json:"title"`
	} `json:"article"`
	Author *authorJSON `json:"author"`
	Flags  struct {
		Count   int            `json:"count"`
		Reasons map[string]int `json:"reasons"`
	} `json:"flags"`
	Holds []string `json:"holds"`
}

type queueJSON struct {
	Items      []queueItemJSON `json:"items"`
	NextCursor *string         `json:"next_cursor"`
}

type modUserJSON struct {
	User struct {
		ID          uint       `json:"id"`
		Username    string     `json:"username"`
		Role        string     `json:"role"`
		Ban         *string    `json:"ban"`
		BannedUntil *time.Time `json:"banned_until"`
	} `json:"user"`
}

type logJSON struct {
	Items []struct {
		ID        uint      `json:"id"`
		At        time.Time `json:"at"`
		Moderator struct {
			ID          uint   `json:"id"`
			Username    string `json:"username"`
			DisplayName string `json:"display_name"`
		} `json:"moderator"`
		Action     string `json:"action"`
		TargetType string `json:"target_type"`
		TargetID   uint   `json:"target_id"`
		Reason     string `json:"reason"`
	} `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

func (s *testServer) flag(t *testing.T, token string, id uint, reason string) *httptest.ResponseRecorder {
	t.Helper()
	return s.do(t, "POST", fmt.Sprintf("/api/v1/comments/%d/flags", id), token, map[string]string{"reason": reason})
}

func (s *testServer) queue(t *testing.T, token, query string) queueJSON {
	t.Helper()
	rec := s.do(t, "GET", "/api/v1/moderation/queue"+query, token, nil)
	want(t, rec, http.StatusOK)
	return decode[queueJSON](t, rec)
}

// act posts a moderation action and returns the comment as it now stands.
func (s *testServer) act(t *testing.T, token string, id uint, action string) commentJSON {
	t.Helper()
	rec := s.do(t, "POST", fmt.Sprintf("/api/v1/moderation/comments/%d/%s", id, action), token, nil)
	want(t, rec, http.StatusOK)
	return decode[struct {
		Comment commentJSON `json:"comment"`
	}](t, rec).Comment
}

// putRules changes some rules (over the defaults) as the admin.
func (s *testServer) putRules(t *testing.T, changes map[string]any) {
	t.Helper()
	rec := s.do(t, "GET", "/api/v1/moderation/rules", s.admin(t).AccessToken, nil)
	want(t, rec, http.StatusOK)
	rules := decode[map[string]any](t, rec)
	for k, v := range changes {
		rules[k] = v
	}
	want(t, s.do(t, "PUT", "/api/v1/moderation/rules", s.admin(t).AccessToken, rules), http.StatusOK)
}

func queueIDs(q queueJSON) []uint {
	ids := make([]uint, len(q.Items))
	for i, it := range q.Items {
		ids[i] = it.Comment.ID
	}
	return ids
}

func threadIDs(th threadJSON) []uint {
	var ids []uint
	var walk func([]commentJSON)
	walk = func(cs []commentJSON) {
		for _, c := range cs {
			ids = append(ids, c.ID)
			walk(c.Replies)
		}
	}
	walk(th.Items)
	return ids
}

func findComment(th threadJSON, id uint) *commentJSON {
	var found *commentJSON
	var walk func([]commentJSON)
	walk = func(cs []commentJSON) {
		for i := range cs {
			if cs[i].ID == id {
				found = &cs[i]
			}
			walk(cs[i].Replies)
		}
	}
	walk(th.Items)
	return found
}

// TestFlagsHideThenModeratorApproves is the flagging story end to end.
func TestFlagsHideThenModeratorApproves(t *testing.T) {
	s := newTestServer(t)
	author := s.register(t, "author")
	flaggers := []session{s.register(t, "ann"), s.register(t, "ben"), s.register(t, "cat")}
	mod := s.userWithRole(t, "mod1", "moderator")
	c := s.post(t, author.AccessToken, seedSlug, "a *controversial* opinion", nil)

	rec := s.do(t, "POST", fmt.Sprintf("/api/v1/comments/%d/flags", c.ID), flaggers[0].AccessToken, map[string]string{"reason": "spam", "note": "selling pills"})
	want(t, rec, http.StatusCreated)
	if f := decode[flagJSON](t, rec).Flag; f.ID == 0 || f.Reason != "spam" || f.Note != "selling pills" || !f.CreatedAt.Equal(s.clock.Now()) {
		t.Fatalf("flag = %+v", f)
	}
	want(t, s.flag(t, flaggers[1].AccessToken, c.ID, "spam"), http.StatusCreated)
	if th := s.thread(t, "", ""); !slices.Contains(threadIDs(th), c.ID) || th.Total != 1 {
		t.Fatal("two flags (threshold 3) already hid the comment")
	}
	want(t, s.flag(t, flaggers[2].AccessToken, c.ID, "abuse"), http.StatusCreated)

	// Hidden: gone from the public thread and the count; its author sees it pending.
	if th := s.thread(t, "", ""); len(th.Items) != 0 || th.Total != 0 {
		t.Fatalf("public thread after 3 flags = %+v", th)
	}
	if th := s.thread(t, flaggers[0].AccessToken, ""); len(th.Items) != 0 {
		t.Fatal("a flagger still sees the hidden comment")
	}
	mine := findComment(s.thread(t, author.AccessToken, ""), c.ID)
	if mine == nil || mine.Status != "pending" {
		t.Fatalf("author's view = %+v, want the comment as pending", mine)
	}
	if n := decode[map[string]int](t, s.do(t, "GET", "/api/v1/counts?slugs="+seedSlug, "", nil))[seedSlug]; n != 0 {
		t.Fatalf("count = %d, want 0", n)
	}

	// In the queue, under flagged and under pending, with the reasons.
	for _, state := range []string{"flagged", "pending"} {
		q := s.queue(t, mod.AccessToken, "?state="+state)
		if len(q.Items) != 1 {
			t.Fatalf("%s queue = %+v", state, q)
		}
		it := q.Items[0]
		if it.Comment.ID != c.ID || it.Flags.Count != 3 || it.Flags.Reasons["spam"] != 2 || it.Flags.Reasons["abuse"] != 1 ||
			!slices.Equal(it.Holds, []string{"flagged"}) || it.Comment.Status != "pending" {
			t.Fatalf("%s item = %+v", state, it)
		}
		if it.Article.Slug != seedSlug || it.Article.Title == "" || it.Author == nil || it.Author.Username != "author" ||
			it.Comment.Body == nil || *it.Comment.Body != "a *controversial* opinion" {
			t.Fatalf("%s item's article, author or source = %+v", state, it)
		}
	}

	approved := s.act(t, mod.AccessToken, c.ID, "approve")
	if approved.Status != "approved" || approved.ID != c.ID {
		t.Fatalf("approved = %+v", approved)
	}
	if th := s.thread(t, "", ""); !slices.Contains(threadIDs(th), c.ID) || th.Total != 1 {
		t.Fatalf("public thread after approval = %+v", th)
	}
	var flags []models.Flag
	s.store.Read.Where("comment_id = ?", c.ID).Find(&flags)
	if len(flags) != 3 {
		t.Fatalf("%d flags in the database, want 3 kept", len(flags))
	}
	for _, f := range flags {
		if f.ResolvedAt == nil || f.ResolvedBy == nil || *f.ResolvedBy != mod.User.ID || f.Resolution != "approve" {
			t.Fatalf("flag not resolved: %+v", f)
		}
	}
	var entries []models.AuditEntry
	s.store.Read.Where("target_type = ? AND target_id = ?", "comment", c.ID).Find(&entries)
	if len(entries) != 1 || entries[0].Action != "approve" || entries[0].ModeratorID != mod.User.ID {
		t.Fatalf("audit entries = %+v", entries)
	}
	if q := s.queue(t, mod.AccessToken, "?state=flagged"); len(q.Items) != 0 {
		t.Fatalf("flagged queue after approval = %+v", q)
	}
}

func TestFlagErrors(t *testing.T) {
	s := newTestServer(t)
	author := s.register(t, "author")
	reader := s.register(t, "reader")
	c := s.post(t, author.AccessToken, seedSlug, "flag me", nil)
	path := fmt.Sprintf("/api/v1/comments/%d/flags", c.ID)

	want(t, s.flag(t, reader.AccessToken, c.ID, "off_topic"), http.StatusCreated)
	wantError(t, s.flag(t, reader.AccessToken, c.ID, "spam"), 409, "conflict")
	wantError(t, s.flag(t, author.AccessToken, c.ID, "spam"), 403, "forbidden")
	wantError(t, s.flag(t, "", c.ID, "spam"), 401, "unauthorized")
	wantError(t, s.flag(t, reader.AccessToken, 999999, "spam"), 404, "not_found")
	other := s.register(t, "other")
	wantError(t, s.flag(t, other.AccessToken, c.ID, "boring"), 400, "validation_failed")
	wantError(t, s.do(t, "POST", path, other.AccessToken, map[string]string{"reason": "other", "note": strings.Repeat("n", 501)}), 400, "validation_failed")
	wantError(t, s.do(t, "POST", path, other.AccessToken, map[string]any{"reason": 1}), 400, "validation_failed")
	wantError(t, s.do(t, "POST", path, other.AccessToken, nil), 400, "validation_failed")

	// A held comment cannot be flagged by those who cannot see it.
	admin := s.admin(t)
	want(t, s.do(t, "PATCH", "/api/v1/articles/"+seedSlug, admin.AccessToken, map[string]string{"moderation_mode": "pre"}), 200)
	held := s.post(t, author.AccessToken, seedSlug, "held for review", nil)
	wantError(t, s.flag(t, other.AccessToken, held.ID, "spam"), 404, "not_found")

	// A banned user gets 403 banned.
	mod := s.userWithRole(t, "mod1", "moderator")
	want(t, s.do(t, "POST", fmt.Sprintf("/api/v1/moderation/users/%d/ban", other.User.ID), mod.AccessToken, map[string]any{"reason": "abuse"}), 200)
	other = s.login(t, "other", "password-other")
	wantError(t, s.flag(t, other.AccessToken, c.ID, "spam"), 403, "banned")
}

// TestEveryHoldReasonEndToEnd posts comments that trip each auto-moderation
// rule and finds each one in the queue with its reason.
func TestEveryHoldReasonEndToEnd(t *testing.T) {
	s := newTestServer(t, func(c *api.Config) { c.AllowGuests = true })
	mod := s.userWithRole(t, "mod1", "moderator")
	admin := s.admin(t)
	want(t, s.do(t, "POST", "/api/v1/articles", admin.AccessToken, map[string]string{"slug": "reviewed", "title": "Reviewed"}), 201)
	want(t, s.do(t, "PATCH", "/api/v1/articles/reviewed", admin.AccessToken, map[string]string{"moderation_mode": "pre"}), 200)
	s.putRules(t, map[string]any{"blocked_words": []string{"casino"}})
	u := s.register(t, "writer")
	v := s.register(t, "copycat")

	held := map[string]uint{}
	check := func(reason string, c commentJSON) {
		t.Helper()
		if c.Status != "pending" {
			t.Fatalf("%s: status %s, want pending", reason, c.Status)
		}
		held[reason] = c.ID
	}
	check("too_many_links", s.post(t, u.AccessToken, seedSlug, "see https://a.example https://b.example https://c.example", nil))
	check("blocked_word", s.post(t, u.AccessToken, seedSlug, "Best ＣＡＳＩＮＯ in town", nil))
	check("pre_moderation", s.post(t, u.AccessToken, "reviewed", "first!", nil))
	s.post(t, u.AccessToken, seedSlug, "the same words everywhere", nil)
	check("duplicate", s.post(t, v.AccessToken, seedSlug, "The  same words everywhere", nil))
	rec := s.do(t, "POST", "/api/v1/articles/"+seedSlug+"/comments", "", map[string]string{"body": "hello from a guest", "guest_name": "Visitor"})
	want(t, rec, http.StatusCreated)
	check("guest", decode[struct{ Comment commentJSON }](t, rec).Comment)
	s.putRules(t, map[string]any{"min_account_age_minutes": 60})
	young := s.register(t, "newcomer")
	check("new_account", s.post(t, young.AccessToken, seedSlug, "just joined", nil))

	q := s.queue(t, mod.AccessToken, "?sort=oldest")
	byID := map[uint][]string{}
	for _, it := range q.Items {
		byID[it.Comment.ID] = it.Holds
	}
	for reason, id := range held {
		if !slices.Contains(byID[id], reason) {
			t.Errorf("comment %d held for %q shows holds %v", id, reason, byID[id])
		}
	}
	if len(q.Items) != len(held) {
		t.Errorf("queue has %d items, want %d", len(q.Items), len(held))
	}

	// Refusals: the own duplicate (409), a locked article (403), and moderators skip every hold.
	wantError(t, s.do(t, "POST", "/api/v1/articles/"+seedSlug+"/comments", u.AccessToken, map[string]string{"body": "THE SAME words everywhere"}), 409, "duplicate")
	if c := s.post(t, mod.AccessToken, "reviewed", "a moderator with https://a.example https://b.example https://c.example casino", nil); c.Status != "approved" {
		t.Fatalf("moderator's comment = %s, want approved", c.Status)
	}
	want(t, s.do(t, "PATCH", "/api/v1/articles/reviewed", admin.AccessToken, map[string]any{"comments_locked": true}), 200)
	wantError(t, s.do(t, "POST", "/api/v1/articles/reviewed/comments", u.AccessToken, map[string]string{"body": "too late"}), 403, "locked")
}

// TestPreModerationUntilTrusted: on a pre-moderated article a new user's
// comments wait for review until trusted_after of them were approved.
func TestPreModerationUntilTrusted(t *testing.T) {
	s := newTestServer(t)
	admin := s.admin(t)
	mod := s.userWithRole(t, "mod1", "moderator")
	s.putRules(t, map[string]any{"trusted_after": 3})
	want(t, s.do(t, "PATCH", "/api/v1/articles/"+seedSlug, admin.AccessToken, map[string]string{"moderation_mode": "pre"}), 200)
	u := s.register(t, "newbie")
	for i := range 3 {
		c := s.post(t, u.AccessToken, seedSlug, fmt.Sprintf("comment %d", i), nil)
		if c.Status != "pending" {
			t.Fatalf("comment %d: status %s, want pending (%d approvals so far)", i, c.Status, i)
		}
		if q := s.queue(t, mod.AccessToken, ""); len(q.Items) != 1 || !slices.Equal(q.Items[0].Holds, []string{"pre_moderation"}) {
			t.Fatalf("queue = %+v", q)
		}
		s.act(t, mod.AccessToken, c.ID, "approve")
	}
	if c := s.post(t, u.AccessToken, seedSlug, "comment 3", nil); c.Status != "approved" {
		t.Fatalf("4th comment after 3 approvals: status %s, want approved", c.Status)
	}
	if th := s.thread(t, "", ""); th.Total != 4 {
		t.Fatalf("total = %d, want 4", th.Total)
	}
	// Another new user is still held.
	if c := s.post(t, s.register(t, "stranger").AccessToken, seedSlug, "hello", nil); c.Status != "pending" {
		t.Fatalf("a new user's comment = %s, want pending", c.Status)
	}
}

// TestShadowBanVisibility looks at a shadow-banned user's comment from
// every side: its author, another user, the public and a moderator.
func TestShadowBanVisibility(t *testing.T) {
	s := newTestServer(t)
	mod := s.userWithRole(t, "mod1", "moderator")
	troll := s.register(t, "troll")
	reader := s.register(t, "reader")
	rec := s.do(t, "POST", fmt.Sprintf("/api/v1/moderation/users/%d/ban", troll.User.ID), mod.AccessToken, map[string]any{"reason": "trolling", "shadow": true})
	want(t, rec, http.StatusOK)
	if u := decode[modUserJSON](t, rec).User; u.Ban == nil || *u.Ban != "shadow" || u.BannedUntil != nil {
		t.Fatalf("banned user = %+v", u)
	}
	// A shadow ban does not sign the user out: that would give it away.
	want(t, s.do(t, "GET", "/api/v1/me", troll.AccessToken, nil), http.StatusOK)

	c := s.post(t, troll.AccessToken, seedSlug, "you are all wrong", nil)
	if c.Status != "approved" {
		t.Fatalf("the author sees their new comment as %s, want approved", c.Status)
	}
	// The author: in the thread, as published; by id too.
	if got := findComment(s.thread(t, troll.AccessToken, ""), c.ID); got == nil || got.Status != "approved" {
		t.Fatalf("author's thread shows %+v", got)
	}
	rec = s.do(t, "GET", fmt.Sprintf("/api/v1/comments/%d", c.ID), troll.AccessToken, nil)
	want(t, rec, 200)
	if got := decode[struct{ Comment commentJSON }](t, rec).Comment; got.Status != "approved" {
		t.Fatalf("author's GET shows %s", got.Status)
	}
	// Another user and the public: nothing.
	for name, token := range map[string]string{"another user": reader.AccessToken, "anonymous": ""} {
		if th := s.thread(t, token, ""); len(th.Items) != 0 || th.Total != 0 {
			t.Fatalf("%s sees %+v", name, th)
		}
		wantError(t, s.do(t, "GET", fmt.Sprintf("/api/v1/comments/%d", c.ID), token, nil), 404, "not_found")
	}
	// A moderator: in the queue and in the thread, as pending.
	q := s.queue(t, mod.AccessToken, "")
	if len(q.Items) != 1 || q.Items[0].Comment.ID != c.ID || q.Items[0].Comment.Status != "pending" || !slices.Contains(q.Items[0].Holds, "shadow_ban") {
		t.Fatalf("queue = %+v", q)
	}
	if got := findComment(s.thread(t, mod.AccessToken, ""), c.ID); got == nil || got.Status != "pending" {
		t.Fatalf("moderator's thread shows %+v", got)
	}
}

// TestTemporaryBanExpires bans for two hours and moves the clock past them.
func TestTemporaryBanExpires(t *testing.T) {
	s := newTestServer(t)
	mod := s.userWithRole(t, "mod1", "moderator")
	u := s.register(t, "hothead")
	s.post(t, u.AccessToken, seedSlug, "before the ban", nil)

	rec := s.do(t, "POST", fmt.Sprintf("/api/v1/moderation/users/%d/ban", u.User.ID), mod.AccessToken, map[string]any{"reason": "cool off", "duration_hours": 2})
	want(t, rec, http.StatusOK)
	banned := decode[modUserJSON](t, rec).User
	if banned.Ban == nil || *banned.Ban != "normal" || banned.BannedUntil == nil || !banned.BannedUntil.Equal(s.clock.Now().Add(2*time.Hour)) {
		t.Fatalf("banned user = %+v", banned)
	}
	// The old token stops working at once; signing in again works, reading works, posting does not.
	wantError(t, s.do(t, "GET", "/api/v1/me", u.AccessToken, nil), 401, "unauthorized")
	u = s.login(t, "hothead", "password-hothead")
	if th := s.thread(t, u.AccessToken, ""); th.Total != 1 {
		t.Fatalf("a banned user cannot read: %+v", th)
	}
	path := "/api/v1/articles/" + seedSlug + "/comments"
	wantError(t, s.do(t, "POST", path, u.AccessToken, map[string]string{"body": "during the ban"}), 403, "banned")

	s.clock.Advance(2*time.Hour - time.Minute)
	u = s.login(t, "hothead", "password-hothead")
	wantError(t, s.do(t, "POST", path, u.AccessToken, map[string]string{"body": "almost over"}), 403, "banned")
	s.clock.Advance(time.Minute)
	u = s.login(t, "hothead", "password-hothead")
	if c := s.post(t, u.AccessToken, seedSlug, "after the ban", nil); c.Status != "approved" {
		t.Fatalf("comment after the ban = %s", c.Status)
	}
}

func TestBanAndUnbanEndpoints(t *testing.T) {
	s := newTestServer(t)
	mod := s.userWithRole(t, "mod1", "moderator")
	mod2 := s.userWithRole(t, "mod2", "moderator")
	admin := s.admin(t)
	u := s.register(t, "spammer")
	reader := s.register(t, "reader")
	c1 := s.post(t, u.AccessToken, seedSlug, "buy now", nil)
	c2 := s.post(t, u.AccessToken, seedSlug, "buy again", nil)
	keep := s.post(t, reader.AccessToken, seedSlug, "a real comment", nil)
	banPath := func(id uint) string { return fmt.Sprintf("/api/v1/moderation/users/%d/ban", id) }

	wantError(t, s.do(t, "POST", banPath(admin.User.ID), mod.AccessToken, map[string]any{"reason": "coup"}), 403, "forbidden")
	wantError(t, s.do(t, "POST", banPath(mod.User.ID), mod.AccessToken, map[string]any{"reason": "oops"}), 403, "forbidden")
	wantError(t, s.do(t, "POST", banPath(mod2.User.ID), mod.AccessToken, map[string]any{"reason": "rival"}), 403, "forbidden")
	wantError(t, s.do(t, "POST", banPath(424242), mod.AccessToken, map[string]any{"reason": "ghost"}), 404, "not_found")
	wantError(t, s.do(t, "POST", banPath(u.User.ID), mod.AccessToken, map[string]any{}), 400, "validation_failed")
	wantError(t, s.do(t, "POST", banPath(u.User.ID), mod.AccessToken, map[string]any{"reason": "x", "duration_hours": 0}), 400, "validation_failed")
	wantError(t, s.do(t, "POST", banPath(u.User.ID), mod.AccessToken, map[string]any{"reason": "x", "duration_hours": "long"}), 400, "validation_failed")

	rec := s.do(t, "POST", banPath(u.User.ID), mod.AccessToken, map[string]any{"reason": "spam run", "purge": true})
	want(t, rec, http.StatusOK)
	got := decode[modUserJSON](t, rec).User
	if got.ID != u.User.ID || got.Username != "spammer" || got.Ban == nil || *got.Ban != "normal" || got.BannedUntil != nil {
		t.Fatalf("banned user = %+v", got)
	}
	th := s.thread(t, "", "")
	if ids := threadIDs(th); !slices.Equal(ids, []uint{keep.ID}) || th.Total != 1 {
		t.Fatalf("thread after purge = %v (total %d), want only %d", ids, th.Total, keep.ID)
	}
	if q := s.queue(t, mod.AccessToken, "?state=rejected"); !slices.Equal(queueIDs(q), []uint{c2.ID, c1.ID}) {
		t.Fatalf("rejected queue = %v", queueIDs(q))
	}

	// An admin may ban a moderator; only the admin may lift it.
	want(t, s.do(t, "POST", banPath(mod2.User.ID), admin.AccessToken, map[string]any{"reason": "rogue"}), 200)
	wantError(t, s.do(t, "DELETE", banPath(mod2.User.ID), mod.AccessToken, nil), 403, "forbidden")
	want(t, s.do(t, "DELETE", banPath(mod2.User.ID), admin.AccessToken, nil), http.StatusNoContent)

	want(t, s.do(t, "DELETE", banPath(u.User.ID), mod.AccessToken, nil), http.StatusNoContent)
	wantError(t, s.do(t, "DELETE", banPath(u.User.ID), mod.AccessToken, nil), 409, "conflict")
	var bans []models.Ban
	s.store.Read.Where("user_id = ?", u.User.ID).Find(&bans)
	if len(bans) != 1 || bans[0].LiftedAt == nil {
		t.Fatalf("ban records = %+v", bans)
	}
	u = s.login(t, "spammer", "password-spammer")
	if c := s.post(t, u.AccessToken, seedSlug, "reformed", nil); c.Status != "approved" {
		t.Fatalf("after unban: %s", c.Status)
	}
	// The ban is not shown to the user themselves, nor to other users.
	me := decode[map[string]map[string]any](t, s.do(t, "GET", "/api/v1/me", u.AccessToken, nil))["user"]
	if _, ok := me["ban"]; ok {
		t.Fatalf("/me shows ban fields: %v", me)
	}
}

func TestModerationActionsEndpoints(t *testing.T) {
	s := newTestServer(t)
	mod := s.userWithRole(t, "mod1", "moderator")
	admin := s.admin(t)
	want(t, s.do(t, "PATCH", "/api/v1/articles/"+seedSlug, admin.AccessToken, map[string]string{"moderation_mode": "pre"}), 200)
	u := s.register(t, "writer")
	c := s.post(t, u.AccessToken, seedSlug, "judge me", nil)
	path := func(action string) string { return fmt.Sprintf("/api/v1/moderation/comments/%d/%s", c.ID, action) }

	wantError(t, s.do(t, "POST", path("restore"), mod.AccessToken, nil), 409, "conflict")
	rec := s.do(t, "POST", path("reject"), mod.AccessToken, map[string]string{"reason": "off topic"})
	want(t, rec, 200)
	if got := decode[struct{ Comment commentJSON }](t, rec).Comment; got.Status != "rejected" || got.Body == nil {
		t.Fatalf("rejected = %+v", got)
	}
	wantError(t, s.do(t, "POST", path("reject"), mod.AccessToken, nil), 409, "conflict")
	wantError(t, s.do(t, "GET", fmt.Sprintf("/api/v1/comments/%d", c.ID), u.AccessToken, nil), 404, "not_found")
	if got := s.act(t, mod.AccessToken, c.ID, "spam"); got.Status != "spam" {
		t.Fatalf("spam = %+v", got)
	}
	if got := s.act(t, mod.AccessToken, c.ID, "restore"); got.Status != "approved" {
		t.Fatalf("restored = %+v", got)
	}
	if th := s.thread(t, "", ""); th.Total != 1 {
		t.Fatalf("restored comment not public: total %d", th.Total)
	}
	wantError(t, s.do(t, "POST", path("approve"), mod.AccessToken, `{"reason": 5}`), 400, "validation_failed")
	wantError(t, s.do(t, "POST", path("approve"), mod.AccessToken, map[string]string{"reason": strings.Repeat("r", 501)}), 400, "validation_failed")
	wantError(t, s.do(t, "POST", path("approve"), mod.AccessToken, `{"reason": "`+strings.Repeat("y", 70<<10)+`"}`), 413, "payload_too_large")
	wantError(t, s.do(t, "POST", path("approve"), mod.AccessToken, nil), 409, "conflict")
	wantError(t, s.do(t, "POST", "/api/v1/moderation/comments/987654/approve", mod.AccessToken, nil), 404, "not_found")
	wantError(t, s.do(t, "POST", "/api/v1/moderation/comments/abc/approve", mod.AccessToken, nil), 404, "not_found")

	// The log: newest first, with who, what and why.
	rec = s.do(t, "GET", "/api/v1/moderation/log", mod.AccessToken, nil)
	want(t, rec, 200)
	log := decode[logJSON](t, rec)
	var actions []string
	for _, e := range log.Items {
		if e.TargetType == "comment" {
			actions = append(actions, e.Action)
		}
	}
	if !slices.Equal(actions, []string{"restore", "spam", "reject"}) {
		t.Fatalf("log actions = %v", actions)
	}
	first := log.Items[len(log.Items)-1]
	if first.Reason != "off topic" || first.Moderator.ID != mod.User.ID || first.Moderator.Username != "mod1" || first.TargetID != c.ID || !first.At.Equal(s.clock.Now()) {
		t.Fatalf("oldest entry = %+v", first)
	}
	page := decode[logJSON](t, s.do(t, "GET", "/api/v1/moderation/log?limit=1", mod.AccessToken, nil))
	if len(page.Items) != 1 || page.NextCursor == nil {
		t.Fatalf("first page = %+v", page)
	}
	next := decode[logJSON](t, s.do(t, "GET", "/api/v1/moderation/log?limit=1&cursor="+*page.NextCursor, mod.AccessToken, nil))
	if len(next.Items) != 1 || next.Items[0].ID >= page.Items[0].ID {
		t.Fatalf("second page = %+v", next)
	}
	wantError(t, s.do(t, "GET", "/api/v1/moderation/log?cursor=nope", mod.AccessToken, nil), 400, "validation_failed")
}

// TestBulkAllOrNothing: one bad id in a bulk action changes nothing.
func TestBulkAllOrNothing(t *testing.T) {
	s := newTestServer(t)
	mod := s.userWithRole(t, "mod1", "moderator")
	admin := s.admin(t)
	want(t, s.do(t, "PATCH", "/api/v1/articles/"+seedSlug, admin.AccessToken, map[string]string{"moderation_mode": "pre"}), 200)
	var ids []uint
	for i := range 3 {
		ids = append(ids, s.post(t, s.register(t, fmt.Sprintf("writer%d", i)).AccessToken, seedSlug, fmt.Sprintf("held %d", i), nil).ID)
	}
	rejected := s.post(t, s.register(t, "writer9").AccessToken, seedSlug, "to be rejected", nil)
	s.act(t, mod.AccessToken, rejected.ID, "reject")
	bulk := func(ids []uint, action string) *httptest.ResponseRecorder {
		return s.do(t, "POST", "/api/v1/moderation/bulk", mod.AccessToken, map[string]any{"ids": ids, "action": action})
	}
	unchanged := func() {
		t.Helper()
		if q := s.queue(t, mod.AccessToken, "?sort=oldest"); !slices.Equal(queueIDs(q), ids) {
			t.Fatalf("pending queue = %v, want %v untouched", queueIDs(q), ids)
		}
		var n int64
		s.store.Read.Model(&models.AuditEntry{}).Where("target_type = ?", "comment").Count(&n)
		if n != 1 {
			t.Fatalf("%d comment audit entries, want only the rejection", n)
		}
	}

	wantError(t, bulk(append(slices.Clone(ids), 999999), "approve"), 404, "not_found")
	unchanged()
	wantError(t, bulk(append(slices.Clone(ids), rejected.ID), "approve"), 409, "conflict")
	unchanged()
	wantError(t, bulk(nil, "approve"), 400, "validation_failed")
	wantError(t, bulk([]uint{}, "approve"), 400, "validation_failed")
	wantError(t, bulk(make([]uint, 201), "approve"), 400, "validation_failed")
	wantError(t, bulk(ids, "restore"), 400, "validation_failed")
	wantError(t, bulk(ids, "delete"), 400, "validation_failed")
	wantError(t, s.do(t, "POST", "/api/v1/moderation/bulk", mod.AccessToken, `{"ids": [-1], "action": "approve"}`), 400, "validation_failed")
	unchanged()

	rec := bulk(ids, "approve")
	want(t, rec, 200)
	if n := decode[map[string]int](t, rec)["updated"]; n != 3 {
		t.Fatalf("updated = %d, want 3", n)
	}
	if th := s.thread(t, "", ""); th.Total != 3 {
		t.Fatalf("total after bulk approve = %d", th.Total)
	}
	if q := s.queue(t, mod.AccessToken, ""); len(q.Items) != 0 {
		t.Fatalf("pending queue after bulk approve = %v", queueIDs(q))
	}
}

func TestQueueEndpoint(t *testing.T) {
	s := newTestServer(t, func(c *api.Config) { c.AllowGuests = true })
	mod := s.userWithRole(t, "mod1", "moderator")
	admin := s.admin(t)
	want(t, s.do(t, "POST", "/api/v1/articles", admin.AccessToken, map[string]string{"slug": "other", "title": "Other"}), 201)
	want(t, s.do(t, "PATCH", "/api/v1/articles/other", admin.AccessToken, map[string]string{"moderation_mode": "pre"}), 200)
	var ids []uint
	for i := range 5 {
		rec := s.do(t, "POST", "/api/v1/articles/"+seedSlug+"/comments", "", map[string]string{"body": fmt.Sprintf("guest %d", i), "guest_name": "Visitor"})
		want(t, rec, 201)
		ids = append(ids, decode[struct{ Comment commentJSON }](t, rec).Comment.ID)
	}
	onOther := s.post(t, s.register(t, "writer").AccessToken, "other", "on the other article", nil)
	ids = append(ids, onOther.ID)

	var got []uint
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("pagination does not end")
		}
		q := s.queue(t, mod.AccessToken, "?sort=oldest&limit=2"+cursor)
		got = append(got, queueIDs(q)...)
		if q.NextCursor == nil {
			break
		}
		cursor = "&cursor=" + *q.NextCursor
	}
	if !slices.Equal(got, ids) {
		t.Fatalf("pages = %v, want %v", got, ids)
	}
	guest := s.queue(t, mod.AccessToken, "?sort=newest&limit=1&article="+seedSlug).Items[0]
	if guest.Author == nil || guest.Author.GuestName != "Visitor" || guest.Author.ID != 0 || !slices.Equal(guest.Holds, []string{"guest"}) {
		t.Fatalf("guest item = %+v", guest)
	}
	if q := s.queue(t, mod.AccessToken, "?article=other"); !slices.Equal(queueIDs(q), []uint{onOther.ID}) {
		t.Fatalf("article filter = %v", queueIDs(q))
	}
	q := s.queue(t, mod.AccessToken, "?limit=1")
	for _, bad := range []string{"?state=approved", "?sort=score", "?limit=0", "?limit=201", "?cursor=xyz",
		"?state=spam&cursor=" + *q.NextCursor, "?cursor=%27%20OR%201=1--"} {
		wantError(t, s.do(t, "GET", "/api/v1/moderation/queue"+bad, mod.AccessToken, nil), 400, "validation_failed")
	}
	wantError(t, s.do(t, "GET", "/api/v1/moderation/queue?article=missing", mod.AccessToken, nil), 404, "not_found")

	s.act(t, mod.AccessToken, ids[0], "spam")
	s.act(t, mod.AccessToken, ids[1], "reject")
	want(t, s.flag(t, s.register(t, "flagger").AccessToken, s.post(t, admin.AccessToken, seedSlug, "an admin's comment", nil).ID, "other"), 201)
	rec := s.do(t, "GET", "/api/v1/moderation/stats", mod.AccessToken, nil)
	want(t, rec, 200)
	if st := decode[map[string]int](t, rec); st["pending"] != 4 || st["flagged"] != 1 || st["spam"] != 1 || st["rejected"] != 1 || len(st) != 4 {
		t.Fatalf("stats = %v", st)
	}
}

func TestRulesEndpoints(t *testing.T) {
	s := newTestServer(t)
	mod := s.userWithRole(t, "mod1", "moderator")
	admin := s.admin(t)
	rec := s.do(t, "GET", "/api/v1/moderation/rules", mod.AccessToken, nil)
	want(t, rec, 200)
	rules := decode[map[string]any](t, rec)
	if rules["max_links"] != 2.0 || rules["flag_threshold"] != 3.0 || rules["trusted_after"] != 3.0 || rules["hold_guests"] != true ||
		rules["edit_window_minutes"] != 15.0 || rules["max_body_chars"] != 10000.0 || fmt.Sprint(rules["blocked_words"]) != "[]" {
		t.Fatalf("default rules = %v", rules)
	}

	rules["flag_threshold"] = -1
	rec = s.do(t, "PUT", "/api/v1/moderation/rules", admin.AccessToken, rules)
	wantError(t, rec, 400, "validation_failed")
	if f := decode[errorJSON](t, rec).Error.Fields; f["flag_threshold"] == "" {
		t.Fatalf("fields = %v, want flag_threshold named", f)
	}
	wantError(t, s.do(t, "PUT", "/api/v1/moderation/rules", admin.AccessToken, `{"max_links": "two"}`), 400, "validation_failed")
	rules["flag_threshold"] = 5
	wantError(t, s.do(t, "PUT", "/api/v1/moderation/rules", mod.AccessToken, rules), 403, "forbidden")

	rules["blocked_words"] = []string{" spam ", "SPAM", "scam"}
	rec = s.do(t, "PUT", "/api/v1/moderation/rules", admin.AccessToken, rules)
	want(t, rec, 200)
	stored := decode[map[string]any](t, rec)
	if stored["flag_threshold"] != 5.0 || fmt.Sprint(stored["blocked_words"]) != "[spam scam]" {
		t.Fatalf("stored rules = %v", stored)
	}
	if got := decode[map[string]any](t, s.do(t, "GET", "/api/v1/moderation/rules", mod.AccessToken, nil)); fmt.Sprint(got) != fmt.Sprint(stored) {
		t.Fatalf("GET after PUT = %v, want %v", got, stored)
	}
	var n int64
	s.store.Read.Model(&models.AuditEntry{}).Where("action = ? AND moderator_id = ?", "update_rules", admin.User.ID).Count(&n)
	if n != 1 {
		t.Fatalf("%d update_rules audit entries, want 1", n)
	}
}

func TestRoleChangeEndpoint(t *testing.T) {
	s := newTestServer(t)
	admin := s.admin(t)
	u := s.register(t, "helper")
	mod := s.userWithRole(t, "mod1", "moderator")
	path := fmt.Sprintf("/api/v1/admin/users/%d", u.User.ID)

	wantError(t, s.do(t, "GET", "/api/v1/moderation/queue", u.AccessToken, nil), 403, "forbidden")
	wantError(t, s.do(t, "PATCH", path, mod.AccessToken, map[string]string{"role": "moderator"}), 403, "forbidden")
	wantError(t, s.do(t, "PATCH", path, admin.AccessToken, map[string]string{"role": "owner"}), 400, "validation_failed")
	rec := s.do(t, "PATCH", path, admin.AccessToken, map[string]string{"role": "moderator"})
	want(t, rec, 200)
	if got := decode[modUserJSON](t, rec).User; got.Role != "moderator" || got.ID != u.User.ID || got.Ban != nil {
		t.Fatalf("promoted = %+v", got)
	}
	// The old token carried the old role: it is refused; a new one moderates.
	wantError(t, s.do(t, "GET", "/api/v1/moderation/queue", u.AccessToken, nil), 401, "unauthorized")
	u = s.login(t, "helper", "password-helper")
	want(t, s.do(t, "GET", "/api/v1/moderation/queue", u.AccessToken, nil), 200)

	wantError(t, s.do(t, "PATCH", fmt.Sprintf("/api/v1/admin/users/%d", admin.User.ID), admin.AccessToken, map[string]string{"role": "user"}), 409, "conflict")
	wantError(t, s.do(t, "PATCH", "/api/v1/admin/users/999999", admin.AccessToken, map[string]string{"role": "user"}), 404, "not_found")
	var entries []models.AuditEntry
	s.store.Read.Where("action = ?", "set_role").Find(&entries)
	if len(entries) != 1 || entries[0].TargetID != u.User.ID || entries[0].ModeratorID != admin.User.ID || entries[0].TargetType != "user" {
		t.Fatalf("audit = %+v", entries)
	}
}

// TestModerationPermissions calls every moderation endpoint as nobody, a
// user, a moderator and an admin.
func TestModerationPermissions(t *testing.T) {
	s := newTestServer(t)
	tokens := map[string]string{
		"anonymous": "",
		"user":      s.register(t, "plain").AccessToken,
		"moderator": s.userWithRole(t, "mod1", "moderator").AccessToken,
		"admin":     s.admin(t).AccessToken,
	}
	author := s.register(t, "author")
	target := s.register(t, "target")
	rules := decode[map[string]any](t, s.do(t, "GET", "/api/v1/moderation/rules", tokens["admin"], nil))

	type call struct {
		method, path string
		body         any
		mod, admin   int // statuses for a moderator and an admin; anonymous is 401, a user 403
	}
	for _, role := range []string{"anonymous", "user", "moderator", "admin"} {
		t.Run(role, func(t *testing.T) {
			// Fresh targets per role, so that every role finds the same states.
			c := s.post(t, author.AccessToken, seedSlug, "comment for "+role, nil)
			comment := func(action string) string { return fmt.Sprintf("/api/v1/moderation/comments/%d/%s", c.ID, action) }
			ban := fmt.Sprintf("/api/v1/moderation/users/%d/ban", target.User.ID)
			calls := []call{
				{"GET", "/api/v1/moderation/queue", nil, 200, 200},
				{"GET", "/api/v1/moderation/queue?state=flagged", nil, 200, 200},
				{"GET", "/api/v1/moderation/stats", nil, 200, 200},
				{"GET", "/api/v1/moderation/log", nil, 200, 200},
				{"GET", "/api/v1/moderation/rules", nil, 200, 200},
				{"PUT", "/api/v1/moderation/rules", rules, 403, 200},
				{"POST", comment("reject"), map[string]string{"reason": "test"}, 200, 200},
				{"POST", comment("spam"), nil, 200, 200},
				{"POST", comment("restore"), nil, 200, 200},
				{"POST", comment("approve"), nil, 409, 409}, // approved, no open flags
				{"POST", "/api/v1/moderation/bulk", map[string]any{"ids": []uint{c.ID}, "action": "reject"}, 200, 200},
				{"POST", ban, map[string]any{"reason": "test"}, 200, 200},
				{"DELETE", ban, nil, 204, 204},
				{"PATCH", fmt.Sprintf("/api/v1/admin/users/%d", target.User.ID), map[string]string{"role": "user"}, 403, 200},
			}
			for _, cl := range calls {
				want := map[string]int{"anonymous": 401, "user": 403, "moderator": cl.mod, "admin": cl.admin}[role]
				rec := s.do(t, cl.method, cl.path, tokens[role], cl.body)
				if rec.Code != want {
					t.Errorf("%s %s as %s: status %d, want %d; body %s", cl.method, cl.path, role, rec.Code, want, rec.Body)
					continue
				}
				if want >= 400 {
					code := map[int]string{401: "unauthorized", 403: "forbidden", 409: "conflict"}[want]
					wantError(t, rec, want, cmp.Or(code, "?"))
				}
			}
		})
	}
}
