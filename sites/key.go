// Package sites owns the blogs one Parley serves: a site's settings and
// origins, the thread keys of its pages (NormalizeKey) and the check that a
// request or a page belongs to a site. Rows live in models; the rules here
// are plain functions, table-tested, plus a few lookups on the store.
package sites

import (
	"fmt"
	"net"
	"net/url"
	"path"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/parley-comments/parley/fault"
	"golang.org/x/text/unicode/norm"
)

// MaxKeyBytes bounds a thread key after normalization (the articles.slug column).
const MaxKeyBytes = 512

// NormalizeKey turns what a page says about itself (data-article, its
// canonical URL or its location) into the key its thread is stored under, so
// that one page never splits into two threads. A key that is not an http(s)
// URL (a slug, an importer's identifier) is kept as written, trimmed and
// NFC-normalized. A URL key is normalized:
//   - scheme and host are lower-cased, a trailing dot on the host and the
//     default port (80 for http, 443 for https) are dropped, as is any user
//     information;
//   - the fragment is dropped, and so is the query string unless keepQuery;
//   - percent-encoding is made canonical: unreserved characters (letters,
//     digits, "-", ".", "_", "~") are decoded, other escapes use upper-case
//     hex, and characters a URL cannot carry raw (spaces, non-ASCII) are
//     encoded;
//   - "." and ".." segments and repeated slashes are resolved, then a
//     trailing "index.html" and a trailing slash are removed.
//
// "http" and "https" stay distinct keys: a site moving to https keeps its
// threads by listing both origins and using canonical links. Empty keys,
// control characters, invalid UTF-8, malformed URLs and keys over
// MaxKeyBytes are refused with a *fault.Error on "key".
func NormalizeKey(raw string, keepQuery bool) (string, error) {
	k := strings.TrimSpace(raw)
	switch {
	case k == "":
		return "", keyError("the thread key must not be empty", "required")
	case !utf8.ValidString(k) || strings.IndexFunc(k, unicode.IsControl) >= 0:
		return "", keyError("the thread key contains invalid UTF-8 or a control character", "invalid characters")
	}
	k = norm.NFC.String(k)
	if isHTTPURL(k) {
		var err error
		if k, err = normalizeURL(k, keepQuery); err != nil {
			return "", err
		}
	}
	if len(k) > MaxKeyBytes {
		return "", keyError(fmt.Sprintf("the thread key is longer than %d bytes", MaxKeyBytes), "too long")
	}
	return k, nil
}

func keyError(msg, field string) error {
	return &fault.Error{Code: fault.Invalid, Message: msg, Fields: map[string]string{"key": field}}
}

func isHTTPURL(s string) bool {
	lower := strings.ToLower(s[:min(len(s), 8)])
	return strings.HasPrefix(lower, "http://") || strings.HasPrefix(lower, "https://")
}

func normalizeURL(raw string, keepQuery bool) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return "", keyError("the thread key is not a valid URL", "not a valid URL")
	}
	origin, err := originOf(u)
	if err != nil {
		return "", keyError("the thread key is not a valid URL: "+err.Error(), "not a valid URL")
	}
	p := canonicalEscapes(u.EscapedPath(), pathSafe)
	if p != "" {
		p = path.Clean(p)
	}
	p = strings.TrimSuffix(p, "/index.html")
	p = strings.TrimSuffix(p, "/")
	if p == "." {
		p = ""
	}
	key := origin + p
	if q := canonicalEscapes(u.RawQuery, querySafe); keepQuery && q != "" {
		key += "?" + q
	}
	return key, nil
}

// originOf returns the lower-cased scheme://host[:port] of u, without a
// default port.
func originOf(u *url.URL) (string, error) {
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return "", fmt.Errorf("the scheme must be http or https")
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if host == "" {
		return "", fmt.Errorf("the host is missing")
	}
	if strings.ContainsAny(host, " %/\\") {
		return "", fmt.Errorf("the host is not valid")
	}
	port := u.Port()
	if port != "" {
		if strings.TrimLeft(port, "0123456789") != "" || len(port) > 5 {
			return "", fmt.Errorf("the port is not valid")
		}
	}
	if scheme == "http" && port == "80" || scheme == "https" && port == "443" {
		port = ""
	}
	switch {
	case port != "":
		host = net.JoinHostPort(host, port)
	case strings.Contains(host, ":"): // IPv6
		host = "[" + host + "]"
	}
	return scheme + "://" + host, nil
}

// unreserved reports RFC 3986's unreserved characters, which mean the same
// escaped or not.
func unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

// pathSafe and querySafe say which other ASCII characters stay raw in a path
// or query: RFC 3986's sub-delims, ":" and "@", plus "/" (and "?" in a query).
func pathSafe(c byte) bool  { return unreserved(c) || strings.IndexByte("!$&'()*+,;=:@/", c) >= 0 }
func querySafe(c byte) bool { return pathSafe(c) || c == '?' }

// canonicalEscapes decodes escaped unreserved characters, upper-cases the
// hex of the other escapes and escapes the bytes that safe refuses.
func canonicalEscapes(s string, safe func(byte) bool) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' && i+2 < len(s) && ishex(s[i+1]) && ishex(s[i+2]) {
			d := unhex(s[i+1])<<4 | unhex(s[i+2])
			i += 2
			if unreserved(d) {
				b.WriteByte(d)
			} else {
				b.WriteByte('%')
				b.WriteByte(hex[d>>4])
				b.WriteByte(hex[d&15])
			}
			continue
		}
		if safe(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

func ishex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}
