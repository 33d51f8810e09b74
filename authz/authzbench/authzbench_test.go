package authzbench_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/authz/authzbench"
	"github.com/ofp-dev/ofp/internal/sqltest"
)

// TestRunMeasuresBothSides runs a small bench on SQLite: every token
// request succeeds against the real endpoint, and both sides are reported.
func TestRunMeasuresBothSides(t *testing.T) {
	res, err := authzbench.Run(context.Background(), authzbench.Options{Dir: t.TempDir(), Requests: 80, Workers: 2, Rounds: 2})
	require.NoError(t, err)
	require.Equal(t, "sqlite", res.Store)
	require.Equal(t, 80, res.Token.Requests)
	require.Equal(t, 80, res.Ceiling.Requests)
	require.Zero(t, res.Token.Errors)
	require.Positive(t, res.Token.PerSecond)
	require.Positive(t, res.Ceiling.PerSecond)
	require.Positive(t, res.Token.P99)
	require.GreaterOrEqual(t, res.Token.P99, res.Token.P50)
	require.InDelta(t, res.Token.PerSecond/res.Ceiling.PerSecond, res.Ratio, 1e-9)
	var out bytes.Buffer
	res.Print(&out)
	for _, want := range []string{"token", "ceiling", "ratio", "p99", "store sqlite"} {
		require.Contains(t, out.String(), want)
	}
	t.Log("\n" + out.String())
}

// TestReplayedBatchIsRefused proves the token side really checks the
// assertions: a batch sent twice fails the second time (jti replay), while
// the ceiling accepts anything.
func TestReplayedBatchIsRefused(t *testing.T) {
	ctx := context.Background()
	b, err := authzbench.Start(ctx, authzbench.Options{Dir: t.TempDir(), Workers: 2})
	require.NoError(t, err)
	defer b.Close()
	bt, err := b.Prepare(10)
	require.NoError(t, err)
	first := b.Measure(ctx, authzbench.Token, bt, 2)
	require.Zero(t, first.Errors, first.FirstError)
	again := b.Measure(ctx, authzbench.Token, bt, 2)
	require.Equal(t, 10, again.Errors)
	require.Contains(t, again.FirstError, "invalid_client")
	ceil := b.Measure(ctx, authzbench.Ceiling, bt, 2)
	require.Zero(t, ceil.Errors)
}

// BenchmarkTokenEndpoint reports req/s and p99 of each side, on SQLite and
// on PostgreSQL, per b.N requests.
func BenchmarkTokenEndpoint(b *testing.B) {
	for _, store := range []string{"sqlite", "postgres"} {
		b.Run(store, func(b *testing.B) {
			opts := authzbench.Options{Dir: b.TempDir(), Workers: 4}
			if store == "postgres" {
				opts.DatabaseURL = sqltest.PostgresSchema(b, "authzbench")
			}
			ctx := context.Background()
			bench, err := authzbench.Start(ctx, opts)
			require.NoError(b, err)
			defer bench.Close()
			for _, side := range []authzbench.Side{authzbench.Token, authzbench.Ceiling} {
				b.Run(side.String(), func(b *testing.B) {
					bt, err := bench.Prepare(b.N)
					require.NoError(b, err)
					b.ResetTimer()
					f := bench.Measure(ctx, side, bt, opts.Workers)
					b.StopTimer()
					require.Zero(b, f.Errors, f.FirstError)
					b.ReportMetric(f.PerSecond, "req/s")
					b.ReportMetric(float64(f.P99.Microseconds())/1000, "p99-ms")
				})
			}
		})
	}
}
