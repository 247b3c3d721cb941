package sites

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// NormalizeOrigin checks that raw is an origin, scheme://host[:port] with an
// http or https scheme and nothing after the host but an optional "/", and
// returns it in the form browsers send in the Origin header: lower case,
// without a default port.
func NormalizeOrigin(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	u, err := url.Parse(s)
	if err != nil || !isHTTPURL(s) || u.User != nil || u.Opaque != "" || u.RawQuery != "" || u.ForceQuery ||
		u.Fragment != "" || u.Path != "" && u.Path != "/" || strings.ContainsAny(s, "\t\r\n ;,'\"") {
		return "", fmt.Errorf("%q is not an origin like https://blog.example.com", raw)
	}
	o, err := originOf(u)
	if err != nil {
		return "", fmt.Errorf("%q is not an origin: %v", raw, err)
	}
	return o, nil
}

// PageOrigin returns the normalized origin of a page URL, or "" when it is
// not an absolute http(s) URL.
func PageOrigin(pageURL string) string {
	if !isHTTPURL(strings.TrimSpace(pageURL)) {
		return ""
	}
	u, err := url.Parse(strings.TrimSpace(pageURL))
	if err != nil || u.Host == "" {
		return ""
	}
	o, err := originOf(u)
	if err != nil {
		return ""
	}
	return o
}

// HasOrigin reports whether origin (as a browser sends it) is one of the
// site's origins.
func HasOrigin(origins []string, origin string) bool {
	if origin == "" {
		return false
	}
	if o, err := NormalizeOrigin(origin); err == nil {
		origin = o
	}
	return slices.Contains(origins, origin)
}
