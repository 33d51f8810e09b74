package sim

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strconv"
	"strings"
	"unicode/utf8"
)

// val is a generated JSON value. Objects keep their keys in order so that
// encoding is deterministic.
type val struct {
	kind byte // 's' string, 'i' integer, 'b' bool, 'o' object, 'a' array, 'r' raw JSON
	s    string
	i    int64
	b    bool
	keys []string
	vals []*val
}

func str(s string) *val { return &val{kind: 's', s: s} }

func (v *val) get(key string) *val {
	if v == nil || v.kind != 'o' {
		return nil
	}
	for i, k := range v.keys {
		if k == key {
			return v.vals[i]
		}
	}
	return nil
}

func (v *val) set(key string, x *val) {
	for i, k := range v.keys {
		if k == key {
			v.vals[i] = x
			return
		}
	}
	v.keys = append(v.keys, key)
	v.vals = append(v.vals, x)
}

func (v *val) del(key string) {
	for i, k := range v.keys {
		if k == key {
			v.keys = append(v.keys[:i:i], v.keys[i+1:]...)
			v.vals = append(v.vals[:i:i], v.vals[i+1:]...)
			return
		}
	}
}

func (v *val) appendJSON(b []byte) []byte {
	switch v.kind {
	case 's':
		return appendString(b, v.s)
	case 'i':
		return strconv.AppendInt(b, v.i, 10)
	case 'b':
		return strconv.AppendBool(b, v.b)
	case 'r':
		return append(b, v.s...)
	case 'o':
		b = append(b, '{')
		for i, k := range v.keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			b = v.vals[i].appendJSON(b)
		}
		return append(b, '}')
	case 'a':
		b = append(b, '[')
		for i, x := range v.vals {
			if i > 0 {
				b = append(b, ',')
			}
			b = x.appendJSON(b)
		}
		return append(b, ']')
	}
	return append(b, "null"...)
}

