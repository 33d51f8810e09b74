package warehouse

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// genFeesSQL makes ~1M fee rows (shaped like the opendata_fees view):
// 200 institutions × 5 collections × 1000 fee keys (2 segments × 5 product
// types × 100 service codes), 100 per page (the segment is a page column);
// insertSplit stores them as pages and items.
const genFeesSQL = `SELECT 'c' || inst || '-' || coll AS collection_id,
  TIMESTAMPTZ '2026-01-01 00:00:00+00' + INTERVAL 1 DAY * coll AS collected_at,
  'org-' || inst AS organisation_id, 'Org ' || inst AS organisation_name,
  lpad(inst::VARCHAR, 14, '0') AS institution_cnpj, 'Bank ' || inst AS institution_name, 'Brand ' || inst AS brand,
  true AS simulated, 'products-services' AS family, '1.0.1' AS api_version, 'personal-accounts' AS product,
  CASE WHEN k < 500 THEN 'personal' ELSE 'business' END AS segment,
  'TYPE_' || (k % 5) AS product_type, 'priority' AS fee_group, 'S' || lpad(((k % 500) // 5)::VARCHAR, 4, '0') AS service_code,
  'SERVICE' AS service_name, 'event' AS charging_trigger, 'BRL' AS currency,
  0::DECIMAL(18,6) AS minimum, 100::DECIMAL(18,6) AS maximum,
  ((inst * 7 + k + coll) % 5000 / 100)::DECIMAL(18,6) AS band1_median, ((inst * 11 + k) % 5000 / 100 + 1)::DECIMAL(18,6) AS band2_median,
  ((inst * 13 + k) % 5000 / 100 + 2)::DECIMAL(18,6) AS band3_median, ((inst * 17 + k) % 5000 / 100 + 3)::DECIMAL(18,6) AS band4_median,
  0.4::DECIMAL(18,6) AS band1_customers, 0.3::DECIMAL(18,6) AS band2_customers, 0.2::DECIMAL(18,6) AS band3_customers, 0.1::DECIMAL(18,6) AS band4_customers,
  '' AS flags, 'ofp.opendata.raw' AS src_topic, (inst % 4)::INTEGER AS src_partition,
  (inst * 10000 + coll * 1000 + k // 100)::BIGINT AS src_offset, (k % 100)::INTEGER AS item_index
FROM range(200) i(inst), range(5) c(coll), range(1000) r(k)`

// BenchmarkFeeComparison runs the same fee comparison SQL on the warehouse
// table and, as the baseline, directly on a Parquet copy of the same rows.
func BenchmarkFeeComparison(b *testing.B) {
	s, _ := openTemp(b)
	ctx := context.Background()
	insertSplit(b, s, genFeesSQL, "")
	require.NoError(b, s.Refresh(ctx)) // rows inserted directly, not through Load
	source := "(" + FeesViewSQL(parquetCopy(b, s, DatasetPages), parquetCopy(b, s, DatasetFeeItems)) + ")"
	filter := FeeFilter{ServiceCode: "S0042"}

	b.Run("warehouse", func(b *testing.B) {
		for b.Loop() {
			rows, err := s.Fees(ctx, filter)
			require.NoError(b, err)
			require.Len(b, rows, 2000) // 200 institutions × 10 keys of S0042
		}
	})
	b.Run("parquet", func(b *testing.B) {
		q := FeeComparisonSQL(source)
		for b.Loop() {
			rows, err := s.DB().QueryContext(ctx, q, filter.Args()...)
			require.NoError(b, err)
			n := 0
			for rows.Next() {
				n++
			}
			require.NoError(b, rows.Err())
			require.NoError(b, rows.Close())
			require.Equal(b, 2000, n)
		}
	})
	b.Run("warehouse-all-groups", func(b *testing.B) {
		for b.Loop() {
			rows, err := s.Fees(ctx, FeeFilter{})
			require.NoError(b, err)
			require.Len(b, rows, 200000)
		}
	})
}

// genRatesSQL makes ~1M rate rows: 200 institutions × 5 collections × 1000
// rate keys (2 segments × 5 product types × 100 indexers), 100 per page.
const genRatesSQL = `SELECT 'c' || inst || '-' || coll AS collection_id,
  TIMESTAMPTZ '2026-01-01 00:00:00+00' + INTERVAL 1 DAY * coll AS collected_at,
  'org-' || inst AS organisation_id, 'Org ' || inst AS organisation_name,
  lpad(inst::VARCHAR, 14, '0') AS institution_cnpj, 'Bank ' || inst AS institution_name, 'Brand ' || inst AS brand,
  true AS simulated, 'opendata-loans' AS family, '1.0.0' AS api_version, 'personal-loans' AS product,
  CASE WHEN k < 500 THEN 'personal' ELSE 'business' END AS segment,
  'TYPE_' || (k % 5) AS product_type, 'I' || lpad(((k % 500) // 5)::VARCHAR, 4, '0') AS indexer,
  ((inst * 5 + k) % 900 / 1000)::DECIMAL(18,6) AS rate,
  ((inst * 7 + k + coll) % 900 / 1000)::DECIMAL(18,6) AS band1_rate, ((inst * 11 + k) % 900 / 1000 + 0.01)::DECIMAL(18,6) AS band2_rate,
  ((inst * 13 + k) % 900 / 1000 + 0.02)::DECIMAL(18,6) AS band3_rate, ((inst * 17 + k) % 900 / 1000 + 0.03)::DECIMAL(18,6) AS band4_rate,
  0.4::DECIMAL(18,6) AS band1_customers, 0.3::DECIMAL(18,6) AS band2_customers, 0.2::DECIMAL(18,6) AS band3_customers, 0.1::DECIMAL(18,6) AS band4_customers,
  0.01::DECIMAL(18,6) AS minimum_rate, 0.99::DECIMAL(18,6) AS maximum_rate,
  '' AS flags, 'ofp.opendata.raw' AS src_topic, (inst % 4)::INTEGER AS src_partition,
  (inst * 10000 + coll * 1000 + k // 100)::BIGINT AS src_offset, (k % 100)::INTEGER AS item_index
FROM range(200) i(inst), range(5) c(coll), range(1000) r(k)`

