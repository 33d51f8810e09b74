package warehouse

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// onDemand is DefaultOptions without the background refresh, so that a
// test sees what loads leave pending.
func onDemand() Options {
	o := DefaultOptions()
	o.RefreshDelay = 0
	return o
}

func openTempWith(t testing.TB, opts Options) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "wh.duckdb"), opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// pendingRows returns the rows of refresh_pending per dataset and
// whether they come from a load that replaced rows.
func pendingRows(t testing.TB, s *Store) map[string]int64 {
	t.Helper()
	rows, err := s.DB().Query(`SELECT dataset || CASE WHEN replaced THEN ' replaced' ELSE '' END, count(*) FROM ` + pendingTable + ` GROUP BY ALL`)
	require.NoError(t, err)
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var k string
		var n int64
		require.NoError(t, rows.Scan(&k, &n))
		out[k] = n
	}
	require.NoError(t, rows.Err())
	return out
}

func requireNothingPending(t testing.TB, s *Store) {
	t.Helper()
	require.Empty(t, pendingRows(t, s))
	require.False(t, s.dirty.Load())
}

// closeWithoutRefresh closes s as a crash leaves the file: loads
// committed, their refresh not done.
func closeWithoutRefresh(t testing.TB, s *Store) {
	t.Helper()
	s.closeOnce.Do(func() {
		s.stopRefresher()
		s.closeErr = s.db.Close()
	})
	require.NoError(t, s.closeErr)
}

// requireSameAsFullRefresh asserts that the comparisons of s (which
// refresh what is pending) equal the reference SQL, and that the derived
// tables they leave equal those a full Refresh builds.
func requireSameAsFullRefresh(t *testing.T, s *Store) {
	t.Helper()
	requireStoreMatchesReference(t, s)
	requireNothingPending(t, s)
	derived := map[string][]string{"fees_latest": dump(t, s, "fees_latest"), "rates_latest": dump(t, s, "rates_latest")}
	require.NoError(t, s.Refresh(context.Background()))
	for table, rows := range derived {
		require.Equal(t, dump(t, s, table), rows, "%s after the deferred refresh equals a full rebuild", table)
	}
}

