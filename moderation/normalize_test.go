package moderation

import (
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/cases"
)

func TestNormalizeForMatch(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"lower case ascii stays", "hello world", "hello world"},
		{"upper case folds", "HeLLo", "hello"},
		{"whitespace runs collapse and ends trim", " \t hello \n\n  world \r\n", "hello world"},
		{"no-break and ideographic spaces are spaces", "a\u00a0b\u3000c", "a b c"},
		{"full-width letters become ascii", "ｂａｄ ＢＡＤ", "bad bad"},
		{"mathematical bold letters become ascii", "𝐁𝐀𝐃", "bad"},
		{"circled letters become ascii", "ⓑⓐⓓ", "bad"},
		{"ligature splits", "ﬁne", "fine"},
		{"zero-width space removed", "b\u200bad", "bad"},
		{"zero-width joiners removed", "b\u200ca\u200dd", "bad"},
		{"word joiner and byte order mark removed", "\ufeffb\u2060ad", "bad"},
		{"soft hyphen removed", "b\u00adad", "bad"},
		{"bidi override removed", "b\u202ead\u202c", "bad"},
		{"tag characters removed", "b\U000E0061ad", "bad"},
		{"variation selector and hangul filler removed", "b\ufe0fa\u3164d", "bad"},
		{"combining accent composes", "cafe\u0301", "café"},
		{"invisible between letter and accent does not block composition", "cafe\u200b\u0301", "café"},
		{"german sharp s folds to ss", "Straße", "strasse"},
		{"german capital sharp s folds to ss", "STRAẞE", "strasse"},
		{"turkish dotted capital i folds to i", "İSTANBUL", "istanbul"},
		{"turkish dotless i folds to i", "ıstanbul", "istanbul"},
		{"greek final sigma folds", "ΣΟΦΟΣ", "σοφοσ"},
		{"only invisible characters", "\u200b\u00ad \u2060", ""},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NormalizeForMatch(tt.in); got != tt.want {
				t.Errorf("NormalizeForMatch(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestContainsBlockedWord(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		words     []string
		wantWord  string
		wantFound bool
	}{
		{"exact word", "this is bad.", []string{"bad"}, "bad", true},
		{"upper case body", "This is BAD!", []string{"bad"}, "bad", true},
		{"upper case word", "this is bad", []string{"BaD"}, "BaD", true},
		{"full-width body", "this is ｂａｄ", []string{"bad"}, "bad", true},
		{"full-width word", "this is bad", []string{"ｂａｄ"}, "ｂａｄ", true},
		{"zero-width space inside the word", "this is b\u200bad", []string{"bad"}, "bad", true},
		{"soft hyphen inside the word", "this is b\u00adad", []string{"bad"}, "bad", true},
		{"combining accent in body, precomposed word", "un cafe\u0301 noir", []string{"café"}, "café", true},
		{"precomposed body, combining accent in word", "un café noir", []string{"cafe\u0301"}, "cafe\u0301", true},
		{"accented body does not match plain word", "un café noir", []string{"cafe"}, "", false},
		{"german ss and sharp s", "STRASSE", []string{"straße"}, "straße", true},
		{"turkish dotted capital i", "İSTANBUL", []string{"istanbul"}, "istanbul", true},
		{"turkish dotless i", "ıstanbul", []string{"Istanbul"}, "Istanbul", true},
		{"not inside a longer word", "a first class seat", []string{"ass"}, "", false},
		{"not as a prefix", "badger", []string{"bad"}, "", false},
		{"not next to a digit", "bad1 and 2bad", []string{"bad"}, "", false},
		{"found after a rejected occurrence", "classy ass", []string{"ass"}, "ass", true},
		{"at the text edges", "bad", []string{"bad"}, "bad", true},
		{"punctuation is a boundary", "(bad)'s", []string{"bad"}, "bad", true},
		{"phrase with odd spacing and case", "that BAD   word!", []string{"bad word"}, "bad word", true},
		{"phrase across a line break", "bad\nword", []string{"bad word"}, "bad word", true},
		{"phrase needs its space", "badword", []string{"bad word"}, "", false},
		{"phrase not inside a longer word", "bad words", []string{"bad word"}, "", false},
		{"vowel sign continues a hindi word", "कमी", []string{"कम"}, "", false},
		{"hindi word on its own", "यह कम है", []string{"कम"}, "कम", true},
		{"chinese needs no spaces", "这是坏词测试", []string{"坏词"}, "坏词", true},
		{"first match in list order", "ugly and bad", []string{"zzz", "bad", "ugly"}, "bad", true},
		{"empty words never match", "anything at all", []string{"", " ", "\u200b"}, "", false},
		{"empty body", "", []string{"bad"}, "", false},
		{"no words", "bad", nil, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			word, found := ContainsBlockedWord(tt.body, tt.words)
			if word != tt.wantWord || found != tt.wantFound {
				t.Errorf("ContainsBlockedWord = %q, %v; want %q, %v", word, found, tt.wantWord, tt.wantFound)
			}
			word, found = NewMatcher(tt.words).Match(tt.body)
			if word != tt.wantWord || found != tt.wantFound {
				t.Errorf("Matcher.Match = %q, %v; want %q, %v", word, found, tt.wantWord, tt.wantFound)
			}
		})
	}
}

