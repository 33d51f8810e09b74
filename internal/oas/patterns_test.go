package oas

import (
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/require"
)

// referenceMatcher is the plain regexp reading of a pattern (the lookahead
// checked by hand), which compilePattern must agree with.
func referenceMatcher(t testing.TB, expr string) func(string) bool {
	if rest, ok := strings.CutPrefix(expr, noLeadingSpace); ok {
		re := regexp.MustCompile("^" + rest)
		return func(s string) bool {
			r, _ := utf8.DecodeRuneInString(s)
			return !unicode.IsSpace(r) && re.MatchString(s)
		}
	}
	re, err := regexp.Compile(expr)
	require.NoError(t, err, expr)
	return re.MatchString
}

// specPatterns lists every pattern of the embedded record schemas.
func specPatterns(t testing.TB) []string {
	v := newValidator(t)
	seen := map[*openapi3.Schema]bool{}
	var out []string
	var walk func(s *openapi3.Schema)
	walk = func(s *openapi3.Schema) {
		if s == nil || seen[s] {
			return
		}
		seen[s] = true
		if s.Pattern != "" && !slices.Contains(out, s.Pattern) {
			out = append(out, s.Pattern)
		}
		for _, refs := range [][]*openapi3.SchemaRef{s.AllOf, s.OneOf, s.AnyOf, {s.Items, s.Not}} {
			for _, r := range refs {
				if r != nil {
					walk(r.Value)
				}
			}
		}
		for _, p := range s.Properties {
			walk(p.Value)
		}
	}
	for _, byMajor := range v.families {
		for _, list := range byMajor {
			for _, s := range list {
				for _, rec := range s.records {
					walk(rec)
				}
			}
		}
	}
	require.Greater(t, len(out), 10)
	return out
}

var patternSamples = []string{
	"", " ", "a", " a", "a ", "\ta", "a\t", "a\n", "\na", "a\f", "a\r", "\u00a0a", "a\u00a0", "\u2003a", "a\u2003",
	"\va", "a\v", "\u0085", "a\u0085", "\xff", "a\xff", "\xffa", "\xe2\x82", "a\xe2\x82", "ção", " ção ", "x\ny",
	"12.50", "1.50", "123456789.12", "1234567890.12", "NA", "na", "0.1234", "1.2345", "-1.5", "-12.1234", "12.", ".5",
	"1.000000", "12.000000", "BRL", "BR", "brl", "BRLL", "R$1", "123456", "1234567", "12345678901234", "1234567890123",
	"2021-01-01T00:00:00Z", "1999-01-01T00:00:00Z", "2021-1-01T00:00:00Z", "31/12/2021", "https://x", "http://x", "ftp://x",
	"https:/x", "_", "a_b", "abc", "ab", "a b", "MOVIMENTACAO_CARTAO", "SAQUE_TERMINAL_BANCO_24_HORAS",
}

// randomSamples is patternSamples and n random texts of up to maxLen
// pieces of alphabet.
func randomSamples(r *rand.Rand, n, maxLen int, alphabet ...string) []string {
	samples := slices.Clone(patternSamples)
	for range n {
		var b strings.Builder
		for range r.IntN(maxLen) {
			b.WriteString(alphabet[r.IntN(len(alphabet))])
		}
		samples = append(samples, b.String())
	}
	return samples
}

// TestCompilePatternMatchesRegexp: the rewrites answer as regexp does, for
// every pattern of the specs.
func TestCompilePatternMatchesRegexp(t *testing.T) {
	samples := randomSamples(rand.New(rand.NewPCG(5, 6)), 3000, 16,
		"a", "Z", "0", "9", ".", "-", "_", " ", "\t", "\n", "\v", "\u00a0", "ç", "\xff", "N", "A", "/", ":", "T")
	rewritten, seq := 0, 0
	for _, expr := range specPatterns(t) {
		got, err := compilePattern(expr)
		require.NoError(t, err, expr)
		if _, plain := got.(*regexp.Regexp); !plain {
			rewritten++
		}
		if _, ok := got.(*seqMatcher); ok {
			seq++
		}
		want := referenceMatcher(t, expr)
		for _, s := range samples {
			require.Equal(t, want(s), got.MatchString(s), "pattern %q on %q", expr, s)
		}
	}
	require.GreaterOrEqual(t, rewritten, 2, "the files' frequent patterns are rewritten")
	require.GreaterOrEqual(t, seq, 10, "the decimal, rate, code and date patterns are sequences")
	// Patterns with anchors or boundaries are never taken for "everything".
	for _, expr := range []string{`\b`, `^`, `$`, `a*$`, `\B`, `(?m)^`, `x*`} {
		got, err := compilePattern(expr)
		require.NoError(t, err)
		want := referenceMatcher(t, expr)
		for _, s := range samples[:40] {
			require.Equal(t, want(s), got.MatchString(s), "pattern %q on %q", expr, s)
		}
	}
}

