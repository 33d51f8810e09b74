package webhooks

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/ofp-dev/ofp/consent"
	"github.com/ofp-dev/ofp/internal/bus"
	"github.com/ofp-dev/ofp/internal/events"
)

// runConsumer runs d.Run in group until the returned stop is called.
func runConsumer(t *testing.T, d *Deliverer, brokers []string, group string) (stop func()) {
	t.Helper()
	cl, err := bus.NewClient(bus.Config{Brokers: brokers, ClientID: "webhooks-test"}, ClientOpts(group)...)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx, cl) }()
	return func() {
		cancel()
		require.ErrorIs(t, <-done, context.Canceled)
		cl.Close()
	}
}

func TestConsumerDeliversOnceAndCommits(t *testing.T) {
	kafka, err := bus.StartEmbedded("", 0)
	require.NoError(t, err)
	t.Cleanup(kafka.Close)
	ctx := context.Background()

	prod, err := bus.NewClient(bus.Config{Brokers: kafka.Brokers()})
	require.NoError(t, err)
	t.Cleanup(prod.Close)
	require.NoError(t, bus.EnsureTopics(ctx, prod, 3, events.TopicConsentEvents))

	envs := []events.Envelope{}
	for _, b := range [][]byte{
		nearExpiryEnvelope(t, "ev-a", "client-1"),
		lifecycleEnvelope(t, "ev-b", "client-1", consent.StatusAuthorised), // notifies nobody
		lifecycleEnvelope(t, "ev-c", "client-1", consent.StatusRejected),
		nearExpiryEnvelope(t, "ev-a", "client-1"), // the outbox re-published ev-a
		nearExpiryEnvelope(t, "ev-d", "nobody"),   // no webhook registered
	} {
		var e events.Envelope
		require.NoError(t, json.Unmarshal(b, &e))
		envs = append(envs, e)
	}
	acked, err := bus.NewPublisher(prod).Publish(ctx, events.TopicConsentEvents, envs...)
	require.NoError(t, err)

	rc := newReceiver(t)
	f := newFixture(t, rc)
	stop := runConsumer(t, f.d, kafka.Brokers(), "webhooks")

	decided := func(ids ...string) bool {
		for _, id := range ids {
			if _, ok, err := f.store.Outcome(ctx, id); err != nil || !ok {
				return false
			}
		}
		return true
	}
	require.Eventually(t, func() bool { return decided("ev-a", "ev-c", "ev-d") }, 20*time.Second, 20*time.Millisecond)

	// Offsets are committed once the batch is decided.
	adm := kadm.NewClient(prod)
	require.Eventually(t, func() bool {
		offs, err := adm.FetchOffsets(ctx, "webhooks")
		if err != nil {
			return false
		}
		for p, o := range acked {
			c, ok := offs.Lookup(events.TopicConsentEvents, p)
			if !ok || c.At != o+1 {
				return false
			}
		}
		return true
	}, 20*time.Second, 20*time.Millisecond)
	stop()

	require.Len(t, rc.Got(), 2, "ev-a once, ev-c once")
	o, _, err := f.store.Outcome(ctx, "ev-d")
	require.NoError(t, err)
	require.Equal(t, ResultSkipped, o.Result)

	// A consumer that reads everything again (another group: every record is
	// redelivered) with the same records notifies nobody twice.
	stop = runConsumer(t, f.d, kafka.Brokers(), "webhooks-replay")
	require.Eventually(t, func() bool {
		offs, err := adm.FetchOffsets(ctx, "webhooks-replay")
		if err != nil {
			return false
		}
		for p, o := range acked {
			c, ok := offs.Lookup(events.TopicConsentEvents, p)
			if !ok || c.At != o+1 {
				return false
			}
		}
		return true
	}, 20*time.Second, 20*time.Millisecond)
	stop()
	require.Len(t, rc.Got(), 2)
}
