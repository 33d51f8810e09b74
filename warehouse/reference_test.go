package warehouse

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// referenceFees runs FeeComparisonSQL (the reference: pure SQL, no derived
// table) on the opendata_fees view and scans it the straightforward way.
func referenceFees(t testing.TB, s *Store, f FeeFilter) []FeeComparison {
	t.Helper()
	return referenceFeesOn(t, s, DatasetFees, f)
}

// referenceFeesOn is referenceFees over any source (Store.feesOn, the path
// Fees takes while a refresh is pending).
func referenceFeesOn(t testing.TB, s *Store, source string, f FeeFilter) []FeeComparison {
	t.Helper()
	out, err := s.feesOn(context.Background(), source, f)
	require.NoError(t, err)
	return out
}

// referenceRates is referenceFees for RateComparisonSQL.
func referenceRates(t testing.TB, s *Store, f RateFilter) []RateComparison {
	t.Helper()
	return referenceRatesOn(t, s, DatasetRates, f)
}

// referenceRatesOn is referenceRates over any source (Store.ratesOn).
func referenceRatesOn(t testing.TB, s *Store, source string, f RateFilter) []RateComparison {
	t.Helper()
	out, err := s.ratesOn(context.Background(), source, f)
	require.NoError(t, err)
	return out
}

var (
	bankD = inst{"org-d", "44444444000144", "Banco Delta", "Delta"}
	bankE = inst{"org-e", "55555555000155", "Banco Eco", "Eco"}
	bankF = inst{"org-f", "66666666000166", "Banco Igual", "Fox"}
	bankG = inst{"org-g", "77777777000177", "Banco Igual", "Golf"}
	bankH = inst{"org-h", "88888888000188", "Banco Hotel", "Hotel"}
)

