package opendata

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/ofp-dev/ofp/internal/events"
	"github.com/ofp-dev/ofp/internal/oas"
)

// Quarantine kinds.
const (
	KindPage   = "page"
	KindRecord = "record"
	KindFee    = "fee"
	KindRate   = "rate"
)

// maxRawBytes caps the raw column of a quarantine row; the complete bytes
// stay in the lake (opendata_pages.raw_object) for replay.
const maxRawBytes = 64 << 10

// validationCacheSize bounds the validation cache (entries, not bytes).
const validationCacheSize = 1 << 16

// productKeys maps the endpoint name to the products-services v1 key of the
// product array inside data.brand.companies[].
var productKeys = map[string]string{
	"personal-accounts":                     "personalAccounts",
	"business-accounts":                     "businessAccounts",
	"personal-loans":                        "personalLoans",
	"business-loans":                        "businessLoans",
	"personal-credit-cards":                 "personalCreditCards",
	"business-credit-cards":                 "businessCreditCards",
	"personal-financings":                   "personalFinancings",
	"business-financings":                   "businessFinancings",
	"personal-invoice-financings":           "personalInvoiceFinancings",
	"business-invoice-financings":           "businessInvoiceFinancings",
	"personal-unarranged-account-overdraft": "personalUnarrangedAccountOverdraft",
	"business-unarranged-account-overdraft": "businessUnarrangedAccountOverdraft",
}

