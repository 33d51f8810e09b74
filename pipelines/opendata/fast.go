package opendata

import (
	"fmt"
	"strconv"
	"time"

	"github.com/ofp-dev/ofp/internal/events"
)

// The fast path reads each Kafka value once into a tape (scan.go) and
// fills the same structs the encoding/json path fills, with the same
// interpretation code. Each level (value, page, company, record, fee/rate
// element) first checks that it is "plain" JSON whose decoding cannot
// differ from encoding/json's (no duplicated, escaped or case-folded keys,
// expected value types); anything else is handed, before any row of that
// level is written, to the encoding/json code of the same level, which
// stays the reference for every reason text. Strings are substrings of the
// decoded page body: nothing is copied until a row builder copies it.

var (
	envNames         = []string{"id", "type", "source", "time", "key", "payload"}
	pageNames        = []string{"collection_id", "institution", "family", "api_version", "product", "url", "page", "status_code", "fetched_at", "body", "raw_object"}
	institutionNames = []string{"organisation_id", "organisation_name", "cnpj", "brand", "simulated"}
	dataNames        = []string{"data"}
	brandNames       = []string{"brand"}
	brandObjNames    = []string{"name", "companies"}
	recordNames      = []string{"participant", "type", "identification", "fees", "serviceBundles", "interestRates", "interestRate", "interest"}
	participantNames = []string{"brand", "name", "cnpjNumber"}
	productNames     = []string{"product"}
	typeNames        = []string{"type"}
	feeGroupNames    = []string{"priorityServices", "otherServices", "services"}
	interestNames    = append([]string{"rates", "instalmentRates"}, v100InterestGroups[:]...)
	feeNames         = []string{"name", "code", "chargingTriggerInfo", "prices", "minimum", "maximum"}
	priceNames       = []string{"interval", "value", "monthlyFee", "currency", "customers"}
	rateHolderNames  = []string{"rate"}
	moneyNames       = []string{"value", "currency"}
	rateNames        = []string{"referentialRateIndexer", "referentialRateOrIndexer", "rate", "applications", "minimumRate", "maximumRate"}
	appNames         = []string{"interval", "indexer", "customers"}
)

// addFast adds an open-data page envelope read with the fast reader. It
// returns false, having written nothing, when the value is anything else or
// not plain; Add then decodes it with encoding/json.
func (t *Transformer) addFast(value []byte) bool {
	e := &t.env
	var ok bool
	e.s = value
	e.nodes, t.bodyBuf, t.spans, ok = parseUnquoting(value, e.nodes, t.bodyBuf, t.spans)
	if cap(t.bodyBuf) > 16<<20 { // do not pin a huge buffer
		defer func() { t.bodyBuf = nil }()
	}
	if !ok || e.nodes[0].kind != kObj {
		return false
	}
	var m [6]int32
	if !e.members(0, envNames, m[:]) {
		return false
	}
	for _, j := range []int{0, 2, 4} { // id, source, key: strings we do not use
		if m[j] >= 0 && !isKind(e, m[j], kStr, kNull) {
			return false
		}
	}
	if m[1] < 0 || e.nodes[m[1]].kind != kStr || envString(e, m[1]) != events.TypeOpenDataPage {
		return false
	}
	if m[3] >= 0 {
		var at time.Time
		if at.UnmarshalJSON(e.raw(m[3])) != nil {
			return false
		}
	}
	pl := m[5]
	if pl < 0 {
		return false
	}
	var p events.OpenDataPage
	b, ok := pageFields(e, pl, &p)
	if !ok || b < 0 || e.nodes[b].kind != kStr {
		return false
	}
	for _, sp := range t.spans {
		if sp.n == b {
			p.Body = string(t.bodyBuf[sp.start:sp.end])
		}
	}
	addPage(t, &p, p.Body, true)
	return true
}

