package oas

import (
	"regexp/syntax"
	"unicode/utf8"
)

// A seqMatcher matches the patterns that are alternatives of sequences of
// single characters (a literal, a class, \d, \w, ...) each repeated between
// a bounded minimum and maximum, anchored at the start of the text, at its
// end or at both: most of the official files' patterns (decimals like
// `^\d{1,9}\.\d{2}$`, rates like `(^[0-9](\.[0-9]{4})$|^NA$)`, codes like
// `^[A-Z]{3}$`, dates). It gives regexp's answers (patterns_test.go and
// FuzzSeqMatcher check them against regexp) about ten times faster: the
// text is walked once per alternative with a bounded backtrack over the
// repeats, without regexp's machine. compileSeq returns nil for any other
// pattern, which regexp then matches.
type seqMatcher struct{ alts []seqAlt }

// seqAlt is one alternative: items in order, anchored at the start of the
// text (begin) and/or at its end (end); an alternative anchored at the end
// only is stored reversed and matched from the end.
type seqAlt struct {
	items      []seqItem
	begin, end bool
}

// seqItem is one character class repeated min..max times.
type seqItem struct {
	ranges   []rune    // sorted [lo, hi] pairs, as syntax.Regexp.Rune
	ascii    [2]uint64 // the class's ASCII members, as bits
	min, max int
}

func newSeqItem(ranges []rune) seqItem {
	it := seqItem{ranges: ranges, min: 1, max: 1}
	for i := 0; i+1 < len(ranges); i += 2 {
		for r := ranges[i]; r <= ranges[i+1] && r < utf8.RuneSelf; r++ {
			it.ascii[r/64] |= 1 << (r % 64)
		}
	}
	return it
}

// hasByte reports whether the ASCII character c is in the class.
func (it *seqItem) hasByte(c byte) bool { return it.ascii[c/64]&(1<<(c%64)) != 0 }

func (it *seqItem) has(r rune) bool {
	if r < utf8.RuneSelf {
		return it.hasByte(byte(r))
	}
	for i := 0; i+1 < len(it.ranges); i += 2 {
		if r < it.ranges[i] {
			return false
		}
		if r <= it.ranges[i+1] {
			return true
		}
	}
	return false
}

// Bounds on what compileSeq accepts: alternatives after expanding nested
// groups, and the backtracking an alternative can cost per text (the
// product of its repeats' spans).
const (
	maxSeqAlts      = 16
	maxSeqBacktrack = 4096
)

// compileSeq compiles expr as a seqMatcher, or returns nil.
func compileSeq(expr string) *seqMatcher {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil
	}
	seqs, ok := expand(re)
	if !ok {
		return nil
	}
	m := &seqMatcher{}
	for _, s := range seqs {
		a, ok := newSeqAlt(s)
		if !ok {
			return nil
		}
		m.alts = append(m.alts, a)
	}
	return m
}

// token is an element of an expanded sequence: an item or an anchor.
type token struct {
	item       seqItem
	begin, end bool // the anchor ^ (\A) or $ (\z)
}

// expand returns the alternatives of re as token sequences.
func expand(re *syntax.Regexp) ([][]token, bool) {
	switch re.Op {
	case syntax.OpEmptyMatch:
		return [][]token{{}}, true
	case syntax.OpBeginText:
		return [][]token{{{begin: true}}}, true
	case syntax.OpEndText:
		return [][]token{{{end: true}}}, true
	case syntax.OpCapture:
		return expand(re.Sub[0])
	case syntax.OpLiteral, syntax.OpCharClass, syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		its := items(re)
		if its == nil {
			return nil, false // a literal that folds case
		}
		var out []token
		for _, it := range its {
			out = append(out, token{item: it})
		}
		return [][]token{out}, true
	case syntax.OpRepeat, syntax.OpQuest:
		lo, hi := re.Min, re.Max
		if re.Op == syntax.OpQuest {
			lo, hi = 0, 1
		}
		sub := re.Sub[0]
		if lo == 1 && hi == 1 {
			return expand(sub)
		}
		its := items(sub)
		if len(its) != 1 || hi < lo || hi < 0 {
			return nil, false // a group repeated, or unbounded
		}
		it := its[0]
		it.min, it.max = lo, hi
		return [][]token{{{item: it}}}, true
	case syntax.OpConcat:
		acc := [][]token{{}}
		for _, sub := range re.Sub {
			alts, ok := expand(sub)
			if !ok {
				return nil, false
			}
			var next [][]token
			for _, a := range acc {
				for _, b := range alts {
					next = append(next, append(append([]token{}, a...), b...))
				}
			}
			if len(next) > maxSeqAlts {
				return nil, false
			}
			acc = next
		}
		return acc, true
	case syntax.OpAlternate:
		var out [][]token
		for _, sub := range re.Sub {
			alts, ok := expand(sub)
			if !ok {
				return nil, false
			}
			out = append(out, alts...)
		}
		if len(out) > maxSeqAlts {
			return nil, false
		}
		return out, true
	}
	return nil, false // star, plus, word boundaries, line anchors...
}

