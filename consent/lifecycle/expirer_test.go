package lifecycle

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/consent"
	"github.com/ofp-dev/ofp/consent/consentsql"
	"github.com/ofp-dev/ofp/jobs"
)

func TestExpirerAppliesDueAndLeavesTheRest(t *testing.T) {
	ctx := context.Background()
	clk := newTestClock(t0)
	s := openStore(t, "", consentsql.Options{Now: clk.Now})
	oldAwaiting := createConsent(t, s, nil)
	dueAuthorised := createConsent(t, s, ptr(t0.Add(61*time.Minute)))
	authorise(t, s, dueAuthorised.ID)
	laterAuthorised := createConsent(t, s, ptr(t0.Add(24*time.Hour)))
	authorise(t, s, laterAuthorised.ID)
	openEnded := createConsent(t, s, nil)
	authorise(t, s, openEnded.ID)
	clk.Advance(30 * time.Minute)
	youngAwaiting := createConsent(t, s, nil)
	clk.Advance(31 * time.Minute) // t0+61m: oldAwaiting is 61 min old, youngAwaiting 31

	e := NewExpirer(s, ExpirerOptions{Now: clk.Now})
	res, err := e.Expire(ctx)
	require.NoError(t, err)
	require.Equal(t, ExpiryResult{Applied: 2}, res)

	want := map[string]consent.ReasonCode{oldAwaiting.ID: consent.ReasonConsentExpired, dueAuthorised.ID: consent.ReasonConsentMaxDateReached}
	for id, reason := range want {
		c, err := s.Get(ctx, id)
		require.NoError(t, err)
		require.Equal(t, consent.StatusRejected, c.Status)
		require.Equal(t, consent.RejectedByASPSP, c.Rejection.RejectedBy)
		require.Equal(t, reason, c.Rejection.Reason)
		h, err := s.History(ctx, id)
		require.NoError(t, err)
		require.Equal(t, ExpiryActor, h[len(h)-1].Who)
	}
	for id, status := range map[string]consent.Status{
		laterAuthorised.ID: consent.StatusAuthorised, openEnded.ID: consent.StatusAuthorised,
		youngAwaiting.ID: consent.StatusAwaitingAuthorisation,
	} {
		c, err := s.Get(ctx, id)
		require.NoError(t, err)
		require.Equal(t, status, c.Status, "not due, left alone")
	}

	res, err = e.Expire(ctx)
	require.NoError(t, err)
	require.Equal(t, ExpiryResult{}, res, "a second run finds nothing")

	// Registered as a job, a run expires what became due since.
	clk.Advance(30 * time.Minute)
	sched := jobs.New(slog.Default(), nil)
	require.NoError(t, e.Register(sched, "@every 1m"))
	run, err := sched.RunNow(ctx, ExpiryJobName)
	require.NoError(t, err)
	require.Equal(t, "ok", run.Status)
	c, err := s.Get(ctx, youngAwaiting.ID)
	require.NoError(t, err)
	require.Equal(t, consent.StatusRejected, c.Status)
}

func TestConcurrentExpirersDoNotCollide(t *testing.T) {
	ctx := context.Background()
	clk := newTestClock(t0)
	s := openStore(t, "", consentsql.Options{Now: clk.Now})
	var ids []string
	for i := range 40 {
		var c consent.Consent
		if i%2 == 0 {
			c = createConsent(t, s, nil)
		} else {
			c = createConsent(t, s, ptr(t0.Add(90*time.Minute)))
			authorise(t, s, c.ID)
		}
		ids = append(ids, c.ID)
	}
	clk.Advance(2 * time.Hour)

	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		results []ExpiryResult
		errs    []error
	)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Small batches so that the replicas interleave.
			res, err := NewExpirer(s, ExpirerOptions{Now: clk.Now, BatchSize: 3}).Expire(ctx)
			mu.Lock()
			defer mu.Unlock()
			results = append(results, res)
			if err != nil {
				errs = append(errs, err)
			}
		}()
	}
	wg.Wait()
	require.Empty(t, errs, "a lost race is not an error")
	applied := 0
	for _, r := range results {
		applied += r.Applied
	}
	require.Equal(t, len(ids), applied, "every due consent moved exactly once across replicas")
	for _, id := range ids {
		h, err := s.History(ctx, id)
		require.NoError(t, err)
		last := h[len(h)-1]
		require.Equal(t, consent.StatusRejected, last.To)
		n := 0
		for _, e := range h {
			if e.Event == consent.EventExpireAwaiting || e.Event == consent.EventExpireAuthorised {
				n++
			}
		}
		require.Equal(t, 1, n, "consent %s expired once", id)
	}
}
