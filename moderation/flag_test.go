package moderation_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-comments/parley/models"
	"github.com/parley-comments/parley/moderation"
)

func TestService_FlagThresholdHidesComment(t *testing.T) {
	f := newFixture(t)
	author := f.user("author", models.RoleUser)
	flaggers := []*models.User{f.user("ann", models.RoleUser), f.user("ben", models.RoleUser), f.user("cat", models.RoleUser)}
	c := f.comment(author, f.post)
	_, v0 := f.articleState(f.post)

	for i, u := range flaggers[:2] {
		f.flag(c, u, moderation.FlagSpam)
		if got := f.stored(c.ID); got.Status != models.StatusApproved {
			t.Fatalf("after %d flags: status = %s, want approved (threshold 3)", i+1, got.Status)
		}
	}
	fl, err := f.svc.Flag(f.ctx, c.ID, flaggers[2], moderation.FlagAbuse, "  rude\nand  loud ")
	if err != nil {
		t.Fatal(err)
	}
	if fl.ID == 0 || fl.Reason != moderation.FlagAbuse || fl.Note != "rude and loud" || !fl.CreatedAt.Equal(f.clock.Now()) {
		t.Fatalf("flag = %+v", fl)
	}
	got := f.stored(c.ID)
	if got.Status != models.StatusPending || got.Holds != moderation.HoldFlagged {
		t.Fatalf("after 3 flags: status %s holds %q, want pending with %q", got.Status, got.Holds, moderation.HoldFlagged)
	}
	count, v1 := f.articleState(f.post)
	if count != 0 || v1 <= v0 {
		t.Fatalf("article count %d version %d→%d, want 0 and a new version", count, v0, v1)
	}
	// The author still sees it, as pending; anyone else no longer does.
	if mine, err := f.svc.Get(f.ctx, c.ID, author); err != nil || mine.Status != models.StatusPending {
		t.Fatalf("author's view: %+v, %v", mine, err)
	}
	_, err = f.svc.Get(f.ctx, c.ID, f.user("dan", models.RoleUser))
	wantErr(t, err, models.ErrNotFound)
	if n := len(f.flagsOf(c.ID)); n != 3 {
		t.Fatalf("%d flags stored, want 3", n)
	}
	f.checkCounts()
}

func TestService_FlagRefusals(t *testing.T) {
	f := newFixture(t)
	author := f.user("author", models.RoleUser)
	reader := f.user("reader", models.RoleUser)
	mod := f.user("mod", models.RoleModerator)
	banned := f.user("banned", models.RoleUser)
	approved := f.comment(author, f.post)
	pending := f.comment(author, f.pre)
	rejected := f.moderate(f.comment(author, f.post), mod, moderation.ActionReject)
	f.flag(approved, reader, moderation.FlagOther)
	if _, err := f.svc.Ban(f.ctx, banned.ID, mod, moderation.BanRequest{Reason: "abuse"}); err != nil {
		t.Fatal(err)
	}
	banned = f.reload(banned)

	tests := []struct {
		name    string
		comment uint
		by      *models.User
		reason  string
		note    string
		want    error
		field   string
	}{
		{name: "second flag by the same user is a conflict", comment: approved.ID, by: reader, reason: moderation.FlagSpam, want: moderation.ErrConflict},
		{name: "own comment is forbidden", comment: approved.ID, by: author, reason: moderation.FlagSpam, want: moderation.ErrForbidden},
		{name: "banned user is refused", comment: approved.ID, by: banned, reason: moderation.FlagSpam, want: moderation.ErrBanned},
		{name: "someone else's pending comment is not found", comment: pending.ID, by: reader, reason: moderation.FlagSpam, want: models.ErrNotFound},
		{name: "a rejected comment is not found for a user", comment: rejected.ID, by: reader, reason: moderation.FlagSpam, want: models.ErrNotFound},
		{name: "a rejected comment is a conflict for a moderator", comment: rejected.ID, by: mod, reason: moderation.FlagSpam, want: moderation.ErrConflict},
		{name: "unknown comment is not found", comment: 987654, by: reader, reason: moderation.FlagSpam, want: models.ErrNotFound},
		{name: "unknown reason is invalid", comment: approved.ID, by: mod, reason: "boring", field: "reason"},
		{name: "missing reason is invalid", comment: approved.ID, by: mod, field: "reason"},
		{name: "note over 500 characters is invalid", comment: approved.ID, by: mod, reason: moderation.FlagOther, note: strings.Repeat("é", 501), field: "note"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.svc.Flag(f.ctx, tt.comment, tt.by, tt.reason, tt.note)
			if tt.field != "" {
				wantInvalid(t, err, tt.field)
				return
			}
			wantErr(t, err, tt.want)
		})
	}
	if n := len(f.flagsOf(approved.ID)); n != 1 {
		t.Fatalf("%d flags stored, want only the first", n)
	}
	// A note of exactly 500 characters is fine, and a moderator may flag a pending comment.
	if _, err := f.svc.Flag(f.ctx, pending.ID, mod, moderation.FlagOther, strings.Repeat("é", 500)); err != nil {
		t.Fatal(err)
	}
}