func TestNilMatcherMatchesNothing(t *testing.T) {
	var m *Matcher
	if word, found := m.Match("bad"); found {
		t.Errorf("nil Matcher found %q", word)
	}
}

func TestNormalizeCleanASCIIDoesNotAllocate(t *testing.T) {
	s := strings.TrimSpace(strings.Repeat("plain lower case text ", 20))
	if n := testing.AllocsPerRun(100, func() { NormalizeForMatch(s) }); n != 0 {
		t.Errorf("allocations = %v, want 0", n)
	}
}

func FuzzNormalizeForMatch(f *testing.F) {
	for _, s := range []string{
		"", " ", "Hello  World ", "ｂａｄ", "b\u200bad", "İ\u0301", "ı\u0307", "STRAẞE",
		"a \u00b4 b", "\u00a8\u0301", "ǅ", "cafe\u200b\u0301", "\t\n\v\f\r", "x\x00y",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := NormalizeForMatch(s)
		if again := NormalizeForMatch(got); again != got {
			t.Errorf("not stable: %q -> %q -> %q", s, got, again)
		}
		if strings.HasPrefix(got, " ") || strings.HasSuffix(got, " ") || strings.Contains(got, "  ") {
			t.Errorf("NormalizeForMatch(%q) = %q: whitespace not collapsed", s, got)
		}
		if utf8.ValidString(s) && !utf8.ValidString(got) {
			t.Errorf("NormalizeForMatch(%q) = %q: invalid UTF-8", s, got)
		}
		if isASCII(s) {
			// The ASCII shortcut must agree with the full pipeline.
			if slow := foldUnicode(s); slow != got {
				t.Errorf("ascii path %q, full path %q for %q", got, slow, s)
			}
		}
		if utf8.ValidString(s) {
			// Folding piece by piece must agree with folding the whole.
			if pieces, whole := foldCase(s), cases.Fold().String(s); pieces != whole {
				t.Errorf("foldCase(%q) = %q, want %q", s, pieces, whole)
			}
		}
	})
}

// FuzzMatcher checks the indexed Matcher against the plain search of ContainsBlockedWord.
func FuzzMatcher(f *testing.F) {
	f.Add("that BAD word, classy ass", "bad word", "ass", "c++")
	f.Add("这是坏词 c++ #tag", "坏词", "#tag", "c++")
	f.Add("bad bad́ ｂａｄ!", "bad", "bad", "ba")
	f.Fuzz(func(t *testing.T, body, w1, w2, w3 string) {
		words := []string{w1, w2, w3}
		wantWord, wantFound := ContainsBlockedWord(body, words)
		gotWord, gotFound := NewMatcher(words).Match(body)
		if gotWord != wantWord || gotFound != wantFound {
			t.Errorf("Match(%q, %q) = %q, %v; ContainsBlockedWord = %q, %v", body, words, gotWord, gotFound, wantWord, wantFound)
		}
	})
}

func BenchmarkContainsBlockedWord(b *testing.B) {
	words := benchWords()
	ascii := benchBody()
	// The same length with accents, a full-width word and a zero-width space, which
	// takes the full Unicode path.
	unicodeBody := "Café ｎｏｔｅ: " + "naïve\u200b " + ascii
	unicodeBody = unicodeBody[:400]
	for _, body := range []struct{ name, text string }{{"ascii", ascii}, {"unicode", unicodeBody}} {
		b.Run("ContainsBlockedWord/"+body.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, found := ContainsBlockedWord(body.text, words); found {
					b.Fatal("unexpected match")
				}
			}
		})
		b.Run("Matcher/"+body.name, func(b *testing.B) {
			m := NewMatcher(words)
			b.ReportAllocs()
			for b.Loop() {
				if _, found := m.Match(body.text); found {
					b.Fatal("unexpected match")
				}
			}
		})
	}
}
