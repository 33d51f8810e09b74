package paymentshttp

import (
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestConcurrentDuplicateInitiations sends the same POST /pix/payments
// (same key, same content, each with its own jti) from many goroutines at
// once: every one gets 201 with the same paymentId, and exactly one payment
// exists. Then the same for POST /consents.
func TestConcurrentDuplicateInitiations(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			const n = 10
			e := newEnv(t, engine)
			id := e.newConsent(consentBody(e.clock.Now(), "77.00", nil))
			e.authorise(id)
			items := []any{pixItem(e.clock.Now(), 9, "77.00")}

			results := make([]resp, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					// do's require calls must run on the test goroutine: use a
					// plain request here and check afterwards.
					results[i] = e.rawPay(id, items, "dup-key")
				}()
			}
			close(start)
			wg.Wait()
			var pid string
			replays := 0
			for _, r := range results {
				require.Equal(t, http.StatusCreated, r.status, "%s", r.raw)
				got := r.dataList()[0].(map[string]any)["paymentId"].(string)
				if pid == "" {
					pid = got
				}
				require.Equal(t, pid, got, "every duplicate sees the one payment")
				if r.replays {
					replays++
				}
			}
			require.Equal(t, n-1, replays, "executed exactly once")
			all, err := e.store.PaymentsOfConsent(context.Background(), id)
			require.NoError(t, err)
			require.Len(t, all, 1)

			// And through the validated path once more: a replay is spec-valid.
			r := e.pay(id, items, "dup-key")
			require.Equal(t, http.StatusCreated, r.status)
			require.True(t, r.replays)

			body := consentBody(e.clock.Now(), "12.00", nil)
			consents := make([]resp, n)
			start = make(chan struct{})
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					consents[i] = e.rawPost(BasePath+"/consents", body, "dup-consent")
				}()
			}
			close(start)
			wg.Wait()
			var cid string
			for _, r := range consents {
				require.Equal(t, http.StatusCreated, r.status, "%s", r.raw)
				got := r.data()["consentId"].(string)
				if cid == "" {
					cid = got
				}
				require.Equal(t, cid, got)
			}
		})
	}
}
