package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/warehouse"
)

// TestReportReadsAWarehouseLeftWithPendingRefresh: a writer that stopped
// without closing the warehouse leaves the comparison rows of its last
// loads to refresh; a read-only open refuses such a file, and `ofp report`
// answers from a refreshed snapshot copy instead.
func TestReportReadsAWarehouseLeftWithPendingRefresh(t *testing.T) {
	ctx := context.Background()
	dir, file := emptyWarehouse(t)

	// What a load leaves behind when its process dies before the refresh:
	// a page, its content's fee item and its key pending in refresh_pending.
	db, err := sql.Open("duckdb", file)
	require.NoError(t, err)
	for _, q := range []string{
		`INSERT INTO opendata_pages BY NAME SELECT 'c1' AS collection_id, TIMESTAMPTZ '2026-03-10 12:00:00+00' AS collected_at,
		  'org-a' AS organisation_id, '11111111000111' AS institution_cnpj, 'Banco Alfa' AS institution_name, 'Alfa' AS brand,
		  true AS simulated, 'personal-accounts' AS product, 'personal' AS segment, 'k1' AS content_key,
		  'ofp.opendata.raw' AS src_topic, 0 AS src_partition, 1 AS src_offset, 0 AS item_index`,
		`INSERT INTO refresh_pending VALUES ('opendata_fees', 'org-a', '11111111000111', 'Alfa', 'personal-accounts', 'c1', false)`,
	} {
		_, err := db.ExecContext(ctx, q)
		require.NoError(t, err)
	}
	insertItems(t, db, file, "opendata_fee_items", `SELECT 'k1' AS content_key, 0 AS item_index, 'CONTA_DEPOSITO_A_VISTA' AS product_type,
		  'TED' AS service_code, 'BRL' AS currency, 1 AS band1_median, 2 AS band2_median, 3 AS band3_median, 4 AS band4_median,
		  0.25 AS band1_customers, 0.25 AS band2_customers, 0.25 AS band3_customers, 0.25 AS band4_customers, '' AS flags`)
	require.NoError(t, db.Close())

	ro, err := warehouse.OpenReadOnly(file, warehouse.DefaultOptions())
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

// insertItems stores the rows of sel (some columns of the item table
// table) in the warehouse file as a loaded item file would be: a Parquet
// file in its items directory, registered in item_files.
func insertItems(t *testing.T, db *sql.DB, file, table, sel string, args ...any) {
	t.Helper()
	ctx := context.Background()
	conn, err := db.Conn(ctx) // one connection: a temporary table
	require.NoError(t, err)
	defer conn.Close()
	name := fmt.Sprintf("test-%d.parquet", time.Now().UnixNano())
	path := filepath.Join(warehouse.ItemsDir(file), table, name)
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{"SET file_search_path = '" + warehouse.ItemsDir(file) + "'", nil},
		{"CREATE OR REPLACE TEMP TABLE items_in AS SELECT * FROM " + table + " WHERE false", nil}, // the contract's types
		{"INSERT INTO items_in BY NAME " + sel, args},
		{"COPY items_in TO '" + path + "' (FORMAT parquet)", nil},
		{"INSERT INTO item_files SELECT $1, $2, count(*), 0, now() FROM items_in", []any{table, name}},
	} {
		_, err := conn.ExecContext(ctx, q.sql, q.args...)
		require.NoError(t, err, q.sql)
	}
}

// emptyWarehouse creates a warehouse file of the current schema in a new
// data dir, and closes it.
func emptyWarehouse(t *testing.T) (dir, file string) {
	t.Helper()
	dir = t.TempDir()
	file = filepath.Join(dir, "warehouse.duckdb")
	wh, err := warehouse.Open(file, warehouse.DefaultOptions())
	require.NoError(t, err)
	require.NoError(t, wh.Close())
	return dir, file
}

