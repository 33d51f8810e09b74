package dcrsql_test

import (
	"context"
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
