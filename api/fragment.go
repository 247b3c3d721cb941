package api

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/parley-comments/parley/models"
	"github.com/parley-comments/parley/web"
)

// GET /api/v1/sites/:site/fragment?key=K&limit=&cursor=: a page of the
// thread's public comments as HTML (oldest first, replies nested, schema.org
// Comment markup), for a blog to include at build time or to frame inside
// <noscript>. It is cached like the JSON pages, on the article's version.
func (h *handler) threadFragment(c echo.Context) error {
	s, key, err := h.siteKey(c, c.QueryParam("key"))
	if err != nil {
		return err
	}
	limit, err := pageLimit(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	own := ownOrigin(c)
	q := models.ThreadQuery{Sort: models.SortOldest, Limit: limit, Cursor: c.QueryParam("cursor")}
	a, err := h.threadArticle(ctx, s.ID, key)
	var p *page
	switch {
	case errors.Is(err, models.ErrNotFound):
		if q.Cursor != "" {
			return models.ErrBadCursor
		}
		p, err = buildFragment(web.Thread{Key: key}, 0)
	case err != nil:
		return err
	default:
		q.ArticleID = a.ID
		build := func(ctx context.Context) (*page, error) { return h.buildFragment(ctx, q, a, s.ID, key, own) }
		if h.pages == nil {
			p, err = build(ctx)
		} else {
			// The fragment's links carry the origin it was asked on.
			p, _, err = h.pages.get(ctx, pageKey{article: a.ID, sort: "html " + own, limit: limit, cursor: q.Cursor}, a.Version, build)
		}
	}
	if err != nil {
		return err
	}
	origins := []string{"'self'"}
	if all, err := h.sites.Site(ctx, s.ID); err == nil {
		origins = append(origins, blogOrigins(all.Origins)...)
	}
	hd := c.Response().Header()
	hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; frame-ancestors "+strings.Join(origins, " "))
	hd.Set(echo.HeaderCacheControl, "no-cache")
	hd.Set("ETag", p.etag)
	if etagMatches(c.Request().Header.Get("If-None-Match"), p.etag) {
		return c.NoContent(304)
	}
	return c.Blob(200, echo.MIMETextHTMLCharsetUTF8, p.body)
}

func (h *handler) buildFragment(ctx context.Context, q models.ThreadQuery, a models.ArticleRef, site, key, own string) (*page, error) {
	tp, err := models.LoadThread(ctx, h.store.Read, q)
	if err != nil {
		return nil, err
	}
	t := web.Thread{Key: key, Total: a.CommentCount, Comments: fragmentComments(tp.Items)}
	if tp.NextCursor != "" {
		v := url.Values{"key": {key}, "cursor": {tp.NextCursor}}
		if q.Limit != 50 {
			v.Set("limit", fmt.Sprint(q.Limit))
		}
		t.More = own + "/api/v1/sites/" + url.PathEscape(site) + "/fragment?" + v.Encode()
	}
	return buildFragment(t, a.Version)
}

func buildFragment(t web.Thread, version int64) (*page, error) {
	var buf bytes.Buffer
	if err := web.Fragment.ExecuteTemplate(&buf, "fragment", t); err != nil {
		return nil, fmt.Errorf("fragment: %w", err)
	}
	return newPage(version, buf.Bytes(), nil), nil
}

func fragmentComments(in []*models.ThreadComment) []web.FragmentComment {
	out := make([]web.FragmentComment, 0, len(in))
	for _, tc := range in {
		fc := web.FragmentComment{ID: tc.ID, Deleted: tc.Status == models.StatusDeleted,
			Created: tc.CreatedAt.UTC().Format("2006-01-02T15:04:05Z"), CreatedText: tc.CreatedAt.UTC().Format("2 January 2006"),
			Replies: fragmentComments(tc.Replies)}
		if !fc.Deleted {
			fc.Author = cmp.Or(tc.AuthorDisplayName, tc.AuthorUsername, tc.GuestName, "Anonymous")
			fc.BodyHTML = template.HTML(tc.BodyHTML) // sanitized when stored (markup.Render)
		}
		out = append(out, fc)
	}
	return out
}