// seedTricky loads fee and rate rows that exercise every comparison rule's
// corner: ties, NULLs, redelivered flagged rows, mixed simulated collections,
// equal collected_at, NULL versus empty key columns, estimates past the
// 64-bit fast path and spreads that do not fit DECIMAL(18,6).
func seedTricky(t testing.TB, s *Store) {
	t.Helper()
	seedComparison(t, s)
	old := t0.Add(-48 * time.Hour)
	q := []string{"0.25", "0.25", "0.25", "0.25"}
	vals := func(min, max, b1, b2, b3, b4 string) []string {
		return append([]string{min, max, b1, b2, b3, b4}, q...)
	}
	fees := []row{
		// D: NULL institution name; same estimate and band 1 as F/G.
		with(fee(bankD, "d1", t0, "TED", 100, vals("0", "1", "3.00", "5.00", "7.00", "9.00")...), "institution_name", nil),
		// F and G: same name, estimate and band 1 -> rank tie, tie-break on brand.
		fee(bankF, "f1", t0, "TED", 101, vals("0", "1", "3.00", "5.00", "7.00", "9.00")...),
		fee(bankG, "g1", t0, "TED", 102, vals("0", "1", "3.00", "5.00", "7.00", "9.00")...),
		// G has a second collection at the same instant: the greater id wins.
		fee(bankG, "g2", t0, "TED", 103, vals("0", "1", "3.00", "5.00", "7.00", "9.00")...),
		fee(bankG, "g2", t0, "PIX", 104, vals("0", "1", "1.00", "1.00", "1.00", "1.00")...),
		// E: latest collection simulated, an older real one.
		with(fee(bankE, "e1", old, "TED", 105, vals("0", "1", "50.00", "50.00", "50.00", "50.00")...), "simulated", false),
		fee(bankE, "e2", t0, "TED", 106, vals("0", "1", "60.00", "60.00", "60.00", "60.00")...),
		// H: redelivered row, the first delivery flagged; highest estimate
		// shared with E's simulated row but NULL band 1.
		with(fee(bankH, "h1", t0, "TED", 107, vals("0", "1", "", "80.00", "80.00", "80.00")...), "flags", "schema_violation"),
		fee(bankH, "h1", t0, "TED", 108, vals("0", "1", "1.00", "1.00", "1.00", "1.00")...),
		// NULL versus empty segment: two groups.
		with(fee(bankH, "h1", t0, "SEG", 109, vals("0", "1", "1.00", "1.00", "1.00", "1.00")...), "segment", nil),
		with(fee(bankD, "d1", t0, "SEG", 110, vals("0", "1", "2.00", "2.00", "2.00", "2.00")...), "segment", ""),
		// Estimates past the fast path and a spread that does not fit.
		fee(bankD, "d1", t0, "BIG", 111, vals("0", "1", "5000000.000001", "5000000.00", "4000000.50", "1.000003")...),
		fee(bankH, "h1", t0, "BIG", 112, vals("0", "1", "999999999999.999999", "999999999999.999999", "999999999999.999999", "999999999999.999999")...),
		fee(bankF, "f1", t0, "BIG", 113, vals("0", "1", "-999999999999.0", "-999999999999.0", "-999999999999.0", "-999999999999.0")...),
		fee(bankG, "g2", t0, "BIG", 114, vals("0", "1", "-0.000002", "0.000000", "0", "0")...),
		// Half-way rounding on the fast path, both signs.
		with(fee(bankE, "e2", t0, "HALF", 115, "0", "1", "0.000001", "0", "0", "0", "0.500000", "0", "0", "0"), "currency", "USD"),
		with(fee(bankH, "h1", t0, "HALF", 116, "0", "1", "-0.000001", "0", "0", "0", "0.500000", "0", "0", "0"), "currency", "USD"),
	}
	load(t, s, DatasetFees, fees, topic, 0, 100, 120)
	rates := []row{
		rate(bankD, "d1", t0, "PRE_FIXADO", 100, "0.20", "0.1", "0.3", "0.20", "0.20", "0.20", "0.20", "0.25", "0.25", "0.25", "0.25"),
		with(rate(bankE, "e1", old, "PRE_FIXADO", 101, "0.30", "0.1", "0.3", "0.30", "0.30", "0.30", "0.30", "0.25", "0.25", "0.25", "0.25"), "simulated", true),
		rate(bankE, "e2", t0, "PRE_FIXADO", 102, "0.10", "0.1", "0.3", "", "0.10", "0.10", "0.10", "0.25", "0.25", "0.25", "0.25"),
		with(rate(bankF, "f1", t0, "POS_FIXADO", 103, "0.10", "0.1", "0.3", "0.10", "0.10", "0.10", "0.10", "0.25", "0.25", "0.25", "0.25"), "flags", "rate_scale_4"),
		rate(bankF, "f1", t0, "POS_FIXADO", 104, "0.11", "0.1", "0.3", "0.11", "0.11", "0.11", "0.11", "0.25", "0.25", "0.25", "0.25"),
		rate(bankG, "g1", t0, "POS_FIXADO", 105, "0.11", "0.1", "0.3", "0.11", "0.11", "0.11", "0.11", "0.25", "0.25", "0.25", "0.25"),
	}
	load(t, s, DatasetRates, rates, topic, 1, 100, 110)
}

func feeFilters() []FeeFilter {
	yes, no := true, false
	return []FeeFilter{
		{}, {ServiceCode: "TED"}, {ServiceCode: "BIG"}, {ExcludeFlagged: true}, {Simulated: &yes}, {Simulated: &no},
		{Simulated: &no, ExcludeFlagged: true}, {Simulated: &yes, ExcludeFlagged: true}, {Institution: "banco"},
		{Institution: "IGUAL", ServiceCode: "TED"}, {Institution: "44444444000144"}, {Institution: "nobody"},
		{Segment: SegmentPersonal}, {Currency: "USD"}, {Product: "personal-accounts", ProductType: "CONTA_DEPOSITO_A_VISTA"},
		{Product: "business-accounts"},
	}
}

func rateFilters() []RateFilter {
	yes, no := true, false
	return []RateFilter{
		{}, {Indexer: "PRE_FIXADO"}, {ExcludeFlagged: true}, {Simulated: &yes}, {Simulated: &no},
		{Simulated: &yes, ExcludeFlagged: true}, {Institution: "igual"}, {Segment: SegmentBusiness},
	}
}

