package identity

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"

	"github.com/parley-comments/parley/auth"
	"github.com/parley-comments/parley/identity/oidctest"
	"github.com/parley-comments/parley/mail"
	"github.com/parley-comments/parley/mail/mailtest"
	"github.com/parley-comments/parley/models"
	"github.com/parley-comments/parley/models/dbtest"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

const publicURL = "https://comments.example"

// tokenRewriter sits between Parley and the provider's token endpoint and
// lets a test replace the ID token the provider sent: what a network
// attacker, or a provider bug, could do.
type tokenRewriter struct {
	mu      sync.Mutex
	rewrite func(idToken string) string
	last    string // the last ID token the provider sent
}

func (r *tokenRewriter) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil || !strings.HasSuffix(req.URL.Path, "/oauth/token") {
		return res, err
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var m map[string]any
	if json.Unmarshal(body, &m) == nil {
		if idt, ok := m["id_token"].(string); ok {
			r.mu.Lock()
			r.last = idt
			if r.rewrite != nil {
				m["id_token"] = r.rewrite(idt)
			}
			r.mu.Unlock()
			body, _ = json.Marshal(m)
		}
	}
	res.Body = io.NopCloser(bytes.NewReader(body))
	res.ContentLength = int64(len(body))
	res.Header.Del("Content-Length")
	return res, nil
}

func (r *tokenRewriter) set(f func(string) string) {
	r.mu.Lock()
	r.rewrite = f
	r.mu.Unlock()
}

type oidcWorld struct {
	s     *Service
	op    *oidctest.Provider
	rw    *tokenRewriter
	smtp  *mailtest.Server
	mw    *mail.Worker
	store *models.Store
}

