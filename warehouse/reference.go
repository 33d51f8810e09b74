package warehouse

import (
	"context"
	"database/sql"
	"fmt"
	"time"
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
	return referenceRows(ctx, s.db, FeeComparisonSQL(source), f.Args(), f.Page, func(rows *sql.Rows, c *refCols) (FeeComparison, error) {
		var r FeeComparison
		err := rows.Scan(&r.InstitutionCNPJ, &r.InstitutionName, &r.Brand, &r.OrganisationID,
			&r.Product, &r.Segment, &r.ProductType, &r.ServiceCode, &r.ServiceName, &r.Currency,
			&c.minimum, &c.maximum, &c.bands[0], &c.bands[1], &c.bands[2], &c.bands[3], &c.custs[0], &c.custs[1], &c.custs[2], &c.custs[3],
			&c.est, &r.Rank, &r.CollectionID, &r.CollectedAt, &c.flags, &r.Simulated,
			&r.GroupSize, &c.gmin, &c.gmax, &c.spread, &c.cheapest, &c.dearest)
		r.Minimum, r.Maximum, r.WeightedEstimate = str(c.minimum), str(c.maximum), str(c.est)
		c.bandsTo(&r.BandMedians, &r.BandCustomerRates)
		c.groupTo(&r.GroupMin, &r.GroupMax, &r.Spread, &r.Cheapest, &r.MostExpensive, &r.CollectedAt, &r.Flags)
		return r, err
	})
}

// ratesOn is feesOn for RateComparisonSQL.
func (s *Store) ratesOn(ctx context.Context, source string, f RateFilter) ([]RateComparison, error) {
	return referenceRows(ctx, s.db, RateComparisonSQL(source), f.Args(), f.Page, func(rows *sql.Rows, c *refCols) (RateComparison, error) {
		var r RateComparison
		var rate sql.NullString
		err := rows.Scan(&r.InstitutionCNPJ, &r.InstitutionName, &r.Brand, &r.OrganisationID,
			&r.Product, &r.Segment, &r.ProductType, &r.Indexer,
			&rate, &c.minimum, &c.maximum, &c.bands[0], &c.bands[1], &c.bands[2], &c.bands[3], &c.custs[0], &c.custs[1], &c.custs[2], &c.custs[3],
			&c.est, &r.Rank, &r.CollectionID, &r.CollectedAt, &c.flags, &r.Simulated,
			&r.GroupSize, &c.gmin, &c.gmax, &c.spread, &c.cheapest, &c.dearest)
		r.Rate, r.MinimumRate, r.MaximumRate, r.WeightedEstimate = str(rate), str(c.minimum), str(c.maximum), str(c.est)
		c.bandsTo(&r.BandRates, &r.BandCustomerRates)
		c.groupTo(&r.GroupMin, &r.GroupMax, &r.Spread, &r.Cheapest, &r.MostExpensive, &r.CollectedAt, &r.Flags)
		return r, err
	})
}

// referenceRows runs a reference query and returns the page of its rows,
// each read by scan. The page is cut by DuckDB (the query ends with its
// full ORDER BY): a page of the API does not scan every row.
func referenceRows[T any](ctx context.Context, db *sql.DB, query string, args []any, page Page,
	scan func(*sql.Rows, *refCols) (T, error)) ([]T, error) {
	if page.Limit > 0 {
		query += fmt.Sprintf("\nLIMIT %d", page.Limit)
	}
	if page.Offset > 0 {
		query += fmt.Sprintf("\nOFFSET %d", page.Offset)
	}
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		var c refCols
		r, err := scan(rows, &c)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// refCols holds the nullable columns both reference queries scan the same
// way.
type refCols struct {
	minimum, maximum, est                 sql.NullString
	bands, custs                          [4]sql.NullString
	flags                                 string
	gmin, gmax, spread, cheapest, dearest sql.NullString
}

func (c *refCols) bandsTo(values, customers *[4]*string) {
	for i := range 4 {
		values[i], customers[i] = str(c.bands[i]), str(c.custs[i])
	}
}

func (c *refCols) groupTo(gmin, gmax, spread, cheapest, dearest **string, at *time.Time, flags *[]string) {
	*gmin, *gmax, *spread, *cheapest, *dearest = str(c.gmin), str(c.gmax), str(c.spread), str(c.cheapest), str(c.dearest)
	*at = at.UTC()
	*flags = splitFlags(c.flags)
}
