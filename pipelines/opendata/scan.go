package opendata

import (
	"encoding/binary"
	"math/bits"
	"slices"
	"unicode/utf16"
	"unicode/utf8"
)

// This file is the fast JSON reader of the package: one pass over a Kafka
// value or page body builds a flat "tape" of nodes (byte spans) that the
// fast path walks without copying. It is deliberately stricter than
// encoding/json (it refuses invalid UTF-8 and nesting deeper than
// maxDepth): whatever it refuses is decoded by the encoding/json path
// instead, which stays the reference for every reason text.

type nodeKind uint8

const (
	kObj nodeKind = iota + 1
	kArr
	kStr
	kNum
	kTrue
	kFalse
	kNull
)

// maxDepth bounds nesting (encoding/json allows 10000; deeper input takes
// the encoding/json path).
const maxDepth = 1000

// node is one JSON value. An object is followed by its members as
// (key string node, value subtree) pairs; an array by its element subtrees.
type node struct {
	start, end int32 // byte span; strings include their quotes
	next       int32 // index of the first node after this subtree
	kind       nodeKind
	esc        bool // string with a backslash escape
}

// doc is a parsed JSON text.
type doc[T string | []byte] struct {
	s     T
	nodes []node
}

// parse builds the tape of s into nodes (reused); ok is false when s is
// not JSON the fast path accepts.
func parse[T string | []byte](s T, nodes []node) ([]node, bool) {
	if len(s) >= 1<<31-1 {
		return nodes[:0], false
	}
	p := parser[T]{s: s, nodes: nodes[:0]}
	p.ws()
	if !p.value() {
		return p.nodes, false
	}
	p.ws()
	return p.nodes, p.i == len(p.s)
}

type parser[T string | []byte] struct {
	s     T
	i     int
	depth int
	nodes []node

	// unquote: also decode every string into unq (one pass instead of a
	// parse and an unquote; used for the envelope, whose body string is
	// most of the value).
	unquote bool
	unq     []byte
	spans   []unqSpan
}

// unqSpan says where the decoded value of string node n is in unq.
type unqSpan struct{ n, start, end int32 }

// parseUnquoting is parse that also decodes every string of s into unq
// (reused), reporting where each is in spans (reused).
func parseUnquoting(s []byte, nodes []node, unq []byte, spans []unqSpan) ([]node, []byte, []unqSpan, bool) {
	if len(s) >= 1<<31-1 {
		return nodes[:0], unq[:0], spans[:0], false
	}
	p := parser[[]byte]{s: s, nodes: nodes[:0], unquote: true, unq: unq[:0], spans: spans[:0]}
	p.ws()
	ok := p.value()
	p.ws()
	return p.nodes, p.unq, p.spans, ok && p.i == len(p.s)
}

func (p *parser[T]) ws() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *parser[T]) value() bool {
	if p.i >= len(p.s) {
		return false
	}
	c := p.s[p.i]
	if c == '"' {
		return p.str()
	}
	idx := len(p.nodes)
	p.nodes = append(p.nodes, node{start: int32(p.i)})
	var kind nodeKind
	switch {
	case c == '{' || c == '[':
		kind = kObj
		closer := byte('}')
		if c == '[' {
			kind, closer = kArr, ']'
		}
		p.depth++
		if p.depth > maxDepth {
			return false
		}
		p.i++
		p.ws()
		if p.i < len(p.s) && p.s[p.i] == closer {
			p.i++
		} else {
			for {
				p.ws()
				if kind == kObj {
					if p.i >= len(p.s) || p.s[p.i] != '"' || !p.str() {
						return false
					}
					p.ws()
					if p.i >= len(p.s) || p.s[p.i] != ':' {
						return false
					}
					p.i++
					p.ws()
				}
				if !p.value() {
					return false
				}
				p.ws()
				if p.i >= len(p.s) {
					return false
				}
				if p.s[p.i] == ',' {
					p.i++
					continue
				}
				if p.s[p.i] != closer {
					return false
				}
				p.i++
				break
			}
		}
		p.depth--
	case c == '-' || (c >= '0' && c <= '9'):
		kind = kNum
		if !p.number() {
			return false
		}
	case c == 't':
		kind = kTrue
		if !p.literal("true") {
			return false
		}
	case c == 'f':
		kind = kFalse
		if !p.literal("false") {
			return false
		}
	case c == 'n':
		kind = kNull
		if !p.literal("null") {
			return false
		}
	default:
		return false
	}
	n := &p.nodes[idx]
	n.kind, n.end, n.next = kind, int32(p.i), int32(len(p.nodes))
	return true
}

