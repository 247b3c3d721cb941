package api

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/parley-comments/parley/identity"
)

// cspAccount: the account pages run their one script and call the API on
// this origin; nobody may frame them (a framed button is a clickjacked one).
const cspAccount = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

var verifiedPage = template.Must(template.New("verified").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer"><title>{{.Title}}</title><link rel="stylesheet" href="/assets/account.css"></head>
<body><main><h1>{{.Title}}</h1><p{{if .Bad}} class="error"{{end}}>{{.Text}}</p></main></body></html>
`))

// registerAccountPages adds the pages that links in mail open: verify
// (a GET verifies, as opening the link is the proof), and signin, reset
// and link, which act only when the reader presses their button.
func (h *handler) registerAccountPages(e *echo.Echo) {
	files, err := loadStatic()
	if err != nil {
		panic(fmt.Sprintf("parley: embedded web files: %v", err))
	}
	page := files["account.html"]
	if page == nil {
		panic("parley: embedded web files: account.html is missing")
	}
	serve := func(c echo.Context) error {
		accountHeaders(c)
		return page.serve(c, "no-store")
	}
	for _, p := range []string{"/account/signin", "/account/reset", "/account/link"} {
		getAndHead(e, p, serve)
	}
	e.GET("/account/verify", h.verifyPage)
}

func accountHeaders(c echo.Context) {
	hd := c.Response().Header()
	hd.Set("Content-Security-Policy", cspAccount)
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "no-referrer") // the verify link's token is in its query
	hd.Set("Cache-Control", "no-store")
}

// GET /account/verify?token=…
func (h *handler) verifyPage(c echo.Context) error {
	accountHeaders(c)
	v, err := h.identity.Verify(c.Request().Context(), c.QueryParam("token"))
	data := struct {
		Title, Text string
		Bad         bool
	}{Title: "Address confirmed"}
	status := http.StatusOK
	switch {
	case errors.Is(err, identity.ErrInvalidLink):
		status, data.Title, data.Bad = http.StatusBadRequest, "Link not valid", true
		data.Text = err.Error()
	case err != nil:
		return err
	case v.Guest:
		data.Text = v.Email + " is confirmed. Your comments with this address now count toward being trusted."
	default:
		data.Text = v.Email + " is confirmed as your account's address."
	}
	c.Response().Header().Set(echo.HeaderContentType, echo.MIMETextHTMLCharsetUTF8)
	c.Response().WriteHeader(status)
	return verifiedPage.Execute(c.Response(), data)
}
