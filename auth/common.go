package auth

import (
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/trustelem/zxcvbn/frequency"
)

// commonRule is what the API says of a password commonPassword refuses.
const commonRule = "too common: it is among the passwords tried first by guessers (or it is the username); choose another"

// commonPasswords are the passwords of zxcvbn's list of the 30,000 most
// frequent in leaked databases that pass the length rule (about 11,600),
// lower-cased and sorted, built on first use.
var commonPasswords = sync.OnceValue(func() []string {
	var out []string
	for _, p := range frequency.FrequencyLists["passwords"] {
		if utf8.RuneCountInString(p) >= 8 {
			out = append(out, strings.ToLower(p))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
})

// commonPassword reports whether p, ignoring case, is one of the most
// common passwords: guessers try those first, so no length makes them safe.
func commonPassword(p string) bool {
	_, found := slices.BinarySearch(commonPasswords(), strings.ToLower(p))
	return found
}
