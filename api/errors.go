package api

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/parley-comments/parley/auth"
	"github.com/parley-comments/parley/models"
	"github.com/parley-comments/parley/moderation"
)

// apiError is the body of every error response: {"error": {...}}.
type apiError struct {
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields,omitempty"`
}

type errorBody struct {
	Error apiError `json:"error"`
}

// httpError is an error that already knows its status and code, for checks
// done in the HTTP layer (bad query parameters, missing token).
type httpError struct {
	status int
	apiError
	retryAfter int // seconds, for 429 and 503
}

func (e *httpError) Error() string { return e.Message }

func newError(status int, code, message string) *httpError {
	return &httpError{status: status, apiError: apiError{Code: code, Message: message}}
}

func badRequest(message string, fields map[string]string) *httpError {
	e := newError(http.StatusBadRequest, "validation_failed", message)
	e.Fields = fields
	return e
}

var (
	errUnauthorized = newError(http.StatusUnauthorized, "unauthorized", "sign in to do this")
	errForbidden    = newError(http.StatusForbidden, "forbidden", "you may not do this")
)

// toAPIError maps an error to its status and body. Anything unknown is a 500
// whose details go to the log only.
func toAPIError(err error) (int, apiError, int) {
	var he *httpError
	var invalid *moderation.ValidationError
	var ee *echo.HTTPError
	var throttled *auth.ThrottledError
	switch {
	case errors.As(err, &he):
		return he.status, he.apiError, he.retryAfter
	case errors.As(err, &invalid):
		return http.StatusBadRequest, apiError{Code: "validation_failed", Message: invalid.Error(), Fields: invalid.Fields}, 0
	case errors.Is(err, moderation.ErrBadParent):
		return http.StatusUnprocessableEntity, apiError{Code: "validation_failed", Message: err.Error(), Fields: map[string]string{"parent_id": "not a visible comment of this article"}}, 0
	case errors.Is(err, models.ErrNotFound):
		return http.StatusNotFound, apiError{Code: "not_found", Message: "not found"}, 0
	case errors.Is(err, models.ErrBadCursor):
		return http.StatusBadRequest, apiError{Code: "validation_failed", Message: "invalid cursor", Fields: map[string]string{"cursor": "invalid"}}, 0
	case errors.As(err, &throttled):
		return http.StatusTooManyRequests, apiError{Code: "rate_limited", Message: throttled.Error()}, int((throttled.Wait + time.Second - 1) / time.Second)
	case errors.Is(err, auth.ErrInvalidCredentials):
		return http.StatusUnauthorized, apiError{Code: "invalid_credentials", Message: "wrong username or password"}, 0
	case errors.Is(err, auth.ErrInvalidRefresh):
		return http.StatusUnauthorized, apiError{Code: "invalid_token", Message: "the refresh token is invalid or expired; sign in again"}, 0
	case errors.Is(err, auth.ErrInvalidToken):
		return http.StatusUnauthorized, apiError{Code: "unauthorized", Message: "the access token is invalid or expired"}, 0
	case errors.Is(err, auth.ErrTaken):
		return http.StatusConflict, apiError{Code: "conflict", Message: err.Error()}, 0
	case errors.Is(err, moderation.ErrBanned):
		return http.StatusForbidden, apiError{Code: "banned", Message: "your account is banned from commenting"}, 0
	case errors.Is(err, moderation.ErrLocked):
		return http.StatusForbidden, apiError{Code: "locked", Message: "comments on this article are closed"}, 0
	case errors.Is(err, moderation.ErrEditWindow):
		return http.StatusForbidden, apiError{Code: "edit_window_closed", Message: err.Error()}, 0
	case errors.Is(err, moderation.ErrForbidden):
		return http.StatusForbidden, apiError{Code: "forbidden", Message: err.Error()}, 0
	case errors.Is(err, moderation.ErrGuestsDisabled):
		return http.StatusUnauthorized, apiError{Code: "unauthorized", Message: err.Error()}, 0
	case errors.Is(err, moderation.ErrDuplicate):
		return http.StatusConflict, apiError{Code: "duplicate", Message: err.Error()}, 0
	case errors.Is(err, moderation.ErrConflict):
		return http.StatusConflict, apiError{Code: "conflict", Message: err.Error()}, 0
	case errors.Is(err, models.ErrBusy):
		return http.StatusServiceUnavailable, apiError{Code: "unavailable", Message: "the server is busy; try again shortly"}, 1
	case errors.Is(err, models.ErrFull):
		return http.StatusInsufficientStorage, apiError{Code: "storage_full", Message: "the server cannot store more data right now"}, 30
	case errors.As(err, &ee):
		return echoError(ee)
	}
	return http.StatusInternalServerError, apiError{Code: "internal", Message: "internal error"}, 0
}

func echoError(ee *echo.HTTPError) (int, apiError, int) {
	switch ee.Code {
	case http.StatusNotFound:
		return ee.Code, apiError{Code: "not_found", Message: "not found"}, 0
	case http.StatusMethodNotAllowed:
		return ee.Code, apiError{Code: "method_not_allowed", Message: "method not allowed"}, 0
	case http.StatusRequestEntityTooLarge:
		return ee.Code, apiError{Code: "payload_too_large", Message: "request body is larger than 64 KiB"}, 0
	case http.StatusUnauthorized:
		return ee.Code, apiError{Code: "unauthorized", Message: "sign in to do this"}, 0
	case http.StatusForbidden:
		return ee.Code, apiError{Code: "forbidden", Message: "you may not do this"}, 0
	case http.StatusServiceUnavailable:
		return ee.Code, apiError{Code: "unavailable", Message: "the server is busy; try again shortly"}, 1
	}
	if ee.Code >= 400 && ee.Code < 500 {
		return http.StatusBadRequest, apiError{Code: "validation_failed", Message: "bad request"}, 0
	}
	return http.StatusInternalServerError, apiError{Code: "internal", Message: "internal error"}, 0
}

// handleError is Echo's error handler: the one place that writes errors.
func (h *handler) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	status, body, retryAfter := toAPIError(err)
	if status >= 500 {
		h.log.Error("request failed", "status", status, "err", err, "method", c.Request().Method,
			"path", c.Path(), "request_id", c.Response().Header().Get(echo.HeaderXRequestID))
	}
	if retryAfter > 0 {
		c.Response().Header().Set("Retry-After", strconv.Itoa(retryAfter))
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(status)
		return
	}
	_ = c.JSON(status, errorBody{Error: body})
}
