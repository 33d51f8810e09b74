package bus_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/ofp-dev/ofp/internal/bus"
	"github.com/ofp-dev/ofp/internal/events"
)

func envs(n int, from int) []events.Envelope {
	out := make([]events.Envelope, n)
	for i := range out {
		e, _ := events.New(fmt.Sprintf("id-%d", from+i), "test.v1", "test", fmt.Sprintf("key-%d", (from+i)%7), time.Unix(int64(from+i), 0), map[string]int{"n": from + i})
		out[i] = e
	}
	return out
}

// TestEmbeddedClusterKeepsRecordsAndCommitsAcrossRestarts is what lets
// `ofp demo` be stopped and started without losing or redoing work.
func TestEmbeddedClusterKeepsRecordsAndCommitsAcrossRestarts(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	const topic = "t"

	k, err := bus.StartEmbedded(dir, 0)
	require.NoError(t, err)
	prod, err := bus.NewClient(bus.Config{Brokers: k.Brokers()})
	require.NoError(t, err)
	require.NoError(t, bus.EnsureTopics(ctx, prod, 3, topic))
	require.NoError(t, bus.EnsureTopics(ctx, prod, 3, topic), "creating an existing topic is fine")
	acked, err := bus.NewPublisher(prod).Publish(ctx, topic, envs(30, 0)...)
	require.NoError(t, err)
	var total int64
	for _, off := range acked {
		total += off + 1
	}
	require.Equal(t, int64(30), total, "acked offsets count every record")
	prod.Close()

	// Consume 30, commit, stop the cluster.
	seen := consume(t, ctx, k.Brokers(), topic, 30)
	require.Len(t, seen, 30)
	k.Close()

	// Restart on the same folder (another port): the log and the group's
	// committed offsets are still there; only new records are consumed.
	k2, err := bus.StartEmbedded(dir, 0)
	require.NoError(t, err)
	defer k2.Close()
	prod2, err := bus.NewClient(bus.Config{Brokers: k2.Brokers()})
	require.NoError(t, err)
	defer prod2.Close()
	_, err = bus.NewPublisher(prod2).Publish(ctx, topic, envs(5, 30)...)
	require.NoError(t, err)
	again := consume(t, ctx, k2.Brokers(), topic, 5)
	require.Len(t, again, 5)
	for id := range again {
		require.False(t, seen[id], "%s was consumed twice", id)
	}
}

func consume(t *testing.T, ctx context.Context, brokers []string, topic string, want int) map[string]bool {
	t.Helper()
	cl, err := bus.NewClient(bus.Config{Brokers: brokers}, kgo.ConsumerGroup("g"), kgo.ConsumeTopics(topic),
		kgo.DisableAutoCommit(), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	require.NoError(t, err)
	defer cl.Close()
	seen := map[string]bool{}
	for len(seen) < want {
		f := cl.PollFetches(ctx)
		require.NoError(t, ctx.Err())
		f.EachRecord(func(r *kgo.Record) {
			e, err := events.Decode(r.Value)
			require.NoError(t, err)
			seen[e.ID] = true
		})
		require.NoError(t, cl.CommitUncommittedOffsets(ctx))
	}
	return seen
}

func TestLargePagesFitInOneRecord(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	k, err := bus.StartEmbedded("", 0)
	require.NoError(t, err)
	defer k.Close()
	prod, err := bus.NewClient(bus.Config{Brokers: k.Brokers()})
	require.NoError(t, err)
	defer prod.Close()
	require.NoError(t, bus.EnsureTopics(ctx, prod, 1, "big"))
	body := strings.Repeat("x", 8<<20) // an 8 MiB page, beyond Kafka's 1 MiB default
	e, err := events.New("big-1", "test.v1", "test", "k", time.Now(), map[string]string{"body": body})
	require.NoError(t, err)
	_, err = bus.NewPublisher(prod).Publish(ctx, "big", e, e)
	require.NoError(t, err)
}

func TestNewClientNeedsBrokers(t *testing.T) {
	_, err := bus.NewClient(bus.Config{})
	require.ErrorContains(t, err, "--kafka-brokers")
}
