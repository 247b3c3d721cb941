package fault

import (
	"errors"
	"fmt"
	"testing"
)

func TestErrorMessage(t *testing.T) {
	tests := []struct {
		err  *Error
		want string
	}{
		{InvalidFields("body must not be empty", map[string]string{"body": "required"}), "body must not be empty"},
		{&Error{Code: Invalid, Fields: map[string]string{"b": "bad", "a": "worse"}}, "validation failed: a: worse; b: bad"},
		{&Error{Code: Conflict}, "conflict"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

func TestRefineKeepsKind(t *testing.T) {
	kind := New(Forbidden, "you may not do this")
	err := fmt.Errorf("vote on comment 3: %w", Refine(kind, "you cannot vote on your own comment"))
	if !errors.Is(err, kind) {
		t.Fatalf("errors.Is(%v, kind) = false, want true", err)
	}
	var fe *Error
	if !errors.As(err, &fe) || fe.Code != Forbidden || fe.Message != "you cannot vote on your own comment" {
		t.Fatalf("errors.As gave %+v, want the refinement's code and message", fe)
	}
}