// requireDerived refreshes what loads left pending, so that Store.Fees and
// Store.Rates read the derived tables (while a refresh is due they run the
// reference SQL on the views, which a comparison with it would not test).
func requireDerived(t testing.TB, s *Store) {
	t.Helper()
	if !s.ReadOnly() { // a read-only store cannot refresh: the test's file must not need it
		require.NoError(t, s.RefreshPending(context.Background()))
	}
	require.False(t, s.refreshDue(), "a load committed meanwhile")
}

// requireStoreMatchesReference asserts Store.Fees/Rates equal the reference
// SQL row by row for every filter.
func requireStoreMatchesReference(t *testing.T, s *Store) {
	t.Helper()
	ctx := context.Background()
	requireDerived(t, s)
	nonEmpty := 0
	for _, f := range feeFilters() {
		got, err := s.Fees(ctx, f)
		require.NoError(t, err)
		require.Equal(t, referenceFees(t, s, f), got, "fees %+v", f)
		if len(got) > 0 {
			nonEmpty++
		}
	}
	require.Greater(t, nonEmpty, 5)
	for _, f := range rateFilters() {
		got, err := s.Rates(ctx, f)
		require.NoError(t, err)
		require.Equal(t, referenceRates(t, s, f), got, "rates %+v", f)
	}
}

// requireParquetMatchesStore asserts that the reference SQL run on Parquet
// copies of the pages and items, joined by FeesViewSQL / RatesViewSQL (as
// the benchmark runs it on the lake), gives what Store.Fees/Rates give.
func requireParquetMatchesStore(t *testing.T, s *Store) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	rel := map[string]string{}
	for _, name := range []string{DatasetPages, DatasetFeeItems, DatasetRateItems} {
		path := filepath.Join(dir, name+".parquet")
		_, err := s.DB().ExecContext(ctx, "COPY "+name+" TO '"+path+"' (FORMAT parquet)")
		require.NoError(t, err)
		rel[name] = "read_parquet('" + path + "')"
	}
	fees := "(" + FeesViewSQL(rel[DatasetPages], rel[DatasetFeeItems]) + ")"
	rates := "(" + RatesViewSQL(rel[DatasetPages], rel[DatasetRateItems]) + ")"
	requireDerived(t, s)
	for _, f := range feeFilters() {
		got, err := s.Fees(ctx, f)
		require.NoError(t, err)
		require.Equal(t, referenceFeesOn(t, s, fees, f), got, "fees on parquet %+v", f)
	}
	for _, f := range rateFilters() {
		got, err := s.Rates(ctx, f)
		require.NoError(t, err)
		require.Equal(t, referenceRatesOn(t, s, rates, f), got, "rates on parquet %+v", f)
	}
}