// historyWarehouse is a warehouse of three institutions' personal-accounts
// TED fee in two collections (10 and 11 March 2026); Banco 0 changed its
// first band's median (1 -> 1.5) in the second, the others published the
// same page content twice.
func historyWarehouse(t *testing.T) (dir, file string) {
	t.Helper()
	ctx := context.Background()
	dir, file = emptyWarehouse(t)
	db, err := sql.Open("duckdb", file)
	require.NoError(t, err)
	defer db.Close()
	exec := func(q string, args ...any) {
		t.Helper()
		_, err := db.ExecContext(ctx, q, args...)
		require.NoError(t, err, q)
	}
	offset := 0
	for i := range 3 {
		org, cnpj, name := fmt.Sprintf("org-%d", i), fmt.Sprintf("1111111100011%d", i), fmt.Sprintf("Banco %d", i)
		for c, day := range []string{"2026-03-10", "2026-03-11"} {
			coll, key := fmt.Sprintf("c%d", c+1), fmt.Sprintf("k-%d", i)
			band1 := "1"
			if i == 0 {
				key += "-" + coll
				if c == 1 {
					band1 = "1.5"
				}
			}
			offset++
			exec(`INSERT INTO opendata_pages BY NAME SELECT $1 AS collection_id, CAST($2 || ' 12:00:00+00' AS TIMESTAMPTZ) AS collected_at,
			  $3 AS organisation_id, $4 AS institution_cnpj, $5 AS institution_name, $5 AS brand, true AS simulated,
			  'personal-accounts' AS product, 'personal' AS segment, $6 AS content_key, 200 AS status_code,
			  'https://' || $3 || '.example/open-banking/opendata-accounts/v1/personal-accounts' AS url, 1 AS page,
			  'ofp.opendata.raw' AS src_topic, 0 AS src_partition, $7 AS src_offset, 0 AS item_index`,
				coll, day, org, cnpj, name, key, offset)
			if i != 0 && c == 1 {
				continue // the same content: its items are stored once
			}
			insertItems(t, db, file, "opendata_fee_items", `SELECT $1 AS content_key, 0 AS item_index, 'CONTA_DEPOSITO_A_VISTA' AS product_type,
			  'TED' AS service_code, 'BRL' AS currency, CAST($2 AS DECIMAL(18,6)) AS band1_median, 2 AS band2_median, 3 AS band3_median,
			  4 AS band4_median, 0.25 AS band1_customers, 0.25 AS band2_customers, 0.25 AS band3_customers, 0.25 AS band4_customers, '' AS flags`,
				key, band1)
			exec(`INSERT INTO refresh_pending VALUES ('opendata_fees', $1, $2, $3, 'personal-accounts', $4, false)`, org, cnpj, name, coll)
		}
	}
	return dir, file
}

func reportJSON[T any](t *testing.T, args ...string) []T {
	t.Helper()
	var out bytes.Buffer
	require.NoError(t, runReport(context.Background(), args, &out, io.Discard))
	var rows []T
	require.NoError(t, json.Unmarshal(out.Bytes(), &rows), out.String())
	return rows
}

func TestReportHistorySaysWhenAndHowAFeeChanged(t *testing.T) {
	dir, _ := historyWarehouse(t)
	points := reportJSON[warehouse.FeeHistoryPoint](t, "fees", "--history", "--data-dir", dir, "--format", "json")
	require.Len(t, points, 6, "three institutions, two collections each")
	var changed []warehouse.FeeHistoryPoint
	for _, p := range points {
		if p.Changed {
			changed = append(changed, p)
		}
	}
	require.Len(t, changed, 1)
	c := changed[0]
	require.Equal(t, "Banco 0", c.InstitutionName)
	require.Equal(t, "c2", c.CollectionID)
	require.Equal(t, "1.500000", *c.BandMedians[0])
	require.Equal(t, "1.000000", *c.Previous.BandMedians[0])
	require.Equal(t, []string{"weighted_estimate", "band1_median"}, c.ChangedFields)

	only := reportJSON[warehouse.FeeHistoryPoint](t, "fees", "--history", "--changes-only", "--data-dir", dir, "--format", "json")
	require.Equal(t, []warehouse.FeeHistoryPoint{c}, only)

	var out bytes.Buffer
	require.NoError(t, runReport(context.Background(), []string{"fees", "--history", "--institution", "Banco 0", "--data-dir", dir}, &out, io.Discard))
	table := out.String()
	require.Contains(t, table, "Banco 0 (CNPJ 11111111000110) — personal-accounts / personal / CONTA_DEPOSITO_A_VISTA / TED (BRL)")
	require.Contains(t, table, "2026-03-10 12:00")
	require.Contains(t, table, "first")
	require.Contains(t, table, "weighted_estimate,band1_median")
	require.Contains(t, table, "2 collection(s), 1 with a change. SIMULATED")
	require.NotContains(t, table, "Banco 1")

	out.Reset()
	require.NoError(t, runReport(context.Background(), []string{"fees", "--history", "--institution", "Banco 0", "--data-dir", dir, "--format", "chart"}, &out, io.Discard))
	require.Contains(t, out.String(), "2026-03-11 12:00 Δ |")
	require.Contains(t, out.String(), "[SIMULATED]")

	for _, bad := range [][]string{{"fees", "--changes-only"}, {"fees", "--history", "--exclude-flagged"}} {
		err := runReport(context.Background(), append(bad, "--data-dir", dir), io.Discard, io.Discard)
		var ee exitError
		require.ErrorAs(t, err, &ee, "%v", bad)
		require.Equal(t, 2, ee.code)
	}
}

