package warehouse

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// row is one dataset row by column name; missing columns are NULL.
type row map[string]any

// writeParquet writes rows of dataset to a Parquet file with the contract's
// exact column types, using an in-memory DuckDB.
func writeParquet(t testing.TB, dataset string, rows []row) string {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	require.NoError(t, err)
	defer db.Close()
	conn, err := db.Conn(context.Background())
	require.NoError(t, err)
	defer conn.Close()
	ctx := context.Background()
	_, err = conn.ExecContext(ctx, createTableSQL(dataset))
	require.NoError(t, err)
	cols := datasets[dataset]
	names := make([]string, len(cols))
	marks := make([]string, len(cols))
	for i, c := range cols {
		names[i], marks[i] = c.Name, "?"
	}
	ins := "INSERT INTO " + dataset + " (" + strings.Join(names, ",") + ") VALUES (" + strings.Join(marks, ",") + ")"
	for _, r := range rows {
		args := make([]any, len(cols))
		for i, c := range cols {
			args[i] = r[c.Name]
		}
		_, err := conn.ExecContext(ctx, ins, args...)
		require.NoError(t, err)
	}
	path := filepath.Join(t.TempDir(), dataset+".parquet")
	_, err = conn.ExecContext(ctx, "COPY "+dataset+" TO '"+path+"' (FORMAT parquet)")
	require.NoError(t, err)
	return path
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

func load(t testing.TB, s *Store, dataset string, rows []row, topic string, partition int32, first, last int64) int64 {
	t.Helper()
	n, err := s.Load(context.Background(), dataset, writeParquet(t, dataset, rows), SourceRange{Topic: topic, Partition: partition, First: first, Last: last})
	require.NoError(t, err)
	return n
}

func p(s string) *string { return &s }