func TestStoreMatchesReferenceSQL(t *testing.T) {
	s, _ := openTemp(t)
	seedTricky(t, s)
	requireStoreMatchesReference(t, s)
	requireParquetMatchesStore(t, s)

	// The corners are really there.
	ctx := context.Background()
	rows, err := s.Fees(ctx, FeeFilter{ServiceCode: "TED"})
	require.NoError(t, err)
	byName := map[string]FeeComparison{}
	for _, r := range rows {
		byName[r.Brand] = r
	}
	require.Equal(t, byName["Fox"].Rank, byName["Golf"].Rank)
	require.Equal(t, "g2", byName["Golf"].CollectionID)
	require.Equal(t, "e2", byName["Eco"].CollectionID)
	require.Equal(t, []string{"schema_violation"}, byName["Hotel"].Flags) // the first delivery, flagged
	require.Nil(t, byName["Hotel"].BandMedians[0])
	clean, err := s.Fees(ctx, FeeFilter{ServiceCode: "TED", Institution: "hotel", ExcludeFlagged: true})
	require.NoError(t, err)
	require.Len(t, clean, 1)
	require.Equal(t, p("1.000000"), clean[0].BandMedians[0]) // the redelivery replaces it
	big, err := s.Fees(ctx, FeeFilter{ServiceCode: "BIG"})
	require.NoError(t, err)
	require.Nil(t, big[0].Spread)
	require.Equal(t, p("-999999999999.000000"), big[0].WeightedEstimate)
	half, err := s.Fees(ctx, FeeFilter{Currency: "USD"})
	require.NoError(t, err)
	require.Equal(t, []*string{p("-0.000001"), p("0.000001")}, []*string{half[0].WeightedEstimate, half[1].WeightedEstimate})
	real, err := s.Fees(ctx, FeeFilter{ServiceCode: "TED", Simulated: new(bool), Institution: "eco"})
	require.NoError(t, err)
	require.Len(t, real, 1)
	require.Equal(t, "e1", real[0].CollectionID)

	// A re-batched load that replaces rows refreshes the derived rows too.
	load(t, s, DatasetFees, []row{
		fee(bankH, "h2", t0.Add(time.Hour), "TED", 107, "0", "1", "0.50", "0.50", "0.50", "0.50", "0.25", "0.25", "0.25", "0.25"),
	}, topic, 0, 107, 108)
	requireStoreMatchesReference(t, s)
	rows, err = s.Fees(ctx, FeeFilter{Institution: "hotel"})
	require.NoError(t, err)
	require.Len(t, rows, 1)
	require.Equal(t, "h2", rows[0].CollectionID)

	// A full rebuild gives the same derived rows as the incremental loads.
	require.NoError(t, s.Refresh(ctx))
	requireStoreMatchesReference(t, s)
}

// ratesOfTheFeesSQL selects rates shaped like opendata_rates from the fees
// stored: one rate per fee, on the same pages.
const ratesOfTheFeesSQL = `SELECT collection_id, collected_at, organisation_id, organisation_name, institution_cnpj, institution_name, brand, simulated,
  family, api_version, product, segment, product_type, 'IDX' || service_code AS indexer,
  band2_median AS rate, band1_median AS band1_rate, band2_median AS band2_rate, band3_median AS band3_rate, band4_median AS band4_rate,
  band1_customers, band2_customers, band3_customers, band4_customers, flags, src_topic, src_partition, src_offset, item_index
FROM opendata_fees`