// productKeyList is the values of productKeys in a fixed order.
var productKeyList = func() []string {
	var out []string
	for _, k := range productKeys {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}()

// Transformer turns raw Kafka records of ofp.opendata.raw into Arrow rows.
// It is not safe for concurrent use: one per consumer goroutine.
type Transformer struct {
	v      *oas.Validator
	mem    memory.Allocator
	log    *slog.Logger
	tables map[string]*table

	seed  maphash.Seed
	cache map[uint64]validation

	// per-Add state
	src   source
	flags flagSet

	memo *Memo     // page tapes by content (memo.go)
	tape *pageTape // the tape being recorded while a page takes the full path

	// The contents whose items this batch (since the last Flush) holds,
	// in order; noItems says the current page's are among them.
	emitted     map[contentKey]struct{}
	emittedList []contentKey
	noItems     bool

	// fast path scratch, reused across Adds (see fast.go)
	fast    bool // false: decode everything with encoding/json (the reference path)
	env     doc[[]byte]
	body    doc[string]
	bodyBuf []byte    // decoded strings of the envelope
	spans   []unqSpan // where each is in bodyBuf
	recs    []record
	items   []item
	fee     feeJSON
	rate    rateJSON
	min     moneyJSON
	max     moneyJSON
}

type source struct {
	topic     string
	partition int32
	offset    int64
	ordinal   map[string]int32
}

type validation struct {
	violations []oas.Violation
}

type table struct {
	rb   *array.RecordBuilder
	b    []array.Builder
	rows int
}

// NewTransformer builds a Transformer. v may be nil, which disables schema
// validation (every page gets one "unknown_spec" finding).
func NewTransformer(v *oas.Validator, mem memory.Allocator, log *slog.Logger) *Transformer {
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := &Transformer{v: v, mem: mem, log: log, tables: map[string]*table{},
		seed: maphash.MakeSeed(), cache: map[uint64]validation{}, fast: true, memo: NewMemo(DefaultMemoBytes / 4),
		emitted: map[contentKey]struct{}{}}
	for _, name := range Datasets {
		rb := array.NewRecordBuilder(mem, schemas[name])
		t.tables[name] = &table{rb: rb, b: rb.Fields()}
	}
	t.src.ordinal = map[string]int32{}
	return t
}

// WithMemo makes t share m with other Transformers (one per partition) instead
// of its own smaller Memo; nil disables memoisation. It returns t.
func (t *Transformer) WithMemo(m *Memo) *Transformer {
	t.memo = m
	return t
}

// Flush returns one record per dataset that received rows since the last
// Flush and resets the builders. The caller releases the records. The
// builders start empty again (they grow as rows come), so that a flushed
// batch being written is not doubled by buffers reserved for the next.
// Flush is FlushAck for a batch that will be loaded: use FlushAck when it
// may not be.
func (t *Transformer) Flush() map[string]arrow.RecordBatch {
	out, ack := t.FlushAck()
	ack(true)
	return out
}

// FlushAck is Flush, plus ack, to call once with the batch's outcome:
// loaded (in the lake and the warehouse), or not (failed, abandoned).
// Later pages of the contents whose items the batch holds are replayed
// without items (see Memo); ack(false) makes their next page write them
// again. A batch that is never acknowledged must not be loaded.
func (t *Transformer) FlushAck() (batch map[string]arrow.RecordBatch, ack func(loaded bool)) {
	keys := t.emittedList
	t.emittedList = nil
	clear(t.emitted)
	memo := t.memo
	ack = func(loaded bool) {
		if memo != nil {
			memo.settle(keys, loaded)
		}
	}
	out := map[string]arrow.RecordBatch{}
	for name, tb := range t.tables {
		if tb.rows == 0 {
			continue
		}
		out[name] = tb.rb.NewRecordBatch()
		tb.rows = 0
	}
	return out, ack
}

// Release frees the builders; the Transformer cannot be used afterwards.
func (t *Transformer) Release() {
	for _, tb := range t.tables {
		tb.rb.Release()
	}
}

// pageCtx holds the common columns and the page columns of rows from one page.
type pageCtx struct {
	collectionID                              string
	collectedAt                               time.Time
	orgID, orgName, cnpj, instName, brand     string
	simulated                                 bool
	family, apiVersion, product, segment, url string
	page                                      int32
	ov                                        overrides // what the record's own data set (recordCtx)

	// the page row's own columns
	status    int32
	bodyLen   int
	rawObject string
	key       string // content_key
}

// at starts the rows of the record at offset of topic/partition.
func (t *Transformer) at(topic string, partition int32, offset int64) {
	t.src.topic, t.src.partition, t.src.offset = topic, partition, offset
	clear(t.src.ordinal)
}

// AddRecord appends the rows derived from one Kafka record in either
// content mode: a record with a ce_type header is in CloudEvents' binary
// mode (the page body is the value, its metadata the ce_ofpmeta header;
// see events.Envelope), any other is a JSON envelope (Add). A binary page
// whose content's items are stored is replayed without reading its body
// beyond one hash. It never fails on bad content.
func (t *Transformer) AddRecord(rec *kgo.Record) {
	var typ, meta []byte
	binary := false
	for _, h := range rec.Headers {
		switch h.Key {
		case events.HeaderType:
			typ, binary = h.Value, true
		case events.HeaderMeta:
			meta = h.Value
		}
	}
	if !binary {
		t.Add(rec.Topic, rec.Partition, rec.Offset, rec.Value)
		return
	}
	t.at(rec.Topic, rec.Partition, rec.Offset)
	if string(typ) != events.TypeOpenDataPage {
		t.quarantine(&pageCtx{}, -1, KindPage, fmt.Sprintf("unexpected event type %q in binary mode", typ), string(rec.Value))
		return
	}
	var p events.OpenDataPage
	if !t.fast || !t.metaFast(meta, &p) {
		p = events.OpenDataPage{}
		if err := unmarshal(meta, &p); err != nil {
			t.quarantine(&pageCtx{}, -1, KindPage, "header "+events.HeaderMeta+" is not an open-data page: "+err.Error(), string(meta))
			return
		}
	}
	addPage(t, &p, rec.Value, t.fast)
}

// Add appends the rows derived from one Kafka record. It never fails on bad
// content: what cannot be used becomes quarantined items or findings
// (the views opendata_quarantine and opendata_findings).
func (t *Transformer) Add(topic string, partition int32, offset int64, value []byte) {
	t.at(topic, partition, offset)
	if t.fast && t.addFast(value) {
		return
	}

	env, err := decodeEnvelope(value)
	if err != nil {
		t.quarantine(&pageCtx{}, -1, KindPage, err.Error(), string(value))
		return
	}
	switch env.Type {
	case events.TypeOpenDataPage:
		var p events.OpenDataPage
		if err := unmarshal(env.Payload, &p); err != nil {
			t.quarantine(&pageCtx{}, -1, KindPage, "payload is not an open-data page: "+err.Error(), string(env.Payload))
			return
		}
		addPage(t, &p, p.Body, false)
	case events.TypeOpenDataCollection:
		var c events.CollectionStatus
		if err := json.Unmarshal(env.Payload, &c); err != nil {
			t.quarantine(&pageCtx{}, -1, KindPage, "payload is not a collection status: "+err.Error(), string(env.Payload))
			return
		}
		t.addCollection(&c)
	default:
		t.quarantine(&pageCtx{}, -1, KindPage, fmt.Sprintf("unexpected event type %q", env.Type), string(value))
	}
}

func segmentOf(product string) string {
	switch {
	case strings.HasPrefix(product, "personal-"):
		return "personal"
	case strings.HasPrefix(product, "business-"):
		return "business"
	}
	return ""
}

// record is one product item with the company it was listed under (v1).
type record struct {
	raw                  string
	node                 int32  // the item in t.body, or -1: decode raw with encoding/json
	companyName, company string // v1 company name and CNPJ
	brand                string // v1 data.brand.name
}

// item is one element of a fee or rate array.
type item struct {
	raw  string
	node int32 // the element in t.body, or -1: decode raw with encoding/json
}

// newPageCtx is the context of the rows of page p, whose content is key
// and whose body has bodyLen bytes (p.Body may not hold it yet).
func newPageCtx(p *events.OpenDataPage, key contentKey, bodyLen int) *pageCtx {
	return &pageCtx{
		collectionID: p.CollectionID, collectedAt: p.FetchedAt.UTC(),
		orgID: p.Institution.OrganisationID, orgName: p.Institution.OrganisationName,
		cnpj: p.Institution.CNPJ, instName: p.Institution.OrganisationName, brand: p.Institution.Brand,
		simulated: p.Institution.Simulated, family: p.Family, apiVersion: p.APIVersion,
		product: p.Product, segment: segmentOf(p.Product), url: p.URL, page: int32(p.Page),
		status: int32(p.StatusCode), bodyLen: bodyLen, rawObject: p.RawObject, key: key.String(),
	}
}

// addPage adds the rows of page p whose body is body (p.Body is set from
// it, a copy for a []byte, only when the page takes the full path). fast
// says the body may be read with the fast reader (see fast.go).
func addPage[T string | []byte](t *Transformer, p *events.OpenDataPage, body T, fast bool) {
	key := pageContentKey(p, t.v != nil, body)
	c := newPageCtx(p, key, len(body))
	if t.replayed(c, key) {
		return
	}
	p.Body = string(body)
	t.fullPage(c, key, p, fast)
}

// replayed writes the page's rows from the Memo when its content is there
// (its items are written), and reports whether it did.
func (t *Transformer) replayed(c *pageCtx, key contentKey) bool {
	if t.memo == nil || t.memo.max <= 0 {
		return false
	}
	tp := t.memo.get(key)
	if tp == nil {
		return false
	}
	t.replay(c, tp)
	return true
}

// fullPage parses, validates and interprets page p, writing its content's
// items unless this batch holds them already (a content the Memo could not
// keep), and records its tape in the Memo.
func (t *Transformer) fullPage(c *pageCtx, key contentKey, p *events.OpenDataPage, fast bool) {
	_, t.noItems = t.emitted[key]
	if !t.noItems {
		t.emitted[key] = struct{}{}
		t.emittedList = append(t.emittedList, key)
	}
	if t.memo != nil && t.memo.max > 0 {
		t.tape = &pageTape{}
		defer func() {
			t.memo.put(key, t.tape)
			t.tape = nil
		}()
	}
	records, reason := t.pageRecords(c, p, fast)
	if reason != "" {
		t.quarantine(c, -1, KindPage, reason, p.Body)
		t.pageRow(c, 0, reason)
		return
	}
	validate := t.v != nil
	if validate {
		if _, err := t.v.Resolve(p.Family, p.APIVersion, p.Product); err != nil {
			validate = false
			t.finding(c, -1, "", "unknown_spec", err.Error())
		}
	} else {
		t.finding(c, -1, "", "unknown_spec", "no validator configured")
	}
	for i := range records {
		t.addRecord(c, int32(i), &records[i], validate)
	}
	t.pageRow(c, len(records), "")
}

// pageRecords splits a page body into product records, or says why the page
// cannot be read.
func (t *Transformer) pageRecords(c *pageCtx, p *events.OpenDataPage, fast bool) ([]record, string) {
	if p.StatusCode < 200 || p.StatusCode > 299 {
		return nil, fmt.Sprintf("HTTP status %d", p.StatusCode)
	}
	key, known := productKeys[p.Product]
	if !known {
		return nil, fmt.Sprintf("product %q is not a fee/rate product", p.Product)
	}
	if fast {
		if recs, ok := t.pageRecordsFast(c, p, key); ok {
			return recs, ""
		}
	}
	body := []byte(p.Body)
	switch {
	case p.Family == "products-services":
		var pg pageV1
		if err := unmarshal(body, &pg); err != nil {
			return nil, pageReason("products-services", err)
		}
		if pg.Data.Brand.Companies == nil {
			return nil, "unexpected products-services page shape: no data.brand.companies array"
		}
		var out []record
		for ci, raw := range pg.Data.Brand.Companies {
			out = t.companyRecords(c, ci, raw, key, pg.Data.Brand.Name.str(), out)
		}
		return out, ""
	case strings.HasPrefix(p.Family, "opendata-"):
		var pg struct {
			Data rawList `json:"data"`
		}
		if err := unmarshal(body, &pg); err != nil {
			return nil, pageReason("opendata", err)
		}
		if !pg.Data.present || pg.Data.bad != nil {
			return nil, "unexpected opendata page shape: no data array"
		}
		out := make([]record, len(pg.Data.items))
		for i, it := range pg.Data.items {
			out[i] = record{raw: string(it), node: -1}
		}
		return out, ""
	}
	return nil, fmt.Sprintf("family %q is not an open-data fee/rate family", p.Family)
}

// companyRecords appends the records of one products-services v1 company
// decoded with encoding/json (the reference for pageRecordsFast).
func (t *Transformer) companyRecords(c *pageCtx, ci int, raw []byte, key, brand string, out []record) []record {
	var comp companyV1
	if err := unmarshal(raw, &comp); err != nil || comp == nil {
		t.quarantine(c, -1, KindRecord, fmt.Sprintf("data.brand.companies[%d] is not an object", ci), string(raw))
		return out
	}
	var name, cnpj, cnpjs text
	_ = json.Unmarshal(comp["name"], &name)
	_ = json.Unmarshal(comp["cnpjNumber"], &cnpj)
	_ = json.Unmarshal(comp["cnpjNumbers"], &cnpjs) // products-services 1.0.0 spelling
	r := record{node: -1, companyName: name.str(), company: cnpj.str(), brand: brand}
	if r.company == "" {
		r.company = cnpjs.str()
	}
	list, used := comp[key], key
	if list == nil {
		for _, k := range productKeyList { // a product array under another product's key
			if comp[k] != nil {
				list, used = comp[k], k
				break
			}
		}
		if list == nil {
			t.noProducts(c, ci, key)
			return out
		}
		t.productKey(c, ci, used, key)
	}
	var items []json.RawMessage
	if err := unmarshal(list, &items); err != nil {
		t.quarantine(c, -1, KindRecord, fmt.Sprintf("data.brand.companies[%d].%s is not an array", ci, used), string(list))
		return out
	}
	for _, it := range items {
		r.raw = string(it)
		out = append(out, r)
	}
	return out
}

func (t *Transformer) noProducts(c *pageCtx, ci int, key string) {
	t.finding(c, -1, fmt.Sprintf("/data/brand/companies/%d", ci), "no_products",
		fmt.Sprintf("company lists no %q array", key))
}

func (t *Transformer) productKey(c *pageCtx, ci int, used, key string) {
	t.finding(c, -1, fmt.Sprintf("/data/brand/companies/%d/%s", ci, used), "product_key",
		fmt.Sprintf("products listed under %q, expected %q", used, key))
}

// pageReason says why a page body could not be decoded.
func pageReason(shape string, err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return "unexpected " + shape + " page shape: " + jsonReason(err)
	}
	return "body is not valid JSON (malformed or truncated)"
}

