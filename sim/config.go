package sim

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Style is how an organisation publishes its open data in the directory.
type Style string

const (
	// Style2021 lists one base URL per family ("…/products-services/v1"),
	// an integer ApiVersion, and serves the products-services v1 shape.
	Style2021 Style = "2021"
	// StyleCurrent lists one concrete URL per endpoint in the opendata-*
	// families, ApiVersion "1.0.1", and serves the opendata-* 1.0.1 shape.
	StyleCurrent Style = "current"
	// StyleMixed (only in Config.Style) gives about half the organisations
	// each style, chosen by hash of seed and organisation id.
	StyleMixed Style = "mixed"
)

// Config is the whole configuration of a simulated ecosystem. The zero
// value is not useful; start from DefaultConfig.
type Config struct {
	// BaseURL is the absolute URL the Handler is reachable at, without a
	// trailing slash (e.g. "http://127.0.0.1:8089"). Every URL the
	// directory lists and every pagination link is built from it.
	BaseURL string
	// Seed decides every generated figure and every injected fault.
	Seed uint64
	// ProductsPerEndpoint is the average number of paginated records per
	// endpoint (data[] items for opendata-*, companies[] entries for
	// products-services v1); each institution gets between half and 1.5×.
	ProductsPerEndpoint int
	// FeesPerProduct caps the length of each fee or rate list in a record.
	FeesPerProduct int
	// PageSizeDefault is used when a request has no page-size (spec: 25).
	PageSizeDefault int
	// Style chooses which organisations use which directory style.
	Style Style
	// OrgStyles overrides Style for single organisations (by OrganisationId).
	OrgStyles map[string]Style
	// CompleteOrgs is how many organisations serve all 12 products.
	CompleteOrgs int
	// InactiveOrgs is how many organisations get Status Pending or
	// Withdrawn (they still answer, so a collector must filter them).
	InactiveOrgs int
	// Faults injects failures per organisation (by OrganisationId).
	Faults map[string]Faults
}

// DefaultConfig returns a small, clean ecosystem: 14 complete organisations,
// a mix of styles, 3 inactive organisations, no faults.
func DefaultConfig(baseURL string) Config {
	return Config{
		BaseURL:             strings.TrimSuffix(baseURL, "/"),
		Seed:                1,
		ProductsPerEndpoint: 30,
		FeesPerProduct:      6,
		PageSizeDefault:     25,
		Style:               StyleMixed,
		CompleteOrgs:        14,
		InactiveOrgs:        3,
	}
}

func (c Config) validate() error {
	if c.BaseURL == "" || !(strings.HasPrefix(c.BaseURL, "http://") || strings.HasPrefix(c.BaseURL, "https://")) {
		return fmt.Errorf("sim: BaseURL %q must be an absolute http(s) URL", c.BaseURL)
	}
	if c.ProductsPerEndpoint < 1 {
		return fmt.Errorf("sim: ProductsPerEndpoint must be >= 1, got %d", c.ProductsPerEndpoint)
	}
	if c.FeesPerProduct < 1 {
		return fmt.Errorf("sim: FeesPerProduct must be >= 1, got %d", c.FeesPerProduct)
	}
	if c.PageSizeDefault < 1 || c.PageSizeDefault > 1000 {
		return fmt.Errorf("sim: PageSizeDefault must be in 1..1000, got %d", c.PageSizeDefault)
	}
	switch c.Style {
	case Style2021, StyleCurrent, StyleMixed:
	default:
		return fmt.Errorf("sim: unknown Style %q (want 2021, current or mixed)", c.Style)
	}
	for id, s := range c.OrgStyles {
		if s != Style2021 && s != StyleCurrent {
			return fmt.Errorf("sim: OrgStyles[%s] = %q: want 2021 or current", id, s)
		}
	}
	for id, f := range c.Faults {
		if err := f.validate(); err != nil {
			return fmt.Errorf("sim: faults for %s: %w", id, err)
		}
	}
	return nil
}

// Faults configures failures for one organisation. Probabilities are per
// request (transport faults) or per record (Invalid).
type Faults struct {
	// Latency is added before every response.
	Latency time.Duration
	// P5xx, P429, PMalformed and PTruncated are per-request probabilities
	// (their sum must be <= 1), decided by hash(seed, org, path, page,
	// page-size, attempt) where attempt counts earlier requests for the
	// same page.
	P5xx       float64
	P429       float64
	PMalformed float64
	PTruncated float64
	// RetryAfter is sent with 429 answers (whole seconds, at least 1).
	RetryAfter time.Duration
	// PInvalid is the per-record probability that a record is served
	// schema-invalid. It is persistent (same record, same defect on every
	// request) and is reported in Fees/Rates as Valid=false.
	PInvalid float64
	// MaxConsecutive, when > 0, makes attempt number MaxConsecutive (and
	// later) of the same page always clean, so a client retrying that many
	// times always gets through. 0 means faults never stop.
	MaxConsecutive int
}

