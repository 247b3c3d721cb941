package moderation_test

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parley-comments/parley/bench/dataset"
	"github.com/parley-comments/parley/models"
	"github.com/parley-comments/parley/models/dbtest"
	"github.com/parley-comments/parley/moderation"
)

// reply posts a unique reply to parent through the service; a nil author
// posts as a guest, which the default rules hold for review.
func (f *fixture) reply(author *models.User, parent *models.Comment) *models.Comment {
	f.t.Helper()
	*f.n++
	var a models.Article
	if err := f.store.Read.Take(&a, parent.ArticleID).Error; err != nil {
		f.t.Fatal(err)
	}
	in := moderation.Submission{Slug: a.Slug, Author: author, Body: fmt.Sprintf("reply number %d to %d", *f.n, parent.ID), ParentID: &parent.ID}
	if author == nil {
		in.Guest = &moderation.Guest{Name: "A guest"}
	}
	c, err := f.svc.Submit(f.ctx, in)
	if err != nil {
		f.t.Fatalf("reply to %d: %v", parent.ID, err)
	}
	return c
}

// publicThread walks an article's whole thread as an anonymous reader sees
// it, page by page, and returns the status of every comment shown, by id.
func (f *fixture) publicThread(articleID uint) map[uint]string {
	return f.publicThreadBy(articleID, 3)
}

// publicThreadBy is publicThread with limit top-level comments a page.
func (f *fixture) publicThreadBy(articleID uint, limit int) map[uint]string {
	f.t.Helper()
	shown := map[uint]string{}
	var walk func([]*models.ThreadComment)
	walk = func(cs []*models.ThreadComment) {
		for _, c := range cs {
			shown[c.ID] = c.Status
			walk(c.Replies)
		}
	}
	q := models.ThreadQuery{ArticleID: articleID, Sort: models.SortOldest, Limit: limit}
	for {
		page, err := models.LoadThread(f.ctx, f.store.Read, q)
		if err != nil {
			f.t.Fatal(err)
		}
		walk(page.Items)
		if page.NextCursor == "" {
			return shown
		}
		q.Cursor = page.NextCursor
	}
}

// visibleCount counts the comments of a thread that are not tombstones.
func visibleCount(shown map[uint]string) int {
	n := 0
	for _, status := range shown {
		if status != models.StatusDeleted {
			n++
		}
	}
	return n
}

// watch records what the public sees of each article, so that check can
// compare the next state with it.
type watch struct {
	f     *fixture
	shown map[uint]map[uint]string
	ver   map[uint]int64
}

func (f *fixture) watch(articles ...*models.Article) *watch {
	w := &watch{f: f, shown: map[uint]map[uint]string{}, ver: map[uint]int64{}}
	for _, a := range articles {
		w.shown[a.ID] = nil
	}
	w.check()
	return w
}

// check fails unless each article's comment_count is the number of comments
// its public thread shows, and its version went up if the thread changed
// since the last check (read caches key on it).
func (w *watch) check() {
	w.f.t.Helper()
	for id, before := range w.shown {
		shown := w.f.publicThread(id)
		count, version := w.f.articleState(&models.Article{ID: id})
		if count != visibleCount(shown) {
			w.f.t.Fatalf("article %d: comment_count = %d, want %d (the comments its public thread shows: %v)", id, count, visibleCount(shown), shown)
		}
		if before != nil && !maps.Equal(before, shown) && version <= w.ver[id] {
			w.f.t.Fatalf("article %d: thread changed but version stayed %d", id, version)
		}
		w.shown[id], w.ver[id] = shown, version
	}
}

// countTree is a thread on the fixture's post-moderated article:
//
//	top (alice)
//	├── mid (bob)
//	│   └── leaf (carol)
//	└── side (dave)
//	other (dave)
type countTree struct {
	alice, bob, carol, dave, mod *models.User
	top, mid, leaf, side, other  *models.Comment
}

func (f *fixture) countTree() *countTree {
	f.t.Helper()
	tr := &countTree{alice: f.user("alice", models.RoleUser), bob: f.user("bob", models.RoleUser),
		carol: f.user("carol", models.RoleUser), dave: f.user("dave", models.RoleUser), mod: f.user("mod", models.RoleModerator)}
	tr.top = f.comment(tr.alice, f.post)
	tr.mid = f.reply(tr.bob, tr.top)
	tr.leaf = f.reply(tr.carol, tr.mid)
	tr.side = f.reply(tr.dave, tr.top)
	tr.other = f.comment(tr.dave, f.post)
	return tr
}

// step is one change to the thread and how many comments the public then
// sees on the article: want pins the thread walk itself, which comment_count
// is checked against.
type step struct {
	do   func(f *fixture, tr *countTree)
	want int
}

