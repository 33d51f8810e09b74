package warehouse

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const topic = "ofp.opendata.raw"

func feeRowsRange(first, last int64) []row {
	var rows []row
	for off := first; off <= last; off++ {
		for item := int32(0); item < 2; item++ {
			rows = append(rows, with(fee(bankA, "c1", t0, "TED", off, "1.00", "2.00", "1.00", "1.00", "1.00", "1.00", "0.25", "0.25", "0.25", "0.25"),
				"item_index", item))
		}
	}
	return rows
}

func requireUniqueKeys(t *testing.T, s *Store, dataset string, want int64) {
	t.Helper()
	var n, distinct int64
	err := s.DB().QueryRow(`SELECT count(*), count(DISTINCT (src_topic, src_partition, src_offset, item_index)) FROM `+dataset).Scan(&n, &distinct)
	require.NoError(t, err)
	require.Equal(t, want, n)
	require.Equal(t, want, distinct)
}

func TestLoadIsIdempotent(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	// Five pages (offsets 10..14) with the same content: two fee items.
	files := splitFiles(t, feeRowsRange(10, 14), nil)
	rg := SourceRange{Topic: topic, Partition: 0, First: 10, Last: 14}
	n, err := s.LoadBatch(ctx, rg, files)
	require.NoError(t, err)
	require.Equal(t, map[string]int64{DatasetPages: 5, DatasetFeeItems: 2}, n)
	// Again: the pages are replaced, the content is already there.
	n, err = s.LoadBatch(ctx, rg, files)
	require.NoError(t, err)
	require.Equal(t, map[string]int64{DatasetPages: 5, DatasetFeeItems: 0}, n)
	requireUniqueKeys(t, s, DatasetFees, 10)

	// A crash re-batched [10,14] as [10,19]: the overlap is replaced, not doubled.
	require.Equal(t, int64(0), load(t, s, DatasetFees, feeRowsRange(10, 19), topic, 0, 10, 19))
	requireUniqueKeys(t, s, DatasetFees, 20)
	// ... and then [15,22] overlapping the tail.
	load(t, s, DatasetFees, feeRowsRange(15, 22), topic, 0, 15, 22)
	requireUniqueKeys(t, s, DatasetFees, 26)
	// Another partition with the same offsets is independent.
	part1 := feeRowsRange(10, 11)
	for _, r := range part1 {
		r["src_partition"] = int32(1)
	}
	load(t, s, DatasetFees, part1, topic, 1, 10, 11)
	requireUniqueKeys(t, s, DatasetFees, 30)

	counts, err := s.Counts(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(30), counts[DatasetFees])
	require.Equal(t, int64(15), counts[DatasetPages])
	require.Equal(t, int64(2), counts[DatasetFeeItems], "one content")
	require.Equal(t, int64(0), counts[DatasetRates])
	require.Len(t, counts, len(Datasets())+len(Views()))

	offs, err := s.Offsets(ctx)
	require.NoError(t, err)
	require.Equal(t, []LoadedOffset{{Topic: topic, Partition: 0, Offset: 22}, {Topic: topic, Partition: 1, Offset: 11}}, offs)
	loads, err := s.Loads(ctx)
	require.NoError(t, err)
	require.Len(t, loads, 10, "a pages and a fee items row per load")
	require.Equal(t, DatasetFeeItems, loads[0].Dataset, "items load first")
	require.Equal(t, int64(2), loads[0].Rows)
	require.Equal(t, DatasetPages, loads[1].Dataset)
	require.Equal(t, int64(5), loads[1].Rows)
}

