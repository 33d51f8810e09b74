package store_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/authz/store"
	"github.com/ofp-dev/ofp/authz/store/storetest"
	"github.com/ofp-dev/ofp/internal/sqltest"
)

func TestSQLiteContract(t *testing.T) {
	t.Parallel()
	storetest.Run(t, sqliteDatabase)
}

func TestPostgresContract(t *testing.T) {
	t.Parallel()
	storetest.Run(t, postgresDatabase)
}

// sqliteDatabase is a fresh SQLite file; each open is another pool on it.
func sqliteDatabase(t *testing.T) storetest.Open {
	path := filepath.Join(t.TempDir(), "authz.db")
	return func(t *testing.T, opts store.Options) *store.Store {
		t.Helper()
		quiet(&opts)
		s, err := store.OpenSQLite(context.Background(), path, opts)
		require.NoError(t, err)
		t.Cleanup(func() { s.Close() })
		return s
	}
}

// postgresDatabase is a fresh schema on the real PostgreSQL, dropped when
// the test ends. An unreachable server fails the test.
func postgresDatabase(t *testing.T) storetest.Open {
	dsn := sqltest.PostgresSchema(t, "authz_store_test")
	return func(t *testing.T, opts store.Options) *store.Store {
		t.Helper()
		quiet(&opts)
		s, err := store.OpenPostgres(context.Background(), dsn, opts)
		require.NoError(t, err)
		t.Cleanup(func() { s.Close() })
		return s
	}
}

func quiet(opts *store.Options) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
}
