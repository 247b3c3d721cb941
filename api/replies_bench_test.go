package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/parley-comments/parley/auth"
	"github.com/parley-comments/parley/bench/dataset"
	"github.com/parley-comments/parley/models"
	"github.com/parley-comments/parley/models/dbtest"
)

// BenchmarkHugeReplyThread reads the first page (limit=1, uncached) of a
// thread whose one top-level comment has 20,000 replies: the page carries
// 20 of them and a cursor, so its size and time do not follow the thread.
func BenchmarkHugeReplyThread(b *testing.B) {
	store := dbtest.Open(b)
	users, err := dataset.Users(b.Context(), store.Write, 8, "x")
	if err != nil {
		b.Fatal(err)
	}
	article, err := dataset.Article(b.Context(), store.Write, dataset.Thread{Slug: "huge", Comments: 0}, users, dataset.Bodies(2, 1))
	if err != nil {
		b.Fatal(err)
	}
	bodies := dataset.Bodies(64, 1)
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	root := models.Comment{ArticleID: article, AuthorID: &users[0], Body: "root", BodyHTML: "<p>root</p>", Status: models.StatusApproved, CreatedAt: at, UpdatedAt: at}
	if err := store.Write.Create(&root).Error; err != nil {
		b.Fatal(err)
	}
	err = store.Write.Transaction(func(tx *gorm.DB) error {
		rows := make([]models.Comment, 0, 500)
		for i := range 20000 {
			body := bodies[i%len(bodies)]
			rows = append(rows, models.Comment{ArticleID: article, AuthorID: &users[i%len(users)], ParentID: &root.ID, RootID: &root.ID, Depth: 1,
				Body: body.Markdown, BodyHTML: body.HTML, Status: models.StatusApproved, CreatedAt: at, UpdatedAt: at})
			if len(rows) == cap(rows) {
				if err := tx.CreateInBatches(rows, 100).Error; err != nil {
					return err
				}
				rows = rows[:0]
			}
		}
		return tx.CreateInBatches(rows, 100).Error
	})
	if err != nil {
		b.Fatal(err)
	}
	e := NewServer(Config{Store: store, JWTSecret: []byte(strings.Repeat("k", 32)), Hasher: auth.NewHasher(auth.TestParams), PageCacheBytes: -1})
	req := httptest.NewRequest("GET", "/api/v1/articles/huge/comments?limit=1", nil)
	var size int
	for b.Loop() {
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		size = rec.Body.Len()
	}
	b.ReportMetric(float64(size), "bytes/page")
}
