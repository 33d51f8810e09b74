package opendata

import (
	"strconv"
	"strings"
	"sync"

	"github.com/zeebo/xxh3"

	"github.com/ofp-dev/ofp/internal/events"
)

// A page's rows are made of two parts: its context (collection, time,
// institution, URL, page number, raw object, source position) and what the
// page says (family, version, product, HTTP status and body), from which
// every fee, rate, finding and quarantine value is derived. Participants
// republish the same product lists collection after collection, so most
// pages of an hourly collection say exactly what they said an hour before.
//
// What a page says is named by its content key (contentKey): a 128-bit
// XXH3 of the interpretation rules' version, the organisation, family,
// version, product, status code, whether it was validated, and the body's
// bytes. The organisation is part of it so that a participant can only
// ever collide with its own pages: XXH3 is fast, not collision-resistant
// against someone crafting bodies, and a collision must not let one
// institution's data stand for another's.
//
// Fees and rates are stored per content (opendata_fee_items,
// opendata_rate_items, keyed by content_key and item_index); every page
// row carries its content_key, and the warehouse joins the two. So a page
// whose content's items are already stored writes only its page row.
// Findings and quarantined items are content too (opendata_finding_items,
// opendata_quarantine_items).
//
// The Memo keeps, per content key, the rest of what the content produced
// (a tape: the record count and the parse error). A page
// whose content is in the Memo is replayed from the tape with its own
// context instead of being parsed, validated and interpreted again, and
// writes no items: a batch of this process wrote them. That batch may
// still be on its way to the warehouse; if it fails or is abandoned, the
// runner says so (the ack of Transformer.FlushAck) and its contents leave
// the Memo, so the next page of each writes its items again; the records
// of the failed batch are consumed again too, and content keys do not
// depend on the process, so their items come back under the same keys.
// Until then a page may show fewer fee rows than it has; never a content
// with no items left anywhere once the topic is consumed. The replayed
// rows equal the full path's (TestMemoReplayMatchesFullPath,
// FuzzTransformerMemo); the warehouse keeps one copy of items written
// twice.

// contentRules versions the interpretation of a page: change it whenever a
// change of this package's code changes the rows a content yields, so that
// content keys (and the stored items they name) of the old rules are not
// reused for the new.
const contentRules = "ofp-opendata-rules/3" // 2: a group that is "NA" is no longer quarantined; 3: a 1.0.0 card interest group is quarantined

// DefaultMemoBytes bounds a Memo (an estimate of the tapes' memory).
const DefaultMemoBytes = 64 << 20

// Memo is the content-addressed tape cache shared by the Transformers of a
// pipeline. It is safe for concurrent use; tapes are immutable once stored.
type Memo struct {
	max    int
	mu     sync.Mutex
	tapes  map[contentKey]*memoEntry
	size   int
	gets   int // lookups since the last sweep
	hits   int64
	misses int64
}

// contentKey names what a page said (see above).
type contentKey struct{ hi, lo uint64 }

// String is the key as stored in content_key: 32 lower-case hex digits.
func (k contentKey) String() string {
	var b [32]byte
	const digits = "0123456789abcdef"
	for i := range 16 {
		b[15-i] = digits[(k.hi>>(4*i))&0xf]
		b[31-i] = digits[(k.lo>>(4*i))&0xf]
	}
	return string(b[:])
}

// pageContentKey is the content key of page p (whose body, which p.Body
// may not hold, is body), validated or not.
func pageContentKey[T string | []byte](p *events.OpenDataPage, validated bool, body T) contentKey {
	head := strings.Join([]string{contentRules, p.Institution.OrganisationID, p.Family, p.APIVersion, p.Product,
		strconv.Itoa(p.StatusCode), strconv.FormatBool(validated)}, "\x00")
	seed := xxh3.HashString(head)
	var h xxh3.Uint128
	switch b := any(body).(type) {
	case string:
		h = xxh3.HashString128Seed(b, seed)
	case []byte:
		h = xxh3.Hash128Seed(b, seed)
	}
	return contentKey{hi: h.Hi, lo: h.Lo}
}

type memoEntry struct {
	tape   *pageTape
	used   bool // looked up since the last sweep
	stored bool // a batch holding the content's items was loaded (settle)
}

// NewMemo returns a Memo holding at most about maxBytes of tapes; maxBytes
// <= 0 disables it (every page takes the full path).
func NewMemo(maxBytes int) *Memo {
	return &Memo{max: maxBytes, tapes: map[contentKey]*memoEntry{}}
}

// Stats reports the pages replayed from a tape and those that took the
// full path (with a Memo).
func (m *Memo) Stats() (hits, misses int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.hits, m.misses
}

// get returns the tape of k, nil if none, and counts the lookup.
func (m *Memo) get(k contentKey) *pageTape {
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

// settle records the outcome of a batch that wrote the items of keys:
// loaded, or failed or abandoned, in which case the contents not stored by
// another batch leave the Memo (their next page writes its items again).
func (m *Memo) settle(keys []contentKey, loaded bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range keys {
		e, ok := m.tapes[k]
		switch {
		case !ok:
		case loaded:
			e.stored = true
		case !e.stored:
			m.size -= e.tape.size
			delete(m.tapes, k)
		}
	}
}

// put stores a tape. When the Memo is full it first drops the tapes not
// looked up since the previous sweep (at most one sweep per len(tapes)
// lookups); if that does not make room, the tape is not stored, so a
// workload larger than the Memo keeps the hit rate of what fits instead of
// evicting everything in turn.
func (m *Memo) put(k contentKey, tp *pageTape) {
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

// pageTape is what one page content produced besides its items (fees,
// rates, findings, quarantined items), without its context: the record
// count and the parse error.
type pageTape struct {
	records  int
	parseErr string
	size     int
}

// replay writes the page row of tp in the context c of a page: its
// content's items are stored already.
func (t *Transformer) replay(c *pageCtx, tp *pageTape) {
	t.pageRow(c, tp.records, tp.parseErr)
}
