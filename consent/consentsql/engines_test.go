package consentsql

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/internal/sqltest"
)

// backend is one empty database; open may be called several times on it
// (to test that migrations re-run idempotently).
type backend struct {
	name string
	open func(t *testing.T, opts Options) *Store
}

// newBackend builds a fresh, empty backend per engine.
type newBackend func(t *testing.T) backend

func engines() map[string]newBackend {
	return map[string]newBackend{"sqlite": sqliteBackend, "postgres": postgresBackend}
}

func sqliteBackend(t *testing.T) backend {
	path := filepath.Join(t.TempDir(), "consents.db")
	return backend{name: "sqlite", open: func(t *testing.T, opts Options) *Store {
		t.Helper()
		s, err := OpenSQLite(context.Background(), path, opts)
		require.NoError(t, err)
		t.Cleanup(func() { s.Close() })
		return s
	}}
}

// postgresBackend creates a unique schema on the real PostgreSQL and drops
// it when the test ends, so parallel runs do not collide. An unreachable
// server fails the test: these tests are the PostgreSQL contract.
func postgresBackend(t *testing.T) backend {
	t.Helper()
	sdsn := sqltest.PostgresSchema(t, "consent_test")
	return backend{name: "postgres", open: func(t *testing.T, opts Options) *Store {
		t.Helper()
		s, err := OpenPostgres(context.Background(), sdsn, opts)
		require.NoError(t, err)
		t.Cleanup(func() { s.Close() })
		return s
	}}
}

// testClock is a settable clock shared by a store and its test.
type testClock struct{ ns atomic.Int64 }

func newTestClock(t time.Time) *testClock {
	c := &testClock{}
	c.ns.Store(t.UnixNano())
	return c
}

func (c *testClock) Now() time.Time                    { return time.Unix(0, c.ns.Load()).UTC() }
func (c *testClock) Set(t time.Time)                   { c.ns.Store(t.UnixNano()) }
func (c *testClock) Advance(d time.Duration)           { c.ns.Add(int64(d)) }
func (c *testClock) opts() Options                     { return Options{Now: c.Now} }
func (c *testClock) optsLease(d time.Duration) Options { return Options{Now: c.Now, ClaimLease: d} }
