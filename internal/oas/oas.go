package oas

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
)

//go:embed specs/*
var specFS embed.FS

// ErrUnknownSpec means no embedded spec covers the requested family, major
// version or product. Callers record it as a finding about the page instead
// of validating its records.
var ErrUnknownSpec = errors.New("oas: no embedded spec for this family/version/product")

// Violation is one way a record breaks its spec.
type Violation struct {
	// Field is a JSON pointer inside the record ("" = the record itself),
	// e.g. "/fees/priorityServices/0/prices/1/value".
	Field string
	// Rule is the JSON-schema keyword that failed: "required", "type",
	// "pattern", "enum", "maxLength", "minItems", "oneOf", ...
	Rule string
	// Message is kin-openapi's human-readable reason.
	Message string
}

// Result is the outcome of validating one record.
type Result struct {
	// Version is the spec version the violations refer to (the one the record
	// matched, or the closest one when it matched none).
	Version string
	// Violations is empty when the record is valid against Version.
	Violations []Violation
}

// Valid reports whether the record matched a spec.
func (r Result) Valid() bool { return len(r.Violations) == 0 }

type version struct{ major, minor, patch int }

func (v version) String() string { return fmt.Sprintf("%d.%d.%d", v.major, v.minor, v.patch) }

func (v version) less(o version) bool {
	if v.major != o.major {
		return v.major < o.major
	}
	if v.minor != o.minor {
		return v.minor < o.minor
	}
	return v.patch < o.patch
}

// spec is one loaded OpenAPI file.
type spec struct {
	family  string
	version version
	ver     string // version.String()
	doc     *openapi3.T
	records map[string]*openapi3.Schema // product (path without "/") -> record schema
	fast    map[string]*cschema         // product -> compiled record schema (fast.go)
}

// Validator validates records against the embedded specs. It is safe for
// concurrent use; build it once with New.
type Validator struct {
	// families[family][major] holds the specs sorted by ascending version.
	families map[string]map[int][]*spec
	// lastOK maps family|product|major to the *spec that last accepted a
	// record: tried first next time.
	lastOK sync.Map
	// elems remembers the compiled check's findings on array elements
	// (elemmemo.go).
	elems elemMemo

	// resolved memoises lookup (bounded: declared versions come from data).
	resolvedMu sync.RWMutex
	resolved   map[lookupKey]lookup
}

// lookupKey is what a record is validated for.
type lookupKey struct{ family, declared, product string }

// lookup is the memoised resolution of a lookupKey.
type lookup struct {
	cands   []*spec
	hintKey string
	err     error
}

// maxResolved bounds the lookup memo.
const maxResolved = 1024

// lookup returns the candidates of (family, declared, product) and the key
// of their revision hint, memoised.
func (v *Validator) lookup(family, declared, product string) lookup {
	k := lookupKey{family, declared, product}
	v.resolvedMu.RLock()
	l, ok := v.resolved[k]
	v.resolvedMu.RUnlock()
	if ok {
		return l
	}
	l.cands, l.err = v.candidates(family, declared, product)
	if l.err == nil {
		l.hintKey = hintKeyOf(family, product, l.cands[0].version.major)
	}
	v.resolvedMu.Lock()
	if len(v.resolved) >= maxResolved {
		clear(v.resolved)
	}
	v.resolved[k] = l
	v.resolvedMu.Unlock()
	return l
}

// New loads and resolves every embedded spec. It fails only if an embedded
// file is broken, which is a build defect.
func New() (*Validator, error) {
	entries, err := fs.ReadDir(specFS, "specs")
	if err != nil {
		return nil, fmt.Errorf("oas: list embedded specs: %w", err)
	}
	v := &Validator{families: map[string]map[int][]*spec{}, resolved: map[lookupKey]lookup{}}
	for _, e := range entries {
		s, err := loadSpec(e.Name())
		if err != nil {
			return nil, err
		}
		byMajor := v.families[s.family]
		if byMajor == nil {
			byMajor = map[int][]*spec{}
			v.families[s.family] = byMajor
		}
		byMajor[s.version.major] = append(byMajor[s.version.major], s)
	}
	for _, byMajor := range v.families {
		for _, list := range byMajor {
			slices.SortFunc(list, func(a, b *spec) int {
				if a.version.less(b.version) {
					return -1
				}
				if b.version.less(a.version) {
					return 1
				}
				return 0
			})
		}
	}
	return v, nil
}