func TestLoadRejectsBadInput(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	files := splitFiles(t, feeRowsRange(10, 12), nil)
	path := files[DatasetPages]

	_, err := s.Load(ctx, "opendata_nope", path, SourceRange{Topic: topic, First: 10, Last: 12})
	require.ErrorIs(t, err, ErrUnknownDataset)

	_, err = s.Load(ctx, DatasetPages, path, SourceRange{Topic: topic, First: 11, Last: 12})
	require.ErrorIs(t, err, ErrSourceMismatch)
	_, err = s.Load(ctx, DatasetPages, path, SourceRange{Topic: "other", First: 10, Last: 12})
	require.ErrorIs(t, err, ErrSourceMismatch)
	// The same for a fees file written before schema version 4.
	legacy := writeParquet(t, DatasetFees, feeRowsRange(10, 12))
	_, err = s.Load(ctx, DatasetFees, legacy, SourceRange{Topic: topic, First: 11, Last: 12})
	require.ErrorIs(t, err, ErrSourceMismatch)

	_, err = s.Load(ctx, DatasetPages, path, SourceRange{Topic: topic, First: 12, Last: 10})
	require.Error(t, err)

	// A rates file is not a fees file.
	rates := splitFiles(t, nil, []row{rate(bankA, "c1", t0, "PRE_FIXADO", 10)})
	_, err = s.Load(ctx, DatasetFeeItems, rates[DatasetRateItems], SourceRange{Topic: topic, Partition: 1, First: 10, Last: 10})
	require.ErrorContains(t, err, "column contract")
	rpath := writeParquet(t, DatasetRates, []row{rate(bankA, "c1", t0, "PRE_FIXADO", 10)})
	_, err = s.Load(ctx, DatasetFees, rpath, SourceRange{Topic: topic, Partition: 1, First: 10, Last: 10})
	require.ErrorContains(t, err, "column contract")
	// Items must name their content and ordinal.
	noKey := writeParquet(t, DatasetFeeItems, []row{{"item_index": int32(0), "service_code": "TED"}})
	_, err = s.Load(ctx, DatasetFeeItems, noKey, SourceRange{Topic: topic, First: 10, Last: 10})
	require.ErrorContains(t, err, "no content_key")

	counts, err := s.Counts(ctx)
	require.NoError(t, err)
	for name, n := range counts {
		require.Zero(t, n, name)
	}
}

func TestResetAndSchemaVersion(t *testing.T) {
	s, path := openTemp(t)
	ctx := context.Background()
	load(t, s, DatasetFees, feeRowsRange(1, 2), topic, 0, 1, 2)
	require.NoError(t, s.Reset(ctx))
	counts, err := s.Counts(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(0), counts[DatasetFees])
	offs, err := s.Offsets(ctx)
	require.NoError(t, err)
	require.Empty(t, offs)

	// A warehouse written by a newer binary is refused.
	_, err = s.DB().Exec(`INSERT INTO schema_version VALUES (?, now())`, SchemaVersion+1)
	require.NoError(t, err)
	require.NoError(t, s.Close())
	_, err = Open(path, DefaultOptions())
	require.True(t, errors.Is(err, ErrSchemaMismatch), "got %v", err)
	_, err = OpenReadOnly(path, DefaultOptions())
	require.ErrorIs(t, err, ErrSchemaMismatch)
}

func TestOptionsValidated(t *testing.T) {
	_, err := Open(t.TempDir()+"/x.duckdb", Options{MemoryLimit: "1GB&threads=99"})
	require.Error(t, err)
	_, err = Open(t.TempDir()+"/x.duckdb", Options{Threads: -1})
	require.Error(t, err)
	_, err = Open(t.TempDir()+"/x.duckdb", Options{LoadThreads: -1})
	require.Error(t, err)
	_, err = Open(t.TempDir()+"/x.duckdb", Options{CheckpointThreshold: "lots"})
	require.Error(t, err)
}