// TestReportReadsEveryPageOfAServer: the analytics API cuts its answers at
// a limit and links the next page; a report through a server follows the
// links to the last page.
func TestReportReadsEveryPageOfAServer(t *testing.T) {
	dir, file := historyWarehouse(t)
	local := reportJSON[warehouse.FeeComparison](t, "fees", "--data-dir", dir, "--format", "json")
	require.Len(t, local, 3)
	localHistory := reportJSON[warehouse.FeeHistoryPoint](t, "fees", "--history", "--data-dir", dir, "--format", "json")

	srv := pagingServer(t, file)

	require.Equal(t, local, reportJSON[warehouse.FeeComparison](t, "fees", "--server", srv.URL, "--data-dir", dir, "--format", "json"))
	require.Equal(t, localHistory, reportJSON[warehouse.FeeHistoryPoint](t, "fees", "--history", "--server", srv.URL, "--data-dir", dir, "--format", "json"))
	only := reportJSON[warehouse.FeeHistoryPoint](t, "fees", "--history", "--changes-only", "--server", srv.URL, "--data-dir", dir, "--format", "json")
	require.Len(t, only, 1)
}

// pagingServer serves the analytics API over a snapshot of file, and has
// the reports ask it for one row at a time until the test ends.
func pagingServer(t *testing.T, file string) *httptest.Server {
	t.Helper()
	s, err := warehouse.OpenSnapshot(file, warehouse.DefaultOptions())
	require.NoError(t, err)
	srv := httptest.NewServer(warehouse.NewAPI(s, nil))
	n := reportPageSize
	reportPageSize = 1
	t.Cleanup(func() { reportPageSize = n; srv.Close(); s.Close() })
	return srv
}

func TestNextPageFollowsTheLinkHeader(t *testing.T) {
	base, _ := url.Parse("http://127.0.0.1:8080")
	u, err := nextPage(base, `</analytics/v1/fees?limit=1&offset=1>; rel="next"`)
	require.NoError(t, err)
	require.Equal(t, "http://127.0.0.1:8080/analytics/v1/fees?limit=1&offset=1", u.String())
	u, err = nextPage(base, `<https://other/x>; rel="prev", </y?offset=2>; title="n"; rel=next`)
	require.NoError(t, err)
	require.Equal(t, "http://127.0.0.1:8080/y?offset=2", u.String(), "the next one, whatever the order")
	u, err = nextPage(base, `</z>; rel="prev"`)
	require.NoError(t, err)
	require.Nil(t, u, "no next page")
	u, err = nextPage(base, "")
	require.NoError(t, err)
	require.Nil(t, u)
	_, err = nextPage(base, `/y?offset=2; rel="next"`)
	require.Error(t, err)
}

