package api

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/parley-comments/parley/fault"
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
	getAndHead(e, "/account/verify", h.verifyPage)
	getAndHead(e, "/auth/callback/:provider", h.providerCallback)
}

func accountHeaders(c echo.Context) {
	hd := c.Response().Header()
	hd.Set("Content-Security-Policy", cspAccount)
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "no-referrer") // the verify link's token is in its query
	hd.Set("Cache-Control", "no-store")
}

// GET /account/verify?token=…: opening the link is the proof, so the GET
// verifies. The page answers 200 whatever the outcome (it is for people and
// says what happened). HEAD only looks: a HEAD must change nothing.
func (h *handler) verifyPage(c echo.Context) error {
	accountHeaders(c)
	ctx, token := c.Request().Context(), c.QueryParam("token")
	var v *identity.Verified
	var err error
	if isHead(c) {
		v, err = h.identity.PeekVerification(ctx, token)
	} else {
		v, err = h.identity.Verify(ctx, token)
	}
	data := struct {
		Title, Text string
		Bad         bool
	}{Title: "Address confirmed"}
	switch {
	case errors.Is(err, identity.ErrInvalidLink):
		data.Title, data.Bad, data.Text = "Link not valid", true, err.Error()
	case err != nil:
		return err
	case v.Guest:
		data.Text = v.Email + " is confirmed. Your comments with this address now count toward being trusted."
	default:
		data.Text = v.Email + " is confirmed as your account's address."
	}
	var buf bytes.Buffer
	if err := verifiedPage.Execute(&buf, data); err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderContentLength, strconv.Itoa(buf.Len()))
	return c.HTMLBlob(http.StatusOK, buf.Bytes())
}

var errHeadOnly = errors.New("HEAD: nothing done")

var callbackPage = template.Must(template.New("callback").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer"><title>{{.Title}}</title><link rel="stylesheet" href="/assets/account.css">
<script src="/assets/account.js" defer></script></head>
<body><main id="callback" data-ok="{{.OK}}"><h1>{{.Title}}</h1><p id="status"{{if not .OK}} class="error"{{end}}>{{.Text}}</p></main></body></html>
`))

// GET /auth/callback/:provider?code=…&state=…: where a provider sends the
// popup back. The page tells the widget that opened it (a message to its
// own origin: the widget's frame is served from here) that the flow is
// done; the widget then collects the login with the secret only it holds.
func (h *handler) providerCallback(c echo.Context) error {
	accountHeaders(c)
	q := c.QueryParams()
	err := errHeadOnly // a HEAD must not spend the flow: it gets the page's headers
	if !isHead(c) {
		err = h.identity.FinishLogin(c.Request().Context(), c.Param("provider"), q.Get("state"), q.Get("code"), q.Get("error"))
	}
	data := struct {
		Title, Text string
		OK          bool
	}{Title: "Signed in", Text: "You can close this window.", OK: true}
	if err != nil {
		data.Title, data.OK = "Not signed in", false
		data.Text = "The sign-in could not be completed. Close this window and try again."
		var fe *fault.Error
		if errors.As(err, &fe) && fe.Code != fault.Internal {
			data.Text = fe.Message
		}
		h.log.Info("provider sign-in refused", "provider", c.Param("provider"), "err", err)
	}
	var buf bytes.Buffer
	if err := callbackPage.Execute(&buf, data); err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderContentLength, strconv.Itoa(buf.Len()))
	return c.HTMLBlob(http.StatusOK, buf.Bytes())
}
