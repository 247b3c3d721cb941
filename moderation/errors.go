package moderation

import (
	"fmt"

	"github.com/parley-comments/parley/fault"
)

// The refusals of moderation's actions; the API answers each with its code.
var (
	// ErrBanned refuses a post, edit, vote or flag by a user under an active ban (403 "banned").
	ErrBanned = fault.New(fault.Banned, "your account is banned from commenting")
	// ErrLocked refuses a post to an article whose comments are closed (403 "locked").
	ErrLocked = fault.New(fault.Locked, "comments on this article are closed")
	// ErrDuplicate refuses a comment its author already posted within the duplicate window (409 "duplicate").
	ErrDuplicate = fault.New(fault.Duplicate, "you already posted this comment")
	// ErrForbidden refuses an action the caller may not take, such as editing another user's comment (403 "forbidden").
	ErrForbidden = fault.New(fault.Forbidden, "you may not do this")
	// ErrEditWindow refuses an author's edit once the edit window has passed (403 "edit_window_closed").
	ErrEditWindow = fault.New(fault.EditWindowClosed, "the edit window has closed")
	// ErrConflict reports a change that clashes with the current state, such as a second flag by the same user (409 "conflict").
	ErrConflict = fault.New(fault.Conflict, "the comment changed meanwhile; reload and try again")
	// ErrGuestsDisabled refuses a guest comment when guests may not post (401 "unauthorized").
	ErrGuestsDisabled = fault.New(fault.Unauthorized, "sign in to comment")
	// ErrBadParent refuses a reply to a comment that is not a visible comment of
	// the same article (422 "validation_failed").
	ErrBadParent = &fault.Error{Code: fault.Unprocessable, Message: "parent_id must be a visible comment of this article",
		Fields: map[string]string{"parent_id": "not a visible comment of this article"}}
)

// invalid is a validation error naming the bad fields (400 "validation_failed").
func invalid(message string, fields map[string]string) error {
	return fault.InvalidFields(message, fields)
}

// refusalf refuses with kind's code and a message of its own; errors.Is
// still matches kind.
func refusalf(kind *fault.Error, format string, args ...any) error {
	return fault.Refine(kind, fmt.Sprintf(format, args...))
}
