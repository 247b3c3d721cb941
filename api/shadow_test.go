package api_test

import (
	"fmt"
	"testing"

	"github.com/parley-comments/parley/models"
)

func TestShadowBannedVotesDoNotCount(t *testing.T) {
	s := newTestServer(t)
	author := s.register(t, "writer")
	troll := s.register(t, "troll")
	mod := s.userWithRole(t, "modv", "moderator")
	c := s.post(t, author.AccessToken, seedSlug, "a fine comment", nil)
	want(t, s.do(t, "POST", fmt.Sprintf("/api/v1/moderation/users/%d/ban", troll.User.ID), mod.AccessToken, map[string]any{"reason": "trolling", "shadow": true}), 200)

	rec := s.do(t, "PUT", fmt.Sprintf("/api/v1/comments/%d/vote", c.ID), troll.AccessToken, map[string]int{"value": -1})
	want(t, rec, 200)
	if got := decode[struct {
		Score  int `json:"score"`
		MyVote int `json:"my_vote"`
	}](t, rec); got.Score != -1 || got.MyVote != -1 {
		t.Fatalf("the shadow-banned voter was told %+v; it should look as if the vote counted", got)
	}
	if th := s.thread(t, "", ""); th.Items[0].Score != 0 {
		t.Fatalf("public score = %d, want 0: a shadow-banned vote counted", th.Items[0].Score)
	}
}

func TestModeratorEditIsAudited(t *testing.T) {
	s := newTestServer(t)
	u := s.register(t, "edited")
	mod := s.userWithRole(t, "mode", "moderator")
	c := s.post(t, u.AccessToken, seedSlug, "my words", nil)
	want(t, s.do(t, "PATCH", fmt.Sprintf("/api/v1/comments/%d", c.ID), u.AccessToken, map[string]string{"body": "my own words"}), 200)
	want(t, s.do(t, "PATCH", fmt.Sprintf("/api/v1/comments/%d", c.ID), mod.AccessToken, map[string]string{"body": "[removed link]"}), 200)
	var entries []models.AuditEntry
	s.store.Read.Where("target_type = 'comment' AND target_id = ?", c.ID).Find(&entries)
	if len(entries) != 1 || entries[0].Action != "edit" || entries[0].ModeratorID != mod.User.ID {
		t.Fatalf("audit entries = %+v, want one edit by the moderator (the author's own edit is not audited)", entries)
	}
}
