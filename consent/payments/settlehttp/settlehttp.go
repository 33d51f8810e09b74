package settlehttp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/ofp-dev/ofp/consent/payments"
	"github.com/ofp-dev/ofp/internal/backendrpc"
)

// Paths of the contract under the back end's base URL.
const (
	PathCheck    = "/payments/v1/check"
	PathSubmit   = "/payments/v1/submit"
	PathOutcomes = "/payments/v1/outcomes"
	PathAck      = "/payments/v1/outcomes/ack"
)

// Account is payments.Account on the wire.
type Account struct {
	ISPB        string `json:"ispb"`
	Issuer      string `json:"issuer,omitempty"`
	Number      string `json:"number"`
	AccountType string `json:"account_type"`
}

// Order is payments.Order on the wire: the amount is a decimal string.
type Order struct {
	PaymentID                 string  `json:"payment_id"`
	ConsentID                 string  `json:"consent_id"`
	EndToEndID                string  `json:"end_to_end_id"`
	Amount                    string  `json:"amount"`
	Currency                  string  `json:"currency"`
	LocalInstrument           string  `json:"local_instrument"`
	Debtor                    Account `json:"debtor"`
	Creditor                  Account `json:"creditor"`
	Proxy                     string  `json:"proxy,omitempty"`
	TransactionIdentification string  `json:"transaction_identification,omitempty"`
	RemittanceInformation     string  `json:"remittance_information,omitempty"`
	Scheduled                 bool    `json:"scheduled,omitempty"`
	Review                    bool    `json:"review,omitempty"`
}

// Rejection is payments.PaymentRejection on the wire: code is the spec's
// EnumRejectionReasonType.
type Rejection struct {
	Code   string `json:"code"`
	Detail string `json:"detail"`
}

// CheckResult answers PathCheck: decision ACCEPT, HOLD or REJECT (with a
// rejection).
type CheckResult struct {
	Decision  string     `json:"decision"`
	Rejection *Rejection `json:"rejection,omitempty"`
}

// Outcome is payments.SettlementOutcome on the wire.
type Outcome struct {
	PaymentID  string     `json:"payment_id"`
	EndToEndID string     `json:"end_to_end_id"`
	Settled    bool       `json:"settled"`
	Rejection  *Rejection `json:"rejection,omitempty"`
}

// Outcomes answers PathOutcomes: the oldest outcomes not acknowledged yet.
type Outcomes struct {
	Outcomes []Outcome `json:"outcomes"`
}

// Ack is the body of PathAck: the outcomes ofp has recorded.
type Ack struct {
	EndToEndIDs []string `json:"end_to_end_ids"`
}

type empty struct{}

func toAccount(a payments.Account) Account {
	return Account{ISPB: a.ISPB, Issuer: a.Issuer, Number: a.Number, AccountType: a.AccountType}
}

func (a Account) port() payments.Account {
	return payments.Account{ISPB: a.ISPB, Issuer: a.Issuer, Number: a.Number, AccountType: a.AccountType}
}

func toOrder(o payments.Order) Order {
	return Order{PaymentID: o.PaymentID, ConsentID: o.ConsentID, EndToEndID: o.EndToEndID, Amount: o.Amount, Currency: o.Currency,
		LocalInstrument: o.LocalInstrument, Debtor: toAccount(o.Debtor), Creditor: toAccount(o.Creditor), Proxy: o.Proxy,
		TransactionIdentification: o.TransactionIdentification, RemittanceInformation: o.RemittanceInformation,
		Scheduled: o.Scheduled, Review: o.Review}
}

func (o Order) port() payments.Order {
	return payments.Order{PaymentID: o.PaymentID, ConsentID: o.ConsentID, EndToEndID: o.EndToEndID, Amount: o.Amount, Currency: o.Currency,
		LocalInstrument: o.LocalInstrument, Debtor: o.Debtor.port(), Creditor: o.Creditor.port(), Proxy: o.Proxy,
		TransactionIdentification: o.TransactionIdentification, RemittanceInformation: o.RemittanceInformation,
		Scheduled: o.Scheduled, Review: o.Review}
}

