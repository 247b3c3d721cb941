package main

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/parley-comments/parley/models/dbtest"
)

func TestLoadConfig(t *testing.T) {
	env := map[string]string{
		"PARLEY_ALLOWED_ORIGINS": "https://blog.example, https://other.example",
		"PARLEY_TRUSTED_PROXIES": "10.0.0.0/8",
		"PARLEY_RATE_LIMIT":      "off",
	}
	c, err := loadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":8080" || c.DataDir != "./data" || len(c.AllowedOrigins) != 2 || len(c.TrustedProxies) != 1 || c.RateLimit || c.AllowGuests {
		t.Fatalf("config = %+v", c)
	}
	for name, bad := range map[string]map[string]string{
		"short secret":        {"PARLEY_JWT_SECRET": "too-short"},
		"wildcard origin":     {"PARLEY_ALLOWED_ORIGINS": "*"},
		"origin with path":    {"PARLEY_ALLOWED_ORIGINS": "https://blog.example/"},
		"null origin":         {"PARLEY_ALLOWED_ORIGINS": "null"},
		"proxy not a CIDR":    {"PARLEY_TRUSTED_PROXIES": "10.0.0.1"},
		"smtp without from":   {"PARLEY_SMTP_URL": "smtp://mail.example:587"},
		"smtp not a url":      {"PARLEY_SMTP_URL": "mail.example:587", "PARLEY_MAIL_FROM": "a@blog.example"},
		"plain smtp scheme":   {"PARLEY_SMTP_URL": "http://mail.example", "PARLEY_MAIL_FROM": "a@blog.example"},
		"bad from":            {"PARLEY_SMTP_URL": "smtp://mail.example", "PARLEY_MAIL_FROM": "nobody"},
		"public url path":     {"PARLEY_PUBLIC_URL": "comments.example"},
		"public url query":    {"PARLEY_PUBLIC_URL": "https://comments.example/?a=b"},
		"oidc without issuer": {"PARLEY_OIDC_PROVIDERS": "gitlab", "PARLEY_OIDC_GITLAB_CLIENT_ID": "a", "PARLEY_OIDC_GITLAB_CLIENT_SECRET": "b"},
		"oidc without secret": {"PARLEY_OIDC_PROVIDERS": "gitlab", "PARLEY_OIDC_GITLAB_ISSUER": "https://gitlab.com", "PARLEY_OIDC_GITLAB_CLIENT_ID": "a"},
		"oidc bad name":       {"PARLEY_OIDC_PROVIDERS": "git lab"},
		"github half":         {"PARLEY_GITHUB_CLIENT_ID": "a"},
	} {
		if _, err := loadConfig(func(k string) string { return bad[k] }); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestLoadConfig_MailAndPublicURL(t *testing.T) {
	c, err := loadConfig(func(string) string { return "" })
	if err != nil || c.SMTP != nil || c.PublicURL != "http://localhost:8080" {
		t.Fatalf("defaults: SMTP %v, public URL %q, err %v", c.SMTP, c.PublicURL, err)
	}
	env := map[string]string{"PARLEY_SMTP_URL": "smtps://u:p@mail.example", "PARLEY_MAIL_FROM": "Blog <c@blog.example>",
		"PARLEY_PUBLIC_URL": "https://comments.example/"}
	c, err = loadConfig(func(k string) string { return env[k] })
	if err != nil || c.SMTP == nil || c.PublicURL != "https://comments.example" {
		t.Fatalf("configured: SMTP %v, public URL %q, err %v", c.SMTP, c.PublicURL, err)
	}
}

func TestLoadConfig_Providers(t *testing.T) {
	env := map[string]string{"PARLEY_OIDC_PROVIDERS": "Keycloak, google",
		"PARLEY_OIDC_KEYCLOAK_ISSUER": "https://sso.example/realms/blog", "PARLEY_OIDC_KEYCLOAK_CLIENT_ID": "parley", "PARLEY_OIDC_KEYCLOAK_CLIENT_SECRET": "s1",
		"PARLEY_OIDC_GOOGLE_ISSUER": "https://accounts.google.com", "PARLEY_OIDC_GOOGLE_CLIENT_ID": "g", "PARLEY_OIDC_GOOGLE_CLIENT_SECRET": "s2",
		"PARLEY_GITHUB_CLIENT_ID": "gh", "PARLEY_GITHUB_CLIENT_SECRET": "s3"}
	c, err := loadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Providers) != 3 || c.Providers[0].Name != "keycloak" || c.Providers[0].Issuer != "https://sso.example/realms/blog" ||
		c.Providers[1].ClientSecret != "s2" || c.Providers[2].Name != "github" {
		t.Fatalf("providers = %+v", c.Providers)
	}
}

func TestGeneratedSecretKeptInDataDir(t *testing.T) {
	dir := t.TempDir()
	c := config{DataDir: dir}
	store := dbtest.Open(t)
	store.Dialect = "sqlite"
	first, err := jwtSecret(c, store)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := jwtSecret(c, store)
	if len(first) < 32 || string(first) != string(again) {
		t.Fatalf("secret not stable across starts: %q vs %q", first, again)
	}
	info, err := os.Stat(filepath.Join(dir, "jwt-secret"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("secret file mode = %v (err %v), want 0600", info.Mode().Perm(), err)
	}
}

// TestSharedSecretOnPostgres: API instances sharing one PostgreSQL sign with
// one secret even when they start at the same moment.
func TestSharedSecretOnPostgres(t *testing.T) {
	store := dbtest.OpenPostgres(t)
	secrets := make([]string, 8)
	var wg sync.WaitGroup
	for i := range secrets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := jwtSecret(config{DataDir: t.TempDir()}, store)
			if err != nil {
				t.Error(err)
			}
			secrets[i] = string(s)
		}()
	}
	wg.Wait()
	for _, s := range secrets {
		if len(s) < 32 || s != secrets[0] {
			t.Fatalf("instances got different secrets: %q", secrets)
		}
	}
}
