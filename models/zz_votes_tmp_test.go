package models_test

import (
	"encoding/json"
	"testing"

	"github.com/parley-comments/parley/bench/dataset"
	"github.com/parley-comments/parley/models"
	"github.com/parley-comments/parley/models/dbtest"
)

func BenchmarkVotesTmp(b *testing.B) {
	store := dbtest.Open(b)
	users, _ := dataset.Users(b.Context(), store.Write, 64, "x")
	aid, _ := dataset.Article(b.Context(), store.Write, dataset.Thread{Slug: "bench-200", Comments: 200, Votes: 20}, users, dataset.Bodies(8, 1))
	page, _ := models.LoadThread(b.Context(), store.Read, models.ThreadQuery{ArticleID: aid, Sort: "oldest", Limit: 50})
	ids := page.IDs
	u := users[9]
	b.Run("gorm-find", func(b *testing.B) {
		for b.Loop() {
			models.VotesOf(b.Context(), store.Read, u, ids)
		}
	})
	b.Run("raw-rows", func(b *testing.B) {
		for b.Loop() {
			rows, err := store.Read.Raw("SELECT comment_id, value FROM votes WHERE user_id = ? AND comment_id IN ?", u, ids).Rows()
			if err != nil {
				b.Fatal(err)
			}
			n := 0
			for rows.Next() {
				var id uint
				var v int
				rows.Scan(&id, &v)
				n++
			}
			rows.Close()
		}
	})
	b.Run("json-each", func(b *testing.B) {
		for b.Loop() {
			j, _ := json.Marshal(ids)
			rows, err := store.Read.Raw("SELECT comment_id, value FROM votes WHERE user_id = ? AND comment_id IN (SELECT value FROM json_each(?))", u, string(j)).Rows()
			if err != nil {
				b.Fatal(err)
			}
			for rows.Next() {
				var id uint
				var v int
				rows.Scan(&id, &v)
			}
			rows.Close()
		}
	})
	b.Run("range", func(b *testing.B) {
		for b.Loop() {
			rows, err := store.Read.Raw("SELECT comment_id, value FROM votes WHERE user_id = ? AND comment_id BETWEEN ? AND ?", u, ids[0], ids[len(ids)-1]).Rows()
			if err != nil {
				b.Fatal(err)
			}
			for rows.Next() {
				var id uint
				var v int
				rows.Scan(&id, &v)
			}
			rows.Close()
		}
	})
	b.Run("user-article-join", func(b *testing.B) {
		for b.Loop() {
			rows, err := store.Read.Raw("SELECT v.comment_id, v.value FROM votes v JOIN comments c ON c.id = v.comment_id WHERE v.user_id = ? AND c.article_id = ?", u, aid).Rows()
			if err != nil {
				b.Fatal(err)
			}
			for rows.Next() {
				var id uint
				var v int
				rows.Scan(&id, &v)
			}
			rows.Close()
		}
	})
	b.Run("auth-user-first", func(b *testing.B) {
		for b.Loop() {
			var x models.User
			store.Read.First(&x, u)
		}
	})
	b.Run("thread-article", func(b *testing.B) {
		for b.Loop() {
			models.ThreadArticle(b.Context(), store.Read, "bench-200")
		}
	})
	b.Run("has-pending", func(b *testing.B) {
		for b.Loop() {
			models.HasPending(b.Context(), store.Read, aid, u)
		}
	})
}