func jsonReason(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("%s is a JSON %s", te.Field, te.Value)
	}
	return err.Error()
}

// violations validates one record, memoising by content: collections repeat
// the same products day after day.
func (t *Transformer) violations(c *pageCtx, r *record) []oas.Violation {
	raw := r.raw
	var h maphash.Hash
	h.SetSeed(t.seed)
	h.WriteString(c.family)
	h.WriteByte(0)
	h.WriteString(c.apiVersion)
	h.WriteByte(0)
	h.WriteString(c.product)
	h.WriteByte(0)
	h.WriteString(raw)
	key := h.Sum64()
	if v, ok := t.cache[key]; ok {
		return v.violations
	}
	res, err := t.v.ValidateJSON(c.family, c.apiVersion, c.product, raw)
	if err != nil {
		if errors.Is(err, oas.ErrUnknownSpec) { // resolved once per page already; kept for safety
			return []oas.Violation{{Rule: "unknown_spec", Message: err.Error()}}
		}
		return []oas.Violation{{Rule: "json", Message: err.Error()}}
	}
	if len(t.cache) >= validationCacheSize {
		clear(t.cache)
	}
	t.cache[key] = validation{violations: res.Violations}
	return res.Violations
}

// rowCtx is what one record contributes to its fee and rate rows.
type rowCtx struct {
	*pageCtx
	productType string
	schemaBad   bool
	recordIndex int32
}

