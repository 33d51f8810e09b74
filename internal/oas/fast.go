package oas

import (
	"math"
	"slices"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
)

// This file is the compiled check behind ValidateJSON. Each record schema is
// compiled once (New) into a tree of cschema nodes, and a record's JSON text
// is checked against it in one allocation-free pass, without decoding it.
//
// The check does not replace kin-openapi: it only tries to PROVE what
// kin-openapi would say, keyword by keyword as kin-openapi's 3.0 visitor
// (VisitJSON with VisitAsResponse) evaluates them. Its verdict is
//   - proved: kin-openapi accepts the decoded record;
//   - refuted: a check kin-openapi also runs on the decoded record fails;
//   - unsure: anything else (a keyword or input it does not model).
// ValidateJSON decides with kin-openapi itself whenever the verdict does not
// settle the answer, so findings (field, rule, message, version) are exactly
// those of Validate. Modelled: type, nullable, enum (string values), allOf,
// properties, required, additionalProperties: false, items, minItems,
// maxItems, minLength, maxLength, pattern, format, minimum, maximum. Anything
// else in a schema (oneOf, anyOf, not, multipleOf, exclusive bounds,
// uniqueItems, min/maxProperties, an additionalProperties schema, writeOnly,
// non-string enums, unresolved refs) makes that node unsure.

// verdict is what the compiled check proved about a record.
type verdict uint8

const (
	proved verdict = iota
	refuted
	unsure
)

// JSON types as a bit set (openapi3 type names).
const (
	tBoolean uint8 = 1 << iota
	tNumber
	tInteger
	tString
	tArray
	tObject
	tNull
	tAll = tBoolean | tNumber | tInteger | tString | tArray | tObject | tNull
)

var typeBits = map[string]uint8{
	openapi3.TypeBoolean: tBoolean, openapi3.TypeNumber: tNumber, openapi3.TypeInteger: tInteger,
	openapi3.TypeString: tString, openapi3.TypeArray: tArray, openapi3.TypeObject: tObject, openapi3.TypeNull: tNull,
}

// maxProps bounds the properties of one compiled object (the seen set is a
// fixed-size bit set).
const maxProps = 256

// cschema is one compiled schema.
type cschema struct {
	unsupported bool // the check cannot model this schema: unsure
	empty       bool // kin-openapi's IsEmpty: every non-null value
	nullable    bool // null is accepted before anything else
	types       uint8
	allOf       []*cschema
	own         bool // has keywords of its own besides allOf

	enum    []string
	hasEnum bool

	// strings
	minLen  uint64
	maxLen  uint64
	hasMax  bool
	pattern openapi3.RegexMatcher
	format  string

	// numbers
	min, max *float64

	// arrays
	minItems, maxItems uint64
	hasMaxItems        bool
	items              *cschema

	// objects
	props        map[string]int // name -> index in children (properties and required names)
	children     []*cschema     // nil: a required name without a property schema
	required     []int
	noAdditional bool
}

func (c *cschema) permits(t uint8) bool { return c.types&t != 0 }

// compiler compiles the schemas of one spec, sharing nodes between refs.
type compiler struct {
	done      map[*openapi3.Schema]*cschema
	writeOnly bool // some schema of the spec is writeOnly
}

// compileRecord compiles a record schema.
func compileRecord(s *openapi3.Schema) *cschema {
	c := &compiler{done: map[*openapi3.Schema]*cschema{}}
	root := c.compile(s, nil)
	if c.writeOnly {
		// VisitAsResponse treats writeOnly properties specially, on
		// objects and through allOf: not modelled.
		for _, n := range c.done {
			if n.types&tObject != 0 {
				n.unsupported = true
			}
		}
	}
	return root
}

