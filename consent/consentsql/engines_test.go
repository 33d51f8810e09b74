package consentsql

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/ofp-dev/ofp/internal/sqltest"
)

// backend is one empty database; Open may be called several times on it
// (to test that migrations re-run idempotently, or to race replicas).
type backend = sqltest.Backend[*Store, Options]

// newBackend builds a fresh, empty backend of one engine.
type newBackend = func(t *testing.T) backend

// engines are SQLite in a temporary file and a fresh schema on the real
// PostgreSQL; an unreachable server fails the test (the PostgreSQL contract).
func engines() map[string]newBackend {
	return sqltest.Backends("consent_test", OpenSQLite, OpenPostgres)
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
