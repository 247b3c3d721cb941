package moderation_test

import (
	"encoding/base64"
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/parley-comments/parley/models"
	"github.com/parley-comments/parley/moderation"
)

// queueFixture holds comments in every queue:
//
//	p1, p2        pending (pre-moderation), no flags
//	hidden        hidden by three flags (spam, spam, abuse): pending with 3 open flags
//	once          approved with one open flag (off_topic)
//	rejected, spam
//	approved      approved, no flags
type queueFixture struct {
	*fixture
	mod                                            *models.User
	p1, p2, hidden, once, rejected, spam, approved *models.Comment
}

func newQueueFixture(t *testing.T) *queueFixture {
	f := newFixture(t)
	q := &queueFixture{fixture: f, mod: f.user("mod", models.RoleModerator)}
	author := f.user("author", models.RoleUser)
	q.p1 = f.comment(author, f.pre)
	q.hidden = f.comment(author, f.post)
	q.p2 = f.comment(f.user("guesty", models.RoleUser), f.pre)
	q.once = f.comment(author, f.post)
	q.rejected = f.moderate(f.comment(author, f.post), q.mod, moderation.ActionReject)
	q.spam = f.moderate(f.comment(author, f.post), q.mod, moderation.ActionSpam)
	q.approved = f.comment(author, f.post)
	for i, reason := range []string{moderation.FlagSpam, moderation.FlagSpam, moderation.FlagAbuse} {
		f.flag(q.hidden, f.user(fmt.Sprintf("flagger%d", i), models.RoleUser), reason)
	}
	f.flag(q.once, f.user("picky", models.RoleUser), moderation.FlagOffTopic)
	return q
}

func ids(items []moderation.QueueItem) []uint {
	out := make([]uint, len(items))
	for i, it := range items {
		out[i] = it.Comment.ID
	}
	return out
}

func TestService_Queue(t *testing.T) {
	q := newQueueFixture(t)
	tests := []struct {
		name  string
		query moderation.QueueQuery
		want  []*models.Comment
	}{
		{"pending by default, most flags first then oldest", moderation.QueueQuery{}, []*models.Comment{q.hidden, q.p1, q.p2}},
		{"pending oldest first", moderation.QueueQuery{State: "pending", Sort: "oldest"}, []*models.Comment{q.p1, q.hidden, q.p2}},
		{"pending newest first", moderation.QueueQuery{State: "pending", Sort: "newest"}, []*models.Comment{q.p2, q.hidden, q.p1}},
		{"flagged: open flags whatever the status", moderation.QueueQuery{State: "flagged"}, []*models.Comment{q.hidden, q.once}},
		{"spam", moderation.QueueQuery{State: "spam"}, []*models.Comment{q.spam}},
		{"rejected", moderation.QueueQuery{State: "rejected"}, []*models.Comment{q.rejected}},
		{"one article", moderation.QueueQuery{State: "pending", Article: q.pre.Slug}, []*models.Comment{q.p1, q.p2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page, err := q.svc.Queue(q.ctx, tt.query)
			if err != nil {
				t.Fatal(err)
			}
			var want []uint
			for _, c := range tt.want {
				want = append(want, c.ID)
			}
			if got := ids(page.Items); !slices.Equal(got, want) {
				t.Fatalf("queue = %v, want %v", got, want)
			}
			if page.NextCursor != "" {
				t.Fatalf("next cursor %q on the only page", page.NextCursor)
			}
		})
	}

	page, err := q.svc.Queue(q.ctx, moderation.QueueQuery{State: "flagged"})
	if err != nil {
		t.Fatal(err)
	}
	hidden, once := page.Items[0], page.Items[1]
	if hidden.Flags.Count != 3 || !maps.Equal(hidden.Flags.Reasons, map[string]int{"spam": 2, "abuse": 1}) ||
		!slices.Equal(hidden.Holds, []string{moderation.HoldFlagged}) || hidden.Comment.Status != models.StatusPending {
		t.Fatalf("hidden item = %+v", hidden)
	}
	if once.Flags.Count != 1 || once.Flags.Reasons["off_topic"] != 1 || len(once.Holds) != 0 || once.Comment.Status != models.StatusApproved {
		t.Fatalf("once-flagged item = %+v", once)
	}
	if hidden.ArticleSlug != q.post.Slug || hidden.ArticleTitle != q.post.Title || hidden.Author == nil ||
		hidden.Author.Username != "author" || hidden.Author.DisplayName != "The author" || hidden.Comment.Body == "" {
		t.Fatalf("hidden item's article, author or body = %+v", hidden)
	}
	pending, _ := q.svc.Queue(q.ctx, moderation.QueueQuery{State: "pending", Sort: "oldest"})
	if p1 := pending.Items[0]; !slices.Equal(p1.Holds, []string{moderation.HoldPreModeration}) || p1.Flags.Count != 0 || p1.Flags.Reasons == nil {
		t.Fatalf("pending item = %+v", p1)
	}

	// Approving resolves the flags, which takes the comment out of both queues.
	q.moderate(q.hidden, q.mod, moderation.ActionApprove)
	page, _ = q.svc.Queue(q.ctx, moderation.QueueQuery{State: "flagged"})
	if got := ids(page.Items); !slices.Equal(got, []uint{q.once.ID}) {
		t.Fatalf("flagged after approval = %v", got)
	}
}

