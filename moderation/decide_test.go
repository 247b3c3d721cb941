package moderation

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parley-comments/parley/models"
)

// regularAuthor is a signed-up user a year old with no approved comments yet.
func regularAuthor() Author {
	return Author{Role: models.RoleUser, AccountAge: 365 * 24 * time.Hour}
}

func TestDecide(t *testing.T) {
	words := []string{"spamword", "buy now"}
	tests := []struct {
		name       string
		rules      func(*Rules) // changes to DefaultRules plus words
		in         Input        // Author defaults to regularAuthor when its Role is empty and it is no guest
		wantStatus string
		wantHolds  []string
		wantShadow bool
		wantErr    error
	}{
		{name: "plain comment is approved", in: Input{Body: "Nice article."},
			wantStatus: models.StatusApproved, wantHolds: []string{}},

		// Each hold alone.
		{name: "links at the limit are fine", in: Input{Body: "see", Links: 2},
			wantStatus: models.StatusApproved, wantHolds: []string{}},
		{name: "one link too many is held", in: Input{Body: "see", Links: 3},
			wantStatus: models.StatusPending, wantHolds: []string{HoldTooManyLinks}},
		{name: "blocked word is held", in: Input{Body: "Get your SPAMWORD here"},
			wantStatus: models.StatusPending, wantHolds: []string{HoldBlockedWord}},
		{name: "blocked phrase is held", in: Input{Body: "BUY   now!"},
			wantStatus: models.StatusPending, wantHolds: []string{HoldBlockedWord}},
		{name: "blocked word inside a longer word is not held", in: Input{Body: "spamwordsmith"},
			wantStatus: models.StatusApproved, wantHolds: []string{}},
		{name: "account younger than the minimum is held",
			rules:      func(r *Rules) { r.MinAccountAgeMinutes = 60 },
			in:         Input{Body: "hi", Author: Author{Role: models.RoleUser, AccountAge: 59 * time.Minute}},
			wantStatus: models.StatusPending, wantHolds: []string{HoldNewAccount}},
		{name: "account exactly the minimum age is not held",
			rules:      func(r *Rules) { r.MinAccountAgeMinutes = 60 },
			in:         Input{Body: "hi", Author: Author{Role: models.RoleUser, AccountAge: 60 * time.Minute}},
			wantStatus: models.StatusApproved, wantHolds: []string{}},
		{name: "trusted young account is not held",
			rules:      func(r *Rules) { r.MinAccountAgeMinutes = 60 },
			in:         Input{Body: "hi", Author: Author{Role: models.RoleUser, AccountAge: time.Minute, ApprovedCount: 3}},
			wantStatus: models.StatusApproved, wantHolds: []string{}},
		{name: "guest is held", in: Input{Body: "hi", Author: Author{Guest: true}},
			wantStatus: models.StatusPending, wantHolds: []string{HoldGuest}},
		{name: "guest with approved comments but no confirmed address is held",
			in:         Input{Body: "hi", Author: Author{Guest: true, ApprovedCount: 9}},
			wantStatus: models.StatusPending, wantHolds: []string{HoldGuest}},
		{name: "confirmed guest short of trust is held",
			in:         Input{Body: "hi", Author: Author{Guest: true, VerifiedGuest: true, ApprovedCount: 2}},
			wantStatus: models.StatusPending, wantHolds: []string{HoldGuest}},
		{name: "confirmed guest with enough approved comments is trusted",
			in:         Input{Body: "hi", Article: Article{ModerationMode: ModePre}, Author: Author{Guest: true, VerifiedGuest: true, ApprovedCount: 3}},
			wantStatus: models.StatusApproved, wantHolds: []string{}},
		{name: "guest is not held when guest holds are off",
			rules:      func(r *Rules) { r.HoldGuests = false },
			in:         Input{Body: "hi", Author: Author{Guest: true}},
			wantStatus: models.StatusApproved, wantHolds: []string{}},
		{name: "guest from a banned user's address is held",
			rules:      func(r *Rules) { r.HoldGuests = false },
			in:         Input{Body: "hi", Author: Author{Guest: true, BannedAddress: true}},
			wantStatus: models.StatusPending, wantHolds: []string{HoldBannedAddress}},
		{name: "guest gets no new-account hold",
			rules:      func(r *Rules) { r.MinAccountAgeMinutes = 60; r.HoldGuests = false },
			in:         Input{Body: "hi", Author: Author{Guest: true}},
			wantStatus: models.StatusApproved, wantHolds: []string{}},
		{name: "same body by another author is held", in: Input{Body: "hi", DuplicateOther: true},
			wantStatus: models.StatusPending, wantHolds: []string{HoldDuplicate}},
		{name: "pre-moderation holds an untrusted user", in: Input{Body: "hi", Article: Article{ModerationMode: ModePre}},
			wantStatus: models.StatusPending, wantHolds: []string{HoldPreModeration}},
		{name: "pre-moderation holds a user one approval short of trust",
			in:         Input{Body: "hi", Article: Article{ModerationMode: ModePre}, Author: Author{Role: models.RoleUser, ApprovedCount: 2}},
			wantStatus: models.StatusPending, wantHolds: []string{HoldPreModeration}},
		{name: "pre-moderation skips a user who reached trust",
			in:         Input{Body: "hi", Article: Article{ModerationMode: ModePre}, Author: Author{Role: models.RoleUser, ApprovedCount: 3}},
			wantStatus: models.StatusApproved, wantHolds: []string{}},
		{name: "pre-moderation skips a moderator",
			in:         Input{Body: "hi", Article: Article{ModerationMode: ModePre}, Author: Author{Role: models.RoleModerator}},
			wantStatus: models.StatusApproved, wantHolds: []string{}},
		{name: "pre-moderation skips an admin",
			in:         Input{Body: "hi", Article: Article{ModerationMode: ModePre}, Author: Author{Role: models.RoleAdmin}},
			wantStatus: models.StatusApproved, wantHolds: []string{}},
		{name: "post-moderation does not hold", in: Input{Body: "hi", Article: Article{ModerationMode: ModePost}},
			wantStatus: models.StatusApproved, wantHolds: []string{}},
		{name: "trust after zero approvals lets a new user skip pre-moderation",
			rules:      func(r *Rules) { r.TrustedAfter = 0 },
			in:         Input{Body: "hi", Article: Article{ModerationMode: ModePre}},
			wantStatus: models.StatusApproved, wantHolds: []string{}},

		// Holds together, always in the same order.
		{name: "every user hold at once, in order",
			rules: func(r *Rules) { r.MinAccountAgeMinutes = 60 },
			in: Input{Body: "buy now", Links: 5, DuplicateOther: true, Article: Article{ModerationMode: ModePre},
				Author: Author{Role: models.RoleUser, AccountAge: time.Minute}},
			wantStatus: models.StatusPending,
			wantHolds:  []string{HoldTooManyLinks, HoldBlockedWord, HoldNewAccount, HoldDuplicate, HoldPreModeration}},
		{name: "guest holds at once, in order",
			in: Input{Body: "spamword", Links: 3, DuplicateOther: true, Article: Article{ModerationMode: ModePre},
				Author: Author{Guest: true}},
			wantStatus: models.StatusPending,
			wantHolds:  []string{HoldTooManyLinks, HoldBlockedWord, HoldGuest, HoldDuplicate, HoldPreModeration}},
		{name: "trusted user is still held for links and words",
			in:         Input{Body: "spamword", Links: 3, Article: Article{ModerationMode: ModePre}, Author: Author{Role: models.RoleUser, ApprovedCount: 10}},
			wantStatus: models.StatusPending, wantHolds: []string{HoldTooManyLinks, HoldBlockedWord}},
		{name: "moderator skips every hold",
			rules: func(r *Rules) { r.MinAccountAgeMinutes = 60 },
			in: Input{Body: "spamword", Links: 9, DuplicateOther: true, Article: Article{ModerationMode: ModePre},
				Author: Author{Role: models.RoleModerator}},
			wantStatus: models.StatusApproved, wantHolds: []string{}},

		// Refusals and their precedence.
		{name: "banned user is refused", in: Input{Body: "hi", Author: Author{Role: models.RoleUser, Banned: true}},
			wantErr: ErrBanned},
		{name: "ban comes before a locked article",
			in:      Input{Body: "hi", Author: Author{Role: models.RoleUser, Banned: true}, Article: Article{Locked: true}, DuplicateOwn: true},
			wantErr: ErrBanned},
		{name: "banned moderator is refused", in: Input{Body: "hi", Author: Author{Role: models.RoleModerator, Banned: true}},
			wantErr: ErrBanned},
		{name: "locked article refuses a user", in: Input{Body: "hi", Article: Article{Locked: true}},
			wantErr: ErrLocked},
		{name: "locked article refuses a guest", in: Input{Body: "hi", Author: Author{Guest: true}, Article: Article{Locked: true}},
			wantErr: ErrLocked},
		{name: "locked article refuses an edit", in: Input{Body: "hi", Edit: true, Article: Article{Locked: true}},
			wantErr: ErrLocked},
		{name: "locked comes before an own duplicate", in: Input{Body: "hi", DuplicateOwn: true, Article: Article{Locked: true}},
			wantErr: ErrLocked},
		{name: "locked article lets a moderator post",
			in:         Input{Body: "hi", Author: Author{Role: models.RoleModerator}, Article: Article{Locked: true}},
			wantStatus: models.StatusApproved, wantHolds: []string{}},
		{name: "locked article lets an admin post",
			in:         Input{Body: "hi", Author: Author{Role: models.RoleAdmin}, Article: Article{Locked: true}},
			wantStatus: models.StatusApproved, wantHolds: []string{}},
		{name: "own duplicate is refused on create", in: Input{Body: "hi", DuplicateOwn: true},
			wantErr: ErrDuplicate},
		{name: "own duplicate is refused for a moderator too", in: Input{Body: "hi", DuplicateOwn: true, Author: Author{Role: models.RoleModerator}},
			wantErr: ErrDuplicate},
		{name: "own duplicate is fine on edit", in: Input{Body: "hi", DuplicateOwn: true, Edit: true},
			wantStatus: models.StatusApproved, wantHolds: []string{}},
		{name: "edit is held by the same rules", in: Input{Body: "spamword", Edit: true},
			wantStatus: models.StatusPending, wantHolds: []string{HoldBlockedWord}},

		// Shadow bans.
		{name: "shadow-banned user is held as shadow",
			in:         Input{Body: "hi", Author: Author{Role: models.RoleUser, ApprovedCount: 50, ShadowBanned: true}},
			wantStatus: models.StatusPending, wantHolds: []string{HoldShadowBan}, wantShadow: true},
		{name: "shadow ban comes after the other holds",
			in:         Input{Body: "spamword", Links: 3, Author: Author{Role: models.RoleUser, ShadowBanned: true}},
			wantStatus: models.StatusPending, wantHolds: []string{HoldTooManyLinks, HoldBlockedWord, HoldShadowBan}, wantShadow: true},
		{name: "shadow ban never applies to a moderator",
			in:         Input{Body: "hi", Author: Author{Role: models.RoleModerator, ShadowBanned: true}},
			wantStatus: models.StatusApproved, wantHolds: []string{}},
		{name: "shadow-banned and banned is refused",
			in:      Input{Body: "hi", Author: Author{Role: models.RoleUser, Banned: true, ShadowBanned: true}},
			wantErr: ErrBanned},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := DefaultRules()
			r.BlockedWords = words
			if tt.rules != nil {
				tt.rules(&r)
			}
			in := tt.in
			if in.Author == (Author{}) {
				in.Author = regularAuthor()
			}
			v := Decide(r, in)
			if !errors.Is(v.Err, tt.wantErr) || (tt.wantErr == nil) != (v.Err == nil) {
				t.Fatalf("Err = %v, want %v", v.Err, tt.wantErr)
			}
			if v.Holds == nil {
				t.Fatalf("Holds = nil, want a non-nil slice")
			}
			if tt.wantErr != nil {
				return
			}
			if v.Status != tt.wantStatus || !slices.Equal(v.Holds, tt.wantHolds) || v.Shadow != tt.wantShadow {
				t.Errorf("got %s %v shadow=%v, want %s %v shadow=%v",
					v.Status, v.Holds, v.Shadow, tt.wantStatus, tt.wantHolds, tt.wantShadow)
			}
			// A cached matcher must decide the same, and so must a second call.
			in.Matcher = NewMatcher(r.BlockedWords)
			if again := Decide(r, in); !reflect.DeepEqual(again, v) {
				t.Errorf("with a Matcher: %+v, want %+v", again, v)
			}
		})
	}
}

