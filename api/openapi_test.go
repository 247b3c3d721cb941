package api_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/labstack/echo/v4"

	"github.com/parley-comments/parley/api"
)

// apiBase is where the document's server puts its paths.
const apiBase = "/api/v1"

func TestOpenAPIDocumentIsValid(t *testing.T) {
	doc, raw, err := api.OpenAPI()
	if err != nil {
		t.Fatalf("OpenAPI() error: %v", err)
	}
	if len(raw) == 0 || doc.Paths.Len() == 0 {
		t.Fatalf("OpenAPI() gave %d bytes and %d paths", len(raw), doc.Paths.Len())
	}
}

var echoParam = regexp.MustCompile(`:([A-Za-z0-9_]+)`)

// openAPIPath turns an Echo route path under apiBase into the document's
// form: /api/v1/comments/:id becomes /comments/{id}.
func openAPIPath(echoPath string) string {
	return echoParam.ReplaceAllString(strings.TrimPrefix(echoPath, apiBase), "{$1}")
}

func TestOpenAPIPathConversion(t *testing.T) {
	for in, want := range map[string]string{
		"/api/v1/config":                   "/config",
		"/api/v1/comments/:id":             "/comments/{id}",
		"/api/v1/articles/:slug/comments":  "/articles/{slug}/comments",
		"/api/v1/moderation/users/:id/ban": "/moderation/users/{id}/ban",
	} {
		if got := openAPIPath(in); got != want {
			t.Errorf("openAPIPath(%q) = %q, want %q", in, got, want)
		}
	}
}

// undocumented lists the routes under apiBase that have no operation in doc.
func undocumented(doc *openapi3.T, routes []*echo.Route) []string {
	var out []string
	for _, r := range routes {
		if !strings.HasPrefix(r.Path, apiBase+"/") || strings.HasSuffix(r.Path, "/*") ||
			r.Method == echo.RouteNotFound || r.Method == "echo_route_any" {
			continue // Echo's own catch-alls answer 404 and 405, which need no entry
		}
		item := doc.Paths.Value(openAPIPath(r.Path))
		method := r.Method
		if method == http.MethodHead && item != nil && item.Get != nil {
			method = http.MethodGet // HEAD is GET without the body (RFC 9110 9.3.2); every GET route answers it
		}
		if item == nil || item.GetOperation(method) == nil {
			out = append(out, r.Method+" "+r.Path)
		}
	}
	return out
}

func TestOpenAPIUndocumented(t *testing.T) {
	doc, _, err := api.OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		route echo.Route
		want  bool
	}{
		{"documented", echo.Route{Method: "PATCH", Path: "/api/v1/comments/:id"}, false},
		{"unknown path", echo.Route{Method: "GET", Path: "/api/v1/no-such-thing"}, true},
		{"unknown method", echo.Route{Method: "POST", Path: "/api/v1/counts"}, true},
		{"other parameter name", echo.Route{Method: "GET", Path: "/api/v1/comments/:commentID"}, true},
		{"outside the API", echo.Route{Method: "GET", Path: "/no-such-page"}, false},
		{"Echo's not-found route", echo.Route{Method: echo.RouteNotFound, Path: "/api/v1"}, false},
		{"Echo's catch-all", echo.Route{Method: echo.RouteNotFound, Path: "/api/v1/*"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := undocumented(doc, []*echo.Route{&tc.route})
			if (len(got) > 0) != tc.want {
				t.Fatalf("undocumented = %v, want reported: %v", got, tc.want)
			}
		})
	}
}

func TestOpenAPICoversEveryRoute(t *testing.T) {
	doc, _, err := api.OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	routes := newTestServer(t).e.Routes()
	if !slices.ContainsFunc(routes, func(r *echo.Route) bool { return r.Path == apiBase+"/articles/:slug/comments" }) {
		t.Fatal("the server has no comment routes; the walk below would prove nothing")
	}
	for _, r := range undocumented(doc, routes) {
		t.Errorf("%s is registered but not in the OpenAPI document", r)
	}
}

