package warehouse

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"
)

// HistoryFilter selects the series of a fee or rate history. A series is one
// (institution, product, segment, product_type, service_code, currency) for
// fees or (institution, product, segment, product_type, indexer) for rates;
// empty fields do not filter, so a broad filter returns many series.
type HistoryFilter struct {
	Institution string // CNPJ, or a substring of the name or brand
	Product     string
	Segment     string
	ProductType string
	ServiceCode string // fees only
	Currency    string // fees only
	Indexer     string // rates only
	Simulated   *bool
	// ChangesOnly keeps only the points whose values differ from the
	// previous collection of the same series.
	ChangesOnly bool
	// Page selects a window of the points (after ChangesOnly).
	Page
}

func (f HistoryFilter) validate(forRates bool) error {
	if err := checkSegment(f.Segment); err != nil {
		return err
	}
	if forRates && (f.ServiceCode != "" || f.Currency != "") {
		return fmt.Errorf("%w: service_code and currency apply to fee history, not rate history", ErrInvalidFilter)
	}
	if !forRates && f.Indexer != "" {
		return fmt.Errorf("%w: indexer applies to rate history, not fee history", ErrInvalidFilter)
	}
	if err := f.Page.validate(); err != nil {
		return err
	}
	return checkTexts("institution", f.Institution, "product", f.Product, "product_type", f.ProductType,
		"service_code", f.ServiceCode, "currency", f.Currency, "indexer", f.Indexer)
}

// ValidateFees reports a bad fee-history filter (wrapping ErrInvalidFilter).
func (f HistoryFilter) ValidateFees() error { return f.validate(false) }

// ValidateRates reports a bad rate-history filter (wrapping ErrInvalidFilter).
func (f HistoryFilter) ValidateRates() error { return f.validate(true) }

// FeeValues are the published figures of a fee in one collection.
type FeeValues struct {
	Minimum           *string    `json:"minimum"`
	Maximum           *string    `json:"maximum"`
	BandMedians       [4]*string `json:"band_medians"`
	BandCustomerRates [4]*string `json:"band_customer_rates"`
	WeightedEstimate  *string    `json:"weighted_estimate"`
}

// changes names the fields that differ between v and prev.
func (v FeeValues) changes(prev FeeValues) []string {
	out := []string{}
	add := func(name string, a, b *string) {
		if !sameDec(a, b) {
			out = append(out, name)
		}
	}
	add("weighted_estimate", v.WeightedEstimate, prev.WeightedEstimate)
	add("minimum", v.Minimum, prev.Minimum)
	add("maximum", v.Maximum, prev.Maximum)
	for i := range 4 {
		add(fmt.Sprintf("band%d_median", i+1), v.BandMedians[i], prev.BandMedians[i])
		add(fmt.Sprintf("band%d_customer_rate", i+1), v.BandCustomerRates[i], prev.BandCustomerRates[i])
	}
	return out
}

// sameDec compares two decimals as DuckDB formats them (fixed scale), so
// string equality is numeric equality.
func sameDec(a, b *string) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

// FeeHistoryPoint is a fee series' values in one collection, with the values
// of the previous collection of the same series and what changed.
type FeeHistoryPoint struct {
	InstitutionCNPJ string    `json:"institution_cnpj"`
	InstitutionName string    `json:"institution_name"`
	Brand           string    `json:"brand"`
	OrganisationID  string    `json:"organisation_id"`
	Product         string    `json:"product"`
	Segment         string    `json:"segment"`
	ProductType     string    `json:"product_type"`
	ServiceCode     string    `json:"service_code"`
	ServiceName     string    `json:"service_name"`
	Currency        string    `json:"currency"`
	CollectionID    string    `json:"collection_id"`
	CollectedAt     time.Time `json:"collected_at"`
	FeeValues
	Flags     []string `json:"flags"`
	Simulated bool     `json:"simulated"`
	// Previous is nil for the first collection of a series.
	Previous            *FeeValues `json:"previous"`
	PreviousCollectedAt *time.Time `json:"previous_collected_at"`
	// Changed is true when a value differs from Previous; ChangedFields names them.
	Changed       bool     `json:"changed"`
	ChangedFields []string `json:"changed_fields"`
}

