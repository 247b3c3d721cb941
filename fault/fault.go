// Package fault defines Parley's one error type: an error that carries the
// machine code a client is answered with. Every package returns these (or
// wraps them with context on the way up); the API turns a code into an HTTP
// status through one table, so no layer recognizes an error by its text.
//
// An error type of a package's own that stands for a code (one carrying
// details for the log) unwraps to its *Error with Unwrap, not Is: the API
// finds the code with errors.As, which follows Unwrap only.
package fault

import (
	"maps"
	"slices"
	"strings"
	"time"
)

// Code names what went wrong, as a client can act on it.
type Code string

// The codes. Their values are the codes the API sends, except Unprocessable,
// which the API sends as "validation_failed" with a 422.
const (
	Invalid              Code = "validation_failed"      // the request is malformed or a field is wrong
	Unprocessable        Code = "unprocessable"          // well-formed, but refers to something it may not (a hidden parent)
	Unauthorized         Code = "unauthorized"           // no valid credentials
	InvalidCredentials   Code = "invalid_credentials"    // wrong login or password
	InvalidToken         Code = "invalid_token"          // a spent or unknown refresh token
	Forbidden            Code = "forbidden"              // signed in, not allowed
	Banned               Code = "banned"                 // under an active ban
	Locked               Code = "locked"                 // the article's comments are closed
	EditWindowClosed     Code = "edit_window_closed"     // too late for an author's edit
	AutoThreadsOff       Code = "auto_threads_off"       // the site's threads are created by its admins only
	OriginNotAllowed     Code = "origin_not_allowed"     // a thread opened from outside the site's origins
	NotFound             Code = "not_found"              // no such thing, or not visible to the caller
	MethodNotAllowed     Code = "method_not_allowed"     // the route exists, the method does not
	Conflict             Code = "conflict"               // clashes with the current state
	Duplicate            Code = "duplicate"              // the same comment again
	TooLarge             Code = "payload_too_large"      // the request body is over the limit
	UnsupportedMediaType Code = "unsupported_media_type" // the request body is not JSON
	RateLimited          Code = "rate_limited"           // too many requests; retry later
	Unavailable          Code = "unavailable"            // the server is busy; retry soon
	StorageFull          Code = "storage_full"           // the disk is full
	FeatureDisabled      Code = "feature_disabled"       // the server is not set up for this (no mail server)
	InvalidLink          Code = "invalid_link"           // a one-time link that is unknown, spent or expired
	Internal             Code = "internal"               // anything else: logged, shown to nobody
)

// Error is an error with a code, a message for the client, and optionally
// per-field problems. Err, when set, is the error it refines: a refusal with
// its own message still matches its kind's sentinel under errors.Is.
type Error struct {
	Code    Code
	Message string
	Fields  map[string]string
	// RetryAfter tells the client when to try again (Unavailable, RateLimited).
	RetryAfter time.Duration
	Err        error
}

// New returns an error with code and message.
func New(code Code, message string) *Error {
	return &Error{Code: code, Message: message}
}

// InvalidFields returns an Invalid error with fields (field → problem).
func InvalidFields(message string, fields map[string]string) *Error {
	return &Error{Code: Invalid, Message: message, Fields: fields}
}

// Refine returns an error of kind's code with its own message, matching kind
// under errors.Is.
func Refine(kind *Error, message string) *Error {
	return &Error{Code: kind.Code, Message: message, Fields: kind.Fields, RetryAfter: kind.RetryAfter, Err: kind}
}

// Error returns the message, or the field problems in a stable order when no
// message was set.
func (e *Error) Error() string {
	if e.Message != "" {
		return e.Message
	}
	if len(e.Fields) == 0 {
		return strings.ReplaceAll(string(e.Code), "_", " ")
	}
	return "validation failed: " + DescribeFields(e.Fields)
}

// Unwrap returns the error this one refines.
func (e *Error) Unwrap() error { return e.Err }

// DescribeFields lists "field: problem" pairs sorted by field, so messages
// and logs do not change from run to run with map order.
func DescribeFields(fields map[string]string) string {
	var b strings.Builder
	for i, name := range slices.Sorted(maps.Keys(fields)) {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(name)
		b.WriteString(": ")
		b.WriteString(fields[name])
	}
	return b.String()
}
