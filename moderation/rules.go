package moderation

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parley-comments/parley/fault"
)

// Limits on the rules document, so one PUT cannot make every post expensive.
const (
	maxBlockedWords    = 1000
	maxBlockedWordLen  = 100    // characters
	maxBodyCharsLimit  = 100000 // characters
	maxEditWindowLimit = 10080  // minutes: one week
)

// Rules are the auto-moderation settings editable at /moderation/rules, stored as one JSON document.
type Rules struct {
	MaxLinks               int      `json:"max_links"`                // more links in a comment → held "too_many_links"
	BlockedWords           []string `json:"blocked_words"`            // a whole-word match → held "blocked_word"
	FlagThreshold          int      `json:"flag_threshold"`           // distinct flaggers that hide an approved comment
	TrustedAfter           int      `json:"trusted_after"`            // approved comments that skip pre-moderation and the new-account hold
	MinAccountAgeMinutes   int      `json:"min_account_age_minutes"`  // younger accounts → held "new_account"
	HoldGuests             bool     `json:"hold_guests"`              // guest comments → held "guest"
	EditWindowMinutes      int      `json:"edit_window_minutes"`      // how long authors may edit; 0 = not at all
	MaxBodyChars           int      `json:"max_body_chars"`           // longest comment body, in characters
	DuplicateWindowSeconds int      `json:"duplicate_window_seconds"` // same body again within it → refused (own) or held (another author's)
	PostsPerMinute         int      `json:"posts_per_minute"`         // posting rate per user and per IP
	PostBurst              int      `json:"post_burst"`               // posts allowed at once before the rate applies
	PostsPerHour           int      `json:"posts_per_hour"`           // hourly posting cap per user and per IP
}

// DefaultRules returns the defaults of the API contract.
func DefaultRules() Rules {
	return Rules{
		MaxLinks:               2,
		BlockedWords:           []string{},
		FlagThreshold:          3,
		TrustedAfter:           3,
		MinAccountAgeMinutes:   0,
		HoldGuests:             true,
		EditWindowMinutes:      15,
		MaxBodyChars:           10000,
		DuplicateWindowSeconds: 300,
		PostsPerMinute:         6, // one per 10 s
		PostBurst:              3,
		PostsPerHour:           30,
	}
}

// ParseRules decodes a stored rules document over the defaults, so a field the document
// lacks (one added in a later version) takes its default, and validates the result.
func ParseRules(doc []byte) (Rules, error) {
	r := DefaultRules()
	if err := json.Unmarshal(doc, &r); err != nil {
		return Rules{}, fmt.Errorf("decode rules: %w", err)
	}
	if err := r.Validate(); err != nil {
		return Rules{}, err
	}
	return r, nil
}

// MarshalJSON encodes the rules with blocked_words as [] rather than null when there are none.
func (r Rules) MarshalJSON() ([]byte, error) {
	type plain Rules // drops the methods, so Marshal does not recurse
	if r.BlockedWords == nil {
		r.BlockedWords = []string{}
	}
	return json.Marshal(plain(r))
}

// Validate returns a validation *fault.Error naming every bad field, keyed by its JSON name.
// It also tidies BlockedWords in place: words are trimmed, repeats (compared after
// NormalizeForMatch, so "Bad" and "ＢＡＤ" are one word) dropped, and nil becomes empty.
func (r *Rules) Validate() error {
	fields := map[string]string{}
	check := func(name string, v, lo, hi int) {
		switch {
		case v < 0 && lo <= 0:
			fields[name] = "must not be negative"
		case v < lo || v > hi:
			if hi == math.MaxInt {
				fields[name] = fmt.Sprintf("must be at least %d", lo)
			} else {
				fields[name] = fmt.Sprintf("must be between %d and %d", lo, hi)
			}
		}
	}
	check("max_links", r.MaxLinks, 0, math.MaxInt)
	check("flag_threshold", r.FlagThreshold, 1, math.MaxInt)
	check("trusted_after", r.TrustedAfter, 0, math.MaxInt)
	check("min_account_age_minutes", r.MinAccountAgeMinutes, 0, math.MaxInt)
	check("edit_window_minutes", r.EditWindowMinutes, 0, maxEditWindowLimit)
	check("max_body_chars", r.MaxBodyChars, 1, maxBodyCharsLimit)
	check("duplicate_window_seconds", r.DuplicateWindowSeconds, 0, math.MaxInt)
	check("posts_per_minute", r.PostsPerMinute, 1, math.MaxInt)
	check("post_burst", r.PostBurst, 1, math.MaxInt)
	check("posts_per_hour", r.PostsPerHour, 1, math.MaxInt)

	words, problem := tidyWords(r.BlockedWords)
	r.BlockedWords = words
	if problem != "" {
		fields["blocked_words"] = problem
	}
	if len(fields) > 0 {
		return invalid("invalid rules: "+fault.DescribeFields(fields), fields)
	}
	return nil
}

// tidyWords trims and dedupes words, and describes the first problem found, naming the
// entry by its 1-based position in the list as sent.
func tidyWords(words []string) ([]string, string) {
	out := make([]string, 0, len(words))
	seen := make(map[string]bool, len(words))
	problem := ""
	for i, w := range words {
		w = strings.TrimSpace(w)
		key := NormalizeForMatch(w)
		switch {
		case key == "":
			if problem == "" {
				problem = fmt.Sprintf("entry %d is empty", i+1)
			}
			continue
		case utf8.RuneCountInString(w) > maxBlockedWordLen:
			if problem == "" {
				problem = fmt.Sprintf("entry %d is longer than %d characters", i+1, maxBlockedWordLen)
			}
		}
		if !seen[key] {
			seen[key] = true
			out = append(out, w)
		}
	}
	if problem == "" && len(out) > maxBlockedWords {
		problem = fmt.Sprintf("at most %d words", maxBlockedWords)
	}
	return out, problem
}

// EditWindow returns how long after posting an author may still edit.
func (r Rules) EditWindow() time.Duration { return minutes(r.EditWindowMinutes) }

// MinAccountAge returns the account age below which comments are held "new_account".
func (r Rules) MinAccountAge() time.Duration { return minutes(r.MinAccountAgeMinutes) }

// DuplicateWindow returns how far back the service looks for the same body.
func (r Rules) DuplicateWindow() time.Duration {
	return saturate(r.DuplicateWindowSeconds, time.Second)
}

// PostLimiter returns a limiter for posting built from the rules' rates.
func (r Rules) PostLimiter(now func() time.Time) *Limiter {
	return NewLimiter(float64(r.PostsPerMinute), r.PostBurst, r.PostsPerHour, now)
}

func minutes(n int) time.Duration { return saturate(n, time.Minute) }

// saturate multiplies without overflowing, so a huge setting means "forever" rather than a
// negative duration that would switch the rule off.
func saturate(n int, unit time.Duration) time.Duration {
	switch {
	case n <= 0:
		return 0
	case int64(n) > math.MaxInt64/int64(unit):
		return math.MaxInt64
	}
	return time.Duration(n) * unit
}