// TestReportQualityCollectionsAndQuarantine: the operators' reports read
// the same warehouse as the analytics API, locally or through a server.
func TestReportQualityCollectionsAndQuarantine(t *testing.T) {
	ctx := context.Background()
	dir, file := historyWarehouse(t)
	db, err := sql.Open("duckdb", file)
	require.NoError(t, err)
	for i := range 3 { // Banco 1's content (in both collections) had three rates it could not read
		insertItems(t, db, file, "opendata_quarantine_items", `SELECT 'k-1' AS content_key, $1 AS item_index,
		  0 AS record_index, 'rate' AS kind, 'missing referentialRateIndexer' AS reason, '{"rate":"0.1"}' AS raw`, 10+i)
	}
	for i := range 3 {
		for c, day := range []string{"2026-03-10", "2026-03-11"} {
			_, err := db.ExecContext(ctx, `INSERT INTO opendata_collections BY NAME SELECT $1 AS collection_id, $2 AS organisation_id,
			  $3 AS organisation_name, $4 AS institution_cnpj, $3 AS brand, true AS simulated,
			  CAST($5 || ' 12:00:00+00' AS TIMESTAMPTZ) AS started_at, CAST($5 || ' 12:00:02+00' AS TIMESTAMPTZ) AS finished_at,
			  'ok' AS status, 12 AS endpoints, 12 AS pages, 0 AS failed_pages, 0 AS retries, '' AS errors,
			  'ofp.opendata.status' AS src_topic, 0 AS src_partition, $6 AS src_offset, 0 AS item_index`,
				fmt.Sprintf("c%d", c+1), fmt.Sprintf("org-%d", i), fmt.Sprintf("Banco %d", i), fmt.Sprintf("1111111100011%d", i), day, 10*i+c)
			require.NoError(t, err)
		}
	}
	require.NoError(t, db.Close())

	items := reportJSON[warehouse.QuarantinedItem](t, "quarantine", "--data-dir", dir, "--format", "json", "--limit", "0")
	require.Len(t, items, 6, "three items of a content in two collections' pages")
	require.Equal(t, "c2", items[0].CollectionID, "newest first")
	require.Equal(t, `{"rate":"0.1"}`, items[0].Raw)
	var out bytes.Buffer
	require.NoError(t, runReport(ctx, []string{"quarantine", "--data-dir", dir, "--limit", "4"}, &out, io.Discard))
	require.Equal(t, 4, strings.Count(out.String(), "missing referentialRateIndexer"))
	require.Contains(t, out.String(), "The 4 newest items; --limit 0 shows them all.")

	quality := reportJSON[warehouse.QualityRow](t, "quality", "--data-dir", dir, "--institution", "Banco 1", "--format", "json")
	var quarantined, pages int64
	for _, r := range quality {
		require.Equal(t, "c2", r.CollectionID, "the latest collection only")
		switch r.Category {
		case warehouse.QualityQuarantine:
			quarantined += r.Count
		case warehouse.QualityPages:
			pages += r.Count
		}
	}
	require.Equal(t, int64(3), quarantined)
	require.Equal(t, int64(1), pages)
	require.Len(t, reportJSON[warehouse.CollectionRun](t, "collections", "--data-dir", dir, "--format", "json"), 3)
	runs := reportJSON[warehouse.CollectionRun](t, "collections", "--all", "--data-dir", dir, "--format", "json")
	require.Len(t, runs, 6)
	require.Equal(t, 2*time.Second, runs[0].FinishedAt.Sub(runs[0].StartedAt))

	// Through a server: every page, or the newest --limit.
	srv := pagingServer(t, file)
	require.Equal(t, items, reportJSON[warehouse.QuarantinedItem](t, "quarantine", "--server", srv.URL, "--data-dir", dir, "--format", "json", "--limit", "0"))
	require.Equal(t, items[:4], reportJSON[warehouse.QuarantinedItem](t, "quarantine", "--server", srv.URL, "--data-dir", dir, "--format", "json", "--limit", "4"))
	require.Equal(t, runs, reportJSON[warehouse.CollectionRun](t, "collections", "--all", "--server", srv.URL, "--data-dir", dir, "--format", "json"))

	for _, bad := range [][]string{{"quarantine", "--kind", "bank"}, {"quarantine", "--limit", "-1"}, {"quality", "--format", "chart"}} {
		err := runReport(ctx, append(bad, "--data-dir", dir), io.Discard, io.Discard)
		var ee exitError
		require.ErrorAs(t, err, &ee, "%v", bad)
		require.Equal(t, 2, ee.code, "%v", bad)
	}
}
