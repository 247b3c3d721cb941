package importer

import (
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

// ParseRules reads rules separated by newlines or ";", each "FROM => TO"
// (or "FROM -> TO"); "#" starts a comment line. A value naming an existing
// file is read from that file.
func ParseRules(s string) (Rules, error) {
	if s == "" {
		return nil, nil
	}
	if !strings.Contains(s, "=>") && !strings.Contains(s, "->") {
		b, err := os.ReadFile(s)
		if err != nil {
			return nil, fmt.Errorf("--map: %q is neither a rule (FROM => TO) nor a readable file", s)
		}
		s = string(b)
	}
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
			return nil, fmt.Errorf("--map: %q is not FROM => TO", line)
		case strings.Count(from, "*") > 1 || strings.Contains(from, "*") && !strings.HasSuffix(from, "*"):
			return nil, fmt.Errorf("--map: %q: a \"*\" may only end FROM", line)
		case strings.Count(to, "*") > 1:
			return nil, fmt.Errorf("--map: %q: TO has more than one \"*\"", line)
		case strings.Contains(to, "*") && !strings.Contains(from, "*"):
			return nil, fmt.Errorf("--map: %q: TO has a \"*\" that FROM does not", line)
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