// pageFields fills p from the page object node pl of e, every field but
// the body, exactly as encoding/json would, and returns the body's node
// (-1 when absent). ok is false, with p in any state, when it cannot be
// sure to agree with encoding/json.
func pageFields(e *doc[[]byte], pl int32, p *events.OpenDataPage) (body int32, ok bool) {
	if e.nodes[pl].kind != kObj {
		return -1, false
	}
	var pm [11]int32
	if !e.members(pl, pageNames, pm[:]) {
		return -1, false
	}
	strs := []struct {
		j   int
		dst *string
	}{{0, &p.CollectionID}, {2, &p.Family}, {3, &p.APIVersion}, {4, &p.Product}, {5, &p.URL}, {10, &p.RawObject}}
	for _, f := range strs {
		if !envStringField(e, pm[f.j], f.dst) {
			return -1, false
		}
	}
	if in := pm[1]; in >= 0 && e.nodes[in].kind != kNull {
		if e.nodes[in].kind != kObj {
			return -1, false
		}
		var im [5]int32
		if !e.members(in, institutionNames, im[:]) {
			return -1, false
		}
		inst := &p.Institution
		for j, dst := range []*string{&inst.OrganisationID, &inst.OrganisationName, &inst.CNPJ, &inst.Brand} {
			if !envStringField(e, im[j], dst) {
				return -1, false
			}
		}
		if s := im[4]; s >= 0 {
			switch e.nodes[s].kind {
			case kTrue:
				inst.Simulated = true
			case kFalse, kNull:
			default:
				return -1, false
			}
		}
	}
	for _, f := range []struct {
		j   int
		dst *int
	}{{6, &p.Page}, {7, &p.StatusCode}} {
		if n := pm[f.j]; n >= 0 && e.nodes[n].kind != kNull {
			if e.nodes[n].kind != kNum {
				return -1, false
			}
			v, err := strconv.ParseInt(string(e.raw(n)), 10, 64)
			if err != nil {
				return -1, false
			}
			*f.dst = int(v)
		}
	}
	if n := pm[8]; n >= 0 && p.FetchedAt.UnmarshalJSON(e.raw(n)) != nil {
		return -1, false
	}
	if b := pm[9]; b >= 0 && !isKind(e, b, kStr, kNull) {
		return -1, false
	}
	return pm[9], true
}

// metaFast decodes a binary-mode record's ce_ofpmeta header (the page
// without its body, which is the record's value) with the fast reader; ok
// is false when only encoding/json may decode it.
func (t *Transformer) metaFast(meta []byte, p *events.OpenDataPage) bool {
	e := &t.env
	var ok bool
	e.s = meta
	if e.nodes, ok = parse(meta, e.nodes); !ok {
		return false
	}
	b, ok := pageFields(e, 0, p)
	if ok && b >= 0 && e.nodes[b].kind == kStr {
		p.Body = envString(e, b)
	}
	return ok
}

func isKind[T string | []byte](d *doc[T], i int32, kinds ...nodeKind) bool {
	for _, k := range kinds {
		if d.nodes[i].kind == k {
			return true
		}
	}
	return false
}

// envString returns the value of string node i of the envelope.
func envString(e *doc[[]byte], i int32) string {
	n := &e.nodes[i]
	if !n.esc {
		return string(e.s[n.start+1 : n.end-1])
	}
	return string(appendUnquoted(nil, e.s[n.start:n.end]))
}

// envStringField sets *dst from a string member (absent or null: left
// alone, as encoding/json does); false for any other type.
func envStringField(e *doc[[]byte], i int32, dst *string) bool {
	if i < 0 || e.nodes[i].kind == kNull {
		return true
	}
	if e.nodes[i].kind != kStr {
		return false
	}
	*dst = envString(e, i)
	return true
}

// textOf reads node i of the body as a text leaf (zero when i < 0), exactly
// as text.UnmarshalJSON would.
func textOf(d *doc[string], i int32) text {
	if i < 0 {
		return text{}
	}
	n := &d.nodes[i]
	raw := d.s[n.start:n.end]
	switch {
	case n.kind != kStr:
		return text{v: raw, present: true}
	case !n.esc:
		return text{v: raw[1 : len(raw)-1], present: true, isStr: true}
	}
	return text{v: string(appendUnquoted(nil, raw)), present: true, isStr: true}
}

