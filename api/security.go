package api

import (
	"log/slog"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
)

// Security events: what an operator should see when someone probes or
// abuses accounts. Each is logged at warning level with the client's
// address and counted in parley_security_events_total.
const (
	eventRefreshReuse     = "refresh_token_reuse" // a spent refresh token came back: its login was revoked
	eventPasswordGuessing = "password_guessing"   // a wrong password past the free failures: password login now held (user_id 0: an unknown login)
	eventLoginThrottled   = "login_throttled"     // a login refused unchecked while its account's delay runs
	eventLoginFailed      = "login_failed"        // a wrong username or password (which of the two is not said)
	eventRateLimited      = "rate_limited"        // a request refused with 429 by a rate limit
	eventBan              = "user_banned"         // a moderator banned a user
	eventUnban            = "user_unbanned"
	eventRoleChange       = "role_changed" // an admin changed a user's role
)

func newSecurityEvents() *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "parley_security_events_total",
		Help: "Security events logged, by kind (refresh_token_reuse, login_throttled, ...).",
	}, []string{"event"})
}

// securityEvent logs and counts one security event. attrs never carry a
// secret: ids and counts only.
func (h *handler) securityEvent(c echo.Context, event string, attrs ...any) {
	h.metrics.security.WithLabelValues(event).Inc()
	base := []any{"event", event, "ip", c.RealIP(), "route", c.Path()}
	h.log.LogAttrs(c.Request().Context(), slog.LevelWarn, "security event", slog.Group("security", append(base, attrs...)...))
}