func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\n':
			b = append(b, '\\', 'n')
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// hashOf mixes the parts into a 64-bit value; every random choice of the
// simulator derives from one of these, so output depends only on inputs.
func hashOf(parts ...any) uint64 {
	h := fnv.New64a()
	var buf [8]byte
	for _, p := range parts {
		switch x := p.(type) {
		case string:
			h.Write([]byte(x))
		case int:
			binary.LittleEndian.PutUint64(buf[:], uint64(x))
			h.Write(buf[:])
		case int64:
			binary.LittleEndian.PutUint64(buf[:], uint64(x))
			h.Write(buf[:])
		case uint64:
			binary.LittleEndian.PutUint64(buf[:], x)
			h.Write(buf[:])
		default:
			h.Write([]byte(fmt.Sprint(x)))
		}
		h.Write([]byte{0xff})
	}
	// FNV alone mixes short inputs poorly in the high bits; finish with splitmix.
	z := h.Sum64() + 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// unit maps a hash to [0,1).
func unit(h uint64) float64 { return float64(h>>11) / float64(1<<53) }

func newRand(parts ...any) *rand.Rand {
	h := hashOf(parts...)
	return rand.New(rand.NewPCG(h, h^0x6a09e667f3bcc908))
}

// genCtx carries what a record's generator needs to know about who publishes it.
type genCtx struct {
	r       *rand.Rand
	inst    *Institution
	product string
	// variation: per-institution multipliers so that institutions differ.
	feeScale  int64 // percent, 50..250
	rateShift int64 // in 1e-4 units
	maxFees   int   // cap on fee/rate list lengths
	slab      []val
}

// v allocates a value from the context's slab: records have hundreds of
// small values and one allocation per value dominated generation time.
func (g *genCtx) v(x val) *val {
	if len(g.slab) == 0 {
		g.slab = make([]val, 512)
	}
	p := &g.slab[0]
	g.slab = g.slab[1:]
	*p = x
	return p
}

func (g *genCtx) str(s string) *val { return g.v(val{kind: 's', s: s}) }

func (g *genCtx) gen(n *node, name string, depth int) *val {
	switch n.kind {
	case kObject:
		return g.genObject(n, depth)
	case kArray:
		return g.genArray(n, name, depth)
	case kString:
		return g.str(g.genString(n, name))
	case kInteger:
		return g.v(val{kind: 'i', i: int64(g.r.IntN(1000))})
	case kNumber:
		return g.v(val{kind: 'i', i: int64(g.r.IntN(100))})
	case kBool:
		return g.v(val{kind: 'b', b: g.r.IntN(2) == 0})
	}
	return g.str("")
}

func (g *genCtx) genObject(n *node, depth int) *val {
	o := g.v(val{kind: 'o', keys: make([]string, 0, len(n.props)+len(n.phantom)), vals: make([]*val, 0, len(n.props)+len(n.phantom))})
	// Objects with banded prices or banded rates are generated as a whole so
	// that their figures are coherent (ascending bands, shares summing to 1).
	if p := n.prop("prices"); p != nil && p.kind == kArray && p.items.kind == kObject && n.prop("minimum") != nil {
		g.genPricedObject(n, o, depth, -1)
		return o
	}
	if n.prop("applications") != nil && n.prop("minimumRate") != nil {
		g.genRateObject(n, o)
		return o
	}
	g.fillProps(n, o, depth, -1)
	return o
}

// fillProps generates every required property and most optional ones.
// enumIdx, when >= 0, selects the same enum position for paired name/code.
func (g *genCtx) fillProps(n *node, o *val, depth, enumIdx int) {
	for _, p := range n.props {
		if !p.required && p.name != "participant" && g.r.IntN(4) == 0 {
			continue
		}
		switch {
		case p.name == "participant":
			o.set(p.name, g.participant())
			continue
		case p.name == "urlComplementaryList":
			o.set(p.name, g.str(g.inst.markerURL()))
			continue
		case enumIdx >= 0 && (p.name == "name" || p.name == "code") && p.n.kind == kString && len(p.n.enum) > enumIdx:
			o.set(p.name, g.str(p.n.enum[enumIdx]))
			continue
		}
		o.set(p.name, g.gen(p.n, p.name, depth+1))
	}
	for _, name := range n.phantom {
		o.set(name, g.str("NA"))
	}
}

func (g *genCtx) participant() *val {
	return g.v(val{kind: 'o', keys: []string{"brand", "name", "cnpjNumber", "urlComplementaryList"},
		vals: []*val{g.str(g.inst.Brand), g.str(g.inst.Name), g.str(g.inst.CNPJ), g.str(g.inst.markerURL())}})
}

// pairedEnum reports the enum length when an object's name and code are
// parallel enums (the spec lists them index-aligned).
func pairedEnum(n *node) int {
	name, code := n.prop("name"), n.prop("code")
	if name == nil || code == nil || len(name.enum) == 0 || len(name.enum) != len(code.enum) {
		return 0
	}
	return len(name.enum)
}

func (g *genCtx) genArray(n *node, name string, depth int) *val {
	lo := max(n.minItems, 1)
	hi := n.maxItems
	limit := 3
	if n.items.kind == kObject && (n.items.prop("prices") != nil || n.items.prop("applications") != nil) {
		limit = g.maxFees
	}
	if hi == 0 || hi > limit {
		hi = max(limit, lo)
	}
	count := lo + g.r.IntN(hi-lo+1)
	a := g.v(val{kind: 'a'})
	// Enum strings and paired name/code objects are drawn without repetition.
	if n.items.kind == kString && len(n.items.enum) > 0 {
		perm := g.r.Perm(len(n.items.enum))
		for i := 0; i < count && i < len(perm); i++ {
			a.vals = append(a.vals, g.str(n.items.enum[perm[i]]))
		}
		return a
	}
	if n.items.kind == kObject {
		if k := pairedEnum(n.items); k > 0 {
			perm := g.r.Perm(k)
			for i := 0; i < count && i < len(perm); i++ {
				o := g.v(val{kind: 'o'})
				if n.items.prop("prices") != nil {
					g.genPricedObject(n.items, o, depth+1, perm[i])
				} else {
					g.fillProps(n.items, o, depth+1, perm[i])
				}
				a.vals = append(a.vals, o)
			}
			return a
		}
	}
	for i := 0; i < count; i++ {
		a.vals = append(a.vals, g.gen(n.items, name, depth+1))
	}
	return a
}

var textByField = map[string]string{
	"chargingTriggerInfo":     "Cobrança por evento conforme tabela de tarifas (dado simulado)",
	"elegibilityCriteriaInfo": "Critérios de elegibilidade conforme política da instituição (dado simulado)",
	"closingProcessInfo":      "Encerramento pelos canais de atendimento (dado simulado)",
	"termsConditions":         "Condições contratuais disponíveis nos canais da instituição (dado simulado)",
	"additionalInfo":          "NA",
}

func (g *genCtx) genString(n *node, name string) string {
	if len(n.enum) > 0 {
		return n.enum[g.r.IntN(len(n.enum))]
	}
	switch n.str {
	case strMoney:
		return fmtScaled(int64(g.r.IntN(500000))*g.feeScale/100, 2)
	case strRate6:
		return fmtScaled(int64(g.r.IntN(3000))*100, 6)
	case strRate4:
		return fmtScaled(int64(g.r.IntN(3000)), 4)
	case strRate2:
		return fmtScaled(int64(g.r.IntN(30)), 2)
	case strCNPJ:
		return g.inst.CNPJ
	case strCurrency:
		return "BRL"
	case strDateTime:
		return "2021-06-01T00:00:00Z"
	case strQty:
		return strconv.Itoa(g.r.IntN(20))
	case strURL:
		return g.inst.markerURL()
	}
	t, ok := textByField[name]
	switch {
	case ok:
	case name == "name":
		t = fmt.Sprintf("Serviço simulado %d", g.r.IntN(50)+1)
	case name == "code":
		t = fmt.Sprintf("SERVICO_SIMULADO_%d", g.r.IntN(50)+1)
	default:
		t = "Informação simulada (" + name + ")"
	}
	if n.maxLen > 0 && utf8.RuneCountInString(t) > n.maxLen {
		t = truncateRunes(t, n.maxLen)
	}
	return t
}

func truncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		r = r[:n]
	}
	return strings.TrimSpace(string(r))
}

