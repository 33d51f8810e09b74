package lifecycle

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/consent"
	"github.com/ofp-dev/ofp/consent/consentsql"
)

func TestNotifierEmitsOncePerConsentThroughTheOutbox(t *testing.T) {
	ctx := context.Background()
	brokers, cl := kafka(t)
	clk := newTestClock(t0)
	s := openStore(t, "", consentsql.Options{Now: clk.Now})
	want := map[string]consent.Consent{}
	for i := range 12 {
		c := createConsent(t, s, ptr(t0.Add(time.Duration(24+i)*time.Hour)))
		want[c.ID] = authorise(t, s, c.ID)
	}
	far := createConsent(t, s, ptr(t0.Add(30*24*time.Hour)))
	authorise(t, s, far.ID)
	authorise(t, s, createConsent(t, s, nil).ID) // open-ended
	awaiting := createConsent(t, s, ptr(t0.Add(48*time.Hour)))

	// Two replicas race; together they write one notice per consent.
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		written int
		errs    []error
	)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := NewNotifier(s, NotifierOptions{Lead: 7 * 24 * time.Hour, Now: clk.Now, BatchSize: 4}).Notify(ctx)
			mu.Lock()
			defer mu.Unlock()
			written += res.Written
			if err != nil {
				errs = append(errs, err)
			}
		}()
	}
	wg.Wait()
	require.Empty(t, errs)
	require.Equal(t, len(want), written)

	clk.Advance(time.Hour)
	res, err := NewNotifier(s, NotifierOptions{Lead: 7 * 24 * time.Hour, Now: clk.Now}).Notify(ctx)
	require.NoError(t, err)
	require.Zero(t, res.Written, "already noticed")

	_, err = NewPublisher(s, cl, PublisherOptions{}).Drain(ctx)
	require.NoError(t, err)
	notices := map[string]NearExpiryEvent{}
	for _, r := range readTopic(t, brokers) {
		if r.Env.Type != NearExpiryEventType {
			continue
		}
		var ne NearExpiryEvent
		require.NoError(t, json.Unmarshal(r.Env.Payload, &ne))
		_, dup := notices[ne.ConsentID]
		require.False(t, dup, "one notice per consent")
		require.Equal(t, ne.ConsentID, r.Key)
		notices[ne.ConsentID] = ne
	}
	require.Len(t, notices, len(want))
	for id, c := range want {
		ne := notices[id]
		require.Equal(t, *c.ExpirationDateTime, ne.ExpirationDateTime)
		require.Equal(t, "client-1", ne.ClientID)
		require.Equal(t, t0, ne.NoticedAt)
		require.Equal(t, int64((7 * 24 * time.Hour).Seconds()), ne.LeadSeconds)
	}
	require.NotContains(t, notices, far.ID)
	require.NotContains(t, notices, awaiting.ID)
}
