package settlehttp_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/ofp-dev/ofp/consent/payments"
	"github.com/ofp-dev/ofp/consent/payments/settlehttp"
	"github.com/ofp-dev/ofp/internal/backendrpc"
	"github.com/ofp-dev/ofp/internal/backendrpc/backendrpctest"
	"github.com/ofp-dev/ofp/sim/spi"
)

const token = "settle-test-token-0123456789"

func order(id, amount string) payments.Order {
	return payments.Order{PaymentID: id, ConsentID: "urn:test:pay-" + id, EndToEndID: "E" + id, Amount: amount, Currency: "BRL",
		LocalInstrument: "DICT", Debtor: payments.Account{ISPB: "12345678", Issuer: "0001", Number: "1234567", AccountType: "CACC"},
		Creditor: payments.Account{ISPB: "87654321", Issuer: "0002", Number: "7654321", AccountType: "CACC"}, Proxy: "+5561990000000"}
}

func start(t *testing.T, eng *spi.Engine) (*settlehttp.Client, *settlehttp.Server) {
	t.Helper()
	srv := settlehttp.NewServer(eng, eng)
	mux := http.NewServeMux()
	srv.Register(mux, token)
	h, checked := backendrpctest.Validating(t, mux)
	t.Cleanup(func() {
		if checked.N() == 0 {
			t.Error("no exchange was checked against the contract document")
		}
	})
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	rpc, err := backendrpc.NewClient(backendrpc.Options{BaseURL: hs.URL, Token: token, Backoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return settlehttp.New(rpc, 10*time.Millisecond, nil), srv
}

// TestChecksSubmissionsAndOutcomesCrossTheContract: the simulated SPI's
// decisions and outcomes reach the holder's side unchanged; an outcome
// whose report fails comes again, one reported is acknowledged once.
func TestChecksSubmissionsAndOutcomesCrossTheContract(t *testing.T) {
	ctx := context.Background()
	eng := spi.New(spi.Options{ByAmount: map[string]spi.Outcome{"13.13": spi.InsufficientFunds, "14.14": spi.RejectSPI, "15.15": spi.HoldThenSettle}})
	cl, srv := start(t, eng)

	for amount, want := range map[string]payments.Decision{"10.00": payments.DecisionAccept, "13.13": payments.DecisionReject, "15.15": payments.DecisionHold} {
		got, err := cl.Check(ctx, order("c"+amount, amount))
		if err != nil || got.Decision != want {
			t.Fatalf("check of %s: %+v %v, want %s", amount, got, err, want)
		}
		if want == payments.DecisionReject && (got.Rejection == nil || got.Rejection.Code != payments.PayRejectInsufficientFunds) {
			t.Fatalf("check of %s: rejection %+v, want SALDO_INSUFICIENTE", amount, got.Rejection)
		}
	}

	for _, o := range []payments.Order{order("p1", "10.00"), order("p2", "14.14")} {
		if err := cl.Submit(ctx, o); err != nil {
			t.Fatalf("submit %s: %v", o.PaymentID, err)
		}
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { _ = eng.Run(runCtx, srv.Report) }()
	deadline := time.Now().Add(5 * time.Second)
	for srv.Pending() < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if srv.Pending() != 2 {
		t.Fatalf("%d outcomes wait, want 2", srv.Pending())
	}

	// The first report of p1 fails: it stays, p2 is acknowledged.
	var mu sync.Mutex
	got := map[string]payments.SettlementOutcome{}
	failOnce := true
	report := func(_ context.Context, out payments.SettlementOutcome) error {
		mu.Lock()
		defer mu.Unlock()
		if out.PaymentID == "p1" && failOnce {
			failOnce = false
			return errors.New("database down")
		}
		got[out.PaymentID] = out
		return nil
	}
	n, err := cl.Poll(ctx, report)
	if err != nil || n != 1 || srv.Pending() != 1 {
		t.Fatalf("first poll: %d acknowledged, %v; %d waiting; want 1 and 1", n, err, srv.Pending())
	}
	if n, err = cl.Poll(ctx, report); err != nil || n != 1 || srv.Pending() != 0 {
		t.Fatalf("second poll: %d acknowledged, %v; %d waiting; want 1 and 0", n, err, srv.Pending())
	}
	if !got["p1"].Settled || got["p1"].EndToEndID != "Ep1" {
		t.Fatalf("p1: %+v, want settled", got["p1"])
	}
	if got["p2"].Settled || got["p2"].Rejection == nil || got["p2"].Rejection.Code != payments.PayRejectRefusedBySPI {
		t.Fatalf("p2: %+v, want rejected PAGAMENTO_RECUSADO_SPI", got["p2"])
	}
}

// TestClientNeverAcceptsWhatItCannotRead: a back end answering an
// unknown decision, or REJECT without a code, leaves the payment to be
// checked again (an error), never accepted.
func TestClientNeverAcceptsWhatItCannotRead(t *testing.T) {
	for _, answer := range []string{`{"decision":"MAYBE"}`, `{"decision":"REJECT"}`, `{"decision":""}`, `{}`} {
		hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(answer))
		}))
		rpc, err := backendrpc.NewClient(backendrpc.Options{BaseURL: hs.URL})
		if err != nil {
			t.Fatal(err)
		}
		res, err := settlehttp.New(rpc, 0, nil).Check(context.Background(), order("x", "1.00"))
		hs.Close()
		if !errors.Is(err, backendrpc.ErrUnavailable) {
			t.Fatalf("answer %s: %+v %v, want ErrUnavailable", answer, res, err)
		}
	}
	// The wire form of an order carries every field.
	b, _ := json.Marshal(settlehttp.Order{})
	var fields map[string]any
	_ = json.Unmarshal(b, &fields)
	for _, f := range []string{"payment_id", "end_to_end_id", "amount", "currency", "debtor", "creditor"} {
		if _, ok := fields[f]; !ok {
			t.Fatalf("an order on the wire lacks %s: %s", f, b)
		}
	}
}