func (t *Transformer) addRecord(c *pageCtx, idx int32, r *record, validate bool) {
	var viol []oas.Violation
	if validate {
		viol = t.violations(c, r)
		for _, v := range viol {
			t.finding(c, idx, v.Field, v.Rule, v.Message)
		}
	}
	if r.node >= 0 && t.addRecordFast(c, idx, r, len(viol) > 0) {
		return
	}
	t.addRecordSlow(c, idx, r, len(viol) > 0)
}

// recordCtx is the context of the items of one record: the page's, with
// the record's own participant/company (ov, the items' record_* columns),
// which wins over the directory's view of the institution.
func recordCtx(c *pageCtx, r *record, cnpj, name, brand string) pageCtx {
	rc := *c
	rc.ov = overrides{cnpj: r.company, instName: r.companyName, brand: r.brand}.over(overrides{cnpj: cnpj, instName: name, brand: brand})
	return rc
}

// addRecordSlow decodes a record with encoding/json (the reference for
// addRecordFast).
func (t *Transformer) addRecordSlow(c *pageCtx, idx int32, r *record, schemaBad bool) {
	var prod productJSON
	if err := unmarshal([]byte(r.raw), &prod); err != nil {
		t.quarantine(c, idx, KindRecord, "record is not a product object: "+jsonReason(err), r.raw)
		return
	}
	var rc pageCtx
	if pp := prod.Participant; pp != nil {
		rc = recordCtx(c, r, pp.CNPJNumber.str(), pp.Name.str(), pp.Brand.str())
	} else {
		rc = recordCtx(c, r, "", "", "")
	}
	ctx := rowCtx{pageCtx: &rc, schemaBad: schemaBad, recordIndex: idx, productType: prod.Type.str()}
	if prod.Identification.raw != nil { // credit cards: identification.product.type
		var id identificationJSON
		if unmarshal(prod.Identification.raw, &id) == nil && id.Product.Type.str() != "" {
			ctx.productType = id.Product.Type.str()
		}
	}

	if prod.Fees.bad != nil {
		t.wrongShape(&rc, idx, KindFee, "fees is not an object", string(prod.Fees.bad))
	} else if prod.Fees.raw != nil {
		var fees feesJSON
		if err := unmarshal(prod.Fees.raw, &fees); err != nil {
			t.quarantine(&rc, idx, KindFee, "unknown fee shape: "+jsonReason(err), string(prod.Fees.raw))
		} else {
			t.addFees(&ctx, "priorityServices", false, &fees.PriorityServices)
			t.addFees(&ctx, "otherServices", false, &fees.OtherServices)
			t.addFees(&ctx, "services", false, &fees.Services)
		}
	}
	t.addFees(&ctx, "serviceBundles", true, &prod.ServiceBundles)

	t.addRates(&ctx, "interestRates", &prod.InterestRates)
	t.addRates(&ctx, "interestRate", &prod.InterestRate)
	if prod.Interest.bad != nil {
		t.wrongShape(&rc, idx, KindRate, "interest is not an object", string(prod.Interest.bad))
	} else if prod.Interest.raw != nil {
		var in interestJSON
		if err := unmarshal(prod.Interest.raw, &in); err != nil {
			t.quarantine(&rc, idx, KindRate, "unknown rate shape: "+jsonReason(err), string(prod.Interest.raw))
		} else {
			t.addRates(&ctx, "interest.rates", &in.Rates)
			t.addRates(&ctx, "interest.instalmentRates", &in.InstalmentRates)
			for i, raw := range []json.RawMessage{in.FeeRate, in.InstalmentRate, in.InterestRates} { // v100InterestGroups' order
				if raw != nil && string(raw) != "null" {
					t.v100Interest(&rc, idx, v100InterestGroups[i], string(raw))
				}
			}
		}
	}
}