// pageRecordsFast is the fast pageRecords for a page whose status and
// product were accepted. ok is false, with nothing written, when the body
// is not plain JSON of the expected shape.
func (t *Transformer) pageRecordsFast(c *pageCtx, p *events.OpenDataPage, key string) ([]record, bool) {
	d := &t.body
	var ok bool
	d.s = p.Body
	if d.nodes, ok = parse(p.Body, d.nodes); !ok || d.nodes[0].kind != kObj {
		return nil, false
	}
	var m [1]int32
	if !d.members(0, dataNames, m[:]) || m[0] < 0 {
		return nil, false
	}
	data := m[0]
	out := t.recs[:0]
	switch {
	case p.Family == "products-services":
		var bm, bo [2]int32
		if d.nodes[data].kind != kObj || !d.members(data, brandNames, bm[:1]) || bm[0] < 0 ||
			d.nodes[bm[0]].kind != kObj || !d.members(bm[0], brandObjNames, bo[:]) ||
			bo[1] < 0 || d.nodes[bo[1]].kind != kArr {
			return nil, false
		}
		brand := textOf(d, bo[0]).str()
		ci := 0
		d.elems(bo[1], func(comp int32) {
			out = t.companyRecordsFast(c, ci, comp, key, brand, out)
			ci++
		})
	case len(p.Family) > len("opendata-") && p.Family[:len("opendata-")] == "opendata-":
		if d.nodes[data].kind != kArr {
			return nil, false
		}
		d.elems(data, func(rec int32) {
			out = append(out, record{raw: d.raw(rec), node: rec})
		})
	default:
		return nil, false
	}
	t.recs = out[:0]
	return out, true
}

// companyRecordsFast is companyRecords on the tape: a company is a JSON
// object read as a map (exact keys, the last duplicate wins).
func (t *Transformer) companyRecordsFast(c *pageCtx, ci int, comp int32, key, brand string, out []record) []record {
	d := &t.body
	if d.nodes[comp].kind != kObj {
		return t.companyRecords(c, ci, []byte(d.raw(comp)), key, brand, out)
	}
	name, cnpj, cnpjs := int32(-1), int32(-1), int32(-1)
	var lists [maxProductKeys]int32
	for i := range lists {
		lists[i] = -1
	}
	end := d.nodes[comp].next
	for k := comp + 1; k < end; {
		kn := &d.nodes[k]
		v := k + 1
		k = d.nodes[v].next
		if kn.esc {
			return t.companyRecords(c, ci, []byte(d.raw(comp)), key, brand, out)
		}
		switch s := d.s[kn.start+1 : kn.end-1]; s {
		case "name":
			name = v
		case "cnpjNumber":
			cnpj = v
		case "cnpjNumbers":
			cnpjs = v
		default:
			for i, pk := range productKeyList {
				if s == pk {
					lists[i] = v
					break
				}
			}
		}
	}
	r := record{companyName: textOf(d, name).str(), company: textOf(d, cnpj).str(), brand: brand}
	if r.company == "" {
		r.company = textOf(d, cnpjs).str()
	}
	list, used := int32(-1), key
	for i, pk := range productKeyList {
		if pk == key {
			list = lists[i]
		}
	}
	if list < 0 {
		for i, pk := range productKeyList {
			if lists[i] >= 0 {
				list, used = lists[i], pk
				break
			}
		}
		if list < 0 {
			t.noProducts(c, ci, key)
			return out
		}
		t.productKey(c, ci, used, key)
	}
	switch d.nodes[list].kind {
	case kArr:
		d.elems(list, func(it int32) {
			r.raw, r.node = d.raw(it), it
			out = append(out, r)
		})
	case kNull:
	default:
		t.quarantine(c, -1, KindRecord, fmt.Sprintf("data.brand.companies[%d].%s is not an array", ci, used), d.raw(list))
	}
	return out
}