func newOIDCWorld(t *testing.T) *oidcWorld {
	t.Helper()
	store := dbtest.Open(t)
	op := oidctest.Start(t, oidctest.Client{ID: "parley", Secret: "parley-secret", RedirectURI: publicURL + "/auth/callback/corp"},
		oidctest.Client{ID: "other-app", Secret: "other-secret", RedirectURI: "https://other.example/cb"})
	tokens, err := auth.NewTokens([]byte("identity-tests-secret-0123456789abcdef"), "parley", "parley-api", 15*time.Minute, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	accounts := &auth.Accounts{Store: store, Hasher: auth.NewHasher(auth.TestParams), Tokens: tokens}
	s := NewService(store, accounts, publicURL, true, false, time.Now)
	rw := &tokenRewriter{}
	s.SetProviders([]ProviderConfig{{Name: "corp", Issuer: op.Issuer, ClientID: "parley", ClientSecret: "parley-secret"}}, &http.Client{Transport: rw})
	smtp := mailtest.Start(t)
	sender, err := mail.NewSMTP(smtp.URL(), "c@blog.example", smtp.TLS)
	if err != nil {
		t.Fatal(err)
	}
	return &oidcWorld{s: s, op: op, rw: rw, smtp: smtp, mw: &mail.Worker{Store: store, SMTP: sender}, store: store}
}

// signIn runs a whole sign-in as username and returns the callback's error
// and the flow's secret.
func (w *oidcWorld) signIn(t *testing.T, username string, linkTo *models.User) (string, error) {
	t.Helper()
	ctx := context.Background()
	st, err := w.s.StartLogin(ctx, "corp", linkTo)
	if err != nil {
		t.Fatal(err)
	}
	back := w.login(t, st.AuthorizeURL, username)
	q := back.Query()
	return st.Secret, w.s.FinishLogin(ctx, "corp", q.Get("state"), q.Get("code"), q.Get("error"))
}

func (w *oidcWorld) login(t *testing.T, authorizeURL, username string) *url.URL {
	t.Helper()
	back, err := w.op.Login(context.Background(), authorizeURL, username)
	if err != nil {
		t.Fatal(err)
	}
	if got := back.Scheme + "://" + back.Host + back.Path; got != publicURL+"/auth/callback/corp" {
		t.Fatalf("provider sent the browser to %s", back)
	}
	return back
}

func TestOIDC_FullLoginAndReturn(t *testing.T) {
	w := newOIDCWorld(t)
	sub := w.op.AddUser(oidctest.User{Username: "ada", Email: "Ada@Example.org", EmailVerified: true, First: "Ada", Last: "Lovelace"})
	ctx := context.Background()

	st, err := w.s.StartLogin(ctx, "corp", nil)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(st.AuthorizeURL)
	q := u.Query()
	if q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) < 43 || len(q.Get("state")) < 22 ||
		len(q.Get("nonce")) < 22 || q.Get("redirect_uri") != publicURL+"/auth/callback/corp" || q.Get("client_id") != "parley" {
		t.Fatalf("authorize URL lacks PKCE, state, nonce or the exact redirect URI: %s", st.AuthorizeURL)
	}
	if _, err := w.s.CompleteLogin(ctx, st.Secret); !errors.Is(err, ErrFlowNotReady) {
		t.Fatalf("collecting before the callback: %v, want ErrFlowNotReady", err)
	}
	back := w.login(t, st.AuthorizeURL, "ada")
	if err := w.s.FinishLogin(ctx, "corp", back.Query().Get("state"), back.Query().Get("code"), ""); err != nil {
		t.Fatal(err)
	}
	session, err := w.s.CompleteLogin(ctx, st.Secret)
	if err != nil {
		t.Fatal(err)
	}
	u1 := session.User
	if u1.Username != "ada" || u1.DisplayName != "Ada Lovelace" || u1.Email == nil || *u1.Email != "ada@example.org" || u1.EmailVerifiedAt == nil || u1.PasswordHash != "" {
		t.Fatalf("new account %+v", u1)
	}
	if _, err := w.s.CompleteLogin(ctx, st.Secret); !errors.Is(err, ErrInvalidLink) {
		t.Fatalf("collecting twice: %v", err)
	}
	var link models.UserIdentity
	if err := w.store.Read.Take(&link).Error; err != nil || link.Subject != sub || link.UserID != u1.ID {
		t.Fatalf("identity %+v (%v)", link, err)
	}

	t.Run("the same identity signs in to the same account", func(t *testing.T) {
		secret, err := w.signIn(t, "ada", nil)
		if err != nil {
			t.Fatal(err)
		}
		s2, err := w.s.CompleteLogin(ctx, secret)
		if err != nil || s2.User.ID != u1.ID {
			t.Fatalf("second sign-in: %v, user %v", err, s2)
		}
	})
	t.Run("a taken username gets a free one", func(t *testing.T) {
		w.op.AddUser(oidctest.User{Username: "ADA", Email: "other-ada@example.org", EmailVerified: true})
		secret, err := w.signIn(t, "ADA", nil)
		if err != nil {
			t.Fatal(err)
		}
		s3, _ := w.s.CompleteLogin(ctx, secret)
		if s3.User.ID == u1.ID || !strings.HasPrefix(s3.User.Username, "ADA") || s3.User.Username == "ADA" {
			t.Fatalf("second ada: %+v", s3.User)
		}
	})
}