// fmtScaled formats v / 10^dec with exactly dec decimals (v >= 0).
func fmtScaled(v int64, dec int) string {
	p := int64(1)
	for range dec {
		p *= 10
	}
	var buf [32]byte
	b := strconv.AppendInt(buf[:0], v/p, 10)
	if dec == 0 {
		return string(b)
	}
	b = append(b, '.')
	frac := v % p
	for q := p / 10; q > 1 && frac < q; q /= 10 {
		b = append(b, '0')
	}
	b = strconv.AppendInt(b, frac, 10)
	return string(b)
}

// shares returns 4 positive integers summing to total.
func (g *genCtx) shares(total int64) [4]int64 {
	var w [4]int64
	var sum int64
	for i := range w {
		w[i] = int64(g.r.IntN(90) + 10)
		sum += w[i]
	}
	var out [4]int64
	var acc int64
	for i := 0; i < 3; i++ {
		out[i] = w[i] * total / sum
		acc += out[i]
	}
	out[3] = total - acc
	return out
}

func decimalsOf(k strKind) int {
	switch k {
	case strRate6:
		return 6
	case strRate4:
		return 4
	case strRate2:
		return 2
	}
	return 2
}

var intervals = [4]string{"1_FAIXA", "2_FAIXA", "3_FAIXA", "4_FAIXA"}

// Shared key lists of fixed-shape objects (never appended to in place:
// their length equals their capacity, so val.set copies before growing).
var (
	keysPrice       = []string{"interval", "value", "currency", "customers"}
	keysBundlePrice = []string{"interval", "monthlyFee", "currency", "customers"}
	keysApplication = []string{"interval", "indexer", "customers"}
	keysRate        = []string{"rate"}
	keysAmount      = []string{"value", "currency"}
)