// Loads run with LoadThreads and give Threads back to the queries after,
// also when they fail; the checkpoint threshold reaches DuckDB.
func TestLoadThreadsAndCheckpointThreshold(t *testing.T) {
	s, _ := openTemp(t)
	setting := func(name string) string {
		var v string
		require.NoError(t, s.DB().QueryRow("SELECT current_setting('"+name+"')::VARCHAR").Scan(&v))
		return v
	}
	require.Equal(t, "2", setting("threads"))
	require.Equal(t, "1", fmt.Sprint(DefaultOptions().LoadThreads))
	require.Contains(t, []string{"1.0 GiB", "1.0 GB", "1GB", "953.6 MiB"}, setting("checkpoint_threshold"))
	load(t, s, DatasetFees, feeRowsRange(1, 2), topic, 0, 1, 2)
	require.Equal(t, "2", setting("threads"))
	_, err := s.Load(context.Background(), DatasetFees, writeParquet(t, DatasetFees, feeRowsRange(5, 6)), SourceRange{Topic: topic, First: 5, Last: 5})
	require.ErrorIs(t, err, ErrSourceMismatch)
	require.Equal(t, "2", setting("threads"))
}

// TestLoadsCheckpointEveryThirtySeconds: loads leave their rows in the
// write-ahead log and fold it into the file at most every 30 s, counted
// from Open (which folds any log it finds), not at the first load; a
// checkpoint of its own empties the log.
func TestLoadsCheckpointEveryThirtySeconds(t *testing.T) {
	s, path := openTemp(t)
	walSize := func() int64 {
		fi, err := os.Stat(path + ".wal")
		if errors.Is(err, os.ErrNotExist) {
			return 0
		}
		require.NoError(t, err)
		return fi.Size()
	}
	load(t, s, DatasetFees, feeRowsRange(1, 2), topic, 0, 1, 2)
	require.Positive(t, walSize(), "the first load after Open checkpointed")
	require.NoError(t, s.Checkpoint(context.Background()))
	require.Zero(t, walSize())

	s.ckMu.Lock()
	s.lastCheckpoint = time.Now().Add(-checkpointEvery)
	s.ckMu.Unlock()
	load(t, s, DatasetFees, feeRowsRange(3, 4), topic, 0, 3, 4)
	require.Zero(t, walSize(), "a load 30 s after the last checkpoint did not checkpoint")
}

// TestRowGroupSize: the warehouse's tables are stored in row groups of
// rowGroupRows, so that a load of tens of thousands of items is written
// as it goes rather than logged and compressed at the next checkpoint,
// and without FSST (open says why).
func TestRowGroupSize(t *testing.T) {
	s, _ := openTemp(t)
	db := s.DB()
	var current string
	require.NoError(t, db.QueryRow(`SELECT current_database()`).Scan(&current))
	require.Equal(t, catalog, current)
	var disabled string
	require.NoError(t, db.QueryRow(`SELECT current_setting('disabled_compression_methods')::VARCHAR`).Scan(&disabled))
	require.Equal(t, "fsst", strings.ToLower(disabled), "FSST compression is not disabled")
	_, err := db.Exec(`CREATE TABLE rg_probe AS SELECT range AS i FROM range(70000)`)
	require.NoError(t, err)
	var groups int
	require.NoError(t, db.QueryRow(`SELECT count(DISTINCT row_group_id) FROM pragma_storage_info('rg_probe')`).Scan(&groups))
	require.Equal(t, (70000+rowGroupRows-1)/rowGroupRows, groups)
}

func TestReadOnlyRefusesWrites(t *testing.T) {
	s, path := openTemp(t)
	require.NoError(t, s.Close())
	ro, err := OpenReadOnly(path, DefaultOptions())
	require.NoError(t, err)
	defer ro.Close()
	_, err = ro.Load(context.Background(), DatasetFees, "x.parquet", SourceRange{Topic: topic, First: 0, Last: 0})
	require.ErrorIs(t, err, ErrReadOnly)
	require.ErrorIs(t, ro.Reset(context.Background()), ErrReadOnly)
}

