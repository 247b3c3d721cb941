package moderation_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"gorm.io/gorm"

	"github.com/parley-comments/parley/models"
	"github.com/parley-comments/parley/models/dbtest"
	"github.com/parley-comments/parley/moderation"
)

// flaggedFixture is a queue of few flags among many comments: n approved
// comments on two articles (two thirds on the post-moderated one), four
// with open flags, a hundred with resolved ones only, and a deleted comment
// still flagged.
type flaggedFixture struct {
	*fixture
	comments []models.Comment
	want     []uint       // the flagged queue, most open flags first, then oldest
	counts   map[uint]int // open flags by comment
}

func newFlaggedFixture(t *testing.T, n int) *flaggedFixture {
	f := &flaggedFixture{fixture: newFixture(t), counts: map[uint]int{}}
	author := f.user("author", models.RoleUser)
	var flaggers []*models.User
	for i := range 3 {
		flaggers = append(flaggers, f.user(fmt.Sprintf("flagger%d", i), models.RoleUser))
	}
	now := f.clock.Now()
	err := f.store.Write.Transaction(func(tx *gorm.DB) error {
		f.comments = make([]models.Comment, n)
		for i := range f.comments {
			a := f.post
			if i >= 2*n/3 {
				a = f.pre
			}
			f.comments[i] = models.Comment{ArticleID: a.ID, AuthorID: &author.ID, Body: "b", BodyHTML: "<p>b</p>", Status: models.StatusApproved, CreatedAt: now, UpdatedAt: now}
		}
		if err := tx.CreateInBatches(f.comments, 500).Error; err != nil {
			return err
		}
		onPost, onPre := f.comments[:2*n/3], f.comments[2*n/3:]
		deleted := &models.Comment{ArticleID: f.post.ID, Body: "", BodyHTML: "", Status: models.StatusDeleted, CreatedAt: now, UpdatedAt: now}
		if err := tx.Create(deleted).Error; err != nil {
			return err
		}
		flag := func(c *models.Comment, by *models.User, resolved bool) error {
			fl := models.Flag{CommentID: c.ID, UserID: by.ID, Reason: moderation.FlagSpam, CreatedAt: now}
			if resolved {
				fl.ResolvedAt, fl.Resolution = &now, moderation.ActionApprove
			} else {
				f.counts[c.ID]++
			}
			return tx.Create(&fl).Error
		}
		for _, fl := range []struct {
			c        *models.Comment
			by       int
			resolved bool
		}{
			{&onPost[10], 0, false}, {&onPost[10], 1, false}, {&onPost[10], 2, true},
			{&onPre[50], 0, false}, {&onPre[50], 1, false},
			{&onPost[50], 2, false},
			{&onPost[len(onPost)-1], 0, false},
			{deleted, 0, false},
		} {
			if err := flag(fl.c, flaggers[fl.by], fl.resolved); err != nil {
				return err
			}
		}
		for i := 100; i < 400; i += 3 { // resolved flags pile up
			if err := flag(&onPost[i], flaggers[i%3], true); err != nil {
				return err
			}
		}
		f.want = []uint{onPost[10].ID, onPre[50].ID, onPost[50].ID, onPost[len(onPost)-1].ID}
		delete(f.counts, deleted.ID)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestService_QueueFlaggedAmongMany(t *testing.T) {
	f := newFlaggedFixture(t, 600)
	page, err := f.svc.Queue(f.ctx, moderation.QueueQuery{State: moderation.QueueFlagged})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(page.Items); !slices.Equal(got, f.want) {
		t.Fatalf("flagged = %v, want %v", got, f.want)
	}
	for _, it := range page.Items {
		if it.Flags.Count != f.counts[it.Comment.ID] || it.Flags.Reasons[moderation.FlagSpam] != it.Flags.Count {
			t.Fatalf("comment %d: flags %+v, want %d open", it.Comment.ID, it.Flags, f.counts[it.Comment.ID])
		}
	}

	oldest := slices.Sorted(slices.Values(f.want))
	newest := slices.Clone(oldest)
	slices.Reverse(newest)
	for sort, want := range map[string][]uint{"flags": f.want, "oldest": oldest, "newest": newest} {
		for _, limit := range []int{1, 3} {
			t.Run(fmt.Sprintf("%s by %d", sort, limit), func(t *testing.T) {
				var got []uint
				cursor := ""
				for pages := 0; ; pages++ {
					if pages > len(want) {
						t.Fatal("pagination does not end")
					}
					page, err := f.svc.Queue(f.ctx, moderation.QueueQuery{State: moderation.QueueFlagged, Sort: sort, Limit: limit, Cursor: cursor})
					if err != nil {
						t.Fatal(err)
					}
					got = append(got, ids(page.Items)...)
					if cursor = page.NextCursor; cursor == "" {
						break
					}
				}
				if !slices.Equal(got, want) {
					t.Fatalf("pages = %v, want %v", got, want)
				}
			})
		}
	}

	for slug, want := range map[string][]uint{f.post.Slug: {f.want[0], f.want[2], f.want[3]}, f.pre.Slug: {f.want[1]}} {
		page, err := f.svc.Queue(f.ctx, moderation.QueueQuery{State: moderation.QueueFlagged, Article: slug})
		if err != nil {
			t.Fatal(err)
		}
		if got := ids(page.Items); !slices.Equal(got, want) {
			t.Fatalf("flagged on %s = %v, want %v", slug, got, want)
		}
	}

	st, err := f.svc.Stats(f.ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.Flagged != len(f.want) || st.Pending != 0 {
		t.Fatalf("stats = %+v, want %d flagged, none pending", st, len(f.want))
	}
}

// TestService_QueueFlaggedPlans checks that the flagged queue and its count,
// on 20,000 comments, start from the open flags and find each comment by
// primary key, never reading every comment (as SQLite did, through
// idx_comments_article_status). On PostgreSQL both the plan for the values
// and the generic plan count.
func TestService_QueueFlaggedPlans(t *testing.T) {
	f := newFlaggedFixture(t, 20000)
	if f.store.Dialect == "postgres" {
		if err := f.store.Write.Exec("ANALYZE").Error; err != nil {
			t.Fatal(err)
		}
	}
	first, err := f.svc.Queue(f.ctx, moderation.QueueQuery{State: moderation.QueueFlagged, Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	oldest, err := f.svc.Queue(f.ctx, moderation.QueueQuery{State: moderation.QueueFlagged, Sort: "oldest", Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	db := f.store.Read
	var statements []string
	var vars [][]any
	keep := func(tx *gorm.DB) {
		if sql := tx.Statement.SQL.String(); strings.Contains(sql, "resolved_at IS NULL) AND") {
			statements, vars = append(statements, sql), append(vars, slices.Clone(tx.Statement.Vars))
		}
	}
	cb := db.Callback()
	for _, err := range []error{
		cb.Query().After("gorm:query").Register("test:record", keep),
		cb.Row().After("gorm:row").Register("test:record", keep),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []moderation.QueueQuery{
		{State: moderation.QueueFlagged},
		{State: moderation.QueueFlagged, Cursor: first.NextCursor, Limit: 1},
		{State: moderation.QueueFlagged, Sort: "oldest", Cursor: oldest.NextCursor, Limit: 1},
		{State: moderation.QueueFlagged, Sort: "newest"},
		{State: moderation.QueueFlagged, Article: f.post.Slug},
	} {
		if _, err := f.svc.Queue(f.ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.svc.Stats(f.ctx, nil); err != nil {
		t.Fatal(err)
	}
	if len(statements) != 6 {
		t.Fatalf("recorded %d flagged reads, want 6", len(statements))
	}
	want, refuse := []string{"SEARCH c USING INTEGER PRIMARY KEY", "idx_flags_unresolved"}, []string{"SCAN c", "SCAN comments"}
	if f.store.Dialect == "postgres" {
		want, refuse = []string{"comments_pkey"}, []string{"Seq Scan on comments", "idx_comments_article_status", "idx_comments_status"}
	}
	for i, sql := range statements {
		for _, plan := range dbtest.Plans(t, db, sql, vars[i]...) {
			for _, w := range want {
				if !strings.Contains(plan, w) {
					t.Errorf("plan lacks %q:\n%s\n%s", w, sql, plan)
				}
			}
			for _, r := range refuse {
				if strings.Contains(plan, r) {
					t.Errorf("plan has %q:\n%s\n%s", r, sql, plan)
				}
			}
		}
	}
}