func TestDecideHugeMinimumAgeStillHolds(t *testing.T) {
	// A setting too large for time.Duration must not wrap round and switch the rule off.
	r := DefaultRules()
	r.MinAccountAgeMinutes = 1 << 62
	v := Decide(r, Input{Body: "hi", Author: regularAuthor()})
	if !slices.Equal(v.Holds, []string{HoldNewAccount}) {
		t.Errorf("Holds = %v, want [%s]", v.Holds, HoldNewAccount)
	}
}

func TestTrusted(t *testing.T) {
	tests := []struct {
		name         string
		author       Author
		trustedAfter int
		want         bool
	}{
		{"moderator", Author{Role: models.RoleModerator}, 3, true},
		{"admin", Author{Role: models.RoleAdmin}, 3, true},
		{"user below the threshold", Author{Role: models.RoleUser, ApprovedCount: 2}, 3, false},
		{"user at the threshold", Author{Role: models.RoleUser, ApprovedCount: 3}, 3, true},
		{"user above the threshold", Author{Role: models.RoleUser, ApprovedCount: 4}, 3, true},
		{"new user with threshold zero", Author{Role: models.RoleUser}, 0, true},
		{"guest even with threshold zero", Author{Guest: true}, 0, false},
		{"guest claiming a staff role", Author{Guest: true, Role: models.RoleAdmin}, 3, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := DefaultRules()
			r.TrustedAfter = tt.trustedAfter
			if got := Trusted(r, tt.author); got != tt.want {
				t.Errorf("Trusted = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCanEdit(t *testing.T) {
	r := DefaultRules() // 15-minute window
	tests := []struct {
		name   string
		editor Author
		own    bool
		age    time.Duration
		want   error
	}{
		{"author inside the window", regularAuthor(), true, 14*time.Minute + 59*time.Second, nil},
		{"author as the window closes", regularAuthor(), true, 15 * time.Minute, ErrEditWindow},
		{"author long after", regularAuthor(), true, 48 * time.Hour, ErrEditWindow},
		{"someone else's comment", regularAuthor(), false, time.Minute, ErrForbidden},
		{"guest", Author{Guest: true}, true, time.Minute, ErrForbidden},
		{"moderator on anyone's old comment", Author{Role: models.RoleModerator}, false, 48 * time.Hour, nil},
		{"admin on anyone's old comment", Author{Role: models.RoleAdmin}, false, 48 * time.Hour, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := CanEdit(r, tt.editor, tt.own, tt.age); !errors.Is(err, tt.want) || (err == nil) != (tt.want == nil) {
				t.Errorf("CanEdit = %v, want %v", err, tt.want)
			}
		})
	}
	r.EditWindowMinutes = 0
	if err := CanEdit(r, regularAuthor(), true, 0); !errors.Is(err, ErrEditWindow) {
		t.Errorf("with a zero window: CanEdit = %v, want %v", err, ErrEditWindow)
	}
}

func TestShouldHide(t *testing.T) {
	r := DefaultRules() // threshold 3
	tests := []struct {
		status   string
		flaggers int
		want     bool
	}{
		{models.StatusApproved, 2, false},
		{models.StatusApproved, 3, true},
		{models.StatusApproved, 4, true},
		{models.StatusPending, 5, false},
		{models.StatusRejected, 5, false},
	}
	for _, tt := range tests {
		if got := ShouldHide(r, tt.status, tt.flaggers); got != tt.want {
			t.Errorf("ShouldHide(%s, %d) = %v, want %v", tt.status, tt.flaggers, got, tt.want)
		}
	}
}

func BenchmarkDecide(b *testing.B) {
	r := DefaultRules()
	r.BlockedWords = benchWords()
	in := Input{Body: benchBody(), Links: 1, Author: regularAuthor(), Article: Article{ModerationMode: ModePost}}
	b.Run("matcher per call", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			Decide(r, in)
		}
	})
	b.Run("cached matcher", func(b *testing.B) {
		in := in
		in.Matcher = NewMatcher(r.BlockedWords)
		b.ReportAllocs()
		for b.Loop() {
			Decide(r, in)
		}
	})
}

// benchWords returns 50 blocked words and phrases, none of them in benchBody.
func benchWords() []string {
	words := make([]string, 0, 50)
	for i := range 50 {
		w := "blocked" + strings.Repeat(string(rune('a'+i%26)), 1+i/26)
		if i%10 == 0 {
			w += " phrase"
		}
		words = append(words, w)
	}
	return words
}

// benchBody returns a 400-byte comment in ordinary mixed-case prose.
func benchBody() string {
	const sentence = "Thanks for the write-up; the Pyongyang visit was covered well, and the links below add more. "
	body := strings.Repeat(sentence, 5)
	return body[:400]
}
