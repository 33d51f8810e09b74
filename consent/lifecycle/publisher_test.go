package lifecycle

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/ofp-dev/ofp/consent"
	"github.com/ofp-dev/ofp/consent/consentsql"
)

// lifecycleMix moves consent i through one of three typical paths.
func lifecycleMix(t testing.TB, s *consentsql.Store, i int) string {
	t.Helper()
	id, err := lifecycleMixErr(s, i)
	require.NoError(t, err)
	return id
}

// lifecycleMixErr is lifecycleMix for goroutines other than the test's.
func lifecycleMixErr(s *consentsql.Store, i int) (string, error) {
	ctx := context.Background()
	id, err := consent.NewID("bancoex")
	if err != nil {
		return "", err
	}
	exp := time.Now().Add(48 * time.Hour)
	if _, err := s.Create(ctx, consent.Consent{
		ID: id, Permissions: []string{consent.PermAccountsRead, consent.PermAccountsBalancesRead, consent.PermResourcesRead},
		LoggedUser: user, ClientID: "client-1", ExpirationDateTime: &exp,
	}, tpp); err != nil {
		return "", err
	}
	userActor := consent.AuditActor{Who: "user:1"}
	switch i % 3 {
	case 0:
		if _, err := s.ApplyEvent(ctx, id, consent.EventAuthorise, userActor); err != nil {
			return id, err
		}
		exp := time.Now().Add(96 * time.Hour)
		if _, _, err := s.Extend(ctx, id, consent.Extension{ExpirationDateTime: &exp, LoggedUser: user,
			CustomerIPAddress: "10.0.0.1", CustomerUserAgent: "ua"}, tpp); err != nil {
			return id, err
		}
		_, err = s.ApplyEvent(ctx, id, consent.EventRevokeByUser, userActor)
	case 1:
		_, err = s.ApplyEvent(ctx, id, consent.EventRejectByUser, userActor)
	case 2:
		if _, err := s.ApplyEvent(ctx, id, consent.EventAuthorise, userActor); err != nil {
			return id, err
		}
		_, err = s.ApplyEvent(ctx, id, consent.EventRevokeByTPP, tpp)
	}
	return id, err
}

func historyLen(t *testing.T, s *consentsql.Store, ids []string) int {
	n := 0
	for _, id := range ids {
		h, err := s.History(context.Background(), id)
		require.NoError(t, err)
		n += len(h)
	}
	return n
}

func TestPublisherPublishesEveryTransitionOnceInOrder(t *testing.T) {
	brokers, cl := kafka(t)
	s := openStore(t, "", consentsql.Options{})
	pub := NewPublisher(s, cl, PublisherOptions{BatchSize: 7, PollInterval: 5 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- pub.Run(ctx) }()

	var ids []string
	for i := range 30 {
		ids = append(ids, lifecycleMix(t, s, i))
	}
	require.Eventually(t, func() bool {
		n, err := s.PendingOutbox(context.Background())
		return err == nil && n == 0
	}, 30*time.Second, 5*time.Millisecond, "the publisher drains the outbox")
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)

	recs := readTopic(t, brokers)
	require.Len(t, recs, historyLen(t, s, ids), "every transition exactly once on the wire")
	partitionOf := map[string]int32{}
	for _, r := range recs {
		if p, ok := partitionOf[r.Key]; ok {
			require.Equal(t, p, r.Partition, "a consent's events share one partition")
		}
		partitionOf[r.Key] = r.Partition
	}
	byKey := firstSeen(recs)
	requireMatchesHistory(t, s, byKey, ids)
}

// flakyProducer fails the first attempt of chosen events without sending them.
type flakyProducer struct {
	real     Producer
	mu       sync.Mutex
	failOnce map[string]bool
	failures int
}

func (f *flakyProducer) ProduceSync(ctx context.Context, rs ...*kgo.Record) kgo.ProduceResults {
	f.mu.Lock()
	var pass []*kgo.Record
	var out kgo.ProduceResults
	for _, r := range rs {
		if f.failOnce[idOf(r)] {
			delete(f.failOnce, idOf(r))
			f.failures++
			out = append(out, kgo.ProduceResult{Record: r, Err: errors.New("injected: broker unavailable")})
			continue
		}
		pass = append(pass, r)
	}
	f.mu.Unlock()
	if len(pass) > 0 {
		out = append(out, f.real.ProduceSync(ctx, pass...)...)
	}
	return out
}

// flakyStore fails the first MarkPublished.
type flakyStore struct {
	*consentsql.Store
	mu     sync.Mutex
	failed bool
}

func (f *flakyStore) MarkPublished(ctx context.Context, ids []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.failed {
		f.failed = true
		return errors.New("injected: database is locked")
	}
	return f.Store.MarkPublished(ctx, ids)
}

func TestPublisherRetriesWithoutReorderingOrDuplicating(t *testing.T) {
	brokers, cl := kafka(t)
	clk := newTestClock(t0)
	s := openStore(t, "", consentsql.Options{Now: clk.Now})
	var ids []string
	for i := range 6 {
		ids = append(ids, lifecycleMix(t, s, i))
	}
	// Fail the first attempt of every consent's CREATE: its later events
	// are in the same claimed batch and must not overtake it.
	all, err := s.ClaimOutbox(context.Background(), 1000)
	require.NoError(t, err)
	prod := &flakyProducer{real: cl, failOnce: map[string]bool{}}
	for _, e := range all {
		var le consent.LifecycleEvent
		require.NoError(t, json.Unmarshal(e.Payload, &le))
		if le.Event == consent.EventCreate {
			prod.failOnce[e.ID] = true
		}
	}
	clk.Advance(time.Hour) // past the claim lease of that peek
	fs := &flakyStore{Store: s}
	pub := NewPublisher(fs, prod, PublisherOptions{BatchSize: 1000, MinBackoff: time.Millisecond})
	n, err := pub.Drain(context.Background())
	require.NoError(t, err)
	require.Equal(t, len(all), n)
	require.Equal(t, len(ids), prod.failures)
	require.True(t, fs.failed, "a mark failure was injected and retried")

	recs := readTopic(t, brokers)
	require.Len(t, recs, len(all), "retried marks do not re-produce, failed records are sent once")
	requireMatchesHistory(t, s, firstSeen(recs), ids)
	pending, err := s.PendingOutbox(context.Background())
	require.NoError(t, err)
	require.Zero(t, pending)
}

func TestDrainStopsWithContext(t *testing.T) {
	s := openStore(t, "", consentsql.Options{})
	createConsent(t, s, nil)
	prod := &failingProducer{}
	pub := NewPublisher(s, prod, PublisherOptions{MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	prod.after = func(n int) {
		if n == 5 {
			cancel()
		}
	}
	n, err := pub.Drain(ctx)
	require.ErrorIs(t, err, context.Canceled)
	require.Zero(t, n)
	require.GreaterOrEqual(t, prod.calls, 5, "kafka errors are retried with backoff")
	pending, err := s.PendingOutbox(context.Background())
	require.NoError(t, err)
	require.Equal(t, 1, pending, "nothing acknowledged, nothing marked")
}

type failingProducer struct {
	calls int
	after func(n int)
}

func (f *failingProducer) ProduceSync(_ context.Context, rs ...*kgo.Record) kgo.ProduceResults {
	f.calls++
	out := make(kgo.ProduceResults, len(rs))
	for i, r := range rs {
		out[i] = kgo.ProduceResult{Record: r, Err: errors.New("injected: no brokers")}
	}
	f.after(f.calls)
	return out
}
