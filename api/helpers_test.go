package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/labstack/echo/v4"

	"github.com/parley-comments/parley/api"
	"github.com/parley-comments/parley/auth"
	"github.com/parley-comments/parley/models"
	"github.com/parley-comments/parley/models/dbtest"
	"github.com/parley-comments/parley/seeds"
)

func TestMain(m *testing.M) { os.Exit(dbtest.NoLeaks(dbtest.Main(m))) }

var testSecret = []byte("test-secret-test-secret-test-secret-0123")

const seedSlug = seeds.ArticleSlug

// clock is a settable time source shared by the server and the test.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

type testServer struct {
	e     *echo.Echo
	store *models.Store
	clock *clock
}

var testHasher = auth.NewHasher(auth.TestParams)

// newTestServer builds the real router on a fresh database with the seeds
// applied and rate limits off; opts adjust the config.
func newTestServer(t testing.TB, opts ...func(*api.Config)) *testServer {
	t.Helper()
	store := dbtest.Open(t)
	clk := &clock{now: time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)}
	if err := seeds.Apply(t.Context(), store, seeds.Options{AdminPassword: "admin-password", Hasher: testHasher, Now: clk.Now}); err != nil {
		t.Fatalf("seed: %v", err)
	}
	// Every server runs its change bus, as it does in production.
	cfg := api.Config{Store: store, JWTSecret: testSecret, Hasher: testHasher, Now: clk.Now,
		AllowedOrigins: []string{"https://blog.example"}, QuietRequests: true, Bus: runBus(t, store)}
	for _, o := range opts {
		o(&cfg)
	}
	return &testServer{e: api.NewServer(cfg), store: store, clock: clk}
}

// do sends a request through the whole router (middleware, error handler)
// and checks the response against the OpenAPI document.
func (s *testServer) do(t *testing.T, method, path, token string, body any) *httptest.ResponseRecorder {
	t.Helper()
	return s.doFrom(t, "", method, path, token, body)
}

// doFrom is do from a given client IP address ("" keeps httptest's default).
func (s *testServer) doFrom(t *testing.T, ip, method, path, token string, body any) *httptest.ResponseRecorder {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	case io.Reader: // of unknown length: sent chunked
		r = b
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(j)
	}
	req := httptest.NewRequest(method, path, r)
	if p, _, _ := strings.Cut(path, "?"); strings.HasSuffix(p, "/live") {
		// A live stream lasts as long as its client: this one leaves soon.
		ctx, cancel := context.WithTimeout(req.Context(), 100*time.Millisecond)
		defer cancel()
		req = req.WithContext(ctx)
	}
	if ip != "" {
		req.RemoteAddr = ip + ":40000"
	}
	if r != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	s.e.ServeHTTP(rec, req)
	checkOpenAPI(t, method, path, token, rec)
	return rec
}

// want fails the test unless rec has the status.
func want(t *testing.T, rec *httptest.ResponseRecorder, status int) {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status = %d, want %d; body %s", rec.Code, status, rec.Body)
	}
}

// decode parses rec's JSON body into a value of type T.
func decode[T any](t *testing.T, rec *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("decode %s: %v", rec.Body, err)
	}
	return v
}

