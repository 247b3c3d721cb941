package api

import (
	"time"

	"github.com/parley-comments/parley/models"
)

type userView struct {
	ID          uint      `json:"id"`
	Username    string    `json:"username"`
	DisplayName string    `json:"display_name"`
	Role        string    `json:"role"`
	CreatedAt   time.Time `json:"created_at"`
	Email       *string   `json:"email,omitempty"`
	// EmailVerified goes with Email: whether its owner confirmed it.
	EmailVerified *bool `json:"email_verified,omitempty"`
}

// newUserView shows the email only to the user themselves and to admins.
func newUserView(u *models.User, viewer *models.User) userView {
	v := userView{ID: u.ID, Username: u.Username, DisplayName: u.DisplayName, Role: u.Role, CreatedAt: u.CreatedAt.UTC()}
	if viewer != nil && (viewer.ID == u.ID || viewer.Role == models.RoleAdmin) {
		v.Email = u.Email
		verified := u.EmailVerifiedAt != nil
		v.EmailVerified = &verified
	}
	return v
}

type articleView struct {
	Site           string    `json:"site"`
	Slug           string    `json:"slug"`
	Title          string    `json:"title"`
	Body           string    `json:"body"`
	URL            string    `json:"url"`
	PublishedAt    time.Time `json:"published_at"`
	CommentCount   int       `json:"comment_count"`
	CommentsLocked bool      `json:"comments_locked"`
	ModerationMode string    `json:"moderation_mode"`
}

func newArticleView(a *models.Article) articleView {
	return articleView{Site: a.SiteID, Slug: a.Slug, Title: a.Title, Body: a.Body, URL: a.URL, PublishedAt: a.PublishedAt.UTC(),
		CommentCount: a.CommentCount, CommentsLocked: a.CommentsLocked, ModerationMode: a.ModerationMode}
}

// authorView is {id, username, display_name} for a user (with role for
// staff: the badge no display name can fake), {guest_name} for a guest.
type authorView struct {
	ID          uint   `json:"id,omitempty"`
	Username    string `json:"username,omitempty"`
	DisplayName string `json:"display_name,omitempty"`
	Role        string `json:"role,omitempty"`
	GuestName   string `json:"guest_name,omitempty"`
	// EmailVerified is for moderators (the queue): whether the author's
	// address, or the guest's, is confirmed.
	EmailVerified *bool `json:"email_verified,omitempty"`
}

// staffRole is the role an author view shows: moderators' and admins', no
// one else's.
func staffRole(role string) string {
	if role == models.RoleModerator || role == models.RoleAdmin {
		return role
	}
	return ""
}

type commentView struct {
	ID          uint        `json:"id"`
	ArticleSlug string      `json:"article_slug"`
	ParentID    *uint       `json:"parent_id"`
	Author      *authorView `json:"author"`
	BodyHTML    string      `json:"body_html"`
	Body        *string     `json:"body,omitempty"`
	Status      string      `json:"status"`
	CreatedAt   time.Time   `json:"created_at"`
	EditedAt    *time.Time  `json:"edited_at"`
	Score       int         `json:"score"`
	MyVote      int         `json:"my_vote"`
	Deleted     bool        `json:"deleted"`
	// RepliesCursor is set on a top-level comment with more replies than
	// the page carries (GET /comments/{id}/replies continues from it).
	RepliesCursor string        `json:"replies_cursor,omitempty"`
	Replies       []commentView `json:"replies"`
}

// commentFacts is what a comment view is made of, from either a full
// models.Comment or a thread row.
type commentFacts struct {
	id                        uint
	parentID, authorID        *uint
	username, displayName     string
	role                      string
	guestName, body, bodyHTML string
	status                    string
	shadow                    bool
	score                     int
	createdAt                 time.Time
	editedAt                  *time.Time
}

// newCommentView builds the public shape: the Markdown source only for the
// author and moderators; a shadow-banned author sees their comment as
// published; a tombstone has no body and no author.
func newCommentView(f commentFacts, slug string, viewer *models.User, myVote int) commentView {
	v := commentView{ID: f.id, ArticleSlug: slug, ParentID: f.parentID, BodyHTML: f.bodyHTML, Status: f.status,
		CreatedAt: f.createdAt.UTC(), EditedAt: utc(f.editedAt), Score: f.score, MyVote: myVote, Replies: []commentView{}}
	own := viewer != nil && f.authorID != nil && *f.authorID == viewer.ID
	if f.status == models.StatusDeleted {
		v.Deleted, v.BodyHTML = true, ""
		return v
	}
	switch {
	case f.authorID != nil:
		v.Author = &authorView{ID: *f.authorID, Username: f.username, DisplayName: f.displayName, Role: staffRole(f.role)}
	default:
		v.Author = &authorView{GuestName: f.guestName}
	}
	if own || viewer.IsModerator() {
		body := f.body
		v.Body = &body
	}
	if own && f.shadow && !viewer.IsModerator() {
		v.Status = models.StatusApproved
	}
	return v
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func factsOf(c *models.Comment, author *models.User) commentFacts {
	f := commentFacts{id: c.ID, parentID: c.ParentID, authorID: c.AuthorID, guestName: c.GuestName, body: c.Body,
		bodyHTML: c.BodyHTML, status: c.Status, shadow: c.Shadow, score: c.Score, createdAt: c.CreatedAt, editedAt: c.EditedAt}
	if author != nil {
		f.username, f.displayName, f.role = author.Username, author.DisplayName, author.Role
	}
	return f
}

func threadFacts(c *models.ThreadComment) commentFacts {
	return commentFacts{id: c.ID, parentID: c.ParentID, authorID: c.AuthorID, username: c.AuthorUsername,
		displayName: c.AuthorDisplayName, role: c.AuthorRole, guestName: c.GuestName, body: c.Body, bodyHTML: c.BodyHTML,
		status: c.Status, shadow: c.Shadow, score: c.Score, createdAt: c.CreatedAt, editedAt: c.EditedAt}
}