// compile compiles s; chain holds the schemas whose allOf led here for the
// same value (kin-openapi accepts a schema met again in that chain without
// checking it: not modelled).
func (c *compiler) compile(s *openapi3.Schema, chain []*openapi3.Schema) *cschema {
	if s == nil {
		return &cschema{unsupported: true}
	}
	if slices.Contains(chain, s) {
		return &cschema{unsupported: true}
	}
	if n, ok := c.done[s]; ok && len(chain) == 0 {
		return n
	}
	n := &cschema{}
	if len(chain) == 0 {
		c.done[s] = n
	}
	if s.WriteOnly {
		c.writeOnly = true
	}
	n.nullable = s.Nullable || s.Type.IncludesNull()
	if s.IsEmpty() {
		n.empty = true
		return n
	}
	if s.Always != nil || s.Not != nil || len(s.OneOf) > 0 || len(s.AnyOf) > 0 ||
		s.MultipleOf != nil || s.ExclusiveMin.IsSet() || s.ExclusiveMax.IsSet() || s.UniqueItems ||
		len(s.PrefixItems) > 0 || s.MinProps != 0 || s.MaxProps != nil || s.AdditionalProperties.Schema != nil {
		n.unsupported = true
		return n
	}
	for _, part := range s.AllOf {
		if part == nil || part.Value == nil {
			n.unsupported = true
			return n
		}
		n.allOf = append(n.allOf, c.compile(part.Value, append(chain, s)))
	}
	n.types = tAll
	if s.Type != nil {
		n.types = 0
		for _, t := range *s.Type {
			n.types |= typeBits[t]
		}
	}
	n.own = s.Type != nil || s.Format != "" || len(s.Enum) > 0 || s.Min != nil || s.Max != nil ||
		s.MinLength != 0 || s.MaxLength != nil || s.Pattern != "" || s.MinItems != 0 || s.MaxItems != nil ||
		s.Items != nil || len(s.Properties) > 0 || len(s.Required) > 0 ||
		(s.AdditionalProperties.Has != nil && !*s.AdditionalProperties.Has)
	if len(s.Enum) > 0 {
		n.hasEnum = true
		for _, e := range s.Enum {
			str, ok := e.(string)
			if !ok {
				n.unsupported = true
				return n
			}
			n.enum = append(n.enum, str)
		}
	}
	n.minLen = s.MinLength
	if s.MaxLength != nil {
		n.maxLen, n.hasMax = *s.MaxLength, true
	}
	if s.Pattern != "" {
		re, err := compilePattern(s.Pattern)
		if err != nil {
			n.unsupported = true
			return n
		}
		n.pattern = re
	}
	n.format = s.Format
	n.min, n.max = s.Min, s.Max
	n.minItems = s.MinItems
	if s.MaxItems != nil {
		n.maxItems, n.hasMaxItems = *s.MaxItems, true
	}
	if s.Items != nil {
		if s.Items.Value == nil {
			n.unsupported = true
			return n
		}
		n.items = c.compile(s.Items.Value, nil)
	}
	if len(s.Properties) > 0 || len(s.Required) > 0 {
		n.props = map[string]int{}
		for name, ref := range s.Properties {
			if ref == nil || ref.Value == nil {
				n.unsupported = true
				return n
			}
			n.props[name] = len(n.children)
			n.children = append(n.children, nil)
		}
		for _, name := range s.Required {
			if _, ok := n.props[name]; !ok {
				n.props[name] = len(n.children)
				n.children = append(n.children, nil)
			}
			n.required = append(n.required, n.props[name])
		}
		if len(n.children) > maxProps {
			n.unsupported = true
			return n
		}
		for name, ref := range s.Properties {
			n.children[n.props[name]] = c.compile(ref.Value, nil)
		}
	}
	n.noAdditional = s.AdditionalProperties.Has != nil && !*s.AdditionalProperties.Has
	return n
}

// checker checks one JSON text. bad means the text is not JSON that
// encoding/json decodes to the values the check saw (syntax, number range,
// invalid UTF-8 in a checked string, a duplicated property): unsure.
type checker struct {
	s        string
	i        int
	depth    int
	bad      bool
	unsure   bool
	refuted  bool
	scratch  []byte
	maxDepth int
	memo     *elemMemo // when set, array elements that are objects are looked up
	inElem   bool      // checking an element memoValue did not find
}

// check runs the compiled check of root over the JSON text s.
func check(root *cschema, s string) verdict {
	return checkMemo(root, s, nil)
}