func act(action string, pick func(tr *countTree) *models.Comment) func(*fixture, *countTree) {
	return func(f *fixture, tr *countTree) {
		f.t.Helper()
		c := pick(tr)
		if _, err := f.svc.Moderate(f.ctx, c.ID, tr.mod, action, ""); err != nil {
			f.t.Fatalf("%s comment %d: %v", action, c.ID, err)
		}
	}
}

func remove(pick func(tr *countTree) *models.Comment, by func(tr *countTree) *models.User) func(*fixture, *countTree) {
	return func(f *fixture, tr *countTree) {
		f.t.Helper()
		if err := f.svc.Delete(f.ctx, pick(tr).ID, by(tr)); err != nil {
			f.t.Fatalf("delete comment %d: %v", pick(tr).ID, err)
		}
	}
}

func top(tr *countTree) *models.Comment  { return tr.top }
func mid(tr *countTree) *models.Comment  { return tr.mid }
func leaf(tr *countTree) *models.Comment { return tr.leaf }
func mod(tr *countTree) *models.User     { return tr.mod }

// TestCommentCount_FollowsThread checks that comment_count equals what the
// public thread shows after every kind of change, above all the ones that
// hide or show a comment together with its replies.
func TestCommentCount_FollowsThread(t *testing.T) {
	var held *models.Comment // a guest's reply, waiting for review
	tests := []struct {
		name  string
		steps []step
	}{
		{"rejecting a comment hides its replies", []step{{act(moderation.ActionReject, top), 1}}},
		{"marking a comment spam hides its replies", []step{{act(moderation.ActionSpam, top), 1}}},
		{"restoring a comment shows its replies again", []step{
			{act(moderation.ActionReject, top), 1},
			{act(moderation.ActionRestore, top), 5},
		}},
		{"rejecting a reply hides the replies below it only", []step{{act(moderation.ActionReject, mid), 3}}},
		{"a reply restored below a hidden comment stays hidden", []step{
			{act(moderation.ActionReject, mid), 3},
			{act(moderation.ActionSpam, top), 1},
			{act(moderation.ActionRestore, mid), 1},
			{act(moderation.ActionRestore, top), 5},
		}},
		{"a reply approved below a hidden comment stays hidden", []step{
			{func(f *fixture, tr *countTree) { held = f.reply(nil, tr.mid) }, 5},
			{act(moderation.ActionReject, top), 1},
			{act(moderation.ActionApprove, func(*countTree) *models.Comment { return held }), 1},
			{act(moderation.ActionRestore, top), 6},
		}},
		{"bulk actions count every thread once", []step{
			{func(f *fixture, tr *countTree) {
				if _, err := f.svc.Bulk(f.ctx, []uint{tr.mid.ID, tr.side.ID, tr.other.ID}, tr.mod, moderation.ActionReject, ""); err != nil {
					f.t.Fatal(err)
				}
			}, 1},
			{func(f *fixture, tr *countTree) {
				if _, err := f.svc.Bulk(f.ctx, []uint{tr.top.ID, tr.mid.ID}, tr.mod, moderation.ActionSpam, ""); err != nil {
					f.t.Fatal(err)
				}
			}, 0},
		}},
		{"bulk approval shows a flagged comment's replies again", []step{
			{func(f *fixture, tr *countTree) {
				for i := range 3 {
					f.flag(tr.top, f.user(fmt.Sprintf("flagger%d", i), models.RoleUser), moderation.FlagAbuse)
				}
				held = f.reply(nil, tr.other)
			}, 1},
			{func(f *fixture, tr *countTree) {
				if _, err := f.svc.Bulk(f.ctx, []uint{tr.top.ID, held.ID}, tr.mod, moderation.ActionApprove, ""); err != nil {
					f.t.Fatal(err)
				}
			}, 6},
		}},
		{"flags that hide a comment hide its replies", []step{
			{func(f *fixture, tr *countTree) {
				for i := range 3 {
					f.flag(tr.mid, f.user(fmt.Sprintf("flagger%d", i), models.RoleUser), moderation.FlagSpam)
				}
			}, 3},
			{act(moderation.ActionApprove, mid), 5},
		}},
		{"deleting a comment with replies leaves them shown", []step{
			{remove(top, func(tr *countTree) *models.User { return tr.alice }), 4},
		}},
		{"deleting a hidden comment with replies shows them", []step{
			{act(moderation.ActionReject, top), 1},
			{remove(top, mod), 4},
		}},
		{"deleting a reply below a hidden comment changes nothing shown", []step{
			{act(moderation.ActionReject, mid), 3},
			{remove(leaf, func(tr *countTree) *models.User { return tr.carol }), 3},
			{act(moderation.ActionRestore, mid), 4},
		}},
		{"an edit that sends a comment back to review hides its replies", []step{
			{func(f *fixture, tr *countTree) {
				body := "See [one](https://a.example), [two](https://b.example) and [three](https://c.example)."
				if _, err := f.svc.Edit(f.ctx, tr.top.ID, tr.alice, body); err != nil {
					f.t.Fatal(err)
				}
			}, 1},
			{act(moderation.ActionApprove, top), 5},
		}},
		{"a ban's purge hides the replies to the user's comments", []step{
			{func(f *fixture, tr *countTree) {
				req := moderation.BanRequest{Reason: "spam", Purge: true}
				if _, err := f.svc.Ban(f.ctx, tr.bob.ID, tr.mod, req); err != nil {
					f.t.Fatal(err)
				}
			}, 3},
			{func(f *fixture, tr *countTree) {
				if err := f.svc.Unban(f.ctx, tr.bob.ID, tr.mod); err != nil {
					f.t.Fatal(err)
				}
			}, 3},
			{act(moderation.ActionRestore, mid), 5},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			tr := f.countTree()
			w := f.watch(f.post, f.pre)
			for i, s := range tt.steps {
				f.clock.Advance(2 * time.Second)
				s.do(f, tr)
				if got := visibleCount(f.publicThread(f.post.ID)); got != s.want {
					t.Fatalf("step %d: the public thread shows %d comments, want %d", i+1, got, s.want)
				}
				w.check()
			}
		})
	}
}

