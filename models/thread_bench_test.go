package models_test

import (
	"fmt"
	"testing"

	"github.com/parley-comments/parley/bench/dataset"
	"github.com/parley-comments/parley/models"
	"github.com/parley-comments/parley/models/dbtest"
)

// threadFixture is a database holding one thread of n comments (threads of
// four: see dataset.Article), with votes, beside 5,000 other comments.
func threadFixture(b *testing.B, n int) (*models.Store, uint, []uint) {
	b.Helper()
	store := dbtest.Open(b)
	users, err := dataset.Users(b.Context(), store.Write, 64, "x")
	if err != nil {
		b.Fatal(err)
	}
	bodies := dataset.Bodies(64, 1)
	for i := range 10 {
		if _, err := dataset.Article(b.Context(), store.Write, dataset.Thread{Slug: fmt.Sprintf("other-%d", i), Comments: 500, HeldGuests: 5}, users, bodies); err != nil {
			b.Fatal(err)
		}
	}
	id, err := dataset.Article(b.Context(), store.Write, dataset.Thread{Slug: "thread", Comments: n, Pending: 4, Votes: 20}, users, bodies)
	if err != nil {
		b.Fatal(err)
	}
	return store, id, users
}

// BenchmarkLoadThread reads a page of 50 top-level comments (200 comments
// with their replies) from threads of 200 and 20,000 comments: the first
// page and a later one, as the public, a signed-in reader and a moderator
// see them. The cost should follow the page, not the thread.
func BenchmarkLoadThread(b *testing.B) {
	for _, n := range []int{200, 20000} {
		store, article, users := threadFixture(b, n)
		first, err := models.LoadThread(b.Context(), store.Read, models.ThreadQuery{ArticleID: article, Sort: models.SortOldest, Limit: 50})
		if err != nil {
			b.Fatal(err)
		}
		for _, tc := range []struct {
			name   string
			cursor string
			viewer models.Viewer
		}{
			{"public", "", models.Viewer{}},
			{"public-later-page", first.NextCursor, models.Viewer{}},
			{"signed-in", "", models.Viewer{UserID: users[1]}},
			{"moderator", "", models.Viewer{UserID: users[1], Moderator: true}},
		} {
			if tc.name == "public-later-page" && tc.cursor == "" {
				continue // the small thread has one page
			}
			b.Run(fmt.Sprintf("comments=%d/%s", n, tc.name), func(b *testing.B) {
				q := models.ThreadQuery{ArticleID: article, Sort: models.SortOldest, Limit: 50, Cursor: tc.cursor, Viewer: tc.viewer}
				var rows int
				for b.Loop() {
					page, err := models.LoadThread(b.Context(), store.Read, q)
					if err != nil {
						b.Fatal(err)
					}
					rows = len(page.IDs)
				}
				b.ReportMetric(float64(rows), "comments/page")
			})
		}
		b.Run(fmt.Sprintf("comments=%d/votes-by-page", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := models.VotesOf(b.Context(), store.Read, users[1], first.IDs); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("comments=%d/reader-facts", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := models.LoadReaderFacts(b.Context(), store.Read, article, users[1]); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("comments=%d/article-lookup", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := models.ThreadArticle(b.Context(), store.Read, models.DefaultSite, "thread"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
