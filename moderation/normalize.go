package moderation

import (
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// NormalizeForMatch folds text so that look-alike spellings compare equal: it removes
// zero-width and format characters, applies NFKC (full-width and styled letters become
// plain ones), case-folds, and collapses whitespace runs to one space, trimming the ends.
func NormalizeForMatch(s string) string {
	if isASCII(s) {
		return foldASCII(s)
	}
	return foldUnicode(s)
}

// foldUnicode is NormalizeForMatch for text that is not all ASCII.
func foldUnicode(s string) string {
	if !utf8.ValidString(s) {
		// Case folding turns stray bytes into U+FFFD, which changes what NFKC does next to
		// them; replacing them up front keeps the result stable when normalized again.
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	// Invisible characters go first so that they cannot keep a letter and its accent
	// apart during composition.
	s = stripIgnorable(s)
	s = norm.NFKC.String(s)
	s = foldCase(s)
	s = fixFold(s)
	// Folding can leave text that composes further (an i whose dot fixFold removed and an
	// accent after it); a second pass keeps the result stable when normalized again.
	s = norm.NFKC.String(s)
	return collapseSpace(s)
}

// ContainsBlockedWord reports the first word of words (in list order) found in body as a
// whole word or phrase, after normalizing both sides.
func ContainsBlockedWord(body string, words []string) (string, bool) {
	if len(words) == 0 {
		return "", false
	}
	b := NormalizeForMatch(body)
	for _, w := range words {
		mw, ok := newMatchWord(w)
		if ok && mw.foundIn(b) {
			return w, true
		}
	}
	return "", false
}

// Matcher finds blocked words in comment bodies; build it once per rules version and share it.
type Matcher struct {
	words []matchWord // in list order
	// byToken indexes words by their first token (their leading run of letters, digits
	// and marks), so Match reads the body once and looks each of its tokens up, instead
	// of searching the body once per word.
	byToken map[string][]int // ascending indexes into words
	// leads marks the first bytes of the indexed tokens: most body tokens fail this
	// check and skip hashing.
	leads [256]bool
	// scan lists the words the index cannot serve, searched one by one: those starting
	// with punctuation or in a script written without spaces.
	scan []int
}

// NewMatcher prepares words for matching, skipping words that normalize to nothing.
func NewMatcher(words []string) *Matcher {
	m := &Matcher{words: make([]matchWord, 0, len(words)), byToken: map[string][]int{}}
	for _, w := range words {
		mw, ok := newMatchWord(w)
		if !ok {
			continue
		}
		i := len(m.words)
		m.words = append(m.words, mw)
		if tok := leadingToken(mw.norm); tok != "" && !strings.ContainsFunc(tok, unspaced) {
			m.byToken[tok] = append(m.byToken[tok], i)
			m.leads[tok[0]] = true
		} else {
			m.scan = append(m.scan, i)
		}
	}
	return m
}

// Match reports the first blocked word (in list order, as it was configured) found in body.
func (m *Matcher) Match(body string) (string, bool) {
	if m == nil || len(m.words) == 0 {
		return "", false
	}
	b := NormalizeForMatch(body)
	best := len(m.words) // the earliest matching word so far
	for start := 0; start < len(b) && best > 0 && len(m.byToken) > 0; {
		if c := b[start]; c < utf8.RuneSelf && !asciiWord[c] {
			start++
			continue
		}
		end := tokenEnd(b, start)
		if end == start { // not a word rune
			_, size := utf8.DecodeRuneInString(b[start:])
			start += size
			continue
		}
		if !m.leads[b[start]] {
			start = end
			continue
		}
		// A token starts after a non-word rune, so the left boundary holds.
		for _, i := range m.byToken[b[start:end]] {
			if i >= best {
				break
			}
			w := m.words[i]
			if strings.HasPrefix(b[start:], w.norm) && (w.openEnd || !wordRuneAt(b, start+len(w.norm))) {
				best = i
				break
			}
		}
		start = end
	}
	for _, i := range m.scan {
		if i >= best {
			break
		}
		if m.words[i].foundIn(b) {
			best = i
			break
		}
	}
	if best == len(m.words) {
		return "", false
	}
	return m.words[best].orig, true
}

// leadingToken returns the run of word runes at the start of s.
func leadingToken(s string) string {
	return s[:tokenEnd(s, 0)]
}

// tokenEnd returns where the run of word runes starting at s[start] ends.
func tokenEnd(s string, start int) int {
	i := start
	for i < len(s) {
		if c := s[i]; c < utf8.RuneSelf {
			if !asciiWord[c] {
				break
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if !isWordRune(r) {
			break
		}
		i += size
	}
	return i
}

// matchWord is one blocked word, normalized, with what its edges require of the text around a match.
type matchWord struct {
	orig string
	norm string
	// openStart and openEnd are set when the word starts or ends in a script written
	// without spaces (Chinese, Japanese, Thai, ...): there a word boundary cannot be
	// required, or such words would never match inside a sentence.
	openStart, openEnd bool
}

func newMatchWord(w string) (matchWord, bool) {
	n := NormalizeForMatch(w)
	if n == "" {
		return matchWord{}, false
	}
	first, _ := utf8.DecodeRuneInString(n)
	last, _ := utf8.DecodeLastRuneInString(n)
	return matchWord{orig: w, norm: n, openStart: unspaced(first), openEnd: unspaced(last)}, true
}

// foundIn reports whether w occurs in the normalized text b as a whole word or phrase.
func (w matchWord) foundIn(b string) bool {
	for off := 0; off < len(b); {
		i := strings.Index(b[off:], w.norm)
		if i < 0 {
			return false
		}
		i += off
		end := i + len(w.norm)
		if (w.openStart || !wordRuneBefore(b, i)) && (w.openEnd || !wordRuneAt(b, end)) {
			return true
		}
		// "ass" inside "class ass": skip one rune and look again.
		_, size := utf8.DecodeRuneInString(b[i:])
		off = i + size
	}
	return false
}

func wordRuneBefore(s string, i int) bool {
	if i == 0 {
		return false
	}
	r, _ := utf8.DecodeLastRuneInString(s[:i])
	return isWordRune(r)
}

func wordRuneAt(s string, i int) bool {
	if i >= len(s) {
		return false
	}
	r, _ := utf8.DecodeRuneInString(s[i:])
	return isWordRune(r)
}

// isWordRune reports whether r continues a word. Combining marks count as part of the
// word they sit on, as in Unicode word segmentation; otherwise a blocked Hindi word would
// match the front of a longer word whose next letter is a vowel sign.
func isWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return asciiWord[r]
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)
}

// asciiWord answers isWordRune for ASCII by table, as the matcher asks for every byte.
var asciiWord = func() (t [utf8.RuneSelf]bool) {
	for c := range t {
		t[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
	}
	return t
}()

// unspaced reports whether r belongs to a script that does not separate words with spaces.
func unspaced(r rune) bool {
	if r < utf8.RuneSelf {
		return false
	}
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana,
		unicode.Thai, unicode.Lao, unicode.Khmer, unicode.Myanmar)
}

// ignorable lists invisible characters outside category Cf that are used to split words
// without changing how they look: the combining grapheme joiner, Hangul fillers,
// Khmer inherent vowels, Mongolian variation selectors and the variation selectors.
var ignorable = &unicode.RangeTable{
	R16: []unicode.Range16{
		{Lo: 0x034f, Hi: 0x034f, Stride: 1},
		{Lo: 0x115f, Hi: 0x1160, Stride: 1},
		{Lo: 0x17b4, Hi: 0x17b5, Stride: 1},
		{Lo: 0x180b, Hi: 0x180f, Stride: 1},
		{Lo: 0x3164, Hi: 0x3164, Stride: 1},
		{Lo: 0xfe00, Hi: 0xfe0f, Stride: 1},
		{Lo: 0xffa0, Hi: 0xffa0, Stride: 1},
	},
	R32: []unicode.Range32{
		{Lo: 0xe0100, Hi: 0xe01ef, Stride: 1},
	},
}

// isIgnorable reports whether r is a format character (Cf: zero-width space and joiners,
// soft hyphen, word joiner, byte order mark, bidi controls, tags) or another invisible one.
func isIgnorable(r rune) bool {
	if r < 0x034f { // the soft hyphen is the only one in the common Latin range
		return r == '\u00ad'
	}
	return unicode.Is(unicode.Cf, r) || unicode.Is(ignorable, r)
}

func stripIgnorable(s string) string {
	var b strings.Builder
	kept := 0 // s[kept:i] is yet to be copied
	for i, r := range s {
		if !isIgnorable(r) {
			continue
		}
		if b.Cap() == 0 {
			b.Grow(len(s))
		}
		b.WriteString(s[kept:i])
		kept = i + utf8.RuneLen(r)
	}
	if kept == 0 {
		return s
	}
	b.WriteString(s[kept:])
	return b.String()
}

// casers recycles fold casers: a Caser keeps state and must not be shared between goroutines.
var casers = sync.Pool{New: func() any {
	c := cases.Fold()
	return &c
}}

// foldCase applies full case folding. ASCII letters are lowered here and only the
// other runs go through the caser, which is several times slower; folding maps each
// rune on its own, without context, so folding piece by piece gives the same result.
func foldCase(s string) string {
	c := casers.Get().(*cases.Caser)
	defer casers.Put(c)
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		j := i
		if s[i] < utf8.RuneSelf {
			for ; j < len(s) && s[j] < utf8.RuneSelf; j++ {
				ch := s[j]
				if 'A' <= ch && ch <= 'Z' {
					ch += 'a' - 'A'
				}
				b.WriteByte(ch)
			}
		} else {
			for j < len(s) && s[j] >= utf8.RuneSelf {
				j++
			}
			b.WriteString(c.String(s[i:j]))
		}
		i = j
	}
	return b.String()
}

// fixFold corrects two gaps of full case folding for matching. The Turkish dotted and
// dotless i become plain i: folding turns İ into "i" plus a combining dot and leaves ı
// alone, so "İSTANBUL", "ıstanbul" and "istanbul" would all differ. Cherokee folds to its
// capitals, as Unicode specifies; the fold caser lower-cases capitals instead, so folding
// twice would swap the case back and forth.
func fixFold(s string) string {
	if !strings.ContainsFunc(s, needsFix) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	prev := rune(-1)
	for _, r := range s {
		switch {
		case r == 'ı':
			r = 'i'
		case r == '\u0307' && prev == 'i':
			continue // prev stays i, so a second dot goes too
		case isCherokeeSmall(r):
			r = unicode.ToUpper(r)
		}
		b.WriteRune(r)
		prev = r
	}
	return b.String()
}

func needsFix(r rune) bool {
	return r == 'ı' || r == '\u0307' || isCherokeeSmall(r)
}

func isCherokeeSmall(r rune) bool {
	return 0xab70 <= r && r <= 0xabbf || 0x13f8 <= r && r <= 0x13fd
}

// collapseSpace turns each run of whitespace into one space and trims both ends.
func collapseSpace(s string) string {
	if !needsCollapse(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		if unicode.IsSpace(r) {
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

// needsCollapse reports whether s has whitespace other than single inner spaces.
func needsCollapse(s string) bool {
	prevSpace := true // a space at the start needs trimming
	for _, r := range s {
		if !unicode.IsSpace(r) {
			prevSpace = false
			continue
		}
		if r != ' ' || prevSpace {
			return true
		}
		prevSpace = true
	}
	return prevSpace && s != ""
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// foldASCII is NormalizeForMatch for ASCII text, where NFKC changes nothing and case
// folding is lower-casing; most comments take this path. It returns s itself when
// nothing changes, so clean text costs no allocation.
func foldASCII(s string) string {
	if !needsASCIIFold(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isASCIISpace(c) {
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b.WriteByte(c)
	}
	return b.String()
}

func needsASCIIFold(s string) bool {
	prevSpace := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z':
			return true
		case isASCIISpace(c):
			if c != ' ' || prevSpace {
				return true
			}
			prevSpace = true
		default:
			prevSpace = false
		}
	}
	return prevSpace && s != ""
}

func isASCIISpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}
