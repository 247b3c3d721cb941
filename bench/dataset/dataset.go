// Package dataset writes benchmark data straight into a Parley database:
// users, articles and comment threads with rendered HTML, root ids, depths,
// votes and counts as the service would have stored them, only faster than
// posting them one by one.
package dataset

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/parley-comments/parley/markup"
	"github.com/parley-comments/parley/models"
)

// batchSize keeps one INSERT under SQLite's 32,766 bound parameters.
const batchSize = 500

// base is when the generated comments were posted: long enough ago that no
// duplicate window or edit window applies to them.
var base = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// Users creates n users named bench001, bench002, … sharing one password
// hash (hashing is the slow part of registering) and returns their ids.
func Users(ctx context.Context, db *gorm.DB, n int, passwordHash string) ([]uint, error) {
	users := make([]models.User, n)
	for i := range users {
		name := Username(i)
		users[i] = models.User{Username: name, UsernameKey: name, DisplayName: "Bench User " + name[5:],
			PasswordHash: passwordHash, Role: models.RoleUser, CreatedAt: base, UpdatedAt: base}
	}
	if err := db.WithContext(ctx).CreateInBatches(users, batchSize).Error; err != nil {
		return nil, fmt.Errorf("create users: %w", err)
	}
	ids := make([]uint, n)
	for i, u := range users {
		ids[i] = u.ID
	}
	return ids, nil
}

// Username is the name Users gives the i-th user (from 0).
func Username(i int) string { return fmt.Sprintf("bench%03d", i+1) }

// Thread describes one article and the shape of its comments.
type Thread struct {
	Slug     string
	Comments int // approved comments
	// Pending is how many extra comments of the users wait in the queue.
	Pending int
	// HeldGuests is how many guest comments wait in the queue, as guests'
	// comments do by default.
	HeldGuests int
	// Votes is how many votes each user casts in the thread (on others' comments).
	Votes int
}

// Article creates the article and its thread. Comments come in groups of
// four (a top-level comment, a reply, a reply to that reply, and a second
// reply to the top-level one), so that a page of 50 top-level comments holds
// 200 comments whatever the thread's size; authors and bodies rotate.
func Article(ctx context.Context, db *gorm.DB, t Thread, authors []uint, bodies []Body) (uint, error) {
	db = db.WithContext(ctx)
	a := models.Article{Slug: t.Slug, Title: "Benchmark thread " + t.Slug, Body: "An article to comment on.",
		PublishedAt: base, ModerationMode: "post", CommentCount: t.Comments, Version: 1, CreatedAt: base, UpdatedAt: base}
	if err := db.Create(&a).Error; err != nil {
		return 0, fmt.Errorf("create article %s: %w", t.Slug, err)
	}
	rng := rand.New(rand.NewPCG(1, uint64(a.ID)))
	seq := 0
	next := func(status string) models.Comment {
		author := authors[seq%len(authors)]
		src := bodies[seq%len(bodies)]
		seq++
		at := base.Add(time.Duration(seq) * time.Minute)
		return models.Comment{ArticleID: a.ID, AuthorID: &author, Body: src.Markdown, BodyHTML: src.HTML,
			BodyHash: fmt.Sprintf("bench-%d-%d", a.ID, seq), RenderVersion: markup.Version, Status: status,
			Score: rng.IntN(5), CreatedAt: at, UpdatedAt: at}
	}
	// Level by level, so each level's parents have their ids.
	groups := (t.Comments + 3) / 4
	top := make([]models.Comment, groups)
	for i := range top {
		top[i] = next(models.StatusApproved)
	}
	if err := db.CreateInBatches(top, batchSize).Error; err != nil {
		return 0, fmt.Errorf("create comments: %w", err)
	}
	left := t.Comments - groups
	var first []models.Comment
	for i := range top {
		if left == 0 {
			break
		}
		c := next(models.StatusApproved)
		c.ParentID, c.RootID, c.Depth = &top[i].ID, &top[i].ID, 1
		first = append(first, c)
		left--
	}
	if err := insert(db, first); err != nil {
		return 0, err
	}
	var rest []models.Comment
	for i := range first {
		if left == 0 {
			break
		}
		c := next(models.StatusApproved)
		c.ParentID, c.RootID, c.Depth = &first[i].ID, first[i].RootID, 2
		rest = append(rest, c)
		left--
	}
	for i := range top {
		if left == 0 {
			break
		}
		c := next(models.StatusApproved)
		c.ParentID, c.RootID, c.Depth = &top[i].ID, &top[i].ID, 1
		rest = append(rest, c)
		left--
	}
	for i := 0; i < t.Pending; i++ {
		c := next(models.StatusPending)
		author := authors[(int(a.ID)+i)%len(authors)] // spread over users, article by article
		c.AuthorID, c.Holds = &author, "pre_moderation"
		rest = append(rest, c)
	}
	for i := 0; i < t.HeldGuests; i++ {
		c := next(models.StatusPending)
		c.AuthorID, c.GuestName, c.Holds = nil, fmt.Sprintf("Guest %d", seq), "guest"
		rest = append(rest, c)
	}
	if err := insert(db, rest); err != nil {
		return 0, err
	}
	if t.Votes > 0 {
		if err := votes(db, a.ID, authors, t.Votes, rng); err != nil {
			return 0, err
		}
	}
	return a.ID, nil
}

