package oas

import (
	"strings"
	"sync"

	"github.com/zeebo/xxh3"
)

// elemMemo remembers what the compiled check found in the array elements
// it has checked: the same fee, rate or tariff object recurs across a
// participant's products, brands and pages (in the benchmark's corpus,
// about 6 in 7 elements of the records that are checked at all are a
// repeat), and a repeated element is then only scanned for its end and
// hashed, not checked again.
//
// An element's outcome depends only on its text, the schema node and the
// depth it sits at (the nesting limit), which make the key. The text is
// keyed by its XXH3-128 hash: a collision between two different elements
// checked against the same node is as unlikely as in the content keys of
// the pipeline. It is safe for concurrent use and bounded: when full it
// starts again empty.
type elemMemo struct {
	mu sync.Mutex
	m  map[elemKey]elemFlags
}

type elemKey struct {
	node  *cschema
	depth int
	text  xxh3.Uint128
}

// elemFlags is the checker's findings on one element.
type elemFlags uint8

const (
	elemBad elemFlags = 1 << iota
	elemUnsure
	elemRefuted
)

const (
	// elemMemoMax bounds the entries (about 60 bytes each).
	elemMemoMax = 1 << 17
	// elemMemoMin is the shortest element worth a lookup: below it,
	// checking costs about what scanning and hashing do.
	elemMemoMin = 96
)

func (m *elemMemo) get(k elemKey) (elemFlags, bool) {
	m.mu.Lock()
	f, ok := m.m[k]
	m.mu.Unlock()
	return f, ok
}

func (m *elemMemo) put(k elemKey, f elemFlags) {
	m.mu.Lock()
	if m.m == nil || len(m.m) >= elemMemoMax {
		m.m = make(map[elemKey]elemFlags, 1024)
	}
	m.m[k] = f
	m.mu.Unlock()
}

// memoValue checks the object element at p.i against c (as value does),
// through p.memo: a known element's findings are taken from it, and the
// element is only scanned for its end and hashed.
func (p *checker) memoValue(c *cschema) {
	start := p.i
	end, ok := objectEnd(p.s, start)
	if !ok || end-start < elemMemoMin {
		p.value(c)
		return
	}
	k := elemKey{node: c, depth: p.depth, text: xxh3.HashString128(p.s[start:end])}
	if f, ok := p.memo.get(k); ok {
		p.i = end
		p.addFlags(f)
		return
	}
	before := p.flags() // bad is false here
	p.unsure, p.refuted = false, false
	p.inElem = true // the elements of this one are not looked up: it is scanned once
	p.value(c)
	p.inElem = false
	if !p.bad && p.i != end {
		p.bad = true // objectEnd and value disagree on the element's end: not modelled
	}
	p.memo.put(k, p.flags())
	p.addFlags(before)
}

// flags returns the checker's findings so far as elemFlags.
func (p *checker) flags() elemFlags {
	var f elemFlags
	if p.bad {
		f |= elemBad
	}
	if p.unsure {
		f |= elemUnsure
	}
	if p.refuted {
		f |= elemRefuted
	}
	return f
}

// addFlags adds the findings f to the checker's.
func (p *checker) addFlags(f elemFlags) {
	p.bad = p.bad || f&elemBad != 0
	p.unsure = p.unsure || f&elemUnsure != 0
	p.refuted = p.refuted || f&elemRefuted != 0
}

// objectEnd returns the index just past the object that starts at s[i]
// ('{'), matching brackets outside strings; ok is false when the text ends
// first. It does not check the syntax: the text of an element is checked
// in full (by value) the first time it is seen, and a later lookup finds
// exactly that text.
func objectEnd(s string, i int) (end int, ok bool) {
	depth := 0
	for ; i < len(s); i++ {
		switch s[i] {
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return i + 1, true
			}
		case '"':
			// The closing quote: the next one not escaped (preceded by an
			// even run of backslashes).
			for {
				q := strings.IndexByte(s[i+1:], '"')
				if q < 0 {
					return 0, false
				}
				i += 1 + q
				bs := 0
				for j := i - 1; s[j] == '\\'; j-- {
					bs++
				}
				if bs%2 == 0 {
					break
				}
			}
		}
	}
	return 0, false
}
