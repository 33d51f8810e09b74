package payments

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Actor says who caused a change, for the audit history.
type Actor struct {
	// Who is "tpp:<clientId>", "user:<cpf>", "operator:<name>",
	// "system:processor", ... — free text.
	Who           string
	ClientID      string
	InteractionID string
	// Reason, when set, is recorded as the history row's detail (an
	// operator's reason for acting on a customer's behalf).
	Reason string
}

// DueQuery selects the payments a Processor must act on.
type DueQuery struct {
	// Today (Brasília): scheduled payments on or before it are due.
	Today Date
	// HeldBefore: PDNG payments last changed before it are checked again.
	HeldBefore time.Time
	// SubmittedBefore: ACPD payments last changed before it have an overdue
	// outcome and are submitted again.
	SubmittedBefore time.Time
	Limit           int
}

// ProcessorStore is what a Processor needs from the store
// (*paymentsql.Store satisfies it).
type ProcessorStore interface {
	// DuePayments lists RCVD and ACCP payments, SCHD ones due by q.Today,
	// and PDNG / ACPD ones last changed before q.HeldBefore / q.SubmittedBefore.
	DuePayments(ctx context.Context, q DueQuery) ([]Payment, error)
	GetPayment(ctx context.Context, id string) (Payment, error)
	// ApplyPaymentEvent moves payment id by ev if its status is still
	// expect (otherwise *IllegalTransitionError).
	ApplyPaymentEvent(ctx context.Context, id string, expect PaymentStatus, ev PaymentEvent, ch PaymentChange, actor Actor) (Payment, error)
	// RejectBatch rejects every payment of a batch that is not final yet.
	RejectBatch(ctx context.Context, batchID string, rej PaymentRejection, actor Actor) ([]Payment, error)
	// DueConsents lists consents whose expiry is due at now.
	DueConsents(ctx context.Context, now time.Time, limit int) ([]Consent, error)
	ApplyConsentEvent(ctx context.Context, id string, ev ConsentEvent, rej *ConsentRejection, actor Actor) (Consent, error)
}

