package storetest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/authz/login"
	"github.com/ofp-dev/ofp/authz/store"
)

// runLoginLimiter is the part of the contract about the failed-login
// limiter: its limits hold across replicas.
func runLoginLimiter(t *testing.T, newDatabase func(t *testing.T) Open) {
	ctx := context.Background()
	start := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	limits := login.LimiterOptions{MaxUserFailures: 3, MaxAddressFailures: 5, Window: time.Minute}

	t.Run("failed logins count on every replica", func(t *testing.T) {
		open := newDatabase(t)
		clock := NewClock(start)
		a := open(t, store.Options{Now: clock.Now}).LoginLimiter(limits)
		b := open(t, store.Options{Now: clock.Now}).LoginLimiter(limits)
		allowed := func(l *store.LoginLimiter, user, addr string) (bool, time.Duration) {
			t.Helper()
			ok, wait, err := l.Allow(ctx, user, addr)
			require.NoError(t, err)
			return ok, wait
		}

		require.NoError(t, a.Failure(ctx, "ana", "10.0.0.1"))
		clock.Advance(10 * time.Second)
		require.NoError(t, b.Failure(ctx, "ana", "10.0.0.2"))
		ok, _ := allowed(a, "ana", "10.0.0.3")
		require.True(t, ok, "2 failures of 3")
		require.NoError(t, a.Failure(ctx, "ana", "10.0.0.3"))
		for _, l := range []*store.LoginLimiter{a, b} {
			ok, wait := allowed(l, "ana", "10.0.0.9")
			require.False(t, ok, "3 failures over two replicas block the CPF on both")
			require.Equal(t, 50*time.Second, wait, "until the first failure leaves the window")
		}
		ok, _ = allowed(b, "bruno", "10.0.0.1")
		require.True(t, ok, "another CPF from an address below its limit")

		// The address limit: 5 failures from one address, any CPFs.
		for _, u := range []string{"c1", "c2", "c3"} {
			require.NoError(t, b.Failure(ctx, u, "10.0.0.1"))
		}
		ok, _ = allowed(a, "dora", "10.0.0.1")
		require.True(t, ok, "4 failures from the address")
		require.NoError(t, a.Failure(ctx, "c4", "10.0.0.1"))
		ok, _ = allowed(b, "dora", "10.0.0.1")
		require.False(t, ok, "5 failures from the address block it for any CPF")

		// A success clears the CPF, not the address.
		require.NoError(t, b.Success(ctx, "ana"))
		ok, _ = allowed(a, "ana", "10.0.0.9")
		require.True(t, ok)
		ok, _ = allowed(a, "ana", "10.0.0.1")
		require.False(t, ok)

		// The window passes; DeleteExpired then drops the rows.
		clock.Advance(time.Minute)
		ok, _ = allowed(a, "dora", "10.0.0.1")
		require.True(t, ok)
		st := open(t, store.Options{Now: clock.Now})
		n, err := st.DeleteExpired(ctx, clock.Now().Add(time.Minute))
		require.NoError(t, err)
		require.Equal(t, 2*7-3, n, "two rows (CPF, address) per failure, but ana's three that the success cleared")
	})
}

