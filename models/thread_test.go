package models_test

import (
	"maps"
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
	vote := func(comment, user uint, value int) {
		t.Helper()
		if err := s.Write.Create(&models.Vote{CommentID: comment, UserID: user, Value: value}).Error; err != nil {
			t.Fatal(err)
		}
	}
	a, b := comment(here, users[0], models.StatusApproved), comment(here, users[0], models.StatusApproved)
	elsewhere := comment(there, users[0], models.StatusApproved)
	comment(here, users[1], models.StatusPending)  // users[1] waits on this article
	comment(there, users[2], models.StatusPending) // users[2] only on the other one
	vote(a, users[1], 1)
	vote(b, users[1], -1)
	vote(elsewhere, users[1], 1)
	vote(a, users[2], 1)

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