func TestLoadBatchIsAllOrNothing(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	rg := SourceRange{Topic: topic, Partition: 0, First: 10, Last: 14}
	good := splitFiles(t, feeRowsRange(10, 14), nil)
	// Rows of a range other than the batch's: the whole batch is refused.
	bad := map[string]string{
		DatasetRates: writeParquet(t, DatasetRates, []row{rate(bankA, "c1", t0, "PRE_FIXADO", 99, "0.01", "0.01", "0.02", "0.03", "0.04", "0.25", "0.25", "0.25", "0.25", "0.01", "0.05")}),
	}
	for k, v := range good {
		bad[k] = v
	}
	_, err := s.LoadBatch(ctx, rg, bad)
	require.ErrorIs(t, err, ErrSourceMismatch)
	requireUniqueKeys(t, s, DatasetFees, 0)
	counts, err := s.Counts(ctx)
	require.NoError(t, err)
	require.Zero(t, counts[DatasetFeeItems]+counts[DatasetPages])

	n, err := s.LoadBatch(ctx, rg, good)
	require.NoError(t, err)
	require.Equal(t, int64(5), n[DatasetPages])
	// Redelivered whole: replaced, not doubled.
	_, err = s.LoadBatch(ctx, rg, good)
	require.NoError(t, err)
	requireUniqueKeys(t, s, DatasetFees, 10)
}

// dump returns every row of a table as text, in a fixed order (for the loads
// log without loaded_at).
func dump(t *testing.T, s *Store, table string) []string {
	t.Helper()
	expr := "t"
	if table == "loads" {
		expr = "ROW(dataset, topic, partition, first_offset, last_offset, rows)"
	}
	return queryStrings(t, s, `SELECT CAST(`+expr+` AS VARCHAR) AS r FROM `+table+` t ORDER BY r`)
}

// queryStrings returns the one VARCHAR column of q's rows, in order.
func queryStrings(t *testing.T, s *Store, q string, args ...any) []string {
	t.Helper()
	rows, err := s.DB().Query(q, args...)
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var r string
		require.NoError(t, rows.Scan(&r))
		out = append(out, r)
	}
	require.NoError(t, rows.Err())
	return out
}

