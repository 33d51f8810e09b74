package paymentshttp

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/consent/payments"
	"github.com/ofp-dev/ofp/consent/payments/jwtbody"
	"github.com/ofp-dev/ofp/sim/spi"
)

// TestSettlementVisibleThroughTheAPI drives payments with the simulated SPI
// and reads every state the initiator can see through GET (each answer
// validated against the spec): ACSC, RJCT with its reason, PDNG then CANC,
// and a scheduled batch rejected with FALHA_AGENDAMENTO_PAGAMENTOS.
func TestSettlementVisibleThroughTheAPI(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			e := newEnv(t, engine)
			ctx := context.Background()
			eng := spi.New(spi.Options{Now: e.clock.Now, ByAmount: map[string]spi.Outcome{
				"2.00": spi.RejectSPI, "3.00": spi.HoldThenSettle, "4.00": spi.InsufficientFunds}})
			proc, err := payments.NewProcessor(e.store, eng, eng, payments.ProcessorOptions{Now: e.clock.Now})
			require.NoError(t, err)
			drive := func() {
				for range 10 {
					n, err := proc.Tick(ctx)
					require.NoError(t, err)
					d, err := eng.Flush(ctx, proc.Complete)
					require.NoError(t, err)
					if n+d == 0 {
						return
					}
				}
			}
			pay := func(amount string, seq int) string {
				id := e.newConsent(consentBody(e.clock.Now(), amount, nil))
				e.authorise(id)
				r := e.pay(id, []any{pixItem(e.clock.Now(), seq, amount)}, "k-"+amount)
				require.Equal(t, http.StatusCreated, r.status, "%v", r.body)
				return r.dataList()[0].(map[string]any)["paymentId"].(string)
			}
			get := func(pid string) map[string]any {
				r := e.do(call{method: "GET", path: BasePath + "/pix/payments/" + pid})
				require.Equal(t, http.StatusOK, r.status)
				return r.data()
			}
			settled, refused, held, poor := pay("1.00", 1), pay("2.00", 2), pay("3.00", 3), pay("4.00", 4)
			drive()
			require.Equal(t, "ACSC", get(settled)["status"])
			rej := get(refused)
			require.Equal(t, "RJCT", rej["status"])
			require.Equal(t, "PAGAMENTO_RECUSADO_SPI", rej["rejectionReason"].(map[string]any)["code"])
			require.Equal(t, "SALDO_INSUFICIENTE", get(poor)["rejectionReason"].(map[string]any)["code"])
			require.Equal(t, "PDNG", get(held)["status"])
			cancel := map[string]any{"status": "CANC", "cancellation": map[string]any{"cancelledBy": map[string]any{
				"document": map[string]any{"identification": "11111111111", "rel": "CPF"}}}}
			r := e.do(call{method: "PATCH", path: BasePath + "/pix/payments/" + held, data: cancel})
			require.Equal(t, http.StatusOK, r.status)
			require.Equal(t, "CANCELADO_PENDENCIA", r.data()["cancellation"].(map[string]any)["reason"])
			e.clock.Advance(time.Minute)
			drive()
			require.Equal(t, "CANC", get(held)["status"], "a cancelled payment stays cancelled")
			r = e.do(call{method: "PATCH", path: BasePath + "/pix/payments/" + settled, data: cancel})
			require.Equal(t, http.StatusUnprocessableEntity, r.status, "a settled payment cannot be cancelled")
			require.Equal(t, "PAGAMENTO_NAO_PERMITE_CANCELAMENTO", r.errorCode())

			// A scheduled batch that could not reach SCHD within 60 minutes.
			start := payments.DateOf(e.clock.Now()).AddDays(3)
			id := e.newConsent(consentBody(e.clock.Now(), "6.00", map[string]any{"daily": map[string]any{"startDate": start.String(), "quantity": 2}}))
			e.authorise(id)
			var items []any
			for i := range 2 {
				d := start.AddDays(i)
				items = append(items, pixItem(time.Date(d.Year, d.Month, d.Day, 15, 0, 0, 0, time.UTC), 60+i, "6.00"))
			}
			r = e.pay(id, items, "late-batch")
			require.Equal(t, http.StatusCreated, r.status)
			pid := r.dataList()[0].(map[string]any)["paymentId"].(string)
			e.clock.Advance(61 * time.Minute)
			drive()
			g := get(pid)
			require.Equal(t, "RJCT", g["status"])
			require.Equal(t, "FALHA_AGENDAMENTO_PAGAMENTOS", g["rejectionReason"].(map[string]any)["code"])
			// The POST answer's enum lacks that code: a replay shows NAO_INFORMADO.
			r = e.pay(id, items, "late-batch")
			require.True(t, r.replays)
			rr := r.dataList()[0].(map[string]any)["rejectionReason"].(map[string]any)
			require.Equal(t, "NAO_INFORMADO", rr["code"])
			require.True(t, strings.HasPrefix(rr["detail"].(string), "FALHA_AGENDAMENTO_PAGAMENTOS"))
		})
	}
}

// FuzzConsentBody posts arbitrary bodies to POST /consents through the
// handler: whatever arrives, the answer is a client error (never a 5xx) and
// nothing panics.
func FuzzConsentBody(f *testing.F) {
	testKeys(f)
	clk := &testClock{}
	clk.ns.Store(t0.UnixNano())
	store := openStore(f, "sqlite", clk)
	h := newHandler(f, store, clk.Now, nil)
	e := &env{clock: clk}
	f.Add(e.signFor(f, consentBody(t0, "1.00", nil)))
	f.Add([]byte(`{"data":{}}`))
	f.Add([]byte("a.b.c"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPost, BasePath+"/consents", strings.NewReader(string(body)))
		req.Header.Set("x-fapi-interaction-id", "3b7c3d2e-7c8b-4c1a-9d0e-2a1b3c4d5e6f")
		req.Header.Set("Content-Type", "application/jwt")
		req.Header.Set("x-idempotency-key", "fuzz-key")
		req.Header.Set("X-Test-Client", "client-a")
		req.Header.Set("X-Test-Grant", GrantClientCredentials)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code >= 500 {
			t.Fatalf("status %d for body %q: %s", w.Code, body, w.Body.String())
		}
	})
}

// signFor signs data as client-a's request to POST /consents.
func (e *env) signFor(t testing.TB, data any) []byte {
	s, _, err := clientKeys["client-a"].ActiveSigner("", nil)
	require.NoError(t, err)
	b, err := jwtbody.Compose(s, "org-a", publicURL+BasePath+"/consents", uuid.NewString(), e.clock.Now(), map[string]any{"data": data})
	require.NoError(t, err)
	return b
}
