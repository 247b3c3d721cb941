package markup

import (
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// ErrControlChars is returned by CleanBody for text holding NUL or another control character other than newline and tab.
var ErrControlChars = errors.New("text contains control characters")

// ErrInvalidUTF8 is returned by CleanBody for text that is not valid UTF-8.
var ErrInvalidUTF8 = errors.New("text is not valid UTF-8")

// CleanBody prepares a comment body before rendering and storing it: it turns
// \r\n and \r into \n, strips bidi overrides and isolates, NFC-normalizes and
// trims trailing whitespace, and refuses invalid UTF-8 and control characters.
func CleanBody(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", ErrInvalidUTF8
	}
	rewrite := false
	for _, r := range s {
		switch {
		case r == '\r' || isBidiOverride(r):
			rewrite = true
		case r == '\n' || r == '\t':
		case unicode.IsControl(r): // C0, DEL and C1
			return "", ErrControlChars
		}
	}
	if rewrite {
		var b strings.Builder
		b.Grow(len(s))
		for i, r := range s {
			switch {
			case r == '\r':
				if !strings.HasPrefix(s[i+1:], "\n") {
					b.WriteByte('\n')
				}
			case isBidiOverride(r):
			default:
				b.WriteRune(r)
			}
		}
		s = b.String()
	}
	// Stripping comes first: removing a character can bring a base letter and
	// a combining mark together, and NFC must see the final neighbours.
	// norm returns s itself when it is already NFC, the common case.
	s = norm.NFC.String(s)
	return strings.TrimRightFunc(s, unicode.IsSpace), nil
}

// CleanName cleans a display name or guest name: it drops invalid UTF-8,
// control, format (bidi, zero-width) and filler characters, collapses runs of
// whitespace to one space, trims, and NFC-normalizes.
func CleanName(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := true // true at the start, so leading whitespace is dropped
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == utf8.RuneError && size == 1: // invalid byte
		case unicode.IsSpace(r): // before IsControl: a tab or newline separates words
			if !space {
				b.WriteByte(' ')
				space = true
			}
		case unicode.IsControl(r), isInvisible(r):
		default:
			b.WriteRune(r)
			space = false
		}
	}
	return norm.NFC.String(strings.TrimSuffix(b.String(), " "))
}

// isBidiOverride reports the embedding, override and isolate controls
// (U+202A–U+202E, U+2066–U+2069) that can make text display in an order
// other than the one it is stored in.
func isBidiOverride(r rune) bool {
	return (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069)
}

// isInvisible reports characters that let one name pass for another or look
// blank: every format character (Cf: bidi marks and controls, zero-width
// space and joiners, word joiner, BOM, soft hyphen, tag characters) and the
// Hangul fillers, which are letters that draw nothing.
func isInvisible(r rune) bool {
	switch r {
	case 0x115f, 0x1160, 0x3164, 0xffa0:
		return true
	}
	return unicode.Is(unicode.Cf, r)
}