func TestOIDC_RefusesWhatItCannotVerify(t *testing.T) {
	w := newOIDCWorld(t)
	w.op.AddUser(oidctest.User{Username: "ben", Email: "ben@example.org", EmailVerified: true})
	ctx := context.Background()
	refused := func(t *testing.T, secret string, err error) {
		t.Helper()
		if err == nil {
			t.Fatal("the callback was accepted")
		}
		if _, err := w.s.CompleteLogin(ctx, secret); err == nil {
			t.Fatal("a refused sign-in still gave a session")
		}
		var n int64
		w.store.Read.Model(&models.User{}).Count(&n)
		if n != 0 {
			t.Fatalf("%d accounts created", n)
		}
	}

	t.Run("wrong state", func(t *testing.T) {
		st, _ := w.s.StartLogin(ctx, "corp", nil)
		back := w.login(t, st.AuthorizeURL, "ben")
		err := w.s.FinishLogin(ctx, "corp", "not-the-state", back.Query().Get("code"), "")
		refused(t, st.Secret, err)
		if _, err := w.s.CompleteLogin(ctx, st.Secret); !errors.Is(err, ErrFlowNotReady) {
			t.Fatalf("the flow moved on a wrong state: %v", err)
		}
	})
	t.Run("state of another provider", func(t *testing.T) {
		st, _ := w.s.StartLogin(ctx, "corp", nil)
		back := w.login(t, st.AuthorizeURL, "ben")
		refused(t, st.Secret, w.s.FinishLogin(ctx, "github", back.Query().Get("state"), back.Query().Get("code"), ""))
	})
	t.Run("replayed code and state", func(t *testing.T) {
		st, _ := w.s.StartLogin(ctx, "corp", nil)
		back := w.login(t, st.AuthorizeURL, "ben")
		q := back.Query()
		w.rw.set(func(string) string { return "garbage" }) // the first use fails, so no account exists
		refused(t, st.Secret, w.s.FinishLogin(ctx, "corp", q.Get("state"), q.Get("code"), ""))
		w.rw.set(nil)
		if err := w.s.FinishLogin(ctx, "corp", q.Get("state"), q.Get("code"), ""); err == nil {
			t.Fatal("a spent state was accepted again")
		}
		// The same code under a fresh state: the provider refuses a spent code.
		st2, _ := w.s.StartLogin(ctx, "corp", nil)
		u, _ := url.Parse(st2.AuthorizeURL)
		refused(t, st2.Secret, w.s.FinishLogin(ctx, "corp", u.Query().Get("state"), q.Get("code"), ""))
	})
	t.Run("ID token of another sign-in (wrong nonce)", func(t *testing.T) {
		st, _ := w.s.StartLogin(ctx, "corp", nil)
		first := w.login(t, st.AuthorizeURL, "ben")
		// Run the first exchange outside Parley to capture a valid token.
		oldToken := w.exchangeOutside(t, first.Query().Get("code"), st)
		st2, _ := w.s.StartLogin(ctx, "corp", nil)
		back := w.login(t, st2.AuthorizeURL, "ben")
		w.rw.set(func(string) string { return oldToken })
		defer w.rw.set(nil)
		err := w.s.FinishLogin(ctx, "corp", back.Query().Get("state"), back.Query().Get("code"), "")
		if err == nil || !strings.Contains(err.Error(), "nonce") {
			t.Fatalf("err = %v, want a nonce refusal", err)
		}
		refused(t, st2.Secret, err)
	})
	t.Run("expired ID token", func(t *testing.T) {
		w.s.providers["corp"].now = func() time.Time { return time.Now().Add(2 * time.Hour) }
		defer func() { w.s.providers["corp"].now = time.Now }()
		secret, err := w.signIn(t, "ben", nil)
		if err == nil || !strings.Contains(err.Error(), "expired") {
			t.Fatalf("err = %v, want expiry", err)
		}
		refused(t, secret, err)
	})
	t.Run("ID token signed by someone else", func(t *testing.T) {
		w.rw.set(resign(t))
		defer w.rw.set(nil)
		secret, err := w.signIn(t, "ben", nil)
		if err == nil || !strings.Contains(err.Error(), "signature") {
			t.Fatalf("err = %v, want a signature refusal", err)
		}
		refused(t, secret, err)
	})
	t.Run("ID token for another client (wrong audience)", func(t *testing.T) {
		other := &oauth2.Config{ClientID: "other-app", ClientSecret: "other-secret", RedirectURL: "https://other.example/cb",
			Endpoint: oauth2.Endpoint{AuthURL: w.op.Issuer + "/auth", TokenURL: w.op.Issuer + "/oauth/token"}, Scopes: []string{"openid", "email"}}
		back, err := w.op.Login(ctx, other.AuthCodeURL("s", oauth2.SetAuthURLParam("nonce", "n")), "ben")
		if err != nil {
			t.Fatal(err)
		}
		tok, err := other.Exchange(ctx, back.Query().Get("code"))
		if err != nil {
			t.Fatal(err)
		}
		foreign, _ := tok.Extra("id_token").(string)
		w.rw.set(func(string) string { return foreign })
		defer w.rw.set(nil)
		secret, err := w.signIn(t, "ben", nil)
		if err == nil || !strings.Contains(err.Error(), "audience") {
			t.Fatalf("err = %v, want an audience refusal", err)
		}
		refused(t, secret, err)
	})
	t.Run("the provider says no", func(t *testing.T) {
		st, _ := w.s.StartLogin(ctx, "corp", nil)
		u, _ := url.Parse(st.AuthorizeURL)
		refused(t, st.Secret, w.s.FinishLogin(ctx, "corp", u.Query().Get("state"), "", "access_denied"))
	})
	t.Run("unknown provider", func(t *testing.T) {
		if _, err := w.s.StartLogin(ctx, "nope", nil); !errors.Is(err, ErrUnknownProvider) {
			t.Fatalf("err = %v", err)
		}
	})
}

