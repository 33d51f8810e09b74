package warehouse

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// The comparison tables fees_latest and rates_latest are derived from
// opendata_fees and opendata_rates: they hold only the rows the comparison
// can return (the latest collection of every (organisation_id,
// institution_cnpj, brand, product), one row per group key), with the
// weighted estimate computed and the output columns already formatted, so that
// Store.Fees and Store.Rates are a filtered scan and one sort instead of a
// latest-collection join and three window passes over the whole dataset.
//
// Which rows the comparison keeps depends on two filters that act before the
// latest-collection step: simulated (the latest collection among simulated,
// or real, rows only) and include_flagged (a redelivered row is replaced by
// the next clean one when flagged rows are excluded). So every row carries six
// keep_* flags, one per combination (simulated any/true/false × flagged
// included/excluded), each computed exactly as FeeComparisonSQL computes its
// population; the other filters only select whole groups.
//
// Load refreshes the rows of the (organisation_id, institution_cnpj, brand,
// product) keys it touches, in the load's transaction; Refresh rebuilds both
// tables from the dataset tables.

// comparisonSpec describes one comparison (fees or rates) for the derived
// table and its query.
type comparisonSpec struct {
	dataset string // source dataset table
	table   string // derived table
	// groupKey are the group key columns (product first).
	groupKey []string
	// band1 is the band-1 value column (the first rank tie-break).
	band1 string
	// valueSuffix names the band value columns for weighted().
	valueSuffix string
	// texts are the text columns packed into row_text, group key first.
	texts []string
	// decimals are the decimal columns packed into row_decimals (the weighted
	// estimate follows as the last value).
	decimals []string
}

var feeSpec = comparisonSpec{
	dataset:     DatasetFees,
	table:       "fees_latest",
	groupKey:    []string{"product", "segment", "product_type", "service_code", "currency"},
	band1:       "band1_median",
	valueSuffix: "median",
	texts: []string{"product", "segment", "product_type", "service_code", "currency",
		"institution_cnpj", "institution_name", "brand", "organisation_id", "service_name", "collection_id", "flags"},
	decimals: []string{"minimum", "maximum", "band1_median", "band2_median", "band3_median", "band4_median",
		"band1_customers", "band2_customers", "band3_customers", "band4_customers"},
}

var rateSpec = comparisonSpec{
	dataset:     DatasetRates,
	table:       "rates_latest",
	groupKey:    []string{"product", "segment", "product_type", "indexer"},
	band1:       "band1_rate",
	valueSuffix: "rate",
	texts: []string{"product", "segment", "product_type", "indexer",
		"institution_cnpj", "institution_name", "brand", "organisation_id", "collection_id", "flags"},
	decimals: []string{"rate", "minimum_rate", "maximum_rate", "band1_rate", "band2_rate", "band3_rate", "band4_rate",
		"band1_customers", "band2_customers", "band3_customers", "band4_customers"},
}

var comparisonSpecs = []comparisonSpec{feeSpec, rateSpec}

// specFor returns the comparison fed by dataset, if any.
func specFor(dataset string) (comparisonSpec, bool) {
	for _, c := range comparisonSpecs {
		if c.dataset == dataset {
			return c, true
		}
	}
	return comparisonSpec{}, false
}

// Index of a text in row_text (see comparisonSpec.texts).
func (c comparisonSpec) textIndex(name string) int {
	for i, t := range c.texts {
		if t == name {
			return i
		}
	}
	panic("warehouse: no text column " + name)
}

// Index of a decimal in row_decimals (see comparisonSpec.decimals).
func (c comparisonSpec) decimalIndex(name string) int {
	for i, d := range c.decimals {
		if d == name {
			return i
		}
	}
	panic("warehouse: no decimal column " + name)
}

// keepColumns lists the keep_* flags; keepColumn picks the one of a filter.
var keepColumns = []string{"keep_any_all", "keep_any_clean", "keep_sim_all", "keep_sim_clean", "keep_real_all", "keep_real_clean"}

func keepColumn(simulated *bool, excludeFlagged bool) string {
	c := "keep_any"
	if simulated != nil && *simulated {
		c = "keep_sim"
	} else if simulated != nil {
		c = "keep_real"
	}
	if excludeFlagged {
		return c + "_clean"
	}
	return c + "_all"
}