// TestStoreMatchesReferenceSQLGenerated compares on a generated data set with
// many institutions, collections, duplicates, flags and NULLs.
func TestStoreMatchesReferenceSQLGenerated(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	insertSplit(t, s, `SELECT 'c' || inst || '-' || coll AS collection_id,
  TIMESTAMPTZ '2026-01-01 00:00:00+00' + INTERVAL 1 HOUR * (coll % 3) AS collected_at,
  'org-' || (inst % 7) AS organisation_id, 'Org' AS organisation_name, lpad((inst % 9)::VARCHAR, 14, '0') AS institution_cnpj,
  CASE WHEN inst % 11 = 0 THEN NULL ELSE 'Bank ' || (inst % 5) END AS institution_name, 'Brand ' || (inst % 4) AS brand,
  (inst + coll) % 3 <> 0 AS simulated, 'f' AS family, '1' AS api_version,
  CASE WHEN k % 7 = 0 THEN 'business-accounts' ELSE 'personal-accounts' END AS product,
  CASE WHEN k % 2 = 0 THEN 'personal' ELSE 'business' END AS segment, 'T' || (k % 3) AS product_type, 'g' AS fee_group,
  'S' || (k % 6) AS service_code, 'n' AS service_name, 'e' AS charging_trigger, CASE WHEN k % 13 = 0 THEN 'USD' ELSE 'BRL' END AS currency,
  0::DECIMAL(18,6) AS minimum, 9::DECIMAL(18,6) AS maximum,
  CASE WHEN (inst + k) % 17 = 0 THEN NULL ELSE ((inst * 7 + coll) % 4)::DECIMAL(18,6) END AS band1_median,
  ((inst * 3 + k) % 3)::DECIMAL(18,6) AS band2_median, 1::DECIMAL(18,6) AS band3_median, (k % 2)::DECIMAL(18,6) AS band4_median,
  0.25::DECIMAL(18,6) AS band1_customers, 0.25::DECIMAL(18,6) AS band2_customers, 0.25::DECIMAL(18,6) AS band3_customers,
  CASE WHEN (inst * k) % 19 = 1 THEN NULL ELSE 0.25::DECIMAL(18,6) END AS band4_customers,
  CASE WHEN (inst + k + dup) % 5 = 0 THEN 'schema_violation' ELSE '' END AS flags,
  'ofp.opendata.raw' AS src_topic, (inst % 2)::INTEGER AS src_partition,
  (inst * 100000 + coll * 1000 + k * 2 + dup)::BIGINT AS src_offset, 0::INTEGER AS item_index
FROM range(30) i(inst), range(4) c(coll), range(40) r(k), range(2) d(dup)
WHERE dup = 0 OR (inst + k) % 3 = 0`, "")
	// The rates of the same pages, from the fees just stored.
	insertSplit(t, s, "", ratesOfTheFeesSQL)
	require.NoError(t, s.Refresh(ctx))

	total := 0
	for _, f := range append(feeFilters(), FeeFilter{Institution: "bank 1"}, FeeFilter{Product: "business-accounts", Simulated: new(bool)}) {
		got, err := s.Fees(ctx, f)
		require.NoError(t, err)
		require.Equal(t, referenceFees(t, s, f), got, "fees %+v", f)
		total += len(got)
	}
	require.Greater(t, total, 1000)
	requireParquetMatchesStore(t, s)
	for _, f := range append(rateFilters(), RateFilter{Indexer: "IDXS3", ExcludeFlagged: true}) {
		got, err := s.Rates(ctx, f)
		require.NoError(t, err)
		require.Equal(t, referenceRates(t, s, f), got, "rates %+v", f)
	}
}

func TestFeesPaging(t *testing.T) {
	s, _ := openTemp(t)
	seedTricky(t, s)
	ctx := context.Background()
	all, err := s.Fees(ctx, FeeFilter{})
	require.NoError(t, err)
	require.Greater(t, len(all), 10)
	var paged []FeeComparison
	for off := 0; off < len(all)+3; off += 4 {
		page, err := s.Fees(ctx, FeeFilter{Page: Page{Limit: 4, Offset: off}})
		require.NoError(t, err)
		require.LessOrEqual(t, len(page), 4)
		paged = append(paged, page...)
	}
	require.Equal(t, all, paged)

	inst, err := s.Fees(ctx, FeeFilter{Institution: "igual"})
	require.NoError(t, err)
	page, err := s.Fees(ctx, FeeFilter{Institution: "igual", Page: Page{Limit: 1, Offset: 1}})
	require.NoError(t, err)
	require.Equal(t, inst[1:2], page)

	_, err = s.Fees(ctx, FeeFilter{Page: Page{Limit: -1}})
	require.ErrorIs(t, err, ErrInvalidFilter)
	_, err = s.Rates(ctx, RateFilter{Page: Page{Offset: -1}})
	require.ErrorIs(t, err, ErrInvalidFilter)
}

// TestWeightedFastPathIsExact checks the 64-bit rounding path of the weighted
// estimate against the plain 128-bit TRY_CAST around its boundaries.
func TestWeightedFastPathIsExact(t *testing.T) {
	s, _ := openTemp(t)
	var bad int64
	err := s.DB().QueryRow(fmt.Sprintf(`SELECT count(*) FROM (
  SELECT CAST(v AS DECIMAL(38,6)) * CAST(w AS DECIMAL(38,6)) AS x
  FROM (VALUES (999999.999999), (1000000.0), (-999999.999999), (-1000000.0), (0.000001), (-0.000001), (0.5), (12345.678901),
               (999999999999.999999), (-999999999999.999999), (0.0)) a(v),
       (VALUES (0.5), (0.999999), (1.0), (0.000001), (0.000002), (0.499999), (0.500001), (1000000.0), (-0.5)) b(w)
) WHERE %s IS DISTINCT FROM TRY_CAST(x AS DECIMAL(18,6))`, roundEstimate("x"))).Scan(&bad)
	require.NoError(t, err)
	require.Zero(t, bad)
}