// TestLoadsDeferAndCoalesceTheRefresh: loads only queue their keys; the
// first comparison refreshes all of them at once and gives what a full
// Refresh gives — after first loads, after loads over the same keys that
// replace rows of overlapping ranges (the whole keys are reread), and
// after loads that only add rows (the incremental refresh, over the
// collections of several loads).
func TestLoadsDeferAndCoalesceTheRefresh(t *testing.T) {
	s := openTempWith(t, onDemand())
	ctx := context.Background()
	q := []string{"0.25", "0.25", "0.25", "0.25"}
	vals := func(b1 string) []string { return append([]string{"0", "1", b1, "2.00", "3.00", "4.00"}, q...) }
	rateVals := func(v string) []string {
		return []string{v, "0.1", "0.3", v, v, v, v, "0.25", "0.25", "0.25", "0.25"}
	}

	// First loads: nothing derived yet, everything pending.
	seedTricky(t, s)
	require.Empty(t, dump(t, s, "fees_latest"))
	require.Empty(t, dump(t, s, "rates_latest"))
	pending := pendingRows(t, s)
	require.Positive(t, pending[DatasetFees])
	require.Positive(t, pending[DatasetRates])
	require.True(t, s.dirty.Load())
	requireSameAsFullRefresh(t, s)

	// Loads over the same keys, two of them replacing rows of an
	// overlapping range: the derived tables stay as they were until the
	// refresh (queries meanwhile read the views).
	before := map[string][]string{"fees_latest": dump(t, s, "fees_latest"), "rates_latest": dump(t, s, "rates_latest")}
	load(t, s, DatasetFees, []row{fee(bankC, "c2", t0.Add(2*time.Hour), "TED", 200, vals("0.50")...)}, topic, 0, 200, 200)
	load(t, s, DatasetFees, []row{fee(bankC, "c-old", t0.Add(-100*time.Hour), "TED", 201, vals("0.10")...)}, topic, 0, 201, 201)
	_, err := s.LoadBatches(ctx, []Batch{
		{Range: SourceRange{Topic: topic, Partition: 0, First: 202, Last: 205}, Files: splitFiles(t, []row{
			fee(bankB, "b2", t0.Add(time.Hour), "TED", 202, vals("7.00")...),
			fee(bankB, "b2", t0.Add(time.Hour), "SAQUE", 203, vals("8.00")...),
		}, nil)},
		// Offsets 3..6 again: A loses its collections a1 and a2, so its
		// latest is a0 again, which no load brought and no derived row
		// came from.
		{Range: SourceRange{Topic: topic, Partition: 0, First: 3, Last: 6}, Files: splitFiles(t, []row{
			fee(bankD, "d0", t0.Add(-300*time.Hour), "TED", 4, vals("6.00")...),
		}, nil)},
		// Offsets 100..108 again, cut differently: D, F, G, E and H lose
		// the rows their latest collections came from.
		{Range: SourceRange{Topic: topic, Partition: 0, First: 100, Last: 108}, Files: splitFiles(t, []row{
			fee(bankH, "h2", t0.Add(-time.Hour), "TED", 100, vals("9.00")...),
		}, nil)},
	})
	require.NoError(t, err)
	load(t, s, DatasetFees, []row{fee(bankG, "g3", t0.Add(time.Hour), "TED", 206, vals("3.00")...)}, topic, 0, 206, 206)
	load(t, s, DatasetRates, []row{rate(bankE, "e3", t0.Add(-time.Hour), "PRE_FIXADO", 100, rateVals("0.40")...)}, topic, 1, 100, 102)
	// B's rates: b1 replaced away, the older b0 is the latest again.
	load(t, s, DatasetRates, []row{rate(bankD, "d0", t0.Add(-300*time.Hour), "PRE_FIXADO", 2, rateVals("0.50")...)}, topic, 1, 2, 2)
	for table, rows := range before {
		require.Equal(t, rows, dump(t, s, table), "%s untouched by loads", table)
	}
	pending = pendingRows(t, s)
	require.Positive(t, pending[DatasetFees+" replaced"])
	require.Positive(t, pending[DatasetRates+" replaced"])
	requireSameAsFullRefresh(t, s)
	rows, err := s.Fees(ctx, FeeFilter{ServiceCode: "TED", Institution: "golf"})
	require.NoError(t, err)
	require.Len(t, rows, 1)
	require.Equal(t, "g3", rows[0].CollectionID)
	rows, err = s.Fees(ctx, FeeFilter{ServiceCode: "TED", Institution: "alfa"})
	require.NoError(t, err)
	require.Len(t, rows, 1)
	require.Equal(t, "a0", rows[0].CollectionID)
	rates, err := s.Rates(ctx, RateFilter{Institution: "beta"})
	require.NoError(t, err)
	require.Len(t, rates, 1)
	require.Equal(t, "b0", rates[0].CollectionID)

	// Loads that only add rows, refreshed together incrementally: a newer
	// collection, one at the same instant with a greater id, an older
	// one, rows without a collection id, real and simulated collections.
	load(t, s, DatasetFees, []row{fee(bankA, "a4", t0.Add(3*time.Hour), "TED", 300, vals("1.00")...)}, topic, 0, 300, 300)
	load(t, s, DatasetFees, []row{
		fee(bankA, "a5", t0.Add(3*time.Hour), "TED", 301, vals("2.00")...),
		with(fee(bankA, "a5", t0.Add(3*time.Hour), "PIX", 302, vals("2.50")...), "flags", "schema_violation"),
	}, topic, 0, 301, 302)
	load(t, s, DatasetFees, []row{with(fee(bankC, "", t0.Add(4*time.Hour), "TED", 303, vals("3.00")...), "collection_id", nil)}, topic, 0, 303, 303)
	load(t, s, DatasetFees, []row{
		with(fee(bankB, "b3", t0.Add(-200*time.Hour), "TED", 304, vals("4.00")...), "simulated", false),
		with(fee(bankE, "e4", t0.Add(5*time.Hour), "TED", 305, vals("5.00")...), "simulated", false),
	}, topic, 0, 304, 305)
	load(t, s, DatasetRates, []row{
		rate(bankD, "d2", t0.Add(time.Hour), "PRE_FIXADO", 200, rateVals("0.05")...),
		with(rate(bankF, "f2", t0.Add(time.Hour), "POS_FIXADO", 201, rateVals("0.06")...), "simulated", true),
	}, topic, 1, 200, 201)
	pending = pendingRows(t, s)
	require.Equal(t, []string{DatasetFees, DatasetRates}, sortedKeys(pending), "no load replaced rows")
	requireSameAsFullRefresh(t, s)
}

