package moderation

import (
	"time"

	"github.com/parley-comments/parley/models"
)

// Hold reasons, recorded with a held comment and shown in the moderation queue.
const (
	HoldPreModeration = "pre_moderation" // the article is pre-moderated and the author is not trusted
	HoldTooManyLinks  = "too_many_links" // more links than Rules.MaxLinks
	HoldBlockedWord   = "blocked_word"   // the body contains one of Rules.BlockedWords
	HoldNewAccount    = "new_account"    // the account is younger than Rules.MinAccountAgeMinutes
	HoldGuest         = "guest"          // a guest posted and Rules.HoldGuests is on
	HoldDuplicate     = "duplicate"      // another author posted the same body recently: cross-account spam
	HoldFlagged       = "flagged"        // set by the service when flags hide an approved comment
	HoldShadowBan     = "shadow_ban"     // the author is shadow-banned
	HoldBannedAddress = "banned_address" // a guest posted from an address a banned user posted from recently
)

// Article moderation modes.
const (
	ModePre  = "pre"  // comments wait for review unless the author is trusted
	ModePost = "post" // comments appear at once unless a rule holds them
)

// Author describes who is posting, as the service loaded it.
type Author struct {
	Role          string // "" for a guest
	Guest         bool
	VerifiedGuest bool // a guest whose address is confirmed: ApprovedCount counts its comments
	AccountAge    time.Duration
	ApprovedCount int  // how many of their comments are approved
	Banned        bool // an active normal ban
	ShadowBanned  bool // an active shadow ban
	// BannedAddress: a guest posting from an address that a user now under
	// a ban posted from within BannedAddressWindow.
	BannedAddress bool
}

// Article is what the decision needs of the article.
type Article struct {
	ModerationMode string // ModePre or ModePost; anything else counts as post-moderation
	Locked         bool
}

// Input is everything Decide looks at.
type Input struct {
	Body           string // the cleaned Markdown source
	Links          int    // links in the rendered HTML
	Author         Author
	Article        Article
	DuplicateOwn   bool // the same author posted the same body within the duplicate window
	DuplicateOther bool // another author posted the same body within the duplicate window
	Edit           bool // an edit of an existing comment rather than a new one
	// Matcher, when set, is NewMatcher(r.BlockedWords), built once per rules version so
	// that each post does not normalize the whole list again; nil builds it on the fly.
	Matcher *Matcher
}

// Verdict is the decision. Err != nil means refused (ErrBanned, ErrLocked, ErrDuplicate);
// otherwise Status is approved or pending, with the reasons in Holds (empty, never nil,
// when approved). Shadow is set for a shadow-banned author: the service stores the comment
// as pending and shows it to its author as if it were published.
type Verdict struct {
	Status string
	Holds  []string
	Shadow bool
	Err    error
}

// Decide is pure: no DB, no clock, no HTTP. Same input, same verdict.
//
// Refusals come first, in this order: a banned author, a locked article, the author's own
// recent duplicate (new comments only: saving an edit unchanged is not a repost). Staff are
// then approved outright. Everyone else collects holds in the order the checks below run,
// which is the order moderators see them in.
func Decide(r Rules, in Input) Verdict {
	a := in.Author
	switch {
	case a.Banned:
		return refuse(ErrBanned)
	// Locked is locked for users and guests, edits included. Moderators and admins may
	// still write there, to explain the closure or post a last correction.
	case in.Article.Locked && !isStaff(a):
		return refuse(ErrLocked)
	case in.DuplicateOwn && !in.Edit:
		return refuse(ErrDuplicate)
	}
	if isStaff(a) {
		// A shadow ban never applies to staff: hiding a moderator's words from everyone
		// but the moderator would only confuse the team.
		return Verdict{Status: models.StatusApproved, Holds: []string{}}
	}

	trusted := Trusted(r, a)
	holds := []string{}
	if in.Links > r.MaxLinks {
		holds = append(holds, HoldTooManyLinks)
	}
	if hasBlockedWord(r, in) {
		holds = append(holds, HoldBlockedWord)
	}
	// Guests have no account to be young: the guest hold covers them.
	if !a.Guest && !trusted && a.AccountAge < r.MinAccountAge() {
		holds = append(holds, HoldNewAccount)
	}
	if a.Guest && r.HoldGuests && !trusted {
		holds = append(holds, HoldGuest)
	}
	if a.Guest && a.BannedAddress {
		holds = append(holds, HoldBannedAddress)
	}
	if in.DuplicateOther {
		holds = append(holds, HoldDuplicate)
	}
	if in.Article.ModerationMode == ModePre && !trusted {
		holds = append(holds, HoldPreModeration)
	}
	if a.ShadowBanned {
		holds = append(holds, HoldShadowBan)
	}
	return Verdict{Status: statusFor(holds), Holds: holds, Shadow: a.ShadowBanned}
}

// Trusted reports whether the author skips pre-moderation and the new-account hold:
// moderators, admins, and users with at least r.TrustedAfter approved comments. Guests
// count only with a confirmed address (which ties one guest comment to the next); a
// trusted guest also skips the guest hold.
func Trusted(r Rules, a Author) bool {
	switch {
	case isStaff(a):
		return true
	case a.Guest && !a.VerifiedGuest:
		return false
	}
	return a.ApprovedCount >= r.TrustedAfter
}

// CanEdit reports whether someone may edit a comment posted age ago: staff always, its
// author only within the edit window (ErrEditWindow after), anyone else never (ErrForbidden).
func CanEdit(r Rules, editor Author, own bool, age time.Duration) error {
	switch {
	case isStaff(editor):
		return nil
	case !own || editor.Guest:
		// Guests cannot prove they wrote a comment, so they cannot edit one.
		return ErrForbidden
	case age >= r.EditWindow():
		return ErrEditWindow
	}
	return nil
}

// ShouldHide reports whether flags from distinctFlaggers users hide a comment with the
// given status until a moderator reviews it; only approved comments are hidden.
func ShouldHide(r Rules, status string, distinctFlaggers int) bool {
	return status == models.StatusApproved && distinctFlaggers >= r.FlagThreshold
}

func isStaff(a Author) bool {
	return !a.Guest && (a.Role == models.RoleModerator || a.Role == models.RoleAdmin)
}

func hasBlockedWord(r Rules, in Input) bool {
	if in.Matcher != nil {
		_, found := in.Matcher.Match(in.Body)
		return found
	}
	_, found := ContainsBlockedWord(in.Body, r.BlockedWords)
	return found
}

func statusFor(holds []string) string {
	if len(holds) > 0 {
		return models.StatusPending
	}
	return models.StatusApproved
}

func refuse(err error) Verdict {
	return Verdict{Holds: []string{}, Err: err}
}
