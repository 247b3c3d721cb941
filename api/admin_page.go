package api

import (
	"fmt"

	"github.com/labstack/echo/v4"
)

// cspAdmin is the comment app's policy with framing refused outright: a
// page that could frame the moderation page could trick a moderator's clicks.
const cspAdmin = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// registerAdminPage adds GET (and HEAD) /admin, the moderation page. Its
// script and styles are served under /assets/ with the other static files.
func (h *handler) registerAdminPage(e *echo.Echo) {
	files, err := loadStatic()
	if err != nil {
		panic(fmt.Sprintf("parley: embedded web files: %v", err)) // a broken build, not a runtime condition
	}
	page := files["admin.html"]
	if page == nil {
		panic("parley: embedded web files: admin.html is missing")
	}
	getAndHead(e, "/admin", func(c echo.Context) error {
		hd := c.Response().Header()
		hd.Set("Content-Security-Policy", cspAdmin)
		// For browsers that predate frame-ancestors.
		hd.Set("X-Frame-Options", "DENY")
		// Small and rarely loaded: never keep a copy that could pair an old
		// page with a newer script.
		return page.serve(c, "no-store")
	})
}