// v100InterestGroups are the members of a credit card's interest object in
// products-services 1.0.0: feeRate and instalmentRate ({prices: [{interval:
// N_QUARTIL_CLIENTES, rate}], minimumRate, maximumRate}) and interestRates
// (the same per operation code). They carry no indexer, the key the rate
// comparison groups by, so they are not read as rates; but they are rates,
// never dropped unseen: each group is quarantined whole, with the reason.
var v100InterestGroups = [...]string{"feeRate", "instalmentRate", "interestRates"}

// rateGroupNotArray says what is wrong with the rate group raw, which is no
// array: a loan's or financing's interestRate object is products-services
// 1.0.0's layout ({applications: [{interval: N_QUARTIL_CLIENTES, rate}],
// minimumRate, maximumRate}: no indexer either).
func rateGroupNotArray(group, raw string) string {
	if group == "interestRate" && strings.HasPrefix(raw, "{") {
		return "interestRate is the products-services 1.0.0 layout (one object of quartile bands, no indexer), not read as rates"
	}
	return group + " is not an array"
}

// v100Interest quarantines the 1.0.0 interest group name (raw is its JSON).
func (t *Transformer) v100Interest(c *pageCtx, recordIndex int32, name, raw string) {
	t.wrongShape(c, recordIndex, KindRate, "interest."+name+" is the products-services 1.0.0 layout (quartile bands, no indexer), not read as rates", raw)
}