// exchangeOutside trades a code the way Parley would, but outside it, and
// returns the ID token: a valid token of another sign-in.
func (w *oidcWorld) exchangeOutside(t *testing.T, code string, st *Started) string {
	t.Helper()
	var f models.LoginFlow
	if err := w.store.Read.Where("secret_hash = ?", hashToken(st.Secret)).Take(&f).Error; err != nil {
		t.Fatal(err)
	}
	c := &oauth2.Config{ClientID: "parley", ClientSecret: "parley-secret", RedirectURL: publicURL + "/auth/callback/corp",
		Endpoint: oauth2.Endpoint{TokenURL: w.op.Issuer + "/oauth/token"}}
	tok, err := c.Exchange(context.Background(), code, oauth2.VerifierOption(f.Verifier))
	if err != nil {
		t.Fatal(err)
	}
	idt, _ := tok.Extra("id_token").(string)
	return idt
}

// resign returns a rewrite that keeps the token's header and claims but
// signs it with a key the provider never published.
func resign(t *testing.T) func(string) string {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return func(idt string) string {
		parsed, err := jose.ParseSigned(idt, []jose.SignatureAlgorithm{jose.RS256})
		if err != nil {
			t.Error(err)
			return idt
		}
		kid := parsed.Signatures[0].Header.KeyID
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: kid}}, nil)
		if err != nil {
			t.Error(err)
			return idt
		}
		obj, err := signer.Sign(parsed.UnsafePayloadWithoutVerification())
		if err != nil {
			t.Error(err)
			return idt
		}
		out, _ := obj.CompactSerialize()
		return out
	}
}

func (w *oidcWorld) passwordUser(t *testing.T, name, email string, verified bool) *models.User {
	t.Helper()
	now := time.Now().UTC()
	u := &models.User{Username: name, UsernameKey: name, Email: &email, PasswordHash: "x", Role: models.RoleUser, CreatedAt: now, UpdatedAt: now}
	if verified {
		u.EmailVerifiedAt = &now
	}
	if err := w.store.Write.Create(u).Error; err != nil {
		t.Fatal(err)
	}
	return u
}