// TestOlderVersionsAreRecreatedEmpty: a file of versions 1 to 3 (where
// opendata_fees and opendata_rates are tables) gets the current schema,
// empty (rebuild it from the lake), with a warning; it then loads and
// compares as a new one, and opens again as it is.
func TestOlderVersionsAreRecreatedEmpty(t *testing.T) {
	for _, v := range []int{1, 2, 3, 4} {
		t.Run(fmt.Sprint(v), func(t *testing.T) {
			s, path := openTemp(t)
			seedTricky(t, s)
			require.NoError(t, s.Refresh(context.Background()))
			// The layout of version 4: finding and quarantine tables with
			// rows, no items; and of version 3: fee and rate tables too.
			var stmts []string
			for _, name := range Views() {
				stmts = append(stmts, "DROP VIEW "+name)
			}
			for _, name := range []string{DatasetFindingItems, DatasetQuarantineItems} {
				stmts = append(stmts, "DROP VIEW "+name, "DROP TABLE "+name+storedSuffix)
			}
			for _, name := range []string{DatasetFindingRows, DatasetQuarantineRows} {
				stmts = append(stmts, "DROP TABLE "+name)
			}
			tables := []string{DatasetFindings, DatasetQuarantine}
			if v <= 3 {
				stmts = append(stmts, "DROP VIEW "+DatasetFeeItems, "DROP VIEW "+DatasetRateItems, "DROP TABLE "+DatasetFeeItems+storedSuffix,
					"DROP TABLE "+DatasetRateItems+storedSuffix, "ALTER TABLE "+DatasetPages+" DROP COLUMN content_key")
				tables = append(tables, DatasetFees, DatasetRates)
			} else { // version 4: fee and rate items in tables
				for _, name := range []string{DatasetFeeItems, DatasetRateItems} {
					stmts = append(stmts, "CREATE TEMP TABLE keep AS SELECT * FROM "+name, "DROP VIEW "+name, "DROP TABLE "+name+storedSuffix,
						createTableSQL(name), "INSERT INTO "+name+" SELECT * FROM keep", "DROP TABLE keep")
				}
				stmts = append(stmts, createViewSQL(DatasetFees), createViewSQL(DatasetRates))
			}
			for _, name := range tables {
				cols, _ := DatasetColumns(name)
				stmts = append(stmts, contractDDL(name, cols),
					"INSERT INTO "+name+" BY NAME SELECT 'c1' AS collection_id, 'ofp.opendata.raw' AS src_topic, 0 AS src_partition, 1 AS src_offset, 0 AS item_index")
			}
			stmts = append(stmts, "DROP TABLE "+itemFilesTable, "DELETE FROM schema_version", fmt.Sprintf("INSERT INTO schema_version VALUES (%d, now())", v))
			for _, q := range stmts {
				_, err := s.DB().Exec(q)
				require.NoError(t, err, q)
			}
			require.NoError(t, s.Close())
			_, err := OpenReadOnly(path, DefaultOptions())
			require.ErrorIs(t, err, ErrSchemaMismatch)

			var logs strings.Builder
			opts := DefaultOptions()
			opts.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			s, err = Open(path, opts)
			require.NoError(t, err)
			got, err := s.version(context.Background())
			require.NoError(t, err)
			require.Equal(t, SchemaVersion, got)
			require.Contains(t, logs.String(), "ofp warehouse rebuild")
			counts, err := s.Counts(context.Background())
			require.NoError(t, err)
			for name, n := range counts {
				require.Zero(t, n, name)
			}
			seedTricky(t, s)
			requireStoreMatchesReference(t, s)
			want := dump(t, s, DatasetFees)
			require.NoError(t, s.Close())

			// The current version opens as it is, read-only too.
			ro, err := OpenReadOnly(path, DefaultOptions())
			require.NoError(t, err)
			require.Equal(t, want, dump(t, ro, DatasetFees))
			requireStoreMatchesReference(t, ro)
			require.NoError(t, ro.Close())
			s, err = Open(path, DefaultOptions())
			require.NoError(t, err)
			defer s.Close()
			require.Equal(t, want, dump(t, s, DatasetFees))
		})
	}
}

