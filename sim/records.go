package sim

import (
	"runtime"
	"sync"
)

// FeeFact is one fee (a priced service with 4 bands) the simulator serves,
// as typed values, so tests can compute fee comparisons independently of
// the platform. Values are the decimal strings exactly as served (before a
// fault defaced them; see Valid).
type FeeFact struct {
	OrganisationID        string
	OrganisationStatus    string // Active | Pending | Withdrawn
	AuthorisationServerID string
	CNPJ                  string
	InstitutionName       string
	Brand                 string
	Family                string // "products-services" or "opendata-*"
	Product               string // "personal-accounts", ...
	Segment               string // "personal" | "business"
	Record                int    // 0-based record index in the endpoint's pagination
	ProductType           string
	FeeGroup              string // "priorityServices", "otherServices", "services", "serviceBundles"
	ServiceCode           string
	ServiceName           string
	ChargingTrigger       string
	Currency              string
	Minimum               string
	Maximum               string
	BandMedians           [4]string // 1_FAIXA..4_FAIXA
	BandCustomers         [4]string // customers.rate per band; sums to 1
	// Valid is false when a fault made this fee schema-invalid or
	// uninterpretable in the served payload; Fault names the defect.
	Valid bool
	Fault string
}

// RateFact is one interest-rate entry (indexer with 4 application bands).
type RateFact struct {
	OrganisationID        string
	OrganisationStatus    string
	AuthorisationServerID string
	CNPJ                  string
	InstitutionName       string
	Brand                 string
	Family                string
	Product               string
	Segment               string
	Record                int
	ProductType           string
	RateGroup             string // "interestRates", "rates", "instalmentRates"
	Indexer               string // referentialRateIndexer
	Rate                  string
	BandRates             [4]string // applications[i].indexer.rate
	BandCustomers         [4]string // applications[i].customers.rate
	MinimumRate           string
	MaximumRate           string
	Valid                 bool
	Fault                 string
}

// Record-level defects injected by Faults.PInvalid.
const (
	DefectNonDecimal     = "non_decimal"     // a band value is "abc"
	DefectWrongType      = "wrong_type"      // a decimal string is sent as a JSON number
	DefectDuplicatedBand = "duplicated_band" // two bands say 2_FAIXA, none 3_FAIXA
	DefectMissingBand    = "missing_band"    // only 3 bands
	DefectMissingField   = "missing_field"   // a required field (minimum / minimumRate) is absent
)

var defects = []string{DefectNonDecimal, DefectWrongType, DefectDuplicatedBand, DefectMissingBand, DefectMissingField}

type feeRef struct {
	node *val
	fact FeeFact
}

type rateRef struct {
	node *val
	fact RateFact
}

