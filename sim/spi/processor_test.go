package spi_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/consent/payments"
	"github.com/ofp-dev/ofp/consent/payments/paymentsql"
	"github.com/ofp-dev/ofp/internal/sqltest"
	"github.com/ofp-dev/ofp/sim/spi"
)

// t0 is 12:00 UTC = 09:00 Brasília on 2026-03-10.
var t0 = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

type clock struct{ ns atomic.Int64 }

func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

type rig struct {
	t     *testing.T
	clk   *clock
	store *paymentsql.Store
	eng   *spi.Engine
	proc  *payments.Processor
	seq   int
}

func newRig(t *testing.T, engine string, opts spi.Options) *rig {
	clk := &clock{}
	clk.ns.Store(t0.UnixNano())
	ctx := context.Background()
	var (
		store *paymentsql.Store
		err   error
	)
	sopts := paymentsql.Options{Now: clk.Now}
	if engine == "postgres" {
		store, err = paymentsql.OpenPostgres(ctx, sqltest.PostgresSchema(t, "spi_test"), sopts)
	} else {
		store, err = paymentsql.OpenSQLite(ctx, filepath.Join(t.TempDir(), "p.db"), sopts)
	}
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	opts.Now = clk.Now
	eng := spi.New(opts)
	proc, err := payments.NewProcessor(store, eng, eng, payments.ProcessorOptions{Now: clk.Now,
		HoldReview: 30 * time.Second, ResubmitAfter: 2 * time.Minute})
	require.NoError(t, err)
	return &rig{t: t, clk: clk, store: store, eng: eng, proc: proc}
}

// drive ticks the processor and delivers due outcomes until nothing moves.
func (r *rig) drive() {
	r.t.Helper()
	ctx := context.Background()
	for range 20 {
		n, err := r.proc.Tick(ctx)
		if !errors.Is(err, spi.ErrUnavailable) { // a simulated outage is retried on the next tick
			require.NoError(r.t, err)
		}
		d, err := r.eng.Flush(ctx, r.proc.Complete)
		require.NoError(r.t, err)
		if n == 0 && d == 0 {
			return
		}
	}
	r.t.Fatal("the processor did not settle down")
}

var creditor = payments.Account{ISPB: "87654321", Issuer: "0002", Number: "654321", AccountType: "CACC"}

// initiate creates, authorises and consumes a consent of amount (with an
// optional schedule) and returns its payments.
func (r *rig) initiate(amount string, sched *payments.Schedule) []payments.Payment {
	r.t.Helper()
	ctx := context.Background()
	id, err := payments.NewConsentID("ofpbank")
	require.NoError(r.t, err)
	c := payments.Consent{ID: id, ClientID: "client-a", OrgID: "org-a",
		LoggedUser: payments.Document{Identification: "11111111111", Rel: "CPF"},
		Creditor:   payments.Creditor{PersonType: "PESSOA_JURIDICA", CpfCnpj: "12345678000199", Name: "Loja"},
		Payment: payments.ConsentPayment{Type: "PIX", Currency: "BRL", Amount: amount, Schedule: sched,
			Details: payments.Details{LocalInstrument: "DICT", Proxy: "loja@example.com", CreditorAccount: creditor}}}
	if sched == nil {
		d := payments.DateOf(r.clk.Now())
		c.Payment.Date = &d
	}
	_, err = r.store.CreateConsent(ctx, c, nil, payments.Actor{Who: "test"})
	require.NoError(r.t, err)
	_, err = r.store.Authorise(ctx, id, payments.Customer{CPF: "11111111111"},
		payments.Account{ISPB: "12345678", Issuer: "0001", Number: "123456", AccountType: "CACC"})
	require.NoError(r.t, err)
	var items []payments.Payment
	at := []time.Time{r.clk.Now()}
	if sched != nil {
		dates, err := sched.Dates()
		require.NoError(r.t, err)
		at = nil
		for _, d := range dates {
			at = append(at, time.Date(d.Year, d.Month, d.Day, 15, 0, 0, 0, time.UTC))
		}
	}
	for _, when := range at {
		r.seq++
		items = append(items, payments.Payment{EndToEndID: fmt.Sprintf("E12345678%s%011d", when.Format("200601021504"), r.seq),
			LocalInstrument: "DICT", Amount: amount, Currency: "BRL", CreditorAccount: creditor, Proxy: "loja@example.com",
			CnpjInitiator: "50685362000135"})
	}
	ps, err := r.store.CreatePayments(ctx, id, "client-a", items, nil, payments.Actor{Who: "test"})
	require.NoError(r.t, err)
	return ps
}

func (r *rig) path(id string) []string {
	r.t.Helper()
	h, err := r.store.PaymentHistory(context.Background(), id)
	require.NoError(r.t, err)
	var out []string
	for _, e := range h {
		out = append(out, e.To)
	}
	return out
}

func (r *rig) payment(id string) payments.Payment {
	r.t.Helper()
	p, err := r.store.GetPayment(context.Background(), id)
	require.NoError(r.t, err)
	return p
}

