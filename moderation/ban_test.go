package moderation_test

import (
	"testing"
	"time"

	"github.com/parley-comments/parley/models"
	"github.com/parley-comments/parley/moderation"
)

func TestService_BanPermissions(t *testing.T) {
	f := newFixture(t)
	user := f.user("user", models.RoleUser)
	other := f.user("other", models.RoleUser)
	mod := f.user("mod", models.RoleModerator)
	mod2 := f.user("mod2", models.RoleModerator)
	admin := f.user("boss", models.RoleAdmin)
	admin2 := f.user("boss2", models.RoleAdmin)
	zero, tooLong := 0, 24*365*10+1

	tests := []struct {
		name   string
		by     *models.User
		target uint
		req    moderation.BanRequest
		want   error
		field  string
	}{
		{name: "a plain user cannot ban", by: other, target: user.ID, want: moderation.ErrForbidden},
		{name: "a moderator cannot ban themselves", by: mod, target: mod.ID, want: moderation.ErrForbidden},
		{name: "a moderator cannot ban an admin", by: mod, target: admin.ID, want: moderation.ErrForbidden},
		{name: "an admin cannot ban an admin", by: admin, target: admin2.ID, want: moderation.ErrForbidden},
		{name: "a moderator cannot ban a moderator", by: mod, target: mod2.ID, want: moderation.ErrForbidden},
		{name: "an unknown user is not found", by: mod, target: 777777, want: models.ErrNotFound},
		{name: "a reason is required", by: mod, target: user.ID, req: moderation.BanRequest{Reason: "  "}, field: "reason"},
		{name: "a zero duration is invalid", by: mod, target: user.ID, req: moderation.BanRequest{Reason: "x", DurationHours: &zero}, field: "duration_hours"},
		{name: "a duration over ten years is invalid", by: mod, target: user.ID, req: moderation.BanRequest{Reason: "x", DurationHours: &tooLong}, field: "duration_hours"},
		{name: "a moderator bans a user", by: mod, target: user.ID},
		{name: "an admin bans a moderator", by: admin, target: mod2.ID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.req.Reason == "" && tt.field == "" {
				tt.req.Reason = "testing"
			}
			u, err := f.svc.Ban(f.ctx, tt.target, tt.by, tt.req)
			switch {
			case tt.field != "":
				wantInvalid(t, err, tt.field)
			case tt.want != nil:
				wantErr(t, err, tt.want)
			case err != nil:
				t.Fatal(err)
			case u.ActiveBan(f.clock.Now()) != models.BanNormal:
				t.Fatalf("user %d not banned: %+v", tt.target, u)
			}
		})
	}
	for _, u := range []*models.User{mod, admin, admin2, other} {
		if got := f.reload(u); got.BanKind != models.BanNone {
			t.Fatalf("%s was banned by a refused request", u.Username)
		}
	}
}

func TestService_BanAndUnban(t *testing.T) {
	f := newFixture(t)
	mod := f.user("mod", models.RoleModerator)
	u := f.user("troll", models.RoleUser)
	c := f.comment(u, f.post)
	reader := f.user("reader", models.RoleUser)
	mine := f.comment(reader, f.post)

	got, err := f.svc.Ban(f.ctx, u.ID, mod, moderation.BanRequest{Reason: "insults"})
	if err != nil {
		t.Fatal(err)
	}
	if got.BanKind != models.BanNormal || got.BannedUntil != nil || got.BanReason != "insults" || got.TokenVersion != u.TokenVersion+1 {
		t.Fatalf("banned user = %+v, want a permanent normal ban and a new token version", got)
	}
	var bans []models.Ban
	f.store.Read.Where("user_id = ?", u.ID).Find(&bans)
	if len(bans) != 1 || bans[0].Kind != models.BanNormal || bans[0].ModeratorID != mod.ID || bans[0].ExpiresAt != nil || bans[0].LiftedAt != nil {
		t.Fatalf("ban records = %+v", bans)
	}
	if e := f.auditEntries(); len(e) != 1 || e[0].Action != "ban" || e[0].TargetType != "user" || e[0].TargetID != u.ID || e[0].Reason != "insults" {
		t.Fatalf("audit = %+v", e)
	}

	// Everything that writes is refused; the old comment stays up (no purge).
	banned := f.reload(u)
	_, err = f.svc.Submit(f.ctx, moderation.Submission{Slug: f.post.Slug, Author: banned, Body: "let me in"})
	wantErr(t, err, moderation.ErrBanned)
	_, err = f.svc.Edit(f.ctx, c.ID, banned, "edited")
	wantErr(t, err, moderation.ErrBanned)
	_, err = f.svc.Vote(f.ctx, mine.ID, banned, 1)
	wantErr(t, err, moderation.ErrBanned)
	_, err = f.svc.Flag(f.ctx, mine.ID, banned, moderation.FlagSpam, "")
	wantErr(t, err, moderation.ErrBanned)
	if got := f.stored(c.ID); got.Status != models.StatusApproved {
		t.Fatalf("a ban without purge changed a comment to %s", got.Status)
	}

	f.clock.Advance(time.Minute)
	if err := f.svc.Unban(f.ctx, u.ID, mod); err != nil {
		t.Fatal(err)
	}
	got = f.reload(u)
	if got.BanKind != models.BanNone || got.BannedUntil != nil || got.BanReason != "" {
		t.Fatalf("unbanned user = %+v", got)
	}
	f.store.Read.Where("user_id = ?", u.ID).Find(&bans)
	if len(bans) != 1 || bans[0].LiftedAt == nil || !bans[0].LiftedAt.Equal(f.clock.Now()) {
		t.Fatalf("ban record after unban = %+v, want lifted now", bans)
	}
	if e := f.auditEntries(); len(e) != 2 || e[1].Action != "unban" || e[1].TargetID != u.ID {
		t.Fatalf("audit = %+v", e)
	}
	if _, err := f.svc.Submit(f.ctx, moderation.Submission{Slug: f.post.Slug, Author: got, Body: "I am back"}); err != nil {
		t.Fatalf("post after unban: %v", err)
	}
	wantErr(t, f.svc.Unban(f.ctx, u.ID, mod), moderation.ErrConflict)
	wantErr(t, f.svc.Unban(f.ctx, u.ID, reader), moderation.ErrForbidden)
}

