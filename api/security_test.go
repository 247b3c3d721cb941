package api_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-comments/parley/api"
)

// logSink collects a server's JSON log lines.
type logSink struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logSink) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// securityEvents returns the security group of every "security event" line.
func (l *logSink) securityEvents(t *testing.T) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.buf.String()), "\n") {
		var rec map[string]any
		if line == "" || json.Unmarshal([]byte(line), &rec) != nil || rec["msg"] != "security event" {
			continue
		}
		ev, _ := rec["security"].(map[string]any)
		out = append(out, ev)
	}
	return out
}

// newLoggedServer is newTestServer with its log captured.
func newLoggedServer(t *testing.T, opts ...func(*api.Config)) (*testServer, *logSink) {
	sink := &logSink{}
	opts = append(opts, func(c *api.Config) { c.Logger = slog.New(slog.NewJSONHandler(sink, nil)) })
	return newTestServer(t, opts...), sink
}

func TestRefreshReuseIsASecurityEvent(t *testing.T) {
	s, logs := newLoggedServer(t)
	first := s.register(t, "reuse")
	want(t, s.do(t, "POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": first.RefreshToken}), http.StatusOK)
	if ev := logs.securityEvents(t); len(ev) != 0 {
		t.Fatalf("events after a normal refresh: %v", ev)
	}
	s.clock.Advance(10 * time.Second)
	wantError(t, s.do(t, "POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": first.RefreshToken}), 401, "invalid_token")
	ev := logs.securityEvents(t)
	if len(ev) != 1 || ev[0]["event"] != "refresh_token_reuse" || ev[0]["user_id"] != float64(first.User.ID) || ev[0]["ip"] == "" {
		t.Fatalf("events = %v, want one refresh_token_reuse of user %d", ev, first.User.ID)
	}
	if strings.Contains(logs.buf.String(), first.RefreshToken) {
		t.Fatal("the log holds the refresh token")
	}
	metrics := doRaw(t, s, "GET", "/metrics", nil, "").Body.String()
	if !strings.Contains(metrics, `parley_security_events_total{event="refresh_token_reuse"} 1`) {
		t.Fatalf("metrics lack the event count:\n%s", metrics)
	}
}