// runClientRateLimit is the part of the contract about the customer-data
// rate limit: one budget per client, whichever replica its calls reach.
func runClientRateLimit(t *testing.T, newDatabase func(t *testing.T) Open) {
	ctx := context.Background()
	start := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	opts := store.ClientRateOptions{PerSecond: 20, Burst: 30, Lease: 4}

	t.Run("replicas share one budget per client", func(t *testing.T) {
		open := newDatabase(t)
		clock := NewClock(start)
		var replicas []*store.ClientRateLimiter
		for range 3 {
			l, err := open(t, store.Options{Now: clock.Now}).ClientRateLimiter(opts)
			require.NoError(t, err)
			replicas = append(replicas, l)
		}
		// Calls spread over the replicas until all refuse: exactly the
		// burst, never the burst on each.
		spend := func(client string) (allowed int, wait time.Duration) {
			t.Helper()
			for i := 0; i < 10*opts.Burst; i++ {
				ok, w := replicas[i%len(replicas)].Allow(ctx, client)
				if ok {
					allowed++
				} else {
					wait = max(wait, w)
				}
			}
			return allowed, wait
		}
		allowed, wait := spend("tpp-a")
		require.Equal(t, opts.Burst, allowed, "the burst, shared by three replicas")
		require.Greater(t, wait, time.Duration(0))
		require.LessOrEqual(t, wait, time.Second/20, "one token is due in 1/20 s")
		allowed, _ = spend("tpp-b")
		require.Equal(t, opts.Burst, allowed, "another client has its own budget")

		// A second later: the rate's worth of calls, over all replicas.
		clock.Advance(time.Second)
		allowed, _ = spend("tpp-a")
		require.Equal(t, 20, allowed, "20 a second")
		// Refill never exceeds the burst.
		clock.Advance(time.Hour)
		allowed, _ = spend("tpp-a")
		require.Equal(t, opts.Burst, allowed)
	})

	t.Run("concurrent calls on two replicas never exceed the budget", func(t *testing.T) {
		open := newDatabase(t)
		clock := NewClock(start)
		var allowed atomic.Int64
		var wg sync.WaitGroup
		for range 2 {
			l, err := open(t, store.Options{Now: clock.Now}).ClientRateLimiter(opts)
			require.NoError(t, err)
			for range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range 20 {
						if ok, _ := l.Allow(ctx, "busy"); ok {
							allowed.Add(1)
						}
					}
				}()
			}
		}
		wg.Wait()
		require.Equal(t, int64(opts.Burst), allowed.Load(), "320 calls at one instant: the burst and no more")
	})

	t.Run("a lease is spent on its replica, then given up", func(t *testing.T) {
		open := newDatabase(t)
		clock := NewClock(start)
		a, err := open(t, store.Options{Now: clock.Now}).ClientRateLimiter(store.ClientRateOptions{PerSecond: 1, Burst: 8, Lease: 4, LeaseTTL: time.Second})
		require.NoError(t, err)
		b, err := open(t, store.Options{Now: clock.Now}).ClientRateLimiter(store.ClientRateOptions{PerSecond: 1, Burst: 8, Lease: 4, LeaseTTL: time.Second})
		require.NoError(t, err)
		ok, _ := a.Allow(ctx, "c")
		require.True(t, ok, "a leases 4 and spends 1")
		for range 4 {
			ok, _ = b.Allow(ctx, "c")
			require.True(t, ok, "b leases the other 4")
		}
		ok, _ = b.Allow(ctx, "c")
		require.False(t, ok, "b's lease is spent and the bucket is empty")
		for range 3 {
			ok, _ = a.Allow(ctx, "c")
			require.True(t, ok, "a spends what it leased")
		}
		ok, _ = a.Allow(ctx, "c")
		require.False(t, ok)
	})

	t.Run("without the database, the fallback counts", func(t *testing.T) {
		s := newDatabase(t)(t, store.Options{})
		var asked atomic.Int64
		l, err := s.ClientRateLimiter(store.ClientRateOptions{PerSecond: 1, Burst: 1, Fallback: fallback(func(string) bool {
			return asked.Add(1) <= 2
		})})
		require.NoError(t, err)
		require.NoError(t, s.Close())
		for i, want := range []bool{true, true, false} {
			ok, _ := l.Allow(ctx, "c")
			require.Equal(t, want, ok, "call %d goes to the fallback", i)
		}
		require.Equal(t, int64(3), asked.Load())
	})

	t.Run("bad options are refused", func(t *testing.T) {
		s := newDatabase(t)(t, store.Options{})
		for _, o := range []store.ClientRateOptions{{PerSecond: 0, Burst: 1}, {PerSecond: 1, Burst: 0}} {
			_, err := s.ClientRateLimiter(o)
			require.Error(t, err)
		}
	})
}

// fallback is a per-process limit given as a function.
type fallback func(client string) bool

func (f fallback) Allow(_ context.Context, client string) (bool, time.Duration) {
	if f(client) {
		return true, 0
	}
	return false, time.Second
}
