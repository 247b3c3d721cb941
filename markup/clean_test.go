package markup

import (
	"errors"
	"testing"
)

func TestCleanBody(t *testing.T) {
	tests := []struct {
		name, in, want string
		err            error
	}{
		{"plain text unchanged", "hello\n\tworld", "hello\n\tworld", nil},
		{"crlf and cr become lf", "a\r\nb\rc\r\n\r\nd", "a\nb\nc\n\nd", nil},
		{"trailing whitespace trimmed", "text  \n\t \n", "text", nil},
		{"leading whitespace kept for indented code", "    code", "    code", nil},
		{"hard break spaces inside kept", "a  \nb", "a  \nb", nil},
		{"combining sequence composed", "cafe\u0301", "café", nil},
		{"hangul jamo composed", "\u1100\u1161", "\uac00", nil},
		{"bidi override stripped", "abc\u202egnp.exe", "abcgnp.exe", nil},
		{"bidi isolates stripped", "\u2066x\u2069 \u2067y\u2068", "x y", nil},
		{"stripping lets marks compose", "e\u202a\u0301", "é", nil},
		{"rtl marks kept", "a\u200fb", "a\u200fb", nil},
		{"zero-width joiner kept in emoji", "👩\u200d💻", "👩\u200d💻", nil},
		{"nul refused", "a\x00b", "", ErrControlChars},
		{"escape refused", "a\x1b[31mred", "", ErrControlChars},
		{"del refused", "a\x7fb", "", ErrControlChars},
		{"c1 refused", "a\u0085b", "", ErrControlChars},
		{"invalid utf-8 refused", "a\xffb", "", ErrInvalidUTF8},
		{"truncated utf-8 refused", "caf\xc3", "", ErrInvalidUTF8},
		{"empty", "", "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := CleanBody(tc.in)
			if !errors.Is(err, tc.err) {
				t.Fatalf("CleanBody(%q) error = %v, want %v", tc.in, err, tc.err)
			}
			if got != tc.want {
				t.Errorf("CleanBody(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

var cleanNameCases = []struct {
	name, in, want string
}{
	{"plain", "Ada Lovelace", "Ada Lovelace"},
	{"whitespace collapsed and trimmed", "  Ada \t\n  Lovelace  ", "Ada Lovelace"},
	{"unicode spaces collapsed", "Ada\u00a0\u3000Lovelace", "Ada Lovelace"},
	{"controls removed", "Ad\x00a\x1b\u0085", "Ada"},
	{"bidi controls removed", "\u202eadmin\u202c\u200e\u200f\u2066x\u2069", "adminx"},
	{"zero-width removed", "ad\u200bm\u200ci\u200dn\u2060\ufeff", "admin"},
	{"hangul filler removed", "\u3164\u115f", ""},
	{"zero-width between spaces does not double them", "a \u200b b", "a b"},
	{"invalid bytes dropped", "A\xffd\xc3a", "Ada"},
	{"combining sequence composed", "Zo\u0308e", "Zöe"},
	{"removal lets marks compose", "e\u200b\u0301", "é"},
	{"only invisible", "\u200b \u202e ", ""},
}

func TestCleanName(t *testing.T) {
	for _, tc := range cleanNameCases {
		t.Run(tc.name, func(t *testing.T) {
			if got := CleanName(tc.in); got != tc.want {
				t.Errorf("CleanName(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
