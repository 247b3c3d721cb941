package api

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"gorm.io/gorm"

	"github.com/parley-comments/parley/models"
	"github.com/parley-comments/parley/seeds"
	"github.com/parley-comments/parley/web"
)

// Content security policies. Nothing on these pages runs or styles inline, so
// 'self' is all they need; the comment app may only be framed by the allowed
// blog origins (registerPages adds frame-ancestors from the configuration).
const (
	cspDemo  = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
	cspEmbed = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'"
)

// staticTypes are the content types of what web.Static holds; a file of any
// other kind is not served.
var staticTypes = map[string]string{
	".js":   "application/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".html": "text/html; charset=utf-8",
	".svg":  "image/svg+xml",
	".png":  "image/png",
	".ico":  "image/x-icon",
}

// staticFile is one embedded file, read once, with its content type and ETag.
type staticFile struct {
	name  string
	ctype string
	etag  string
	body  []byte
}

// loadStatic reads every file under web/static once at start.
func loadStatic() (map[string]*staticFile, error) {
	root, err := fs.Sub(web.Static, "static")
	if err != nil {
		return nil, err
	}
	files := map[string]*staticFile{}
	err = fs.WalkDir(root, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		ctype, ok := staticTypes[path.Ext(p)]
		if !ok {
			return nil
		}
		body, err := fs.ReadFile(root, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		files[p] = &staticFile{name: p, ctype: ctype, etag: `"` + hex.EncodeToString(sum[:12]) + `"`, body: body}
		return nil
	})
	return files, err
}

// serve writes the file; http.ServeContent answers If-None-Match with a 304.
// nosniff and the referrer policy come from securityHeaders, like everywhere.
func (f *staticFile) serve(c echo.Context, cacheControl string) error {
	hd := c.Response().Header()
	hd.Set(echo.HeaderContentType, f.ctype)
	hd.Set("Cache-Control", cacheControl)
	hd.Set("ETag", f.etag)
	http.ServeContent(c.Response(), c.Request(), f.name, time.Time{}, bytes.NewReader(f.body))
	return nil
}

// registerPages adds the browser-facing routes: the demo blog page, the widget
// loader, the comment app for the widget's iframe and their assets. The admin
// page's files live in web/static too and are served under /assets/.
func (h *handler) registerPages(e *echo.Echo) {
	files, err := loadStatic()
	if err != nil {
		panic(fmt.Sprintf("parley: embedded web files: %v", err)) // a broken build, not a runtime condition
	}
	widget, counts, embed := files["widget.js"], files["counts.js"], files["embed.html"]

	// The loaders' URLs are fixed in every blog's HTML, so they cannot carry
	// a version: cache them briefly and let the ETag make revalidation cheap.
	getAndHead(e, "/widget.js", func(c echo.Context) error {
		return widget.serve(c, "public, max-age=300")
	})
	getAndHead(e, "/counts.js", func(c echo.Context) error {
		return counts.serve(c, "public, max-age=300")
	})
	// GET /embed?site=SITE&key=KEY&parent=ORIGIN (or article=SLUG, the default site's)
	getAndHead(e, "/embed", func(c echo.Context) error {
		return h.embedPage(c, embed)
	})
	getAndHead(e, "/assets/*", func(c echo.Context) error {
		f := files[c.Param("*")]
		// HTML is served only by its own route, with its own policy.
		if f == nil || f.ctype == staticTypes[".html"] {
			return echo.ErrNotFound
		}
		return f.serve(c, "public, max-age=300")
	})
	getAndHead(e, "/", h.demoPage)
}

// getAndHead registers a page for GET and for HEAD, which link checkers,
// monitors and caches send: a HEAD request gets the GET answer's status and
// headers; the compression middleware drops the body.
func getAndHead(e *echo.Echo, path string, page echo.HandlerFunc) {
	e.GET(path, page)
	e.HEAD(path, page)
}

// bodyless is a response writer that sends the status and headers and
// drops the body. net/http drops a HEAD answer's body too, but only on the
// wire; dropping it in the server keeps the answer the same everywhere.
type bodyless struct{ http.ResponseWriter }

