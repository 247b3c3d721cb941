package moderation_test

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-comments/parley/bench/dataset"
	"github.com/parley-comments/parley/models"
	"github.com/parley-comments/parley/models/dbtest"
	"github.com/parley-comments/parley/moderation"
)

// BenchmarkSubmit measures posting through the service on a real database
// (on SQLite with synchronous=FULL, through the group-commit writer): one
// poster at a time, then 16 and 64 at once, each comment a new body by one of
// 64 users, on articles that already hold 200 comments.
func BenchmarkSubmit(b *testing.B) {
	for _, posters := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("posters=%d", posters), func(b *testing.B) {
			store := dbtest.Open(b)
			ids, err := dataset.Users(b.Context(), store.Write, 64, "x")
			if err != nil {
				b.Fatal(err)
			}
			authors := make([]*models.User, len(ids))
			for i, id := range ids {
				var u models.User
				if err := store.Read.Take(&u, id).Error; err != nil {
					b.Fatal(err)
				}
				authors[i] = &u
			}
			bodies := dataset.Bodies(16, 2)
			slugs := make([]string, 8)
			for i := range slugs {
				slugs[i] = fmt.Sprintf("bench-%d", i)
				if _, err := dataset.Article(b.Context(), store.Write, dataset.Thread{Slug: slugs[i], Comments: 200}, ids, bodies); err != nil {
					b.Fatal(err)
				}
			}
			rng := rand.New(rand.NewPCG(5, 5))
			src := make([]string, 64)
			for i := range src {
				src[i] = dataset.Markdown(rng, i)
			}
			svc := moderation.NewService(store, time.Now)
			var seq atomic.Uint64
			submit := func() error {
				n := seq.Add(1)
				in := moderation.Submission{Slug: slugs[n%uint64(len(slugs))], Author: authors[n%uint64(len(authors))],
					Body: fmt.Sprintf("Comment %d. %s", n, src[n%uint64(len(src))])}
				_, err := svc.Submit(b.Context(), in)
				return err
			}
			b.ResetTimer()
			if posters == 1 {
				for b.Loop() {
					if err := submit(); err != nil {
						b.Fatal(err)
					}
				}
			} else {
				// RunParallel starts parallelism × GOMAXPROCS goroutines.
				b.SetParallelism(max(1, posters/runtime.GOMAXPROCS(0)))
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if err := submit(); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "comments/s")
		})
	}
}
