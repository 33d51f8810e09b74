package purposes

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ofp-dev/ofp/internal/sqltest"
)

// backend is one empty database; Open may be called several times on it.
type backend = sqltest.Backend[*Store, Options]

type newBackend = func(t *testing.T) backend

func engines() map[string]newBackend {
	return sqltest.Backends("purposes_test", quiet(OpenSQLite), quiet(OpenPostgres))
}

// quiet keeps migration logs out of the test output.
func quiet(open sqltest.OpenFunc[*Store, Options]) sqltest.OpenFunc[*Store, Options] {
	return func(ctx context.Context, location string, opts Options) (*Store, error) {
		if opts.Logger == nil {
			opts.Logger = slog.New(slog.DiscardHandler)
		}
		return open(ctx, location, opts)
	}
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