// TestIncrementalRefreshMatchesReference loads generated collections one
// small batch after another (pages of a collection split over loads,
// collections arriving out of time order, equal collected_at, simulated
// and real collections of one institution, flagged redeliveries, rows
// without a collection id), so that the refreshes are incremental; the
// derived rows are refreshed after one to three loads (coalesced), and
// then equal a full rebuild and the comparisons equal the reference SQL.
func TestIncrementalRefreshMatchesReference(t *testing.T) {
	s := openTempWith(t, onDemand())
	ctx := context.Background()
	r := rand.New(rand.NewPCG(7, 8))
	banks := []inst{bankA, bankB, bankC, bankD}
	codes := []string{"TED", "PIX", "SAQUE"}
	type coll struct {
		id  any
		at  time.Time
		sim bool
	}
	var colls []coll
	for i := range 9 {
		c := coll{id: fmt.Sprintf("c%d", i), at: t0.Add(time.Duration(r.IntN(5)) * time.Hour), sim: r.IntN(3) != 0}
		if i == 4 {
			c.id = nil
		}
		colls = append(colls, c)
	}
	offsets := map[int32]int64{}
	for step := range 14 {
		part := int32(step % 2)
		first := offsets[part]
		var fees, rates []row
		for range 1 + r.IntN(12) {
			c := colls[r.IntN(len(colls))]
			b := banks[r.IntN(len(banks))]
			off := offsets[part]
			offsets[part]++
			v := fmt.Sprintf("%d.00", r.IntN(4))
			f := with(fee(b, "", c.at, codes[r.IntN(len(codes))], off, "0", "1", v, "2.00", "3.00", "4.00", "0.25", "0.25", "0.25", "0.25"),
				"collection_id", c.id, "simulated", c.sim, "src_partition", part)
			if r.IntN(4) == 0 {
				f = with(f, "flags", "schema_violation")
			}
			fees = append(fees, f)
			rates = append(rates, with(rate(b, "", c.at, codes[r.IntN(2)], off, v, "0.1", "0.3", v, v, v, v, "0.25", "0.25", "0.25", "0.25"),
				"collection_id", c.id, "simulated", c.sim, "src_partition", part))
		}
		rg := SourceRange{Topic: topic, Partition: part, First: first, Last: offsets[part] - 1 + int64(r.IntN(3))}
		offsets[part] = rg.Last + 1
		_, err := s.LoadBatch(ctx, rg, splitFiles(t, fees, rates))
		require.NoError(t, err)
		if step%3 == 1 || step%5 == 0 {
			continue // coalesced with the next loads
		}

		requireDerived(t, s)
		for _, f := range feeFilters() {
			got, err := s.Fees(ctx, f)
			require.NoError(t, err)
			require.Equal(t, referenceFees(t, s, f), got, "step %d fees %+v", step, f)
		}
		for _, f := range rateFilters() {
			got, err := s.Rates(ctx, f)
			require.NoError(t, err)
			require.Equal(t, referenceRates(t, s, f), got, "step %d rates %+v", step, f)
		}
		requireNothingPending(t, s)
		incremental := map[string][]string{"fees_latest": dump(t, s, "fees_latest"), "rates_latest": dump(t, s, "rates_latest")}
		require.NoError(t, s.Refresh(ctx))
		for table, rows := range incremental {
			require.Equal(t, dump(t, s, table), rows, "step %d: %s after the load equals a full rebuild", step, table)
		}
	}
	all, err := s.Fees(ctx, FeeFilter{})
	require.NoError(t, err)
	require.NotEmpty(t, all)
}