func toRejection(r *payments.PaymentRejection) *Rejection {
	if r == nil {
		return nil
	}
	return &Rejection{Code: string(r.Code), Detail: r.Detail}
}

func (r *Rejection) port() *payments.PaymentRejection {
	if r == nil {
		return nil
	}
	return &payments.PaymentRejection{Code: payments.PaymentRejectionCode(r.Code), Detail: r.Detail}
}

// Client is the payments.Checker and payments.Settlement of the holder
// over the contract, and the poller of settlement outcomes (Run). Every
// call may be repeated: a check has no effect, a submission is keyed by
// its endToEndId (the back end must not settle it twice, as the port
// says), an outcome is recorded once whatever the number of deliveries.
type Client struct {
	rpc  *backendrpc.Client
	poll time.Duration
	log  *slog.Logger
}

var (
	_ payments.Checker    = (*Client)(nil)
	_ payments.Settlement = (*Client)(nil)
)

// New returns a Client over rpc that polls outcomes every poll (default 1 s).
func New(rpc *backendrpc.Client, poll time.Duration, log *slog.Logger) *Client {
	if poll <= 0 {
		poll = time.Second
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Client{rpc: rpc, poll: poll, log: log}
}

// Check implements payments.Checker: an answer that is not one of the
// decisions, or a rejection without a code, is the back end failing (the
// payment is checked again later), never an acceptance.
func (c *Client) Check(ctx context.Context, o payments.Order) (payments.CheckResult, error) {
	var out CheckResult
	if err := c.rpc.Call(ctx, PathCheck, toOrder(o), &out, true); err != nil {
		return payments.CheckResult{}, fmt.Errorf("payment check: %w", err)
	}
	d := payments.Decision(out.Decision)
	switch {
	case d == payments.DecisionReject && (out.Rejection == nil || out.Rejection.Code == ""):
		return payments.CheckResult{}, fmt.Errorf("payment check: %w: REJECT without a rejection code", backendrpc.ErrUnavailable)
	case d != payments.DecisionAccept && d != payments.DecisionHold && d != payments.DecisionReject:
		return payments.CheckResult{}, fmt.Errorf("payment check: %w: decision %q is not ACCEPT, HOLD or REJECT", backendrpc.ErrUnavailable, out.Decision)
	}
	return payments.CheckResult{Decision: d, Rejection: out.Rejection.port()}, nil
}

// Submit implements payments.Settlement.
func (c *Client) Submit(ctx context.Context, o payments.Order) error {
	if err := c.rpc.Call(ctx, PathSubmit, toOrder(o), &empty{}, true); err != nil {
		return fmt.Errorf("payment submission: %w", err)
	}
	return nil
}

// Run polls the back end for settlement outcomes until ctx ends, reports
// each (the Processor's Complete) and acknowledges those reported; an
// outcome whose report failed stays unacknowledged and comes again.
func (c *Client) Run(ctx context.Context, report func(context.Context, payments.SettlementOutcome) error) error {
	t := time.NewTicker(c.poll)
	defer t.Stop()
	for {
		if _, err := c.Poll(ctx, report); err != nil && ctx.Err() == nil {
			c.log.Warn("settlement outcomes: the back end did not answer; polling again", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Poll fetches the pending outcomes once, reports them and acknowledges
// the ones reported; it returns how many were acknowledged.
func (c *Client) Poll(ctx context.Context, report func(context.Context, payments.SettlementOutcome) error) (int, error) {
	var got Outcomes
	if err := c.rpc.Call(ctx, PathOutcomes, empty{}, &got, true); err != nil {
		return 0, err
	}
	var ack Ack
	for _, o := range got.Outcomes {
		if o.PaymentID == "" || o.EndToEndID == "" || (!o.Settled && (o.Rejection == nil || o.Rejection.Code == "")) {
			c.log.Error("settlement outcome without payment, endToEndId or rejection code; left unacknowledged", "payment", o.PaymentID, "end_to_end_id", o.EndToEndID)
			continue
		}
		err := report(ctx, payments.SettlementOutcome{PaymentID: o.PaymentID, EndToEndID: o.EndToEndID, Settled: o.Settled, Rejection: o.Rejection.port()})
		if err != nil {
			c.log.Warn("settlement outcome not recorded; it comes again", "payment", o.PaymentID, "err", err)
			continue
		}
		ack.EndToEndIDs = append(ack.EndToEndIDs, o.EndToEndID)
	}
	if len(ack.EndToEndIDs) == 0 {
		return 0, nil
	}
	if err := c.rpc.Call(ctx, PathAck, ack, &empty{}, true); err != nil {
		return 0, fmt.Errorf("acknowledge settlement outcomes: %w", err)
	}
	return len(ack.EndToEndIDs), nil
}

// Server serves the contract from a Checker and a Settlement whose
// outcomes are handed to Report (a simulated SPI's, in `ofp sim backend`
// and the tests). Outcomes wait in memory until acknowledged.
type Server struct {
	checker    payments.Checker
	settlement payments.Settlement
	mu         sync.Mutex
	pending    []Outcome // oldest first
}

// NewServer returns a Server over checker and settlement.
func NewServer(checker payments.Checker, settlement payments.Settlement) *Server {
	return &Server{checker: checker, settlement: settlement}
}

// Report queues an outcome for the holder to fetch; an outcome already
// waiting for the same endToEndId is replaced.
func (s *Server) Report(_ context.Context, out payments.SettlementOutcome) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := Outcome{PaymentID: out.PaymentID, EndToEndID: out.EndToEndID, Settled: out.Settled, Rejection: toRejection(out.Rejection)}
	for i, p := range s.pending {
		if p.EndToEndID == o.EndToEndID {
			s.pending[i] = o
			return nil
		}
	}
	s.pending = append(s.pending, o)
	return nil
}

// Pending is how many outcomes wait for acknowledgement.
func (s *Server) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pending)
}

// maxOutcomes caps one answer of PathOutcomes.
const maxOutcomes = 100

// Register serves the contract on mux; with token set, callers must
// present it as a bearer token.
func (s *Server) Register(mux *http.ServeMux, token string) {
	none := func(error) (int, string) { return 0, "" }
	backendrpc.Handle(mux, PathCheck, token, none, func(ctx context.Context, o Order) (CheckResult, error) {
		r, err := s.checker.Check(ctx, o.port())
		if err != nil {
			return CheckResult{}, err
		}
		return CheckResult{Decision: string(r.Decision), Rejection: toRejection(r.Rejection)}, nil
	})
	backendrpc.Handle(mux, PathSubmit, token, none, func(ctx context.Context, o Order) (empty, error) {
		if o.PaymentID == "" || o.EndToEndID == "" {
			return empty{}, errors.New("an order needs payment_id and end_to_end_id")
		}
		return empty{}, s.settlement.Submit(ctx, o.port())
	})
	backendrpc.Handle(mux, PathOutcomes, token, none, func(context.Context, empty) (Outcomes, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		out := Outcomes{Outcomes: append([]Outcome{}, s.pending[:min(len(s.pending), maxOutcomes)]...)}
		return out, nil
	})
	backendrpc.Handle(mux, PathAck, token, none, func(_ context.Context, a Ack) (empty, error) {
		done := make(map[string]bool, len(a.EndToEndIDs))
		for _, id := range a.EndToEndIDs {
			done[id] = true
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		kept := s.pending[:0]
		for _, p := range s.pending {
			if !done[p.EndToEndID] {
				kept = append(kept, p)
			}
		}
		s.pending = kept
		return empty{}, nil
	})
}
