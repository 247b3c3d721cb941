package migrations_test

import (
	"slices"
	"testing"

	"gorm.io/gorm"

	"github.com/parley-comments/parley/migrations"
	"github.com/parley-comments/parley/models/dbtest"
)

type voteRow struct {
	CommentID uint
	UserID    uint
	ArticleID uint
	Value     int
}

func readVotes(t *testing.T, db *gorm.DB) []voteRow {
	t.Helper()
	var rows []voteRow
	if err := db.Table("votes").Select("comment_id, user_id, article_id, value").Order("comment_id, user_id").Scan(&rows).Error; err != nil {
		t.Fatal(err)
	}
	return rows
}

// TestReadPaths applies 0002 over votes cast under 0001: each vote gets its
// comment's article, the indexes are swapped, and a second Up changes nothing.
func TestReadPaths(t *testing.T) {
	s := dbtest.OpenEmpty(t)
	db := s.Write
	if migrations.Steps[0].ID != "0001_core" {
		t.Fatalf("first step is %s", migrations.Steps[0].ID)
	}
	if err := migrations.Apply(db, migrations.Steps[:1]); err != nil {
		t.Fatalf("apply 0001: %v", err)
	}
	exec := func(q string) {
		t.Helper()
		if err := db.Exec(q).Error; err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec("INSERT INTO users (id, username, username_key, password_hash, created_at, updated_at) VALUES (1, 'ann', 'ann', 'x', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP), (2, 'ben', 'ben', 'x', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)")
	exec("INSERT INTO articles (id, slug, title, published_at, created_at, updated_at) VALUES (10, 'one', 'One', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP), (20, 'two', 'Two', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)")
	exec("INSERT INTO comments (id, article_id, body, body_html, status, created_at, updated_at) VALUES (1, 10, 'a', 'a', 'approved', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP), (2, 10, 'b', 'b', 'approved', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP), (3, 20, 'c', 'c', 'approved', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)")
	exec("INSERT INTO votes (comment_id, user_id, value, created_at) VALUES (1, 1, 1, CURRENT_TIMESTAMP), (2, 1, -1, CURRENT_TIMESTAMP), (3, 1, 1, CURRENT_TIMESTAMP), (3, 2, -1, CURRENT_TIMESTAMP)")

	if err := migrations.Up(db); err != nil {
		t.Fatalf("Up over 0001: %v", err)
	}
	want := []voteRow{{1, 1, 10, 1}, {2, 1, 10, -1}, {3, 1, 20, 1}, {3, 2, 20, -1}}
	if got := readVotes(t, db); !slices.Equal(got, want) {
		t.Fatalf("votes after 0002 = %v, want %v", got, want)
	}
	indexes := func() {
		t.Helper()
		m := db.Migrator()
		for table, names := range map[string][]string{"votes": {"idx_votes_reader"}, "comments": {"idx_comments_score", "idx_comments_unapproved"}, "flags": {"idx_flags_unresolved"}} {
			for _, name := range names {
				if !m.HasIndex(table, name) {
					t.Errorf("index %s missing on %s", name, table)
				}
			}
		}
		for table, names := range map[string][]string{"votes": {"idx_votes_user"}, "comments": {"idx_comments_top", "idx_comments_article_status"}, "flags": {"idx_flags_open"}} {
			for _, name := range names {
				if m.HasIndex(table, name) {
					t.Errorf("index %s still on %s", name, table)
				}
			}
		}
	}
	indexes()

	applied, err := migrations.Applied(db)
	if err != nil {
		t.Fatal(err)
	}
	if err := migrations.Up(db); err != nil {
		t.Fatalf("second Up: %v", err)
	}
	if again, _ := migrations.Applied(db); !slices.Equal(again, applied) {
		t.Fatalf("second Up changed the record: %v → %v", applied, again)
	}
	if got := readVotes(t, db); !slices.Equal(got, want) {
		t.Fatalf("votes after a second Up = %v, want %v", got, want)
	}
	indexes()

	// A vote must name its article, and the votes table (rebuilt on SQLite)
	// keeps its foreign keys.
	if err := db.Exec("INSERT INTO votes (comment_id, user_id, value) VALUES (2, 2, 1)").Error; err == nil {
		t.Error("a vote without article_id was accepted")
	}
	if err := db.Exec("INSERT INTO votes (comment_id, user_id, article_id, value) VALUES (99, 2, 10, 1)").Error; err == nil {
		t.Error("a vote on a missing comment was accepted")
	}
	exec("DELETE FROM comments WHERE id = 3")
	if got := readVotes(t, db); !slices.Equal(got, want[:2]) {
		t.Fatalf("votes after deleting comment 3 = %v, want %v", got, want[:2])
	}
}