// SeriesKey names the point's series: an institution's fee (organisation,
// CNPJ, brand, product, segment, product type, service code, currency).
func (p FeeHistoryPoint) SeriesKey() []string {
	return []string{p.OrganisationID, p.InstitutionCNPJ, p.Brand, p.Product, p.Segment, p.ProductType, p.ServiceCode, p.Currency}
}

// FeeHistory returns every collection's values of the selected fee series in
// time order, with the changes between consecutive collections.
func (s *Store) FeeHistory(ctx context.Context, f HistoryFilter) ([]FeeHistoryPoint, error) {
	if err := f.ValidateFees(); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, feeHistorySQL, nullable(f.Product), nullable(f.Segment), nullable(f.ProductType),
		nullable(f.ServiceCode), nullable(f.Currency), nullableBool(f.Simulated), nullable(f.Institution))
	if err != nil {
		return nil, fmt.Errorf("warehouse: fee history: %w", err)
	}
	defer rows.Close()
	out := []FeeHistoryPoint{}
	var prev FeeHistoryPoint
	first, skip := true, f.Offset
	for rows.Next() {
		var p FeeHistoryPoint
		var minimum, maximum, est sql.NullString
		var bands, custs [4]sql.NullString
		var flags string
		if err := rows.Scan(&p.InstitutionCNPJ, &p.InstitutionName, &p.Brand, &p.OrganisationID,
			&p.Product, &p.Segment, &p.ProductType, &p.ServiceCode, &p.ServiceName, &p.Currency,
			&p.CollectionID, &p.CollectedAt, &minimum, &maximum,
			&bands[0], &bands[1], &bands[2], &bands[3], &custs[0], &custs[1], &custs[2], &custs[3],
			&est, &flags, &p.Simulated); err != nil {
			return nil, fmt.Errorf("warehouse: fee history: %w", err)
		}
		p.Minimum, p.Maximum, p.WeightedEstimate = str(minimum), str(maximum), str(est)
		for i := range 4 {
			p.BandMedians[i], p.BandCustomerRates[i] = str(bands[i]), str(custs[i])
		}
		p.CollectedAt = p.CollectedAt.UTC()
		p.Flags = splitFlags(flags)
		p.ChangedFields = []string{}
		if !first && slices.Equal(prev.SeriesKey(), p.SeriesKey()) {
			pv, at := prev.FeeValues, prev.CollectedAt
			p.Previous, p.PreviousCollectedAt = &pv, &at
			p.ChangedFields = p.FeeValues.changes(pv)
			p.Changed = len(p.ChangedFields) > 0
		}
		prev, first = p, false
		if f.ChangesOnly && !p.Changed {
			continue
		}
		if skip > 0 {
			skip--
			continue
		}
		out = append(out, p)
		if f.Limit > 0 && len(out) == f.Limit {
			return out, nil // the rest is past the page
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("warehouse: fee history: %w", err)
	}
	return out, nil
}

// RateValues are the published figures of an interest rate in one collection.
type RateValues struct {
	Rate              *string    `json:"rate"`
	MinimumRate       *string    `json:"minimum_rate"`
	MaximumRate       *string    `json:"maximum_rate"`
	BandRates         [4]*string `json:"band_rates"`
	BandCustomerRates [4]*string `json:"band_customer_rates"`
	WeightedEstimate  *string    `json:"weighted_estimate"`
}

func (v RateValues) changes(prev RateValues) []string {
	out := []string{}
	add := func(name string, a, b *string) {
		if !sameDec(a, b) {
			out = append(out, name)
		}
	}
	add("weighted_estimate", v.WeightedEstimate, prev.WeightedEstimate)
	add("rate", v.Rate, prev.Rate)
	add("minimum_rate", v.MinimumRate, prev.MinimumRate)
	add("maximum_rate", v.MaximumRate, prev.MaximumRate)
	for i := range 4 {
		add(fmt.Sprintf("band%d_rate", i+1), v.BandRates[i], prev.BandRates[i])
		add(fmt.Sprintf("band%d_customer_rate", i+1), v.BandCustomerRates[i], prev.BandCustomerRates[i])
	}
	return out
}