// checkMemo is check with the outcomes of array elements remembered in
// memo (nil: none); its verdict is check's.
func checkMemo(root *cschema, s string, memo *elemMemo) verdict {
	p := checker{s: s, maxDepth: 1000, memo: memo}
	p.ws()
	p.value(root)
	p.ws()
	switch {
	case p.bad || p.i != len(p.s):
		return unsure
	case p.refuted:
		return refuted
	case p.unsure:
		return unsure
	}
	return proved
}

func (p *checker) ws() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// value checks the value at p.i against c (nil: no schema, syntax only).
func (p *checker) value(c *cschema) {
	if p.bad {
		return
	}
	if p.i >= len(p.s) {
		p.bad = true
		return
	}
	if c == nil {
		p.skip()
		return
	}
	if c.unsupported {
		p.unsure = true
		p.skip()
		return
	}
	if p.s[p.i] == 'n' {
		p.literal("null")
		if !c.nullable {
			p.unsure = true // kin-openapi's null rules (allOf parts, IsEmpty) are not modelled
		}
		return
	}
	if c.empty {
		p.skip()
		return
	}
	if len(c.allOf) > 0 {
		start, end := p.i, -1
		for _, part := range c.allOf {
			p.i = start
			p.value(part)
			if p.bad {
				return
			}
			end = p.i
		}
		if !c.own {
			return
		}
		p.i = start
		p.own(c)
		if !p.bad && p.i != end {
			p.bad = true
		}
		return
	}
	p.own(c)
}

// own checks the value at p.i against c's keywords other than allOf.
func (p *checker) own(c *cschema) {
	switch b := p.s[p.i]; {
	case b == '{':
		if c.hasEnum || !c.permits(tObject) {
			p.refuted = true
			p.skip()
			return
		}
		p.object(c)
	case b == '[':
		if c.hasEnum || !c.permits(tArray) {
			p.refuted = true
			p.skip()
			return
		}
		p.array(c)
	case b == '"':
		p.string(c)
	case b == 't' || b == 'f':
		if b == 't' {
			p.literal("true")
		} else {
			p.literal("false")
		}
		if c.hasEnum || !c.permits(tBoolean) {
			p.refuted = true
		}
	case b == '-' || (b >= '0' && b <= '9'):
		p.number(c)
	case b == 'n':
		p.literal("null")
		p.unsure = true
	default:
		p.bad = true
	}
}

func (p *checker) literal(lit string) {
	if len(p.s)-p.i < len(lit) || p.s[p.i:p.i+len(lit)] != lit {
		p.bad = true
		return
	}
	p.i += len(lit)
}

func (p *checker) enter() bool {
	p.depth++
	if p.depth > p.maxDepth {
		p.bad = true
		return false
	}
	return true
}

// object checks an object against c (c permits objects).
func (p *checker) object(c *cschema) {
	if !p.enter() {
		return
	}
	defer func() { p.depth-- }()
	var seen [maxProps / 64]uint64
	p.i++ // '{'
	p.ws()
	if p.i < len(p.s) && p.s[p.i] == '}' {
		p.i++
	} else {
		for {
			p.ws()
			key, ok := p.key()
			if !ok {
				p.bad = true
				return
			}
			p.ws()
			if p.i >= len(p.s) || p.s[p.i] != ':' {
				p.bad = true
				return
			}
			p.i++
			p.ws()
			if idx, known := c.props[key]; known {
				if seen[idx/64]&(1<<(idx%64)) != 0 {
					p.bad = true // encoding/json keeps the last one: not modelled
					return
				}
				seen[idx/64] |= 1 << (idx % 64)
				p.value(c.children[idx])
			} else {
				if c.noAdditional {
					p.refuted = true
				}
				p.skip()
			}
			if p.bad {
				return
			}
			p.ws()
			if p.i >= len(p.s) {
				p.bad = true
				return
			}
			if p.s[p.i] == ',' {
				p.i++
				continue
			}
			if p.s[p.i] != '}' {
				p.bad = true
				return
			}
			p.i++
			break
		}
	}
	for _, idx := range c.required {
		if seen[idx/64]&(1<<(idx%64)) == 0 {
			p.refuted = true
		}
	}
}