// loadSpec parses specs/<family>-<x.y.z>.y(a)ml.
func loadSpec(name string) (*spec, error) {
	base := strings.TrimSuffix(strings.TrimSuffix(name, ".yml"), ".yaml")
	i := strings.LastIndexByte(base, '-')
	if i < 0 {
		return nil, fmt.Errorf("oas: embedded spec %q is not named <family>-<version>.yml", name)
	}
	ver, ok := parseVersion(base[i+1:])
	if !ok {
		return nil, fmt.Errorf("oas: embedded spec %q has no x.y.z version in its name", name)
	}
	data, err := specFS.ReadFile(path.Join("specs", name))
	if err != nil {
		return nil, fmt.Errorf("oas: read embedded spec %s: %w", name, err)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // some official files start with a BOM
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromDataWithPath(data, &url.URL{Path: name})
	if err != nil {
		return nil, fmt.Errorf("oas: load embedded spec %s: %w", name, err)
	}
	s := &spec{family: base[:i], version: ver, ver: ver.String(), doc: doc,
		records: map[string]*openapi3.Schema{}, fast: map[string]*cschema{}}
	if doc.Paths == nil {
		return nil, fmt.Errorf("oas: embedded spec %s has no paths", name)
	}
	for p, item := range doc.Paths.Map() {
		if item.Get == nil || item.Get.Responses == nil {
			continue
		}
		resp := item.Get.Responses.Status(200)
		if resp == nil || resp.Value == nil {
			continue
		}
		mt := resp.Value.Content.Get("application/json")
		if mt == nil || mt.Schema == nil || mt.Schema.Value == nil {
			continue
		}
		if rec := recordSchema(mt.Schema.Value); rec != nil {
			s.records[strings.TrimPrefix(p, "/")] = rec
		}
	}
	if len(s.records) == 0 {
		return nil, fmt.Errorf("oas: embedded spec %s: no record schema found in any GET 200 response", name)
	}
	for product, rec := range s.records {
		s.fast[product] = compileRecord(rec)
	}
	return s, nil
}

// recordSchema walks a 200 response schema down to the schema of one record.
func recordSchema(resp *openapi3.Schema) *openapi3.Schema {
	if items := itemsOf(resp); items != nil { // a bare array (directory participants)
		return items
	}
	data := property(resp, "data")
	if data == nil {
		return nil
	}
	if items := itemsOf(data); items != nil { // opendata-*: data[]
		return items
	}
	// products-services v1: data.brand.companies[].<the array of products>
	companies := itemsOf(property(property(data, "brand"), "companies"))
	if companies == nil {
		return nil
	}
	var found *openapi3.Schema
	for _, p := range properties(companies) {
		if items := itemsOf(p); items != nil && isObject(items) {
			if found != nil {
				return nil // ambiguous: more than one product array
			}
			found = items
		}
	}
	return found
}

func isObject(s *openapi3.Schema) bool {
	return s.Type.Is("object") || len(s.Properties) > 0 || len(s.AllOf) > 0
}

func itemsOf(s *openapi3.Schema) *openapi3.Schema {
	if s == nil || s.Items == nil || s.Items.Value == nil {
		return nil
	}
	return s.Items.Value
}

// property finds a property of s, looking into allOf parts too.
func property(s *openapi3.Schema, name string) *openapi3.Schema {
	if s == nil {
		return nil
	}
	if p := s.Properties[name]; p != nil && p.Value != nil {
		return p.Value
	}
	for _, part := range s.AllOf {
		if p := property(part.Value, name); p != nil {
			return p
		}
	}
	return nil
}

// properties lists the property schemas of s and of its allOf parts.
func properties(s *openapi3.Schema) []*openapi3.Schema {
	if s == nil {
		return nil
	}
	var out []*openapi3.Schema
	for _, p := range s.Properties {
		if p.Value != nil {
			out = append(out, p.Value)
		}
	}
	for _, part := range s.AllOf {
		out = append(out, properties(part.Value)...)
	}
	return out
}

// parseVersion reads "1", "1.0", "1.0.3", "v1", "v1.0.0-beta.1".
func parseVersion(s string) (version, bool) {
	s = strings.TrimPrefix(strings.TrimSpace(strings.ToLower(s)), "v")
	if i := strings.IndexAny(s, "-+"); i >= 0 {
		s = s[:i]
	}
	parts := strings.Split(s, ".")
	if len(parts) == 0 || len(parts) > 3 {
		return version{}, false
	}
	var n [3]int
	for i, p := range parts {
		x, err := strconv.Atoi(p)
		if err != nil || x < 0 {
			return version{}, false
		}
		n[i] = x
	}
	return version{n[0], n[1], n[2]}, true
}

// candidates returns the specs of the declared version's major that define
// product, the preferred one first (see the package doc for the rule).
func (v *Validator) candidates(family, declared, product string) ([]*spec, error) {
	want, ok := parseVersion(declared)
	if !ok {
		return nil, fmt.Errorf("%w: version %q of %s is not a version number", ErrUnknownSpec, declared, family)
	}
	list := v.families[family][want.major]
	var have []*spec
	for _, s := range list {
		if s.records[product] != nil {
			have = append(have, s)
		}
	}
	if len(have) == 0 {
		return nil, fmt.Errorf("%w: %s v%d product %q", ErrUnknownSpec, family, want.major, product)
	}
	// have is ascending. Preferred: exact, else highest <= declared, else latest.
	pref := len(have) - 1
	for i, s := range have {
		if !want.less(s.version) {
			pref = i // s <= want; keeps the highest such
		}
	}
	out := make([]*spec, 0, len(have))
	out = append(out, have[pref])
	for i := len(have) - 1; i >= 0; i-- { // then the others, newest first
		if i != pref {
			out = append(out, have[i])
		}
	}
	return out, nil
}

// Resolve returns the spec version that a declared version is checked
// against first, e.g. ("products-services", "1", "personal-accounts") -> "1.0.2".
func (v *Validator) Resolve(family, declared, product string) (string, error) {
	c, err := v.candidates(family, declared, product)
	if err != nil {
		return "", err
	}
	return c[0].ver, nil
}

// Validate checks one record (a decoded JSON value: map[string]any, []any,
// string, float64, bool or nil, as encoding/json produces) of product against
// the specs of family's declared major version. The error is ErrUnknownSpec
// (wrapped) when no spec applies; violations are never errors.
func (v *Validator) Validate(family, declared, product string, record any) (Result, error) {
	cands, err := v.candidates(family, declared, product)
	if err != nil {
		return Result{}, err
	}
	// Participants publish one revision consistently: try first the one
	// that last accepted a record of this product. Which revision accepts
	// changes only Result.Version, not validity; when none accepts, the
	// full preference order below picks the reported violations as before.
	hintKey := hintKeyOf(family, product, cands[0].version.major)
	if h, ok := v.lastOK.Load(hintKey); ok && h.(*spec) != cands[0] {
		hs := h.(*spec)
		if len(validate(hs.records[product], record)) == 0 {
			return Result{Version: hs.ver}, nil
		}
	}
	var best Result
	for i, s := range cands {
		viol := validate(s.records[product], record)
		if len(viol) == 0 {
			v.lastOK.Store(hintKey, s)
			return Result{Version: s.ver}, nil
		}
		if i == 0 || len(viol) < len(best.Violations) {
			best = Result{Version: s.ver, Violations: viol}
		}
	}
	return best, nil
}

// ValidateJSON is Validate for a record given as JSON text, and gives the
// same Result. A record is first checked without decoding it by the
// compiled form of each candidate revision (fast.go), in Validate's order;
// when that check proves the record valid against the revision Validate
// would accept first, that is the answer. Otherwise (an invalid record, or
// input the compiled check does not model) the record is decoded with
// encoding/json and Validate decides, so violations and messages are
// kin-openapi's. The error is ErrUnknownSpec (wrapped) when no spec applies,
// or encoding/json's error when raw is not JSON.
func (v *Validator) ValidateJSON(family, declared, product, raw string) (Result, error) {
	l := v.lookup(family, declared, product)
	if l.err != nil {
		return Result{}, l.err
	}
	if res, ok := v.validateFast(l, product, raw); ok {
		return res, nil
	}
	var doc any
	if err := json.Unmarshal([]byte(raw), &doc); err != nil {
		return Result{}, err
	}
	return v.Validate(family, declared, product, doc)
}

// validateFast walks the candidates in Validate's order (the revision hint,
// then cands) with the compiled check. It answers only when a candidate is
// proved valid and every candidate before it is refuted: then Validate
// would accept that same candidate.
func (v *Validator) validateFast(l lookup, product, raw string) (Result, bool) {
	cands := l.cands
	h, hinted := v.lastOK.Load(l.hintKey)
	if hinted && h.(*spec) != cands[0] {
		hs := h.(*spec)
		switch checkMemo(hs.fast[product], raw, &v.elems) {
		case proved:
			return Result{Version: hs.ver}, true
		case unsure:
			return Result{}, false
		}
	}
	for _, s := range cands {
		switch checkMemo(s.fast[product], raw, &v.elems) {
		case proved:
			if !hinted || h.(*spec) != s {
				v.lastOK.Store(l.hintKey, s)
			}
			return Result{Version: s.ver}, true
		case unsure:
			return Result{}, false
		}
	}
	return Result{}, false
}

func hintKeyOf(family, product string, major int) string {
	return family + "|" + product + "|" + strconv.Itoa(major)
}

func validate(schema *openapi3.Schema, record any) []Violation {
	err := schema.VisitJSON(record, openapi3.MultiErrors(), openapi3.VisitAsResponse(),
		openapi3.SetSchemaRegexCompiler(compilePattern))
	if err == nil {
		return nil
	}
	var out []Violation
	collect(err, &out)
	return out
}

// collect flattens kin-openapi's error tree into violations.
func collect(err error, out *[]Violation) {
	var me openapi3.MultiError
	switch e := err.(type) {
	case openapi3.MultiError:
		for _, x := range e {
			collect(x, out)
		}
		return
	case *openapi3.SchemaError:
		if e.SchemaField == "allOf" && e.Origin != nil && errors.As(e.Origin, &me) {
			for _, x := range me {
				collect(x, out)
			}
			return
		}
		*out = append(*out, Violation{Field: pointer(e.JSONPointer()), Rule: e.SchemaField, Message: e.Reason})
		return
	}
	*out = append(*out, Violation{Rule: "invalid", Message: err.Error()})
}

func pointer(parts []string) string {
	if len(parts) == 0 {
		return ""
	}
	var b strings.Builder
	for _, p := range parts {
		b.WriteByte('/')
		p = strings.ReplaceAll(p, "~", "~0")
		b.WriteString(strings.ReplaceAll(p, "/", "~1"))
	}
	return b.String()
}

// validateDocs runs kin-openapi's document validation (used by tests to
// make sure the embedded files are usable).
func (v *Validator) validateDocs(ctx context.Context) error {
	for fam, byMajor := range v.families {
		for _, list := range byMajor {
			for _, s := range list {
				if err := s.doc.Validate(ctx, openapi3.DisableExamplesValidation(),
					openapi3.SetRegexCompiler(compilePattern)); err != nil {
					return fmt.Errorf("%s %s: %w", fam, s.version, err)
				}
			}
		}
	}
	return nil
}
