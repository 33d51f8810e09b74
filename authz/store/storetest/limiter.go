package storetest

import (
	"context"
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