func FuzzCompilePattern(f *testing.F) {
	for _, s := range patternSamples {
		f.Add(s)
	}
	exprs := specPatterns(f)
	type pair struct {
		got  openapi3.RegexMatcher
		want func(string) bool
	}
	var ps []pair
	for _, e := range exprs {
		got, err := compilePattern(e)
		if err != nil {
			f.Fatal(err)
		}
		ps = append(ps, pair{got, referenceMatcher(f, e)})
	}
	f.Fuzz(func(t *testing.T, s string) {
		for i, p := range ps {
			if p.want(s) != p.got.MatchString(s) {
				t.Fatalf("pattern %q on %q", exprs[i], s)
			}
		}
	})
}

// seqPatterns exercise seqMatcher's corners: anchors at either end or
// both, alternatives nested in groups, optional and bounded repeats,
// non-ASCII classes, dots; and patterns it must leave to regexp.
var seqPatterns = []string{
	`^\d{1,9}\.\d{2}$`, `^((\d{1,9}\.\d{2}){1}|NA)$`, `(^[0-9](\.[0-9]{4})$|^NA$)`, `(^[0-9](\.[0-9]{2})|NA)$`,
	`((-?[1-9]?\d{1,4}){1}(\.\d{1,4}){1}|NA)$`, `^[A-Z]{3}`, `^a{2,3}b?$`, `^a?a?a{2}$`, `^$`, `^`, `$`, `(a|^b)(c|d$)`,
	`^[ç-ü]{1,2}x$`, `^.{2}$`, `(?s)^.{2}$`, `(?i)^abc$`, `^ab*$`, `abc`, `^(ab){2}$`, `^x{0}y$`, `^\w{3}\W?$`, `[^a]{2}$`,
	`^\d{3}|\d{2}$`, `(^a|b$)`, `a^b`, `^a$b`, `^\s{1,3}$`, `^[\x{10000}-\x{10FFFF}]{1,2}$`, `^\pL{2}$`,
}

// TestSeqMatcherMatchesRegexp: where compileSeq takes a pattern it answers
// as regexp does; where the pattern is unanchored, unbounded, repeats a
// group or folds case, it leaves it to regexp.
func TestSeqMatcherMatchesRegexp(t *testing.T) {
	samples := randomSamples(rand.New(rand.NewPCG(7, 8)), 5000, 12,
		"a", "b", "c", "d", "x", "y", "0", "1", "9", ".", "-", "N", "A", " ", "\n", "ç", "ü", "é", "\xff", "\xe2\x82", "😀", "B", "_")
	taken := 0
	for _, expr := range seqPatterns {
		m := compileSeq(expr)
		if m == nil {
			continue
		}
		taken++
		re := regexp.MustCompile(expr)
		for _, s := range samples {
			require.Equal(t, re.MatchString(s), m.MatchString(s), "pattern %q on %q", expr, s)
		}
	}
	require.GreaterOrEqual(t, taken, 20)
	for _, expr := range []string{`(?i)^abc$`, `^ab*$`, `abc`, `^(ab){2}$`, `a^b`, `^a$b`, `(?m)^a$`, `\ba`, `^a{1,5000}$`} {
		require.Nil(t, compileSeq(expr), "%q is left to regexp", expr)
	}
}

func FuzzSeqMatcher(f *testing.F) {
	for i, s := range patternSamples {
		f.Add(uint8(i), s)
	}
	type pair struct {
		m  *seqMatcher
		re *regexp.Regexp
	}
	var ps []pair
	for _, e := range seqPatterns {
		if m := compileSeq(e); m != nil {
			ps = append(ps, pair{m, regexp.MustCompile(e)})
		}
	}
	f.Fuzz(func(t *testing.T, i uint8, s string) {
		p := ps[int(i)%len(ps)]
		if p.re.MatchString(s) != p.m.MatchString(s) {
			t.Fatalf("pattern %q on %q", p.re, s)
		}
	})
}
