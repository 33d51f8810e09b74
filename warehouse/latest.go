package warehouse

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// The comparison tables fees_latest and rates_latest are derived from
// the views opendata_fees and opendata_rates: they hold only the rows the comparison
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
// A load does not refresh them: in its transaction it records the
// (organisation_id, institution_cnpj, brand, product) keys it touched, with
// the collections it brought (and those of the rows it replaced), in the
// persistent table refresh_pending. Store.refreshPending later refreshes
// the derived rows of every pending key at once, in one transaction per
// table (run side by side) that also empties the table's rows of
// refresh_pending: consecutive loads touch the same keys, so
// one refresh per key and not one per load. It runs in the background
// Options.RefreshDelay after the last load, in RefreshPending and in
// Close; meanwhile Store.Fees and Store.Rates read the views instead
// (refreshDue, reference.go). Pending keys survive a crash (they are committed
// with the load); Open picks them up. Refresh rebuilds both tables from the
// dataset tables and empties refresh_pending.

// comparisonSpec describes one comparison (fees or rates) for the derived
// table and its query.
type comparisonSpec struct {
	dataset string // source view (opendata_fees, opendata_rates)
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
// (organisation_id, institution_cnpj, brand, product) keys a refresh
// recomputes; collectedKeysTable gathers them (with repeats, and the
// collections the loads brought) from pendingTable when the refresh runs;
// refreshCollsTable holds the (key,
// collection) pairs a refresh reads (each key's latest collections).
const (
	refreshKeysTable   = "ofp_refresh_keys"
	collectedKeysTable = "ofp_refresh_keys_collected"
	refreshCollsTable  = "ofp_refresh_colls"
)

// pendingTable is the persistent table of the keys loads touched whose
// derived rows are not refreshed yet: per dataset, key and collection, and
// whether the load replaced rows (for diagnosis: the refresh finds each
// key's latest collections itself, so it is exact either way).
const pendingTable = "refresh_pending"

const createPendingSQL = `CREATE TABLE IF NOT EXISTS ` + pendingTable + ` (
  dataset VARCHAR NOT NULL,
  organisation_id VARCHAR,
  institution_cnpj VARCHAR,
  brand VARCHAR,
  product VARCHAR,
  collection_id VARCHAR,
  replaced BOOLEAN NOT NULL
)`

var latestKey = []string{"organisation_id", "institution_cnpj", "brand", "product"}

// keyCollCols is the column list of the collected and pending keys: the
// latest key and a collection.
var keyCollCols = strings.Join(latestKey, ", ") + ", collection_id"

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
	keyCollRows // the rows of the (key, collection) pairs in refreshCollsTable
)

