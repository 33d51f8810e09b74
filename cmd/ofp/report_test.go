package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/warehouse"
)

// TestReportReadsAWarehouseLeftWithPendingRefresh: a writer that stopped
// without closing the warehouse leaves the comparison rows of its last
// loads to refresh; a read-only open refuses such a file, and `ofp report`
// answers from a refreshed snapshot copy instead.
func TestReportReadsAWarehouseLeftWithPendingRefresh(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	file := filepath.Join(dir, "warehouse.duckdb")
	opts := warehouse.DefaultOptions()
	opts.RefreshDelay = 0
	wh, err := warehouse.Open(file, opts)
	require.NoError(t, err)
	require.NoError(t, wh.Close())

	// What a load leaves behind when its process dies before the refresh:
	// a page, its content's fee item and its key pending in refresh_pending.
	db, err := sql.Open("duckdb", file)
	require.NoError(t, err)
	for _, q := range []string{
		`INSERT INTO opendata_pages BY NAME SELECT 'c1' AS collection_id, TIMESTAMPTZ '2026-03-10 12:00:00+00' AS collected_at,
		  'org-a' AS organisation_id, '11111111000111' AS institution_cnpj, 'Banco Alfa' AS institution_name, 'Alfa' AS brand,
		  true AS simulated, 'personal-accounts' AS product, 'personal' AS segment, 'k1' AS content_key,
		  'ofp.opendata.raw' AS src_topic, 0 AS src_partition, 1 AS src_offset, 0 AS item_index`,
		`INSERT INTO opendata_fee_items BY NAME SELECT 'k1' AS content_key, 0 AS item_index, 'CONTA_DEPOSITO_A_VISTA' AS product_type,
		  'TED' AS service_code, 'BRL' AS currency, 1 AS band1_median, 2 AS band2_median, 3 AS band3_median, 4 AS band4_median,
		  0.25 AS band1_customers, 0.25 AS band2_customers, 0.25 AS band3_customers, 0.25 AS band4_customers, '' AS flags`,
		`INSERT INTO refresh_pending VALUES ('opendata_fees', 'org-a', '11111111000111', 'Alfa', 'personal-accounts', 'c1', false)`,
	} {
		_, err := db.ExecContext(ctx, q)
		require.NoError(t, err)
	}
	require.NoError(t, db.Close())

	ro, err := warehouse.OpenReadOnly(file, opts)
	require.NoError(t, err, "a read-only handle answers from the views")
	require.NoError(t, ro.Close())

	var out bytes.Buffer
	require.NoError(t, runReport(ctx, []string{"fees", "--data-dir", dir, "--format", "json"}, &out, io.Discard))
	var rows []warehouse.FeeComparison
	require.NoError(t, json.Unmarshal(out.Bytes(), &rows))
	require.Len(t, rows, 1)
	require.Equal(t, "11111111000111", rows[0].InstitutionCNPJ)
	require.Equal(t, "c1", rows[0].CollectionID)
	require.Equal(t, "2.500000", *rows[0].WeightedEstimate)
}
