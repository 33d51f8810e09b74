package payments

import "context"

// Order is what the holder's checks and the settlement system need to move
// one payment.
type Order struct {
	PaymentID                 string
	ConsentID                 string
	EndToEndID                string
	Amount                    string
	Currency                  string
	LocalInstrument           string
	Debtor                    Account
	Creditor                  Account
	Proxy                     string
	TransactionIdentification string
	RemittanceInformation     string
	// Scheduled is true for a payment that was scheduled (SCHD) and whose
	// settlement day has come.
	Scheduled bool
	// Review is true when the payment was held (PDNG) and is checked again.
	Review bool
}

// OrderOf builds the Order of p.
func OrderOf(p Payment) Order {
	return Order{
		PaymentID: p.ID, ConsentID: p.ConsentID, EndToEndID: p.EndToEndID, Amount: p.Amount, Currency: p.Currency,
		LocalInstrument: p.LocalInstrument, Debtor: p.DebtorAccount, Creditor: p.CreditorAccount, Proxy: p.Proxy,
		TransactionIdentification: p.TransactionIdentification, RemittanceInformation: p.RemittanceInformation,
		Scheduled: p.ScheduledDate != nil, Review: p.Status == PaymentPDNG,
	}
}

// Decision is the holder's verdict on a payment before settlement.
type Decision string

const (
	// DecisionAccept: balance, limits and analysis passed (→ ACCP).
	DecisionAccept Decision = "ACCEPT"
	// DecisionHold: keep the payment for analysis (→ PDNG); it is checked
	// again later with Order.Review set.
	DecisionHold Decision = "HOLD"
	// DecisionReject: refuse it (→ RJCT with the Rejection given).
	DecisionReject Decision = "REJECT"
)

// CheckResult is a Checker's answer. Rejection is required with DecisionReject.
type CheckResult struct {
	Decision  Decision
	Rejection *PaymentRejection
}

// Checker runs the holder's own checks on a payment about to be settled:
// balance, limits, fraud analysis (core banking). An error means "cannot
// tell now": the payment is checked again on a later tick.
type Checker interface {
	Check(ctx context.Context, o Order) (CheckResult, error)
}

// Settlement is the Pix settlement system (the SPI) port. Production plugs
// the institution's SPI connection in; sim/spi is the simulated engine.
type Settlement interface {
	// Submit hands o to the SPI and returns once the SPI has taken it (the
	// payment is then ACPD). The outcome comes back later through
	// (*Processor).Complete. Submitting the same EndToEndID again must not
	// settle twice: the Processor resubmits payments whose outcome is
	// overdue (after a crash, a lost message). An error means the SPI did
	// not take the order; it is retried on a later tick.
	Submit(ctx context.Context, o Order) error
}

// SettlementOutcome is the SPI's final answer on one order.
type SettlementOutcome struct {
	PaymentID  string
	EndToEndID string
	// Settled: ACSC. Otherwise Rejection says why (PAGAMENTO_RECUSADO_SPI,
	// FALHA_INFRAESTRUTURA_SPI, FALHA_INFRAESTRUTURA_PSP_RECEBEDOR, ...).
	Settled   bool
	Rejection *PaymentRejection
}
