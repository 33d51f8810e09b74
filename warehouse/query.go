package warehouse

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
)

// ErrInvalidFilter wraps every filter validation error: the caller passed a
// bad value (the HTTP API answers 400 with the message).
var ErrInvalidFilter = errors.New("invalid filter")

// Segments of the contract.
const (
	SegmentPersonal = "personal"
	SegmentBusiness = "business"
)

const maxFilterLen = 200

func checkText(field, v string) error {
	if len(v) > maxFilterLen {
		return fmt.Errorf("%w: %s is longer than %d characters", ErrInvalidFilter, field, maxFilterLen)
	}
	for _, r := range v {
		if unicode.IsControl(r) {
			return fmt.Errorf("%w: %s contains a control character", ErrInvalidFilter, field)
		}
	}
	return nil
}

func checkSegment(v string) error {
	if v != "" && v != SegmentPersonal && v != SegmentBusiness {
		return fmt.Errorf("%w: segment %q must be %q or %q", ErrInvalidFilter, v, SegmentPersonal, SegmentBusiness)
	}
	return nil
}

func checkTexts(pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if err := checkText(pairs[i], pairs[i+1]); err != nil {
			return err
		}
	}
	return nil
}

// nullable turns "" into a NULL parameter (= no filter).
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullableBool(b *bool) any {
	if b == nil {
		return nil
	}
	return *b
}

// FeeFilter selects the fee comparison. Empty fields do not filter.
type FeeFilter struct {
	Product     string // endpoint product, e.g. "personal-accounts"
	Segment     string // "personal" | "business"
	ProductType string
	ServiceCode string
	Currency    string
	// Institution matches a CNPJ exactly or a substring of the institution
	// name or brand (case-insensitive). It selects rows after ranking.
	Institution string
	// ExcludeFlagged leaves out rows with flags before ranking (the API's
	// include_flagged=false). By default flagged rows are compared and marked.
	ExcludeFlagged bool
	// Simulated keeps only simulated (true) or only real (false) figures; nil keeps both.
	Simulated *bool
	// Page selects a window of the ranked rows (Store.Fees only; the
	// reference SQL returns them all).
	Page
}

// Validate reports a bad filter (wrapping ErrInvalidFilter).
func (f FeeFilter) Validate() error {
	if err := checkSegment(f.Segment); err != nil {
		return err
	}
	if err := f.Page.validate(); err != nil {
		return err
	}
	return checkTexts("product", f.Product, "product_type", f.ProductType, "service_code", f.ServiceCode,
		"currency", f.Currency, "institution", f.Institution)
}

// Args returns the positional parameters of FeeComparisonSQL.
func (f FeeFilter) Args() []any {
	return []any{nullable(f.Product), nullable(f.Segment), nullable(f.ProductType), nullable(f.ServiceCode),
		nullable(f.Currency), nullableBool(f.Simulated), !f.ExcludeFlagged, nullable(f.Institution)}
}

// RateFilter selects the interest-rate comparison. Empty fields do not filter.
type RateFilter struct {
	Product        string
	Segment        string
	ProductType    string
	Indexer        string
	Institution    string // as FeeFilter.Institution
	ExcludeFlagged bool
	Simulated      *bool
	Page           // as FeeFilter.Page
}

// Validate reports a bad filter (wrapping ErrInvalidFilter).
func (f RateFilter) Validate() error {
	if err := checkSegment(f.Segment); err != nil {
		return err
	}
	if err := f.Page.validate(); err != nil {
		return err
	}
	return checkTexts("product", f.Product, "product_type", f.ProductType, "indexer", f.Indexer, "institution", f.Institution)
}

// Args returns the positional parameters of RateComparisonSQL.
func (f RateFilter) Args() []any {
	return []any{nullable(f.Product), nullable(f.Segment), nullable(f.ProductType), nullable(f.Indexer),
		nullableBool(f.Simulated), !f.ExcludeFlagged, nullable(f.Institution)}
}

