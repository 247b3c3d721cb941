package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// caddyBinary returns Debian's caddy; without it the test skips, except in
// CI, where .ci/run installs it.
func caddyBinary(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("caddy")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("caddy is required in CI: %v", err)
		}
		t.Skipf("no caddy: %v", err)
	}
	return bin
}

// startCaddy runs deploy/Caddyfile (the example operators use) on a free
// loopback port in front of upstream and returns its URL.
func startCaddy(t *testing.T, upstream string) string {
	t.Helper()
	addr := freeAddr(t)
	dir := t.TempDir()
	cmd := exec.Command(caddyBinary(t), "run", "--config", "deploy/Caddyfile", "--adapter", "caddyfile")
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_DATA_HOME="+dir, "XDG_CONFIG_HOME="+dir, "CADDY_ADMIN=off",
		"PARLEY_SITE=http://"+addr, "PARLEY_UPSTREAM="+strings.TrimPrefix(upstream, "http://"))
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-exited }) // this PID only
	deadline := time.Now().Add(15 * time.Second)
	for {
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return "http://" + addr
		}
		select {
		case <-exited:
			t.Fatalf("caddy exited:\n%s", out)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("caddy not listening after 15 s:\n%s", out)
		}
	}
}

// clientFrom is an HTTP client whose connections come from local, another
// loopback address than the proxy's own, so the two can be told apart. It
// never decompresses: the test looks at the bytes that travel.
func clientFrom(local string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 5 * time.Second}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: d.DialContext, DisableCompression: true}}
}

// requestIPs returns the ip of every request line the server logged for route.
func requestIPs(t *testing.T, out string, route string) []string {
	t.Helper()
	var ips []string
	for _, line := range strings.Split(out, "\n") {
		var l struct{ Msg, Route, IP string }
		if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "request" && l.Route == route {
			ips = append(ips, l.IP)
		}
	}
	return ips
}

// TestBehindCaddy puts a real Caddy, configured by deploy/Caddyfile, in front
// of the real server: the reader's address is the one Caddy reports only
// when Caddy is a trusted proxy; compression, ETags, 304s and caching
// headers come through; the widget's files, its CORS preflight and posting
// work through the proxy.
func TestBehindCaddy(t *testing.T) {
	caddyBinary(t)
	reader := clientFrom("127.0.0.2")
	get := func(url string, headers map[string]string) (*http.Response, []byte) {
		t.Helper()
		req, err := http.NewRequestWithContext(context.Background(), "GET", url, nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		res, err := reader.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, b
	}

	for _, tc := range []struct {
		name    string
		trusted string
		wantIP  string
	}{
		{"trusted proxy", "PARLEY_TRUSTED_PROXIES=127.0.0.1/32", "127.0.0.2"},
		{"untrusted proxy", "PARLEY_TRUSTED_PROXIES=", "127.0.0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := startServer(t, t.TempDir(), tc.trusted, "PARLEY_REQUEST_LOG=on")
			proxy := startCaddy(t, srv.URL)
			// A reader cannot pick the address the log shows by sending a header.
			res, _ := get(proxy+"/api/v1/articles", map[string]string{"X-Forwarded-For": "198.51.100.66"})
			if res.StatusCode != 200 {
				t.Fatalf("through caddy: %d", res.StatusCode)
			}
			// The line is written as the handler returns, maybe after the answer arrived.
			var ips []string
			for deadline := time.Now().Add(5 * time.Second); len(ips) == 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
				ips = requestIPs(t, srv.Output.String(), "/api/v1/articles")
			}
			if len(ips) != 1 || ips[0] != tc.wantIP {
				t.Fatalf("the server saw the reader at %v, want %s", ips, tc.wantIP)
			}
		})
	}

	srv := startServer(t, t.TempDir(), "PARLEY_TRUSTED_PROXIES=127.0.0.1/32", "PARLEY_ALLOWED_ORIGINS=http://blog.test")
	proxy := startCaddy(t, srv.URL)
	api := &client{base: proxy + "/api/v1", http: reader}
	alice := api.register(t, "alice")
	for i := range 10 {
		if status, _, _, err := api.post(alice.Token, fmt.Sprintf("Comment %d, long enough to make the page worth compressing through the proxy.", i), 0); err != nil || status != 201 {
			t.Fatalf("post %d through caddy: %d %v", i, status, err)
		}
	}

	t.Run("compression and caching headers", func(t *testing.T) {
		url := proxy + "/api/v1/articles/" + seedSlug + "/comments"
		plain, plainBody := get(url, nil)
		br, brBody := get(url, map[string]string{"Accept-Encoding": "gzip, br"})
		if br.Header.Get("Content-Encoding") != "br" || len(brBody) >= len(plainBody)/2 {
			t.Fatalf("encoding %q, %d bytes for %d plain", br.Header.Get("Content-Encoding"), len(brBody), len(plainBody))
		}
		etag := br.Header.Get("ETag")
		if etag != strings.TrimSuffix(plain.Header.Get("ETag"), `"`)+`-br"` || br.Header.Get("Cache-Control") != "no-cache" ||
			!strings.Contains(strings.Join(br.Header.Values("Vary"), ","), "Accept-Encoding") {
			t.Fatalf("ETag %q (plain %q), Cache-Control %q, Vary %q", etag, plain.Header.Get("ETag"), br.Header.Get("Cache-Control"), br.Header.Values("Vary"))
		}
		again, _ := get(url, map[string]string{"Accept-Encoding": "gzip, br", "If-None-Match": etag})
		if again.StatusCode != http.StatusNotModified {
			t.Fatalf("If-None-Match through caddy: %d, want 304", again.StatusCode)
		}
		js, jsBody := get(proxy+"/widget.js", map[string]string{"Accept-Encoding": "gzip"})
		if js.StatusCode != 200 || js.Header.Get("Content-Encoding") != "gzip" && len(jsBody) >= minCompressBytes ||
			js.Header.Get("Cache-Control") != "public, max-age=300" {
			t.Fatalf("widget.js: %d, encoding %q, Cache-Control %q", js.StatusCode, js.Header.Get("Content-Encoding"), js.Header.Get("Cache-Control"))
		}
	})

	t.Run("the widget", func(t *testing.T) {
		embed, body := get(proxy+"/embed?article="+seedSlug+"&parent=http://blog.test", nil)
		if embed.StatusCode != 200 || !strings.Contains(embed.Header.Get("Content-Security-Policy"), "frame-ancestors 'self' http://blog.test") ||
			!bytes.Contains(body, []byte("<script")) {
			t.Fatalf("embed page: %d, CSP %q", embed.StatusCode, embed.Header.Get("Content-Security-Policy"))
		}
		req, _ := http.NewRequest("OPTIONS", proxy+"/api/v1/articles/"+seedSlug+"/comments", nil)
		req.Header.Set("Origin", "http://blog.test")
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "authorization, content-type")
		res, err := reader.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 204 || res.Header.Get("Access-Control-Allow-Origin") != "http://blog.test" {
			t.Fatalf("preflight through caddy: %d, allow-origin %q", res.StatusCode, res.Header.Get("Access-Control-Allow-Origin"))
		}
	})
}

// minCompressBytes is the size under which Parley sends a body as it is.
const minCompressBytes = 1024
