package pipelines_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/ofp-dev/ofp/internal/bus"
	"github.com/ofp-dev/ofp/internal/events"
	"github.com/ofp-dev/ofp/pipelines"
	odpipe "github.com/ofp-dev/ofp/pipelines/opendata"
)

// TestCaughtUpBatchIsCutAtOnce: a batch that has reached the end of its
// partitions is sunk without waiting for IdleWait (an hour here), once it
// holds FlushBytes/16; below that it waits (TestGracefulStopSinksTheGatheredBatch).
func TestCaughtUpBatchIsCutAtOnce(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	e := newSinkEnv(t, ctx)
	pages := testPages(t)
	acked, err := bus.NewPublisher(e.prod).Publish(ctx, events.TopicOpenDataRaw, pages...)
	require.NoError(t, err)
	var total int64
	for _, p := range pages {
		rec, err := bus.Record(events.TopicOpenDataRaw, p)
		require.NoError(t, err)
		total += int64(len(rec.Value))
	}
	r, _, stop := e.start(ctx, "g", func(c *pipelines.Config) {
		// The whole topic never reaches FlushBytes, and is above FlushBytes/16.
		c.FlushBytes, c.FlushInterval, c.IdleWait = total+1, time.Hour, time.Hour
	})
	wctx, wcancel := context.WithTimeout(ctx, 20*time.Second)
	defer wcancel()
	require.NoError(t, r.WaitCommitted(wctx, acked), "caught up: committed without waiting an hour")
	stop()
}

// TestRebalanceUnderContinuousInput: while pages keep coming, a second
// runner joins the group. The first runner's poller keeps the rebalance
// waiting only until a drain has sunk and committed what it polled; then
// the partitions are shared. When the input stops, the group has committed
// every record and the warehouse holds each exactly once.
func TestRebalanceUnderContinuousInput(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	e := newSinkEnv(t, ctx)
	pages := testPages(t)
	pub := bus.NewPublisher(e.prod)
	var (
		mu    sync.Mutex
		acked = bus.Acked{}
	)
	produce, stopProducing := context.WithCancel(ctx)
	produced := make(chan struct{})
	go func() {
		defer close(produced)
		for i := 0; produce.Err() == nil; i++ {
			a, err := pub.Publish(ctx, events.TopicOpenDataRaw, pages[i%len(pages)])
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			acked.Merge(a)
			mu.Unlock()
			time.Sleep(5 * time.Millisecond)
		}
	}()
	start := func() (*pipelines.Runner, *kgo.Client, func()) {
		return e.start(ctx, "g-rebalance", func(c *pipelines.Config) {
			c.FlushInterval, c.IdleWait, c.PrefetchBytes = 100*time.Millisecond, time.Hour, 1
		})
	}
	first, _, stopFirst := start()
	require.Eventually(t, func() bool { return first.Stats().Records > 0 }, 20*time.Second, 10*time.Millisecond)
	second, cons2, stopSecond := start()
	require.Eventually(t, func() bool { return len(cons2.GetConsumeTopics()) > 0 && second.Stats().Records > 0 },
		30*time.Second, 20*time.Millisecond, "the second runner got partitions while the input went on")
	stopProducing()
	<-produced

	adm := kadm.NewClient(e.prod)
	require.Eventually(t, func() bool {
		offs, err := adm.FetchOffsets(ctx, "g-rebalance")
		if err != nil {
			return false
		}
		mu.Lock()
		defer mu.Unlock()
		for p, last := range acked {
			o, ok := offs.Lookup(events.TopicOpenDataRaw, p)
			if !ok || o.At <= last {
				return false
			}
		}
		return true
	}, 60*time.Second, 50*time.Millisecond, "the group committed every record")
	stopFirst()
	stopSecond()
	require.Positive(t, first.Stats().Records)

	ref := odpipe.NewTransformer(e.validator, memory.NewGoAllocator(), e.log)
	consumeAll(t, ctx, e.kafka.Brokers(), func(rec *kgo.Record) { ref.AddRecord(rec) })
	want := refCounts(ref)
	got, err := e.wh.Counts(ctx)
	require.NoError(t, err)
	require.Positive(t, want[odpipe.DatasetPages])
	for _, ds := range []string{odpipe.DatasetPages, odpipe.DatasetFees, odpipe.DatasetRates, odpipe.DatasetQuarantine} {
		require.Equal(t, want[ds], got[ds], ds)
	}
}

// TestRebalanceWhenIdle: a runner that has committed everything it
// consumed lets a rebalance through at once, although IdleWait is an hour
// and no record comes to end its poll.
func TestRebalanceWhenIdle(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	e := newSinkEnv(t, ctx)
	acked, err := bus.NewPublisher(e.prod).Publish(ctx, events.TopicOpenDataRaw, testPages(t)...)
	require.NoError(t, err)
	start := func() (*pipelines.Runner, *kgo.Client, func()) {
		return e.start(ctx, "g-idle", func(c *pipelines.Config) {
			c.FlushBytes, c.IdleWait, c.FlushInterval = 1, time.Hour, time.Hour
		})
	}
	first, _, stopFirst := start()
	defer stopFirst()
	require.NoError(t, first.WaitCommitted(ctx, acked))
	_, _, stopSecond := start()
	defer stopSecond()
	adm := kadm.NewClient(e.prod)
	require.Eventually(t, func() bool {
		groups, err := adm.DescribeGroups(ctx, "g-idle")
		if err != nil {
			return false
		}
		g, ok := groups["g-idle"]
		if !ok || g.State != "Stable" || len(g.Members) != 2 {
			return false
		}
		for _, m := range g.Members {
			if ca, ok := m.Assigned.AsConsumer(); !ok || len(ca.Topics) == 0 {
				return false
			}
		}
		return true
	}, 20*time.Second, 50*time.Millisecond, "both runners hold partitions")
}
