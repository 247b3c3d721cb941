// Package oidctest runs a real OpenID Provider on loopback for tests: the
// op package of github.com/zitadel/oidc with its in-memory example storage
// and login page, with users and clients of the test's choosing.
package oidctest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"golang.org/x/text/language"
)

// Password is every test user's password at the provider.
const Password = "provider-password"

// User is an account at the provider.
type User struct {
	Username      string
	Email         string
	EmailVerified bool
	First, Last   string
}

// Provider is the running provider.
type Provider struct {
	Issuer string

	mu    sync.Mutex
	users map[string]*storage.User
}

// Client is an OAuth client registered at the provider.
type Client struct {
	ID, Secret, RedirectURI string
}

// Start runs a provider with clients until the test ends.
func Start(t testing.TB, clients ...Client) *Provider {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Provider{Issuer: "http://" + l.Addr().String(), users: map[string]*storage.User{}}
	registered := map[string]*storage.Client{}
	for _, c := range clients {
		registered[c.ID] = storage.WebClient(c.ID, c.Secret, c.RedirectURI)
	}
	st := storage.NewStorageWithClients(p, registered)
	srv := &http.Server{Handler: exampleop.SetupServer(p.Issuer, st, nil, false)}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return p
}

// AddUser creates an account at the provider; its subject is returned.
func (p *Provider) AddUser(u User) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	id := fmt.Sprintf("sub-%d-%s", len(p.users)+1, u.Username)
	p.users[id] = &storage.User{ID: id, Username: u.Username, Password: Password, FirstName: u.First, LastName: u.Last,
		Email: u.Email, EmailVerified: u.EmailVerified, PreferredLanguage: language.English}
	return id
}

// GetUserByID is for the provider's storage.
func (p *Provider) GetUserByID(id string) *storage.User {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.users[id]
}

// GetUserByUsername is for the provider's storage.
func (p *Provider) GetUserByUsername(name string) *storage.User {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, u := range p.users {
		if u.Username == name {
			return u
		}
	}
	return nil
}

// ExampleClientID is for the provider's storage (no service users here).
func (p *Provider) ExampleClientID() string { return "service" }

// Login plays the browser: it opens authorizeURL, signs in as username on
// the provider's login page, and returns where the provider sends the
// browser back (the client's redirect URI with code and state), without
// following it.
func (p *Provider) Login(ctx context.Context, authorizeURL, username string) (*url.URL, error) {
	jar, _ := cookiejar.New(nil)
	issuer, _ := url.Parse(p.Issuer)
	client := &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if req.URL.Host != issuer.Host {
			return http.ErrUseLastResponse // back to the client: stop there
		}
		return nil
	}}
	res, err := get(ctx, client, authorizeURL)
	if err != nil {
		return nil, err
	}
	res.Body.Close()
	if loc := res.Header.Get("Location"); loc != "" { // refused straight away (bad client, bad redirect URI)
		return url.Parse(loc)
	}
	id := res.Request.URL.Query().Get("authRequestID")
	if id == "" {
		return nil, fmt.Errorf("no login page: ended at %s (%s)", res.Request.URL, res.Status)
	}
	form := url.Values{"username": {username}, "password": {Password}, "id": {id}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, p.Issuer+"/login/username", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err = client.Do(req)
	if err != nil {
		return nil, err
	}
	res.Body.Close()
	loc := res.Header.Get("Location")
	if loc == "" {
		return nil, errors.New("the provider did not send the browser back: " + res.Status)
	}
	return url.Parse(loc)
}

func get(ctx context.Context, c *http.Client, u string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	return c.Do(req)
}
