package main

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"gorm.io/gorm/clause"

	"github.com/parley-comments/parley/auth"
	"github.com/parley-comments/parley/identity"
	"github.com/parley-comments/parley/mail"
	"github.com/parley-comments/parley/models"
)

// config is the PARLEY_* environment, parsed.
type config struct {
	Addr           string
	DataDir        string
	DatabaseURL    string
	JWTSecret      []byte
	AdminPassword  string
	AllowGuests    bool
	AllowedOrigins []string
	RateLimit      bool
	TrustedProxies []*net.IPNet
	LogLevel       string
	RequestLog     bool   // a log line per request (PARLEY_REQUEST_LOG=off turns it off)
	MetricsAddr    string // where /metrics is served instead of PARLEY_ADDR
	// PublicURL is the server's public origin, for links in mail and
	// redirect URIs (no trailing slash).
	PublicURL string
	// SMTP sends mail; nil when PARLEY_SMTP_URL is unset, which turns the
	// features that need mail off.
	SMTP *mail.SMTP
	// Providers are the outside sign-in providers (OpenID Connect issuers
	// and GitHub).
	Providers []identity.ProviderConfig
}

// loadConfig reads the configuration through getenv so tests can feed it.
func loadConfig(getenv func(string) string) (config, error) {
	c := config{
		Addr:          or(getenv("PARLEY_ADDR"), ":8080"),
		DataDir:       or(getenv("PARLEY_DATA_DIR"), "./data"),
		DatabaseURL:   getenv("PARLEY_DATABASE_URL"),
		AdminPassword: getenv("PARLEY_ADMIN_PASSWORD"),
		AllowGuests:   getenv("PARLEY_ALLOW_GUESTS") == "true",
		RateLimit:     getenv("PARLEY_RATE_LIMIT") != "off",
		LogLevel:      or(getenv("PARLEY_LOG_LEVEL"), "info"),
		RequestLog:    getenv("PARLEY_REQUEST_LOG") != "off",
		MetricsAddr:   getenv("PARLEY_METRICS_ADDR"),
	}
	if s := getenv("PARLEY_JWT_SECRET"); s != "" {
		if len(s) < 32 {
			return c, fmt.Errorf("PARLEY_JWT_SECRET must be at least 32 bytes")
		}
		c.JWTSecret = []byte(s)
	}
	for _, o := range splitList(getenv("PARLEY_ALLOWED_ORIGINS")) {
		if o == "*" || o == "null" || !strings.HasPrefix(o, "http://") && !strings.HasPrefix(o, "https://") || strings.HasSuffix(o, "/") {
			return c, fmt.Errorf("PARLEY_ALLOWED_ORIGINS: %q is not an origin like https://blog.example.com", o)
		}
		c.AllowedOrigins = append(c.AllowedOrigins, o)
	}
	var err error
	if c.PublicURL, err = publicURL(getenv("PARLEY_PUBLIC_URL"), c.Addr); err != nil {
		return c, err
	}
	if u := getenv("PARLEY_SMTP_URL"); u != "" {
		from := getenv("PARLEY_MAIL_FROM")
		if from == "" {
			return c, fmt.Errorf("PARLEY_MAIL_FROM is required with PARLEY_SMTP_URL (an address of yours, like \"Blog comments <comments@blog.example>\")")
		}
		if c.SMTP, err = mail.NewSMTP(u, from, nil); err != nil {
			return c, err
		}
	}
	if c.Providers, err = providers(getenv); err != nil {
		return c, err
	}
	for _, p := range splitList(getenv("PARLEY_TRUSTED_PROXIES")) {
		_, n, err := net.ParseCIDR(p)
		if err != nil {
			return c, fmt.Errorf("PARLEY_TRUSTED_PROXIES: %q is not a CIDR", p)
		}
		c.TrustedProxies = append(c.TrustedProxies, n)
	}
	return c, nil
}