func TestService_TemporaryBanExpires(t *testing.T) {
	f := newFixture(t)
	mod := f.user("mod", models.RoleModerator)
	u := f.user("hasty", models.RoleUser)
	hours := 24
	got, err := f.svc.Ban(f.ctx, u.ID, mod, moderation.BanRequest{Reason: "cool off", DurationHours: &hours})
	if err != nil {
		t.Fatal(err)
	}
	if got.BannedUntil == nil || !got.BannedUntil.Equal(f.clock.Now().Add(24*time.Hour)) {
		t.Fatalf("banned_until = %v, want a day from now", got.BannedUntil)
	}
	post := func() error {
		_, err := f.svc.Submit(f.ctx, moderation.Submission{Slug: f.post.Slug, Author: f.reload(u), Body: "posted at " + f.clock.Now().String()})
		return err
	}
	f.clock.Advance(23*time.Hour + 59*time.Minute)
	wantErr(t, post(), moderation.ErrBanned)
	f.clock.Advance(time.Minute)
	wantErr(t, post(), nil)
}

func TestService_BanPurge(t *testing.T) {
	f := newFixture(t)
	mod := f.user("mod", models.RoleModerator)
	u := f.user("spammer", models.RoleUser)
	approved := f.comment(u, f.post)
	pending := f.comment(u, f.pre)
	spam := f.moderate(f.comment(u, f.post), mod, moderation.ActionSpam)
	flagged := f.setup("approved+flags", u, mod)
	bystander := f.comment(f.user("bystander", models.RoleUser), f.post)
	auditBefore := len(f.auditEntries())

	if _, err := f.svc.Ban(f.ctx, u.ID, mod, moderation.BanRequest{Reason: "spam run", Purge: true}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*models.Comment{approved, pending, flagged} {
		if got := f.stored(c.ID); got.Status != models.StatusRejected {
			t.Fatalf("comment %d is %s after purge, want rejected", c.ID, got.Status)
		}
	}
	if got := f.stored(spam.ID); got.Status != models.StatusSpam {
		t.Fatalf("spam comment became %s", got.Status)
	}
	if got := f.stored(bystander.ID); got.Status != models.StatusApproved {
		t.Fatalf("another user's comment became %s", got.Status)
	}
	for _, fl := range f.flagsOf(flagged.ID) {
		if fl.ResolvedAt == nil || fl.Resolution != moderation.ActionReject {
			t.Fatalf("purge left flag %+v open", fl)
		}
	}
	entries := f.auditEntries()[auditBefore:]
	rejects := 0
	for _, e := range entries {
		if e.Action == moderation.ActionReject && e.TargetType == "comment" && e.Reason == "spam run" {
			rejects++
		}
	}
	if len(entries) != 4 || rejects != 3 {
		t.Fatalf("audit after purge = %+v, want the ban and three rejections", entries)
	}
	f.checkCounts()
}

func TestService_ShadowBan(t *testing.T) {
	f := newFixture(t)
	mod := f.user("mod", models.RoleModerator)
	u := f.user("shady", models.RoleUser)
	got, err := f.svc.Ban(f.ctx, u.ID, mod, moderation.BanRequest{Reason: "quietly", Shadow: true})
	if err != nil {
		t.Fatal(err)
	}
	if got.BanKind != models.BanShadow || got.TokenVersion != u.TokenVersion {
		t.Fatalf("shadow-banned user = %+v, want kind shadow and the same token version", got)
	}
	if e := f.auditEntries(); len(e) != 1 || e[0].Action != "shadow_ban" {
		t.Fatalf("audit = %+v", e)
	}
	c := f.comment(f.reload(u), f.post)
	if c.Status != models.StatusPending || !c.Shadow || c.Holds != moderation.HoldShadowBan {
		t.Fatalf("comment = %s shadow=%v holds %q", c.Status, c.Shadow, c.Holds)
	}
	if _, err := f.svc.Get(f.ctx, c.ID, f.reload(u)); err != nil {
		t.Fatalf("the author cannot see their comment: %v", err)
	}
	_, err = f.svc.Get(f.ctx, c.ID, f.user("reader", models.RoleUser))
	wantErr(t, err, models.ErrNotFound)

	// An approved comment the shadow-banned author edits is hidden the same way.
	if err := f.svc.Unban(f.ctx, u.ID, mod); err != nil {
		t.Fatal(err)
	}
	old := f.comment(f.reload(u), f.post)
	if _, err := f.svc.Ban(f.ctx, u.ID, mod, moderation.BanRequest{Reason: "again", Shadow: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Edit(f.ctx, old.ID, f.reload(u), "edited while shadow-banned"); err != nil {
		t.Fatal(err)
	}
	if got := f.stored(old.ID); got.Status != models.StatusPending || !got.Shadow {
		t.Fatalf("edited comment = %s shadow=%v, want pending and shadow", got.Status, got.Shadow)
	}
	var open int64
	f.store.Read.Model(&models.Ban{}).Where("user_id = ? AND lifted_at IS NULL", u.ID).Count(&open)
	if open != 1 {
		t.Fatalf("%d open ban records, want 1", open)
	}
	f.checkCounts()
}

func TestService_BanReplacesBan(t *testing.T) {
	f := newFixture(t)
	admin := f.user("boss", models.RoleAdmin)
	mod := f.user("mod", models.RoleModerator)
	hours := 2
	if _, err := f.svc.Ban(f.ctx, mod.ID, admin, moderation.BanRequest{Reason: "short", DurationHours: &hours}); err != nil {
		t.Fatal(err)
	}
	got, err := f.svc.Ban(f.ctx, mod.ID, admin, moderation.BanRequest{Reason: "for good"})
	if err != nil {
		t.Fatal(err)
	}
	if got.BannedUntil != nil || got.BanReason != "for good" {
		t.Fatalf("second ban = %+v, want permanent", got)
	}
	var bans []models.Ban
	f.store.Read.Where("user_id = ?", mod.ID).Order("id").Find(&bans)
	if len(bans) != 2 || bans[0].LiftedAt == nil || bans[1].LiftedAt != nil {
		t.Fatalf("ban records = %+v, want the first lifted and the second open", bans)
	}
}

func TestService_SetRole(t *testing.T) {
	f := newFixture(t)
	admin := f.user("boss", models.RoleAdmin)
	mod := f.user("mod", models.RoleModerator)
	u := f.user("newbie", models.RoleUser)

	got, err := f.svc.SetRole(f.ctx, u.ID, admin, models.RoleModerator)
	if err != nil {
		t.Fatal(err)
	}
	if got.Role != models.RoleModerator || got.TokenVersion != u.TokenVersion+1 {
		t.Fatalf("promoted user = %+v", got)
	}
	if e := f.auditEntries(); len(e) != 1 || e[0].Action != "set_role" || e[0].TargetID != u.ID || e[0].Reason != "user → moderator" {
		t.Fatalf("audit = %+v", e)
	}
	// The same role again changes nothing.
	if _, err := f.svc.SetRole(f.ctx, u.ID, admin, models.RoleModerator); err != nil || len(f.auditEntries()) != 1 {
		t.Fatalf("repeat: %v, %d audit entries", err, len(f.auditEntries()))
	}
	_, err = f.svc.SetRole(f.ctx, admin.ID, admin, models.RoleUser)
	wantErr(t, err, moderation.ErrConflict)
	_, err = f.svc.SetRole(f.ctx, u.ID, mod, models.RoleAdmin)
	wantErr(t, err, moderation.ErrForbidden)
	_, err = f.svc.SetRole(f.ctx, u.ID, admin, "owner")
	wantInvalid(t, err, "role")
	_, err = f.svc.SetRole(f.ctx, 55555, admin, models.RoleUser)
	wantErr(t, err, models.ErrNotFound)
	if got := f.reload(admin); got.Role != models.RoleAdmin {
		t.Fatal("the admin demoted themselves")
	}
}