func sortedKeys(m map[string]int64) []string {
	var out []string
	for _, k := range []string{DatasetFees, DatasetFees + " replaced", DatasetRates, DatasetRates + " replaced"} {
		if _, ok := m[k]; ok {
			out = append(out, k)
		}
	}
	return out
}

// TestPendingRefreshSurvivesACrash: the keys a load queued are committed
// with it; a store reopened after a crash refreshes them before its first
// comparison.
func TestPendingRefreshSurvivesACrash(t *testing.T) {
	s := openTempWith(t, onDemand())
	seedTricky(t, s)
	closeWithoutRefresh(t, s)

	s, err := Open(s.path, onDemand())
	require.NoError(t, err)
	defer s.Close()
	require.True(t, s.dirty.Load(), "Open sees the pending keys")
	require.NotEmpty(t, pendingRows(t, s))
	require.Empty(t, dump(t, s, "fees_latest"))
	requireSameAsFullRefresh(t, s)
}

// TestRefreshRunsInTheBackground: RefreshDelay after a load the derived
// tables are current without a query.
func TestRefreshRunsInTheBackground(t *testing.T) {
	opts := DefaultOptions()
	opts.RefreshDelay = 50 * time.Millisecond
	s := openTempWith(t, opts)
	seedComparison(t, s)
	// The refresh commits, then clears dirty: wait for both.
	require.Eventually(t, func() bool { return len(pendingRows(t, s)) == 0 && !s.dirty.Load() }, 20*time.Second, 10*time.Millisecond,
		"the background refresh empties refresh_pending and clears dirty")
	require.NotEmpty(t, dump(t, s, "fees_latest"))
	require.NotEmpty(t, dump(t, s, "rates_latest"))
	requireSameAsFullRefresh(t, s)

	// Close stops it.
	require.NoError(t, s.Close())
	select {
	case <-s.stopped:
	default:
		t.Fatal("the background refresh still runs after Close")
	}
}

