package dcrsql_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/authz/dcr"
	"github.com/ofp-dev/ofp/authz/dcr/dcrsql"
	"github.com/ofp-dev/ofp/authz/dcr/dcrtest"
)

const defaultPostgresDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

func TestSQLiteContract(t *testing.T) {
	dcrtest.RunStoreContract(t, func(t *testing.T) dcr.Store {
		s, err := dcrsql.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "dcr.db"))
		require.NoError(t, err)
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestPostgresContract(t *testing.T) {
	dcrtest.RunStoreContract(t, func(t *testing.T) dcr.Store {
		s, err := dcrsql.OpenPostgres(context.Background(), postgresSchema(t))
		require.NoError(t, err)
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// postgresSchema creates a unique schema on the real PostgreSQL, drops it at
// the end, and returns a DSN using it. An unreachable server fails the test.
func postgresSchema(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv("OFP_TEST_POSTGRES_DSN")
	if dsn == "" {
		dsn = defaultPostgresDSN
	}
	admin, err := sql.Open("pgx", dsn)
	require.NoError(t, err)
	t.Cleanup(func() { admin.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		t.Fatalf("PostgreSQL is not reachable at %s (%v): start it or set OFP_TEST_POSTGRES_DSN", dsn, err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "dcr_test_" + hex.EncodeToString(b)
	_, err = admin.ExecContext(ctx, "CREATE SCHEMA "+schema)
	require.NoError(t, err)
	t.Cleanup(func() {
		_, err := admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		require.NoError(t, err)
	})
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