// addRecordFast is addRecordSlow on the tape; false, with nothing written,
// when the record is not plain.
func (t *Transformer) addRecordFast(c *pageCtx, idx int32, r *record, schemaBad bool) bool {
	d := &t.body
	if d.nodes[r.node].kind != kObj {
		return false
	}
	var m [8]int32
	if !d.members(r.node, recordNames, m[:]) {
		return false
	}
	var pcnpj, pname, pbrand string
	if pn := m[0]; pn >= 0 && d.nodes[pn].kind != kNull {
		var pm [3]int32
		if d.nodes[pn].kind != kObj || !d.members(pn, participantNames, pm[:]) {
			return false
		}
		pbrand, pname, pcnpj = textOf(d, pm[0]).str(), textOf(d, pm[1]).str(), textOf(d, pm[2]).str()
	}
	productType := textOf(d, m[1]).str()
	if in := m[2]; in >= 0 && d.nodes[in].kind == kObj {
		var im [1]int32
		if !d.members(in, productNames, im[:]) {
			return false
		}
		if pn := im[0]; pn >= 0 && d.nodes[pn].kind == kObj { // any other type: encoding/json fails, ignored
			var tm [1]int32
			if !d.members(pn, typeNames, tm[:]) {
				return false
			}
			if s := textOf(d, tm[0]).str(); s != "" {
				productType = s
			}
		}
	}
	var fm [3]int32
	fees := m[3]
	if fees >= 0 && d.nodes[fees].kind == kObj && !d.members(fees, feeGroupNames, fm[:]) {
		return false
	}
	var im [5]int32
	interest := m[7]
	if interest >= 0 && d.nodes[interest].kind == kObj && !d.members(interest, interestNames, im[:]) {
		return false
	}

	rc := recordCtx(c, r, pcnpj, pname, pbrand)
	ctx := rowCtx{pageCtx: &rc, schemaBad: schemaBad, recordIndex: idx, productType: productType}
	if fees >= 0 {
		switch d.nodes[fees].kind {
		case kObj:
			t.feeList(&ctx, "priorityServices", false, fm[0])
			t.feeList(&ctx, "otherServices", false, fm[1])
			t.feeList(&ctx, "services", false, fm[2])
		case kNull:
		default:
			t.wrongShape(&rc, idx, KindFee, "fees is not an object", d.raw(fees))
		}
	}
	t.feeList(&ctx, "serviceBundles", true, m[4])
	t.rateList(&ctx, "interestRates", m[5])
	t.rateList(&ctx, "interestRate", m[6])
	if interest >= 0 {
		switch d.nodes[interest].kind {
		case kObj:
			t.rateList(&ctx, "interest.rates", im[0])
			t.rateList(&ctx, "interest.instalmentRates", im[1])
			for i, n := range im[2:] {
				if n >= 0 && d.nodes[n].kind != kNull {
					t.v100Interest(&rc, idx, v100InterestGroups[i], d.raw(n))
				}
			}
		case kNull:
		default:
			t.wrongShape(&rc, idx, KindRate, "interest is not an object", d.raw(interest))
		}
	}
	return true
}

// feeList is addFees for array node l (rawList semantics: absent, null or
// "NA" is empty, anything else but an array is quarantined).
func (t *Transformer) feeList(ctx *rowCtx, group string, bundle bool, l int32) {
	d := &t.body
	if l < 0 {
		return
	}
	switch d.nodes[l].kind {
	case kArr:
		for k := l + 1; k < d.nodes[l].next; k = d.nodes[k].next {
			t.addFee(ctx, group, bundle, item{raw: d.raw(k), node: k})
		}
	case kNull:
	default:
		t.wrongShape(ctx.pageCtx, ctx.recordIndex, KindFee, group+" is not an array", d.raw(l))
	}
}

// rateList is addRates for array node l.
func (t *Transformer) rateList(ctx *rowCtx, group string, l int32) {
	d := &t.body
	if l < 0 {
		return
	}
	switch d.nodes[l].kind {
	case kArr:
		for k := l + 1; k < d.nodes[l].next; k = d.nodes[k].next {
			t.addRate(ctx, item{raw: d.raw(k), node: k})
		}
	case kNull:
	default:
		t.wrongShape(ctx.pageCtx, ctx.recordIndex, KindRate, rateGroupNotArray(group, d.raw(l)), d.raw(l))
	}
}