// genRecord builds record i of an endpoint, its facts, and applies the
// persistent record defect if the institution's faults pick one.
func (e *Ecosystem) genRecord(inst *Institution, ep *endpointSpec, i int) (*val, []FeeFact, []RateFact) {
	g := &genCtx{
		r:         newRand(e.cfg.Seed, "record", inst.AuthorisationServerID, ep.family, ep.product, i),
		inst:      inst,
		product:   ep.product,
		feeScale:  inst.feeScale,
		rateShift: inst.rateShift,
		maxFees:   e.cfg.FeesPerProduct,
	}
	var rec *val
	var products []*val
	if ep.family == FamilyProductsServices {
		rec = &val{kind: 'o'}
		for _, p := range ep.record.props {
			switch p.name {
			case "name":
				rec.set("name", str(fit(inst.Name, p.n.maxLen)))
			case "cnpjNumber":
				rec.set("cnpjNumber", str(inst.CNPJ))
			case "urlComplementaryList":
				rec.set("urlComplementaryList", str(inst.markerURL()))
			default:
				rec.set(p.name, g.gen(p.n, p.name, 1))
			}
		}
		products = rec.get(ep.productsKey).vals
	} else {
		rec = g.gen(ep.record, "", 0)
		products = []*val{rec}
	}
	base := FeeFact{
		OrganisationID: inst.OrganisationID, OrganisationStatus: inst.orgStatus,
		AuthorisationServerID: inst.AuthorisationServerID, CNPJ: inst.CNPJ,
		InstitutionName: inst.Name, Brand: ep.brand(inst), Family: ep.family,
		Product: ep.product, Segment: ep.segment, Record: i, Valid: true,
	}
	var fees []feeRef
	var rates []rateRef
	for _, p := range products {
		ptype := p.get("type")
		if ptype == nil {
			ptype = p.get("identification").get("product").get("type")
		}
		pt := ""
		if ptype != nil {
			pt = ptype.s
		}
		walkFacts(p, "", func(group string, o *val) {
			// A fee has prices[4].value; a service bundle prices[4].monthlyFee
			// and no code: its name identifies it.
			if prices := o.get("prices"); prices != nil && o.get("minimum") != nil && len(prices.vals) == 4 {
				valueKey := "value"
				if prices.vals[0].get("value") == nil {
					valueKey = "monthlyFee"
				}
				if prices.vals[0].get(valueKey) != nil {
					f := base
					f.ProductType, f.FeeGroup = pt, group
					f.ServiceName = o.get("name").s
					if c := o.get("code"); c != nil && valueKey == "value" {
						f.ServiceCode = c.s
					} else {
						f.ServiceCode = f.ServiceName
					}
					if c := o.get("chargingTriggerInfo"); c != nil {
						f.ChargingTrigger = c.s
					}
					f.Currency = prices.vals[0].get("currency").s
					f.Minimum, f.Maximum = o.get("minimum").get("value").s, o.get("maximum").get("value").s
					for b, pr := range prices.vals {
						f.BandMedians[b] = pr.get(valueKey).s
						f.BandCustomers[b] = pr.get("customers").get("rate").s
					}
					fees = append(fees, feeRef{node: o, fact: f})
				}
			}
			if apps := o.get("applications"); apps != nil && len(apps.vals) == 4 {
				r := RateFact{
					OrganisationID: base.OrganisationID, OrganisationStatus: base.OrganisationStatus,
					AuthorisationServerID: base.AuthorisationServerID, CNPJ: base.CNPJ,
					InstitutionName: base.InstitutionName, Brand: base.Brand, Family: base.Family,
					Product: base.Product, Segment: base.Segment, Record: i, Valid: true,
					ProductType: pt, RateGroup: group,
					Indexer: o.get("referentialRateIndexer").s, Rate: o.get("rate").s,
					MinimumRate: o.get("minimumRate").s, MaximumRate: o.get("maximumRate").s,
				}
				for b, a := range apps.vals {
					r.BandRates[b] = a.get("indexer").get("rate").s
					r.BandCustomers[b] = a.get("customers").get("rate").s
				}
				rates = append(rates, rateRef{node: o, fact: r})
			}
		})
	}
	if f, ok := e.cfg.Faults[inst.OrganisationID]; ok && f.PInvalid > 0 &&
		unit(hashOf(e.cfg.Seed, "invalid", inst.AuthorisationServerID, ep.family, ep.product, i)) < f.PInvalid {
		defect := defects[hashOf(e.cfg.Seed, "defect", inst.AuthorisationServerID, ep.family, ep.product, i)%uint64(len(defects))]
		switch {
		case len(fees) > 0:
			applyFeeDefect(fees[0].node, defect)
			fees[0].fact.Valid, fees[0].fact.Fault = false, defect
		case len(rates) > 0:
			applyRateDefect(rates[0].node, defect)
			rates[0].fact.Valid, rates[0].fact.Fault = false, defect
		}
	}
	ff := make([]FeeFact, len(fees))
	for k := range fees {
		ff[k] = fees[k].fact
	}
	rf := make([]RateFact, len(rates))
	for k := range rates {
		rf[k] = rates[k].fact
	}
	return rec, ff, rf
}

// brand is the brand name as this endpoint serves it: products-services
// v1 business-invoice-financings allows only 30 characters.
func (ep *endpointSpec) brand(inst *Institution) string {
	if ep.family == FamilyProductsServices {
		return fit(inst.Brand, ep.brandMaxLen)
	}
	return inst.Brand
}

func fit(s string, maxLen int) string {
	if maxLen > 0 {
		return truncateRunes(s, maxLen)
	}
	return s
}

