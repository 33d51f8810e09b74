package oas

import (
	"regexp"
	"regexp/syntax"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
)

// Patterns are matched with Go's regexp, as kin-openapi does, except for
// rewrites that give the same answers faster (patterns_test.go checks
// them against regexp):
//   - the one lookahead the official files use, `^(?!\s)` ("does not start
//     with white space"), which Go's regexp lacks, is checked by hand
//     (first rune not white space) before the rest of the pattern;
//   - a pattern that matches every string (no anchor or word boundary and
//     it matches the empty string, like the files' `\w*\W*`) is not run;
//   - `^(?!\s)[\w\W\s]*[^\s]$`, the files' "no blank at either end", is
//     checked by hand on its first and last character;
//   - a pattern made of anchored sequences of bounded character repeats
//     (most of the others: decimals, rates, codes, dates) is matched by a
//     seqMatcher (seqmatch.go).

// noLeadingSpace is the lookahead `^(?!\s)`.
const noLeadingSpace = `^(?!\s)`

// notBlankEnds is the rest of the files' "no blank at either end" pattern.
const notBlankEnds = `[\w\W\s]*[^\s]$`

type leadingSpaceMatcher struct{ rest openapi3.RegexMatcher }

func (m leadingSpaceMatcher) MatchString(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return !unicode.IsSpace(r) && m.rest.MatchString(s)
}

// lastNotSpace is `^[\w\W\s]*[^\s]$`: at least one character and the last
// one is not in \s (RE2's [\t\n\f\r ]); an invalid UTF-8 byte counts as
// U+FFFD, which is not a space, and an ASCII byte is always a character
// of its own, so the last byte decides.
type lastNotSpace struct{}

func (lastNotSpace) MatchString(s string) bool {
	if s == "" {
		return false
	}
	switch s[len(s)-1] {
	case '\t', '\n', '\f', '\r', ' ':
		return false
	}
	return true
}

// anyString matches every string.
type anyString struct{}

func (anyString) MatchString(string) bool { return true }

// compilePattern compiles a spec pattern (see above).
func compilePattern(expr string) (openapi3.RegexMatcher, error) {
	if rest, ok := strings.CutPrefix(expr, noLeadingSpace); ok {
		re, err := compileRE("^" + rest)
		if err != nil {
			return nil, err
		}
		if rest == notBlankEnds {
			re = lastNotSpace{}
		}
		return leadingSpaceMatcher{rest: re}, nil
	}
	return compileRE(expr)
}

func compileRE(expr string) (openapi3.RegexMatcher, error) {
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, err
	}
	if matchesEverything(expr, re) {
		return anyString{}, nil
	}
	if m := compileSeq(expr); m != nil {
		return m, nil
	}
	return re, nil
}

// matchesEverything reports whether re matches every string: it matches the
// empty string and has no empty-width assertion, so the empty match at
// position 0 of any input is found.
func matchesEverything(expr string, re *regexp.Regexp) bool {
	if !re.MatchString("") {
		return false
	}
	t, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return false
	}
	return !hasAssertion(t)
}

func hasAssertion(t *syntax.Regexp) bool {
	switch t.Op {
	case syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText,
		syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return true
	}
	for _, s := range t.Sub {
		if hasAssertion(s) {
			return true
		}
	}
	return false
}
