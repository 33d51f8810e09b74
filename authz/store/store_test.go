package store_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/ofp-dev/ofp/authz/store"
	"github.com/ofp-dev/ofp/authz/store/storetest"
	"github.com/ofp-dev/ofp/internal/sqltest"
)

func TestSQLiteContract(t *testing.T) {
	t.Parallel()
	storetest.Run(t, database("sqlite"))
}

func TestPostgresContract(t *testing.T) {
	t.Parallel()
	storetest.Run(t, database("postgres"))
}

// database gives each subtest a fresh SQLite file or a fresh schema on the
// real PostgreSQL (an unreachable server fails the test); each open is
// another pool on it.
func database(engine string) func(t *testing.T) storetest.Open {
	return func(t *testing.T) storetest.Open {
		return sqltest.NewBackend(t, engine, "authz_store_test", quiet(store.OpenSQLite), quiet(store.OpenPostgres)).Open
	}
}

// quiet keeps migration logs out of the test output.
func quiet(open sqltest.OpenFunc[*store.Store, store.Options]) sqltest.OpenFunc[*store.Store, store.Options] {
	return func(ctx context.Context, location string, opts store.Options) (*store.Store, error) {
		if opts.Logger == nil {
			opts.Logger = slog.New(slog.DiscardHandler)
		}
		return open(ctx, location, opts)
	}
}