// key reads an object key (a JSON string) as encoding/json decodes it into a
// map key; ok is false when it cannot (syntax, invalid UTF-8).
func (p *checker) key() (string, bool) {
	if p.i >= len(p.s) || p.s[p.i] != '"' {
		return "", false
	}
	v, ok := p.str()
	return v, ok
}

// array checks an array against c (c permits arrays).
func (p *checker) array(c *cschema) {
	if !p.enter() {
		return
	}
	defer func() { p.depth-- }()
	p.i++ // '['
	p.ws()
	var n uint64
	if p.i < len(p.s) && p.s[p.i] == ']' {
		p.i++
	} else {
		for {
			p.ws()
			if p.memo != nil && !p.inElem && c.items != nil && p.i < len(p.s) && p.s[p.i] == '{' {
				p.memoValue(c.items)
			} else {
				p.value(c.items)
			}
			if p.bad {
				return
			}
			n++
			p.ws()
			if p.i >= len(p.s) {
				p.bad = true
				return
			}
			if p.s[p.i] == ',' {
				p.i++
				continue
			}
			if p.s[p.i] != ']' {
				p.bad = true
				return
			}
			p.i++
			break
		}
	}
	if (c.minItems != 0 && n < c.minItems) || (c.hasMaxItems && n > c.maxItems) {
		p.refuted = true
	}
}

// string checks a string against c.
func (p *checker) string(c *cschema) {
	v, ok := p.str()
	if !ok {
		p.bad = true
		return
	}
	if c.hasEnum && !slices.Contains(c.enum, v) {
		p.refuted = true
	}
	if !c.permits(tString) {
		p.refuted = true
		return
	}
	if c.minLen != 0 || c.hasMax {
		// kin-openapi counts runes (a decoded rune is never a surrogate).
		n := uint64(utf8.RuneCountInString(v))
		if n < c.minLen || (c.hasMax && n > c.maxLen) {
			p.refuted = true
		}
	}
	if c.pattern != nil && !c.pattern.MatchString(v) {
		p.refuted = true
	}
	if c.format != "" {
		if f, ok := openapi3.SchemaStringFormats[c.format]; ok && f.Validate(v) != nil {
			p.refuted = true
		}
	}
}

// number checks a number against c.
func (p *checker) number(c *cschema) {
	start := p.i
	if !p.numberSyntax() {
		p.bad = true
		return
	}
	f, err := strconv.ParseFloat(p.s[start:p.i], 64)
	if err != nil {
		p.bad = true // encoding/json refuses it too (out of range)
		return
	}
	if c.hasEnum {
		p.refuted = true
	}
	requireInt := c.permits(tInteger) && !c.permits(tNumber)
	if !requireInt && !c.permits(tNumber) {
		p.refuted = true
		return
	}
	if requireInt && f != math.Trunc(f) {
		p.refuted = true
	}
	if c.format != "" {
		if requireInt {
			if v, ok := openapi3.SchemaIntegerFormats[c.format]; ok && validateIntegerFormat(v, f) != nil {
				p.refuted = true
			}
		} else if v, ok := openapi3.SchemaNumberFormats[c.format]; ok && v.Validate(f) != nil {
			p.refuted = true
		}
	}
	if (c.min != nil && !(*c.min <= f)) || (c.max != nil && !(*c.max >= f)) {
		p.refuted = true
	}
}

