package opendata

import (
	"hash/maphash"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"github.com/ofp-dev/ofp/internal/events"
)

// A page's rows are made of two parts: its context (collection, time,
// institution, URL, page number, raw object, source position) and what the
// page says (family, version, product, HTTP status and body), from which
// every fee, rate, finding and quarantine value is derived. Participants
// republish the same product lists collection after collection, so most
// pages of an hourly collection say exactly what they said an hour before.
//
// The Memo keeps, per page content, the content-derived values of the rows
// the page produced (a tape). A page whose content is in the Memo is
// replayed from its tape with its own context instead of being parsed,
// validated and interpreted again; the rows are identical to what the full
// path writes (TestMemoReplayMatchesFullPath, FuzzTransformerMemo).
//
// The content key is a 128-bit hash (two independent 64-bit seeds) of the
// family, version, product, status code and body; a false hit would need a
// 128-bit collision.

// DefaultMemoBytes bounds a Memo (an estimate of the tapes' memory).
const DefaultMemoBytes = 64 << 20

// Memo is the content-addressed tape cache shared by the Transformers of a
// pipeline. It is safe for concurrent use; tapes are immutable once stored.
type Memo struct {
	max    int
	seeds  [2]maphash.Seed
	mu     sync.Mutex
	tapes  map[memoKey]*memoEntry
	size   int
	gets   int // lookups since the last sweep
	hits   int64
	misses int64
}

type memoKey [2]uint64

type memoEntry struct {
	tape *pageTape
	used bool // looked up since the last sweep
}

// NewMemo returns a Memo holding at most about maxBytes of tapes; maxBytes
// <= 0 disables it (every page takes the full path).
func NewMemo(maxBytes int) *Memo {
	return &Memo{max: maxBytes, seeds: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()},
		tapes: map[memoKey]*memoEntry{}}
}

// Stats reports the lookups that found a tape and those that did not.
func (m *Memo) Stats() (hits, misses int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.hits, m.misses
}

func (m *Memo) key(p *events.OpenDataPage, validated bool) memoKey {
	head := strings.Join([]string{p.Family, p.APIVersion, p.Product, strconv.Itoa(p.StatusCode), strconv.FormatBool(validated)}, "\x00")
	var k memoKey
	for i, seed := range m.seeds {
		var h maphash.Hash
		h.SetSeed(seed)
		h.WriteString(head)
		h.WriteByte(0)
		h.WriteString(p.Body)
		k[i] = h.Sum64()
	}
	return k
}

func (m *Memo) get(k memoKey) *pageTape {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gets++
	e, ok := m.tapes[k]
	if !ok {
		m.misses++
		return nil
	}
	m.hits++
	e.used = true
	return e.tape
}

// put stores a tape. When the Memo is full it first drops the tapes not
// looked up since the previous sweep (at most one sweep per len(tapes)
// lookups); if that does not make room, the tape is not stored, so a
// workload larger than the Memo keeps the hit rate of what fits instead of
// evicting everything in turn.
func (m *Memo) put(k memoKey, tp *pageTape) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.tapes[k]; ok || tp.size > m.max {
		return
	}
	if m.size+tp.size > m.max && m.gets >= len(m.tapes) {
		for key, e := range m.tapes {
			if !e.used {
				m.size -= e.tape.size
				delete(m.tapes, key)
			} else {
				e.used = false
			}
		}
		m.gets = 0
	}
	if m.size+tp.size > m.max {
		return
	}
	m.tapes[k] = &memoEntry{tape: tp}
	m.size += tp.size
}

// overrides are the institution columns a record's own data sets (company,
// participant); empty fields keep the page context's value.
type overrides struct{ cnpj, instName, brand string }

// over returns o with the non-empty fields of top written over it.
func (o overrides) over(top overrides) overrides {
	for _, f := range []struct {
		dst *string
		src string
	}{{&o.cnpj, top.cnpj}, {&o.instName, top.instName}, {&o.brand, top.brand}} {
		if f.src != "" {
			*f.dst = f.src
		}
	}
	return o
}

// apply returns c with its institution columns overridden by o.
func (o overrides) apply(c pageCtx) pageCtx {
	v := overrides{cnpj: c.cnpj, instName: c.instName, brand: c.brand}.over(o)
	c.cnpj, c.instName, c.brand = v.cnpj, v.instName, v.brand
	return c
}

