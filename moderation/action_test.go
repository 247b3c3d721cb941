package moderation_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/parley-comments/parley/models"
	"github.com/parley-comments/parley/moderation"
)

// setup puts a new comment in a starting state through the service, the way
// it would get there in real use.
func (f *fixture) setup(state string, author, mod *models.User) *models.Comment {
	f.t.Helper()
	switch state {
	case "pending":
		return f.comment(author, f.pre)
	case "approved":
		return f.comment(author, f.post)
	case "approved+flags":
		c := f.comment(author, f.post)
		f.flag(c, f.user(fmt.Sprintf("flagger%d", c.ID), models.RoleUser), moderation.FlagSpam)
		return c
	case "hidden by flags":
		c := f.comment(author, f.post)
		for i := range 3 {
			f.flag(c, f.user(fmt.Sprintf("flagger%d_%d", c.ID, i), models.RoleUser), moderation.FlagAbuse)
		}
		return c
	case "rejected":
		return f.moderate(f.comment(author, f.post), mod, moderation.ActionReject)
	case "spam":
		return f.moderate(f.comment(author, f.post), mod, moderation.ActionSpam)
	case "deleted":
		c := f.comment(author, f.post)
		f.comment(author, f.post) // keeps the numbering unique
		reply, err := f.svc.Submit(f.ctx, moderation.Submission{Slug: f.post.Slug, Author: mod, Body: fmt.Sprintf("reply to %d", c.ID), ParentID: &c.ID})
		if err != nil || reply.ParentID == nil {
			f.t.Fatalf("reply: %v", err)
		}
		if err := f.svc.Delete(f.ctx, c.ID, author); err != nil {
			f.t.Fatal(err)
		}
		got := f.stored(c.ID)
		return &got
	}
	f.t.Fatalf("unknown state %q", state)
	return nil
}

