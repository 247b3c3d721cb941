package moderation

import (
	"encoding/json"
	"errors"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parley-comments/parley/fault"
)

func TestDefaultRulesAreValid(t *testing.T) {
	r := DefaultRules()
	if err := r.Validate(); err != nil {
		t.Fatalf("Validate = %v, want nil", err)
	}
	if !reflect.DeepEqual(r, DefaultRules()) {
		t.Errorf("Validate changed valid defaults: %+v", r)
	}
}

func TestRulesJSON(t *testing.T) {
	raw, err := json.Marshal(DefaultRules())
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"blocked_words", "duplicate_window_seconds", "edit_window_minutes", "flag_threshold",
		"hold_guests", "max_body_chars", "max_links", "min_account_age_minutes",
		"post_burst", "posts_per_hour", "posts_per_minute", "trusted_after",
	}
	if got := slices.Sorted(maps.Keys(doc)); !slices.Equal(got, want) {
		t.Errorf("keys = %v, want %v", got, want)
	}
	if !strings.Contains(string(raw), `"blocked_words":[]`) {
		t.Errorf("blocked_words not encoded as []: %s", raw)
	}
	var back Rules
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, DefaultRules()) {
		t.Errorf("round trip = %+v, want %+v", back, DefaultRules())
	}

	raw, err = json.Marshal(Rules{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), `"blocked_words":[]`) {
		t.Errorf("nil blocked_words not encoded as []: %s", raw)
	}
}

func TestRulesValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Rules)
		fields []string // the fields named, sorted
	}{
		{"negative max_links", func(r *Rules) { r.MaxLinks = -1 }, []string{"max_links"}},
		{"zero max_links is fine", func(r *Rules) { r.MaxLinks = 0 }, nil},
		{"negative flag_threshold", func(r *Rules) { r.FlagThreshold = -3 }, []string{"flag_threshold"}},
		{"zero flag_threshold", func(r *Rules) { r.FlagThreshold = 0 }, []string{"flag_threshold"}},
		{"negative trusted_after", func(r *Rules) { r.TrustedAfter = -1 }, []string{"trusted_after"}},
		{"zero trusted_after is fine", func(r *Rules) { r.TrustedAfter = 0 }, nil},
		{"negative min_account_age_minutes", func(r *Rules) { r.MinAccountAgeMinutes = -1 }, []string{"min_account_age_minutes"}},
		{"negative edit_window_minutes", func(r *Rules) { r.EditWindowMinutes = -1 }, []string{"edit_window_minutes"}},
		{"edit window of a week is fine", func(r *Rules) { r.EditWindowMinutes = 10080 }, nil},
		{"edit window over a week", func(r *Rules) { r.EditWindowMinutes = 10081 }, []string{"edit_window_minutes"}},
		{"zero max_body_chars", func(r *Rules) { r.MaxBodyChars = 0 }, []string{"max_body_chars"}},
		{"max_body_chars at the cap is fine", func(r *Rules) { r.MaxBodyChars = 100000 }, nil},
		{"max_body_chars over the cap", func(r *Rules) { r.MaxBodyChars = 100001 }, []string{"max_body_chars"}},
		{"negative duplicate_window_seconds", func(r *Rules) { r.DuplicateWindowSeconds = -1 }, []string{"duplicate_window_seconds"}},
		{"zero posts_per_minute", func(r *Rules) { r.PostsPerMinute = 0 }, []string{"posts_per_minute"}},
		{"zero post_burst", func(r *Rules) { r.PostBurst = 0 }, []string{"post_burst"}},
		{"zero posts_per_hour", func(r *Rules) { r.PostsPerHour = 0 }, []string{"posts_per_hour"}},
		{"empty blocked word", func(r *Rules) { r.BlockedWords = []string{"ok", "  "} }, []string{"blocked_words"}},
		{"invisible blocked word", func(r *Rules) { r.BlockedWords = []string{"\u200b\u00ad"} }, []string{"blocked_words"}},
		{"blocked word of 100 characters is fine", func(r *Rules) { r.BlockedWords = []string{strings.Repeat("é", 100)} }, nil},
		{"blocked word over 100 characters", func(r *Rules) { r.BlockedWords = []string{strings.Repeat("x", 101)} }, []string{"blocked_words"}},
		{"1000 blocked words are fine", func(r *Rules) { r.BlockedWords = numberedWords(1000) }, nil},
		{"1001 blocked words", func(r *Rules) { r.BlockedWords = numberedWords(1001) }, []string{"blocked_words"}},
		{"every bad field at once", func(r *Rules) {
			*r = Rules{MaxLinks: -1, FlagThreshold: -1, TrustedAfter: -1, MinAccountAgeMinutes: -1, EditWindowMinutes: -1,
				MaxBodyChars: -1, DuplicateWindowSeconds: -1, PostsPerMinute: -1, PostBurst: -1, PostsPerHour: -1,
				BlockedWords: []string{""}}
		}, []string{
			"blocked_words", "duplicate_window_seconds", "edit_window_minutes", "flag_threshold", "max_body_chars",
			"max_links", "min_account_age_minutes", "post_burst", "posts_per_hour", "posts_per_minute", "trusted_after",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := DefaultRules()
			tt.change(&r)
			err := r.Validate()
			if tt.fields == nil {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			var invalid *fault.Error
			if !errors.As(err, &invalid) {
				t.Fatalf("Validate = %v, want a *fault.Error", err)
			}
			if got := slices.Sorted(maps.Keys(invalid.Fields)); !slices.Equal(got, tt.fields) {
				t.Errorf("fields = %v, want %v", got, tt.fields)
			}
			for _, f := range tt.fields {
				if !strings.Contains(invalid.Error(), f) {
					t.Errorf("message %q does not name %s", invalid.Error(), f)
				}
			}
		})
	}
}

