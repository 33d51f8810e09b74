package spi

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/ofp-dev/ofp/consent/payments"
)

// Outcome is what the simulator does with a payment.
type Outcome string

const (
	// Settle: checks pass, the SPI settles it (ACSC). The default.
	Settle Outcome = "settle"
	// RejectSPI: the SPI refuses it (RJCT PAGAMENTO_RECUSADO_SPI, reason AC03).
	RejectSPI Outcome = "reject-spi"
	// InfraSPI: the SPI fails (RJCT FALHA_INFRAESTRUTURA_SPI).
	InfraSPI Outcome = "infra-spi"
	// ReceiverPSPDown: the receiving PSP fails (RJCT FALHA_INFRAESTRUTURA_PSP_RECEBEDOR).
	ReceiverPSPDown Outcome = "receiver-psp-down"
	// InsufficientFunds: the holder's check refuses it (RJCT SALDO_INSUFICIENTE).
	InsufficientFunds Outcome = "insufficient-funds"
	// AboveLimit: the holder's check refuses it (RJCT VALOR_ACIMA_LIMITE).
	AboveLimit Outcome = "above-limit"
	// HoldThenSettle: held for analysis (PDNG), released on review, settled.
	HoldThenSettle Outcome = "hold-then-settle"
	// HoldThenReject: held for analysis (PDNG), refused on review
	// (RJCT PAGAMENTO_RECUSADO_DETENTORA).
	HoldThenReject Outcome = "hold-then-reject"
	// SubmitFails: the first submission of the order fails (the SPI is
	// unreachable); the next one is taken and settled.
	SubmitFails Outcome = "submit-fails"
	// LoseOutcome: the first outcome message is lost; a resubmission gets
	// it (the payment settles).
	LoseOutcome Outcome = "lose-outcome"
)

// Options configures the simulator. The zero value settles everything at
// once.
type Options struct {
	// CheckDelay is how long the holder's checks take; SettleDelay how long
	// the SPI takes from submission to outcome.
	CheckDelay, SettleDelay time.Duration
	// ByAmount forces the outcome of payments of an exact amount ("13.13"),
	// for deterministic scenarios.
	ByAmount map[string]Outcome
	// Random failure rates in [0,1], drawn from Seed: SPI rejections,
	// SPI infrastructure failures, holds for analysis (released on review),
	// submission failures.
	RejectRate, InfraRate, HoldRate, SubmitErrorRate float64
	Seed                                             uint64
	// Now is the clock that outcomes are due by; default time.Now.
	Now func() time.Time
}

// Stats counts what the simulator did.
type Stats struct {
	Checks, Holds, CheckRejects  int
	Submissions, Duplicates      int
	SubmitErrors, LostOutcomes   int
	Settled, Rejected, Delivered int
}

// Engine simulates the holder's core-banking checks (payments.Checker)
// and the Pix settlement system (payments.Settlement) with configurable
// delays and failures. Outcomes are delivered by Run (or Flush) to a
// report function: wire (*payments.Processor).Complete.
type Engine struct {
	opts Options
	now  func() time.Time

	mu      sync.Mutex
	rng     *rand.Rand
	orders  map[string]*order // by endToEndId
	queue   []delivery        // pending outcomes
	wake    chan struct{}
	stats   Stats
	submits map[string]int // by endToEndId
}

type order struct {
	o       payments.Order
	outcome payments.SettlementOutcome
	decided bool
}

type delivery struct {
	due time.Time
	out payments.SettlementOutcome
}

var (
	_ payments.Checker    = (*Engine)(nil)
	_ payments.Settlement = (*Engine)(nil)
)

// New returns an Engine.
func New(opts Options) *Engine {
	e := &Engine{opts: opts, now: opts.Now, orders: map[string]*order{},
		wake: make(chan struct{}, 1), submits: map[string]int{}}
	if e.now == nil {
		e.now = time.Now
	}
	e.rng = rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15))
	return e
}