// TestLoadBatchesEqualsLoadBatchInTurn: several batches in one transaction
// (other partitions, a re-batched range replacing rows, two ranges of the
// same partition overlapping each other) leave the same tables, loads log
// and derived comparison rows as LoadBatch called on each in turn.
func TestLoadBatchesEqualsLoadBatchInTurn(t *testing.T) {
	ctx := context.Background()
	q := []string{"0.25", "0.25", "0.25", "0.25"}
	vals := func(b1 string) []string { return append([]string{"0", "1", b1, "2.00", "3.00", "4.00"}, q...) }
	part1 := func(r row) row { return with(r, "src_partition", int32(1)) }
	feeFiles := func(rows ...row) map[string]string { return splitFiles(t, rows, nil) }
	rg := func(p int32, first, last int64) SourceRange {
		return SourceRange{Topic: topic, Partition: p, First: first, Last: last}
	}
	first := []Batch{
		{Range: rg(0, 0, 9), Files: splitFiles(t,
			[]row{fee(bankA, "a1", t0, "TED", 1, vals("1.00")...), fee(bankB, "b1", t0, "TED", 2, vals("2.00")...)},
			[]row{with(rate(bankA, "a1", t0, "PRE", 3, "0.1", "0.1", "0.1", "0.1", "0.1", "0.1", "0.1", "0.25", "0.25", "0.25", "0.25"), "src_partition", int32(0))},
		)},
		{Range: rg(1, 0, 9), Files: feeFiles(part1(fee(bankC, "c1", t0, "TED", 4, vals("3.00")...)))},
	}
	second := []Batch{
		// Partition 0 re-batched as [5,14]: offset 2 stays, nothing else of [0,9] was at 5..9.
		{Range: rg(0, 5, 14), Files: feeFiles(fee(bankA, "a2", t0.Add(time.Hour), "TED", 12, vals("5.00")...))},
		// [0,3] again, cut differently: replaces offsets 1 and 2 (bank B disappears).
		{Range: rg(0, 0, 3), Files: feeFiles(fee(bankA, "a1", t0, "TED", 1, vals("1.50")...))},
		// and [3,6] overlapping the batch before it in this same call.
		{Range: rg(0, 3, 6), Files: feeFiles(fee(bankD, "d1", t0, "TED", 6, vals("6.00")...))},
		{Range: rg(1, 10, 19), Files: feeFiles(part1(fee(bankC, "c2", t0.Add(time.Hour), "TED", 11, vals("7.00")...)))},
	}
	inTurn, _ := openTemp(t)
	together, _ := openTemp(t)
	for _, batches := range [][]Batch{first, second} {
		want := map[string]int64{}
		for _, b := range batches {
			n, err := inTurn.LoadBatch(ctx, b.Range, b.Files)
			require.NoError(t, err)
			for ds, k := range n {
				want[ds] += k
			}
		}
		got, err := together.LoadBatches(ctx, batches)
		require.NoError(t, err)
		require.Equal(t, want, got)
		require.NoError(t, inTurn.refreshPending(ctx))
		require.NoError(t, together.refreshPending(ctx))
		for _, table := range []string{DatasetFees, DatasetRates, DatasetPages, DatasetFeeItems, DatasetRateItems, "fees_latest", "rates_latest", "loads"} {
			require.Equal(t, dump(t, inTurn, table), dump(t, together, table), table)
		}
		requireStoreMatchesReference(t, together)
	}
	fees, err := together.Fees(ctx, FeeFilter{})
	require.NoError(t, err)
	var names []string
	for _, f := range fees {
		names = append(names, f.CollectionID+" "+*f.BandMedians[0])
	}
	require.ElementsMatch(t, []string{"a2 5.000000", "c2 7.000000", "d1 6.000000"}, names)

	// A failing batch rolls the whole call back.
	stray := feeFiles(fee(bankE, "e1", t0, "TED", 99, vals("9.00")...))
	tables := []string{DatasetFees, DatasetPages, DatasetFeeItems, "loads"}
	before := map[string][]string{}
	for _, table := range tables {
		before[table] = dump(t, together, table)
	}
	_, err = together.LoadBatches(ctx, []Batch{
		{Range: rg(2, 0, 9), Files: feeFiles(with(fee(bankE, "e1", t0, "TED", 1, vals("1.00")...), "src_partition", int32(2)))},
		{Range: rg(2, 10, 19), Files: stray},
	})
	require.ErrorIs(t, err, ErrSourceMismatch)
	for _, table := range tables {
		require.Equal(t, before[table], dump(t, together, table), table)
	}
}

