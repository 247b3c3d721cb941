package identity

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-comments/parley/auth"
	"github.com/parley-comments/parley/models/dbtest"
)

// gitHub speaks the parts of GitHub's OAuth and REST API that Parley uses,
// as GitHub documents them: the authorize redirect, the code exchange
// (form-encoded, JSON answer on Accept: application/json), GET /user and
// GET /user/emails with the bearer token.
type gitHub struct {
	srv   *httptest.Server
	mu    sync.Mutex
	codes map[string]string // code → PKCE challenge
	user  map[string]any
	mails []map[string]any
}

func startGitHub(t *testing.T) *gitHub {
	g := &gitHub{codes: map[string]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login/oauth/authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("client_id") != "gh-client" || q.Get("code_challenge_method") != "S256" {
			http.Error(w, "bad request", 400)
			return
		}
		g.mu.Lock()
		code := "code-" + q.Get("state")[:8]
		g.codes[code] = q.Get("code_challenge")
		g.mu.Unlock()
		back, _ := url.Parse(q.Get("redirect_uri"))
		back.RawQuery = url.Values{"code": {code}, "state": {q.Get("state")}}.Encode()
		http.Redirect(w, r, back.String(), http.StatusFound)
	})
	mux.HandleFunc("POST /login/oauth/access_token", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		g.mu.Lock()
		challenge, ok := g.codes[r.Form.Get("code")]
		delete(g.codes, r.Form.Get("code"))
		g.mu.Unlock()
		sum := sha256.Sum256([]byte(r.Form.Get("code_verifier")))
		w.Header().Set("Content-Type", "application/json")
		if !ok || r.Form.Get("client_secret") != "gh-secret" || base64.RawURLEncoding.EncodeToString(sum[:]) != challenge {
			json.NewEncoder(w).Encode(map[string]string{"error": "bad_verification_code"})
			return
		}
		json.NewEncoder(w).Encode(map[string]string{"access_token": "gho_token", "token_type": "bearer", "scope": "read:user,user:email"})
	})
	authed := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer gho_token" {
				http.Error(w, `{"message":"Requires authentication"}`, 401)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			h(w, r)
		}
	}
	mux.HandleFunc("GET /user", authed(func(w http.ResponseWriter, r *http.Request) { json.NewEncoder(w).Encode(g.user) }))
	mux.HandleFunc("GET /user/emails", authed(func(w http.ResponseWriter, r *http.Request) { json.NewEncoder(w).Encode(g.mails) }))
	g.srv = httptest.NewServer(mux)
	t.Cleanup(g.srv.Close)
	return g
}

func TestGitHubSignIn(t *testing.T) {
	gh := startGitHub(t)
	gh.user = map[string]any{"id": 583231, "login": "octocat", "name": "The Octocat"}
	gh.mails = []map[string]any{
		{"email": "octo@old.example", "primary": false, "verified": true},
		{"email": "octocat@github.example", "primary": true, "verified": true},
	}
	store := dbtest.Open(t)
	tokens, _ := auth.NewTokens([]byte("identity-tests-secret-0123456789abcdef"), "parley", "parley-api", 15*time.Minute, time.Now)
	s := NewService(store, &auth.Accounts{Store: store, Hasher: auth.NewHasher(auth.TestParams), Tokens: tokens}, publicURL, false, false, time.Now)
	s.SetProviders([]ProviderConfig{{Name: GitHub, ClientID: "gh-client", ClientSecret: "gh-secret", GitHubWeb: gh.srv.URL, GitHubAPI: gh.srv.URL}}, nil)
	ctx := context.Background()

	signIn := func(t *testing.T, tamper func(url.Values)) (string, error) {
		st, err := s.StartLogin(ctx, "github", nil)
		if err != nil {
			t.Fatal(err)
		}
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		res, err := client.Get(st.AuthorizeURL)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		back, _ := url.Parse(res.Header.Get("Location"))
		if !strings.HasPrefix(back.String(), publicURL+"/auth/callback/github?") {
			t.Fatalf("GitHub sent the browser to %q", back)
		}
		q := back.Query()
		if tamper != nil {
			tamper(q)
		}
		return st.Secret, s.FinishLogin(ctx, "github", q.Get("state"), q.Get("code"), "")
	}

	secret, err := signIn(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	sess, err := s.CompleteLogin(ctx, secret)
	if err != nil {
		t.Fatal(err)
	}
	if u := sess.User; u.Username != "octocat" || u.DisplayName != "The Octocat" || u.Email == nil || *u.Email != "octocat@github.example" || u.EmailVerifiedAt == nil {
		t.Fatalf("account from GitHub: %+v", u)
	}
	ids, _ := s.Identities(ctx, sess.User)
	if len(ids) != 1 || ids[0].Subject != "583231" || ids[0].Provider != "github" {
		t.Fatalf("identities %+v", ids)
	}
	t.Run("again: the same account", func(t *testing.T) {
		secret, err := signIn(t, nil)
		if err != nil {
			t.Fatal(err)
		}
		if again, err := s.CompleteLogin(ctx, secret); err != nil || again.User.ID != sess.User.ID {
			t.Fatalf("%v %v", err, again)
		}
	})
	t.Run("a code GitHub does not know is refused", func(t *testing.T) {
		secret, err := signIn(t, func(q url.Values) { q.Set("code", "forged") })
		if err == nil {
			t.Fatal("accepted")
		}
		if _, err := s.CompleteLogin(ctx, secret); err == nil {
			t.Fatal("a session from a refused sign-in")
		}
	})
	t.Run("a wrong state is refused", func(t *testing.T) {
		if _, err := signIn(t, func(q url.Values) { q.Set("state", "forged") }); err == nil {
			t.Fatal("accepted")
		}
	})
}
