package notify

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// ErrBlockedAddress refuses a connection to an address outgoing requests must
// not reach: the server's own network, not the public Internet.
var ErrBlockedAddress = errors.New("address not allowed")

// blockedPrefixes are the ranges beyond the standard library's predicates:
// "this network", carrier-grade NAT, IETF protocol assignments, benchmarking,
// reserved, and IPv6 NAT64 and documentation ranges.
var blockedPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"),
	netip.MustParsePrefix("64:ff9b:1::/48"),
	netip.MustParsePrefix("2001:db8::/32"),
}

// Blocked reports whether ip is loopback, private, link-local (with the
// cloud metadata address 169.254.169.254), multicast, unspecified, or in
// one of the other non-public ranges.
func Blocked(ip netip.Addr) bool {
	ip = ip.Unmap()
	if !ip.IsValid() || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() {
		return true
	}
	for _, p := range blockedPrefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// guard is a net.Dialer Control hook: it sees the address actually being
// connected to, after DNS resolution, so a name that resolves (or is
// rebound) to an internal address is refused too.
func guard(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("%w: %s", ErrBlockedAddress, host)
	}
	if Blocked(ip) {
		return fmt.Errorf("%w: %s", ErrBlockedAddress, ip)
	}
	return nil
}

// newClient returns the HTTP client webhook deliveries use: no proxy (a
// proxy would connect for us, out of the guard's sight), no redirects, short
// timeouts. allowPrivate lifts the address guard for endpoints an admin
// allowed explicitly; resolver may be nil for the system's.
func newClient(allowPrivate bool, timeout time.Duration, resolver *net.Resolver) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second, Resolver: resolver}
	if !allowPrivate {
		d.Control = guard
	}
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:                 nil,
			DialContext:           d.DialContext,
			TLSHandshakeTimeout:   5 * time.Second,
			ResponseHeaderTimeout: timeout,
			MaxIdleConnsPerHost:   2,
			IdleConnTimeout:       30 * time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