// buildSQL selects the derived rows of the view from the rows rows says.
// Its population rules are those of FeeComparisonSQL / RateComparisonSQL
// (same latest-collection aggregate, same dedup order, same estimate
// expression), once per keep_* variant.
//
// It reads the view's tables directly: the pages first, narrowed to the
// keys' organisations, products and collections when it refreshes keys,
// then only the candidate items of their contents (candidateItems). The
// population is decided on those rows, and the rows kept are picked from
// them by source position (rid). src is not materialised: joining again
// costs less than copying its wide rows (measured on the benchmark's
// warehouse: 2.2 s -> 1.0 s for fees_latest, with the candidates).
func (c comparisonSpec) buildSQL(rows int) string {
	v := views[c.dataset]
	dedupKey := append(append([]string{}, latestKey...), c.groupKey[1:]...)
	pages := DatasetPages
	if rows == keyCollRows {
		pages = fmt.Sprintf("(SELECT * FROM %s p SEMI JOIN (SELECT DISTINCT organisation_id, product, collection_id FROM %s) k ON %s"+
			" AND p.collection_id IS NOT DISTINCT FROM k.collection_id)",
			DatasetPages, refreshCollsTable, joinOn("p", "k", []string{"organisation_id", "product"}))
	}
	// rid is the row's source position: unique and never NULL (Load
	// guarantees both for pages, and items are unique per content).
	src := fmt.Sprintf("SELECT struct_pack(t := p.src_topic, p := p.src_partition, o := p.src_offset, i := i.item_index) AS rid, %s\n"+
		"  FROM %s p JOIN (%s) i ON i.content_key = p.content_key", v.selectList("p", "i"), pages, candidateItems(v.items, pages, dedupKey))
	if rows == keyCollRows {
		src = fmt.Sprintf("SELECT f.* FROM (%s) f SEMI JOIN %s k ON %s AND f.collection_id IS NOT DISTINCT FROM k.collection_id",
			src, refreshCollsTable, joinOn("f", "k", latestKey))
	}
	// keep_<v>_<all|clean>: the row is the first (by source position) of
	// its dedup group and collection among the rows of variant v (clean
	// ones only): min(rid) picks the row a window's first_value would,
	// without sorting the rows.
	var firsts, keeps []string
	for _, v := range []struct{ name, in string }{{"any", "in_any"}, {"sim", "in_sim"}, {"real", "in_real"}} {
		for _, k := range []struct{ name, cond string }{{"all", v.in}, {"clean", v.in + " AND clean"}} {
			col := "keep_" + v.name + "_" + k.name
			firsts = append(firsts, fmt.Sprintf("min(rid) FILTER (WHERE %s) AS %s", k.cond, col))
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
	return fmt.Sprintf(`WITH src AS NOT MATERIALIZED (%[1]s),
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
  SELECT rid AS k_rid, %[9]s
  FROM (UNPIVOT firsts ON %[11]s INTO NAME keep VALUE rid)
  GROUP BY rid
),
whole AS (
  SELECT s.* EXCLUDE (rid), kept.* EXCLUDE (k_rid)
  FROM src s JOIN kept ON s.rid = kept.k_rid
),
est AS (
  SELECT *, %[8]s AS weighted_estimate FROM whole
)
SELECT %[10]s FROM est`,
		src, latestCollection(""), latestCollection("simulated"), latestCollection("NOT simulated"),
		joinOn("s", "l", latestKey), strings.Join(firsts, ",\n    "), strings.Join(dedupKey, ", "),
		weighted(c.valueSuffix), strings.Join(keeps, ",\n    "), strings.Join(cols, ",\n  "), strings.Join(keepColumns, ", "))
}

// candidateItems selects the items of the contents of pages that can be a
// derived row: in each content, per group of the item columns of dedupKey
// (a page's own columns are the same for all its items), the first item
// and the first clean one. A derived row is the first row of its dedup
// group and collection (of the clean rows, for the _clean variants) by
// source position, so it is the first of its group in its page, hence one
// of these; the others are never kept, and reading only these spares the
// refresh most of the rows (the same fee is repeated for every product of
// a page).
func candidateItems(items, pages string, dedupKey []string) string {
	itemCols := map[string]bool{}
	for _, c := range datasets[items] {
		itemCols[c.Name] = true
	}
	var group []string
	for _, k := range dedupKey {
		if o, ok := recordOverrides[k]; ok {
			group = append(group, o)
		} else if itemCols[k] {
			group = append(group, k)
		}
	}
	return fmt.Sprintf(`SELECT i.* FROM %[1]s i SEMI JOIN (
    SELECT content_key, unnest([min(item_index), min(item_index) FILTER (WHERE coalesce(flags, '') = '')]) AS item_index
    FROM %[1]s SEMI JOIN (SELECT DISTINCT content_key FROM %[2]s) c USING (content_key)
    GROUP BY content_key, %[3]s
  ) c ON c.content_key = i.content_key AND c.item_index = i.item_index`, items, pages, strings.Join(group, ", "))
}

// execer is what the refresh needs: a *sql.Tx (or *sql.DB).
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// refreshAll rebuilds every derived comparison table from its dataset;
// nothing is pending after it.
func refreshAll(ctx context.Context, tx execer) error {
	if _, err := tx.ExecContext(ctx, "DELETE FROM "+pendingTable); err != nil {
		return fmt.Errorf("warehouse: refresh: empty %s: %w", pendingTable, err)
	}
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

// startRefreshKeys creates the (empty) table the pending keys of a
// refresh are collected in.
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

// refreshPending refreshes the derived rows of every key pending for c's
// dataset (the keys of all the loads since the last refresh, coalesced)
// and removes them from pendingTable (see refreshKeys).
func (c comparisonSpec) refreshPending(ctx context.Context, tx *sql.Tx) error {
	var n int64
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM `+pendingTable+` WHERE dataset = $1`,
		c.dataset).Scan(&n); err != nil {
		return fmt.Errorf("warehouse: read the keys pending refresh in %s: %w", c.table, err)
	}
	if n == 0 {
		return nil
	}
	if err := c.startRefreshKeys(ctx, tx); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf(`INSERT INTO %s SELECT DISTINCT %s FROM %s WHERE dataset = $1`,
		collectedKeysTable, keyCollCols, pendingTable), c.dataset); err != nil {
		return fmt.Errorf("warehouse: read the keys pending refresh in %s: %w", c.table, err)
	}
	if err := c.refreshKeys(ctx, tx); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM `+pendingTable+` WHERE dataset = $1`, c.dataset); err != nil {
		return fmt.Errorf("warehouse: clear the keys refreshed in %s: %w", c.table, err)
	}
	return nil
}

// refreshKeys recomputes the derived rows of the keys in
// collectedKeysTable: every key whose rows the loads since the key's last
// refresh changed. Until then the key's derived rows are those of its last
// refresh: every load queues its keys (queueLoadRefresh) and nothing else
// writes the dataset tables (other writers call Refresh).
//
// It reads only the rows of the collections that are a key's latest (of
// every keep_* variant: any, simulated, real), which are all the derived
// rows can come from. Those are found first at page level: a key's
// collections are those of the pages that have at least one item of the
// key, and an item's part of the key (its record's CNPJ and brand over
// the page's) takes few distinct values per content. So the refresh costs
// about the rows it derives, not the rows of every pending collection, and
// it is exact whatever the loads did (added or replaced rows).
func (c comparisonSpec) refreshKeys(ctx context.Context, tx execer) error {
	stmts := []string{
		"CREATE OR REPLACE TEMP TABLE " + refreshKeysTable + " AS SELECT DISTINCT " + strings.Join(latestKey, ", ") + " FROM " + collectedKeysTable,
		c.latestCollsSQL(),
		"DELETE FROM " + c.table + " t USING " + refreshKeysTable + " k WHERE " + joinOn("t", "k", latestKey),
		"INSERT INTO " + c.table + " BY NAME " + c.buildSQL(keyCollRows),
		"DROP TABLE " + refreshCollsTable, "DROP TABLE " + refreshKeysTable, "DROP TABLE " + collectedKeysTable,
	}
	for _, q := range stmts {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("warehouse: refresh %s: %w", c.table, err)
		}
	}
	return nil
}

// latestCollsSQL creates refreshCollsTable: the latest collections (any,
// simulated, real) of every key in refreshKeysTable, found at page level
// (see refreshKeys).
func (c comparisonSpec) latestCollsSQL() string {
	keys := strings.Join(latestKey, ", ")
	v := views[c.dataset]
	overrides := make([]string, len(latestKey))
	for i, k := range latestKey {
		overrides[i] = viewColumnExpr(k, "p", "o") + " AS " + k
	}
	return fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE %[1]s AS
WITH kc AS (
  SELECT DISTINCT %[2]s, p.collection_id, p.collected_at, p.simulated
  FROM (SELECT * FROM %[3]s p SEMI JOIN (SELECT DISTINCT organisation_id, product FROM %[4]s) k ON %[5]s) p
  JOIN (SELECT DISTINCT content_key, %[6]s FROM %[7]s) o ON o.content_key = p.content_key
),
l AS (
  SELECT %[8]s, %[9]s AS coll_any, %[10]s AS coll_sim, %[11]s AS coll_real
  FROM kc SEMI JOIN %[4]s k ON %[12]s
  GROUP BY %[8]s
)
SELECT %[8]s, coll_any AS collection_id FROM l WHERE coll_any IS NOT NULL
UNION SELECT %[8]s, coll_sim FROM l WHERE coll_sim IS NOT NULL
UNION SELECT %[8]s, coll_real FROM l WHERE coll_real IS NOT NULL`,
		refreshCollsTable, strings.Join(overrides, ", "), DatasetPages, refreshKeysTable,
		joinOn("p", "k", []string{"organisation_id", "product"}), strings.Join(keyOverrides(), ", "), v.items,
		keys, latestCollection(""), latestCollection("simulated"), latestCollection("NOT simulated"), joinOn("kc", "k", latestKey))
}

// keyOverrides lists the item columns that override a column of latestKey.
func keyOverrides() []string {
	var out []string
	for _, k := range latestKey {
		if o, ok := recordOverrides[k]; ok {
			out = append(out, o)
		}
	}
	return out
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
// from the dataset tables and drops the refreshes loads left pending. Loads
// keep the tables current on their own (they queue their keys, refreshed in
// the background or by RefreshPending); call Refresh only after writing
// dataset tables some other way (tests, benchmarks).
func (s *Store) Refresh(ctx context.Context) error {
	if s.readOnly {
		return ErrReadOnly
	}
	defer s.lockAll()()
	start := time.Now()
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
	s.stats.refresh(time.Since(start))
	s.dirty.Store(false)
	s.checkpoint(ctx)
	return nil
}

// refreshPending refreshes the derived rows of every key loads left
// pending (see refreshKeys), one transaction per table, if any are. It runs
// beside loads: it refreshes the keys of the loads committed when it
// starts, and those committed meanwhile stay pending. Queries never call
// it: while it is due they read the views (refreshDue). It costs an atomic
// load when nothing is pending.
func (s *Store) refreshPending(ctx context.Context) error {
	if !s.dirty.Load() {
		return nil
	}
	s.refreshMu.Lock()
	defer s.refreshMu.Unlock()
	if !s.dirty.Load() {
		return nil // refreshed while this call waited
	}
	if restore := s.loadThreads(ctx); restore != nil {
		defer restore()
	}
	start := time.Now()
	s.dirtyMu.Lock()
	loads := s.queuedLoads // every load counted here is committed: the refresh sees it
	s.dirtyMu.Unlock()
	// One transaction per table, run at once on their own connections:
	// the tables and their pending rows are disjoint, and one table's
	// refresh alone leaves a core idle (measured on the benchmark's
	// warehouse: 1.95 s -> 1.4 s). A table whose refresh fails keeps its
	// keys pending; the other's commit stands.
	errs := make([]error, len(comparisonSpecs))
	var wg sync.WaitGroup
	for i, c := range comparisonSpecs {
		wg.Go(func() { errs[i] = s.refreshTable(ctx, c) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	s.dirtyMu.Lock()
	if s.queuedLoads == loads { // no load committed keys since: nothing is left
		s.dirty.Store(false)
	}
	s.dirtyMu.Unlock()
	s.stats.refresh(time.Since(start))
	s.log.Debug("warehouse comparison tables refreshed", "took", time.Since(start))
	return nil
}

// refreshDue reports whether committed loads queued keys that the derived
// tables do not reflect yet (the background refresh, RefreshPending or
// Close brings them up to date).
func (s *Store) refreshDue() bool { return s.dirty.Load() }

// RefreshPending brings the derived comparison tables up to date with every
// load committed so far, now, instead of Options.RefreshDelay after the
// last load (the background refresh). Queries are exact either way; after
// it they read the derived tables. It runs with the store's LoadThreads,
// beside loads.
func (s *Store) RefreshPending(ctx context.Context) error {
	if s.readOnly {
		return ErrReadOnly
	}
	return s.refreshPending(ctx)
}

// markDirty records that a committed load queued keys.
func (s *Store) markDirty() {
	s.dirtyMu.Lock()
	s.queuedLoads++
	s.dirty.Store(true)
	s.dirtyMu.Unlock()
}

// refreshTable refreshes the keys pending for c in a transaction of its own.
func (s *Store) refreshTable(ctx context.Context, c comparisonSpec) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("warehouse: refresh %s: %w", c.table, err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := c.refreshPending(ctx, tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("warehouse: refresh %s: %w", c.table, err)
	}
	return nil
}

// refreshMaxLag bounds how long loads that keep coming can put off the
// background refresh.
const refreshMaxLag = 30 * time.Second

// startRefresher starts the background refresh: delay after the last
// load, and no later than max(delay, refreshMaxLag) after the first load
// it has not refreshed yet. Loads in quick succession share one refresh:
// a refresh runs beside loads without holding them up, but a refresh per
// load would redo the keys that consecutive loads share (measured on the
// benchmark's lake files: refreshing 100 ms after each load cost 25 % more
// CPU than one refresh at the end, and more time).
func (s *Store) startRefresher(delay time.Duration) {
	s.loaded = make(chan struct{}, 1)
	s.stop = make(chan struct{})
	s.stopped = make(chan struct{})
	maxLag := max(delay, refreshMaxLag)
	go func() {
		defer close(s.stopped)
		timer := time.NewTimer(delay)
		timer.Stop()
		var since time.Time // the first load not refreshed yet; zero if none
		for {
			select {
			case <-s.stop:
				timer.Stop()
				return
			case <-s.loaded:
				now := time.Now()
				if since.IsZero() {
					since = now
				}
				timer.Reset(min(delay, max(since.Add(maxLag).Sub(now), 0)))
			case <-timer.C:
				since = time.Time{}
				if err := s.refreshPending(context.Background()); err != nil {
					// Queries stay exact meanwhile (they read the views).
					s.log.Warn("warehouse: background refresh of the comparison tables failed; it is retried in "+maxLag.String()+" and by Close",
						"err", err)
					since = time.Now()
					timer.Reset(maxLag)
				}
			}
		}
	}()
}

// wakeRefresher tells the background refresh, if any, that a load committed.
func (s *Store) wakeRefresher() {
	if s.loaded == nil {
		return
	}
	select {
	case s.loaded <- struct{}{}:
	default: // already told
	}
}

// stopRefresher ends the background refresh, if any, and waits for it
// (a refresh under way completes). Close calls it once.
func (s *Store) stopRefresher() {
	if s.stop == nil {
		return
	}
	close(s.stop)
	<-s.stopped
}