// wrongShape quarantines raw, found where a fee or rate group (or the fees
// or interest object) belongs and not of its shape (what says how), as a
// fee or rate (kind) of unknown shape; unless raw is the specs' "NA": not
// applicable, so no figures. products-services 1.0.2 requires properties
// it never declares (interestRate of loans and overdrafts, beside the
// interestRates it does declare), and participants fill them with "NA":
// there is nothing to use and nothing to quarantine.
func (t *Transformer) wrongShape(c *pageCtx, recordIndex int32, kind, what, raw string) {
	if raw == `"NA"` {
		return
	}
	t.quarantine(c, recordIndex, kind, "unknown "+kind+" shape: "+what, raw)
}

func (t *Transformer) addFees(ctx *rowCtx, group string, bundle bool, l *rawList) {
	if l.bad != nil {
		t.wrongShape(ctx.pageCtx, ctx.recordIndex, KindFee, group+" is not an array", string(l.bad))
		return
	}
	for _, raw := range l.items {
		t.addFee(ctx, group, bundle, item{raw: string(raw), node: -1})
	}
}

// addFee adds one fee element as a fee row or a quarantine row.
func (t *Transformer) addFee(ctx *rowCtx, group string, bundle bool, it item) {
	f := &t.fee
	if it.node < 0 || !t.decodeFee(it.node, f) {
		f = &feeJSON{}
		if err := unmarshal([]byte(it.raw), f); err != nil {
			t.quarantine(ctx.pageCtx, ctx.recordIndex, KindFee, "unknown fee shape: "+jsonReason(err), it.raw)
			return
		}
	}
	t.flags.list = t.flags.list[:0]
	if ctx.schemaBad {
		t.flags.add(FlagSchemaViolation)
	}
	row, reason := interpretFee(f, group, bundle, &t.flags)
	if reason != "" {
		t.quarantine(ctx.pageCtx, ctx.recordIndex, KindFee, reason, it.raw)
		return
	}
	t.feeRow(ctx, &row)
}

func (t *Transformer) addRates(ctx *rowCtx, group string, l *rawList) {
	if l.bad != nil {
		t.wrongShape(ctx.pageCtx, ctx.recordIndex, KindRate, rateGroupNotArray(group, string(l.bad)), string(l.bad))
		return
	}
	for _, raw := range l.items {
		t.addRate(ctx, item{raw: string(raw), node: -1})
	}
}