// TestStoreMatchesReferenceSQLPagesOfManyItems compares on pages of many
// items in which a fee repeats (the first occurrence often flagged, a later
// one clean), across pages of the same collection too: the refresh reads
// only each content's first item of a group and first clean one, and must
// still pick the rows the reference picks.
func TestStoreMatchesReferenceSQLPagesOfManyItems(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	insertSplit(t, s, `SELECT 'c' || inst || '-' || coll AS collection_id,
  TIMESTAMPTZ '2026-01-01 00:00:00+00' + INTERVAL 1 HOUR * (coll % 2) AS collected_at,
  'org-' || (inst % 5) AS organisation_id, 'Org' AS organisation_name, lpad((inst % 7)::VARCHAR, 14, '0') AS institution_cnpj,
  'Bank ' || inst AS institution_name, 'Brand ' || (inst % 3) AS brand,
  (inst + coll) % 3 <> 0 AS simulated, 'f' AS family, '1' AS api_version,
  CASE WHEN pg % 2 = 0 THEN 'personal-accounts' ELSE 'business-accounts' END AS product,
  CASE WHEN pg % 3 = 0 THEN 'personal' ELSE 'business' END AS segment, 'T' || (j % 2) AS product_type, 'g' AS fee_group,
  'S' || (j % 4) AS service_code, 'n' || j AS service_name, 'e' AS charging_trigger,
  CASE WHEN (inst + j) % 11 = 0 THEN 'USD' ELSE 'BRL' END AS currency,
  0::DECIMAL(18,6) AS minimum, 9::DECIMAL(18,6) AS maximum,
  ((inst + pg * 3 + j) % 7)::DECIMAL(18,6) AS band1_median, (j % 5)::DECIMAL(18,6) AS band2_median,
  1::DECIMAL(18,6) AS band3_median, (pg % 2)::DECIMAL(18,6) AS band4_median,
  0.25::DECIMAL(18,6) AS band1_customers, 0.25::DECIMAL(18,6) AS band2_customers, 0.25::DECIMAL(18,6) AS band3_customers,
  0.25::DECIMAL(18,6) AS band4_customers,
  CASE WHEN (inst + pg + j) % 3 = 0 THEN 'schema_violation' ELSE '' END AS flags,
  'ofp.opendata.raw' AS src_topic, (inst % 2)::INTEGER AS src_partition,
  (inst * 100000 + coll * 1000 + pg)::BIGINT AS src_offset, j::INTEGER AS item_index
FROM range(12) i(inst), range(3) c(coll), range(5) p(pg), range(12) r(j)`, "")
	insertSplit(t, s, "", ratesOfTheFeesSQL)
	require.NoError(t, s.Refresh(ctx))

	var repeated int
	require.NoError(t, s.DB().QueryRowContext(ctx, `SELECT count(*) FROM (SELECT content_key FROM opendata_fee_items
  GROUP BY content_key, product_type, service_code, currency HAVING count(*) > 1 AND bool_or(flags <> '') AND bool_or(flags = ''))`).Scan(&repeated))
	require.Greater(t, repeated, 10, "contents with a fee repeated, flagged and clean")
	yes, no := true, false
	for _, f := range []FeeFilter{{}, {ExcludeFlagged: true}, {Simulated: &yes, ExcludeFlagged: true}, {Simulated: &no}, {Currency: "USD", ExcludeFlagged: true}} {
		got, err := s.Fees(ctx, f)
		require.NoError(t, err)
		require.NotEmpty(t, got)
		require.Equal(t, referenceFees(t, s, f), got, "fees %+v", f)
	}
	for _, f := range []RateFilter{{}, {ExcludeFlagged: true}, {Simulated: &no, ExcludeFlagged: true}} {
		got, err := s.Rates(ctx, f)
		require.NoError(t, err)
		require.NotEmpty(t, got)
		require.Equal(t, referenceRates(t, s, f), got, "rates %+v", f)
	}
}
