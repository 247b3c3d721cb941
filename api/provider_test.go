package api_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/parley-comments/parley/api"
	"github.com/parley-comments/parley/identity"
	"github.com/parley-comments/parley/identity/oidctest"
)

// withOIDC runs a real OpenID Provider on loopback and configures it as
// provider "corp".
func withOIDC(t *testing.T) (*oidctest.Provider, func(*api.Config)) {
	t.Helper()
	op := oidctest.Start(t, oidctest.Client{ID: "parley", Secret: "parley-secret", RedirectURI: publicURL + "/auth/callback/corp"})
	return op, func(c *api.Config) {
		c.PublicURL = publicURL
		c.Providers = []identity.ProviderConfig{{Name: "corp", Issuer: op.Issuer, ClientID: "parley", ClientSecret: "parley-secret"}}
	}
}

type flowJSON struct {
	AuthorizeURL string `json:"authorize_url"`
	FlowSecret   string `json:"flow_secret"`
}

// providerSignIn runs the popup's part through the router: start a flow,
// sign in at the provider as username, open the callback page. It returns
// the flow's secret and the callback page.
func (s *testServer) providerSignIn(t *testing.T, op *oidctest.Provider, token, username string) (string, string) {
	t.Helper()
	rec := s.do(t, "POST", "/api/v1/auth/providers/corp/flows", token, nil)
	want(t, rec, http.StatusCreated)
	f := decode[flowJSON](t, rec)
	back, err := op.Login(t.Context(), f.AuthorizeURL, username)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(back.String(), publicURL+"/auth/callback/corp?") {
		t.Fatalf("back to %s", back)
	}
	page := doRaw(t, s, "GET", back.Path+"?"+back.RawQuery, nil, "")
	if page.Code != 200 {
		t.Fatalf("callback page: %d", page.Code)
	}
	return f.FlowSecret, page.Body.String()
}

func TestProviderSignInThroughTheAPI(t *testing.T) {
	op, oidcOn := withOIDC(t)
	s := newTestServer(t, oidcOn)
	op.AddUser(oidctest.User{Username: "grace", Email: "grace@example.org", EmailVerified: true, First: "Grace", Last: "Hopper"})

	cfg := decode[struct {
		Providers []struct{ ID, Name string } `json:"providers"`
	}](t, s.do(t, "GET", "/api/v1/config", "", nil))
	if len(cfg.Providers) != 1 || cfg.Providers[0].ID != "corp" || cfg.Providers[0].Name != "Corp" {
		t.Fatalf("config providers %+v", cfg.Providers)
	}
	wantError(t, s.do(t, "POST", "/api/v1/auth/providers/nope/flows", "", nil), 404, "not_found")

	secret, page := s.providerSignIn(t, op, "", "grace")
	if !strings.Contains(page, `data-ok="true"`) || !strings.Contains(page, "/assets/account.js") {
		t.Fatalf("callback page: %s", page)
	}
	rec := s.do(t, "POST", "/api/v1/auth/providers/complete", "", map[string]string{"flow_secret": secret})
	want(t, rec, http.StatusOK)
	sess := decode[session](t, rec)
	if sess.User.Username != "grace" {
		t.Fatalf("signed in as %+v", sess.User)
	}
	wantError(t, s.do(t, "POST", "/api/v1/auth/providers/complete", "", map[string]string{"flow_secret": secret}), 400, "invalid_link")
	if me := s.me(t, sess.AccessToken); me.User.Email != "grace@example.org" || !*me.User.EmailVerified {
		t.Fatalf("me %+v", me)
	}
	ids := decode[struct {
		Items []struct {
			ID       uint   `json:"id"`
			Provider string `json:"provider"`
		} `json:"items"`
	}](t, s.do(t, "GET", "/api/v1/me/identities", sess.AccessToken, nil))
	if len(ids.Items) != 1 || ids.Items[0].Provider != "corp" {
		t.Fatalf("identities %+v", ids)
	}
	// Grace has no password, but a verified address and mail would do: here
	// mail is off, so the provider is her only way in.
	wantError(t, s.do(t, "DELETE", fmt.Sprintf("/api/v1/me/identities/%d", ids.Items[0].ID), sess.AccessToken, nil), 409, "conflict")

	t.Run("a forged callback signs nobody in", func(t *testing.T) {
		rec := s.do(t, "POST", "/api/v1/auth/providers/corp/flows", "", nil)
		f := decode[flowJSON](t, rec)
		page := doRaw(t, s, "GET", "/auth/callback/corp?state=forged&code=forged", nil, "").Body.String()
		if !strings.Contains(page, `data-ok="false"`) {
			t.Fatalf("forged callback page: %s", page)
		}
		wantError(t, s.do(t, "POST", "/api/v1/auth/providers/complete", "", map[string]string{"flow_secret": f.FlowSecret}), 409, "conflict")
	})
	t.Run("HEAD of a callback spends nothing", func(t *testing.T) {
		rec := s.do(t, "POST", "/api/v1/auth/providers/corp/flows", "", nil)
		f := decode[flowJSON](t, rec)
		back, err := op.Login(t.Context(), f.AuthorizeURL, "grace")
		if err != nil {
			t.Fatal(err)
		}
		doRaw(t, s, "HEAD", back.Path+"?"+back.RawQuery, nil, "")
		if page := doRaw(t, s, "GET", back.Path+"?"+back.RawQuery, nil, "").Body.String(); !strings.Contains(page, `data-ok="true"`) {
			t.Fatalf("after a HEAD: %s", page)
		}
		_ = url.Values{}
	})
}
