package models_test

import (
	"cmp"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/parley-comments/parley/bench/dataset"
	"github.com/parley-comments/parley/models"
	"github.com/parley-comments/parley/models/dbtest"
)

func TestLoadReaderFacts(t *testing.T) {
	s := dbtest.Open(t)
	users, err := dataset.Users(t.Context(), s.Write, 3, "x")
	if err != nil {
		t.Fatal(err)
	}
	bodies := dataset.Bodies(4, 1)
	here, err := dataset.Article(t.Context(), s.Write, dataset.Thread{Slug: "here", Comments: 8}, users[:1], bodies)
	if err != nil {
		t.Fatal(err)
	}
	there, err := dataset.Article(t.Context(), s.Write, dataset.Thread{Slug: "there", Comments: 8}, users[:1], bodies)
	if err != nil {
		t.Fatal(err)
	}
	comment := func(article uint, author uint, status string) uint {
		t.Helper()
		now := time.Now()
		c := models.Comment{ArticleID: article, AuthorID: &author, Body: "b", BodyHTML: "<p>b</p>", Status: status, CreatedAt: now, UpdatedAt: now}
		if err := s.Write.Create(&c).Error; err != nil {
			t.Fatal(err)
		}
		return c.ID
	}
	vote := func(article, comment, user uint, value int) {
		t.Helper()
		if err := s.Write.Create(&models.Vote{CommentID: comment, UserID: user, ArticleID: article, Value: value}).Error; err != nil {
			t.Fatal(err)
		}
	}
	a, b := comment(here, users[0], models.StatusApproved), comment(here, users[0], models.StatusApproved)
	elsewhere := comment(there, users[0], models.StatusApproved)
	comment(here, users[1], models.StatusPending)  // users[1] waits on this article
	comment(there, users[2], models.StatusPending) // users[2] only on the other one
	vote(here, a, users[1], 1)
	vote(here, b, users[1], -1)
	vote(there, elsewhere, users[1], 1)
	vote(here, a, users[2], 1)

	for _, tc := range []struct {
		name    string
		user    uint
		pending bool
		votes   map[uint]int
	}{
		{"pending here, votes here and elsewhere", users[1], true, map[uint]int{a: 1, b: -1}},
		{"pending on another article only", users[2], false, map[uint]int{a: 1}},
		{"nothing at all", users[0], false, map[uint]int{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := models.LoadReaderFacts(t.Context(), s.Read, here, tc.user)
			if err != nil {
				t.Fatal(err)
			}
			if f.Pending != tc.pending || !maps.Equal(f.Votes, tc.votes) {
				t.Fatalf("facts = %+v, want pending %v, votes %v", f, tc.pending, tc.votes)
			}
		})
	}
}

// TestLoadThreadTopSort pages through a thread by score, most first, ties
// oldest first: every page size gives every visible top-level comment once,
// in that order, whether a cursor falls inside a run of equal scores or at
// its end.
func TestLoadThreadTopSort(t *testing.T) {
	s := dbtest.Open(t)
	users, err := dataset.Users(t.Context(), s.Write, 2, "x")
	if err != nil {
		t.Fatal(err)
	}
	article := func(slug string) uint {
		t.Helper()
		now := time.Now()
		a := models.Article{Slug: slug, Title: slug, PublishedAt: now, CreatedAt: now, UpdatedAt: now}
		if err := s.Write.Create(&a).Error; err != nil {
			t.Fatal(err)
		}
		return a.ID
	}
	here, there := article("here"), article("there")
	comment := func(article uint, parent *uint, score int, status string, shadow bool) *models.Comment {
		t.Helper()
		now := time.Now()
		c := models.Comment{ArticleID: article, ParentID: parent, RootID: parent, AuthorID: &users[0], Body: "b", BodyHTML: "<p>b</p>",
			Status: status, Shadow: shadow, Score: score, CreatedAt: now, UpdatedAt: now}
		if err := s.Write.Create(&c).Error; err != nil {
			t.Fatal(err)
		}
		return &c
	}
	// Long runs of equal scores, as real threads have (most at 0), visible
	// comments among hidden ones, replies, and another article's comments.
	var visible []*models.Comment
	for i, score := range []int{0, 3, 0, 1, 0, 0, 3, 1, 0, -2, 0, 1, 5, 0, 0, 1, 3, 0, -2, 0, 0, 1, 0} {
		c := comment(here, nil, score, models.StatusApproved, false)
		visible = append(visible, c)
		comment(here, &c.ID, 10, models.StatusApproved, false) // a reply: never a top-level item
		if i%5 == 0 {
			comment(here, nil, score, models.StatusPending, false)
			comment(here, nil, score, models.StatusApproved, true)
			comment(there, nil, score, models.StatusApproved, false)
		}
	}
	slices.SortStableFunc(visible, func(a, b *models.Comment) int { return cmp.Or(cmp.Compare(b.Score, a.Score), cmp.Compare(a.ID, b.ID)) })
	var want []uint
	for _, c := range visible {
		want = append(want, c.ID)
	}

	for _, limit := range []int{1, 2, 4, 5, 7, 22, 23, 50} {
		t.Run(fmt.Sprintf("limit %d", limit), func(t *testing.T) {
			var got []uint
			cursor := ""
			for pages := 1; ; pages++ {
				if pages > len(want)+1 {
					t.Fatal("pagination does not end")
				}
				page, err := models.LoadThread(t.Context(), s.Read, models.ThreadQuery{ArticleID: here, Sort: models.SortTop, Limit: limit, Cursor: cursor})
				if err != nil {
					t.Fatal(err)
				}
				if len(page.Items) > limit {
					t.Fatalf("page %d has %d items, limit %d", pages, len(page.Items), limit)
				}
				for _, c := range page.Items {
					got = append(got, c.ID)
					if len(c.Replies) != 1 || c.AuthorUsername != "bench001" || c.AuthorDisplayName != "Bench User 001" ||
						c.Replies[0].AuthorUsername != "bench001" {
						t.Fatalf("comment %d: %d replies, author %q (%q); want 1 reply, bench001", c.ID, len(c.Replies), c.AuthorUsername, c.AuthorDisplayName)
					}
				}
				if page.NextCursor == "" {
					if wantPages := (len(want) + limit - 1) / limit; pages != wantPages {
						t.Fatalf("%d pages, want %d", pages, wantPages)
					}
					break
				}
				// The cursor's format is unchanged: clients may hold one.
				last := page.Items[len(page.Items)-1]
				if raw, _ := base64.RawURLEncoding.DecodeString(page.NextCursor); string(raw) != fmt.Sprintf("top.%d.%d", last.Score, last.ID) {
					t.Fatalf("cursor %q, want top.%d.%d", raw, last.Score, last.ID)
				}
				cursor = page.NextCursor
			}
			if !slices.Equal(got, want) {
				t.Fatalf("pages = %v\nwant    %v", got, want)
			}
		})
	}

	_, err = models.LoadThread(t.Context(), s.Read, models.ThreadQuery{ArticleID: here, Sort: models.SortTop, Limit: 5,
		Cursor: base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf("oldest.0.%d", want[0])))})
	if !errors.Is(err, models.ErrBadCursor) {
		t.Fatalf("another sort's cursor: err = %v, want ErrBadCursor", err)
	}
}