// addRate adds one interest-rate element as a rate row or a quarantine row.
func (t *Transformer) addRate(ctx *rowCtx, it item) {
	x := &t.rate
	if it.node < 0 || !t.decodeRate(it.node, x) {
		x = &rateJSON{}
		if err := unmarshal([]byte(it.raw), x); err != nil {
			t.quarantine(ctx.pageCtx, ctx.recordIndex, KindRate, "unknown rate shape: "+jsonReason(err), it.raw)
			return
		}
	}
	t.flags.list = t.flags.list[:0]
	if ctx.schemaBad {
		t.flags.add(FlagSchemaViolation)
	}
	row, reason := interpretRate(x, &t.flags)
	if reason != "" {
		t.quarantine(ctx.pageCtx, ctx.recordIndex, KindRate, reason, it.raw)
		return
	}
	t.rateRow(ctx, &row)
}

// ---- row writers ----

// row appends one row to a dataset column by column, in schema order.
type row struct {
	tb *table
	i  int
}

func (t *Transformer) begin(dataset string) row {
	tb := t.tables[dataset]
	tb.rows++
	return row{tb: tb}
}

func (r *row) str(s string) {
	r.tb.b[r.i].(*array.StringBuilder).Append(s)
	r.i++
}

func (r *row) optStr(s string) {
	if s == "" {
		r.tb.b[r.i].(*array.StringBuilder).AppendNull()
	} else {
		r.tb.b[r.i].(*array.StringBuilder).Append(s)
	}
	r.i++
}

func (r *row) dec(d dec) {
	b := r.tb.b[r.i].(*array.Decimal128Builder)
	if d.ok {
		b.Append(decimal128.FromI64(d.v))
	} else {
		b.AppendNull()
	}
	r.i++
}

func (r *row) ts(at time.Time) {
	r.tb.b[r.i].(*array.TimestampBuilder).Append(arrow.Timestamp(at.UnixMicro()))
	r.i++
}

func (r *row) i32(v int32) {
	r.tb.b[r.i].(*array.Int32Builder).Append(v)
	r.i++
}

func (r *row) i64(v int64) {
	r.tb.b[r.i].(*array.Int64Builder).Append(v)
	r.i++
}

func (r *row) boolean(v bool) {
	r.tb.b[r.i].(*array.BooleanBuilder).Append(v)
	r.i++
}

func (r *row) common(c *pageCtx) {
	r.str(c.collectionID)
	r.ts(c.collectedAt)
	r.str(c.orgID)
	r.str(c.orgName)
	r.str(c.cnpj)
	r.str(c.instName)
	r.str(c.brand)
	r.boolean(c.simulated)
	r.str(c.family)
	r.str(c.apiVersion)
	r.str(c.product)
	r.str(c.segment)
}

func (t *Transformer) end(r *row, dataset string) {
	n := t.src.ordinal[dataset]
	t.src.ordinal[dataset] = n + 1
	r.str(t.src.topic)
	r.i32(t.src.partition)
	r.i64(t.src.offset)
	r.i32(n)
}

// beginItem starts an item row of dataset (opendata_fee_items or
// opendata_rate_items) for the record ctx; ok is false when this batch
// holds the page content's items already.
func (t *Transformer) beginItem(ctx *rowCtx, dataset string) (r row, ok bool) {
	if r, ok = t.beginNote(ctx.pageCtx, dataset); ok {
		r.str(ctx.productType)
	}
	return r, ok
}

func (t *Transformer) feeRow(ctx *rowCtx, f *feeRow) {
	r, ok := t.beginItem(ctx, DatasetFeeItems)
	if !ok {
		return
	}
	r.str(f.group)
	r.str(f.code)
	r.str(f.name)
	r.str(f.trigger)
	r.str(f.currency)
	r.dec(f.min)
	r.dec(f.max)
	for _, d := range f.median {
		r.dec(d)
	}
	for _, d := range f.customers {
		r.dec(d)
	}
	r.str(f.flags)
}

func (t *Transformer) rateRow(ctx *rowCtx, x *rateRow) {
	r, ok := t.beginItem(ctx, DatasetRateItems)
	if !ok {
		return
	}
	r.str(x.indexer)
	r.dec(x.rate)
	for _, d := range x.bandRate {
		r.dec(d)
	}
	for _, d := range x.custs {
		r.dec(d)
	}
	r.dec(x.minRate)
	r.dec(x.maxRate)
	r.str(x.flags)
}