// TestLoadLegacyFiles: lake files written before schema version 4 (fee and
// rate rows with source columns, pages without content_key) load as pages
// and items whose views show exactly the rows of the files, also loaded
// twice; a record's own institution columns survive.
func TestLoadLegacyFiles(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	q := []string{"0.25", "0.25", "0.25", "0.25"}
	vals := func(b1 string) []string { return append([]string{"0", "1", b1, "2.00", "3.00", "4.00"}, q...) }
	fees := []row{
		fee(bankA, "a1", t0, "TED", 1, vals("1.00")...),
		with(fee(bankA, "a1", t0, "PIX", 1, vals("2.00")...), "item_index", int32(1)),
		// A record of another participant on bank B's page.
		with(fee(bankB, "b1", t0, "TED", 2, vals("3.00")...), "institution_cnpj", "99999999000199", "institution_name", "Outro", "brand", "Outro"),
		fee(bankB, "b1", t0, "SAQUE", 4, vals("4.00")...),
	}
	rates := []row{with(rate(bankA, "a1", t0, "PRE_FIXADO", 3, "0.1", "0.1", "0.3", "0.1", "0.1", "0.1", "0.1", "0.25", "0.25", "0.25", "0.25"), "src_partition", int32(0))}
	var pages []row
	for _, r := range []row{fees[0], with(fees[2], "institution_cnpj", bankB.cnpj, "institution_name", bankB.name, "brand", bankB.brand), fees[3], rates[0]} {
		pg := row{"url": "u", "page": int32(1), "status_code": int32(200)}
		for _, c := range append(append([]Column{}, commonLeading...), commonTrailing...) {
			pg[c.Name] = r[c.Name]
		}
		pages = append(pages, pg)
	}
	// Findings and quarantine rows of before version 5: one per page.
	note := func(pg row, idx int32, kv ...any) row {
		r := with(row{}, kv...)
		for _, c := range append(append([]Column{}, commonLeading...), commonTrailing...) {
			r[c.Name] = pg[c.Name]
		}
		r["url"], r["page"], r["record_index"], r["item_index"] = "u", int32(1), idx, idx
		return r
	}
	findings := []row{note(pages[0], 0, "field", "/data/0/name", "rule", "maxLength", "message", "too long"),
		note(pages[1], 1, "field", "/data/1", "rule", "required", "message", "missing x")}
	quarantined := []row{note(pages[2], 0, "kind", "fee", "reason", "value \"x\" is not a decimal", "raw", `{"value":"x"}`)}
	rg := SourceRange{Topic: topic, Partition: 0, First: 0, Last: 9}
	files := map[string]string{
		DatasetFees:       writeParquet(t, DatasetFees, fees),
		DatasetRates:      writeParquet(t, DatasetRates, rates),
		DatasetFindings:   writeParquet(t, DatasetFindings, findings),
		DatasetQuarantine: writeParquet(t, DatasetQuarantine, quarantined),
		DatasetPages:      writeParquetCols(t, DatasetPages, without(datasets[DatasetPages], "content_key"), pages),
	}
	for range 2 {
		n, err := s.LoadBatch(ctx, rg, files)
		require.NoError(t, err)
		require.Equal(t, int64(4), n[DatasetPages])
		require.Equal(t, int64(2), n[DatasetFindings])
		require.Equal(t, int64(1), n[DatasetQuarantine])
		for _, view := range Views() {
			var missing, extra int64
			require.NoError(t, s.DB().QueryRow(`SELECT
  (SELECT count(*) FROM (SELECT * FROM read_parquet($1) EXCEPT ALL SELECT * FROM `+view+`)),
  (SELECT count(*) FROM (SELECT * FROM `+view+` EXCEPT ALL SELECT * FROM read_parquet($1)))`, files[view]).Scan(&missing, &extra))
			require.Zero(t, missing, view)
			require.Zero(t, extra, view)
		}
		requireUniqueKeys(t, s, DatasetFees, 4)
		requireUniqueKeys(t, s, DatasetRates, 1)
	}
	var key string
	require.NoError(t, s.DB().QueryRow(`SELECT content_key FROM opendata_pages WHERE src_offset = 2`).Scan(&key))
	require.Equal(t, "legacy/"+topic+"/0/2", key)
	names := feeStrings(t, s, FeeFilter{ServiceCode: "TED"}, func(r FeeComparison) string { return r.InstitutionName })
	require.ElementsMatch(t, []string{"Banco Alfa", "Outro"}, names)
	requireParquetMatchesStore(t, s)
	requireIndexMatchesItems(t, s)
}

// TestParquetColumnsOf: the columns of several files read with one query
// are those of each file described alone, and a file that cannot be read
// is named in the error.
func TestParquetColumnsOf(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	files := splitFiles(t, feeRowsRange(1, 3), nil)
	var paths []string
	for _, p := range files {
		paths = append(paths, p)
	}
	require.GreaterOrEqual(t, len(paths), 2)
	got, err := s.parquetColumnsOf(ctx, paths)
	require.NoError(t, err)
	require.Len(t, got, len(paths))
	for _, p := range paths {
		want, err := s.parquetColumns(ctx, p)
		require.NoError(t, err)
		require.Equal(t, want, got[p], p)
	}
	missing := filepath.Join(t.TempDir(), "gone.parquet")
	_, err = s.parquetColumnsOf(ctx, append(paths, missing))
	require.ErrorContains(t, err, missing)
}