// TestOpenAPIOperationsAnswerErrors makes sure no operation can answer an
// error the document does not describe: each has a default response in the
// error shape, and each one under /api/v1, where any request with a bad
// token is refused, lists the 401.
func TestOpenAPIOperationsAnswerErrors(t *testing.T) {
	doc, _, err := api.OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	errorSchema := doc.Components.Schemas["Error"]
	if errorSchema == nil {
		t.Fatal("no Error schema")
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			def := op.Responses.Default()
			if def == nil || def.Value == nil {
				t.Errorf("%s %s has no default response", method, path)
				continue
			}
			mt := def.Value.Content.Get(echo.MIMEApplicationJSON)
			if mt == nil || mt.Schema == nil || mt.Schema.Value != errorSchema.Value {
				t.Errorf("%s %s: the default response is not the Error schema", method, path)
			}
			if len(item.Servers) == 0 && op.Responses.Status(http.StatusUnauthorized) == nil {
				t.Errorf("%s %s is under %s but lists no 401", method, path, apiBase)
			}
		}
	}
}

func TestOpenAPIServed(t *testing.T) {
	doc, _, err := api.OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	s := newTestServer(t)
	rec := s.do(t, "GET", apiBase+"/openapi.json", "", nil)
	want(t, rec, http.StatusOK)
	if ct := rec.Header().Get(echo.HeaderContentType); !strings.HasPrefix(ct, echo.MIMEApplicationJSON) {
		t.Fatalf("Content-Type = %q, want %s", ct, echo.MIMEApplicationJSON)
	}
	loader := openapi3.NewLoader()
	served, err := loader.LoadFromData(rec.Body.Bytes())
	if err != nil {
		t.Fatalf("served document does not load: %v", err)
	}
	if err := served.Validate(loader.Context); err != nil {
		t.Fatalf("served document is not valid: %v", err)
	}
	if served.OpenAPI != "3.0.3" {
		t.Errorf("openapi = %q, want 3.0.3", served.OpenAPI)
	}
	if got, want := operations(served), operations(doc); !slices.Equal(got, want) {
		t.Errorf("served operations = %v\nwant %v", got, want)
	}
}

// operations lists a document's "METHOD path" pairs in order.
func operations(doc *openapi3.T) []string {
	var out []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			out = append(out, method+" "+path)
		}
	}
	slices.Sort(out)
	return out
}

// TestOpenAPIDescribesPages checks the routes outside /api/v1, which the
// integration tests' checks skip, against the document.
func TestOpenAPIDescribesPages(t *testing.T) {
	doc, _, err := api.OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	// These paths carry their own server, the site root, so they are matched
	// as they are; the copy keeps the shared document untouched.
	rooted := *doc
	rooted.Servers = nil
	router, err := legacy.NewRouter(&rooted)
	if err != nil {
		t.Fatal(err)
	}
	s := newTestServer(t)
	for _, tc := range []struct {
		name   string
		path   string
		status int
	}{
		{"liveness", "/healthz", http.StatusOK},
		{"readiness", "/readyz", http.StatusOK},
		{"demo page", "/", http.StatusOK},
		{"widget", "/widget.js", http.StatusOK},
		{"embed", "/embed?article=" + seedSlug + "&parent=https://blog.example", http.StatusOK},
		{"embed on another site", "/embed?article=" + seedSlug + "&parent=https://evil.example", http.StatusBadRequest},
		{"embed without article", "/embed?parent=https://blog.example", http.StatusBadRequest},
		{"moderation page", "/admin", http.StatusOK},
		{"missing asset", "/assets/no-such-file.js", http.StatusNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, tc.path, nil)
			rec := httptest.NewRecorder()
			s.e.ServeHTTP(rec, req)
			want(t, rec, tc.status)
			route, params, err := router.FindRoute(req)
			if err != nil {
				t.Fatalf("not in the document: %v", err)
			}
			if len(route.PathItem.Servers) != 1 || route.PathItem.Servers[0].URL != "/" {
				t.Errorf("path %s does not set the site root as its server", route.Path)
			}
			in := &openapi3filter.ResponseValidationInput{
				RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
				Status:                 rec.Code,
				Header:                 rec.Header(),
				Body:                   io.NopCloser(bytes.NewReader(rec.Body.Bytes())),
				Options:                &openapi3filter.Options{IncludeResponseStatus: true},
			}
			if err := openapi3filter.ValidateResponse(t.Context(), in); err != nil {
				t.Fatalf("response %d does not match the document: %v", rec.Code, err)
			}
		})
	}
}
