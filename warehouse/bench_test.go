package warehouse

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// genFeesSQL makes ~1M fee rows: 200 institutions × 5 collections × 1000
// fee keys (2 segments × 5 product types × 100 service codes).
const genFeesSQL = `INSERT INTO opendata_fees BY NAME
SELECT 'c' || inst || '-' || coll AS collection_id,
  TIMESTAMPTZ '2026-01-01 00:00:00+00' + INTERVAL 1 DAY * coll AS collected_at,
  'org-' || inst AS organisation_id, 'Org ' || inst AS organisation_name,
  lpad(inst::VARCHAR, 14, '0') AS institution_cnpj, 'Bank ' || inst AS institution_name, 'Brand ' || inst AS brand,
  true AS simulated, 'products-services' AS family, '1.0.1' AS api_version, 'personal-accounts' AS product,
  CASE WHEN k % 2 = 0 THEN 'personal' ELSE 'business' END AS segment,
  'TYPE_' || ((k // 2) % 5) AS product_type, 'priority' AS fee_group, 'S' || lpad((k // 10)::VARCHAR, 4, '0') AS service_code,
  'SERVICE' AS service_name, 'event' AS charging_trigger, 'BRL' AS currency,
  0::DECIMAL(18,6) AS minimum, 100::DECIMAL(18,6) AS maximum,
  ((inst * 7 + k + coll) % 5000 / 100)::DECIMAL(18,6) AS band1_median, ((inst * 11 + k) % 5000 / 100 + 1)::DECIMAL(18,6) AS band2_median,
  ((inst * 13 + k) % 5000 / 100 + 2)::DECIMAL(18,6) AS band3_median, ((inst * 17 + k) % 5000 / 100 + 3)::DECIMAL(18,6) AS band4_median,
  0.4::DECIMAL(18,6) AS band1_customers, 0.3::DECIMAL(18,6) AS band2_customers, 0.2::DECIMAL(18,6) AS band3_customers, 0.1::DECIMAL(18,6) AS band4_customers,
  '' AS flags, 'ofp.opendata.raw' AS src_topic, (inst % 4)::INTEGER AS src_partition,
  (inst * 10000 + coll * 1000 + k)::BIGINT AS src_offset, 0::INTEGER AS item_index
FROM range(200) i(inst), range(5) c(coll), range(1000) r(k)`

// BenchmarkFeeComparison runs the same fee comparison SQL on the warehouse
// table and, as the baseline, directly on a Parquet copy of the same rows.
func BenchmarkFeeComparison(b *testing.B) {
	s, _ := openTemp(b)
	ctx := context.Background()
	_, err := s.DB().ExecContext(ctx, genFeesSQL)
	require.NoError(b, err)
	require.NoError(b, s.Refresh(ctx)) // rows inserted directly, not through Load
	pq := filepath.Join(b.TempDir(), "fees.parquet")
	_, err = s.DB().ExecContext(ctx, "COPY opendata_fees TO '"+pq+"' (FORMAT parquet)")
	require.NoError(b, err)
	filter := FeeFilter{ServiceCode: "S0042"}

	b.Run("warehouse", func(b *testing.B) {
		for b.Loop() {
			rows, err := s.Fees(ctx, filter)
			require.NoError(b, err)
			require.Len(b, rows, 2000) // 200 institutions × 10 keys of S0042
		}
	})
	b.Run("parquet", func(b *testing.B) {
		q := FeeComparisonSQL("read_parquet('" + pq + "')")
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
// rate keys (2 segments × 5 product types × 100 indexers).
const genRatesSQL = `INSERT INTO opendata_rates BY NAME
SELECT 'c' || inst || '-' || coll AS collection_id,
  TIMESTAMPTZ '2026-01-01 00:00:00+00' + INTERVAL 1 DAY * coll AS collected_at,
  'org-' || inst AS organisation_id, 'Org ' || inst AS organisation_name,
  lpad(inst::VARCHAR, 14, '0') AS institution_cnpj, 'Bank ' || inst AS institution_name, 'Brand ' || inst AS brand,
  true AS simulated, 'opendata-loans' AS family, '1.0.0' AS api_version, 'personal-loans' AS product,
  CASE WHEN k % 2 = 0 THEN 'personal' ELSE 'business' END AS segment,
  'TYPE_' || ((k // 2) % 5) AS product_type, 'I' || lpad((k // 10)::VARCHAR, 4, '0') AS indexer,
  ((inst * 5 + k) % 900 / 1000)::DECIMAL(18,6) AS rate,
  ((inst * 7 + k + coll) % 900 / 1000)::DECIMAL(18,6) AS band1_rate, ((inst * 11 + k) % 900 / 1000 + 0.01)::DECIMAL(18,6) AS band2_rate,
  ((inst * 13 + k) % 900 / 1000 + 0.02)::DECIMAL(18,6) AS band3_rate, ((inst * 17 + k) % 900 / 1000 + 0.03)::DECIMAL(18,6) AS band4_rate,
  0.4::DECIMAL(18,6) AS band1_customers, 0.3::DECIMAL(18,6) AS band2_customers, 0.2::DECIMAL(18,6) AS band3_customers, 0.1::DECIMAL(18,6) AS band4_customers,
  0.01::DECIMAL(18,6) AS minimum_rate, 0.99::DECIMAL(18,6) AS maximum_rate,
  '' AS flags, 'ofp.opendata.raw' AS src_topic, (inst % 4)::INTEGER AS src_partition,
  (inst * 10000 + coll * 1000 + k)::BIGINT AS src_offset, 0::INTEGER AS item_index
FROM range(200) i(inst), range(5) c(coll), range(1000) r(k)`

// BenchmarkRateComparison is BenchmarkFeeComparison for interest rates.
func BenchmarkRateComparison(b *testing.B) {
	s, _ := openTemp(b)
	ctx := context.Background()
	_, err := s.DB().ExecContext(ctx, genRatesSQL)
	require.NoError(b, err)
	require.NoError(b, s.Refresh(ctx))
	pq := filepath.Join(b.TempDir(), "rates.parquet")
	_, err = s.DB().ExecContext(ctx, "COPY opendata_rates TO '"+pq+"' (FORMAT parquet)")
	require.NoError(b, err)
	filter := RateFilter{Indexer: "I0042"}

	b.Run("warehouse", func(b *testing.B) {
		for b.Loop() {
			rows, err := s.Rates(ctx, filter)
			require.NoError(b, err)
			require.Len(b, rows, 2000)
		}
	})
	b.Run("parquet", func(b *testing.B) {
		q := RateComparisonSQL("read_parquet('" + pq + "')")
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