// FeeComparison is one institution's figures for one fee group, with the
// group's statistics. Decimals are exact strings with 6 decimals; nil = NULL.
type FeeComparison struct {
	InstitutionCNPJ   string     `json:"institution_cnpj"`
	InstitutionName   string     `json:"institution_name"`
	Brand             string     `json:"brand"`
	OrganisationID    string     `json:"organisation_id"`
	Product           string     `json:"product"`
	Segment           string     `json:"segment"`
	ProductType       string     `json:"product_type"`
	ServiceCode       string     `json:"service_code"`
	ServiceName       string     `json:"service_name"`
	Currency          string     `json:"currency"`
	Minimum           *string    `json:"minimum"`
	Maximum           *string    `json:"maximum"`
	BandMedians       [4]*string `json:"band_medians"`
	BandCustomerRates [4]*string `json:"band_customer_rates"`
	WeightedEstimate  *string    `json:"weighted_estimate"`
	Rank              int64      `json:"rank"`
	CollectionID      string     `json:"collection_id"`
	CollectedAt       time.Time  `json:"collected_at"`
	Flags             []string   `json:"flags"`
	Simulated         bool       `json:"simulated"`
	GroupSize         int64      `json:"group_size"`
	GroupMin          *string    `json:"group_min"`
	GroupMax          *string    `json:"group_max"`
	Spread            *string    `json:"spread"`
	Cheapest          *string    `json:"cheapest"`
	MostExpensive     *string    `json:"most_expensive"`
}

// RateComparison is one institution's figures for one interest-rate group.
type RateComparison struct {
	InstitutionCNPJ   string     `json:"institution_cnpj"`
	InstitutionName   string     `json:"institution_name"`
	Brand             string     `json:"brand"`
	OrganisationID    string     `json:"organisation_id"`
	Product           string     `json:"product"`
	Segment           string     `json:"segment"`
	ProductType       string     `json:"product_type"`
	Indexer           string     `json:"indexer"`
	Rate              *string    `json:"rate"`
	MinimumRate       *string    `json:"minimum_rate"`
	MaximumRate       *string    `json:"maximum_rate"`
	BandRates         [4]*string `json:"band_rates"`
	BandCustomerRates [4]*string `json:"band_customer_rates"`
	WeightedEstimate  *string    `json:"weighted_estimate"`
	Rank              int64      `json:"rank"`
	CollectionID      string     `json:"collection_id"`
	CollectedAt       time.Time  `json:"collected_at"`
	Flags             []string   `json:"flags"`
	Simulated         bool       `json:"simulated"`
	GroupSize         int64      `json:"group_size"`
	GroupMin          *string    `json:"group_min"`
	GroupMax          *string    `json:"group_max"`
	Spread            *string    `json:"spread"`
	Cheapest          *string    `json:"cheapest"`
	MostExpensive     *string    `json:"most_expensive"`
}

func str(n sql.NullString) *string {
	if !n.Valid {
		return nil
	}
	s := n.String
	return &s
}

