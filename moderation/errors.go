package moderation

import (
	"errors"
	"maps"
	"slices"
	"strings"
)

// The API layer maps each of these to one HTTP status and error code.
var (
	// ErrBanned refuses a post, edit, vote or flag by a user under an active ban (403 "banned").
	ErrBanned = errors.New("banned")
	// ErrLocked refuses a post to an article whose comments are closed (403 "locked").
	ErrLocked = errors.New("comments on this article are closed")
	// ErrDuplicate refuses a comment its author already posted within the duplicate window (409 "duplicate").
	ErrDuplicate = errors.New("you already posted this comment")
	// ErrForbidden refuses an action the caller may not take, such as editing another user's comment (403 "forbidden").
	ErrForbidden = errors.New("forbidden")
	// ErrEditWindow refuses an author's edit once the edit window has passed (403 "edit_window_closed").
	ErrEditWindow = errors.New("the edit window has closed")
	// ErrConflict reports a change that clashes with the current state, such as a second flag by the same user (409 "conflict").
	ErrConflict = errors.New("conflict")
)

// ValidationError carries a message and per-field problems; the API maps it to "validation_failed" with "fields".
type ValidationError struct {
	Message string
	Fields  map[string]string
}

// Error returns the message, or the field problems in a stable order when no message was set.
func (e *ValidationError) Error() string {
	if e.Message != "" {
		return e.Message
	}
	if len(e.Fields) == 0 {
		return "validation failed"
	}
	return "validation failed: " + describeFields(e.Fields)
}

// describeFields lists "field: problem" pairs sorted by field, so messages and logs do not
// change from run to run with map order.
func describeFields(fields map[string]string) string {
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