// walkFacts calls fn for every object, with the name of the array that
// holds it (the fee or rate group).
func walkFacts(v *val, group string, fn func(group string, o *val)) {
	switch v.kind {
	case 'o':
		fn(group, v)
		for k, c := range v.vals {
			walkFacts(c, v.keys[k], fn)
		}
	case 'a':
		for _, c := range v.vals {
			walkFacts(c, group, fn)
		}
	}
}

func applyFeeDefect(o *val, defect string) {
	prices := o.get("prices")
	switch defect {
	case DefectNonDecimal:
		prices.vals[1].set("value", str("abc"))
	case DefectWrongType:
		o.get("minimum").set("value", &val{kind: 'r', s: o.get("minimum").get("value").s})
	case DefectDuplicatedBand:
		prices.vals[2].set("interval", str("2_FAIXA"))
	case DefectMissingBand:
		prices.vals = prices.vals[:3]
	case DefectMissingField:
		o.del("minimum")
	}
}

func applyRateDefect(o *val, defect string) {
	apps := o.get("applications")
	switch defect {
	case DefectNonDecimal:
		apps.vals[1].get("indexer").set("rate", str("abc"))
	case DefectWrongType:
		o.set("rate", &val{kind: 'r', s: o.get("rate").s})
	case DefectDuplicatedBand:
		apps.vals[2].set("interval", str("2_FAIXA"))
	case DefectMissingBand:
		apps.vals = apps.vals[:3]
	case DefectMissingField:
		o.del("minimumRate")
	}
}

// recordCount is how many records inst serves at product (0 if none).
func (e *Ecosystem) recordCount(inst *Institution, product string) int {
	if !inst.Serves(product) {
		return 0
	}
	p := e.cfg.ProductsPerEndpoint
	n := p/2 + int(hashOf(e.cfg.Seed, "count", inst.AuthorisationServerID, product)%uint64(p+1))
	return max(n, 1)
}

// RecordCount is how many paginated records inst serves at product.
func (e *Ecosystem) RecordCount(authorisationServerID, product string) int {
	inst, ok := e.instByAS[authorisationServerID]
	if !ok {
		return 0
	}
	return e.recordCount(inst, product)
}

func (e *Ecosystem) computeFacts() {
	var insts []*Institution
	for _, org := range e.orgs {
		for k := range org.Institutions {
			insts = append(insts, &org.Institutions[k])
		}
	}
	// Institutions are independent: generate them in parallel, then
	// concatenate in directory order so the result is deterministic.
	fees := make([][]FeeFact, len(insts))
	rates := make([][]RateFact, len(insts))
	work := make(chan int)
	var wg sync.WaitGroup
	for range max(runtime.GOMAXPROCS(0), 1) {
		wg.Go(func() {
			for k := range work {
				inst := insts[k]
				for _, product := range Products {
					n := e.recordCount(inst, product)
					if n == 0 {
						continue
					}
					ep := e.specs.endpoints[inst.Family(product)+"/"+product]
					for i := range n {
						_, f, r := e.genRecord(inst, ep, i)
						fees[k] = append(fees[k], f...)
						rates[k] = append(rates[k], r...)
					}
				}
			}
		})
	}
	for k := range insts {
		work <- k
	}
	close(work)
	wg.Wait()
	for k := range insts {
		e.fees = append(e.fees, fees[k]...)
		e.rates = append(e.rates, rates[k]...)
	}
}

// Fees returns every fee the simulator serves, in directory order, then
// product order, then record order. Facts of Pending/Withdrawn
// organisations are included (see OrganisationStatus); defects injected by
// Faults.PInvalid are marked Valid=false. Transport faults (5xx, 429,
// malformed, truncated) do not change these facts: a retry gets the data.
// The result is computed once and shared; do not modify it.
func (e *Ecosystem) Fees() []FeeFact {
	e.factsOnce.Do(e.computeFacts)
	return e.fees
}

// Rates returns every interest-rate entry the simulator serves (see Fees).
func (e *Ecosystem) Rates() []RateFact {
	e.factsOnce.Do(e.computeFacts)
	return e.rates
}
