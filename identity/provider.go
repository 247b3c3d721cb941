package identity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// ProviderConfig is one outside identity provider: an OpenID Connect
// issuer from PARLEY_OIDC_PROVIDERS, or GitHub (Name "github", OAuth 2).
type ProviderConfig struct {
	Name         string // lower-case, as in the redirect URI
	Issuer       string // OIDC only
	ClientID     string
	ClientSecret string
	// GitHub's endpoints; empty means github.com. Tests point them at a
	// server that speaks GitHub's API.
	GitHubWeb, GitHubAPI string
}

// GitHub is the name of the GitHub provider.
const GitHub = "github"

// External is who a provider says the reader is.
type External struct {
	Provider, Subject string
	Email             string
	EmailVerified     bool
	Name, Username    string
}

// provider holds a provider's OAuth configuration, discovered on first use
// (an unreachable provider must not keep Parley from starting).
type provider struct {
	cfg         ProviderConfig
	redirectURL string
	now         func() time.Time

	mu       sync.Mutex
	oauth    *oauth2.Config
	verifier *oidc.IDTokenVerifier
	op       *oidc.Provider
}

var errProviderDown = errors.New("the sign-in provider cannot be reached; try again later")

func (p *provider) setup(ctx context.Context) (*oauth2.Config, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.oauth != nil {
		return p.oauth, nil
	}
	c := &oauth2.Config{ClientID: p.cfg.ClientID, ClientSecret: p.cfg.ClientSecret, RedirectURL: p.redirectURL}
	if p.cfg.Name == GitHub {
		web := strings.TrimSuffix(cmpOr(p.cfg.GitHubWeb, "https://github.com"), "/")
		c.Endpoint = oauth2.Endpoint{AuthURL: web + "/login/oauth/authorize", TokenURL: web + "/login/oauth/access_token", AuthStyle: oauth2.AuthStyleInParams}
		c.Scopes = []string{"read:user", "user:email"}
		p.oauth = c
		return c, nil
	}
	// The key set fetches the provider's keys later with this context: it
	// must outlive the request that happened to discover the provider.
	op, err := oidc.NewProvider(context.WithoutCancel(ctx), p.cfg.Issuer) // checks the discovery document's issuer
	if err != nil {
		return nil, fmt.Errorf("%w: discover %s: %w", errProviderDown, p.cfg.Issuer, err)
	}
	c.Endpoint = op.Endpoint()
	c.Scopes = []string{oidc.ScopeOpenID, "profile", "email"}
	p.op = op
	p.verifier = op.Verifier(&oidc.Config{ClientID: p.cfg.ClientID, Now: func() time.Time { return p.now() }})
	p.oauth = c
	return c, nil
}

// identify trades the code for tokens and returns who the reader is. For
// OpenID Connect the ID token is verified (signature by the issuer's keys,
// issuer, audience, expiry) and must carry the flow's nonce.
func (p *provider) identify(ctx context.Context, code, verifier, nonce string) (*External, error) {
	c, err := p.setup(ctx)
	if err != nil {
		return nil, err
	}
	tok, err := c.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errRefused, err)
	}
	if p.cfg.Name == GitHub {
		return p.github(ctx, c, tok)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, fmt.Errorf("%w: no ID token", errRefused)
	}
	idt, err := p.verifier.Verify(ctx, raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errRefused, err)
	}
	if idt.Nonce != nonce {
		return nil, fmt.Errorf("%w: the ID token's nonce is not this sign-in's", errRefused)
	}
	var claims struct {
		Email         string `json:"email"`
		EmailVerified any    `json:"email_verified"` // some providers send "true"
		Name          string `json:"name"`
		Preferred     string `json:"preferred_username"`
		Azp           string `json:"azp"`
	}
	if err := idt.Claims(&claims); err != nil {
		return nil, fmt.Errorf("%w: %w", errRefused, err)
	}
	if len(idt.Audience) > 1 && claims.Azp != p.cfg.ClientID {
		return nil, fmt.Errorf("%w: the ID token was issued to another party (azp)", errRefused)
	}
	if claims.Email == "" {
		// Some providers keep the address out of the ID token: ask the
		// userinfo endpoint, whose answer must be about the same subject.
		info, err := p.op.UserInfo(ctx, oauth2.StaticTokenSource(tok))
		if err == nil && info.Subject == idt.Subject {
			claims.Email, claims.EmailVerified = info.Email, info.EmailVerified
			var extra struct {
				Name      string `json:"name"`
				Preferred string `json:"preferred_username"`
			}
			if info.Claims(&extra) == nil {
				claims.Name, claims.Preferred = cmpOr(claims.Name, extra.Name), cmpOr(claims.Preferred, extra.Preferred)
			}
		}
	}
	verified := claims.EmailVerified == true || claims.EmailVerified == "true"
	return &External{Provider: p.cfg.Name, Subject: idt.Subject, Email: claims.Email, EmailVerified: verified,
		Name: claims.Name, Username: claims.Preferred}, nil
}

// github reads the user and their primary verified address from GitHub's
// REST API (GET /user, GET /user/emails).
func (p *provider) github(ctx context.Context, c *oauth2.Config, tok *oauth2.Token) (*External, error) {
	client := c.Client(ctx, tok)
	api := strings.TrimSuffix(cmpOr(p.cfg.GitHubAPI, "https://api.github.com"), "/")
	var user struct {
		ID    int64  `json:"id"`
		Login string `json:"login"`
		Name  string `json:"name"`
	}
	if err := getJSON(ctx, client, api+"/user", &user); err != nil {
		return nil, err
	}
	if user.ID == 0 {
		return nil, fmt.Errorf("%w: GitHub sent no user id", errRefused)
	}
	var emails []struct {
		Email    string `json:"email"`
		Primary  bool   `json:"primary"`
		Verified bool   `json:"verified"`
	}
	if err := getJSON(ctx, client, api+"/user/emails", &emails); err != nil {
		return nil, err
	}
	ext := &External{Provider: GitHub, Subject: strconv.FormatInt(user.ID, 10), Name: user.Name, Username: user.Login}
	for _, e := range emails {
		if e.Primary {
			ext.Email, ext.EmailVerified = e.Email, e.Verified
		}
	}
	return ext, nil
}

func getJSON(ctx context.Context, client *http.Client, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	res, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %w", errProviderDown, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%w: GET %s: %s", errRefused, url, res.Status)
	}
	return json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(v)
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
