package warehouse

import (
	"context"
	"database/sql"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// row is one dataset row by column name; missing columns are NULL.
type row map[string]any

// contractDDL is the DDL of a table named name with the columns cols.
func contractDDL(name string, cols []Column) string {
	defs := make([]string, len(cols))
	for i, c := range cols {
		defs[i] = c.Name + " " + c.Type
	}
	return "CREATE TABLE " + name + " (" + strings.Join(defs, ", ") + ")"
}

// writeParquet writes rows of dataset (a table, or a view: a file of the
// layout before schema version 4) to a Parquet file with the contract's
// exact column types, using an in-memory DuckDB.
func writeParquet(t testing.TB, dataset string, rows []row) string {
	t.Helper()
	cols, ok := DatasetColumns(dataset)
	require.True(t, ok, dataset)
	return writeParquetCols(t, dataset, cols, rows)
}

// writeParquetCols writes rows with the columns cols to a Parquet file.
func writeParquetCols(t testing.TB, name string, cols []Column, rows []row) string {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	require.NoError(t, err)
	defer db.Close()
	conn, err := db.Conn(context.Background())
	require.NoError(t, err)
	defer conn.Close()
	ctx := context.Background()
	_, err = conn.ExecContext(ctx, contractDDL("t", cols))
	require.NoError(t, err)
	insertRows(t, conn, "t", cols, rows)
	path := filepath.Join(t.TempDir(), name+".parquet")
	_, err = conn.ExecContext(ctx, "COPY t TO '"+path+"' (FORMAT parquet)")
	require.NoError(t, err)
	return path
}

func insertRows(t testing.TB, conn *sql.Conn, table string, cols []Column, rows []row) {
	t.Helper()
	names := make([]string, len(cols))
	marks := make([]string, len(cols))
	for i, c := range cols {
		names[i], marks[i] = c.Name, "?"
	}
	ins := "INSERT INTO " + table + " (" + strings.Join(names, ",") + ") VALUES (" + strings.Join(marks, ",") + ")"
	for _, r := range rows {
		args := make([]any, len(cols))
		for i, c := range cols {
			args[i] = r[c.Name]
		}
		_, err := conn.ExecContext(context.Background(), ins, args...)
		require.NoError(t, err)
	}
}

// splitSQL returns the statements that store the rows of relation old,
// shaped like the view (the opendata_fees or opendata_rates table before
// schema version 4), as pages and items: one page per source position
// (src_topic, src_partition, src_offset) with the columns of its first
// row, item_index pageItem (0 for fees, 1 for rates, so that a position
// may have both) and a content_key hashed from the view name and the
// position's items; the items get their row's institution columns as
// record_* columns. Positions with the same items share their content.
// The rows of a position must agree on the page columns.
//
// The items are inserted into the table v.items (of an in-memory
// database; a Store's item tables are views: insertSplit), skipping those
// already in itemsRel.
func splitSQL(view, old string, pageItem int, itemsRel string) []string {
	v := views[view]
	var itemCols, itemNames []string
	for _, c := range datasets[v.items] {
		switch {
		case c.Name == "content_key":
			continue
		case strings.HasPrefix(c.Name, "record_"):
			itemCols = append(itemCols, strings.TrimPrefix(c.Name, "record_")+" AS "+c.Name)
		default:
			itemCols = append(itemCols, c.Name)
		}
		itemNames = append(itemNames, c.Name)
	}
	var pageCols []string
	for _, c := range commonLeading {
		pageCols = append(pageCols, "o."+c.Name)
	}
	return []string{
		`CREATE OR REPLACE TEMP TABLE split_items AS SELECT src_topic, src_partition, src_offset, ` + strings.Join(itemCols, ", ") + ` FROM ` + old,
		`CREATE OR REPLACE TEMP TABLE split_keys AS SELECT src_topic, src_partition, src_offset,
  md5('` + view + `' || string_agg(hash(struct_pack(` + strings.Join(itemNames, ", ") + `))::VARCHAR, '|' ORDER BY item_index)) AS content_key
FROM split_items GROUP BY ALL`,
		`INSERT INTO ` + DatasetPages + ` BY NAME SELECT DISTINCT ON (o.src_topic, o.src_partition, o.src_offset) ` + strings.Join(pageCols, ", ") + `,
  k.content_key, o.src_topic, o.src_partition, o.src_offset, ` + strconv.Itoa(pageItem) + ` AS item_index
FROM ` + old + ` o JOIN split_keys k USING (src_topic, src_partition, src_offset)`,
		`INSERT INTO ` + v.items + ` BY NAME SELECT DISTINCT ON (k.content_key, s.item_index) k.content_key, s.* EXCLUDE (src_topic, src_partition, src_offset)
FROM split_items s JOIN split_keys k USING (src_topic, src_partition, src_offset)
WHERE NOT EXISTS (SELECT 1 FROM ` + itemsRel + ` i WHERE i.content_key = k.content_key AND i.item_index = s.item_index)`,
		`DROP TABLE split_items`, `DROP TABLE split_keys`,
	}
}

// insertSplit inserts the rows of the SELECTs fees and rates (shaped like
// the views; "" for none) into the pages and items of s (see splitSQL),
// the items as an item file registered without a load.
func insertSplit(t testing.TB, s *Store, fees, rates string) {
	t.Helper()
	ctx := context.Background()
	conn, err := s.DB().Conn(ctx) // one connection: temporary tables
	require.NoError(t, err)
	defer conn.Close()
	for i, v := range []struct{ view, sel string }{{DatasetFees, fees}, {DatasetRates, rates}} {
		if v.sel == "" {
			continue
		}
		cols, _ := DatasetColumns(v.view)
		items := views[v.view].items
		stmts := []string{strings.Replace(contractDDL("split_old", cols), "CREATE TABLE", "CREATE OR REPLACE TEMP TABLE", 1),
			"INSERT INTO split_old BY NAME " + v.sel,
			strings.Replace(createTableSQL(items), "CREATE TABLE IF NOT EXISTS "+items, "CREATE OR REPLACE TEMP TABLE split_new", 1)}
		for _, q := range splitSQL(v.view, "split_old", i, items) {
			stmts = append(stmts, strings.Replace(q, "INSERT INTO "+items+" ", "INSERT INTO split_new ", 1))
		}
		name, path := newItemFileName(ItemsDir(s.path), items)
		stmts = append(stmts, "DROP TABLE split_old", "COPY split_new TO "+quoteLiteral(path)+" (FORMAT parquet)")
		for _, q := range stmts {
			_, err := conn.ExecContext(ctx, q)
			require.NoError(t, err, q)
		}
		var n int64
		require.NoError(t, conn.QueryRowContext(ctx, "SELECT count(*) FROM split_new").Scan(&n))
		require.NoError(t, registerItemFile(ctx, conn, items, name, path, n))
		for _, q := range []string{"DROP TABLE split_new", `DELETE FROM ` + contentIndexTable + ` WHERE item_table = '` + items + `'`,
			indexContentsSQL(items, "SELECT * FROM "+items)} {
			_, err := conn.ExecContext(ctx, q)
			require.NoError(t, err, q)
		}
	}
}

// splitFiles writes fee and rate rows (shaped like the views) as the
// Parquet files a pipeline writes for one batch: pages, fee items and
// rate items (see splitSQL); datasets without rows get no file.
func splitFiles(t testing.TB, fees, rates []row) map[string]string {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	require.NoError(t, err)
	defer db.Close()
	conn, err := db.Conn(context.Background())
	require.NoError(t, err)
	defer conn.Close()
	ctx := context.Background()
	for _, name := range []string{DatasetPages, DatasetFeeItems, DatasetRateItems} {
		_, err := conn.ExecContext(ctx, createTableSQL(name))
		require.NoError(t, err)
	}
	for i, v := range []struct {
		view string
		rows []row
	}{{DatasetFees, fees}, {DatasetRates, rates}} {
		if len(v.rows) == 0 {
			continue
		}
		cols, _ := DatasetColumns(v.view)
		_, err := conn.ExecContext(ctx, contractDDL("old", cols))
		require.NoError(t, err)
		insertRows(t, conn, "old", cols, v.rows)
		for _, q := range splitSQL(v.view, "old", i, views[v.view].items) {
			_, err := conn.ExecContext(ctx, q)
			require.NoError(t, err, q)
		}
		_, err = conn.ExecContext(ctx, "DROP TABLE old")
		require.NoError(t, err)
	}
	files := map[string]string{}
	dir := t.TempDir()
	for _, name := range []string{DatasetPages, DatasetFeeItems, DatasetRateItems} {
		var n int
		require.NoError(t, conn.QueryRowContext(ctx, "SELECT count(*) FROM "+name).Scan(&n))
		if n == 0 {
			continue
		}
		path := filepath.Join(dir, name+".parquet")
		_, err = conn.ExecContext(ctx, "COPY "+name+" TO '"+path+"' (FORMAT parquet)")
		require.NoError(t, err)
		files[name] = path
	}
	return files
}

var t0 = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

type inst struct{ org, cnpj, name, brand string }

var (
	bankA = inst{"org-a", "11111111000111", "Banco Alfa", "Alfa"}
	bankB = inst{"org-b", "22222222000122", "Banco Beta", "Beta"}
	bankC = inst{"org-c", "33333333000133", "Caixa Gama", "Gama"}
)

// fee builds a fee row. vals: minimum, maximum, 4 medians, 4 customer shares.
func fee(in inst, coll string, at time.Time, code string, offset int64, vals ...string) row {
	r := row{
		"collection_id": coll, "collected_at": at, "organisation_id": in.org, "organisation_name": in.name + " SA",
		"institution_cnpj": in.cnpj, "institution_name": in.name, "brand": in.brand, "simulated": true,
		"family": "products-services", "api_version": "1.0.1", "product": "personal-accounts", "segment": "personal",
		"product_type": "CONTA_DEPOSITO_A_VISTA", "fee_group": "priority", "service_code": code,
		"service_name": "SERVICE " + code, "charging_trigger": "per event", "currency": "BRL", "flags": "",
		"src_topic": "ofp.opendata.raw", "src_partition": int32(0), "src_offset": offset, "item_index": int32(0),
	}
	names := []string{"minimum", "maximum", "band1_median", "band2_median", "band3_median", "band4_median",
		"band1_customers", "band2_customers", "band3_customers", "band4_customers"}
	for i, v := range vals {
		if v != "" {
			r[names[i]] = v
		}
	}
	return r
}

func with(r row, kv ...any) row {
	out := row{}
	for k, v := range r {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

func rate(in inst, coll string, at time.Time, indexer string, offset int64, vals ...string) row {
	r := row{
		"collection_id": coll, "collected_at": at, "organisation_id": in.org, "organisation_name": in.name + " SA",
		"institution_cnpj": in.cnpj, "institution_name": in.name, "brand": in.brand, "simulated": false,
		"family": "opendata-loans", "api_version": "1.0.0", "product": "personal-loans", "segment": "personal",
		"product_type": "EMPRESTIMO_CREDITO_PESSOAL_CONSIGNADO", "indexer": indexer, "flags": "",
		"src_topic": "ofp.opendata.raw", "src_partition": int32(1), "src_offset": offset, "item_index": int32(0),
	}
	names := []string{"rate", "minimum_rate", "maximum_rate", "band1_rate", "band2_rate", "band3_rate", "band4_rate",
		"band1_customers", "band2_customers", "band3_customers", "band4_customers"}
	for i, v := range vals {
		if v != "" {
			r[names[i]] = v
		}
	}
	return r
}

func openTemp(t testing.TB) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "wh.duckdb")
	s, err := Open(path, DefaultOptions())
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s, path
}

// load loads rows of dataset for one source range. Fee and rate rows
// (shaped like the views) are loaded as pages and items (splitFiles); it
// returns the rows inserted into dataset (for fees and rates: the new
// items).
func load(t testing.TB, s *Store, dataset string, rows []row, topic string, partition int32, first, last int64) int64 {
	t.Helper()
	rg := SourceRange{Topic: topic, Partition: partition, First: first, Last: last}
	var files map[string]string
	switch dataset {
	case DatasetFees:
		files = splitFiles(t, rows, nil)
	case DatasetRates:
		files = splitFiles(t, nil, rows)
	default:
		files = map[string]string{dataset: writeParquet(t, dataset, rows)}
	}
	n, err := s.LoadBatch(context.Background(), rg, files)
	require.NoError(t, err)
	if v, ok := views[dataset]; ok {
		return n[v.items]
	}
	return n[dataset]
}

func p(s string) *string { return &s }

// feeStrings runs the fee comparison with f and returns one string per row.
func feeStrings(t testing.TB, s *Store, f FeeFilter, str func(FeeComparison) string) []string {
	t.Helper()
	rows, err := s.Fees(context.Background(), f)
	require.NoError(t, err)
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = str(r)
	}
	return out
}
