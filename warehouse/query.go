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
}

// Validate reports a bad filter (wrapping ErrInvalidFilter).
func (f FeeFilter) Validate() error {
	if err := checkSegment(f.Segment); err != nil {
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
}

// Validate reports a bad filter (wrapping ErrInvalidFilter).
func (f RateFilter) Validate() error {
	if err := checkSegment(f.Segment); err != nil {
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
	out := []string{}
	for _, f := range strings.Split(s, ";") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// Fees runs the fee comparison on the loaded data.
func (s *Store) Fees(ctx context.Context, f FeeFilter) ([]FeeComparison, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, FeeComparisonSQL(DatasetFees), f.Args()...)
	if err != nil {
		return nil, fmt.Errorf("warehouse: fee comparison: %w", err)
	}
	defer rows.Close()
	out := []FeeComparison{}
	for rows.Next() {
		var r FeeComparison
		var minimum, maximum, est, gmin, gmax, spread, cheapest, dearest sql.NullString
		var bands, custs [4]sql.NullString
		var flags string
		if err := rows.Scan(&r.InstitutionCNPJ, &r.InstitutionName, &r.Brand, &r.OrganisationID,
			&r.Product, &r.Segment, &r.ProductType, &r.ServiceCode, &r.ServiceName, &r.Currency,
			&minimum, &maximum, &bands[0], &bands[1], &bands[2], &bands[3], &custs[0], &custs[1], &custs[2], &custs[3],
			&est, &r.Rank, &r.CollectionID, &r.CollectedAt, &flags, &r.Simulated,
			&r.GroupSize, &gmin, &gmax, &spread, &cheapest, &dearest); err != nil {
			return nil, fmt.Errorf("warehouse: fee comparison: %w", err)
		}
		r.Minimum, r.Maximum, r.WeightedEstimate = str(minimum), str(maximum), str(est)
		for i := range 4 {
			r.BandMedians[i], r.BandCustomerRates[i] = str(bands[i]), str(custs[i])
		}
		r.GroupMin, r.GroupMax, r.Spread, r.Cheapest, r.MostExpensive = str(gmin), str(gmax), str(spread), str(cheapest), str(dearest)
		r.CollectedAt = r.CollectedAt.UTC()
		r.Flags = splitFlags(flags)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("warehouse: fee comparison: %w", err)
	}
	return out, nil
}

// Rates runs the interest-rate comparison on the loaded data.
func (s *Store) Rates(ctx context.Context, f RateFilter) ([]RateComparison, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, RateComparisonSQL(DatasetRates), f.Args()...)
	if err != nil {
		return nil, fmt.Errorf("warehouse: rate comparison: %w", err)
	}
	defer rows.Close()
	out := []RateComparison{}
	for rows.Next() {
		var r RateComparison
		var rate, minimum, maximum, est, gmin, gmax, spread, cheapest, dearest sql.NullString
		var bands, custs [4]sql.NullString
		var flags string
		if err := rows.Scan(&r.InstitutionCNPJ, &r.InstitutionName, &r.Brand, &r.OrganisationID,
			&r.Product, &r.Segment, &r.ProductType, &r.Indexer,
			&rate, &minimum, &maximum, &bands[0], &bands[1], &bands[2], &bands[3], &custs[0], &custs[1], &custs[2], &custs[3],
			&est, &r.Rank, &r.CollectionID, &r.CollectedAt, &flags, &r.Simulated,
			&r.GroupSize, &gmin, &gmax, &spread, &cheapest, &dearest); err != nil {
			return nil, fmt.Errorf("warehouse: rate comparison: %w", err)
		}
		r.Rate, r.MinimumRate, r.MaximumRate, r.WeightedEstimate = str(rate), str(minimum), str(maximum), str(est)
		for i := range 4 {
			r.BandRates[i], r.BandCustomerRates[i] = str(bands[i]), str(custs[i])
		}
		r.GroupMin, r.GroupMax, r.Spread, r.Cheapest, r.MostExpensive = str(gmin), str(gmax), str(spread), str(cheapest), str(dearest)
		r.CollectedAt = r.CollectedAt.UTC()
		r.Flags = splitFlags(flags)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("warehouse: rate comparison: %w", err)
	}
	return out, nil
}
