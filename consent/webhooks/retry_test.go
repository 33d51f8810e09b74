package webhooks

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRetryDefaultsAndBackoff(t *testing.T) {
	r := Retry{}.WithDefaults()
	require.Equal(t, 10*time.Second, r.AttemptTimeout)
	require.Equal(t, 8, r.MaxAttempts)
	require.Equal(t, 30*time.Minute, r.MaxAge)
	require.Equal(t, time.Second, r.MinBackoff)
	require.Equal(t, 5*time.Minute, r.MaxBackoff)
	require.InDelta(t, 0.2, r.Jitter, 1e-9)
	for range 100 {
		w := r.Backoff(3)
		require.GreaterOrEqual(t, w, 4*time.Second)
		require.Less(t, w, 4*time.Second+800*time.Millisecond, "at most Jitter of the step is added")
	}

	half := func() float64 { return 0.5 }
	r = Retry{MinBackoff: time.Second, MaxBackoff: 10 * time.Second, Jitter: 0.2, Rand: half}.WithDefaults()
	var got []time.Duration
	for n := 1; n <= 6; n++ {
		got = append(got, r.Backoff(n))
	}
	require.Equal(t, []time.Duration{1100 * time.Millisecond, 2200 * time.Millisecond, 4400 * time.Millisecond,
		8800 * time.Millisecond, 11 * time.Second, 11 * time.Second}, got, "doubling, capped at MaxBackoff, plus 10 %")

	r = Retry{MinBackoff: time.Second, Jitter: -1, Rand: half}.WithDefaults()
	require.Equal(t, 4*time.Second, r.Backoff(3), "negative Jitter: none")
}

func TestRetryNext(t *testing.T) {
	r := Retry{MaxAttempts: 4, MaxAge: time.Minute, MinBackoff: time.Second, Jitter: -1}.WithDefaults()
	first := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

	wait, giveUp := r.Next(2, first, first.Add(5*time.Second), Try{})
	require.Equal(t, 2*time.Second, wait)
	require.False(t, giveUp)

	wait, giveUp = r.Next(2, first, first.Add(5*time.Second), Try{RetryAfter: 30 * time.Second, HasRetryAfter: true})
	require.Equal(t, 30*time.Second, wait, "the receiver's Retry-After wins")
	require.False(t, giveUp)

	_, giveUp = r.Next(2, first, first.Add(5*time.Second), Try{HasRetryAfter: true})
	require.False(t, giveUp, "Retry-After: 0 retries at once")

	_, giveUp = r.Next(4, first, first.Add(5*time.Second), Try{})
	require.True(t, giveUp, "MaxAttempts reached")

	_, giveUp = r.Next(2, first, first.Add(50*time.Second), Try{RetryAfter: 20 * time.Second, HasRetryAfter: true})
	require.True(t, giveUp, "the next attempt would start after MaxAge")
}