// BenchmarkRateComparison is BenchmarkFeeComparison for interest rates.
func BenchmarkRateComparison(b *testing.B) {
	s, _ := openTemp(b)
	ctx := context.Background()
	insertSplit(b, s, "", genRatesSQL)
	require.NoError(b, s.Refresh(ctx)) // rows inserted directly, not through Load
	source := "(" + RatesViewSQL(parquetCopy(b, s, DatasetPages), parquetCopy(b, s, DatasetRateItems)) + ")"
	filter := RateFilter{Indexer: "I0042"}

	b.Run("warehouse", func(b *testing.B) {
		for b.Loop() {
			rows, err := s.Rates(ctx, filter)
			require.NoError(b, err)
			require.Len(b, rows, 2000)
		}
	})
	b.Run("parquet", func(b *testing.B) {
		q := RateComparisonSQL(source)
		for b.Loop() {
			rows, err := s.DB().QueryContext(ctx, q, filter.Args()...)
			require.NoError(b, err)
			n := 0
			for rows.Next() {
				n++
			}
			require.NoError(b, rows.Err())
			require.NoError(b, rows.Close())
			require.Equal(b, 2000, n)
		}
	})
	b.Run("warehouse-all-groups", func(b *testing.B) {
		for b.Loop() {
			rows, err := s.Rates(ctx, RateFilter{})
			require.NoError(b, err)
			require.Len(b, rows, 200000)
		}
	})
}

// parquetCopy copies a table of s to a Parquet file and returns the
// read_parquet expression of it.
func parquetCopy(b testing.TB, s *Store, table string) string {
	b.Helper()
	path := filepath.Join(b.TempDir(), table+".parquet")
	_, err := s.DB().ExecContext(context.Background(), "COPY "+table+" TO '"+path+"' (FORMAT parquet)")
	require.NoError(b, err)
	return "read_parquet('" + path + "')"
}

// BenchmarkLoadBatch loads, into a warehouse of ~1M fee rows, what an
// hourly collection of 20 institutions brings: 200 pages whose contents
// are known (no items), plus one page of a new content with its 100 items
// and the items of 10 known contents again (a pipeline restart). The
// comparison refresh it queues runs after each load, as the background
// refresh would.
func BenchmarkLoadBatch(b *testing.B) {
	s := openTempWith(b, onDemand())
	ctx := context.Background()
	insertSplit(b, s, genFeesSQL, "")
	require.NoError(b, s.Refresh(ctx))
	dir := b.TempDir()
	i := 0
	var loading, refreshing time.Duration
	for b.Loop() {
		b.StopTimer()
		i++
		first := int64(10_000_000 + i*1000)
		files := map[string]string{
			DatasetPages:    filepath.Join(dir, fmt.Sprintf("pages-%d.parquet", i)),
			DatasetFeeItems: filepath.Join(dir, fmt.Sprintf("items-%d.parquet", i)),
		}
		at := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Hour).Format(time.RFC3339)
		for _, q := range []string{
			// 200 known pages (the latest collection of institutions 0..19) in a new collection, and a new one.
			fmt.Sprintf(`COPY (
  SELECT * REPLACE ('h%[1]d-' || organisation_id AS collection_id, TIMESTAMPTZ '%[2]s' AS collected_at, 3 AS src_partition,
    %[3]d + row_number() OVER (ORDER BY src_offset) AS src_offset)
  FROM opendata_pages WHERE src_partition = 0 AND src_offset %% 10000 >= 4000 AND src_offset < 200000
  UNION ALL
  SELECT * REPLACE ('h%[1]d-new' AS collection_id, TIMESTAMPTZ '%[2]s' AS collected_at, 3 AS src_partition, %[3]d AS src_offset, 'new-%[1]d' AS content_key)
  FROM opendata_pages WHERE src_offset = 4000
) TO '%[4]s' (FORMAT parquet)`, i, at, first, files[DatasetPages]),
			fmt.Sprintf(`COPY (
  SELECT * REPLACE ('new-%[1]d' AS content_key) FROM opendata_fee_items WHERE content_key = (SELECT content_key FROM opendata_pages WHERE src_offset = 4000)
  UNION ALL
  SELECT * FROM opendata_fee_items WHERE content_key IN (SELECT content_key FROM opendata_pages WHERE src_offset BETWEEN 4000 AND 4009)
) TO '%[2]s' (FORMAT parquet)`, i, files[DatasetFeeItems]),
		} {
			_, err := s.DB().ExecContext(ctx, q)
			require.NoError(b, err)
		}
		b.StartTimer()
		start := time.Now()
		n, err := s.LoadBatch(ctx, SourceRange{Topic: "ofp.opendata.raw", Partition: 3, First: first, Last: first + 999}, files)
		require.NoError(b, err)
		require.Equal(b, int64(100), n[DatasetFeeItems])
		loaded := time.Now()
		require.NoError(b, s.refreshPending(ctx))
		loading, refreshing = loading+loaded.Sub(start), refreshing+time.Since(loaded)
	}
	b.ReportMetric(float64(loading.Microseconds())/float64(i)/1000, "load-ms/op")
	b.ReportMetric(float64(refreshing.Microseconds())/float64(i)/1000, "refresh-ms/op")
}