// pageTape is what one page content produced, without its context: the
// rows of each dataset in the order they were written.
type pageTape struct {
	recs     []tapeRecord
	fees     []tapeFee
	rates    []tapeRate
	findings []tapeNote
	quars    []tapeNote
	records  int
	parseErr string
	size     int
	strs     map[string]string // one copy of each string (codes, currencies, flags repeat)
}

// clone returns a copy of s that does not share the page's memory, one per
// distinct value in the tape.
func (tp *pageTape) clone(s string) string {
	if s == "" {
		return ""
	}
	if c, ok := tp.strs[s]; ok {
		return c
	}
	if tp.strs == nil {
		tp.strs = map[string]string{}
	}
	c := strings.Clone(s)
	tp.strs[c] = c
	tp.size += len(c) + 32 // the string and its map entry
	return c
}

// tapeRecord is the part of rowCtx a record contributes.
type tapeRecord struct {
	ov          overrides
	productType string
}

type tapeFee struct {
	rec int32 // index in recs
	row feeRow
}

type tapeRate struct {
	rec int32
	row rateRow
}

// tapeNote is a finding (field, rule, message) or a quarantine row (kind,
// reason, raw) with the overrides of the context it was written in.
type tapeNote struct {
	ov          overrides
	recordIndex int32
	a, b, c     string
}

// record returns the index of the tape record of ctx, adding it when ctx is
// not the last one added (a record's rows are written together).
func (tp *pageTape) record(ctx *rowCtx) int32 {
	r := tapeRecord{ov: ctx.ov, productType: ctx.productType}
	if n := len(tp.recs); n > 0 && tp.recs[n-1] == r {
		return int32(n - 1)
	}
	r.ov = tp.cloneOverrides(r.ov)
	r.productType = tp.clone(r.productType)
	tp.recs = append(tp.recs, r)
	tp.size += int(unsafe.Sizeof(r))
	return int32(len(tp.recs) - 1)
}

func (tp *pageTape) cloneOverrides(o overrides) overrides {
	return overrides{tp.clone(o.cnpj), tp.clone(o.instName), tp.clone(o.brand)}
}

func (tp *pageTape) fee(ctx *rowCtx, f *feeRow) {
	row := *f
	for _, s := range []*string{&row.group, &row.code, &row.name, &row.trigger, &row.currency, &row.flags} {
		*s = tp.clone(*s)
	}
	tp.fees = append(tp.fees, tapeFee{rec: tp.record(ctx), row: row})
	tp.size += int(unsafe.Sizeof(tapeFee{}))
}

func (tp *pageTape) rate(ctx *rowCtx, x *rateRow) {
	row := *x
	for _, s := range []*string{&row.indexer, &row.flags} {
		*s = tp.clone(*s)
	}
	tp.rates = append(tp.rates, tapeRate{rec: tp.record(ctx), row: row})
	tp.size += int(unsafe.Sizeof(tapeRate{}))
}

func (tp *pageTape) note(list *[]tapeNote, c *pageCtx, recordIndex int32, a, b, s string) {
	n := tapeNote{ov: tp.cloneOverrides(c.ov), recordIndex: recordIndex, a: tp.clone(a), b: tp.clone(b), c: tp.clone(s)}
	*list = append(*list, n)
	tp.size += int(unsafe.Sizeof(n))
}

// replay writes the rows of tp in the context c of the page p.
func (t *Transformer) replay(c *pageCtx, p *events.OpenDataPage, tp *pageTape) {
	for i := range tp.findings {
		n := &tp.findings[i]
		rc := n.ov.apply(*c)
		t.finding(&rc, n.recordIndex, n.a, n.b, n.c)
	}
	for i := range tp.quars {
		n := &tp.quars[i]
		rc := n.ov.apply(*c)
		t.quarantine(&rc, n.recordIndex, n.a, n.b, n.c)
	}
	ctxs := make([]pageCtx, len(tp.recs))
	for i, r := range tp.recs {
		ctxs[i] = r.ov.apply(*c)
	}
	for i := range tp.fees {
		e := &tp.fees[i]
		t.feeRow(&rowCtx{pageCtx: &ctxs[e.rec], productType: tp.recs[e.rec].productType}, &e.row)
	}
	for i := range tp.rates {
		e := &tp.rates[i]
		t.rateRow(&rowCtx{pageCtx: &ctxs[e.rec], productType: tp.recs[e.rec].productType}, &e.row)
	}
	t.pageRow(c, p, tp.records, tp.parseErr)
}
