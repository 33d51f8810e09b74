package pipelines

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/ofp-dev/ofp/internal/bus"
	"github.com/ofp-dev/ofp/internal/bus/bustest"
)

// TestPollerPrefetchesUpToItsLimit: the poller stops polling while its
// limit of bytes waits in the queue, and goes on once Run takes them; a
// drain stops it until the drain ends.
func TestPollerPrefetchesUpToItsLimit(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	kafka, prod := bustest.Start(t)
	const topic = "poller-test"
	require.NoError(t, bus.EnsureTopics(ctx, prod, 1, topic))
	for i := range 40 {
		require.NoError(t, prod.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: fmt.Appendf(nil, "record %02d", i)}).FirstErr())
	}
	cons, err := bus.NewClient(bus.Config{Brokers: kafka.Brokers()}, ClientOpts("g", topic)...)
	require.NoError(t, err)
	defer cons.Close()

	p := newPoller(cons, 5, 20) // a poll of 5 records (45 bytes) is over the limit
	pctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); p.run(pctx) }()
	defer func() { // before cons.Close: as Run does when it stops, so that the client can leave the group
		stop()
		<-done
		cons.AllowRebalance()
	}()
	next := func() poll {
		t.Helper()
		select {
		case pl := <-p.out:
			return pl
		case <-time.After(10 * time.Second):
			t.Fatal("no poll came")
			return poll{}
		}
	}
	nothing := func(why string) {
		t.Helper()
		select {
		case pl := <-p.out:
			t.Fatalf("%s: got a poll of %d records", why, pl.fetches.NumRecords())
		case <-time.After(300 * time.Millisecond):
		}
	}
	first := next()
	require.Equal(t, uint64(1), first.seq)
	require.Equal(t, 5, first.fetches.NumRecords())
	require.Equal(t, int64(45), first.bytes)
	nothing("the queue holds the limit")
	p.taken(first.bytes)
	second := next()
	require.Equal(t, uint64(2), second.seq)
	p.taken(second.bytes)

	p.requestDrain()
	var marker bool
	for !marker { // at most one more poll comes before the marker
		pl := next()
		marker = pl.drained
		p.taken(pl.bytes)
	}
	nothing("a drain stops the poller")
	p.settle(p.handed)
	p.endDrain()
	require.Positive(t, next().fetches.NumRecords(), "polling goes on after the drain")
	stop()
	<-done
	_, open := <-p.out
	require.False(t, open, "the poller closes its queue when it stops")
}