// refreshKeysTable is the per-connection temporary table of the
// (organisation_id, institution_cnpj, brand, product) keys a load touches.
const refreshKeysTable = "ofp_refresh_keys"

var latestKey = []string{"organisation_id", "institution_cnpj", "brand", "product"}

func (c comparisonSpec) createSQL() string {
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE TABLE IF NOT EXISTS %s (\n", c.table)
	for _, col := range []string{"organisation_id", "institution_cnpj", "brand", "institution_name"} {
		fmt.Fprintf(&b, "  %s VARCHAR,\n", col)
	}
	for _, col := range c.groupKey {
		fmt.Fprintf(&b, "  %s VARCHAR,\n", col)
	}
	b.WriteString("  weighted_estimate DECIMAL(18,6),\n  band1 DECIMAL(18,6),\n  collected_at TIMESTAMP WITH TIME ZONE,\n  simulated BOOLEAN,\n")
	for _, k := range keepColumns {
		fmt.Fprintf(&b, "  %s BOOLEAN NOT NULL,\n", k)
	}
	b.WriteString("  row_text VARCHAR NOT NULL,\n  row_decimals VARCHAR NOT NULL\n)")
	return b.String()
}

// joinOn returns "a.k1 = b.k1 AND ..." over cols.
func joinOn(a, b string, cols []string) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = fmt.Sprintf("%s.%s = %s.%s", a, c, b, c)
	}
	return strings.Join(parts, " AND ")
}

// buildSQL selects the derived rows of the dataset, restricted to the keys
// in refreshKeysTable when onlyKeys. Its population rules are those of
// FeeComparisonSQL / RateComparisonSQL (same latest-collection aggregate,
// same dedup order, same estimate expression), once per keep_* variant.
func (c comparisonSpec) buildSQL(onlyKeys bool) string {
	src := "SELECT f.rowid AS rid, f.* FROM " + c.dataset + " f"
	if onlyKeys {
		src += " SEMI JOIN " + refreshKeysTable + " k ON " + joinOn("f", "k", latestKey)
	}
	dedupKey := append(append([]string{}, latestKey...), c.groupKey[1:]...)
	var keeps []string
	for _, v := range []struct{ name, in string }{{"any", "in_any"}, {"sim", "in_sim"}, {"real", "in_real"}} {
		keeps = append(keeps,
			fmt.Sprintf("coalesce(rid = first_value(CASE WHEN %[1]s THEN rid END IGNORE NULLS) OVER w, false) AS keep_%[2]s_all", v.in, v.name),
			fmt.Sprintf("coalesce(rid = first_value(CASE WHEN %[1]s AND clean THEN rid END IGNORE NULLS) OVER w, false) AS keep_%[2]s_clean", v.in, v.name))
	}
	packedText := make([]string, 0, 3*len(c.texts))
	for _, t := range c.texts {
		packedText = append(packedText, fmt.Sprintf("coalesce(strlen(%[1]s)::VARCHAR, 'N'), ':', %[1]s", t))
	}
	packedDec := make([]string, 0, len(c.decimals)+1)
	for _, d := range append(append([]string{}, c.decimals...), "weighted_estimate") {
		packedDec = append(packedDec, fmt.Sprintf("coalesce(%s::VARCHAR, '')", d))
	}
	cols := append(append([]string{"organisation_id", "institution_cnpj", "brand", "institution_name"}, c.groupKey...),
		"weighted_estimate", c.band1+" AS band1", "collected_at", "simulated")
	cols = append(cols, keepColumns...)
	cols = append(cols, "concat("+strings.Join(packedText, ", ")+") AS row_text",
		"concat_ws(',', "+strings.Join(packedDec, ", ")+") AS row_decimals")
	return fmt.Sprintf(`WITH src AS (%[1]s),
latest AS (
  SELECT organisation_id, institution_cnpj, brand, product,
    %[2]s AS coll_any, %[3]s AS coll_sim, %[4]s AS coll_real
  FROM src GROUP BY organisation_id, institution_cnpj, brand, product
),
cand AS (
  SELECT s.*,
    coalesce(s.collection_id = l.coll_any, false) AS in_any,
    coalesce(s.collection_id = l.coll_sim AND s.simulated = true, false) AS in_sim,
    coalesce(s.collection_id = l.coll_real AND s.simulated = false, false) AS in_real,
    coalesce(s.flags, '') = '' AS clean
  FROM src s JOIN latest l ON %[5]s
  WHERE s.collection_id = l.coll_any OR s.collection_id = l.coll_sim OR s.collection_id = l.coll_real
),
picked AS (
  SELECT *, %[6]s
  FROM cand
  WINDOW w AS (PARTITION BY %[7]s, collection_id
    ORDER BY src_topic, src_partition, src_offset, item_index ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
),
est AS (
  SELECT *, %[8]s AS weighted_estimate FROM picked
  WHERE %[9]s
)
SELECT %[10]s FROM est`,
		src, latestCollection(""), latestCollection("simulated"), latestCollection("NOT simulated"),
		joinOn("s", "l", latestKey), strings.Join(keeps, ",\n    "), strings.Join(dedupKey, ", "),
		weighted(c.valueSuffix), strings.Join(keepColumns, " OR "), strings.Join(cols, ",\n  "))
}

