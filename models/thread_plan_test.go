package models_test

import (
	"fmt"
	"strings"
	"testing"

	"gorm.io/gorm"

	"github.com/parley-comments/parley/bench/dataset"
	"github.com/parley-comments/parley/models"
	"github.com/parley-comments/parley/models/dbtest"
)

// statement is one SQL statement as the code ran it, placeholders and all.
type statement struct {
	sql  string
	vars []any
}

// recordStatements has db keep every statement it runs; take returns those
// run since the last call.
func recordStatements(t *testing.T, db *gorm.DB) (take func() []statement) {
	t.Helper()
	var got []statement
	keep := func(tx *gorm.DB) {
		if tx.Statement.SQL.Len() > 0 {
			got = append(got, statement{tx.Statement.SQL.String(), append([]any(nil), tx.Statement.Vars...)})
		}
	}
	cb := db.Callback()
	for _, err := range []error{
		cb.Query().After("gorm:query").Register("test:record", keep),
		cb.Row().After("gorm:row").Register("test:record", keep),
		cb.Raw().After("gorm:raw").Register("test:record", keep),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	return func() []statement {
		out := got
		got = nil
		return out
	}
}

// TestThreadPlans checks the plans of a signed-in reader's hot reads on a
// thread of 4,000 comments beside 200 small ones (so a generic plan, which
// expects an average thread, underestimates it), on SQLite and on
// PostgreSQL (for the values and as a generic plan): the top sort's pages read
// idx_comments_score in the page's order, with no sort; the reader's votes
// are one range of idx_votes_reader; the page's votes are looked up one by one.
func TestThreadPlans(t *testing.T) {
	s := dbtest.Open(t)
	ctx := t.Context()
	var users []uint
	var article uint
	err := s.Write.Transaction(func(tx *gorm.DB) error {
		var err error
		if users, err = dataset.Users(ctx, tx, 16, "x"); err != nil {
			return err
		}
		bodies := dataset.Bodies(4, 1)
		for i := range 200 {
			if _, err := dataset.Article(ctx, tx, dataset.Thread{Slug: fmt.Sprintf("other-%d", i), Comments: 10, Votes: 1}, users, bodies); err != nil {
				return err
			}
		}
		article, err = dataset.Article(ctx, tx, dataset.Thread{Slug: "big", Comments: 4000, Votes: 20}, users, bodies)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if s.Dialect == "postgres" {
		if err := s.Write.Exec("ANALYZE").Error; err != nil {
			t.Fatal(err)
		}
	}
	sqlite := s.Dialect == "sqlite"
	take := recordStatements(t, s.Read)
	// check fails unless every plan of the statement has all of want and none of refuse.
	check := func(st statement, want []string, refuse ...string) {
		t.Helper()
		for _, p := range dbtest.Plans(t, s.Read, st.sql, st.vars...) {
			for _, w := range want {
				if !strings.Contains(p, w) {
					t.Errorf("plan lacks %q:\n%s\n%s", w, st.sql, p)
				}
			}
			for _, r := range refuse {
				if strings.Contains(p, r) {
					t.Errorf("plan has %q:\n%s\n%s", r, st.sql, p)
				}
			}
		}
	}
	sorted := "Sort Key" // a PostgreSQL sort node
	if sqlite {
		sorted = "TEMP B-TREE"
	}

	// The first page, then pages until one spans two scores: its cursor's
	// score runs out within the page, and the lower scores follow.
	var statements []statement
	cursor := ""
	for ranges := 0; ranges < 2; {
		take()
		page, err := models.LoadThread(ctx, s.Read, models.ThreadQuery{ArticleID: article, Sort: models.SortTop, Limit: 50, Cursor: cursor,
			Viewer: models.Viewer{UserID: users[1]}})
		if err != nil {
			t.Fatal(err)
		}
		if page.NextCursor == "" {
			t.Fatal("no page of the top sort spans two scores")
		}
		var level []statement // the reads of top-level comments
		for _, st := range take() {
			if strings.Contains(st.sql, "parent_id IS NULL") {
				level = append(level, st)
			}
		}
		if ranges = len(level); cursor == "" || ranges == 2 {
			statements = append(statements, level...)
		}
		cursor = page.NextCursor
	}
	if len(statements) != 3 {
		t.Fatalf("recorded %d top-level reads, want the first page and a later page's two ranges", len(statements))
	}
	for i, st := range statements {
		want := []string{"idx_comments_score"}
		switch {
		case i == 0: // the first page
		case sqlite && strings.Contains(st.sql, "c.score = ?"):
			want = append(want, "score=? AND id>?")
		case sqlite:
			want = append(want, "score<?")
		}
		check(st, want, sorted)
	}

	take()
	if _, err := models.LoadReaderFacts(ctx, s.Read, article, users[1]); err != nil {
		t.Fatal(err)
	}
	facts := take()
	if sqlite {
		check(facts[0], []string{"SEARCH v USING COVERING INDEX idx_votes_reader (user_id=? AND article_id=?)"})
	} else {
		check(facts[0], []string{"idx_votes_reader", "article_id = "}, "comments_pkey")
	}

	first, err := models.LoadThread(ctx, s.Read, models.ThreadQuery{ArticleID: article, Sort: models.SortOldest, Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	take()
	if _, err := models.VotesOf(ctx, s.Read, users[1], first.IDs); err != nil {
		t.Fatal(err)
	}
	votes := take()
	if sqlite {
		check(votes[0], []string{"SEARCH c USING INTEGER PRIMARY KEY", "SEARCH v USING"}, "SCAN")
	} else {
		check(votes[0], []string{"comments_pkey", "comment_id = c.id"}, "Hash")
	}
}