func (e *Engine) outcomeFor(o payments.Order) Outcome {
	if oc, ok := e.opts.ByAmount[o.Amount]; ok {
		return oc
	}
	return ""
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Check is the holder's check of a payment before settlement.
func (e *Engine) Check(ctx context.Context, o payments.Order) (payments.CheckResult, error) {
	if err := sleep(ctx, e.opts.CheckDelay); err != nil {
		return payments.CheckResult{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.stats.Checks++
	reject := func(code payments.PaymentRejectionCode, detail string) (payments.CheckResult, error) {
		e.stats.CheckRejects++
		return payments.CheckResult{Decision: payments.DecisionReject, Rejection: &payments.PaymentRejection{Code: code, Detail: detail}}, nil
	}
	switch e.outcomeFor(o) {
	case InsufficientFunds:
		return reject(payments.PayRejectInsufficientFunds, "A conta selecionada não possui saldo suficiente para realizar o pagamento.")
	case AboveLimit:
		return reject(payments.PayRejectAboveLimit, "O valor ultrapassa o limite estabelecido na instituição.")
	case HoldThenSettle:
		if !o.Review {
			e.stats.Holds++
			return payments.CheckResult{Decision: payments.DecisionHold}, nil
		}
	case HoldThenReject:
		if !o.Review {
			e.stats.Holds++
			return payments.CheckResult{Decision: payments.DecisionHold}, nil
		}
		return reject(payments.PayRejectRefusedByHolder, "Pagamento recusado pela detentora após análise.")
	default:
		if !o.Review && e.opts.HoldRate > 0 && e.rng.Float64() < e.opts.HoldRate {
			e.stats.Holds++
			return payments.CheckResult{Decision: payments.DecisionHold}, nil
		}
	}
	return payments.CheckResult{Decision: payments.DecisionAccept}, nil
}

// ErrUnavailable is what Submit returns when the simulated SPI is down.
var ErrUnavailable = errors.New("spi: the settlement system is unavailable (simulated)")

// Submit hands an order to the simulated SPI. A second submission of the
// same endToEndId never settles twice: while the first is in flight it is
// ignored; once decided, the outcome is sent again (a resend of the lost
// answer).
func (e *Engine) Submit(ctx context.Context, o payments.Order) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.submits[o.EndToEndID]++
	n := e.submits[o.EndToEndID]
	oc := e.outcomeFor(o)
	if prev, ok := e.orders[o.EndToEndID]; ok {
		e.stats.Duplicates++
		if prev.o.PaymentID != o.PaymentID {
			return fmt.Errorf("spi: endToEndId %s was already used by payment %s", o.EndToEndID, prev.o.PaymentID)
		}
		if prev.decided {
			e.enqueue(e.now(), prev.outcome)
		}
		return nil
	}
	if oc == SubmitFails && n == 1 || oc == "" && e.opts.SubmitErrorRate > 0 && e.rng.Float64() < e.opts.SubmitErrorRate {
		e.stats.SubmitErrors++
		return ErrUnavailable
	}
	e.stats.Submissions++
	out := payments.SettlementOutcome{PaymentID: o.PaymentID, EndToEndID: o.EndToEndID, Settled: true}
	switch {
	case oc == RejectSPI || oc == "" && e.opts.RejectRate > 0 && e.rng.Float64() < e.opts.RejectRate:
		out = rejected(o, payments.PayRejectRefusedBySPI, "AC03")
	case oc == InfraSPI || oc == "" && e.opts.InfraRate > 0 && e.rng.Float64() < e.opts.InfraRate:
		out = rejected(o, payments.PayRejectInfrastructureSPI, "Indisponibilidade do SPI (simulada).")
	case oc == ReceiverPSPDown:
		out = rejected(o, payments.PayRejectInfrastructurePSP, "PSP recebedor indisponível (simulado).")
	}
	e.orders[o.EndToEndID] = &order{o: o, outcome: out, decided: true}
	if oc == LoseOutcome {
		e.stats.LostOutcomes++
		return nil // decided, but the answer never arrives
	}
	e.enqueue(e.now().Add(e.opts.SettleDelay), out)
	return nil
}

func rejected(o payments.Order, code payments.PaymentRejectionCode, detail string) payments.SettlementOutcome {
	return payments.SettlementOutcome{PaymentID: o.PaymentID, EndToEndID: o.EndToEndID,
		Rejection: &payments.PaymentRejection{Code: code, Detail: detail}}
}

// enqueue adds an outcome due at due; e.mu must be held.
func (e *Engine) enqueue(due time.Time, out payments.SettlementOutcome) {
	e.queue = append(e.queue, delivery{due: due, out: out})
	sort.SliceStable(e.queue, func(i, j int) bool { return e.queue[i].due.Before(e.queue[j].due) })
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// Report receives outcomes: (*payments.Processor).Complete.
type Report func(ctx context.Context, out payments.SettlementOutcome) error

// takeDue removes and returns the outcomes due by now, and the time the
// next one is due (zero when none is pending).
func (e *Engine) takeDue(now time.Time) ([]payments.SettlementOutcome, time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var due []payments.SettlementOutcome
	i := 0
	for ; i < len(e.queue) && !e.queue[i].due.After(now); i++ {
		due = append(due, e.queue[i].out)
	}
	e.queue = e.queue[i:]
	var next time.Time
	if len(e.queue) > 0 {
		next = e.queue[0].due
	}
	return due, next
}

func (e *Engine) deliver(ctx context.Context, report Report, outs []payments.SettlementOutcome) error {
	for i, out := range outs {
		if err := report(ctx, out); err != nil {
			// Not delivered: put it and the rest back, due now.
			e.mu.Lock()
			for _, o := range outs[i:] {
				e.queue = append([]delivery{{due: e.now(), out: o}}, e.queue...)
			}
			e.mu.Unlock()
			return err
		}
		e.mu.Lock()
		e.stats.Delivered++
		if out.Settled {
			e.stats.Settled++
		} else {
			e.stats.Rejected++
		}
		e.mu.Unlock()
	}
	return nil
}

// Flush delivers every outcome due by the clock now, synchronously; it
// returns how many it delivered (tests drive the engine with it).
func (e *Engine) Flush(ctx context.Context, report Report) (int, error) {
	outs, _ := e.takeDue(e.now())
	return len(outs), e.deliver(ctx, report, outs)
}

// Run delivers outcomes to report as they fall due until ctx ends; a
// report error is retried a second later. It returns ctx's error.
func (e *Engine) Run(ctx context.Context, report Report) error {
	for {
		outs, next := e.takeDue(e.now())
		retry := false
		if err := e.deliver(ctx, report, outs); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			retry = true
		}
		wait := time.Hour
		switch {
		case retry:
			wait = time.Second
		case !next.IsZero():
			wait = max(next.Sub(e.now()), time.Millisecond)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-e.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// Stats returns a snapshot of the counters.
func (e *Engine) Stats() Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.stats
}

// Pending is how many outcomes wait for delivery.
func (e *Engine) Pending() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.queue)
}