// providers reads PARLEY_OIDC_PROVIDERS (names; then PARLEY_OIDC_<NAME>_ISSUER,
// _CLIENT_ID, _CLIENT_SECRET for each) and PARLEY_GITHUB_CLIENT_ID/_SECRET.
func providers(getenv func(string) string) ([]identity.ProviderConfig, error) {
	var out []identity.ProviderConfig
	seen := map[string]bool{}
	for _, name := range splitList(getenv("PARLEY_OIDC_PROVIDERS")) {
		key := strings.ToUpper(name)
		lower := strings.ToLower(name)
		if !providerName.MatchString(lower) || lower == identity.GitHub || seen[lower] {
			return nil, fmt.Errorf("PARLEY_OIDC_PROVIDERS: %q is not a usable name (letters, digits, '-'; not github; once each)", name)
		}
		seen[lower] = true
		p := identity.ProviderConfig{Name: lower, Issuer: getenv("PARLEY_OIDC_" + key + "_ISSUER"),
			ClientID: getenv("PARLEY_OIDC_" + key + "_CLIENT_ID"), ClientSecret: getenv("PARLEY_OIDC_" + key + "_CLIENT_SECRET")}
		if u, err := url.Parse(p.Issuer); err != nil || u.Scheme != "https" && u.Scheme != "http" || u.Host == "" {
			return nil, fmt.Errorf("PARLEY_OIDC_%s_ISSUER: %q is not an issuer URL like https://accounts.google.com", key, p.Issuer)
		}
		if p.ClientID == "" || p.ClientSecret == "" {
			return nil, fmt.Errorf("PARLEY_OIDC_%s_CLIENT_ID and _CLIENT_SECRET are required", key)
		}
		out = append(out, p)
	}
	id, secret := getenv("PARLEY_GITHUB_CLIENT_ID"), getenv("PARLEY_GITHUB_CLIENT_SECRET")
	switch {
	case id != "" && secret != "":
		out = append(out, identity.ProviderConfig{Name: identity.GitHub, ClientID: id, ClientSecret: secret})
	case id != "" || secret != "":
		return nil, fmt.Errorf("PARLEY_GITHUB_CLIENT_ID and PARLEY_GITHUB_CLIENT_SECRET go together")
	}
	return out, nil
}

var providerName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,31}$`)

// publicURL checks PARLEY_PUBLIC_URL, an origin such as
// https://comments.example.com, optionally with a path prefix. Unset, it is
// this machine at the listening port, which suits trying Parley out.
func publicURL(s, addr string) (string, error) {
	if s == "" {
		_, port, _ := net.SplitHostPort(addr)
		return "http://localhost:" + or(port, "8080"), nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("PARLEY_PUBLIC_URL: %q is not an origin like https://comments.example.com", s)
	}
	return strings.TrimSuffix(u.String(), "/"), nil
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// jwtSecret returns the configured secret, or the one generated on first
// start: kept (mode 0600) in the data directory on SQLite, and in the
// database on PostgreSQL, where every API instance must sign alike.
func jwtSecret(c config, store *models.Store) ([]byte, error) {
	if c.JWTSecret != nil {
		return c.JWTSecret, nil
	}
	if store.Dialect == "postgres" {
		return sharedSecret(store)
	}
	path := filepath.Join(c.DataDir, "jwt-secret")
	if b, err := os.ReadFile(path); err == nil {
		s := strings.TrimSpace(string(b))
		if len(s) < 32 {
			return nil, fmt.Errorf("%s holds a secret shorter than 32 bytes", path)
		}
		return []byte(s), nil
	} else if !os.IsNotExist(err) {
		return nil, err
	}
	s, err := auth.NewSecret()
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store generated secret: %w", err)
	}
	if _, err := f.WriteString(s + "\n"); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, err
	}
	return []byte(s), f.Close()
}

// sharedSecret reads the signing secret from the settings table, creating it
// if no instance has yet; instances racing at first start agree on one.
func sharedSecret(store *models.Store) ([]byte, error) {
	fresh, err := auth.NewSecret()
	if err != nil {
		return nil, err
	}
	row := models.Setting{Key: "jwt_secret", Value: fresh, UpdatedAt: time.Now().UTC()}
	if err := store.Write.Clauses(clause.OnConflict{DoNothing: true}).Create(&row).Error; err != nil {
		return nil, fmt.Errorf("store generated secret: %w", err)
	}
	var stored models.Setting
	if err := store.Write.Where("key = ?", "jwt_secret").Take(&stored).Error; err != nil {
		return nil, fmt.Errorf("read generated secret: %w", err)
	}
	return []byte(stored.Value), nil
}
