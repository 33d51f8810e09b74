package customerdata

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestLimiterConcurrentBurst(t *testing.T) {
	clock := newClock()
	l, err := NewLimiter(LimitOptions{PerSecond: 10, Burst: 50, Now: clock.Now})
	require.NoError(t, err)
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				if ok, _ := l.Allow(context.Background(), "c"); ok {
					allowed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	require.EqualValues(t, 50, allowed.Load(), "exactly the burst passes while the clock stands still")
	ok, wait := l.Allow(context.Background(), "c")
	require.False(t, ok)
	require.Equal(t, 100*time.Millisecond, wait, "one token every 100 ms")
	clock.Advance(250 * time.Millisecond)
	for i := 0; i < 2; i++ {
		ok, _ = l.Allow(context.Background(), "c")
		require.True(t, ok)
	}
	ok, _ = l.Allow(context.Background(), "c")
	require.False(t, ok)
}

func TestLimiterForgetsIdleClients(t *testing.T) {
	clock := newClock()
	l, err := NewLimiter(LimitOptions{PerSecond: 1, Burst: 1, Now: clock.Now})
	require.NoError(t, err)
	for i := range sweepEvery - 1 {
		l.Allow(context.Background(), string(rune('a'+i%26)))
	}
	require.Len(t, l.buckets, 26)
	clock.Advance(time.Minute)
	l.Allow(context.Background(), "z")
	require.Len(t, l.buckets, 1, "buckets full again are dropped")
}

func TestLimiterOptions(t *testing.T) {
	_, err := NewLimiter(LimitOptions{PerSecond: 0, Burst: 1})
	require.Error(t, err)
	_, err = NewLimiter(LimitOptions{PerSecond: 1, Burst: 0})
	require.Error(t, err)
	l, err := NewLimiter(DefaultLimitOptions())
	require.NoError(t, err)
	ok, _ := l.Allow(context.Background(), "x")
	require.True(t, ok)
}
