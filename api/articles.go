package api

import (
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
	"gorm.io/gorm"

	"github.com/parley-comments/parley/events"
	"github.com/parley-comments/parley/fault"
	"github.com/parley-comments/parley/models"
)

type articleList struct {
	Items      []articleView `json:"items"`
	NextCursor *string       `json:"next_cursor"`
}

type articleEnvelope struct {
	Article articleView `json:"article"`
}

type createArticleRequest struct {
	Slug  string `json:"slug"`
	Title string `json:"title"`
	Body  string `json:"body"`
	URL   string `json:"url"`
}

type updateArticleRequest struct {
	Title          *string `json:"title"`
	Body           *string `json:"body"`
	URL            *string `json:"url"`
	CommentsLocked *bool   `json:"comments_locked"`
	ModerationMode *string `json:"moderation_mode"`
}

var slugPattern = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,126}[a-z0-9])?$`)

// GET /api/v1/articles
func (h *handler) listArticles(c echo.Context) error {
	limit, err := pageLimit(c)
	if err != nil {
		return err
	}
	site := models.DefaultSite
	if id := c.QueryParam("site"); id != "" {
		s, err := h.sites.Site(c.Request().Context(), id)
		if err != nil {
			return err
		}
		site = s.ID
	}
	q := h.store.Read.WithContext(c.Request().Context()).Where("site_id = ?", site).Order("published_at DESC, id DESC").Limit(limit + 1)
	if cur := c.QueryParam("cursor"); cur != "" {
		at, id, ok := decodeArticleCursor(cur)
		if !ok {
			return models.ErrBadCursor
		}
		q = q.Where("published_at < ? OR published_at = ? AND id < ?", at, at, id)
	}
	var rows []models.Article
	if err := q.Find(&rows).Error; err != nil {
		return models.MapError(err)
	}
	out := articleList{Items: make([]articleView, 0, len(rows))}
	if len(rows) > limit {
		rows = rows[:limit]
		last := rows[limit-1]
		cur := encodeArticleCursor(last.PublishedAt, last.ID)
		out.NextCursor = &cur
	}
	for i := range rows {
		out.Items = append(out.Items, newArticleView(&rows[i]))
	}
	return c.JSON(http.StatusOK, out)
}

func encodeArticleCursor(at time.Time, id uint) string {
	return base64.RawURLEncoding.EncodeToString([]byte("a." + strconv.FormatInt(at.UnixMicro(), 10) + "." + strconv.FormatUint(uint64(id), 10)))
}

func decodeArticleCursor(s string) (time.Time, uint, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(s) > 64 {
		return time.Time{}, 0, false
	}
	parts := strings.Split(string(raw), ".")
	if len(parts) != 3 || parts[0] != "a" {
		return time.Time{}, 0, false
	}
	micros, err1 := strconv.ParseInt(parts[1], 10, 64)
	id, err2 := strconv.ParseUint(parts[2], 10, 32)
	if err1 != nil || err2 != nil {
		return time.Time{}, 0, false
	}
	return time.UnixMicro(micros).UTC(), uint(id), true
}

func (h *handler) articleBySlug(c echo.Context, slug string) (*models.Article, error) {
	var a models.Article
	if err := h.store.Read.WithContext(c.Request().Context()).Where("site_id = ? AND slug = ?", models.DefaultSite, slug).Take(&a).Error; err != nil {
		return nil, models.MapError(err)
	}
	return &a, nil
}

// GET /api/v1/articles/:slug
func (h *handler) getArticle(c echo.Context) error {
	a, err := h.articleBySlug(c, c.Param("slug"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, articleEnvelope{Article: newArticleView(a)})
}

func validateArticle(fields map[string]string, title, url_ *string, body *string) {
	if title != nil {
		if n := utf8.RuneCountInString(strings.TrimSpace(*title)); n < 1 || n > 300 {
			fields["title"] = "1 to 300 characters"
		}
	}
	if body != nil && len(*body) > 60000 {
		fields["body"] = "at most 60000 bytes"
	}
	if url_ != nil && *url_ != "" {
		u, err := url.Parse(*url_)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(*url_) > 2048 {
			fields["url"] = "an http or https URL"
		}
	}
}

// POST /api/v1/articles
func (h *handler) createArticle(c echo.Context) error {
	var req createArticleRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	fields := map[string]string{}
	if !slugPattern.MatchString(req.Slug) {
		fields["slug"] = "1 to 128 lowercase letters, digits and inner dashes"
	}
	validateArticle(fields, &req.Title, &req.URL, &req.Body)
	if len(fields) > 0 {
		return badRequest("invalid article", fields)
	}
	now := h.cfg.Now().UTC()
	a := models.Article{Slug: req.Slug, Title: strings.TrimSpace(req.Title), Body: req.Body, URL: req.URL, PublishedAt: now, ModerationMode: "post"}
	err := h.store.WriteTx(c.Request().Context(), func(tx *gorm.DB) error { return tx.Create(&a).Error })
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return fault.New(fault.Conflict, "an article with this slug exists")
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, articleEnvelope{Article: newArticleView(&a)})
}

// PATCH /api/v1/articles/:slug
func (h *handler) updateArticle(c echo.Context) error {
	var req updateArticleRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	fields := map[string]string{}
	validateArticle(fields, req.Title, req.URL, req.Body)
	if req.ModerationMode != nil && *req.ModerationMode != "pre" && *req.ModerationMode != "post" {
		fields["moderation_mode"] = `"pre" or "post"`
	}
	if len(fields) > 0 {
		return badRequest("invalid article", fields)
	}
	updates := map[string]any{"updated_at": h.cfg.Now().UTC()}
	if req.Title != nil {
		updates["title"] = strings.TrimSpace(*req.Title)
	}
	if req.Body != nil {
		updates["body"] = *req.Body
	}
	if req.URL != nil {
		updates["url"] = *req.URL
	}
	if req.CommentsLocked != nil {
		updates["comments_locked"] = *req.CommentsLocked
	}
	if req.ModerationMode != nil {
		updates["moderation_mode"] = *req.ModerationMode
	}
	slug := c.Param("slug")
	var a models.Article
	err := h.store.WriteTx(c.Request().Context(), func(tx *gorm.DB) error {
		res := tx.Model(&models.Article{}).Where("site_id = ? AND slug = ?", models.DefaultSite, slug).Updates(updates)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return models.ErrNotFound
		}
		if err := tx.Where("site_id = ? AND slug = ?", models.DefaultSite, slug).Take(&a).Error; err != nil {
			return err
		}
		if err := models.TouchArticle(tx, a.ID, 0); err != nil {
			return err
		}
		return events.Record(tx, a.UpdatedAt, events.Change{Kind: events.ArticleChanged, ArticleID: a.ID, Public: true})
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, articleEnvelope{Article: newArticleView(&a)})
}

// DELETE /api/v1/articles/:slug
func (h *handler) deleteArticle(c echo.Context) error {
	slug := c.Param("slug")
	err := h.store.WriteTx(c.Request().Context(), func(tx *gorm.DB) error {
		var a models.Article
		if err := tx.Select("id").Where("site_id = ? AND slug = ?", models.DefaultSite, slug).Take(&a).Error; err != nil {
			return err
		}
		if err := tx.Delete(&models.Article{}, a.ID).Error; err != nil {
			return err
		}
		// Other instances forget the article's cached thread facts.
		return events.Record(tx, h.cfg.Now(), events.Change{Kind: events.ArticleChanged, ArticleID: a.ID, Public: true})
	})
	if err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// GET /api/v1/counts?slugs=a,b,c
func (h *handler) counts(c echo.Context) error {
	raw := c.QueryParam("slugs")
	if raw == "" {
		return badRequest("slugs is required: a comma-separated list", map[string]string{"slugs": "required"})
	}
	slugs := strings.Split(raw, ",")
	if len(slugs) > 100 {
		return badRequest("at most 100 slugs", map[string]string{"slugs": "at most 100"})
	}
	out := make(map[string]int, len(slugs))
	for _, s := range slugs {
		if len(s) > 128 {
			return badRequest("a slug is at most 128 characters", map[string]string{"slugs": "too long"})
		}
		out[s] = 0
	}
	var rows []struct {
		Slug         string
		CommentCount int
	}
	if err := h.store.Read.WithContext(c.Request().Context()).Model(&models.Article{}).Select("slug", "comment_count").Where("site_id = ? AND slug IN ?", models.DefaultSite, slugs).Scan(&rows).Error; err != nil {
		return models.MapError(err)
	}
	for _, r := range rows {
		out[r.Slug] = r.CommentCount
	}
	return c.JSON(http.StatusOK, out)
}