// ProcessorOptions configures a Processor; zero fields take the defaults noted.
type ProcessorOptions struct {
	// Interval between ticks when nothing wakes the processor; default 1 s.
	Interval time.Duration
	// HoldReview is how long a PDNG payment waits before it is checked
	// again; default 30 s.
	HoldReview time.Duration
	// ResubmitAfter is how long an ACPD payment may wait for its outcome
	// before it is submitted again; default 2 min.
	ResubmitAfter time.Duration
	// SchedulingDeadline: the items of a POST must all reach SCHD within it
	// or the whole batch is rejected with FALHA_AGENDAMENTO_PAGAMENTOS; default 60 min.
	SchedulingDeadline time.Duration
	// Batch is the most payments one tick handles; default 200.
	Batch int
	// Now defaults to time.Now.
	Now func() time.Time
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Processor drives payments through their lifecycle: the holder's checks
// (Checker) move RCVD to ACCP, SCHD or PDNG (or RJCT); the settlement
// system (Settlement) takes ACCP payments (→ ACPD) and reports ACSC or RJCT
// through Complete; scheduled payments are checked and submitted on their
// day; consents past their deadline are expired. Every move is a store
// transition guarded by the status the processor saw, so processors on
// several replicas never apply the same step twice (a duplicate Submit is
// harmless: the SPI deduplicates by endToEndId).
type Processor struct {
	store   ProcessorStore
	checker Checker
	spi     Settlement
	opts    ProcessorOptions
	log     *slog.Logger
	wake    chan struct{}
}

// NewProcessor returns a Processor. checker may be nil (every payment
// passes the holder's checks).
func NewProcessor(store ProcessorStore, checker Checker, spi Settlement, opts ProcessorOptions) (*Processor, error) {
	if store == nil || spi == nil {
		return nil, errors.New("payments: NewProcessor needs a store and a Settlement")
	}
	if opts.Interval <= 0 {
		opts.Interval = time.Second
	}
	if opts.HoldReview <= 0 {
		opts.HoldReview = 30 * time.Second
	}
	if opts.ResubmitAfter <= 0 {
		opts.ResubmitAfter = 2 * time.Minute
	}
	if opts.SchedulingDeadline <= 0 {
		opts.SchedulingDeadline = 60 * time.Minute
	}
	if opts.Batch <= 0 {
		opts.Batch = 200
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Processor{store: store, checker: checker, spi: spi, opts: opts, log: opts.Logger, wake: make(chan struct{}, 1)}, nil
}

var processorActor = Actor{Who: "system:processor"}

// Kick makes Run tick now (the HTTP layer calls it after creating
// payments). It never blocks.
func (p *Processor) Kick() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Run ticks until ctx ends, every Interval or when kicked; it returns ctx's
// error. Tick errors are logged and retried on the next tick.
func (p *Processor) Run(ctx context.Context) error {
	t := time.NewTicker(p.opts.Interval)
	defer t.Stop()
	for {
		if _, err := p.Tick(ctx); err != nil && ctx.Err() == nil {
			p.log.Warn("payments: processor tick", "err", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		case <-p.wake:
		}
	}
}

// Tick expires due consents and moves every due payment one or more steps.
// It returns how many changes it made; the error is the first one met
// (the others are logged).
func (p *Processor) Tick(ctx context.Context) (int, error) {
	now := p.opts.Now()
	changed := 0
	var first error
	keep := func(err error) {
		if err != nil && first == nil {
			first = err
		}
	}
	consents, err := p.store.DueConsents(ctx, now, p.opts.Batch)
	keep(err)
	for _, c := range consents {
		ev, due := ConsentDue(c, now)
		if !due {
			continue
		}
		if _, err := p.store.ApplyConsentEvent(ctx, c.ID, ev, nil, processorActor); err == nil {
			changed++
		} else if !lostRace(err) {
			keep(err)
		}
	}
	due, err := p.store.DuePayments(ctx, DueQuery{
		Today: DateOf(now), HeldBefore: now.Add(-p.opts.HoldReview), SubmittedBefore: now.Add(-p.opts.ResubmitAfter),
		Limit: p.opts.Batch,
	})
	keep(err)
	rejectedBatches := map[string]bool{}
	for _, pay := range due {
		if ctx.Err() != nil {
			return changed, ctx.Err()
		}
		if rejectedBatches[pay.BatchID] {
			continue
		}
		n, err := p.step(ctx, pay, now, rejectedBatches)
		changed += n
		if err != nil && !lostRace(err) {
			p.log.Warn("payments: processing step", "payment_id", pay.ID, "status", pay.Status, "err", err)
			keep(err)
		}
	}
	return changed, first
}

// lostRace: another processor (or the API) moved the resource first.
func lostRace(err error) bool {
	var ite *IllegalTransitionError
	var pe *PreconditionError
	return errors.As(err, &ite) || errors.As(err, &pe)
}

func (p *Processor) step(ctx context.Context, pay Payment, now time.Time, rejectedBatches map[string]bool) (int, error) {
	switch pay.Status {
	case PaymentRCVD:
		if pay.ScheduledDate != nil {
			if now.Sub(pay.CreationDateTime) > p.opts.SchedulingDeadline {
				rejectedBatches[pay.BatchID] = true
				moved, err := p.store.RejectBatch(ctx, pay.BatchID, PaymentRejection{Code: PayRejectSchedulingFailed,
					Detail: "Falha ao agendar pagamentos."}, processorActor)
				return len(moved), err
			}
			_, err := p.store.ApplyPaymentEvent(ctx, pay.ID, PaymentRCVD, PaymentEventSchedule, PaymentChange{}, processorActor)
			return countOK(err), err
		}
		return p.check(ctx, pay)
	case PaymentSCHD, PaymentPDNG:
		return p.check(ctx, pay)
	case PaymentACCP:
		return p.submit(ctx, pay)
	case PaymentACPD:
		// The outcome is overdue: submit again (the SPI deduplicates by endToEndId).
		if err := p.spi.Submit(ctx, OrderOf(pay)); err != nil {
			return 0, fmt.Errorf("payments: resubmit %s: %w", pay.ID, err)
		}
		return 0, nil
	}
	return 0, nil
}

func countOK(err error) int {
	if err != nil {
		return 0
	}
	return 1
}

// check runs the holder's checks and applies the decision; an accepted
// payment goes on to the SPI at once.
func (p *Processor) check(ctx context.Context, pay Payment) (int, error) {
	res := CheckResult{Decision: DecisionAccept}
	if p.checker != nil {
		var err error
		if res, err = p.checker.Check(ctx, OrderOf(pay)); err != nil {
			return 0, fmt.Errorf("payments: check %s: %w", pay.ID, err)
		}
	}
	switch res.Decision {
	case DecisionAccept:
		moved, err := p.store.ApplyPaymentEvent(ctx, pay.ID, pay.Status, PaymentEventAccept, PaymentChange{}, processorActor)
		if err != nil {
			return 0, err
		}
		n, err := p.submit(ctx, moved)
		return 1 + n, err
	case DecisionHold:
		if pay.Status == PaymentPDNG {
			return 0, nil // still under analysis
		}
		_, err := p.store.ApplyPaymentEvent(ctx, pay.ID, pay.Status, PaymentEventHold, PaymentChange{}, processorActor)
		return countOK(err), err
	case DecisionReject:
		rej := res.Rejection
		if rej == nil {
			rej = &PaymentRejection{Code: PayRejectRefusedByHolder, Detail: "Pagamento recusado pela detentora de conta."}
		}
		_, err := p.store.ApplyPaymentEvent(ctx, pay.ID, pay.Status, PaymentEventReject, PaymentChange{Rejection: rej}, processorActor)
		return countOK(err), err
	}
	return 0, fmt.Errorf("payments: checker answered unknown decision %q", res.Decision)
}

// submit hands an ACCP payment to the SPI, then records ACPD. If the
// outcome arrived first, Complete has moved the payment already and the
// ACPD step loses the race harmlessly.
func (p *Processor) submit(ctx context.Context, pay Payment) (int, error) {
	if err := p.spi.Submit(ctx, OrderOf(pay)); err != nil {
		return 0, fmt.Errorf("payments: submit %s: %w", pay.ID, err)
	}
	_, err := p.store.ApplyPaymentEvent(ctx, pay.ID, PaymentACCP, PaymentEventSubmit, PaymentChange{}, processorActor)
	if lostRace(err) {
		return 0, nil
	}
	return countOK(err), err
}

// Complete records the SPI's outcome on a payment: ACSC, or RJCT with the
// SPI's reason. An outcome that arrives before the ACPD step is recorded
// (ACCP → ACPD first); one for a payment already final is ignored, so
// duplicate outcomes are harmless. The Settlement implementation calls it.
func (p *Processor) Complete(ctx context.Context, out SettlementOutcome) error {
	pay, err := p.store.GetPayment(ctx, out.PaymentID)
	if err != nil {
		return fmt.Errorf("payments: outcome for payment %s: %w", out.PaymentID, err)
	}
	if out.EndToEndID != "" && out.EndToEndID != pay.EndToEndID {
		return fmt.Errorf("payments: outcome for payment %s carries endToEndId %s, the payment has %s", pay.ID, out.EndToEndID, pay.EndToEndID)
	}
	if pay.Status.Final() {
		return nil
	}
	if pay.Status == PaymentACCP {
		if pay, err = p.store.ApplyPaymentEvent(ctx, pay.ID, PaymentACCP, PaymentEventSubmit, PaymentChange{}, processorActor); err != nil {
			if !lostRace(err) {
				return err
			}
			if pay, err = p.store.GetPayment(ctx, out.PaymentID); err != nil {
				return err
			}
		}
	}
	if pay.Status != PaymentACPD {
		return nil
	}
	ev, ch := PaymentEventSettle, PaymentChange{}
	if !out.Settled {
		rej := out.Rejection
		if rej == nil || !rej.Code.Valid() {
			rej = &PaymentRejection{Code: PayRejectRefusedBySPI, Detail: "Pagamento recusado no SPI."}
		}
		ev, ch = PaymentEventReject, PaymentChange{Rejection: rej}
	}
	_, err = p.store.ApplyPaymentEvent(ctx, pay.ID, PaymentACPD, ev, ch, Actor{Who: "system:spi"})
	if lostRace(err) {
		return nil
	}
	return err
}