// TestQueriesDoNotWaitForTheRefresh: right after a load, before any
// refresh, Fees and Rates already give the new figures (they run the
// reference SQL on the views), leave the derived tables and the pending
// keys as they were, and give the same rows as the derived tables once
// refreshed.
func TestQueriesDoNotWaitForTheRefresh(t *testing.T) {
	ctx := context.Background()
	s := openTempWith(t, onDemand())
	seedComparison(t, s)
	require.NoError(t, s.RefreshPending(ctx))
	require.False(t, s.refreshDue())
	derived := map[string][]string{"fees_latest": dump(t, s, "fees_latest"), "rates_latest": dump(t, s, "rates_latest")}
	feesBefore, err := s.Fees(ctx, FeeFilter{})
	require.NoError(t, err)

	// Bank B's next collection: a cheaper TED, a new rate.
	load(t, s, DatasetFees, []row{fee(bankB, "b2", t0.Add(time.Hour), "TED", 30, "0.00", "1.00", "0.50", "0.50", "0.50", "0.50", "0.25", "0.25", "0.25", "0.25")},
		topic, 0, 30, 30)
	load(t, s, DatasetRates, []row{rate(bankB, "b2", t0.Add(time.Hour), "PRE_FIXADO", 30, "0.05", "0.01", "0.09", "0.05", "0.05", "0.05", "0.05", "0.25", "0.25", "0.25", "0.25")},
		topic, 1, 30, 30)
	require.True(t, s.refreshDue())
	fees, err := s.Fees(ctx, FeeFilter{ServiceCode: "TED"})
	require.NoError(t, err)
	require.Len(t, fees, 3)
	require.Equal(t, []string{"c1", "b2", "a2"}, []string{fees[0].CollectionID, fees[1].CollectionID, fees[2].CollectionID},
		"bank B's new TED ranks it before bank A")
	require.Equal(t, int64(2), fees[1].Rank)
	require.Equal(t, p("0.500000"), fees[1].WeightedEstimate)
	rates, err := s.Rates(ctx, RateFilter{Institution: "beta"})
	require.NoError(t, err)
	require.Len(t, rates, 1)
	require.Equal(t, "b2", rates[0].CollectionID)
	all, err := s.Fees(ctx, FeeFilter{})
	require.NoError(t, err)
	require.NotEqual(t, feesBefore, all)
	require.Greater(t, len(all), 3)
	window, err := s.Fees(ctx, FeeFilter{Page: Page{Limit: 2, Offset: 1}})
	require.NoError(t, err)
	require.Equal(t, all[1:3], window, "a page of the views is the same window")
	tail, err := s.Fees(ctx, FeeFilter{Page: Page{Offset: len(all) - 1}})
	require.NoError(t, err)
	require.Equal(t, all[len(all)-1:], tail)
	for table, rows := range derived {
		require.Equal(t, rows, dump(t, s, table), "%s: a query does not refresh", table)
	}
	require.NotEmpty(t, pendingRows(t, s))

	require.NoError(t, s.RefreshPending(ctx))
	requireNothingPending(t, s)
	require.NotEqual(t, derived["fees_latest"], dump(t, s, "fees_latest"))
	again, err := s.Fees(ctx, FeeFilter{})
	require.NoError(t, err)
	require.Equal(t, all, again, "the derived table gives what the views gave")
	ratesAgain, err := s.Rates(ctx, RateFilter{Institution: "beta"})
	require.NoError(t, err)
	require.Equal(t, rates, ratesAgain)
}

// TestCheckpointCloseResetAndRefreshLeaveNothingPending: each of
// RefreshPending, Refresh, Reset and Close ends with refresh_pending empty;
// Checkpoint leaves the keys pending (it only folds the log).
func TestCheckpointCloseResetAndRefreshLeaveNothingPending(t *testing.T) {
	ctx := context.Background()
	s := openTempWith(t, onDemand())

	seedComparison(t, s)
	require.NoError(t, s.Checkpoint(ctx))
	require.NotEmpty(t, pendingRows(t, s))
	require.True(t, s.refreshDue())
	require.Empty(t, dump(t, s, "fees_latest"))
	require.NoError(t, s.RefreshPending(ctx))
	requireNothingPending(t, s)
	require.NotEmpty(t, dump(t, s, "fees_latest"))

	seedTricky(t, s)
	require.NoError(t, s.Refresh(ctx))
	requireNothingPending(t, s)

	load(t, s, DatasetFees, feeRowsRange(500, 501), topic, 0, 500, 501)
	require.NoError(t, s.Reset(ctx))
	requireNothingPending(t, s)
	require.Empty(t, dump(t, s, "fees_latest"))

	load(t, s, DatasetFees, feeRowsRange(500, 501), topic, 0, 500, 501)
	require.NotEmpty(t, pendingRows(t, s))
	require.NoError(t, s.Close())
	ro, err := OpenReadOnly(s.path, onDemand())
	require.NoError(t, err, "Close refreshed what was pending")
	defer ro.Close()
	require.Empty(t, pendingRows(t, ro))
	rows, err := ro.Fees(ctx, FeeFilter{})
	require.NoError(t, err)
	require.Len(t, rows, 1)
}

