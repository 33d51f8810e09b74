package lifecycle

import (
	"context"
	"encoding/json"
	"path/filepath"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/ofp-dev/ofp/consent"
	"github.com/ofp-dev/ofp/consent/consentsql"
	"github.com/ofp-dev/ofp/internal/bus"
	"github.com/ofp-dev/ofp/internal/events"
)

// t0 has sub-second digits on purpose.
var t0 = time.Date(2025, 3, 1, 12, 0, 0, 123456000, time.UTC)

type testClock struct{ ns atomic.Int64 }

func newTestClock(t time.Time) *testClock {
	c := &testClock{}
	c.ns.Store(t.UnixNano())
	return c
}

func (c *testClock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *testClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

func openStore(t *testing.T, path string, opts consentsql.Options) *consentsql.Store {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "consents.db")
	}
	s, err := consentsql.OpenSQLite(context.Background(), path, opts)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

var tpp = consent.AuditActor{Who: "tpp:client-1", ClientID: "client-1"}
var user = consent.LoggedUser{Document: consent.Document{Identification: "76109277673", Rel: "CPF"}}

func createConsent(t testing.TB, s *consentsql.Store, exp *time.Time) consent.Consent {
	t.Helper()
	id, err := consent.NewID("bancoex")
	require.NoError(t, err)
	c, err := s.Create(context.Background(), consent.Consent{
		ID:                 id,
		Permissions:        []string{consent.PermAccountsRead, consent.PermAccountsBalancesRead, consent.PermResourcesRead},
		LoggedUser:         user,
		ClientID:           "client-1",
		ExpirationDateTime: exp,
	}, tpp)
	require.NoError(t, err)
	return c
}

func authorise(t testing.TB, s *consentsql.Store, id string) consent.Consent {
	t.Helper()
	c, err := s.ApplyEvent(context.Background(), id, consent.EventAuthorise, consent.AuditActor{Who: "user:1"})
	require.NoError(t, err)
	return c
}

func ptr(t time.Time) *time.Time { return &t }

// kafka starts an in-memory kfake cluster with the consent topic and a
// producing client built like production (bus.NewClient: acks=all, idempotent).
func kafka(t *testing.T) (brokers []string, cl *kgo.Client) {
	t.Helper()
	k, err := bus.StartEmbedded("", 0)
	require.NoError(t, err)
	t.Cleanup(k.Close)
	cl, err = bus.NewClient(bus.Config{Brokers: k.Brokers(), ClientID: "lifecycle-test"})
	require.NoError(t, err)
	t.Cleanup(cl.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, bus.EnsureTopics(ctx, cl, bus.DefaultPartitions, events.TopicConsentEvents))
	return k.Brokers(), cl
}

// wireRecord is one record read back from the consent topic.
type wireRecord struct {
	Partition int32
	Offset    int64
	Key       string
	Env       events.Envelope
}

// readTopic reads every record on the topic (the total is taken from the
// end offsets first, so duplicates are counted too), ordered by partition
// then offset.
func readTopic(t *testing.T, brokers []string) []wireRecord {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := bus.NewClient(bus.Config{Brokers: brokers, ClientID: "lifecycle-reader"},
		kgo.ConsumeTopics(events.TopicConsentEvents), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	require.NoError(t, err)
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, events.TopicConsentEvents)
	require.NoError(t, err)
	var total int64
	ends.Each(func(o kadm.ListedOffset) {
		require.NoError(t, o.Err)
		total += o.Offset
	})
	var out []wireRecord
	for int64(len(out)) < total {
		fs := cl.PollFetches(ctx)
		require.NoError(t, ctx.Err(), "read %d of %d records", len(out), total)
		for _, fe := range fs.Errors() {
			require.NoError(t, fe.Err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			env, err := events.Decode(r.Value)
			require.NoError(t, err)
			require.Equal(t, env.ID, string(r.Headers[0].Value), "the header repeats the envelope id")
			out = append(out, wireRecord{Partition: r.Partition, Offset: r.Offset, Key: string(r.Key), Env: env})
		})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Partition != out[j].Partition {
			return out[i].Partition < out[j].Partition
		}
		return out[i].Offset < out[j].Offset
	})
	return out
}

// firstSeen keeps the first copy of each envelope id per key, in wire
// order: what a consumer that dedupes on the envelope id sees.
func firstSeen(recs []wireRecord) map[string][]events.Envelope {
	seen := map[string]bool{}
	out := map[string][]events.Envelope{}
	for _, r := range recs {
		if seen[r.Env.ID] {
			continue
		}
		seen[r.Env.ID] = true
		out[r.Key] = append(out[r.Key], r.Env)
	}
	return out
}

func lifecycleOf(t *testing.T, env events.Envelope) consent.LifecycleEvent {
	t.Helper()
	require.Equal(t, consent.OutboxEventType, env.Type)
	var le consent.LifecycleEvent
	require.NoError(t, json.Unmarshal(env.Payload, &le))
	return le
}

// requireMatchesHistory checks that the deduplicated lifecycle events of
// each consent are its audit history, in order.
func requireMatchesHistory(t *testing.T, s *consentsql.Store, byKey map[string][]events.Envelope, ids []string) {
	t.Helper()
	require.Len(t, byKey, len(ids))
	for _, id := range ids {
		h, err := s.History(context.Background(), id)
		require.NoError(t, err)
		envs := byKey[id]
		require.Len(t, envs, len(h), "consent %s", id)
		for i, e := range h {
			le := lifecycleOf(t, envs[i])
			require.Equal(t, id, le.ConsentID)
			require.Equal(t, e.Event, le.Event, "consent %s event %d", id, i)
			require.Equal(t, e.From, le.From)
			require.Equal(t, e.To, le.To)
			require.Equal(t, int64(i+1), le.Version)
			require.Equal(t, id, envs[i].Key)
			require.Equal(t, EnvelopeSource, envs[i].Source)
		}
	}
}

// kadmEnds returns the end offset of each partition of the consent topic.
func kadmEnds(ctx context.Context, cl *kgo.Client) (map[int32]int64, error) {
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, events.TopicConsentEvents)
	if err != nil {
		return nil, err
	}
	out := map[int32]int64{}
	var firstErr error
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err != nil && firstErr == nil {
			firstErr = o.Err
		}
		out[o.Partition] = o.Offset
	})
	return out, firstErr
}