func TestRulesValidateTidiesBlockedWords(t *testing.T) {
	tests := []struct {
		name string
		in   []string
		want []string
	}{
		{"nil becomes empty", nil, []string{}},
		{"trimmed", []string{"  bad \n", "\tworse"}, []string{"bad", "worse"}},
		{"repeats dropped, first spelling kept", []string{"Bad", "bad", " BAD ", "ｂａｄ", "other"}, []string{"Bad", "other"}},
		{"phrases kept whole", []string{"buy now", "BUY  NOW"}, []string{"buy now"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := DefaultRules()
			r.BlockedWords = tt.in
			if err := r.Validate(); err != nil {
				t.Fatalf("Validate = %v", err)
			}
			if r.BlockedWords == nil || !slices.Equal(r.BlockedWords, tt.want) {
				t.Errorf("BlockedWords = %#v, want %#v", r.BlockedWords, tt.want)
			}
		})
	}
}

func TestParseRules(t *testing.T) {
	r, err := ParseRules([]byte(`{"max_links": 5, "blocked_words": ["x"]}`))
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultRules()
	want.MaxLinks = 5
	want.BlockedWords = []string{"x"}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("ParseRules = %+v, want %+v", r, want)
	}

	var invalid *fault.Error
	if _, err := ParseRules([]byte(`{"flag_threshold": 0}`)); !errors.As(err, &invalid) || invalid.Fields["flag_threshold"] == "" {
		t.Errorf("zero threshold: err = %v, want a validation error on flag_threshold", err)
	}
	if _, err := ParseRules([]byte(`{"max_links": "two"}`)); err == nil || errors.As(err, &invalid) {
		t.Errorf("wrong type: err = %v, want a decode error", err)
	}
}

func TestRulesDurations(t *testing.T) {
	r := DefaultRules()
	r.MinAccountAgeMinutes = 90
	if got, want := r.EditWindow(), 15*time.Minute; got != want {
		t.Errorf("EditWindow = %v, want %v", got, want)
	}
	if got, want := r.MinAccountAge(), 90*time.Minute; got != want {
		t.Errorf("MinAccountAge = %v, want %v", got, want)
	}
	if got, want := r.DuplicateWindow(), 5*time.Minute; got != want {
		t.Errorf("DuplicateWindow = %v, want %v", got, want)
	}
	r.DuplicateWindowSeconds = 1 << 62
	if got := r.DuplicateWindow(); got <= 0 {
		t.Errorf("huge DuplicateWindow = %v, want it to saturate, not wrap", got)
	}
}

func numberedWords(n int) []string {
	words := make([]string, n)
	for i := range words {
		words[i] = "word" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + strings.Repeat("y", i/26)
	}
	return words
}