// decodeFee fills f from fee element n; false when n is not plain.
func (t *Transformer) decodeFee(n int32, f *feeJSON) bool {
	d := &t.body
	if d.nodes[n].kind != kObj {
		return false
	}
	var m [6]int32
	if !d.members(n, feeNames, m[:]) {
		return false
	}
	*f = feeJSON{Name: textOf(d, m[0]), Code: textOf(d, m[1]), ChargingTriggerInfo: textOf(d, m[2]), Prices: f.Prices[:0]}
	if ps := m[3]; ps >= 0 {
		if d.nodes[ps].kind != kArr {
			return false
		}
		for k := ps + 1; k < d.nodes[ps].next; k = d.nodes[k].next {
			f.Prices = append(f.Prices, priceJSON{})
			if !t.decodePrice(k, &f.Prices[len(f.Prices)-1]) {
				return false
			}
		}
	}
	for _, x := range []struct {
		n   int32
		buf *moneyJSON
		dst **moneyJSON
	}{{m[4], &t.min, &f.Minimum}, {m[5], &t.max, &f.Maximum}} {
		if x.n < 0 {
			continue
		}
		var mm [2]int32
		if d.nodes[x.n].kind != kObj || !d.members(x.n, moneyNames, mm[:]) {
			return false
		}
		*x.buf = moneyJSON{Value: textOf(d, mm[0]), Currency: textOf(d, mm[1])}
		*x.dst = x.buf
	}
	return true
}

func (t *Transformer) decodePrice(n int32, p *priceJSON) bool {
	d := &t.body
	var m [5]int32
	if d.nodes[n].kind != kObj || !d.members(n, priceNames, m[:]) {
		return false
	}
	*p = priceJSON{Interval: textOf(d, m[0]), Value: textOf(d, m[1]), MonthlyFee: textOf(d, m[2]), Currency: textOf(d, m[3])}
	return t.decodeRateHolder(m[4], &p.Customers)
}

// decodeRateHolder reads a {"rate": ...} member (absent or null: zero).
func (t *Transformer) decodeRateHolder(n int32, h *rateHolder) bool {
	d := &t.body
	if n < 0 || d.nodes[n].kind == kNull {
		return true
	}
	var m [1]int32
	if d.nodes[n].kind != kObj || !d.members(n, rateHolderNames, m[:]) {
		return false
	}
	h.Rate = textOf(d, m[0])
	return true
}

// decodeRate fills x from rate element n; false when n is not plain.
func (t *Transformer) decodeRate(n int32, x *rateJSON) bool {
	d := &t.body
	if d.nodes[n].kind != kObj {
		return false
	}
	var m [6]int32
	if !d.members(n, rateNames, m[:]) {
		return false
	}
	*x = rateJSON{ReferentialRateIndexer: textOf(d, m[0]), ReferentialRateOrIndexer: textOf(d, m[1]),
		Rate: textOf(d, m[2]), MinimumRate: textOf(d, m[4]), MaximumRate: textOf(d, m[5]), Applications: x.Applications[:0]}
	if as := m[3]; as >= 0 {
		if d.nodes[as].kind != kArr {
			return false
		}
		for k := as + 1; k < d.nodes[as].next; k = d.nodes[k].next {
			var am [3]int32
			if d.nodes[k].kind != kObj || !d.members(k, appNames, am[:]) {
				return false
			}
			x.Applications = append(x.Applications, applicationJSON{Interval: textOf(d, am[0])})
			a := &x.Applications[len(x.Applications)-1]
			if !t.decodeRateHolder(am[1], &a.Indexer) || !t.decodeRateHolder(am[2], &a.Customers) {
				return false
			}
		}
	}
	return true
}

// maxProductKeys bounds productKeyList (checked in init).
const maxProductKeys = 16

func init() {
	if len(productKeyList) > maxProductKeys {
		panic("opendata: raise maxProductKeys")
	}
}