// TestCommentCount_PurgeRecountsEveryArticle bans a user whose comments,
// with replies, sit on two articles: both counts follow their threads.
func TestCommentCount_PurgeRecountsEveryArticle(t *testing.T) {
	f := newFixture(t)
	second := f.article("second-article", moderation.ModePost)
	tr := f.countTree()
	elsewhere := f.comment(tr.alice, second)
	f.reply(tr.bob, elsewhere)
	f.comment(tr.bob, second)
	w := f.watch(f.post, second)
	if _, err := f.svc.Ban(f.ctx, tr.alice.ID, tr.mod, moderation.BanRequest{Reason: "spam", Purge: true}); err != nil {
		t.Fatal(err)
	}
	w.check()
	if got := visibleCount(f.publicThread(second.ID)); got != 1 {
		t.Fatalf("second article shows %d comments, want 1", got)
	}
}

// TestCommentCount_RandomActions runs a seeded mix of actions over a deeper
// thread and checks the count after each one that went through.
func TestCommentCount_RandomActions(t *testing.T) {
	f := newFixture(t)
	mod := f.user("mod", models.RoleModerator)
	var authors []*models.User
	for i := range 6 {
		authors = append(authors, f.user(fmt.Sprintf("author%d", i), models.RoleUser))
	}
	rng := rand.New(rand.NewPCG(7, 11))
	var comments []*models.Comment
	for i := range 40 {
		author := authors[i%len(authors)]
		if i < 5 || rng.IntN(4) == 0 {
			comments = append(comments, f.comment(author, f.post))
			continue
		}
		// Reply to an approved comment: the service refuses any other parent.
		var parents []*models.Comment
		for _, c := range comments {
			if f.stored(c.ID).Status == models.StatusApproved {
				parents = append(parents, c)
			}
		}
		if rng.IntN(5) == 0 {
			author = nil // a guest, held for review
		}
		comments = append(comments, f.reply(author, parents[rng.IntN(len(parents))]))
	}
	w := f.watch(f.post)
	actions := []string{moderation.ActionApprove, moderation.ActionReject, moderation.ActionSpam, moderation.ActionRestore, "delete"}
	done := 0
	for range 80 {
		c := comments[rng.IntN(len(comments))]
		action := actions[rng.IntN(len(actions))]
		f.clock.Advance(2 * time.Second)
		var err error
		if action == "delete" {
			err = f.svc.Delete(f.ctx, c.ID, mod)
		} else {
			_, err = f.svc.Moderate(f.ctx, c.ID, mod, action, "")
		}
		if err != nil {
			continue // not an action this comment's status allows, or already gone
		}
		done++
		w.check()
	}
	if done < 20 {
		t.Fatalf("only %d of 80 random actions went through; the mix tests too little", done)
	}
	statuses := map[string]bool{}
	for _, c := range comments {
		var got models.Comment
		if f.store.Read.Take(&got, c.ID).Error == nil {
			statuses[got.Status] = true
		}
	}
	t.Logf("%d actions; statuses at the end: %s", done, strings.Join(slices.Sorted(maps.Keys(statuses)), ", "))
}