// TestReadOnlyOpenWithPendingRefresh: a read-only handle cannot refresh;
// on a file left with refreshes pending its comparisons read the views and
// answer as the writer does once refreshed, leaving the file as it was.
func TestReadOnlyOpenWithPendingRefresh(t *testing.T) {
	s := openTempWith(t, onDemand())
	seedTricky(t, s)
	path := s.path
	closeWithoutRefresh(t, s)

	// Read-only: the comparisons read the views, and give what a refreshed
	// writer gives.
	ro, err := OpenReadOnly(path, DefaultOptions())
	require.NoError(t, err)
	require.True(t, ro.refreshDue())
	require.ErrorIs(t, ro.RefreshPending(context.Background()), ErrReadOnly)
	require.ErrorIs(t, ro.Refresh(context.Background()), ErrReadOnly)
	require.Empty(t, dump(t, ro, "fees_latest"))
	fees, err := ro.Fees(context.Background(), FeeFilter{})
	require.NoError(t, err)
	require.NotEmpty(t, fees)
	rates, err := ro.Rates(context.Background(), RateFilter{})
	require.NoError(t, err)
	require.NotEmpty(t, rates)
	require.NoError(t, ro.Close())

	// The file itself is untouched: still pending, refreshed by a writer.
	w, err := Open(path, onDemand())
	require.NoError(t, err)
	defer w.Close()
	require.NotEmpty(t, pendingRows(t, w))
	requireSameAsFullRefresh(t, w)
	got, err := w.Fees(context.Background(), FeeFilter{})
	require.NoError(t, err)
	require.Equal(t, fees, got)
	gotRates, err := w.Rates(context.Background(), RateFilter{})
	require.NoError(t, err)
	require.Equal(t, rates, gotRates)
}

// TestFileWithoutPendingTable: a file without refresh_pending (binaries
// of version 3 wrote such files before the table existed) opens read-only
// as it is, and Open adds the table without touching the data.
func TestFileWithoutPendingTable(t *testing.T) {
	s := openTempWith(t, onDemand())
	seedTricky(t, s)
	require.NoError(t, s.Refresh(context.Background()))
	_, err := s.DB().Exec("DROP TABLE " + pendingTable)
	require.NoError(t, err)
	fees := dump(t, s, DatasetFees)
	derived := dump(t, s, "fees_latest")
	path := s.path
	require.NoError(t, s.Close())

	ro, err := OpenReadOnly(path, DefaultOptions())
	require.NoError(t, err)
	requireStoreMatchesReference(t, ro)
	require.NoError(t, ro.Close())

	s, err = Open(path, onDemand())
	require.NoError(t, err)
	defer s.Close()
	require.Empty(t, pendingRows(t, s))
	require.Equal(t, fees, dump(t, s, DatasetFees))
	require.Equal(t, derived, dump(t, s, "fees_latest"))
	load(t, s, DatasetFees, []row{fee(bankE, "e3", t0.Add(time.Hour), "TED", 300, "0", "1", "1.00", "1.00", "1.00", "1.00", "0.25", "0.25", "0.25", "0.25")},
		topic, 0, 300, 300)
	require.NotEmpty(t, pendingRows(t, s))
	requireSameAsFullRefresh(t, s)
}