func TestOIDC_LinkingRules(t *testing.T) {
	w := newOIDCWorld(t)
	ctx := context.Background()
	owner := w.passwordUser(t, "carol", "carol@example.org", true)

	t.Run("a verified address of an existing account links only after its owner confirms", func(t *testing.T) {
		w.op.AddUser(oidctest.User{Username: "carol-at-corp", Email: "carol@example.org", EmailVerified: true})
		secret, err := w.signIn(t, "carol-at-corp", nil)
		if !errors.Is(err, ErrLinkPending) {
			t.Fatalf("err = %v, want ErrLinkPending", err)
		}
		if s, err := w.s.CompleteLogin(ctx, secret); err == nil {
			t.Fatalf("signed in as %s before the owner confirmed", s.User.Username)
		}
		var n int64
		w.store.Read.Model(&models.UserIdentity{}).Count(&n)
		if n != 0 {
			t.Fatal("linked before confirmation")
		}
		if _, err := w.mw.SendDue(ctx); err != nil {
			t.Fatal(err)
		}
		got := w.smtp.Wait(t, 1, 5*time.Second)
		if got[0].To[0] != "carol@example.org" || !strings.Contains(got[0].Text, publicURL+"/account/link#token=") {
			t.Fatalf("confirmation mail: to %v, %s", got[0].To, got[0].Text)
		}
		token := got[0].Text[strings.Index(got[0].Text, "#token=")+7:]
		token = strings.Fields(token)[0]
		s, err := w.s.ConfirmLink(ctx, token)
		if err != nil || s.User.ID != owner.ID {
			t.Fatalf("confirm: %v %+v", err, s)
		}
		if _, err := w.s.ConfirmLink(ctx, token); !errors.Is(err, ErrInvalidLink) {
			t.Fatalf("second confirmation: %v", err)
		}
		secret, err = w.signIn(t, "carol-at-corp", nil)
		if err != nil {
			t.Fatal(err)
		}
		if s, err := w.s.CompleteLogin(ctx, secret); err != nil || s.User.ID != owner.ID {
			t.Fatalf("sign-in after linking: %v", err)
		}
	})
	t.Run("an unverified claim to an address gets its own account, without the address", func(t *testing.T) {
		w.passwordUser(t, "dave", "dave@example.org", true)
		w.op.AddUser(oidctest.User{Username: "mallory", Email: "dave@example.org", EmailVerified: false})
		secret, err := w.signIn(t, "mallory", nil)
		if err != nil {
			t.Fatal(err)
		}
		s, err := w.s.CompleteLogin(ctx, secret)
		if err != nil {
			t.Fatal(err)
		}
		if s.User.Username == "dave" || s.User.Email != nil {
			t.Fatalf("unverified claim got %+v", s.User)
		}
	})
	t.Run("a signed-in user links a provider to their account", func(t *testing.T) {
		erin := w.passwordUser(t, "erin", "erin@example.org", false)
		w.op.AddUser(oidctest.User{Username: "erin-work", Email: "erin@work.example", EmailVerified: true})
		if _, err := w.signIn(t, "erin-work", erin); err != nil {
			t.Fatal(err)
		}
		ids, _ := w.s.Identities(ctx, erin)
		if len(ids) != 1 || ids[0].Provider != "corp" {
			t.Fatalf("erin's identities: %+v", ids)
		}
		// Linked to erin, it cannot be linked to carol as well.
		if _, err := w.signIn(t, "erin-work", owner); !errors.Is(err, ErrIdentityTaken) {
			t.Fatalf("linking a taken identity: %v", err)
		}
		if err := w.s.Unlink(ctx, erin, ids[0].ID); err != nil { // erin has a password
			t.Fatal(err)
		}
		if ids, _ := w.s.Identities(ctx, erin); len(ids) != 0 {
			t.Fatal("still linked")
		}
	})
	t.Run("the only way in cannot be unlinked", func(t *testing.T) {
		w.op.AddUser(oidctest.User{Username: "frank", Email: "frank@example.org", EmailVerified: false})
		secret, _ := w.signIn(t, "frank", nil)
		s, err := w.s.CompleteLogin(ctx, secret)
		if err != nil {
			t.Fatal(err)
		}
		ids, _ := w.s.Identities(ctx, s.User)
		if err := w.s.Unlink(ctx, s.User, ids[0].ID); !errors.Is(err, ErrLastWayIn) {
			t.Fatalf("unlinking the last way in: %v", err)
		}
	})
}