// sizedThread creates an article with comments approved comments (top-level
// ones with three replies each) and pending held ones, and returns it with
// its first n top-level comments.
func sizedThread(tb testing.TB, store *models.Store, slug string, comments, pending, n int) (*models.Article, []uint) {
	tb.Helper()
	ctx := tb.Context()
	ids, err := dataset.Users(ctx, store.Write, 8, "x")
	if err != nil {
		tb.Fatal(err)
	}
	id, err := dataset.Article(ctx, store.Write, dataset.Thread{Slug: slug, Comments: comments, Pending: pending}, ids, dataset.Bodies(4, 2))
	if err != nil {
		tb.Fatal(err)
	}
	var tops []uint
	if err := store.Read.Model(&models.Comment{}).Where("article_id = ? AND parent_id IS NULL AND status = ?", id, models.StatusApproved).
		Order("id").Limit(n).Pluck("id", &tops).Error; err != nil || len(tops) != n {
		tb.Fatalf("%d top-level comments (%v), want %d", len(tops), err, n)
	}
	return &models.Article{ID: id}, tops
}

// TestCommentCount_LargeThread times moderation on an article with 20,000
// comments (and 3,000 held), where every status change that shows or hides
// a comment recounts the whole article, and checks the count against the
// whole public thread at the end. The bound on each action is far above the
// few milliseconds it takes: it catches a plan that scans the article for
// each reply, which took a second here.
func TestCommentCount_LargeThread(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 20,000-comment article")
	}
	f := newFixture(t)
	mod := f.user("mod", models.RoleModerator)
	a, tops := sizedThread(t, f.store, "large", 20000, 3000, 101)
	moderate := func(action string) func() error {
		return func() error { _, err := f.svc.Moderate(f.ctx, tops[0], mod, action, ""); return err }
	}
	for _, step := range []struct {
		name string
		do   func() error
		want int // comment_count after; each top-level comment has three replies
	}{
		{"reject", moderate(moderation.ActionReject), 20000 - 4},
		{"restore", moderate(moderation.ActionRestore), 20000},
		{"spam", moderate(moderation.ActionSpam), 20000 - 4},
		{"bulk reject of 100", func() error {
			_, err := f.svc.Bulk(f.ctx, tops[1:], mod, moderation.ActionReject, "")
			return err
		}, 20000 - 404},
		{"restore", moderate(moderation.ActionRestore), 20000 - 400},
	} {
		start := time.Now()
		if err := step.do(); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		took := time.Since(start)
		t.Logf("%s on a 20,000-comment article: %v", step.name, took)
		if count, _ := f.articleState(a); count != step.want {
			t.Fatalf("after %s: comment_count = %d, want %d", step.name, count, step.want)
		}
		if took > time.Second {
			t.Fatalf("%s took %v", step.name, took)
		}
	}
	if count, _ := f.articleState(a); count != visibleCount(f.publicThreadBy(a.ID, 200)) {
		t.Fatalf("comment_count = %d, but the public thread shows %d", count, visibleCount(f.publicThreadBy(a.ID, 200)))
	}
}

// BenchmarkModerate_Recount measures a reject and a restore of a comment
// with replies on articles of 20 and 20,000 comments, the large one also
// with 3,000 held comments (a spammed article, whose held comments the
// recount walks): the difference is what recounting the article costs.
func BenchmarkModerate_Recount(b *testing.B) {
	for _, size := range []struct{ comments, held int }{{20, 0}, {20000, 0}, {20000, 3000}} {
		b.Run(fmt.Sprintf("comments=%d/held=%d", size.comments, size.held), func(b *testing.B) {
			store := dbtest.Open(b)
			svc := moderation.NewService(store, time.Now)
			mod := &models.User{Username: "mod", UsernameKey: "mod", PasswordHash: "x", Role: models.RoleModerator}
			if err := store.Write.Create(mod).Error; err != nil {
				b.Fatal(err)
			}
			_, tops := sizedThread(b, store, "sized", size.comments, size.held, 1)
			for b.Loop() {
				for _, action := range []string{moderation.ActionReject, moderation.ActionRestore} {
					if _, err := svc.Moderate(b.Context(), tops[0], mod, action, ""); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(2*b.N), "µs/action")
		})
	}
}

// TestReplyBelowHiddenComment: a reply to an approved comment under a hidden
// one is refused like a reply to a hidden comment, and counts nothing.
func TestReplyBelowHiddenComment(t *testing.T) {
	f := newFixture(t)
	tr := f.countTree()
	w := f.watch(f.post)
	act(moderation.ActionReject, top)(f, tr)
	w.check()
	for _, parent := range []*models.Comment{tr.mid, tr.leaf} {
		_, err := f.svc.Submit(f.ctx, moderation.Submission{Slug: f.post.Slug, Author: tr.dave, Body: fmt.Sprintf("under hidden %d", parent.ID), ParentID: &parent.ID})
		if !errors.Is(err, moderation.ErrBadParent) {
			t.Fatalf("reply to %d below a rejected comment: err = %v, want ErrBadParent", parent.ID, err)
		}
	}
	w.check()
	act(moderation.ActionRestore, top)(f, tr)
	f.reply(tr.dave, tr.leaf) // visible again: replies are taken
	w.check()
}