// RateHistoryPoint is a rate series' values in one collection.
type RateHistoryPoint struct {
	InstitutionCNPJ string    `json:"institution_cnpj"`
	InstitutionName string    `json:"institution_name"`
	Brand           string    `json:"brand"`
	OrganisationID  string    `json:"organisation_id"`
	Product         string    `json:"product"`
	Segment         string    `json:"segment"`
	ProductType     string    `json:"product_type"`
	Indexer         string    `json:"indexer"`
	CollectionID    string    `json:"collection_id"`
	CollectedAt     time.Time `json:"collected_at"`
	RateValues
	Flags               []string    `json:"flags"`
	Simulated           bool        `json:"simulated"`
	Previous            *RateValues `json:"previous"`
	PreviousCollectedAt *time.Time  `json:"previous_collected_at"`
	Changed             bool        `json:"changed"`
	ChangedFields       []string    `json:"changed_fields"`
}

// SeriesKey names the point's series: an institution's rate (organisation,
// CNPJ, brand, product, segment, product type, indexer).
func (p RateHistoryPoint) SeriesKey() []string {
	return []string{p.OrganisationID, p.InstitutionCNPJ, p.Brand, p.Product, p.Segment, p.ProductType, p.Indexer}
}

// RateHistory returns every collection's values of the selected rate series
// in time order, with the changes between consecutive collections.
func (s *Store) RateHistory(ctx context.Context, f HistoryFilter) ([]RateHistoryPoint, error) {
	if err := f.ValidateRates(); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, rateHistorySQL, nullable(f.Product), nullable(f.Segment), nullable(f.ProductType),
		nullable(f.Indexer), nullableBool(f.Simulated), nullable(f.Institution))
	if err != nil {
		return nil, fmt.Errorf("warehouse: rate history: %w", err)
	}
	defer rows.Close()
	out := []RateHistoryPoint{}
	var prev RateHistoryPoint
	first, skip := true, f.Offset
	for rows.Next() {
		var p RateHistoryPoint
		var rate, minimum, maximum, est sql.NullString
		var bands, custs [4]sql.NullString
		var flags string
		if err := rows.Scan(&p.InstitutionCNPJ, &p.InstitutionName, &p.Brand, &p.OrganisationID,
			&p.Product, &p.Segment, &p.ProductType, &p.Indexer, &p.CollectionID, &p.CollectedAt,
			&rate, &minimum, &maximum,
			&bands[0], &bands[1], &bands[2], &bands[3], &custs[0], &custs[1], &custs[2], &custs[3],
			&est, &flags, &p.Simulated); err != nil {
			return nil, fmt.Errorf("warehouse: rate history: %w", err)
		}
		p.Rate, p.MinimumRate, p.MaximumRate, p.WeightedEstimate = str(rate), str(minimum), str(maximum), str(est)
		for i := range 4 {
			p.BandRates[i], p.BandCustomerRates[i] = str(bands[i]), str(custs[i])
		}
		p.CollectedAt = p.CollectedAt.UTC()
		p.Flags = splitFlags(flags)
		p.ChangedFields = []string{}
		if !first && slices.Equal(prev.SeriesKey(), p.SeriesKey()) {
			pv, at := prev.RateValues, prev.CollectedAt
			p.Previous, p.PreviousCollectedAt = &pv, &at
			p.ChangedFields = p.RateValues.changes(pv)
			p.Changed = len(p.ChangedFields) > 0
		}
		prev, first = p, false
		if f.ChangesOnly && !p.Changed {
			continue
		}
		if skip > 0 {
			skip--
			continue
		}
		out = append(out, p)
		if f.Limit > 0 && len(out) == f.Limit {
			return out, nil // the rest is past the page
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("warehouse: rate history: %w", err)
	}
	return out, nil
}