// TestPagesBeforeTheirItems: the pipeline writes a content's items once
// per process, so a page can be loaded (from one partition's batch)
// before the items of its content (from another partition's batch, in a
// later call). Its fees appear, and are refreshed, when the items do; the
// same items loaded again change nothing.
func TestPagesBeforeTheirItems(t *testing.T) {
	s := openTempWith(t, onDemand())
	ctx := context.Background()
	seedComparison(t, s)
	requireSameAsFullRefresh(t, s)
	q := []string{"0.25", "0.25", "0.25", "0.25"}
	vals := func(b1 string) []string { return append([]string{"0", "1", b1, "2.00", "3.00", "4.00"}, q...) }
	page := func(coll string, at time.Time, off int64) map[string]string {
		return splitFiles(t, []row{
			with(fee(bankD, coll, at, "TED", off, vals("1.00")...), "src_partition", int32(2)),
			with(fee(bankD, coll, at, "SAQUE", off, vals("2.00")...), "src_partition", int32(2), "item_index", int32(1)),
		}, nil)
	}
	rg := func(p int32, first, last int64) SourceRange {
		return SourceRange{Topic: topic, Partition: p, First: first, Last: last}
	}
	delta := func() []string {
		return feeStrings(t, s, FeeFilter{Institution: "delta"}, func(r FeeComparison) string { return r.CollectionID + " " + r.ServiceCode })
	}

	first := page("d1", t0, 5)
	n, err := s.LoadBatch(ctx, rg(2, 0, 9), map[string]string{DatasetPages: first[DatasetPages]})
	require.NoError(t, err)
	require.Equal(t, int64(1), n[DatasetPages])
	require.Empty(t, delta(), "no items yet")
	requireSameAsFullRefresh(t, s)

	// The items, repeated in the file (robustness), arrive with another partition.
	items := doubled(t, first[DatasetFeeItems])
	n, err = s.LoadBatch(ctx, rg(3, 0, 9), map[string]string{DatasetFeeItems: items})
	require.NoError(t, err)
	require.Equal(t, int64(2), n[DatasetFeeItems])
	require.Equal(t, map[string]int64{DatasetFees: 1}, pendingRows(t, s), "the page's key and collection, not replaced")
	require.ElementsMatch(t, []string{"d1 TED", "d1 SAQUE"}, delta())
	requireSameAsFullRefresh(t, s)
	requireUniqueKeys(t, s, DatasetFees, 12)

	// A later collection with the same content: a page, no new items.
	later := page("d2", t0.Add(time.Hour), 6)
	n, err = s.LoadBatch(ctx, rg(2, 6, 9), later)
	require.NoError(t, err)
	require.Equal(t, map[string]int64{DatasetPages: 1, DatasetFeeItems: 0}, n)
	require.ElementsMatch(t, []string{"d2 TED", "d2 SAQUE"}, delta())
	requireSameAsFullRefresh(t, s)
	counts, err := s.Counts(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(14), counts[DatasetFees])

	// The items again, after a pipeline restart: nothing changes.
	before := dump(t, s, DatasetFees)
	n, err = s.LoadBatch(ctx, rg(3, 10, 19), map[string]string{DatasetFeeItems: first[DatasetFeeItems]})
	require.NoError(t, err)
	require.Equal(t, int64(0), n[DatasetFeeItems])
	require.Equal(t, before, dump(t, s, DatasetFees))
	requireSameAsFullRefresh(t, s)
	requireIndexMatchesItems(t, s)
}

// doubled writes a copy of a Parquet file with every row twice.
func doubled(t testing.TB, path string) string {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	require.NoError(t, err)
	defer db.Close()
	out := filepath.Join(t.TempDir(), "doubled.parquet")
	_, err = db.Exec("COPY (SELECT * FROM read_parquet('" + path + "') UNION ALL SELECT * FROM read_parquet('" + path + "')) TO '" + out + "' (FORMAT parquet)")
	require.NoError(t, err)
	return out
}

// logCounter counts the records a Store logs, by message and level.
type logCounter struct {
	mu   sync.Mutex
	msgs map[string]int
}

func (l *logCounter) Enabled(context.Context, slog.Level) bool { return true }
func (l *logCounter) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs[r.Level.String()+" "+r.Message]++
	return nil
}
func (l *logCounter) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logCounter) WithGroup(string) slog.Handler      { return l }
func (l *logCounter) count(key string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.msgs[key]
}

