package api_test

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
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

func TestOpenAPICoversEveryRoute(t *testing.T) {
	doc, _, err := api.OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	s := newTestServer(t)
	checked := 0
	for _, r := range s.e.Routes() {
		if !strings.HasPrefix(r.Path, apiBase+"/") || strings.HasSuffix(r.Path, "/*") ||
			r.Method == echo.RouteNotFound || r.Method == "echo_route_any" {
			continue // Echo's own catch-alls answer 404 and 405, which need no entry
		}
		checked++
		path := openAPIPath(r.Path)
		item := doc.Paths.Value(path)
		if item == nil {
			t.Errorf("%s %s is registered but the document has no path %s", r.Method, r.Path, path)
			continue
		}
		if item.GetOperation(r.Method) == nil {
			t.Errorf("%s %s is registered but the document's %s has no %s operation", r.Method, r.Path, path, r.Method)
		}
	}
	if checked == 0 {
		t.Fatal("found no routes under " + apiBase)
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