func (f Faults) validate() error {
	for _, p := range []float64{f.P5xx, f.P429, f.PMalformed, f.PTruncated, f.PInvalid} {
		if p < 0 || p > 1 || math.IsNaN(p) {
			return fmt.Errorf("probability %v outside [0,1]", p)
		}
	}
	if s := f.P5xx + f.P429 + f.PMalformed + f.PTruncated; s > 1+1e-9 {
		return fmt.Errorf("5xx+429+malformed+truncated = %v > 1", s)
	}
	if f.Latency < 0 || f.RetryAfter < 0 || f.MaxConsecutive < 0 {
		return fmt.Errorf("negative latency, retry-after or maxfail")
	}
	return nil
}

// ParseFaults reads a compact fault profile:
//
//	org=<OrganisationId>:latency=200ms,5xx=0.2,429=0.1,retry-after=1s,malformed=0.1,truncated=0.1,invalid=0.2,maxfail=2;org=<id2>:...
//
// Entries are separated by ";". Every key is optional.
func ParseFaults(s string) (map[string]Faults, error) {
	out := map[string]Faults{}
	for _, entry := range strings.Split(s, ";") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		head, body, ok := strings.Cut(entry, ":")
		id, hasOrg := strings.CutPrefix(head, "org=")
		if !ok || !hasOrg || id == "" {
			return nil, fmt.Errorf("sim: fault entry %q: want org=<id>:key=value,...", entry)
		}
		var f Faults
		for _, kv := range strings.Split(body, ",") {
			kv = strings.TrimSpace(kv)
			if kv == "" {
				continue
			}
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				return nil, fmt.Errorf("sim: fault entry %q: %q is not key=value", entry, kv)
			}
			var err error
			switch k {
			case "latency":
				f.Latency, err = time.ParseDuration(v)
			case "retry-after":
				f.RetryAfter, err = time.ParseDuration(v)
			case "5xx":
				f.P5xx, err = strconv.ParseFloat(v, 64)
			case "429":
				f.P429, err = strconv.ParseFloat(v, 64)
			case "malformed":
				f.PMalformed, err = strconv.ParseFloat(v, 64)
			case "truncated":
				f.PTruncated, err = strconv.ParseFloat(v, 64)
			case "invalid":
				f.PInvalid, err = strconv.ParseFloat(v, 64)
			case "maxfail":
				f.MaxConsecutive, err = strconv.Atoi(v)
			default:
				return nil, fmt.Errorf("sim: fault entry %q: unknown key %q (want latency, 5xx, 429, retry-after, malformed, truncated, invalid, maxfail)", entry, k)
			}
			if err != nil {
				return nil, fmt.Errorf("sim: fault entry %q: %s: %w", entry, k, err)
			}
		}
		if err := f.validate(); err != nil {
			return nil, fmt.Errorf("sim: fault entry %q: %w", entry, err)
		}
		out[id] = f
	}
	return out, nil
}

// FormatFaults is the inverse of ParseFaults (sorted by organisation id).
func FormatFaults(m map[string]Faults) string {
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var parts []string
	for _, id := range ids {
		f := m[id]
		parts = append(parts, fmt.Sprintf("org=%s:latency=%s,5xx=%g,429=%g,retry-after=%s,malformed=%g,truncated=%g,invalid=%g,maxfail=%d",
			id, f.Latency, f.P5xx, f.P429, f.RetryAfter, f.PMalformed, f.PTruncated, f.PInvalid, f.MaxConsecutive))
	}
	return strings.Join(parts, ";")
}

// Organisations the demo fault profile degrades (ids from the 2021 dump).
const (
	DemoSlowOrg      = "b6a214c7-6332-5a41-8464-a281fb9a4ca0" // BANCO PAN: latency and 5xx
	DemoThrottledOrg = "e5a1c7ad-11d4-560d-914c-611003a39219" // MERCADO PAGO: 429 and truncated pages
	DemoBrokenOrg    = "7d1cf083-fae2-559b-b6ed-d01a7230062f" // BNDES: malformed pages and invalid records
)

// DemoFaults is the default demo profile: three institutions with faults
// that a retrying client gets through (maxfail=2), the rest clean.
func DemoFaults() map[string]Faults {
	return map[string]Faults{
		DemoSlowOrg:      {Latency: 150 * time.Millisecond, P5xx: 0.3, MaxConsecutive: 2},
		DemoThrottledOrg: {P429: 0.3, RetryAfter: time.Second, PTruncated: 0.2, MaxConsecutive: 2},
		DemoBrokenOrg:    {PMalformed: 0.2, PInvalid: 0.15, MaxConsecutive: 2},
	}
}

// DemoConfig is DefaultConfig with DemoFaults.
func DemoConfig(baseURL string) Config {
	c := DefaultConfig(baseURL)
	c.Faults = DemoFaults()
	return c
}