// execer is what the refresh needs: a *sql.Tx (or *sql.DB).
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// refreshAll rebuilds every derived comparison table from its dataset.
func refreshAll(ctx context.Context, tx execer) error {
	for _, c := range comparisonSpecs {
		if _, err := tx.ExecContext(ctx, "DELETE FROM "+c.table); err != nil {
			return fmt.Errorf("warehouse: refresh %s: %w", c.table, err)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO "+c.table+" BY NAME "+c.buildSQL(false)); err != nil {
			return fmt.Errorf("warehouse: refresh %s: %w", c.table, err)
		}
	}
	return nil
}

// collectRefreshKeys records, before a load deletes and inserts rows, the
// keys whose derived rows the load can change: those of the rows it replaces
// and those of the file.
func (c comparisonSpec) collectRefreshKeys(ctx context.Context, tx execer, parquetPath string, src SourceRange) error {
	keys := strings.Join(latestKey, ", ")
	_, err := tx.ExecContext(ctx, fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE %[1]s AS
SELECT DISTINCT %[2]s FROM %[3]s WHERE src_topic = $1 AND src_partition = $2 AND src_offset BETWEEN $3 AND $4
UNION
SELECT DISTINCT %[2]s FROM read_parquet($5)`, refreshKeysTable, keys, c.dataset),
		src.Topic, src.Partition, src.First, src.Last, parquetPath)
	if err != nil {
		return fmt.Errorf("warehouse: collect keys to refresh in %s: %w", c.table, err)
	}
	return nil
}

// refreshKeys recomputes the derived rows of the keys collected by
// collectRefreshKeys, after the load changed the dataset table.
func (c comparisonSpec) refreshKeys(ctx context.Context, tx execer) error {
	if _, err := tx.ExecContext(ctx, "DELETE FROM "+c.table+" t USING "+refreshKeysTable+" k WHERE "+joinOn("t", "k", latestKey)); err != nil {
		return fmt.Errorf("warehouse: refresh %s: %w", c.table, err)
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO "+c.table+" BY NAME "+c.buildSQL(true)); err != nil {
		return fmt.Errorf("warehouse: refresh %s: %w", c.table, err)
	}
	if _, err := tx.ExecContext(ctx, "DROP TABLE "+refreshKeysTable); err != nil {
		return fmt.Errorf("warehouse: refresh %s: %w", c.table, err)
	}
	return nil
}

// Refresh rebuilds the derived comparison tables (fees_latest, rates_latest)
// from the dataset tables. Load keeps them current on its own; call Refresh
// only after writing dataset tables some other way (tests, benchmarks).
func (s *Store) Refresh(ctx context.Context) error {
	if s.readOnly {
		return ErrReadOnly
	}
	s.loadMu.Lock()
	defer s.loadMu.Unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("warehouse: refresh: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := refreshAll(ctx, tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("warehouse: refresh: %w", err)
	}
	s.checkpoint(ctx)
	return nil
}