func TestImmediatePaymentSettles(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			r := newRig(t, engine, spi.Options{SettleDelay: 2 * time.Second})
			p := r.initiate("100.00", nil)[0]
			r.drive()
			require.Equal(t, []string{"RCVD", "ACCP", "ACPD"}, r.path(p.ID), "waiting for the SPI")
			r.clk.Advance(2 * time.Second)
			r.drive()
			require.Equal(t, []string{"RCVD", "ACCP", "ACPD", "ACSC"}, r.path(p.ID))
			n, err := r.store.NoticesOf(context.Background(), p.ID)
			require.NoError(t, err)
			require.Len(t, n, 3, "one webhook per change")
			s := r.eng.Stats()
			require.Equal(t, 1, s.Submissions)
			require.Equal(t, 1, s.Settled)
		})
	}
}

func TestFailuresAndHolds(t *testing.T) {
	r := newRig(t, "sqlite", spi.Options{ByAmount: map[string]spi.Outcome{
		"1.01": spi.RejectSPI, "1.02": spi.InsufficientFunds, "1.03": spi.HoldThenSettle, "1.04": spi.HoldThenReject,
		"1.05": spi.SubmitFails, "1.06": spi.LoseOutcome, "1.07": spi.InfraSPI, "1.08": spi.AboveLimit,
	}})
	ids := map[string]string{}
	for _, amt := range []string{"1.01", "1.02", "1.03", "1.04", "1.05", "1.06", "1.07", "1.08"} {
		ids[amt] = r.initiate(amt, nil)[0].ID
	}
	r.drive()
	require.Equal(t, []string{"RCVD", "ACCP", "ACPD", "RJCT"}, r.path(ids["1.01"]))
	require.Equal(t, payments.PayRejectRefusedBySPI, r.payment(ids["1.01"]).Rejection.Code)
	require.Equal(t, []string{"RCVD", "RJCT"}, r.path(ids["1.02"]))
	require.Equal(t, payments.PayRejectInsufficientFunds, r.payment(ids["1.02"]).Rejection.Code)
	require.Equal(t, payments.PayRejectAboveLimit, r.payment(ids["1.08"]).Rejection.Code)
	require.Equal(t, payments.PayRejectInfrastructureSPI, r.payment(ids["1.07"]).Rejection.Code)
	require.Equal(t, []string{"RCVD", "PDNG"}, r.path(ids["1.03"]))
	require.Equal(t, []string{"RCVD", "PDNG"}, r.path(ids["1.04"]))
	require.Equal(t, []string{"RCVD", "ACCP", "ACPD", "ACSC"}, r.path(ids["1.05"]), "the failed submission was retried")
	require.Equal(t, []string{"RCVD", "ACCP", "ACPD"}, r.path(ids["1.06"]), "its outcome was lost")

	// Held payments are checked again after the review delay.
	r.clk.Advance(31 * time.Second)
	r.drive()
	require.Equal(t, []string{"RCVD", "PDNG", "ACCP", "ACPD", "ACSC"}, r.path(ids["1.03"]))
	require.Equal(t, []string{"RCVD", "PDNG", "RJCT"}, r.path(ids["1.04"]))
	require.Equal(t, payments.PayRejectRefusedByHolder, r.payment(ids["1.04"]).Rejection.Code)

	// The overdue ACPD is resubmitted; the SPI resends its outcome, once.
	r.clk.Advance(2 * time.Minute)
	r.drive()
	require.Equal(t, []string{"RCVD", "ACCP", "ACPD", "ACSC"}, r.path(ids["1.06"]))
	s := r.eng.Stats()
	require.Equal(t, 1, s.LostOutcomes)
	require.Equal(t, 1, s.SubmitErrors)
	require.GreaterOrEqual(t, s.Duplicates, 1)
	// A duplicate outcome is harmless.
	require.NoError(t, r.proc.Complete(context.Background(), payments.SettlementOutcome{PaymentID: ids["1.06"], Settled: true}))
	require.Equal(t, payments.PaymentACSC, r.payment(ids["1.06"]).Status)
}

func TestCancelWhileHeld(t *testing.T) {
	r := newRig(t, "sqlite", spi.Options{ByAmount: map[string]spi.Outcome{"5.00": spi.HoldThenSettle}})
	p := r.initiate("5.00", nil)[0]
	r.drive()
	require.Equal(t, payments.PaymentPDNG, r.payment(p.ID).Status)
	c, err := r.store.CancelPayment(context.Background(), p.ID, "client-a", payments.Document{Identification: "11111111111", Rel: "CPF"},
		payments.CancelledFromInitiator, payments.Actor{Who: "test"})
	require.NoError(t, err)
	require.Equal(t, payments.CancelledPending, c.Cancellation.Reason)
	r.clk.Advance(time.Minute)
	r.drive()
	require.Equal(t, []string{"RCVD", "PDNG", "CANC"}, r.path(p.ID), "a cancelled payment is never settled")
	require.Zero(t, r.eng.Stats().Submissions)
}