func insert(db *gorm.DB, cs []models.Comment) error {
	if len(cs) == 0 {
		return nil
	}
	if err := db.CreateInBatches(cs, batchSize).Error; err != nil {
		return fmt.Errorf("create comments: %w", err)
	}
	return nil
}

// votes has each user vote on n approved comments of the article written by
// someone else, and sets the comments' scores to match.
func votes(db *gorm.DB, articleID uint, users []uint, n int, rng *rand.Rand) error {
	var comments []models.Comment
	if err := db.Select("id", "author_id").Where("article_id = ? AND status = ?", articleID, models.StatusApproved).
		Order("id").Find(&comments).Error; err != nil {
		return err
	}
	var vs []models.Vote
	score := map[uint]int{}
	for _, u := range users {
		for _, i := range rng.Perm(len(comments))[:min(n, len(comments))] {
			c := comments[i]
			if c.AuthorID != nil && *c.AuthorID == u {
				continue
			}
			v := 1
			if rng.IntN(4) == 0 {
				v = -1
			}
			vs = append(vs, models.Vote{CommentID: c.ID, UserID: u, ArticleID: articleID, Value: v, CreatedAt: base})
			score[c.ID] += v
		}
	}
	if err := db.CreateInBatches(vs, batchSize).Error; err != nil {
		return fmt.Errorf("create votes: %w", err)
	}
	for id, s := range score {
		if err := db.Model(&models.Comment{}).Where("id = ?", id).Update("score", s).Error; err != nil {
			return err
		}
	}
	return nil
}

// Body is a comment's Markdown and its rendered HTML.
type Body struct {
	Markdown string
	HTML     string
}

// Bodies returns n comment bodies of two or three paragraphs (about 700
// bytes of HTML each, with emphasis, a link, now and then a quote, a list or
// code), rendered by the real pipeline.
func Bodies(n int, seed uint64) []Body {
	rng := rand.New(rand.NewPCG(seed, 7))
	out := make([]Body, n)
	for i := range out {
		md := Markdown(rng, i)
		out[i] = Body{Markdown: md, HTML: markup.Render(md).HTML}
	}
	return out
}

var words = strings.Fields(`the summit visit leaders talks agreement border trade security
	treaty region analysts said would could weapons sanctions economy support cooperation
	history decades first time since capital airport ceremony delegation military partnership
	pressure western officials statement press conference relations future promise energy
	supplies rail bridge river port mutual defence pact observers noted carefully however
	meanwhile perhaps indeed clearly quite rather strongly widely reported according sources`)

// Markdown writes one comment in Markdown; i varies its shape.
func Markdown(rng *rand.Rand, i int) string {
	var b strings.Builder
	sentence := func(n int) {
		for j := range n {
			w := words[rng.IntN(len(words))]
			switch {
			case j == 0:
				w = strings.ToUpper(w[:1]) + w[1:]
			case rng.IntN(17) == 0:
				w = "**" + w + "**"
			case rng.IntN(19) == 0:
				w = "_" + w + "_"
			}
			if j > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(w)
		}
		b.WriteString(". ")
	}
	switch i % 4 {
	case 1:
		b.WriteString("> ")
		sentence(12)
		b.WriteString("\n\n")
	case 2:
		b.WriteString("- ")
		sentence(6)
		b.WriteString("\n- ")
		sentence(7)
		b.WriteString("\n\n")
	}
	sentence(14)
	sentence(11)
	fmt.Fprintf(&b, "See [the report](https://news.example.com/%d/analysis?ref=comment&n=%d) for more. ", 2025+i%2, i)
	sentence(9)
	b.WriteString("\n\n")
	if i%3 == 0 {
		b.WriteString("It says `x < y && y > z` & more. ")
	}
	sentence(16)
	sentence(10)
	return b.String()
}
