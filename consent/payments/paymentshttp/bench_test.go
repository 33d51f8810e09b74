package paymentshttp

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/internal/sqltest"
)

// TestBenchPixInitiationRuns checks that the exported benchmark works on
// both engines (few requests: it is a smoke test, not a measurement).
func TestBenchPixInitiationRuns(t *testing.T) {
	ctx := context.Background()
	for name, opts := range map[string]BenchOptions{
		"sqlite":   {Requests: 40, Concurrency: 4, Dir: t.TempDir()},
		"postgres": {Requests: 40, Concurrency: 4, PostgresDSN: sqltest.PostgresSchema(t, "paybench")},
	} {
		t.Run(name, func(t *testing.T) {
			ini, ceil, err := BenchPixInitiation(ctx, opts)
			require.NoError(t, err)
			require.Equal(t, 40, ini.Requests)
			require.Zero(t, ini.Errors)
			require.Zero(t, ceil.Errors)
			require.Positive(t, ini.PerSecond)
			require.GreaterOrEqual(t, ini.P99, ini.P50)
			t.Log(ceil)
			t.Log(ini)
		})
	}
}

// BenchmarkPixInitiation reports the handler's initiation rate beside the
// fixed-body ceiling (go test -run X -bench PixInitiation).
func BenchmarkPixInitiation(b *testing.B) {
	ini, ceil, err := BenchPixInitiation(context.Background(), BenchOptions{Requests: max(b.N, 50), Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(ini.PerSecond, "initiations/s")
	b.ReportMetric(ceil.PerSecond, "ceiling-req/s")
	b.ReportMetric(float64(ini.P99.Microseconds()), "p99-µs")
	b.ReportMetric(float64(ceil.P99.Microseconds()), "ceiling-p99-µs")
}
