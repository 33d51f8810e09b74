package warehouse

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// The warehouse path of the comparisons. FeeComparisonSQL/RateComparisonSQL
// are the reference: pure SQL that runs on any source (the benchmark runs it
// on the lake's Parquet files). Store.Fees/Store.Rates give the same rows from
// the derived tables (latest.go): DuckDB filters the kept rows and sorts them
// in output order (group key, weighted estimate, band-1 value, name, brand,
// CNPJ, organisation), and one streaming pass here computes, per group, the
// rank and the group statistics that the reference computes with window
// functions. TestStoreMatchesReferenceSQL checks that both agree row by row.
//
// Rows arrive packed (row_text, row_decimals) because scanning one string
// costs about as much as scanning one decimal: 5 columns per row instead of 32.

// comparisonQuery returns the warehouse query of spec for one filter and the
// query counting its selected rows. Parameters: the group-key filters in
// spec.groupKey order ($1..$n), then institution when institution is true.
func (c comparisonSpec) comparisonQuery(keep string, institution bool) (query, count string) {
	n := len(c.groupKey)
	inst := fmt.Sprintf("$%d", n+1)
	match := func(t string) string {
		if !institution {
			return "true" // and the parameter is not passed
		}
		return fmt.Sprintf("(%[2]s IS NULL OR %[1]s.institution_cnpj = %[2]s OR contains(lower(%[1]s.institution_name), lower(%[2]s)) OR contains(lower(%[1]s.brand), lower(%[2]s)))", t, inst)
	}
	var where []string
	for i, k := range c.groupKey {
		where = append(where, fmt.Sprintf("($%[1]d IS NULL OR l.%[2]s = $%[1]d)", i+1, k))
	}
	if institution {
		// Only groups where the institution appears need ranking.
		same := make([]string, n)
		for i, k := range c.groupKey {
			same[i] = fmt.Sprintf("m.%[1]s IS NOT DISTINCT FROM l.%[1]s", k)
		}
		where = append(where, fmt.Sprintf("EXISTS (SELECT 1 FROM %s m WHERE m.%s AND %s AND %s)",
			c.table, keep, match("m"), strings.Join(same, " AND ")))
	}
	order := append(append([]string{}, c.groupKey...), "weighted_estimate ASC NULLS LAST", "band1 ASC NULLS LAST",
		"institution_name", "brand", "institution_cnpj", "organisation_id")
	query = fmt.Sprintf(`SELECT row_text, row_decimals, collected_at, coalesce(simulated, false), coalesce(%s, false)
FROM %s l
WHERE l.%s AND %s
ORDER BY %s`, match("l"), c.table, keep, strings.Join(where, " AND "), strings.Join(order, ", "))
	// The number of rows the query returns (after the institution filter),
	// to allocate the result once.
	count = fmt.Sprintf(`SELECT count(*) FILTER (WHERE %s) FROM %s l WHERE l.%s AND %s`,
		match("l"), c.table, keep, strings.Join(where[:n], " AND "))
	return query, count
}

// maxPacked bounds the number of packed texts and decimals of a spec.
const maxPacked = 12

// packedRow is one decoded row of a comparison query. Fixed arrays keep the
// decoding to one allocation per row (the decimal strings, which the result
// points into).
type packedRow struct {
	texts     [maxPacked]string // spec.texts, NULL as ""
	textNull  [maxPacked]bool
	decimals  [maxPacked]*string // spec.decimals then the weighted estimate; nil = NULL
	nDecimals int
	at        time.Time
	simulated bool
	selected  bool   // passes the institution filter
	groupKey  string // raw packed group key (see unpackTexts)
}

func (r *packedRow) estimate() *string { return r.decimals[r.nDecimals-1] }

// unpackTexts decodes row_text into r: per field "<byte length>:<bytes>", or
// "N:" for NULL. r.groupKey is the raw prefix holding the first nKey fields,
// which tells groups apart even when one has NULL and another "" in a key
// column.
func unpackTexts(r *packedRow, s string, n, nKey int) error {
	if n > maxPacked {
		return fmt.Errorf("warehouse: %d packed texts, at most %d", n, maxPacked)
	}
	pos := 0
	for i := range n {
		colon := strings.IndexByte(s[pos:], ':')
		if colon < 0 {
			return fmt.Errorf("warehouse: malformed packed row %q", s)
		}
		lenField := s[pos : pos+colon]
		pos += colon + 1
		if lenField == "N" {
			r.textNull[i] = true
		} else {
			l, err := strconv.Atoi(lenField)
			if err != nil || l < 0 || pos+l > len(s) {
				return fmt.Errorf("warehouse: malformed packed row %q", s)
			}
			r.texts[i] = s[pos : pos+l]
			pos += l
		}
		if i == nKey-1 {
			r.groupKey = s[:pos]
		}
	}
	if pos != len(s) {
		return fmt.Errorf("warehouse: malformed packed row %q", s)
	}
	return nil
}

// unpackDecimals decodes row_decimals into r: n comma-separated decimals,
// "" = NULL.
func unpackDecimals(r *packedRow, s string, n int) error {
	if n > maxPacked {
		return fmt.Errorf("warehouse: %d packed decimals, at most %d", n, maxPacked)
	}
	vals := new([maxPacked]string)
	for i := range n {
		v := s
		if comma := strings.IndexByte(s, ','); comma >= 0 && i < n-1 {
			v, s = s[:comma], s[comma+1:]
		} else if i < n-1 || comma >= 0 {
			return fmt.Errorf("warehouse: malformed packed decimals (want %d)", n)
		}
		if v != "" {
			vals[i] = v
			r.decimals[i] = &vals[i]
		}
	}
	r.nDecimals = n
	return nil
}