type session struct {
	User struct {
		ID       uint   `json:"id"`
		Username string `json:"username"`
		Role     string `json:"role"`
		Email    string `json:"email"`
	} `json:"user"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	ExpiresIn    int    `json:"expires_in"`
}

// register creates a user and returns its session.
func (s *testServer) register(t *testing.T, username string) session {
	t.Helper()
	rec := s.do(t, "POST", "/api/v1/auth/register", "", map[string]string{"username": username, "password": "password-" + username})
	want(t, rec, http.StatusCreated)
	return decode[session](t, rec)
}

// login signs in and returns the session.
func (s *testServer) login(t *testing.T, login, password string) session {
	t.Helper()
	rec := s.do(t, "POST", "/api/v1/auth/login", "", map[string]string{"login": login, "password": password})
	want(t, rec, http.StatusOK)
	return decode[session](t, rec)
}

// userWithRole registers a user, gives it role, and returns a fresh token.
func (s *testServer) userWithRole(t *testing.T, username, role string) session {
	t.Helper()
	sess := s.register(t, username)
	if role == "user" {
		return sess
	}
	if err := s.store.Write.Model(&models.User{}).Where("id = ?", sess.User.ID).Update("role", role).Error; err != nil {
		t.Fatal(err)
	}
	return s.login(t, username, "password-"+username)
}

func (s *testServer) admin(t *testing.T) session {
	t.Helper()
	return s.login(t, "admin", "admin-password")
}

type commentJSON struct {
	ID          uint          `json:"id"`
	ArticleSlug string        `json:"article_slug"`
	ParentID    *uint         `json:"parent_id"`
	Author      *authorJSON   `json:"author"`
	BodyHTML    string        `json:"body_html"`
	Body        *string       `json:"body"`
	Status      string        `json:"status"`
	CreatedAt   time.Time     `json:"created_at"`
	EditedAt    *time.Time    `json:"edited_at"`
	Score       int           `json:"score"`
	MyVote      int           `json:"my_vote"`
	Deleted     bool          `json:"deleted"`
	Replies     []commentJSON `json:"replies"`
}

type authorJSON struct {
	ID          uint   `json:"id"`
	Username    string `json:"username"`
	DisplayName string `json:"display_name"`
	Role        string `json:"role"`
	GuestName   string `json:"guest_name"`
}

type threadJSON struct {
	Items      []commentJSON `json:"items"`
	NextCursor *string       `json:"next_cursor"`
	Total      int           `json:"total"`
	Locked     bool          `json:"comments_locked"`
}

// post creates a comment and returns it.
func (s *testServer) post(t *testing.T, token, slug, body string, parent *uint) commentJSON {
	t.Helper()
	req := map[string]any{"body": body}
	if parent != nil {
		req["parent_id"] = *parent
	}
	rec := s.do(t, "POST", "/api/v1/articles/"+slug+"/comments", token, req)
	want(t, rec, http.StatusCreated)
	return decode[struct {
		Comment commentJSON `json:"comment"`
	}](t, rec).Comment
}

func (s *testServer) thread(t *testing.T, token, query string) threadJSON {
	t.Helper()
	rec := s.do(t, "GET", "/api/v1/articles/"+seedSlug+"/comments"+query, token, nil)
	want(t, rec, http.StatusOK)
	return decode[threadJSON](t, rec)
}

type errorJSON struct {
	Error struct {
		Code    string            `json:"code"`
		Message string            `json:"message"`
		Fields  map[string]string `json:"fields"`
	} `json:"error"`
}

// wantError checks status and error code.
func wantError(t *testing.T, rec *httptest.ResponseRecorder, status int, code string) {
	t.Helper()
	want(t, rec, status)
	e := decode[errorJSON](t, rec)
	if e.Error.Code != code || e.Error.Message == "" {
		t.Fatalf("error = %+v, want code %q with a message", e.Error, code)
	}
}

var (
	openAPIOnce   sync.Once
	openAPIRouter routers.Router
	openAPIErr    error
)

// checkOpenAPI validates a response (status, headers, body) against the
// served OpenAPI document, so the document and the code cannot drift apart.
func checkOpenAPI(t *testing.T, method, path, token string, rec *httptest.ResponseRecorder) {
	t.Helper()
	if !strings.HasPrefix(path, "/api/v1/") {
		return
	}
	openAPIOnce.Do(func() {
		// A live stream's body is plain text lines.
		openapi3filter.RegisterBodyDecoder("text/event-stream", openapi3filter.PlainBodyDecoder)
		openapi3filter.RegisterBodyDecoder("application/atom+xml", openapi3filter.PlainBodyDecoder)
		doc, _, err := api.OpenAPI()
		if err != nil {
			openAPIErr = err
			return
		}
		doc.Servers = nil
		openAPIRouter, openAPIErr = legacy.NewRouter(doc)
	})
	if openAPIErr != nil {
		t.Fatalf("openapi: %v", openAPIErr)
	}
	// The document's server is /api/v1, so its paths start after that.
	req := httptest.NewRequest(method, "http://parley.test"+strings.TrimPrefix(path, "/api/v1"), nil)
	route, params, err := openAPIRouter.FindRoute(req)
	if err != nil {
		if rec.Code == http.StatusNotFound || rec.Code == http.StatusMethodNotAllowed {
			return // no such route: nothing to document
		}
		t.Fatalf("%s %s (%d) is not in the OpenAPI document: %v", method, path, rec.Code, err)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}},
		Status:  rec.Code,
		Header:  rec.Header(),
		Body:    io.NopCloser(bytes.NewReader(rec.Body.Bytes())),
		Options: &openapi3filter.Options{IncludeResponseStatus: true},
	}
	if err := openapi3filter.ValidateResponse(t.Context(), in); err != nil {
		t.Fatalf("%s %s: response %d does not match the OpenAPI document: %v\nbody: %s", method, path, rec.Code, err, truncate(rec.Body.String(), 600))
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + fmt.Sprintf("... (%d bytes)", len(s))
}

// doRaw sends a request with exact headers and body, bypassing the JSON
// helpers, for malformed-input tests.
func doRaw(t *testing.T, s *testServer, method, path string, headers map[string]string, body string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	s.e.ServeHTTP(rec, req)
	return rec
}

type apiConfig = api.Config

func decodeReader(r *http.Response, v any) error {
	return json.NewDecoder(r.Body).Decode(v)
}
