package models_test

import (
	"slices"
	"strings"
	"testing"

	"gorm.io/gorm"

	"github.com/parley-comments/parley/bench/dataset"
	"github.com/parley-comments/parley/models"
	"github.com/parley-comments/parley/models/dbtest"
)

// TestOwnBodiesPlanForAProlificReader: a reader who wrote thousands of
// comments elsewhere reads a thread holding a dozen of theirs. Fetching the
// sources of their comments on the page must look the page's ids up by
// primary key, whatever statistics say about the reader: a plan through
// idx_comments_author would read everything they ever wrote.
func TestOwnBodiesPlanForAProlificReader(t *testing.T) {
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
		if _, err = dataset.Article(ctx, tx, dataset.Thread{Slug: "elsewhere", Comments: 5000}, users[:1], bodies); err != nil {
			return err
		}
		article, err = dataset.Article(ctx, tx, dataset.Thread{Slug: "page", Comments: 200}, users, bodies)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Write.Exec("ANALYZE").Error; err != nil {
		t.Fatal(err)
	}
	reader := users[0]
	var own []uint
	if err := s.Read.Model(&models.Comment{}).Where("article_id = ? AND author_id = ?", article, reader).Order("id").Pluck("id", &own).Error; err != nil {
		t.Fatal(err)
	}
	if len(own) < 5 {
		t.Fatalf("the reader has %d comments on the page, want several", len(own))
	}
	var other uint
	if err := s.Read.Model(&models.Comment{}).Where("article_id = ? AND author_id <> ?", article, reader).Limit(1).Pluck("id", &other).Error; err != nil {
		t.Fatal(err)
	}

	take := recordStatements(t, s.Read)
	bodies, err := models.OwnBodies(ctx, s.Read, reader, append(slices.Clone(own), other))
	if err != nil {
		t.Fatal(err)
	}
	if len(bodies) != len(own) {
		t.Fatalf("OwnBodies gave %d bodies, want the reader's %d (and not another author's)", len(bodies), len(own))
	}
	if _, ok := bodies[other]; ok {
		t.Fatal("OwnBodies gave another author's source")
	}
	statements := take()
	if len(statements) != 1 {
		t.Fatalf("OwnBodies ran %d statements, want 1", len(statements))
	}
	for _, p := range dbtest.Plans(t, s.Read, statements[0].sql, statements[0].vars...) {
		if strings.Contains(p, "idx_comments_author") || !strings.Contains(p, "PRIMARY KEY") && !strings.Contains(p, "comments_pkey") {
			t.Errorf("plan does not look the page's ids up by primary key:\n%s\n%s", statements[0].sql, p)
		}
	}
}
