package api_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/parley-comments/parley/models"
)

// TestConcurrentPosting: 50 posters × 20 comments at once; every one is
// acknowledged with 201 and stored, and none meets "database is locked".
func TestConcurrentPosting(t *testing.T) {
	s := newTestServer(t)
	const posters, each = 50, 20
	tokens := make([]string, posters)
	for i := range tokens {
		tokens[i] = s.register(t, fmt.Sprintf("poster%02d", i)).AccessToken
	}
	var wg sync.WaitGroup
	errs := make(chan string, posters*each)
	for i := range posters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range each {
				rec := s.do(t, "POST", "/api/v1/articles/"+seedSlug+"/comments", tokens[i], map[string]string{"body": fmt.Sprintf("comment %d from poster %d", j, i)})
				if rec.Code != 201 {
					errs <- fmt.Sprintf("poster %d comment %d: %d %s", i, j, rec.Code, rec.Body)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	var stored int64
	s.store.Read.Model(&models.Comment{}).Count(&stored)
	if stored != posters*each {
		t.Fatalf("stored %d comments, want %d", stored, posters*each)
	}
	var count int
	s.store.Read.Model(&models.Article{}).Where("slug = ?", seedSlug).Pluck("comment_count", &count)
	if count != posters*each {
		t.Fatalf("comment_count = %d, want %d", count, posters*each)
	}
}