func TestService_FlagByShadowBannedUsersDoesNotHide(t *testing.T) {
	f := newFixture(t)
	mod := f.user("mod", models.RoleModerator)
	author := f.user("author", models.RoleUser)
	c := f.comment(author, f.post)
	troll := f.user("troll", models.RoleUser)
	if _, err := f.svc.Ban(f.ctx, troll.ID, mod, moderation.BanRequest{Reason: "trolling", Shadow: true}); err != nil {
		t.Fatal(err)
	}
	f.flag(c, f.reload(troll), moderation.FlagAbuse) // accepted, so the troll notices nothing
	f.flag(c, f.user("ann", models.RoleUser), moderation.FlagAbuse)
	f.flag(c, f.user("ben", models.RoleUser), moderation.FlagAbuse)
	if got := f.stored(c.ID); got.Status != models.StatusApproved {
		t.Fatalf("status = %s: a shadow-banned flagger counted towards the threshold", got.Status)
	}
	f.flag(c, f.user("cat", models.RoleUser), moderation.FlagAbuse)
	if got := f.stored(c.ID); got.Status != models.StatusPending {
		t.Fatalf("status = %s after three real flaggers, want pending", got.Status)
	}
}

func TestService_FlagAfterTemporaryBanEnds(t *testing.T) {
	f := newFixture(t)
	mod := f.user("mod", models.RoleModerator)
	c := f.comment(f.user("author", models.RoleUser), f.post)
	u := f.user("hothead", models.RoleUser)
	hours := 3
	if _, err := f.svc.Ban(f.ctx, u.ID, mod, moderation.BanRequest{Reason: "cool off", DurationHours: &hours}); err != nil {
		t.Fatal(err)
	}
	_, err := f.svc.Flag(f.ctx, c.ID, f.reload(u), moderation.FlagSpam, "")
	wantErr(t, err, moderation.ErrBanned)
	f.clock.Advance(3 * time.Hour)
	f.flag(c, f.reload(u), moderation.FlagSpam)
}

func TestService_FlagThresholdFromRules(t *testing.T) {
	f := newFixture(t)
	admin := f.user("boss", models.RoleAdmin)
	r := moderation.DefaultRules()
	r.FlagThreshold = 1
	if _, err := f.svc.SaveRules(f.ctx, admin.ID, r); err != nil {
		t.Fatal(err)
	}
	c := f.comment(f.user("author", models.RoleUser), f.post)
	f.flag(c, f.user("ann", models.RoleUser), moderation.FlagOffTopic)
	if got := f.stored(c.ID); got.Status != models.StatusPending {
		t.Fatalf("status = %s, want pending after one flag with flag_threshold 1", got.Status)
	}
	f.checkCounts()
}

// TestService_ConcurrentFlagsHideOnce: many flags at once hide the comment
// exactly once, so the article's count drops by one and no more.
func TestService_ConcurrentFlagsHideOnce(t *testing.T) {
	f := newFixture(t)
	c := f.comment(f.user("author", models.RoleUser), f.post)
	keep := f.comment(f.user("other", models.RoleUser), f.post)
	var flaggers []*models.User
	for i := range 8 {
		flaggers = append(flaggers, f.user(fmt.Sprintf("flagger%d", i), models.RoleUser))
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(flaggers))
	for _, u := range flaggers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := f.svc.Flag(f.ctx, c.ID, u, moderation.FlagSpam, "")
			// Flags that arrive after the comment is hidden no longer see it.
			if err != nil && !errors.Is(err, models.ErrNotFound) {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := f.stored(c.ID); got.Status != models.StatusPending {
		t.Fatalf("status = %s, want pending", got.Status)
	}
	if n := len(f.flagsOf(c.ID)); n < 3 {
		t.Fatalf("%d flags stored, want at least the threshold", n)
	}
	if count, _ := f.articleState(f.post); count != 1 || f.stored(keep.ID).Status != models.StatusApproved {
		t.Fatalf("comment_count = %d, want 1", count)
	}
	f.checkCounts()
}
