package markup

import (
	"strings"
	"unicode"

	"github.com/mtibben/confusables"
	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// Skeleton returns the form under which two texts look alike, so that one
// cannot pass for the other: invisible characters removed, NFKC (full-width
// and styled letters become plain ones), case-folded, then mapped to the
// Unicode TR39 skeleton (Cyrillic "а" to Latin "a", "1" to "l", "m" to
// "rn") and folded again. "Admin", Cyrillic "Аdmin", full-width "ａｄｍｉｎ"
// and "ad\u200Bmin" share one skeleton. Compare skeletons only with each
// other: they are not meant to be shown.
func Skeleton(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if isInvisible(r) || unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r) {
			return -1
		}
		return r
	}, s)
	s = cases.Fold().String(norm.NFKC.String(s))
	return cases.Fold().String(confusables.Skeleton(s))
}

// MatchKey is the skeleton of a comment body with everything but letters
// and digits dropped: what duplicate detection compares, so that an added
// "!", other spacing or one look-alike letter does not make a new comment.
func MatchKey(body string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsNumber(r) {
			return r
		}
		return -1
	}, Skeleton(body))
}
