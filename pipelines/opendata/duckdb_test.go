package opendata

import (
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2"
	"github.com/stretchr/testify/require"
)

// TestDuckDBReadsParquet checks that DuckDB reads the Parquet files with the
// contract's types and exact decimal values.
func TestDuckDBReadsParquet(t *testing.T) {
	tr, _ := newTestTransformer(t)
	body := feePage(t, func(f map[string]any) {
		price(f, 0)["value"] = "-12.345678"
		price(f, 1)["value"] = "999999999999.999999"
		f["minimum"] = map[string]any{"value": "NA", "currency": "BRL"}
	})
	tr.Add("ofp.opendata.raw", 2, 11, pageValue(t, page("opendata-accounts", "1.0.1", "personal-accounts", body)))
	recs := tr.Flush()
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	rec := recs[DatasetFeeItems]
	path := filepath.Join(t.TempDir(), "fees.parquet")
	f, err := os.Create(path)
	require.NoError(t, err)
	require.NoError(t, WriteParquet(f, rec)) // closes f
	pagesPath := filepath.Join(t.TempDir(), "pages.parquet")
	f, err = os.Create(pagesPath)
	require.NoError(t, err)
	require.NoError(t, WriteParquet(f, recs[DatasetPages]))

	db, err := sql.Open("duckdb", "")
	require.NoError(t, err)
	defer db.Close()
	var typ, ts string
	require.NoError(t, db.QueryRow(`SELECT typeof(i.band1_median), typeof(p.collected_at)
		FROM read_parquet(?) i JOIN read_parquet(?) p USING (content_key) LIMIT 1`, path, pagesPath).Scan(&typ, &ts))
	require.Equal(t, "DECIMAL(18,6)", typ)
	require.Equal(t, "TIMESTAMP WITH TIME ZONE", ts)
	rows, err := db.Query(`SELECT band1_median::VARCHAR, band2_median::VARCHAR, minimum::VARCHAR, service_code, item_index
		FROM read_parquet(?) ORDER BY item_index`, path)
	require.NoError(t, err)
	defer rows.Close()
	want := recordRows(t, rec)
	i := 0
	for rows.Next() {
		var b1, b2, minimum sql.NullString
		var code string
		var idx int32
		require.NoError(t, rows.Scan(&b1, &b2, &minimum, &code, &idx))
		w := want[i]
		require.Equal(t, w["band1_median"], b1.String)
		require.Equal(t, w["band2_median"], b2.String)
		require.Equal(t, w["minimum"] == nil, !minimum.Valid)
		require.Equal(t, w["service_code"], code)
		require.Equal(t, w["item_index"], idx)
		i++
	}
	require.NoError(t, rows.Err())
	require.Equal(t, len(want), i)
	other := only(t, want, func(r map[string]any) bool { return r["fee_group"] == "otherServices" })
	require.Equal(t, "-12.345678", other["band1_median"])
	require.Equal(t, "999999999999.999999", other["band2_median"])
}
