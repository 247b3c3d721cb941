package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/parley-comments/parley/auth"
	"github.com/parley-comments/parley/fault"
	"github.com/parley-comments/parley/models"
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

// statusOf is the one table from error codes to HTTP statuses. A code not in
// it is answered as a 500.
var statusOf = map[fault.Code]int{
	fault.Invalid:              http.StatusBadRequest,
	fault.Unprocessable:        http.StatusUnprocessableEntity,
	fault.Unauthorized:         http.StatusUnauthorized,
	fault.InvalidCredentials:   http.StatusUnauthorized,
	fault.InvalidToken:         http.StatusUnauthorized,
	fault.Forbidden:            http.StatusForbidden,
	fault.Banned:               http.StatusForbidden,
	fault.Locked:               http.StatusForbidden,
	fault.EditWindowClosed:     http.StatusForbidden,
	fault.AutoThreadsOff:       http.StatusForbidden,
	fault.OriginNotAllowed:     http.StatusForbidden,
	fault.NotFound:             http.StatusNotFound,
	fault.MethodNotAllowed:     http.StatusMethodNotAllowed,
	fault.Conflict:             http.StatusConflict,
	fault.Duplicate:            http.StatusConflict,
	fault.TooLarge:             http.StatusRequestEntityTooLarge,
	fault.UnsupportedMediaType: http.StatusUnsupportedMediaType,
	fault.RateLimited:          http.StatusTooManyRequests,
	fault.Unavailable:          http.StatusServiceUnavailable,
	fault.StorageFull:          http.StatusInsufficientStorage,
	fault.FeatureDisabled:      http.StatusForbidden,
	fault.InvalidLink:          http.StatusBadRequest,
}

// codeOfStatus gives Echo's own errors (no route, bad method, missing body
// limit headroom) a code.
var codeOfStatus = map[int]*fault.Error{
	http.StatusNotFound:              fault.New(fault.NotFound, "not found"),
	http.StatusMethodNotAllowed:      fault.New(fault.MethodNotAllowed, "method not allowed"),
	http.StatusRequestEntityTooLarge: errTooLarge,
	http.StatusUnauthorized:          errUnauthorized,
	http.StatusForbidden:             errForbidden,
	http.StatusServiceUnavailable:    {Code: fault.Unavailable, Message: "the server is busy; try again shortly", RetryAfter: time.Second},
}

var (
	errUnauthorized = fault.New(fault.Unauthorized, "sign in to do this")
	errForbidden    = fault.New(fault.Forbidden, "you may not do this")
	errTooLarge     = fault.New(fault.TooLarge, "request body is larger than 64 KiB")
	errInternal     = fault.New(fault.Internal, "internal error")
	errBadRequest   = fault.New(fault.Invalid, "bad request")
)

// badRequest is a 400 for a check made in the HTTP layer.
func badRequest(message string, fields map[string]string) *fault.Error {
	return fault.InvalidFields(message, fields)
}

// toAPIError maps an error to its status, body and Retry-After seconds.
// Anything without a code is a 500 whose details go to the log only.
func toAPIError(err error) (int, apiError, int) {
	fe := asFault(err)
	status, ok := statusOf[fe.Code]
	if !ok {
		fe, status = errInternal, http.StatusInternalServerError
	}
	code := fe.Code
	if code == fault.Unprocessable {
		code = fault.Invalid // the contract: validation_failed is a 400 or a 422
	}
	return status, apiError{Code: string(code), Message: fe.Message, Fields: fe.Fields}, int((fe.RetryAfter + time.Second - 1) / time.Second)
}

// asFault finds the coded error in err's chain; Echo's errors get the code
// of their status.
func asFault(err error) *fault.Error {
	var fe *fault.Error
	if errors.As(err, &fe) {
		return fe
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return errTooLarge
	}
	var ee *echo.HTTPError
	if errors.As(err, &ee) {
		if fe, ok := codeOfStatus[ee.Code]; ok {
			return fe
		}
		if ee.Code >= 400 && ee.Code < 500 {
			return errBadRequest
		}
	}
	// A bounded wait that ran out (a shared page build) means overload,
	// not a broken request: the client should come back.
	if errors.Is(err, context.DeadlineExceeded) {
		return models.ErrBusy
	}
	// A database error a handler's read did not map (a PostgreSQL
	// statement timeout, say) still gets its code rather than a 500.
	if errors.As(models.MapError(err), &fe) {
		return fe
	}
	return errInternal
}

// handleError is Echo's error handler: the one place that writes errors.
func (h *handler) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	status, body, retryAfter := toAPIError(err)
	if status >= 500 {
		h.log.ErrorContext(c.Request().Context(), "request failed", "status", status, "err", err,
			"method", methodLabel(c.Request().Method), "route", c.Path())
	}
	switch {
	case status == http.StatusUnauthorized:
		c.Response().Header().Set(echo.HeaderWWWAuthenticate, bearerChallenge(c.Request()))
		if body.Code == "invalid_credentials" {
			h.securityEvent(c, eventLoginFailed)
		}
	case status == http.StatusTooManyRequests && !errors.As(err, new(*auth.ThrottledError)): // that one logs login_throttled
		h.securityEvent(c, eventRateLimited)
	}
	if retryAfter > 0 {
		c.Response().Header().Set("Retry-After", strconv.Itoa(retryAfter))
	}
	// HEAD too: net/http sends the headers (Content-Length included) and
	// drops the body, so HEAD answers as GET would.
	_ = c.JSON(status, errorBody{Error: body})
}
