package warehouse

import (
	"context"
	"database/sql"
)

// The reference path of the comparisons: FeeComparisonSQL/RateComparisonSQL
// run on the views (or any source) and scanned row by row. Store.Fees and
// Store.Rates take it while loads are committed that the derived tables do
// not reflect yet (a refresh is pending), so that a query right after a
// load is exact and never waits for the refresh: the refresh runs in the
// background (Options.RefreshDelay) and the queries after it take the
// derived tables again, several times faster (see latest.go).

// feesOn runs FeeComparisonSQL on source with f's filters and returns the
// page f.Page of its rows.
func (s *Store) feesOn(ctx context.Context, source string, f FeeFilter) ([]FeeComparison, error) {
	rows, err := s.db.QueryContext(ctx, FeeComparisonSQL(source), f.Args()...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []FeeComparison{}
	for rows.Next() {
		var r FeeComparison
		var minimum, maximum, est sql.NullString
		var bands, custs [4]sql.NullString
		var g refGroup
		if err := rows.Scan(&r.InstitutionCNPJ, &r.InstitutionName, &r.Brand, &r.OrganisationID,
			&r.Product, &r.Segment, &r.ProductType, &r.ServiceCode, &r.ServiceName, &r.Currency,
			&minimum, &maximum, &bands[0], &bands[1], &bands[2], &bands[3], &custs[0], &custs[1], &custs[2], &custs[3],
			&est, &r.Rank, &r.CollectionID, &r.CollectedAt, &g.flags, &r.Simulated,
			&r.GroupSize, &g.min, &g.max, &g.spread, &g.cheapest, &g.dearest); err != nil {
			return nil, err
		}
		r.Minimum, r.Maximum, r.WeightedEstimate = str(minimum), str(maximum), str(est)
		for i := range 4 {
			r.BandMedians[i], r.BandCustomerRates[i] = str(bands[i]), str(custs[i])
		}
		r.GroupMin, r.GroupMax, r.Spread, r.Cheapest, r.MostExpensive = g.values()
		r.CollectedAt = r.CollectedAt.UTC()
		r.Flags = splitFlags(g.flags)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return paged(out, f.Page), nil
}

// ratesOn is feesOn for RateComparisonSQL.
func (s *Store) ratesOn(ctx context.Context, source string, f RateFilter) ([]RateComparison, error) {
	rows, err := s.db.QueryContext(ctx, RateComparisonSQL(source), f.Args()...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []RateComparison{}
	for rows.Next() {
		var r RateComparison
		var rate, minimum, maximum, est sql.NullString
		var bands, custs [4]sql.NullString
		var g refGroup
		if err := rows.Scan(&r.InstitutionCNPJ, &r.InstitutionName, &r.Brand, &r.OrganisationID,
			&r.Product, &r.Segment, &r.ProductType, &r.Indexer,
			&rate, &minimum, &maximum, &bands[0], &bands[1], &bands[2], &bands[3], &custs[0], &custs[1], &custs[2], &custs[3],
			&est, &r.Rank, &r.CollectionID, &r.CollectedAt, &g.flags, &r.Simulated,
			&r.GroupSize, &g.min, &g.max, &g.spread, &g.cheapest, &g.dearest); err != nil {
			return nil, err
		}
		r.Rate, r.MinimumRate, r.MaximumRate, r.WeightedEstimate = str(rate), str(minimum), str(maximum), str(est)
		for i := range 4 {
			r.BandRates[i], r.BandCustomerRates[i] = str(bands[i]), str(custs[i])
		}
		r.GroupMin, r.GroupMax, r.Spread, r.Cheapest, r.MostExpensive = g.values()
		r.CollectedAt = r.CollectedAt.UTC()
		r.Flags = splitFlags(g.flags)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return paged(out, f.Page), nil
}

// refGroup holds the columns of a reference row that both comparisons
// scan the same way: the flags and the group statistics.
type refGroup struct {
	flags                               string
	min, max, spread, cheapest, dearest sql.NullString
}

func (g *refGroup) values() (minimum, maximum, spread, cheapest, dearest *string) {
	return str(g.min), str(g.max), str(g.spread), str(g.cheapest), str(g.dearest)
}