func splitFlags(s string) []string {
	if s == "" {
		return []string{} // the common case: no allocation
	}
	out := []string{}
	for _, f := range strings.Split(s, ";") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// Fees runs the fee comparison on the loaded data (see compare.go): the rows
// of FeeComparisonSQL on the dataset table, in the same order, paged by f.Page.
// It reads the derived table fees_latest, or, while loads are committed that
// it does not reflect yet, runs FeeComparisonSQL on the view (reference.go):
// the answer is the same, and a query never waits for the refresh.
func (s *Store) Fees(ctx context.Context, f FeeFilter) ([]FeeComparison, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	var out []FeeComparison
	var err error
	if s.refreshDue() {
		out, err = s.feesOn(ctx, DatasetFees, f)
	} else {
		out, err = s.feesDerived(ctx, f)
	}
	if err != nil {
		return nil, fmt.Errorf("warehouse: fee comparison: %w", err)
	}
	return out, nil
}

// feesDerived is Fees from the derived table.
func (s *Store) feesDerived(ctx context.Context, f FeeFilter) ([]FeeComparison, error) {
	args := []any{nullable(f.Product), nullable(f.Segment), nullable(f.ProductType), nullable(f.ServiceCode),
		nullable(f.Currency), nullable(f.Institution)}
	var out []FeeComparison
	err := s.runComparison(ctx, feeSpec, keepColumn(f.Simulated, f.ExcludeFlagged), args, f.Page,
		func(n int) { out = make([]FeeComparison, 0, n) },
		func(r *packedRow, rank int64, g *groupStats) {
			t, d := r.texts, r.decimals
			out = append(out, FeeComparison{
				Product: t[0], Segment: t[1], ProductType: t[2], ServiceCode: t[3], Currency: t[4],
				InstitutionCNPJ: t[5], InstitutionName: t[6], Brand: t[7], OrganisationID: t[8], ServiceName: t[9],
				Minimum: d[0], Maximum: d[1],
				BandMedians:       [4]*string{d[2], d[3], d[4], d[5]},
				BandCustomerRates: [4]*string{d[6], d[7], d[8], d[9]},
				WeightedEstimate:  d[10], Rank: rank, CollectionID: t[10], CollectedAt: r.at, Flags: splitFlags(t[11]),
				Simulated: r.simulated, GroupSize: g.size, GroupMin: g.min, GroupMax: g.max, Spread: g.spread,
				Cheapest: g.cheapest, MostExpensive: g.mostExpensive,
			})
		})
	return out, err
}

// Rates runs the interest-rate comparison on the loaded data: the rows of
// RateComparisonSQL on the dataset table, in the same order, paged by f.Page,
// from rates_latest or, while a refresh is pending, the view (as Fees).
func (s *Store) Rates(ctx context.Context, f RateFilter) ([]RateComparison, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	var out []RateComparison
	var err error
	if s.refreshDue() {
		out, err = s.ratesOn(ctx, DatasetRates, f)
	} else {
		out, err = s.ratesDerived(ctx, f)
	}
	if err != nil {
		return nil, fmt.Errorf("warehouse: rate comparison: %w", err)
	}
	return out, nil
}

// ratesDerived is Rates from the derived table.
func (s *Store) ratesDerived(ctx context.Context, f RateFilter) ([]RateComparison, error) {
	args := []any{nullable(f.Product), nullable(f.Segment), nullable(f.ProductType), nullable(f.Indexer),
		nullable(f.Institution)}
	var out []RateComparison
	err := s.runComparison(ctx, rateSpec, keepColumn(f.Simulated, f.ExcludeFlagged), args, f.Page,
		func(n int) { out = make([]RateComparison, 0, n) },
		func(r *packedRow, rank int64, g *groupStats) {
			t, d := r.texts, r.decimals
			out = append(out, RateComparison{
				Product: t[0], Segment: t[1], ProductType: t[2], Indexer: t[3],
				InstitutionCNPJ: t[4], InstitutionName: t[5], Brand: t[6], OrganisationID: t[7],
				Rate: d[0], MinimumRate: d[1], MaximumRate: d[2],
				BandRates:         [4]*string{d[3], d[4], d[5], d[6]},
				BandCustomerRates: [4]*string{d[7], d[8], d[9], d[10]},
				WeightedEstimate:  d[11], Rank: rank, CollectionID: t[8], CollectedAt: r.at, Flags: splitFlags(t[9]),
				Simulated: r.simulated, GroupSize: g.size, GroupMin: g.min, GroupMax: g.max, Spread: g.spread,
				Cheapest: g.cheapest, MostExpensive: g.mostExpensive,
			})
		})
	return out, err
}
