package purposes

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// backend is one empty database; open may be called several times on it.
type backend struct {
	name string
	open func(t *testing.T, opts Options) *Store
}

type newBackend func(t *testing.T) backend

func engines() map[string]newBackend {
	return map[string]newBackend{"sqlite": sqliteBackend, "postgres": postgresBackend}
}

func sqliteBackend(t *testing.T) backend {
	path := filepath.Join(t.TempDir(), "purposes.db")
	return backend{name: "sqlite", open: func(t *testing.T, opts Options) *Store {
		t.Helper()
		opts = quiet(opts)
		s, err := OpenSQLite(context.Background(), path, opts)
		require.NoError(t, err)
		t.Cleanup(func() { s.Close() })
		return s
	}}
}

const defaultPostgresDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// postgresBackend creates a unique schema on the real PostgreSQL and drops
// it when the test ends. An unreachable server fails the test: these tests
// are the PostgreSQL contract.
func postgresBackend(t *testing.T) backend {
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
		t.Fatalf("PostgreSQL is not reachable at %s (%v).\nStart it with:\n  pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start\n"+
			"or point OFP_TEST_POSTGRES_DSN at a server (database with trust auth for the user).", dsn, err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "purposes_test_" + hex.EncodeToString(b)
	_, err = admin.ExecContext(ctx, "CREATE SCHEMA "+schema)
	require.NoError(t, err)
	t.Cleanup(func() {
		_, err := admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		require.NoError(t, err)
	})
	var sdsn string
	if strings.Contains(dsn, "://") {
		u, err := url.Parse(dsn)
		require.NoError(t, err)
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		sdsn = u.String()
	} else {
		sdsn = dsn + " search_path=" + schema
	}
	return backend{name: "postgres", open: func(t *testing.T, opts Options) *Store {
		t.Helper()
		opts = quiet(opts)
		s, err := OpenPostgres(context.Background(), sdsn, opts)
		require.NoError(t, err)
		t.Cleanup(func() { s.Close() })
		return s
	}}
}

// quiet keeps migration logs out of the test output.
func quiet(opts Options) Options {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return opts
}

// testClock is a settable clock shared by a store and its test.
type testClock struct{ ns atomic.Int64 }

func newTestClock(t time.Time) *testClock {
	c := &testClock{}
	c.ns.Store(t.UnixNano())
	return c
}

func (c *testClock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *testClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }
func (c *testClock) opts() Options           { return Options{Now: c.Now} }
