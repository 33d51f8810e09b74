package consentbench

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/internal/sqltest"
)

// TestRunMeasuresBothSides runs a small measurement on both engines and
// checks that every operation succeeded and the figures are consistent.
func TestRunMeasuresBothSides(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			opts := Options{Engine: engine, N: 60, Workers: 3}
			if engine == "sqlite" {
				opts.Dir = t.TempDir()
			} else {
				opts.DSN = sqltest.PostgresSchema(t, "consentbench_test")
			}
			res, err := Run(context.Background(), opts)
			require.NoError(t, err)
			for _, f := range []Figures{res.API, res.Raw} {
				require.Zero(t, f.Errors, f.FirstError)
				require.Equal(t, 60, f.Ops)
				require.Positive(t, f.OpsPerSec)
				require.Positive(t, f.CreateP99)
				require.GreaterOrEqual(t, f.CreateP99, f.CreateP50)
				require.GreaterOrEqual(t, f.ReadP99, f.ReadP50)
			}
			require.InDelta(t, res.API.OpsPerSec/res.Raw.OpsPerSec, res.Ratio, 1e-9)
			var out bytes.Buffer
			res.Print(&out)
			require.Contains(t, out.String(), "Consents API (HTTP)")
			require.Contains(t, out.String(), "raw INSERT+SELECT (baseline)")
			require.Contains(t, out.String(), "API / baseline throughput")
			t.Log("\n" + out.String())
		})
	}
}

func TestRunRejectsBadOptions(t *testing.T) {
	_, err := Run(context.Background(), Options{Engine: "oracle"})
	require.Error(t, err)
	_, err = Run(context.Background(), Options{Engine: "sqlite"})
	require.Error(t, err)
}

// BenchmarkConsentAPI reports the API and baseline throughput of b.N
// consents on SQLite as custom metrics.
func BenchmarkConsentAPI(b *testing.B) {
	res, err := Run(context.Background(), Options{Engine: "sqlite", Dir: b.TempDir(), N: max(b.N, 50), Workers: 4})
	require.NoError(b, err)
	b.ReportMetric(res.API.OpsPerSec, "api-ops/s")
	b.ReportMetric(res.Raw.OpsPerSec, "raw-ops/s")
	b.ReportMetric(float64(res.API.OpP99.Microseconds()), "api-p99-µs")
	b.ReportMetric(res.Ratio, "api/raw")
}