// groupStats are the statistics of one comparison group.
type groupStats struct {
	size                    int64
	min, max, spread        *string
	cheapest, mostExpensive *string
}

// rankGroup computes the ranks and statistics of one group whose rows are in
// output order: weighted estimate ASC NULLS LAST, band-1 value ASC NULLS
// LAST, institution name ASC NULLS LAST, brand, CNPJ. Decimals are compared
// as DuckDB formats them (fixed scale), so equal strings are equal values.
func rankGroup(rows []packedRow, band1, name int) ([]int64, groupStats, error) {
	est := (*packedRow).estimate
	nameOf := func(r *packedRow) *string { // a copy: the group buffer is reused
		if r.textNull[name] {
			return nil
		}
		n := r.texts[name]
		return &n
	}
	ranks := make([]int64, len(rows))
	for i := range rows {
		// Equal price, equal rank: the name only orders ties for display.
		if i > 0 && sameDec(est(&rows[i]), est(&rows[i-1])) && sameDec(rows[i].decimals[band1], rows[i-1].decimals[band1]) {
			ranks[i] = ranks[i-1]
		} else {
			ranks[i] = int64(i + 1)
		}
	}
	g := groupStats{size: int64(len(rows))}
	if len(rows) == 0 || est(&rows[0]) == nil {
		return ranks, g, nil
	}
	// Non-NULL estimates come first, ascending.
	last := 0
	for last+1 < len(rows) && est(&rows[last+1]) != nil {
		last++
	}
	g.min, g.max = est(&rows[0]), est(&rows[last])
	g.cheapest = nameOf(&rows[0])
	// Most expensive: highest estimate, then highest band-1 value (NULLs
	// last), then name, brand, CNPJ ascending. The rows with the highest
	// estimate end at last, their band-1 values ascending with NULLs at the end.
	first := last
	for first > 0 && sameDec(est(&rows[first-1]), g.max) {
		first--
	}
	pick := first
	for i := last; i >= first; i-- {
		if b := rows[i].decimals[band1]; b != nil {
			pick = i
			for pick > first && sameDec(rows[pick-1].decimals[band1], b) {
				pick--
			}
			break
		}
	}
	g.mostExpensive = nameOf(&rows[pick])
	lo, err := decimal.NewFromString(*g.min)
	if err != nil {
		return nil, g, fmt.Errorf("warehouse: group minimum %q: %w", *g.min, err)
	}
	hi, err := decimal.NewFromString(*g.max)
	if err != nil {
		return nil, g, fmt.Errorf("warehouse: group maximum %q: %w", *g.max, err)
	}
	// DECIMAL(18,6): like the reference's TRY_CAST, NULL when it does not fit.
	if d := hi.Sub(lo); d.Abs().LessThan(maxDecimal18) {
		s := d.StringFixed(6)
		g.spread = &s
	}
	return ranks, g, nil
}

var maxDecimal18 = decimal.New(1, 12)

// Page selects a window of a query's rows: Offset rows are skipped, then at
// most Limit rows are returned (0 = no limit).
type Page struct {
	Limit  int
	Offset int
}

// paged returns the window p of rows (for the small reports that are read
// whole).
func paged[T any](rows []T, p Page) []T {
	rows = rows[min(p.Offset, len(rows)):]
	if p.Limit > 0 && len(rows) > p.Limit {
		rows = rows[:p.Limit]
	}
	return rows
}

func (p Page) validate() error {
	if p.Limit < 0 || p.Offset < 0 {
		return fmt.Errorf("%w: limit and offset must be >= 0 (got %d, %d)", ErrInvalidFilter, p.Limit, p.Offset)
	}
	return nil
}

// runComparison runs the warehouse comparison of spec, calls start with the
// number of rows it will emit, then hands every row of the page window,
// ranked and in output order, to emit. The caller has checked that no
// refresh is due (refreshDue).
func (s *Store) runComparison(ctx context.Context, c comparisonSpec, keep string, args []any, page Page,
	start func(n int), emit func(r *packedRow, rank int64, g *groupStats)) error {
	institution := args[len(args)-1] != nil
	if !institution {
		args = args[:len(args)-1]
	}
	query, count := c.comparisonQuery(keep, institution)
	var n int
	if err := s.db.QueryRowContext(ctx, count, args...).Scan(&n); err != nil {
		return err
	}
	n = max(n-page.Offset, 0)
	if page.Limit > 0 {
		n = min(n, page.Limit)
	}
	start(n)
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	band1, name := c.decimalIndex(c.band1), c.textIndex("institution_name")
	skip, emitted := page.Offset, 0
	var group []packedRow
	full := func() bool { return page.Limit > 0 && emitted >= page.Limit }
	flush := func() error {
		ranks, g, err := rankGroup(group, band1, name)
		if err != nil {
			return err
		}
		for i := range group {
			if !group[i].selected || full() {
				continue
			}
			if skip > 0 {
				skip--
				continue
			}
			emit(&group[i], ranks[i], &g)
			emitted++
		}
		group = group[:0]
		return nil
	}
	for rows.Next() {
		var text, decs string
		var r packedRow
		if err := rows.Scan(&text, &decs, &r.at, &r.simulated, &r.selected); err != nil {
			return err
		}
		if err := unpackTexts(&r, text, len(c.texts), len(c.groupKey)); err != nil {
			return err
		}
		if err := unpackDecimals(&r, decs, len(c.decimals)+1); err != nil {
			return err
		}
		r.at = r.at.UTC()
		if len(group) > 0 && group[0].groupKey != r.groupKey {
			if err := flush(); err != nil {
				return err
			}
			if full() {
				return nil // the rest is past the page
			}
		}
		group = append(group, r)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return flush()
}