func TestService_Moderate(t *testing.T) {
	tests := []struct {
		from, action string
		want         string // the status after, or "" for a conflict
	}{
		{"pending", moderation.ActionApprove, models.StatusApproved},
		{"hidden by flags", moderation.ActionApprove, models.StatusApproved},
		{"approved+flags", moderation.ActionApprove, models.StatusApproved},
		{"approved", moderation.ActionApprove, ""},
		{"rejected", moderation.ActionApprove, ""},
		{"spam", moderation.ActionApprove, ""},
		{"deleted", moderation.ActionApprove, ""},

		{"pending", moderation.ActionReject, models.StatusRejected},
		{"approved", moderation.ActionReject, models.StatusRejected},
		{"hidden by flags", moderation.ActionReject, models.StatusRejected},
		{"spam", moderation.ActionReject, models.StatusRejected},
		{"rejected", moderation.ActionReject, ""},
		{"deleted", moderation.ActionReject, ""},

		{"pending", moderation.ActionSpam, models.StatusSpam},
		{"approved+flags", moderation.ActionSpam, models.StatusSpam},
		{"rejected", moderation.ActionSpam, models.StatusSpam},
		{"spam", moderation.ActionSpam, ""},
		{"deleted", moderation.ActionSpam, ""},

		{"rejected", moderation.ActionRestore, models.StatusApproved},
		{"spam", moderation.ActionRestore, models.StatusApproved},
		{"pending", moderation.ActionRestore, ""},
		{"approved", moderation.ActionRestore, ""},
		{"deleted", moderation.ActionRestore, ""},
	}
	// One database for all cases (each on its own comment) keeps the
	// PostgreSQL run short; the count check then covers them all together.
	f := newFixture(t)
	author := f.user("author", models.RoleUser)
	mod := f.user("mod", models.RoleModerator)
	for _, tt := range tests {
		t.Run(tt.action+" "+tt.from, func(t *testing.T) {
			f := f.on(t)
			c := f.setup(tt.from, author, mod)
			before := f.stored(c.ID)
			auditBefore := len(f.auditEntries())
			openBefore := openFlags(f.flagsOf(c.ID))
			f.clock.Advance(time.Second)
			now := f.clock.Now()

			got, err := f.svc.Moderate(f.ctx, c.ID, mod, tt.action, " because\tI said so ")
			if tt.want == "" {
				var te *moderation.TransitionError
				if !errors.Is(err, moderation.ErrConflict) || !errors.As(err, &te) || te.CommentID != c.ID {
					t.Fatalf("err = %v, want a transition conflict", err)
				}
				if after := f.stored(c.ID); after.Status != before.Status || after.UpdatedAt != before.UpdatedAt {
					t.Fatalf("refused action changed the comment: %+v", after)
				}
				if len(f.auditEntries()) != auditBefore || openFlags(f.flagsOf(c.ID)) != openBefore {
					t.Fatal("refused action wrote an audit entry or resolved flags")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			stored := f.stored(c.ID)
			if got.Status != tt.want || stored.Status != tt.want || stored.Shadow {
				t.Fatalf("status returned %s, stored %s (shadow %v), want %s", got.Status, stored.Status, stored.Shadow, tt.want)
			}
			if tt.want == models.StatusApproved && stored.Holds != "" {
				t.Fatalf("approved comment keeps holds %q", stored.Holds)
			}
			for _, fl := range f.flagsOf(c.ID) {
				if fl.ResolvedAt == nil || !fl.ResolvedAt.Equal(now) || fl.ResolvedBy == nil || *fl.ResolvedBy != mod.ID || fl.Resolution != tt.action {
					t.Fatalf("flag not resolved by the action: %+v", fl)
				}
			}
			entries := f.auditEntries()
			if len(entries) != auditBefore+1 {
				t.Fatalf("%d audit entries, want %d", len(entries), auditBefore+1)
			}
			e := entries[len(entries)-1]
			if e.ModeratorID != mod.ID || e.Action != tt.action || e.TargetType != "comment" || e.TargetID != c.ID ||
				e.Reason != "because I said so" || !e.At.Equal(now) {
				t.Fatalf("audit entry = %+v", e)
			}
			f.checkCounts()
		})
	}
}

func openFlags(flags []models.Flag) int {
	n := 0
	for _, fl := range flags {
		if fl.ResolvedAt == nil {
			n++
		}
	}
	return n
}

func TestService_ModerateRefusals(t *testing.T) {
	f := newFixture(t)
	author := f.user("author", models.RoleUser)
	mod := f.user("mod", models.RoleModerator)
	c := f.comment(author, f.pre)

	_, err := f.svc.Moderate(f.ctx, c.ID, author, moderation.ActionApprove, "")
	wantErr(t, err, moderation.ErrForbidden)
	_, err = f.svc.Moderate(f.ctx, 424242, mod, moderation.ActionApprove, "")
	wantErr(t, err, models.ErrNotFound)
	_, err = f.svc.Moderate(f.ctx, c.ID, mod, "delete", "")
	wantInvalid(t, err, "action")
	_, err = f.svc.Moderate(f.ctx, c.ID, mod, moderation.ActionApprove, strings.Repeat("x", 501))
	wantInvalid(t, err, "reason")
	if got := f.stored(c.ID); got.Status != models.StatusPending || len(f.auditEntries()) != 0 {
		t.Fatalf("refused actions changed something: %+v", got)
	}
}

func TestService_ApproveShadowComment(t *testing.T) {
	f := newFixture(t)
	mod := f.user("mod", models.RoleModerator)
	u := f.user("quiet", models.RoleUser)
	if _, err := f.svc.Ban(f.ctx, u.ID, mod, moderation.BanRequest{Reason: "spam", Shadow: true}); err != nil {
		t.Fatal(err)
	}
	c := f.comment(f.reload(u), f.post)
	if c.Status != models.StatusPending || !c.Shadow {
		t.Fatalf("shadow-banned comment stored as %s shadow=%v", c.Status, c.Shadow)
	}
	f.moderate(c, mod, moderation.ActionApprove)
	if got := f.stored(c.ID); got.Status != models.StatusApproved || got.Shadow {
		t.Fatalf("approved shadow comment = %s shadow=%v, want public", got.Status, got.Shadow)
	}
	f.checkCounts()
}

func TestService_Bulk(t *testing.T) {
	f := newFixture(t)
	author := f.user("author", models.RoleUser)
	mod := f.user("mod", models.RoleModerator)
	var ids []uint
	for range 3 {
		ids = append(ids, f.comment(author, f.pre).ID)
	}
	approved := f.comment(author, f.post)
	flagged := f.setup("approved+flags", author, mod)

	unchanged := func(t *testing.T) {
		t.Helper()
		f := f.on(t)
		for _, id := range ids {
			if got := f.stored(id); got.Status != models.StatusPending {
				t.Fatalf("comment %d is %s: a failed bulk action changed it", id, got.Status)
			}
		}
		if n := len(f.auditEntries()); n != 0 {
			t.Fatalf("%d audit entries after a failed bulk action", n)
		}
		if n := openFlags(f.flagsOf(flagged.ID)); n != 1 {
			t.Fatalf("a failed bulk action resolved flags")
		}
	}

	t.Run("one unknown id changes nothing", func(t *testing.T) {
		_, err := f.svc.Bulk(f.ctx, append([]uint{flagged.ID, 999999}, ids...), mod, moderation.ActionApprove, "")
		wantErr(t, err, models.ErrNotFound)
		unchanged(t)
	})
	t.Run("one comment the action does not fit changes nothing", func(t *testing.T) {
		_, err := f.svc.Bulk(f.ctx, append([]uint{flagged.ID, approved.ID}, ids...), mod, moderation.ActionApprove, "")
		var te *moderation.TransitionError
		if !errors.As(err, &te) || te.CommentID != approved.ID {
			t.Fatalf("err = %v, want a conflict naming comment %d", err, approved.ID)
		}
		unchanged(t)
	})
	t.Run("invalid requests", func(t *testing.T) {
		_, err := f.svc.Bulk(f.ctx, nil, mod, moderation.ActionApprove, "")
		wantInvalid(t, err, "ids")
		_, err = f.svc.Bulk(f.ctx, make([]uint, moderation.MaxBulk+1), mod, moderation.ActionApprove, "")
		wantInvalid(t, err, "ids")
		_, err = f.svc.Bulk(f.ctx, ids, mod, moderation.ActionRestore, "")
		wantInvalid(t, err, "action")
		_, err = f.svc.Bulk(f.ctx, ids, author, moderation.ActionApprove, "")
		wantErr(t, err, moderation.ErrForbidden)
		unchanged(t)
	})
	t.Run("all fit: every comment changes, each with its audit entry", func(t *testing.T) {
		f := f.on(t)
		all := append([]uint{flagged.ID, ids[0]}, ids...) // a repeated id counts once
		n, err := f.svc.Bulk(f.ctx, all, mod, moderation.ActionApprove, "")
		if err != nil || n != 4 {
			t.Fatalf("bulk = %d, %v; want 4 updated", n, err)
		}
		for _, id := range append([]uint{flagged.ID}, ids...) {
			if got := f.stored(id); got.Status != models.StatusApproved {
				t.Fatalf("comment %d is %s, want approved", id, got.Status)
			}
		}
		if n := openFlags(f.flagsOf(flagged.ID)); n != 0 {
			t.Fatal("bulk approve left flags open")
		}
		entries := f.auditEntries()
		if len(entries) != 4 {
			t.Fatalf("%d audit entries, want 4", len(entries))
		}
		for _, e := range entries {
			if e.Action != moderation.ActionApprove || e.ModeratorID != mod.ID || e.TargetType != "comment" {
				t.Fatalf("audit entry = %+v", e)
			}
		}
		f.checkCounts()
	})
}

// TestService_ConcurrentModeration: two moderators acting on one comment at
// once: one wins, the other gets a conflict, and the count moves once.
func TestService_ConcurrentModeration(t *testing.T) {
	f := newFixture(t)
	mods := []*models.User{f.user("mod1", models.RoleModerator), f.user("mod2", models.RoleModerator)}
	for round := range 5 {
		// A new author each round: three approvals would make one trusted.
		c := f.comment(f.user(fmt.Sprintf("author%d", round), models.RoleUser), f.pre)
		results := make(chan error, len(mods))
		for _, m := range mods {
			go func() {
				_, err := f.svc.Moderate(f.ctx, c.ID, m, moderation.ActionApprove, "")
				results <- err
			}()
		}
		var ok, conflicts int
		for range mods {
			switch err := <-results; {
			case err == nil:
				ok++
			case errors.Is(err, moderation.ErrConflict):
				conflicts++
			default:
				t.Fatalf("round %d: %v", round, err)
			}
		}
		if ok != 1 || conflicts != 1 {
			t.Fatalf("round %d: %d approvals and %d conflicts, want one of each", round, ok, conflicts)
		}
	}
	if n := len(f.auditEntries()); n != 5 {
		t.Fatalf("%d audit entries, want 5", n)
	}
	f.checkCounts()
}