// TestRefreshesBesideLoads: the background refresh and the queries'
// refreshes run while loads commit (adding and replacing rows); none
// fails, a load committed during a refresh stays pending, and in the end
// the comparisons equal the reference and a full rebuild.
func TestRefreshesBesideLoads(t *testing.T) {
	logs := &logCounter{msgs: map[string]int{}}
	opts := DefaultOptions()
	opts.RefreshDelay = time.Millisecond
	opts.Logger = slog.New(logs)
	s := openTempWith(t, opts)
	ctx := context.Background()
	q := []string{"0.25", "0.25", "0.25", "0.25"}
	vals := func(b1 string) []string { return append([]string{"0", "1", b1, "2.00", "3.00", "4.00"}, q...) }
	banks := []inst{bankA, bankB, bankC, bankD, bankE, bankF, bankG, bankH}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var queries, queryErrs atomic.Int64
	wg.Add(1)
	go func() { // a dashboard querying all along
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := s.Fees(ctx, FeeFilter{ServiceCode: "TED"}); err != nil {
				queryErrs.Add(1)
				t.Errorf("query beside loads: %v", err)
				return
			}
			queries.Add(1)
		}
	}()
	for i := range 40 {
		b := banks[i%len(banks)]
		off := int64(1000 + 2*i)
		if i%7 == 6 { // redo an earlier range, cut differently: replaces its rows
			off = int64(1000 + 2*(i-5))
		}
		at := t0.Add(time.Duration(i) * time.Hour)
		load(t, s, DatasetFees, []row{
			fee(b, fmt.Sprintf("c%d", i), at, "TED", off, vals(fmt.Sprintf("%d.00", i%9))...),
			fee(b, fmt.Sprintf("c%d", i), at, "PIX", off+1, vals(fmt.Sprintf("%d.50", i%5))...),
		}, topic, 0, off, off+1)
		if !s.dirty.Load() { // a refresh that missed this load must leave it pending
			require.Empty(t, pendingRows(t, s), "nothing is pending once a refresh cleared dirty")
		}
	}
	close(stop)
	wg.Wait()
	require.Zero(t, queryErrs.Load())
	require.Positive(t, queries.Load())
	require.Greater(t, logs.count("DEBUG warehouse comparison tables refreshed"), 1, "refreshes ran between the loads")
	requireSameAsFullRefresh(t, s)
	require.Zero(t, logs.count("WARN warehouse: background refresh of the comparison tables failed; the next query or Close retries it"))
}

// TestRefreshCommittedDuringALoad: a refresh that runs and commits while a
// load of the same key is under way (between its writes and the queueing
// of its keys) takes the key's pending row; the load must queue the key
// again, or its change would never reach the comparison.
func TestRefreshCommittedDuringALoad(t *testing.T) {
	s := openTempWith(t, onDemand())
	ctx := context.Background()
	q := []string{"0.25", "0.25", "0.25", "0.25"}
	vals := func(b1 string) []string { return append([]string{"0", "1", b1, "2.00", "3.00", "4.00"}, q...) }
	load(t, s, DatasetFees, []row{fee(bankA, "a1", t0, "TED", 1, vals("1.00")...)}, topic, 0, 1, 1)
	refreshed := false
	testHookBeforeQueue = func() {
		testHookBeforeQueue = nil
		require.NoError(t, s.refreshPending(ctx)) // refreshes a1, commits first
		refreshed = true
	}
	t.Cleanup(func() { testHookBeforeQueue = nil })
	// Same key and collection (a page of a1 loaded later), a new fee.
	load(t, s, DatasetFees, []row{fee(bankA, "a1", t0, "PIX", 2, vals("2.00")...)}, topic, 0, 2, 2)
	require.True(t, refreshed)
	codes := feeStrings(t, s, FeeFilter{Institution: "alfa"}, func(r FeeComparison) string { return r.ServiceCode })
	require.ElementsMatch(t, []string{"TED", "PIX"}, codes)
	requireSameAsFullRefresh(t, s)
}