func TestScheduledPaymentsSettleOnTheirDay(t *testing.T) {
	r := newRig(t, "sqlite", spi.Options{})
	start := payments.DateOf(t0).AddDays(1)
	ps := r.initiate("30.00", &payments.Schedule{Daily: &payments.ScheduleDaily{StartDate: start, Quantity: 2}})
	r.drive()
	for _, p := range ps {
		require.Equal(t, []string{"RCVD", "SCHD"}, r.path(p.ID))
	}
	require.Zero(t, r.eng.Stats().Checks, "no balance check when scheduling")
	// Midnight in Brasília on the first date.
	r.clk.Advance(start.Start().Sub(r.clk.Now()))
	r.drive()
	require.Equal(t, []string{"RCVD", "SCHD", "ACCP", "ACPD", "ACSC"}, r.path(ps[0].ID))
	require.Equal(t, []string{"RCVD", "SCHD"}, r.path(ps[1].ID), "tomorrow's is still scheduled")
	r.clk.Advance(24 * time.Hour)
	r.drive()
	require.Equal(t, payments.PaymentACSC, r.payment(ps[1].ID).Status)
}

func TestSchedulingDeadlineRejectsTheBatch(t *testing.T) {
	r := newRig(t, "sqlite", spi.Options{})
	start := payments.DateOf(t0).AddDays(3)
	ps := r.initiate("30.00", &payments.Schedule{Daily: &payments.ScheduleDaily{StartDate: start, Quantity: 3}})
	// The processor was down for more than 60 minutes.
	r.clk.Advance(61 * time.Minute)
	r.drive()
	for _, p := range ps {
		got := r.payment(p.ID)
		require.Equal(t, payments.PaymentRJCT, got.Status)
		require.Equal(t, payments.PayRejectSchedulingFailed, got.Rejection.Code)
	}
}

func TestProcessorExpiresConsents(t *testing.T) {
	r := newRig(t, "sqlite", spi.Options{})
	ctx := context.Background()
	id, err := payments.NewConsentID("ofpbank")
	require.NoError(t, err)
	today := payments.DateOf(t0)
	_, err = r.store.CreateConsent(ctx, payments.Consent{ID: id, ClientID: "client-a", OrgID: "org-a",
		LoggedUser: payments.Document{Identification: "11111111111", Rel: "CPF"},
		Creditor:   payments.Creditor{PersonType: "PESSOA_NATURAL", CpfCnpj: "22222222222", Name: "Maria"},
		Payment: payments.ConsentPayment{Type: "PIX", Date: &today, Currency: "BRL", Amount: "1.00",
			Details: payments.Details{LocalInstrument: "MANU", CreditorAccount: creditor}}}, nil, payments.Actor{Who: "test"})
	require.NoError(t, err)
	r.drive()
	c, err := r.store.GetConsent(ctx, id)
	require.NoError(t, err)
	require.Equal(t, payments.ConsentAwaitingAuthorisation, c.Status)
	r.clk.Advance(5 * time.Minute)
	r.drive()
	c, err = r.store.GetConsent(ctx, id)
	require.NoError(t, err)
	require.Equal(t, payments.ConsentRejected, c.Status)
	require.Equal(t, payments.RejectAuthorisationExpired, c.Rejection.Code)
}

// TestRunDeliversWithRealTimers runs the engine and the processor as
// goroutines (what cmd/ofp does) and waits for the payment to settle.
func TestRunDeliversWithRealTimers(t *testing.T) {
	r := newRig(t, "sqlite", spi.Options{})
	// The store and processor keep the test clock; this engine runs on real time.
	eng := spi.New(spi.Options{CheckDelay: 5 * time.Millisecond, SettleDelay: 20 * time.Millisecond})
	proc, err := payments.NewProcessor(r.store, eng, eng, payments.ProcessorOptions{Now: r.clk.Now, Interval: 10 * time.Millisecond})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 2)
	go func() { done <- eng.Run(ctx, proc.Complete) }()
	go func() { done <- proc.Run(ctx) }()
	p := r.initiate("9.99", nil)[0]
	proc.Kick()
	require.Eventually(t, func() bool {
		got, err := r.store.GetPayment(context.Background(), p.ID)
		return err == nil && got.Status == payments.PaymentACSC
	}, 10*time.Second, 10*time.Millisecond)
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
	require.ErrorIs(t, <-done, context.Canceled)
}

func TestRandomRatesAreSeeded(t *testing.T) {
	run := func() spi.Stats {
		r := newRig(t, "sqlite", spi.Options{RejectRate: 0.3, HoldRate: 0.2, Seed: 7})
		for i := range 20 {
			r.initiate(fmt.Sprintf("%d.00", 10+i), nil)
		}
		r.drive()
		r.clk.Advance(time.Minute)
		r.drive()
		return r.eng.Stats()
	}
	a, b := run(), run()
	require.Equal(t, a, b, "same seed, same outcomes")
	require.Positive(t, a.Rejected)
	require.Positive(t, a.Holds)
	require.Equal(t, 20, a.Settled+a.Rejected)
}
