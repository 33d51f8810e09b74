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
// (organisation_id, institution_cnpj, brand, product) keys a load touches;
// collectedKeysTable gathers them (with repeats, and the collections the
// load brings) while the load runs; refreshCollsTable holds the (key,
// collection) pairs an incremental refresh reads.
const (
	refreshKeysTable   = "ofp_refresh_keys"
	collectedKeysTable = "ofp_refresh_keys_collected"
	refreshCollsTable  = "ofp_refresh_colls"
)

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
	b.WriteString("  weighted_estimate DECIMAL(18,6),\n  band1 DECIMAL(18,6),\n  collected_at TIMESTAMP WITH TIME ZONE,\n  simulated BOOLEAN,\n  collection_id VARCHAR,\n")
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

// Which dataset rows buildSQL reads.
const (
	allRows     = iota
	keyRows     // the rows of the keys in refreshKeysTable
	keyCollRows // the rows of the (key, collection) pairs in refreshCollsTable
)

// buildSQL selects the derived rows of the dataset from the rows rows says.
// Its population rules are those of FeeComparisonSQL / RateComparisonSQL
// (same latest-collection aggregate, same dedup order, same estimate
// expression), once per keep_* variant.
func (c comparisonSpec) buildSQL(rows int) string {
	dedupKey := append(append([]string{}, latestKey...), c.groupKey[1:]...)
	// The population is decided on the columns it needs; the rows kept
	// are then read whole by rowid.
	narrow := append(append([]string{}, dedupKey...), "collection_id", "collected_at", "simulated", "flags",
		"src_topic", "src_partition", "src_offset", "item_index")
	src := "SELECT f.rowid AS rid, " + prefixed("f", narrow) + " FROM " + c.dataset + " f"
	switch rows {
	case keyRows:
		src += " SEMI JOIN " + refreshKeysTable + " k ON " + joinOn("f", "k", latestKey)
	case keyCollRows:
		src += " SEMI JOIN " + refreshCollsTable + " k ON " + joinOn("f", "k", latestKey) +
			" AND f.collection_id IS NOT DISTINCT FROM k.collection_id"
	}
	// keep_<v>_<all|clean>: the row is the first (by source position) of
	// its dedup group and collection among the rows of variant v (clean
	// ones only). Source positions are unique and never NULL (Load
	// guarantees both), so arg_min picks the row a window's first_value
	// would, without sorting the rows.
	var firsts, keeps []string
	for _, v := range []struct{ name, in string }{{"any", "in_any"}, {"sim", "in_sim"}, {"real", "in_real"}} {
		for _, k := range []struct{ name, cond string }{{"all", v.in}, {"clean", v.in + " AND clean"}} {
			col := "keep_" + v.name + "_" + k.name
			firsts = append(firsts, fmt.Sprintf("arg_min(rid, (src_topic, src_partition, src_offset, item_index)) FILTER (WHERE %s) AS %s", k.cond, col))
			keeps = append(keeps, fmt.Sprintf("coalesce(bool_or(keep = '%[1]s'), false) AS %[1]s", col))
		}
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
		"weighted_estimate", c.band1+" AS band1", "collected_at", "simulated", "collection_id")
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
firsts AS (
  SELECT %[6]s
  FROM cand GROUP BY %[7]s, collection_id
),
kept AS (
  SELECT rid, %[9]s
  FROM (UNPIVOT firsts ON %[11]s INTO NAME keep VALUE rid)
  GROUP BY rid
),
est AS (
  SELECT f.*, kept.* EXCLUDE (rid), %[8]s AS weighted_estimate
  FROM %[12]s f JOIN kept ON f.rowid = kept.rid
)
SELECT %[10]s FROM est`,
		src, latestCollection(""), latestCollection("simulated"), latestCollection("NOT simulated"),
		joinOn("s", "l", latestKey), strings.Join(firsts, ",\n    "), strings.Join(dedupKey, ", "),
		weighted(c.valueSuffix), strings.Join(keeps, ",\n    "), strings.Join(cols, ",\n  "), strings.Join(keepColumns, ", "), c.dataset)
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
		if _, err := tx.ExecContext(ctx, "INSERT INTO "+c.table+" BY NAME "+c.buildSQL(allRows)); err != nil {
			return fmt.Errorf("warehouse: refresh %s: %w", c.table, err)
		}
	}
	return nil
}

// startRefreshKeys creates the (empty) table the keys of a load are
// collected in.
func (c comparisonSpec) startRefreshKeys(ctx context.Context, tx execer) error {
	cols := make([]string, 0, len(latestKey)+1)
	for _, k := range latestKey {
		cols = append(cols, k+" VARCHAR")
	}
	cols = append(cols, "collection_id VARCHAR")
	if _, err := tx.ExecContext(ctx, "CREATE OR REPLACE TEMP TABLE "+collectedKeysTable+" ("+strings.Join(cols, ", ")+")"); err != nil {
		return fmt.Errorf("warehouse: collect keys to refresh in %s: %w", c.table, err)
	}
	return nil
}

// collectRefreshKeys adds the keys whose derived rows loading one file can
// change, with the collections the file brings: those of the file and,
// when the load replaces the rows of an overlapping range (read before they
// are deleted), those of the replaced rows.
func collectRefreshKeys(ctx context.Context, tx execer, dataset, parquetPath string, src SourceRange, replaces bool) error {
	keys := strings.Join(latestKey, ", ")
	if replaces {
		if _, err := tx.ExecContext(ctx, fmt.Sprintf(`INSERT INTO %[1]s SELECT DISTINCT %[2]s, collection_id FROM %[3]s
WHERE src_topic = $1 AND src_partition = $2 AND src_offset BETWEEN $3 AND $4`, collectedKeysTable, keys, dataset),
			src.Topic, src.Partition, src.First, src.Last); err != nil {
			return fmt.Errorf("warehouse: collect keys to refresh from %s: %w", dataset, err)
		}
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf(`INSERT INTO %[1]s SELECT DISTINCT %[2]s, collection_id FROM read_parquet($1)`,
		collectedKeysTable, keys), parquetPath); err != nil {
		return fmt.Errorf("warehouse: collect keys to refresh from %s: %w", parquetPath, err)
	}
	return nil
}

// refreshKeys recomputes the derived rows of the keys collected by
// collectRefreshKeys, after the load changed the dataset table.
//
// When the load only added rows (incremental), it reads only the rows of
// the collections that can be a key's latest: those its derived rows come
// from now, those the load brought, and rows without a collection id.
// That gives the same rows as reading every row of the key: the latest
// collection (of every keep_* variant) is the one of the row with the
// greatest (collected_at, collection_id); before the load that row was in
// a collection the derived rows come from (every latest collection keeps
// at least one row) or had no collection id, so the greatest row overall
// is among the rows read, and so is every row of its collection. A load
// that replaced rows may have removed that row: it reads every row of the
// key.
func (c comparisonSpec) refreshKeys(ctx context.Context, tx execer, incremental bool) error {
	keys := strings.Join(latestKey, ", ")
	stmts := []string{"CREATE OR REPLACE TEMP TABLE " + refreshKeysTable + " AS SELECT DISTINCT " + keys + " FROM " + collectedKeysTable}
	rows := keyRows
	if incremental {
		rows = keyCollRows
		stmts = append(stmts, fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE %[1]s AS
SELECT %[2]s, collection_id FROM %[3]s
UNION SELECT %[4]s, t.collection_id FROM %[5]s t SEMI JOIN %[6]s k ON %[7]s
UNION SELECT %[2]s, NULL FROM %[6]s`, refreshCollsTable, keys, collectedKeysTable, prefixed("t", latestKey), c.table,
			refreshKeysTable, joinOn("t", "k", latestKey)))
	}
	stmts = append(stmts,
		"DELETE FROM "+c.table+" t USING "+refreshKeysTable+" k WHERE "+joinOn("t", "k", latestKey),
		"INSERT INTO "+c.table+" BY NAME "+c.buildSQL(rows),
		"DROP TABLE IF EXISTS "+refreshCollsTable, "DROP TABLE "+refreshKeysTable, "DROP TABLE "+collectedKeysTable)
	for _, q := range stmts {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("warehouse: refresh %s: %w", c.table, err)
		}
	}
	return nil
}

// prefixed returns "a.c1, a.c2, ..." over cols.
func prefixed(alias string, cols []string) string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = alias + "." + c
	}
	return strings.Join(out, ", ")
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