// finding writes a finding of the page content being read: an item of
// its content (opendata_finding_items), unless this batch holds the
// content's items already.
func (t *Transformer) finding(c *pageCtx, recordIndex int32, field, rule, msg string) {
	r, ok := t.beginNote(c, DatasetFindingItems)
	if !ok {
		return
	}
	r.i32(recordIndex)
	r.str(field)
	r.str(rule)
	r.str(msg)
}

// quarantine keeps aside what could not be interpreted, with its reason
// and raw JSON: an item of the page content being read
// (opendata_quarantine_items, unless this batch holds the content's items
// already), or, for a Kafka record that is no page (c has no content), a
// row of its own (opendata_quarantine_rows).
func (t *Transformer) quarantine(c *pageCtx, recordIndex int32, kind, reason string, raw string) {
	t.log.Debug("opendata: quarantined", "kind", kind, "reason", reason, "url", c.url,
		"topic", t.src.topic, "partition", t.src.partition, "offset", t.src.offset)
	if c.key == "" {
		rw := t.begin(DatasetQuarantineRows)
		r := &rw
		r.common(c)
		r.str(c.url)
		r.i32(c.page)
		r.i32(recordIndex)
		r.str(kind)
		r.str(reason)
		r.str(rawTextString(raw))
		t.end(r, DatasetQuarantineRows)
		return
	}
	r, ok := t.beginNote(c, DatasetQuarantineItems)
	if !ok {
		return
	}
	r.i32(recordIndex)
	r.str(kind)
	r.str(reason)
	r.str(rawTextString(raw))
}

// beginNote starts an item row of dataset (findings, quarantine) of the
// content of c, with the record's own institution columns; ok is false
// when this batch holds the content's items already.
func (t *Transformer) beginNote(c *pageCtx, dataset string) (r row, ok bool) {
	n := t.src.ordinal[dataset]
	t.src.ordinal[dataset] = n + 1
	if t.noItems {
		return row{}, false
	}
	r = t.begin(dataset)
	r.str(c.key)
	r.i32(n)
	r.optStr(c.ov.cnpj)
	r.optStr(c.ov.instName)
	r.optStr(c.ov.brand)
	return r, true
}

// rawText makes raw bytes storable as UTF-8, capped at maxRawBytes.
func rawText(b []byte) string { return rawTextString(string(b)) }

// rawTextString is rawText of a string.
func rawTextString(s string) string {
	suffix := ""
	if len(s) > maxRawBytes {
		suffix = fmt.Sprintf("…(truncated, %d bytes)", len(s))
		s = s[:maxRawBytes]
	}
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return s + suffix
}

func (t *Transformer) pageRow(c *pageCtx, records int, parseErr string) {
	if t.tape != nil {
		t.tape.records, t.tape.parseErr = records, strings.Clone(parseErr)
		t.tape.size = int(unsafe.Sizeof(*t.tape)) + len(parseErr)
	}
	rw := t.begin(DatasetPages)
	r := &rw
	r.common(c)
	r.str(c.url)
	r.i32(c.page)
	r.i32(c.status)
	r.i64(int64(c.bodyLen))
	r.i32(int32(records))
	r.optStr(parseErr)
	r.optStr(c.rawObject)
	r.str(c.key)
	t.end(r, DatasetPages)
}

func (t *Transformer) addCollection(s *events.CollectionStatus) {
	rw := t.begin(DatasetCollections)
	r := &rw
	r.str(s.CollectionID)
	r.str(s.Institution.OrganisationID)
	r.str(s.Institution.OrganisationName)
	r.str(s.Institution.CNPJ)
	r.str(s.Institution.Brand)
	r.boolean(s.Institution.Simulated)
	r.ts(s.StartedAt.UTC())
	r.ts(s.FinishedAt.UTC())
	r.str(s.Status)
	r.i32(int32(s.Endpoints))
	r.i32(int32(s.Pages))
	r.i32(int32(s.FailedPages))
	r.i32(int32(s.Retries))
	r.optStr(strings.Join(s.Errors, "\n"))
	t.end(r, DatasetCollections)
	r.optStr(strings.Join(s.NotOffered, "\n"))
}
