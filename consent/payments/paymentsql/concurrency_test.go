package paymentsql

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/consent/payments"
)

// TestConcurrentDuplicatesExecuteOnce fires the same request (same key,
// same content) from many goroutines at once: exactly one executes, every
// other one is told to replay, and exactly one set of resources exists.
// Then different keys race for one consent: exactly one consumes it.
func TestConcurrentDuplicatesExecuteOnce(t *testing.T) {
	forEachEngine(t, func(t *testing.T, b backend) {
		const n = 12
		ctx := context.Background()
		clk := newClock(t0)
		s := b.Open(t, Options{Now: clk.Now, MaxOpenConns: 16})

		race := func(fn func(i int) error) (won int, replays int) {
			var wg sync.WaitGroup
			errs := make([]error, n)
			start := make(chan struct{})
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					errs[i] = fn(i)
				}()
			}
			close(start)
			wg.Wait()
			for _, err := range errs {
				switch {
				case err == nil:
					won++
				case errors.Is(err, payments.ErrIdempotencyRace):
					replays++
				default:
					t.Fatalf("unexpected error: %v", err)
				}
			}
			return won, replays
		}

		// POST /consents duplicates.
		req := consentReq(t, clk.Now(), nil)
		ids := make([]string, n)
		won, replays := race(func(i int) error {
			r := req
			id, err := payments.NewConsentID("ofpbank")
			require.NoError(t, err)
			r.ID = id
			ids[i] = id
			_, err = s.CreateConsent(ctx, r, idemFor("POST /consents", "same", "h"), tpp)
			return err
		})
		require.Equal(t, 1, won)
		require.Equal(t, n-1, replays)
		rec, ok, err := s.LookupIdempotency(ctx, payments.IdempotencyKey{Endpoint: "POST /consents", OrgID: "org-a", Key: "same"})
		require.NoError(t, err)
		require.True(t, ok)
		stored := 0
		for _, id := range ids {
			if _, err := s.GetConsent(ctx, id); err == nil {
				stored++
				require.Equal(t, []string{id}, rec.ResourceIDs)
			}
		}
		require.Equal(t, 1, stored, "exactly one consent exists")

		// POST /pix/payments duplicates.
		c := authorisedConsent(t, s, clk, nil)
		its := items(t, c, clk.Now(), 7)
		var mu sync.Mutex
		var created []payments.Payment
		won, replays = race(func(int) error {
			ps, err := s.CreatePayments(ctx, c.ID, "client-a", its, idemFor("POST /pix/payments", "pay-once", "h"), tpp)
			if err == nil {
				mu.Lock()
				created = append(created, ps...)
				mu.Unlock()
			}
			return err
		})
		require.Equal(t, 1, won)
		require.Equal(t, n-1, replays)
		all, err := s.PaymentsOfConsent(ctx, c.ID)
		require.NoError(t, err)
		require.Len(t, all, 1)
		require.Equal(t, created[0].ID, all[0].ID)

		// Different keys on one consent: one consumes it, the rest are 422.
		c2 := authorisedConsent(t, s, clk, nil)
		var (
			okCount   int
			ruleCount int
			wg        sync.WaitGroup
		)
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, err := s.CreatePayments(ctx, c2.ID, "client-a", items(t, c2, clk.Now(), 100+i),
					idemFor("POST /pix/payments", "k-"+string(rune('a'+i)), "h"), tpp)
				mu.Lock()
				defer mu.Unlock()
				if err == nil {
					okCount++
				} else if re, ok := payments.AsRuleError(err); ok && re.Code == payments.CodeConsentInvalid {
					ruleCount++
				} else {
					t.Errorf("unexpected: %v", err)
				}
			}()
		}
		close(start)
		wg.Wait()
		require.Equal(t, 1, okCount)
		require.Equal(t, n-1, ruleCount)
		all, err = s.PaymentsOfConsent(ctx, c2.ID)
		require.NoError(t, err)
		require.Len(t, all, 1)
	})
}
