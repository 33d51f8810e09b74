package opendata

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestLimiterBoundsPerKey(t *testing.T) {
	l := NewLimiter(2)
	ctx := context.Background()

	var running, peak atomic.Int32
	gate := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			release, err := l.Acquire(ctx, "bank-a")
			if err != nil {
				t.Error(err)
				return
			}
			n := running.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			<-gate
			running.Add(-1)
			release()
			release() // idempotent
		}()
	}
	require.Eventually(t, func() bool { return running.Load() == 2 }, 5*time.Second, time.Millisecond)

	// Another key is independent of bank-a's queue.
	release, err := l.Acquire(ctx, "bank-b")
	require.NoError(t, err)
	release()

	close(gate)
	wg.Wait()
	require.Equal(t, int32(2), peak.Load())
	l.mu.Lock()
	require.Empty(t, l.keys, "idle keys are forgotten")
	l.mu.Unlock()
}

func TestLimiterAcquireHonoursContext(t *testing.T) {
	l := NewLimiter(1)
	release, err := l.Acquire(context.Background(), "k")
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := l.Acquire(ctx, "k")
		done <- err
	}()
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)

	release()
	release2, err := l.Acquire(context.Background(), "k")
	require.NoError(t, err, "a cancelled waiter does not hold a place")
	release2()
	l.mu.Lock()
	require.Empty(t, l.keys)
	l.mu.Unlock()
}
