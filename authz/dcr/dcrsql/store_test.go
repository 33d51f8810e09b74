package dcrsql_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/authz/dcr"
	"github.com/ofp-dev/ofp/authz/dcr/dcrsql"
	"github.com/ofp-dev/ofp/authz/dcr/dcrtest"
	"github.com/ofp-dev/ofp/internal/sqltest"
)

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
	return sqltest.PostgresSchema(t, "dcr_test")
}

// A database made before migrations were recorded (dcr_clients without a
// brand column, no dcr_migrations) is adopted: its clients get the empty
// brand, which no brand sees, and new clients are brand-scoped.
func TestUpgradesUnversionedDatabase(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", "file:"+path)
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, `CREATE TABLE dcr_clients (
		client_id TEXT PRIMARY KEY, software_id TEXT NOT NULL, org_id TEXT NOT NULL,
		token_hash BLOB NOT NULL, statement_hash BLOB NOT NULL UNIQUE,
		issued_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, metadata TEXT NOT NULL)`)
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, `INSERT INTO dcr_clients VALUES ('old-client', 'sw', 'org', x'01', x'02', 0, 0, '{}')`)
	require.NoError(t, err)
	require.NoError(t, db.Close())

	s, err := dcrsql.OpenSQLite(ctx, path)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	_, err = s.Get(ctx, "brand-a", "old-client")
	require.ErrorIs(t, err, dcr.ErrNotFound)
	old, err := s.Get(ctx, "", "old-client")
	require.NoError(t, err)
	require.Equal(t, "sw", old.SoftwareID)

	// Opening again applies nothing and keeps the data.
	require.NoError(t, s.Close())
	s, err = dcrsql.OpenSQLite(ctx, path)
	require.NoError(t, err)
	_, err = s.Get(ctx, "", "old-client")
	require.NoError(t, err)
}