func (p *parser[T]) literal(lit string) bool {
	if len(p.s)-p.i < len(lit) || string(p.s[p.i:p.i+len(lit)]) != lit {
		return false
	}
	p.i += len(lit)
	return true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func (p *parser[T]) number() bool {
	s, i := p.s, p.i
	if s[i] == '-' {
		i++
	}
	switch {
	case i >= len(s):
		return false
	case s[i] == '0':
		i++
	case s[i] >= '1' && s[i] <= '9':
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if i >= len(s) || !isDigit(s[i]) {
			return false
		}
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i >= len(s) || !isDigit(s[i]) {
			return false
		}
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	p.i = i
	return true
}

func isHex(c byte) bool { return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') }

// str reads a string at p.i and appends its node.
func (p *parser[T]) str() bool {
	if p.unquote {
		return p.strUnquote()
	}
	s := p.s
	start, i := p.i, p.i+1
	esc := false
	var hi byte
	var hiWords uint64
	for {
		// Eight bytes at a time up to the first special byte ('"', '\\', < 0x20).
		for i+8 <= len(s) {
			w := load64(s, i)
			hiWords |= w
			if m := special(w); m != 0 {
				i += bits.TrailingZeros64(m) / 8
				break
			}
			i += 8
		}
		for i < len(s) {
			c := s[i]
			if c < 0x20 || c == '"' || c == '\\' {
				break
			}
			hi |= c
			i++
		}
		if i >= len(s) || s[i] < 0x20 {
			return false
		}
		if s[i] == '"' {
			break
		}
		esc = true
		if i+1 >= len(s) {
			return false
		}
		switch s[i+1] {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			i += 2
		case 'u':
			if i+6 > len(s) || !isHex(s[i+2]) || !isHex(s[i+3]) || !isHex(s[i+4]) || !isHex(s[i+5]) {
				return false
			}
			i += 6
		default:
			return false
		}
	}
	i++
	if (hi >= utf8.RuneSelf || hiWords&hiBits != 0) && !validUTF8(s[start:i]) {
		return false
	}
	p.nodes = append(p.nodes, node{start: int32(start), end: int32(i), next: int32(len(p.nodes) + 1), kind: kStr, esc: esc})
	p.i = i
	return true
}

// strUnquote is str that also appends the decoded value to p.unq, copying
// while it scans (a decoded string is never longer than its literal).
func (p *parser[T]) strUnquote() bool {
	s := p.s
	start, i := p.i, p.i+1
	u0 := len(p.unq)
	p.unq = slices.Grow(p.unq, len(s)-i)
	buf := p.unq[:cap(p.unq)]
	w := u0
	esc := false
	var hi uint64
	for {
		for i+8 <= len(s) {
			x := load64(s, i)
			hi |= x
			binary.LittleEndian.PutUint64(buf[w:w+8], x) // bytes past a special one are overwritten later
			if m := special(x); m != 0 {
				k := bits.TrailingZeros64(m) / 8
				i += k
				w += k
				break
			}
			w += 8
			i += 8
		}
		for i < len(s) {
			c := s[i]
			if c < 0x20 || c == '"' || c == '\\' {
				break
			}
			hi |= uint64(c)
			buf[w] = c
			w++
			i++
		}
		if i >= len(s) || s[i] < 0x20 {
			return false
		}
		if s[i] == '"' {
			break
		}
		esc = true
		if i+1 >= len(s) {
			return false
		}
		switch c := s[i+1]; c {
		case '"', '\\', '/':
			buf[w] = c
			w++
			i += 2
		case 'b', 'f', 'n', 'r', 't':
			buf[w] = controlEscape(c)
			w++
			i += 2
		case 'u':
			if i+6 > len(s) || !isHex(s[i+2]) || !isHex(s[i+3]) || !isHex(s[i+4]) || !isHex(s[i+5]) {
				return false
			}
			var out []byte
			out, i = appendUnicodeEscape(buf[:w], s, i) // within capacity: 6 bytes decode to at most 3
			w = len(out)
		default:
			return false
		}
	}
	i++
	p.unq = buf[:w]
	if hi&hiBits != 0 && !utf8.Valid(p.unq[u0:]) {
		return false
	}
	p.spans = append(p.spans, unqSpan{n: int32(len(p.nodes)), start: int32(u0), end: int32(len(p.unq))})
	p.nodes = append(p.nodes, node{start: int32(start), end: int32(i), next: int32(len(p.nodes) + 1), kind: kStr, esc: esc})
	p.i = i
	return true
}

// appendUnicodeEscape decodes the \uXXXX escape at s[j:] (checked) as
// encoding/json does: a valid surrogate pair is one rune, a lone surrogate
// U+FFFD. It returns the index after what it consumed.
func appendUnicodeEscape[T string | []byte](dst []byte, s T, j int) ([]byte, int) {
	r := hex4(s[j+2 : j+6])
	if utf16.IsSurrogate(r) {
		if j+12 <= len(s) && s[j+6] == '\\' && s[j+7] == 'u' {
			if dec := utf16.DecodeRune(r, hex4(s[j+8:j+12])); dec != utf8.RuneError {
				return utf8.AppendRune(dst, dec), j + 12
			}
		}
		r = utf8.RuneError
	}
	return utf8.AppendRune(dst, r), j + 6
}

// controlEscape is the byte of the escape \c for c in "bfnrt".
func controlEscape(c byte) byte {
	switch c {
	case 'b':
		return '\b'
	case 'f':
		return '\f'
	case 'n':
		return '\n'
	case 'r':
		return '\r'
	}
	return '\t'
}

func validUTF8[T string | []byte](s T) bool {
	switch v := any(s).(type) {
	case string:
		return utf8.ValidString(v)
	case []byte:
		return utf8.Valid(v)
	}
	panic("unreachable")
}

const (
	loBits = 0x0101010101010101
	hiBits = 0x8080808080808080
)

// load64 reads s[i:i+8] little-endian.
func load64[T string | []byte](s T, i int) uint64 {
	_ = s[i+7]
	return uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
		uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
}

// special is non-zero when a byte of w is '"', '\\' or a control
// character (bytes >= 0x80 never count: ^w clears bytes with the high bit
// set). Its lowest set bit is the high bit of the first such byte: a
// subtraction's borrow only makes false positives above a true one.
func special(w uint64) uint64 {
	q := w ^ (loBits * '"')
	b := w ^ (loBits * '\\')
	return ((q-loBits)&^q | (b-loBits)&^b | (w-loBits*0x20)&^w) & hiBits
}

// hasBackslash is non-zero when a byte of w is '\\' (same trick).
func hasBackslash(w uint64) uint64 {
	b := w ^ (loBits * '\\')
	return (b - loBits) &^ b & hiBits
}

// appendUnquoted appends the value of the JSON string literal q (quotes
// included, syntax already checked by the parser) to dst, exactly as
// encoding/json decodes it (lone surrogates become U+FFFD).
func appendUnquoted[T string | []byte](dst []byte, q T) []byte {
	s := q[1 : len(q)-1]
	for i := 0; i < len(s); {
		j := i
		for j+8 <= len(s) && hasBackslash(load64(s, j)) == 0 {
			j += 8
		}
		for j < len(s) && s[j] != '\\' {
			j++
		}
		dst = append(dst, s[i:j]...)
		if j >= len(s) {
			break
		}
		switch c := s[j+1]; c {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			dst, i = appendUnicodeEscape(dst, s, j)
			continue
		default: // '"', '\\', '/'
			dst = append(dst, c)
		}
		i = j + 2
	}
	return dst
}

// hex4 reads four hex digits (checked by the parser; -1 if not hex).
func hex4[T string | []byte](s T) rune {
	var r rune
	for i := 0; i < 4; i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}

// raw returns the JSON text of node i.
func (d *doc[T]) raw(i int32) T {
	n := &d.nodes[i]
	return d.s[n.start:n.end]
}

// members finds the values of the named members of object node o the way
// encoding/json fills struct fields (out[j] = value node of names[j], or -1).
// It reports false when it cannot be sure to agree with encoding/json: a
// duplicated member, or a key that has escapes, non-ASCII bytes or matches
// a name only case-insensitively.
func (d *doc[T]) members(o int32, names []string, out []int32) bool {
	for j := range out {
		out[j] = -1
	}
	end := d.nodes[o].next
	for k := o + 1; k < end; {
		kn := &d.nodes[k]
		v := k + 1
		k = d.nodes[v].next
		if kn.esc {
			return false
		}
		key := d.s[kn.start+1 : kn.end-1]
		matched := false
		for j, name := range names {
			if string(key) == name {
				if out[j] >= 0 {
					return false
				}
				out[j] = v
				matched = true
				break
			}
		}
		if !matched && mayFold(key, names) {
			return false
		}
	}
	return true
}

// mayFold reports whether key could match one of names under
// encoding/json's case-insensitive field matching.
func mayFold[T string | []byte](key T, names []string) bool {
	for i := 0; i < len(key); i++ {
		if key[i] >= utf8.RuneSelf {
			return true
		}
	}
	for _, name := range names {
		if len(name) == len(key) && asciiEqualFold(key, name) {
			return true
		}
	}
	return false
}

func asciiEqualFold[T string | []byte](a T, b string) bool {
	for i := 0; i < len(b); i++ {
		x, y := a[i], b[i]
		if x == y {
			continue
		}
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// elems calls f for every element of array node a.
func (d *doc[T]) elems(a int32, f func(i int32)) {
	end := d.nodes[a].next
	for k := a + 1; k < end; k = d.nodes[k].next {
		f(k)
	}
}
