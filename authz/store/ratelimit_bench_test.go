package store_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/ofp-dev/ofp/authz/store"
	"github.com/ofp-dev/ofp/consent/customerdata"
	"github.com/ofp-dev/ofp/internal/sqltest"
)

// BenchmarkClientRateLimit is the cost of one customer-data call's limit
// check: the limiter the replicas share, on each engine, beside the
// per-process one (the baseline). The budget is set never to run out, so
// every call is allowed: one database transaction per lease of Lease
// tokens (the default: a tenth of the rate, here capped at 100).
func BenchmarkClientRateLimit(b *testing.B) {
	ctx := context.Background()
	const perSecond, burst = 1e6, 1 << 30
	b.Run("per-process baseline", func(b *testing.B) {
		l, err := customerdata.NewLimiter(customerdata.LimitOptions{PerSecond: perSecond, Burst: burst})
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			l.Allow(ctx, "tpp")
		}
	})
	for _, lease := range []int{10, 100} {
		for _, engine := range []string{"sqlite", "postgres"} {
			b.Run("shared on "+engine+", lease "+strconv.Itoa(lease), func(b *testing.B) {
				be := sqltest.NewBackend(b, engine, "authz_store_bench", quiet(store.OpenSQLite), quiet(store.OpenPostgres))
				open := quiet(store.OpenSQLite)
				if engine == "postgres" {
					open = quiet(store.OpenPostgres)
				}
				s, err := open(ctx, be.Location, store.Options{})
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { _ = s.Close() })
				l, err := s.ClientRateLimiter(store.ClientRateOptions{PerSecond: perSecond, Burst: burst, Lease: lease})
				if err != nil {
					b.Fatal(err)
				}
				for b.Loop() {
					if ok, _ := l.Allow(ctx, "tpp"); !ok {
						b.Fatal("refused within the budget")
					}
				}
			})
		}
	}
}
