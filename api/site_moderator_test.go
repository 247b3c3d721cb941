package api_test

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
)

// TestSiteModerator: a moderator limited to one site works that site's
// comments only. Each row is a request as that moderator, with the status
// it must get; a refused one must change nothing, and the reads must show
// the site's comments and none of the other's.
func TestSiteModerator(t *testing.T) {
	s := newTestServer(t)
	admin := s.admin(t).AccessToken
	for _, id := range []string{"ours", "theirs"} {
		s.createSite(t, admin, map[string]any{"id": id, "name": id, "origins": []string{"http://" + id + ".example"}})
	}
	mo := s.userWithRole(t, "mona", "moderator")
	rec := s.do(t, "PUT", fmt.Sprintf("/api/v1/admin/users/%d/sites", mo.User.ID), admin, map[string]any{"sites": []string{"ours", "ours"}})
	want(t, rec, http.StatusOK)
	if got := decode[struct {
		Sites []string `json:"sites"`
	}](t, rec).Sites; !slices.Equal(got, []string{"ours"}) {
		t.Fatalf("sites = %v", got)
	}
	wantError(t, s.do(t, "PUT", fmt.Sprintf("/api/v1/admin/users/%d/sites", mo.User.ID), admin, map[string]any{"sites": []string{"nowhere"}}), http.StatusBadRequest, "validation_failed")
	wantError(t, s.do(t, "PUT", "/api/v1/admin/users/99999/sites", admin, map[string]any{"sites": []string{}}), http.StatusNotFound, "not_found")
	wantError(t, s.do(t, "PUT", fmt.Sprintf("/api/v1/admin/users/%d/sites", mo.User.ID), admin, map[string]any{}), http.StatusBadRequest, "validation_failed")
	tok := s.login(t, "mona", "password-mona").AccessToken

	ann := s.register(t, "ann").AccessToken
	// held (three links) and published comments on each site
	onSite := func(site, body string) uint {
		t.Helper()
		page := "http://" + site + ".example/post"
		rec := s.doOrigin(t, "http://"+site+".example", "POST", "/api/v1/sites/"+site+"/comments", ann, map[string]any{"key": page, "url": page, "body": body})
		want(t, rec, http.StatusCreated)
		return decode[struct{ Comment commentJSON }](t, rec).Comment.ID
	}
	links := " [a](https://a.example) [b](https://b.example) [c](https://c.example)"
	oursHeld, theirsHeld := onSite("ours", "ours held"+links), onSite("theirs", "theirs held"+links)
	oursPub, theirsPub := onSite("ours", "ours published"), onSite("theirs", "theirs published")
	defaultHeld := s.post(t, ann, seedSlug, "default held"+links, nil).ID
	s.act(t, admin, theirsPub, "reject") // an action on the other site, for the log

	queueIDs := func(path string) []uint {
		t.Helper()
		rec := s.do(t, "GET", path, tok, nil)
		want(t, rec, http.StatusOK)
		var ids []uint
		for _, it := range decode[struct {
			Items []struct {
				Comment commentJSON `json:"comment"`
				Article struct {
					Site string `json:"site"`
				} `json:"article"`
			} `json:"items"`
		}](t, rec).Items {
			if it.Article.Site != "ours" {
				t.Fatalf("%s shows a comment of site %q", path, it.Article.Site)
			}
			ids = append(ids, it.Comment.ID)
		}
		return ids
	}
	if got := queueIDs("/api/v1/moderation/queue"); !slices.Equal(got, []uint{oursHeld}) {
		t.Fatalf("queue = %v, want only %d", got, oursHeld)
	}
	if got := queueIDs("/api/v1/moderation/queue?site=ours"); !slices.Equal(got, []uint{oursHeld}) {
		t.Fatalf("queue of ours = %v", got)
	}
	rec = s.do(t, "GET", "/api/v1/moderation/stats", tok, nil)
	want(t, rec, http.StatusOK)
	if st := decode[map[string]int](t, rec); st["pending"] != 1 || st["rejected"] != 0 {
		t.Fatalf("stats = %v, want 1 pending and the other site's rejection unseen", st)
	}
	rec = s.do(t, "GET", "/api/v1/moderation/stats", admin, nil)
	want(t, rec, http.StatusOK)
	if st := decode[map[string]int](t, rec); st["pending"] != 3 || st["rejected"] != 1 {
		t.Fatalf("admin stats = %v, want every site", st)
	}
	rec = s.do(t, "GET", "/api/v1/moderation/stats?site=theirs", admin, nil)
	want(t, rec, http.StatusOK)
	if st := decode[map[string]int](t, rec); st["pending"] != 1 || st["rejected"] != 1 {
		t.Fatalf("admin stats of theirs = %v", st)
	}

	for _, row := range []struct {
		name, method, path string
		body               any
		status             int
	}{
		{"queue of another site", "GET", "/api/v1/moderation/queue?site=theirs", nil, 403},
		{"stats of another site", "GET", "/api/v1/moderation/stats?site=theirs", nil, 403},
		{"another site", "GET", "/api/v1/sites/theirs", nil, 403},
		{"approve on another site", "POST", fmt.Sprintf("/api/v1/moderation/comments/%d/approve", theirsHeld), nil, 403},
		{"approve on the default site", "POST", fmt.Sprintf("/api/v1/moderation/comments/%d/approve", defaultHeld), nil, 403},
		{"reject on another site", "POST", fmt.Sprintf("/api/v1/moderation/comments/%d/reject", theirsPub), nil, 403},
		{"bulk with one of another site", "POST", "/api/v1/moderation/bulk", map[string]any{"ids": []uint{oursHeld, theirsHeld}, "action": "approve"}, 403},
		{"ban", "POST", fmt.Sprintf("/api/v1/moderation/users/%d/ban", s.register(t, "troll").User.ID), map[string]any{"reason": "no"}, 403},
		{"edit on another site", "PATCH", fmt.Sprintf("/api/v1/comments/%d", theirsHeld), map[string]any{"body": "edited by a moderator of ours"}, 403},
		{"delete on another site", "DELETE", fmt.Sprintf("/api/v1/comments/%d", theirsHeld), nil, 403},
		{"site settings", "PATCH", "/api/v1/sites/ours", map[string]any{"name": "x"}, 403},
		{"own site", "GET", "/api/v1/sites/ours", nil, 200},
		{"rules", "GET", "/api/v1/moderation/rules", nil, 200},
		{"reject on own site", "POST", fmt.Sprintf("/api/v1/moderation/comments/%d/reject", oursPub), nil, 200},
		{"bulk on own site", "POST", "/api/v1/moderation/bulk", map[string]any{"ids": []uint{oursHeld}, "action": "approve"}, 200},
	} {
		t.Run(row.name, func(t *testing.T) {
			before := fingerprint(t, s)
			rec := s.do(t, row.method, row.path, tok, row.body)
			want(t, rec, row.status)
			if row.status >= 400 {
				wantError(t, rec, row.status, "forbidden")
				if after := fingerprint(t, s); after != before {
					t.Fatalf("a refused request changed the database:\n%s\n%s", before, after)
				}
			}
		})
	}

	rec = s.do(t, "GET", "/api/v1/sites", tok, nil)
	want(t, rec, http.StatusOK)
	if items := decode[struct{ Items []siteJSON }](t, rec).Items; len(items) != 1 || items[0].ID != "ours" {
		t.Fatalf("sites listed = %+v", items)
	}
	rec = s.do(t, "GET", "/api/v1/moderation/log", tok, nil)
	want(t, rec, http.StatusOK)
	var targets []uint
	for _, e := range decode[struct {
		Items []struct {
			TargetID uint `json:"target_id"`
		} `json:"items"`
	}](t, rec).Items {
		targets = append(targets, e.TargetID)
	}
	slices.Sort(targets)
	if !slices.Equal(targets, []uint{oursHeld, oursPub}) {
		t.Fatalf("log targets = %v, want only the actions on ours (%d, %d)", targets, oursHeld, oursPub)
	}
	// Their own site's comments they may still edit.
	want(t, s.do(t, "PATCH", fmt.Sprintf("/api/v1/comments/%d", oursHeld), tok, map[string]any{"body": "ours held, edited"}), http.StatusOK)
	// Lifting the limit gives every site back.
	want(t, s.do(t, "PUT", fmt.Sprintf("/api/v1/admin/users/%d/sites", mo.User.ID), admin, map[string]any{"sites": []string{}}), http.StatusOK)
	want(t, s.do(t, "POST", fmt.Sprintf("/api/v1/moderation/comments/%d/approve", theirsHeld), tok, nil), http.StatusOK)
}
