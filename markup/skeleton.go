package markup

import (
	"strings"
	"unicode"
	"unicode/utf8"

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

// HasVisibleText reports whether rendered HTML shows any text: a body of
// only zero-width characters, an HTML comment or an empty construct renders
// to nothing a reader can see.
func HasVisibleText(html string) bool {
	inTag := false
	for i := 0; i < len(html); {
		switch c := html[i]; {
		case c == '<':
			inTag = true
			i++
		case c == '>':
			inTag = false
			i++
		case inTag:
			i++
		case c == '&':
			// An entity is a character (the sanitizer writes &amp;, &lt;,
			// &gt;, &#34; and &#39; for text): visible unless it is a space.
			end := strings.IndexByte(html[i:], ';')
			if end < 0 {
				return true
			}
			if e := html[i : i+end+1]; e != "&nbsp;" && e != "&#160;" && e != "&#xa0;" {
				return true
			}
			i += end + 1
		default:
			r, size := rune(c), 1
			if c >= 0x80 {
				r, size = utf8.DecodeRuneInString(html[i:])
			}
			if !unicode.IsSpace(r) && !isInvisible(r) && !unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r) && r != '\u2800' {
				return true
			}
			i += size
		}
	}
	return false
}