func (b bodyless) Write(p []byte) (int, error) { return len(p), nil }

// Unwrap lets http.ResponseController reach the connection's writer.
func (b bodyless) Unwrap() http.ResponseWriter { return b.ResponseWriter }

// GET /
func (h *handler) demoPage(c echo.Context) error {
	var a models.Article
	err := h.store.Read.WithContext(c.Request().Context()).Where("site_id = ? AND slug = ?", models.DefaultSite, seeds.ArticleSlug).First(&a).Error
	post := web.Post{Slug: seeds.ArticleSlug, Title: "Parley demo", Paragraphs: []string{"The demo article is not in the database yet; the comments below work all the same."}}
	switch {
	case err == nil:
		post = web.Post{Slug: a.Slug, Title: a.Title, PublishedAt: a.PublishedAt, Paragraphs: web.Paragraphs(a.Body)}
	case !errors.Is(err, gorm.ErrRecordNotFound) && !errors.Is(err, models.ErrNotFound):
		return fmt.Errorf("demo page article: %w", err)
	}
	var buf bytes.Buffer
	if err := web.Index.Execute(&buf, post); err != nil {
		return fmt.Errorf("demo page: %w", err)
	}
	hd := c.Response().Header()
	hd.Set("Content-Security-Policy", cspDemo)
	hd.Set("X-Frame-Options", "DENY") // the demo page is a top-level page, never a frame
	hd.Set("Cache-Control", "no-cache")
	// Set here, not left to net/http, so that HEAD (whose body is never
	// written) states the same length as GET.
	hd.Set(echo.HeaderContentLength, strconv.Itoa(buf.Len()))
	return c.HTMLBlob(http.StatusOK, buf.Bytes())
}

// embedPage serves the comment app for the widget's iframe. The app posts
// its height to the parent origin, so that origin must be this server's own
// (the demo page) or one of the site's; frame-ancestors makes the browser
// hold the framing page to the same list, which is what lets the app's
// requests (from this server's origin) open threads for the site.
func (h *handler) embedPage(c echo.Context, page *staticFile) error {
	hd := c.Response().Header()
	// A site-wide X-Frame-Options would stop every blog from framing the widget;
	// frame-ancestors is the rule for this page.
	hd.Del("X-Frame-Options")
	q := c.QueryParams()
	parent, key := q.Get("parent"), cmp.Or(q.Get("key"), q.Get("article"))
	siteID := cmp.Or(q.Get("site"), models.DefaultSite)
	site, err := h.sites.Site(c.Request().Context(), siteID)
	if err != nil && !errors.Is(err, models.ErrNotFound) {
		return err
	}
	blogs := blogOrigins(site.Origins)
	msg := ""
	switch {
	case err != nil:
		msg = "This comment section names a site this server does not carry."
	case key == "":
		msg = "This comment section does not say which article it belongs to."
	case parent != ownOrigin(c) && !slices.Contains(blogs, parent):
		msg = "This comment section cannot be shown here: the page that embeds it is not on Parley's list of allowed sites."
	}
	if msg != "" {
		hd.Set("Content-Security-Policy", "default-src 'none'")
		hd.Set("Cache-Control", "no-store")
		return c.HTML(http.StatusBadRequest, "<!doctype html><meta charset=utf-8><title>Comments unavailable</title><p>"+msg+"</p>")
	}
	hd.Set("Content-Security-Policy", cspEmbed+"; frame-ancestors "+strings.Join(append([]string{"'self'"}, blogs...), " "))
	return page.serve(c, "no-cache")
}

// blogOrigins keeps the configured origins that can stand in a CSP source
// list: a plain scheme://host[:port], without a trailing slash. Anything else
// would break out of the header or match no page.
func blogOrigins(configured []string) []string {
	var out []string
	for _, o := range configured {
		o = strings.TrimRight(strings.TrimSpace(o), "/")
		if o == "" || strings.ContainsAny(o, " ;,'\"\t\r\n") || !strings.Contains(o, "://") {
			continue
		}
		out = append(out, o)
	}
	return out
}
