package importer

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// Rule moves the pages of an import to their new address. From is a page
// URL, or a prefix ending in "*"; To is the new URL, where a "*" receives
// what From's "*" matched. From may start with "//" to match http and https
// alike. Scheme and host compare case-insensitively.
//
//	http://old.example/blog/* => https://new.example/posts/*
//	//www.example.com/* => https://example.com/*
type Rule struct {
	From, To string
}

// Rules apply in order; the first that matches a URL wins.
type Rules []Rule

// ErrBadRules refuses --map rules that cannot be read.
var ErrBadRules = errors.New("bad --map rules")

// LoadRules reads --map: rules, or the name of a file of rules. Only the
// command line reads files; rules from /admin go to ParseRules.
func LoadRules(flag string) (Rules, error) {
	if flag != "" && !strings.Contains(flag, "=>") && !strings.Contains(flag, "->") {
		b, err := os.ReadFile(flag)
		if err != nil {
			return nil, fmt.Errorf("%w: %q is neither a rule (FROM => TO) nor a readable file", ErrBadRules, flag)
		}
		flag = string(b)
	}
	return ParseRules(flag)
}

// ParseRules reads rules separated by newlines or ";", each "FROM => TO"
// (or "FROM -> TO"); "#" starts a comment line.
func ParseRules(s string) (Rules, error) {
	var rs Rules
	for _, line := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == ';' }) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		from, to, ok := strings.Cut(line, "=>")
		if !ok {
			from, to, ok = strings.Cut(line, "->")
		}
		from, to = strings.TrimSpace(from), strings.TrimSpace(to)
		switch {
		case !ok || from == "" || to == "":
			return nil, fmt.Errorf("%w: %q is not FROM => TO", ErrBadRules, line)
		case strings.Count(from, "*") > 1 || strings.Contains(from, "*") && !strings.HasSuffix(from, "*"):
			return nil, fmt.Errorf("%w: %q: a \"*\" may only end FROM", ErrBadRules, line)
		case strings.Count(to, "*") > 1:
			return nil, fmt.Errorf("%w: %q: TO has more than one \"*\"", ErrBadRules, line)
		case strings.Contains(to, "*") && !strings.Contains(from, "*"):
			return nil, fmt.Errorf("%w: %q: TO has a \"*\" that FROM does not", ErrBadRules, line)
		}
		rs = append(rs, Rule{From: from, To: to})
	}
	return rs, nil
}

// Apply returns u moved by the first rule that matches it, or u.
func (rs Rules) Apply(u string) string {
	for _, r := range rs {
		if out, ok := r.apply(u); ok {
			return out
		}
	}
	return u
}

func (r Rule) apply(u string) (string, bool) {
	from := r.From
	rest := u
	if strings.HasPrefix(from, "//") {
		// Any scheme: compare from the "//" on.
		i := strings.Index(u, "//")
		if i < 0 || strings.ContainsAny(u[:i], "/?#") {
			return "", false
		}
		rest = u[i:]
	}
	prefix, wild := strings.CutSuffix(from, "*")
	if !hasPrefixFold(rest, prefix) {
		return "", false
	}
	tail := rest[len(prefix):]
	if !wild {
		if strings.Trim(tail, "/") != "" {
			return "", false
		}
		return r.To, true
	}
	return strings.Replace(r.To, "*", tail, 1), true
}

// hasPrefixFold compares scheme and host without case and the path with it.
func hasPrefixFold(s, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	hostEnd := len(prefix)
	if i := strings.Index(prefix, "//"); i >= 0 {
		if j := strings.IndexAny(prefix[i+2:], "/?#"); j >= 0 {
			hostEnd = i + 2 + j
		}
	} else {
		hostEnd = 0
	}
	return strings.EqualFold(s[:hostEnd], prefix[:hostEnd]) && s[hostEnd:len(prefix)] == prefix[hostEnd:]
}
