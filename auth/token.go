package auth

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/parley-comments/parley/fault"
	"github.com/parley-comments/parley/models"
)

// MaxTokenLength is the longest access token Parse looks at; longer tokens are refused before parsing.
const MaxTokenLength = 4096

// minSecretLen is the HS256 key size SECURITY.md asks for: as long as the hash output.
const minSecretLen = 32

// leeway absorbs clock skew between instances without keeping dead tokens alive for long.
const leeway = 30 * time.Second

var (
	// ErrInvalidToken is wrapped by every error Parse returns.
	ErrInvalidToken = fault.New(fault.Unauthorized, "the access token is invalid or expired")
	// ErrWeakSecret is returned by NewTokens for a signing secret shorter than 32 bytes.
	ErrWeakSecret = errors.New("auth: signing secret shorter than 32 bytes")
)

// roles are the values a token's role claim may take.
var roles = map[string]bool{models.RoleUser: true, models.RoleModerator: true, models.RoleAdmin: true}

// Claims are the access token's claims.
type Claims struct {
	jwt.RegisteredClaims        // sub = user id (decimal string), iss, aud, exp, iat, nbf (optional), jti (random, 128-bit, base64url)
	Role                 string `json:"role"`
	Version              int    `json:"ver"` // the user's token_version; bumped on logout-everywhere, password change, ban and role change
}

// UserID returns the numeric subject.
func (c *Claims) UserID() (uint, error) {
	// Canonical decimals only, so one user has exactly one subject string.
	id, err := strconv.ParseUint(c.Subject, 10, strconv.IntSize)
	if err != nil || id == 0 || strconv.FormatUint(id, 10) != c.Subject {
		return 0, fmt.Errorf("subject %q is not a user id", c.Subject)
	}
	return uint(id), nil
}

// UnmarshalJSON refuses time claims (exp, iat, nbf) that are not JSON
// numbers: the jwt library reads "exp": "1700000000" as a number, and a
// token is only what its strict form says.
func (c *Claims) UnmarshalJSON(b []byte) error {
	var times struct {
		Exp json.RawMessage `json:"exp"`
		Iat json.RawMessage `json:"iat"`
		Nbf json.RawMessage `json:"nbf"`
	}
	if err := json.Unmarshal(b, &times); err != nil {
		return err
	}
	for name, raw := range map[string]json.RawMessage{"exp": times.Exp, "iat": times.Iat, "nbf": times.Nbf} {
		if raw != nil && !jsonNumber(raw) {
			return fmt.Errorf("claim %s is not a number", name)
		}
	}
	type plain Claims // without this method, so Unmarshal does not recurse
	return json.Unmarshal(b, (*plain)(c))
}

// jsonNumber reports whether raw is a JSON number literal (not a string,
// null or any other value).
func jsonNumber(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && (raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9')
}

// Validate checks the claims Parley adds to the registered ones; jwt calls it after its own checks.
func (c *Claims) Validate() error {
	// jwt checks iat only when present; SECURITY.md requires it.
	if c.IssuedAt == nil {
		return errors.New("claim iat is missing")
	}
	if _, err := c.UserID(); err != nil {
		return err
	}
	if !roles[c.Role] {
		return fmt.Errorf("unknown role %q", c.Role)
	}
	return nil
}

// Tokens issues and parses HS256 access tokens.
type Tokens struct {
	secret   []byte
	issuer   string
	audience string
	ttl      time.Duration
	now      func() time.Time
	parser   *jwt.Parser
}

// NewTokens refuses a secret shorter than 32 bytes (return ErrWeakSecret).
//
// issuer and audience must be non-empty (jwt skips an empty expected issuer), ttl
// at least a second, and a nil now means time.Now.
func NewTokens(secret []byte, issuer, audience string, ttl time.Duration, now func() time.Time) (*Tokens, error) {
	if len(secret) < minSecretLen {
		return nil, ErrWeakSecret
	}
	if issuer == "" || audience == "" {
		return nil, errors.New("auth: token issuer and audience must be set")
	}
	if ttl < time.Second {
		return nil, fmt.Errorf("auth: token lifetime %v is under a second", ttl)
	}
	if now == nil {
		now = time.Now
	}
	return &Tokens{
		secret:   append([]byte(nil), secret...), // the caller may reuse its slice
		issuer:   issuer,
		audience: audience,
		ttl:      ttl,
		now:      now,
		parser: jwt.NewParser(
			jwt.WithValidMethods([]string{"HS256"}),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithIssuer(issuer),
			jwt.WithAudience(audience),
			jwt.WithLeeway(leeway),
			jwt.WithTimeFunc(now),
			jwt.WithStrictDecoding(),
		),
	}, nil
}

// Issue returns a signed access token and its lifetime in seconds.
func (t *Tokens) Issue(userID uint, role string, version int) (token string, expiresIn int, err error) {
	if userID == 0 {
		return "", 0, errors.New("auth: issue token: user id 0")
	}
	if !roles[role] {
		return "", 0, fmt.Errorf("auth: issue token: unknown role %q", role)
	}
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", 0, err
	}
	now := t.now()
	claims := Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   strconv.FormatUint(uint64(userID), 10),
			Issuer:    t.issuer,
			Audience:  jwt.ClaimStrings{t.audience},
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(t.ttl)),
			ID:        base64.RawURLEncoding.EncodeToString(jti),
		},
		Role:    role,
		Version: version,
	}
	token, err = jwt.NewWithClaims(jwt.SigningMethodHS256, &claims).SignedString(t.secret)
	if err != nil {
		return "", 0, fmt.Errorf("auth: sign token: %w", err)
	}
	return token, int(t.ttl / time.Second), nil
}

// Parse verifies a token strictly and returns its claims; every failure wraps ErrInvalidToken.
func (t *Tokens) Parse(raw string) (*Claims, error) {
	if len(raw) > MaxTokenLength {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrInvalidToken, MaxTokenLength)
	}
	if !compact(raw) {
		return nil, fmt.Errorf("%w: not in JWS compact form", ErrInvalidToken)
	}
	var claims Claims
	if _, err := t.parser.ParseWithClaims(raw, &claims, t.key); err != nil {
		// Both wrapped: callers match ErrInvalidToken, logs keep jwt's reason.
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	return &claims, nil
}

// compact reports whether raw holds only base64url characters and dots. Go's
// base64 decoder skips CR and LF, so without this a token with line breaks
// inside would still parse.
func compact(raw string) bool {
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_', c == '.':
		default:
			return false
		}
	}
	return true
}

// key hands out the secret only for HS256, even though the parser already
// refuses other methods: a later options change must not open key confusion.
func (t *Tokens) key(tok *jwt.Token) (any, error) {
	if m, ok := tok.Method.(*jwt.SigningMethodHMAC); !ok || m != jwt.SigningMethodHS256 {
		return nil, fmt.Errorf("unexpected signing method %v", tok.Header["alg"])
	}
	return t.secret, nil
}