// validateIntegerFormat is kin-openapi's conversion for integer formats.
func validateIntegerFormat(v openapi3.IntegerFormatValidator, f float64) error {
	switch {
	case f == float64(math.MaxInt64):
		return v.Validate(math.MaxInt64)
	case f >= float64(math.MinInt64) && f < float64(math.MaxInt64):
		return v.Validate(int64(f))
	}
	return strconv.ErrRange
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

// numberSyntax reads a JSON number at p.i.
func (p *checker) numberSyntax() bool {
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

// str reads the JSON string at p.i and returns its value as encoding/json
// decodes it; ok is false on a syntax error or invalid UTF-8 (which
// encoding/json would replace).
func (p *checker) str() (string, bool) {
	s := p.s
	start, i := p.i+1, p.i+1
	esc, high := false, false
	for {
		if i >= len(s) {
			return "", false
		}
		b := s[i]
		if b == '"' {
			break
		}
		if b < 0x20 {
			return "", false
		}
		if b >= utf8.RuneSelf {
			high = true
		}
		if b == '\\' {
			esc = true
			if i+1 >= len(s) {
				return "", false
			}
			switch s[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(s) || !isHex(s[i+2]) || !isHex(s[i+3]) || !isHex(s[i+4]) || !isHex(s[i+5]) {
					return "", false
				}
				i += 6
			default:
				return "", false
			}
			continue
		}
		i++
	}
	raw := s[start:i]
	p.i = i + 1
	if high && !utf8.ValidString(raw) {
		return "", false
	}
	if !esc {
		return raw, true
	}
	p.scratch = unquote(p.scratch[:0], raw)
	return string(p.scratch), true
}

// skip reads one value without a schema (syntax only; strings are not
// decoded and may hold invalid UTF-8, which encoding/json accepts).
func (p *checker) skip() {
	if p.bad {
		return
	}
	if p.i >= len(p.s) {
		p.bad = true
		return
	}
	switch b := p.s[p.i]; {
	case b == '{' || b == '[':
		if !p.enter() {
			return
		}
		defer func() { p.depth-- }()
		closer := byte('}')
		if b == '[' {
			closer = ']'
		}
		p.i++
		p.ws()
		if p.i < len(p.s) && p.s[p.i] == closer {
			p.i++
			return
		}
		for {
			p.ws()
			if closer == '}' {
				if p.i >= len(p.s) || p.s[p.i] != '"' || !p.skipString() {
					p.bad = true
					return
				}
				p.ws()
				if p.i >= len(p.s) || p.s[p.i] != ':' {
					p.bad = true
					return
				}
				p.i++
				p.ws()
			}
			p.skip()
			if p.bad {
				return
			}
			p.ws()
			if p.i >= len(p.s) {
				p.bad = true
				return
			}
			if p.s[p.i] == ',' {
				p.i++
				continue
			}
			if p.s[p.i] != closer {
				p.bad = true
				return
			}
			p.i++
			return
		}
	case b == '"':
		if !p.skipString() {
			p.bad = true
		}
	case b == 't':
		p.literal("true")
	case b == 'f':
		p.literal("false")
	case b == 'n':
		p.literal("null")
	case b == '-' || (b >= '0' && b <= '9'):
		start := p.i
		if !p.numberSyntax() {
			p.bad = true
			return
		}
		if _, err := strconv.ParseFloat(p.s[start:p.i], 64); err != nil {
			p.bad = true
		}
	default:
		p.bad = true
	}
}

// skipString reads a JSON string at p.i (syntax only).
func (p *checker) skipString() bool {
	s := p.s
	i := p.i + 1
	for i < len(s) {
		switch b := s[i]; {
		case b == '"':
			p.i = i + 1
			return true
		case b < 0x20:
			return false
		case b == '\\':
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
		default:
			i++
		}
	}
	return false
}

func isHex(c byte) bool { return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') }

// unquote appends the value of the string body s (escapes checked) as
// encoding/json decodes it: a valid surrogate pair is one rune, a lone
// surrogate U+FFFD.
func unquote(dst []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c != '\\' {
			dst = append(dst, c)
			i++
			continue
		}
		switch e := s[i+1]; e {
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
			r := hex4(s[i+2 : i+6])
			i += 6
			if utf16.IsSurrogate(r) {
				if i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' {
					if d := utf16.DecodeRune(r, hex4(s[i+2:i+6])); d != utf8.RuneError {
						dst = utf8.AppendRune(dst, d)
						i += 6
						continue
					}
				}
				r = utf8.RuneError
			}
			dst = utf8.AppendRune(dst, r)
			continue
		default: // '"', '\\', '/'
			dst = append(dst, e)
		}
		i += 2
	}
	return dst
}

func hex4(s string) rune {
	var r rune
	for i := 0; i < 4; i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		default:
			c = c - 'A' + 10
		}
		r = r*16 + rune(c)
	}
	return r
}