// genPricedObject fills a fee (or service bundle) with 4 ascending band
// medians, a minimum below them, a maximum above them and customer shares
// that sum to exactly 1.
func (g *genCtx) genPricedObject(n *node, o *val, depth, enumIdx int) {
	g.fillProps(n, o, depth, enumIdx)
	prices := n.prop("prices").items
	valueKey := "value"
	if prices.prop("monthlyFee") != nil {
		valueKey = "monthlyFee"
	}
	custDec := 6
	if c := prices.prop("customers"); c != nil && c.prop("rate") != nil {
		custDec = decimalsOf(c.prop("rate").str)
	}
	var medians [4]int64 // cents
	if g.r.IntN(10) > 0 {
		base := int64(50 + g.r.IntN(5000))
		if g.r.IntN(4) == 0 {
			base *= 10
		}
		base = base * g.feeScale / 100
		medians[0] = base
		for i := 1; i < 4; i++ {
			medians[i] = medians[i-1] + medians[i-1]*int64(10+g.r.IntN(90))/100 + 1
		}
	}
	minimum := medians[0] * int64(30+g.r.IntN(70)) / 100
	maximum := medians[3] + medians[3]*int64(g.r.IntN(50))/100
	total := int64(1)
	for range custDec {
		total *= 10
	}
	sh := g.shares(total)
	arr := g.v(val{kind: 'a'})
	for i := range 4 {
		keys := keysPrice
		if valueKey == "monthlyFee" {
			keys = keysBundlePrice
		}
		arr.vals = append(arr.vals, g.v(val{kind: 'o', keys: keys,
			vals: []*val{g.str(intervals[i]), g.str(fmtScaled(medians[i], 2)), g.str("BRL"),
				g.v(val{kind: 'o', keys: keysRate, vals: []*val{g.str(fmtScaled(sh[i], custDec))}})}}))
	}
	o.set("prices", arr)
	o.set("minimum", g.v(val{kind: 'o', keys: keysAmount, vals: []*val{g.str(fmtScaled(minimum, 2)), g.str("BRL")}}))
	o.set("maximum", g.v(val{kind: 'o', keys: keysAmount, vals: []*val{g.str(fmtScaled(maximum, 2)), g.str("BRL")}}))
}

// genRateObject fills an interest-rate entry: 4 ascending band rates, a
// minimum below and a maximum above them, customer shares summing to 1.
// Rates are fractions ("0.150000" = 15%) in the precision the schema wants.
func (g *genCtx) genRateObject(n *node, o *val) {
	g.fillProps(n, o, 0, -1)
	apps := n.prop("applications").items
	idxDec, custDec := 6, 6
	if ix := apps.prop("indexer"); ix != nil && ix.prop("rate") != nil {
		idxDec = decimalsOf(ix.prop("rate").str)
	}
	if c := apps.prop("customers"); c != nil && c.prop("rate") != nil {
		custDec = decimalsOf(c.prop("rate").str)
	}
	rateDec := decimalsOf(n.prop("rate").str)
	minDec := decimalsOf(n.prop("minimumRate").str)
	// Work in 1e-4 units, then render in each field's precision.
	var bands [4]int64
	bands[0] = int64(50+g.r.IntN(200)) + g.rateShift
	for i := 1; i < 4; i++ {
		bands[i] = bands[i-1] + int64(20+g.r.IntN(400))
	}
	minimum := bands[0] * int64(40+g.r.IntN(60)) / 100
	maximum := bands[3] + bands[3]*int64(g.r.IntN(60))/100
	if maximum > 19999 {
		maximum = 19999
	}
	total := int64(1)
	for range custDec {
		total *= 10
	}
	sh := g.shares(total)
	arr := g.v(val{kind: 'a'})
	for i := range 4 {
		arr.vals = append(arr.vals, g.v(val{kind: 'o', keys: keysApplication,
			vals: []*val{g.str(intervals[i]),
				g.v(val{kind: 'o', keys: keysRate, vals: []*val{g.str(fromBP(bands[i], idxDec))}}),
				g.v(val{kind: 'o', keys: keysRate, vals: []*val{g.str(fmtScaled(sh[i], custDec))}})}}))
	}
	o.set("applications", arr)
	o.set("rate", g.str(fromBP(bands[1], rateDec)))
	o.set("minimumRate", g.str(fromBP(minimum, minDec)))
	o.set("maximumRate", g.str(fromBP(maximum, minDec)))
}

// fromBP renders v (in 1e-4 units) with dec decimals, truncating.
func fromBP(v int64, dec int) string {
	switch {
	case dec >= 4:
		for i := 4; i < dec; i++ {
			v *= 10
		}
		return fmtScaled(v, dec)
	default:
		for i := dec; i < 4; i++ {
			v /= 10
		}
		return fmtScaled(v, dec)
	}
}
