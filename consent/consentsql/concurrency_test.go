package consentsql

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/consent"
)

// testConcurrentHistory fires thousands of random authorise / reject /
// revoke / expire / extend / read operations from several goroutines at a
// set of consents while a shared clock moves through the 60-minute window
// and past expiration dates, then checks that every consent's history is a
// legal path through the state machine, that no successful change was lost,
// and that the outbox holds exactly one event per change.
func testConcurrentHistory(t *testing.T, b backend) {
	const (
		consents     = 150
		workers      = 4
		opsPerWorker = 750
	)
	ctx := context.Background()
	clk := newTestClock(t0.Add(time.Minute))
	s := b.Open(t, clk.optsLease(time.Hour))
	seed := time.Now().UnixNano()
	t.Logf("%s: seed %d", b.Engine, seed)

	ids := make([]string, consents)
	for i := range ids {
		var exp *time.Time
		if i%2 == 0 {
			exp = ptr(t0.Add(90 * time.Minute))
		}
		c, err := s.Create(ctx, newConsent(t, "1", "client-1", t0, exp), tpp)
		require.NoError(t, err)
		ids[i] = c.ID
	}

	// versions[id] collects the version every successful change returned.
	var (
		mu       sync.Mutex
		versions = map[string][]int64{}
		applied  int
	)
	type op struct {
		weight int
		do     func(r *rand.Rand, id string) (consent.Consent, error)
	}
	user := consent.LoggedUser{Document: consent.Document{Identification: "1", Rel: "CPF"}}
	apply := func(ev consent.Event) func(*rand.Rand, string) (consent.Consent, error) {
		return func(_ *rand.Rand, id string) (consent.Consent, error) {
			return s.ApplyEvent(ctx, id, ev, consent.AuditActor{Who: "test", InteractionID: string(ev)})
		}
	}
	ops := []op{
		{30, apply(consent.EventAuthorise)},
		{4, apply(consent.EventRejectByUser)},
		{4, apply(consent.EventRevokeByUser)},
		{4, apply(consent.EventRevokeByTPP)},
		{2, apply(consent.EventRejectTechnicalIssue)},
		{12, apply(consent.EventExpireAwaiting)},
		{12, apply(consent.EventExpireAuthorised)},
		{6, func(r *rand.Rand, id string) (consent.Consent, error) {
			var exp *time.Time
			if r.IntN(2) == 0 {
				exp = ptr(clk.Now().Add(time.Duration(1+r.IntN(60)) * time.Minute))
			}
			c, _, err := s.Extend(ctx, id, consent.Extension{ExpirationDateTime: exp, LoggedUser: user,
				CustomerIPAddress: "10.0.0.1", CustomerUserAgent: "test"}, tpp)
			return c, err
		}},
		{16, func(_ *rand.Rand, id string) (consent.Consent, error) {
			_, err := s.Get(ctx, id)
			return consent.Consent{}, err
		}},
		{10, func(r *rand.Rand, _ string) (consent.Consent, error) {
			// Move the clock: ~300 ticks of ~12 s on average cover the 60-minute
			// window and the 90-minute expiry.
			clk.Advance(time.Duration(r.IntN(24000)) * time.Millisecond)
			return consent.Consent{}, nil
		}},
	}
	total := 0
	for _, o := range ops {
		total += o.weight
	}

	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(seed), uint64(w)))
			for range opsPerWorker {
				// Half of the operations hit a few hot consents so that
				// goroutines really race on the same row.
				id := ids[r.IntN(len(ids))]
				if r.IntN(2) == 0 {
					id = ids[r.IntN(8)]
				}
				n := r.IntN(total)
				var o op
				for _, o = range ops {
					if n < o.weight {
						break
					}
					n -= o.weight
				}
				c, err := o.do(r, id)
				var ite *consent.IllegalTransitionError
				var pe *consent.PreconditionError
				switch {
				case err == nil:
					if c.ID != "" {
						mu.Lock()
						versions[id] = append(versions[id], c.Version)
						applied++
						mu.Unlock()
					}
				case errors.As(err, &ite), errors.As(err, &pe):
					// Lost the race or not due: expected.
				default:
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	t.Logf("%s: %d successful changes", b.Engine, applied)
	require.Greater(t, applied, consents, "the run must exercise transitions, not only illegal moves")

	historyRows := 0
	finals := map[consent.Status]int{}
	for _, id := range ids {
		h, err := s.History(ctx, id)
		require.NoError(t, err)
		require.NotEmpty(t, h)
		require.Equal(t, consent.EventCreate, h[0].Event)
		prev := consent.StatusNone
		for i, e := range h {
			require.Equal(t, prev, e.From, "%s step %d: From must equal the previous To", id, i)
			to, err := consent.Transition(e.From, e.Event)
			require.NoError(t, err, "%s step %d is not a legal move", id, i)
			require.Equal(t, to, e.To, "%s step %d", id, i)
			if i > 0 {
				require.False(t, e.At.Before(h[i-1].At), "%s step %d goes back in time", id, i)
			}
			prev = e.To
		}
		c, err := s.Get(ctx, id)
		require.NoError(t, err)
		require.Equal(t, prev, c.Status, "%s: final status must equal the last history To", id)
		require.Equal(t, int64(len(h)), c.Version, "%s: one version per history row", id)
		// Every successful change got its own version: none lost, none doubled.
		vs := versions[id]
		require.Len(t, vs, len(h)-1, "%s: successful changes vs history rows", id)
		seen := map[int64]bool{}
		for _, v := range vs {
			require.False(t, seen[v], "%s: version %d returned twice", id, v)
			require.True(t, v >= 2 && v <= int64(len(h)), "%s: version %d out of range", id, v)
			seen[v] = true
		}
		if c.Status == consent.StatusRejected {
			require.NotNil(t, c.Rejection)
			by, code, ok := consent.RejectionFor(h[len(h)-1].From, h[len(h)-1].Event)
			require.True(t, ok)
			require.Equal(t, by, c.Rejection.RejectedBy)
			require.Equal(t, code, c.Rejection.Reason)
		} else {
			require.Nil(t, c.Rejection)
		}
		finals[c.Status]++
		historyRows += len(h)
	}
	t.Logf("%s: final statuses %v", b.Engine, finals)

	// The outbox holds exactly one event per history row, per consent and in
	// version order.
	perConsent := map[string][]int64{}
	eventIDs := map[string]bool{}
	for {
		evs, err := s.ClaimOutbox(ctx, 500)
		require.NoError(t, err)
		if len(evs) == 0 {
			break
		}
		for _, e := range evs {
			require.False(t, eventIDs[e.ID], "event %s handed out twice", e.ID)
			eventIDs[e.ID] = true
			var le consent.LifecycleEvent
			require.NoError(t, json.Unmarshal(e.Payload, &le))
			require.Equal(t, e.ConsentID, le.ConsentID)
			perConsent[e.ConsentID] = append(perConsent[e.ConsentID], le.Version)
		}
		require.NoError(t, s.MarkPublished(ctx, outboxIDs(evs)))
	}
	require.Len(t, eventIDs, historyRows)
	for _, id := range ids {
		vs := perConsent[id]
		for i, v := range vs {
			require.Equal(t, int64(i+1), v, "%s: outbox events in version order without gaps", id)
		}
	}
	pending, err := s.PendingOutbox(ctx)
	require.NoError(t, err)
	require.Zero(t, pending)
}