func TestService_QueuePagination(t *testing.T) {
	q := newQueueFixture(t)
	for _, sort := range []string{"flags", "oldest", "newest"} {
		t.Run(sort, func(t *testing.T) {
			all, err := q.svc.Queue(q.ctx, moderation.QueueQuery{State: "pending", Sort: sort})
			if err != nil {
				t.Fatal(err)
			}
			var got []uint
			cursor := ""
			for pages := 0; ; pages++ {
				if pages > 5 {
					t.Fatal("pagination does not end")
				}
				page, err := q.svc.Queue(q.ctx, moderation.QueueQuery{State: "pending", Sort: sort, Limit: 1, Cursor: cursor})
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, ids(page.Items)...)
				if page.NextCursor == "" {
					break
				}
				cursor = page.NextCursor
			}
			if want := ids(all.Items); !slices.Equal(got, want) {
				t.Fatalf("pages = %v, want %v", got, want)
			}
		})
	}

	first, _ := q.svc.Queue(q.ctx, moderation.QueueQuery{State: "pending", Limit: 1})
	bad := []struct {
		name  string
		query moderation.QueueQuery
	}{
		{"garbage", moderation.QueueQuery{Cursor: "not a cursor"}},
		{"well-formed but made up", moderation.QueueQuery{Cursor: base64.RawURLEncoding.EncodeToString([]byte("q.pending.flags.x.1"))}},
		{"another state's cursor", moderation.QueueQuery{State: "flagged", Cursor: first.NextCursor}},
		{"another sort's cursor", moderation.QueueQuery{Sort: "oldest", Cursor: first.NextCursor}},
	}
	for _, tt := range bad {
		t.Run("bad cursor: "+tt.name, func(t *testing.T) {
			_, err := q.svc.Queue(q.ctx, tt.query)
			wantErr(t, err, models.ErrBadCursor)
		})
	}
	_, err := q.svc.Queue(q.ctx, moderation.QueueQuery{State: "approved"})
	wantInvalid(t, err, "state")
	_, err = q.svc.Queue(q.ctx, moderation.QueueQuery{Sort: "score"})
	wantInvalid(t, err, "sort")
	_, err = q.svc.Queue(q.ctx, moderation.QueueQuery{Article: "no-such-article"})
	wantErr(t, err, models.ErrNotFound)
}

// TestService_QueueQueryCount: a page costs the same few queries whatever its
// size, because flags and authors are loaded for the whole page at once.
func TestService_QueueQueryCount(t *testing.T) {
	q := newQueueFixture(t)
	for i := range 20 {
		c := q.comment(q.user(fmt.Sprintf("writer%d", i), models.RoleUser), q.pre)
		q.flag(c, q.mod, moderation.FlagOther)
	}
	svc, counter := q.countingService()
	queries := func(query moderation.QueueQuery) int {
		t.Helper()
		before := counter.count()
		page, err := svc.Queue(q.ctx, query)
		if err != nil || len(page.Items) == 0 {
			t.Fatalf("queue: %d items, %v", len(page.Items), err)
		}
		return counter.count() - before
	}
	small := queries(moderation.QueueQuery{State: "pending", Limit: 2})
	large := queries(moderation.QueueQuery{State: "pending", Limit: 50})
	if small != large || large > 2 {
		t.Fatalf("queries: %d for 2 items, %d for 22; want the same, at most 2", small, large)
	}
	if n := queries(moderation.QueueQuery{State: "pending", Article: q.pre.Slug}); n > 3 {
		t.Fatalf("queries with an article filter: %d, want at most 3", n)
	}
}

func TestService_Stats(t *testing.T) {
	q := newQueueFixture(t)
	st, err := q.svc.Stats(q.ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := (moderation.QueueStats{Pending: 3, Flagged: 2, Spam: 1, Rejected: 1}); st != want {
		t.Fatalf("stats = %+v, want %+v", st, want)
	}
}

func TestService_Log(t *testing.T) {
	f := newFixture(t)
	mod := f.user("mod", models.RoleModerator)
	var want []uint
	for i := range 5 {
		// A new author each time: after three approvals one would be trusted.
		c := f.comment(f.user(fmt.Sprintf("author%d", i), models.RoleUser), f.pre)
		if _, err := f.svc.Moderate(f.ctx, c.ID, mod, moderation.ActionApprove, "fine"); err != nil {
			t.Fatal(err)
		}
		want = append([]uint{c.ID}, want...) // newest first
	}
	var got []uint
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
		page, err := f.svc.Log(f.ctx, 2, cursor, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Items {
			if e.ModeratorID != mod.ID || e.ModeratorUsername != "mod" || e.ModeratorDisplayName != "The mod" || e.Action != "approve" || e.Reason != "fine" {
				t.Fatalf("entry = %+v", e)
			}
			got = append(got, e.TargetID)
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	if !slices.Equal(got, want) {
		t.Fatalf("log targets = %v, want %v", got, want)
	}
	_, err := f.svc.Log(f.ctx, 2, "bad!", nil)
	wantErr(t, err, models.ErrBadCursor)
}