// items returns the single-character items of a literal or class (nil
// for anything else).
func items(re *syntax.Regexp) []seqItem {
	switch re.Op {
	case syntax.OpLiteral:
		if re.Flags&syntax.FoldCase != 0 {
			return nil
		}
		out := make([]seqItem, len(re.Rune))
		for i, r := range re.Rune {
			out[i] = newSeqItem([]rune{r, r})
		}
		return out
	case syntax.OpCharClass:
		return []seqItem{newSeqItem(re.Rune)}
	case syntax.OpAnyChar:
		return []seqItem{newSeqItem([]rune{0, utf8.MaxRune})}
	case syntax.OpAnyCharNotNL:
		return []seqItem{newSeqItem([]rune{0, '\n' - 1, '\n' + 1, utf8.MaxRune})}
	}
	return nil
}

// newSeqAlt checks the anchors of a token sequence (only at its ends, and
// at least one) and bounds its backtracking.
func newSeqAlt(ts []token) (seqAlt, bool) {
	var a seqAlt
	for len(ts) > 0 && (ts[0].begin || ts[0].end) {
		if ts[0].end {
			return a, false // $ before any character: only "" could match
		}
		a.begin, ts = true, ts[1:]
	}
	for len(ts) > 0 && (ts[len(ts)-1].begin || ts[len(ts)-1].end) {
		if ts[len(ts)-1].begin {
			return a, false
		}
		a.end, ts = true, ts[:len(ts)-1]
	}
	cost := 1
	for _, t := range ts {
		if t.begin || t.end {
			return a, false // an anchor inside
		}
		a.items = append(a.items, t.item)
		cost *= t.item.max - t.item.min + 1
		if cost > maxSeqBacktrack {
			return a, false
		}
	}
	switch {
	case a.begin:
	case a.end: // matched from the end: reverse the items
		for i, j := 0, len(a.items)-1; i < j; i, j = i+1, j-1 {
			a.items[i], a.items[j] = a.items[j], a.items[i]
		}
	default:
		return a, false // unanchored: regexp searches it
	}
	return a, true
}

// MatchString reports whether some alternative matches s.
func (m *seqMatcher) MatchString(s string) bool {
	for i := range m.alts {
		if m.alts[i].match(s) {
			return true
		}
	}
	return false
}

func (a *seqAlt) match(s string) bool {
	if a.begin {
		return a.forward(s, 0, 0)
	}
	return a.backward(s, len(s), 0)
}

// forward matches items[k:] at s[pos:]; the whole text must be used when
// the alternative is anchored at the end. An invalid byte is U+FFFD of
// width 1, as for regexp. It tries the most repetitions first (any match
// will do).
func (a *seqAlt) forward(s string, pos, k int) bool {
	if k == len(a.items) {
		return !a.end || pos == len(s)
	}
	it := &a.items[k]
	start, n, wide := pos, 0, false
	for n < it.max && pos < len(s) {
		if c := s[pos]; c < utf8.RuneSelf {
			if !it.hasByte(c) {
				break
			}
			pos++
		} else {
			r, w := utf8.DecodeRuneInString(s[pos:])
			if !it.has(r) {
				break
			}
			pos, wide = pos+w, true
		}
		n++
	}
	for m := n; m >= it.min; m-- {
		if m < n {
			if wide { // step back one character
				_, w := utf8.DecodeLastRuneInString(s[start:pos])
				pos -= w
			} else {
				pos--
			}
		}
		if a.forward(s, pos, k+1) {
			return true
		}
	}
	return false
}

// backward matches the (reversed) items[k:] ending at s[:pos].
func (a *seqAlt) backward(s string, pos, k int) bool {
	if k == len(a.items) {
		return true // anchored at the end only: any start
	}
	it := &a.items[k]
	end, n := pos, 0
	for n < it.max && pos > 0 {
		if c := s[pos-1]; c < utf8.RuneSelf {
			if !it.hasByte(c) {
				break
			}
			pos--
		} else {
			r, w := utf8.DecodeLastRuneInString(s[:pos])
			if !it.has(r) {
				break
			}
			pos -= w
		}
		n++
	}
	for m := n; m >= it.min; m-- {
		if m < n { // give one character back
			_, w := utf8.DecodeRuneInString(s[pos:end])
			pos += w
		}
		if a.backward(s, pos, k+1) {
			return true
		}
	}
	return false
}
