package payments

import (
	"fmt"
	"time"
)

// This file is the whole of both lifecycles: the payment consent's and the
// Pix payment's. Every status change anywhere in ofp goes through
// ConsentTransition or PaymentTransition.

// ConsentStatus is the spec's EnumAuthorisationStatusType.
//
//	stateDiagram-v2
//	    [*] --> AWAITING_AUTHORISATION: CREATE (expires creation + 5 min)
//	    AWAITING_AUTHORISATION --> AUTHORISED: AUTHORISE (expires statusUpdate + 60 min)
//	    AWAITING_AUTHORISATION --> PARTIALLY_ACCEPTED: ACCEPT_PARTIALLY (multi-level approval)
//	    PARTIALLY_ACCEPTED --> AUTHORISED: AUTHORISE
//	    AWAITING_AUTHORISATION --> REJECTED: REJECT (REJEITADO_USUARIO, CONTAS_ORIGEM_DESTINO_IGUAIS, ...)
//	    PARTIALLY_ACCEPTED --> REJECTED: REJECT
//	    AWAITING_AUTHORISATION --> REJECTED: EXPIRE_AUTHORISATION (TEMPO_EXPIRADO_AUTORIZACAO)
//	    PARTIALLY_ACCEPTED --> REJECTED: EXPIRE_AUTHORISATION (TEMPO_EXPIRADO_AUTORIZACAO)
//	    AUTHORISED --> CONSUMED: CONSUME (POST /pix/payments)
//	    AUTHORISED --> REJECTED: EXPIRE_CONSUMPTION (TEMPO_EXPIRADO_CONSUMO)
//	    AUTHORISED --> REJECTED: REJECT (holder: FALHA_INFRAESTRUTURA, NAO_INFORMADO)
//	    REJECTED --> [*]
//	    CONSUMED --> [*]
type ConsentStatus string

const (
	// ConsentNone is the state before a consent exists; never stored.
	ConsentNone                  ConsentStatus = ""
	ConsentAwaitingAuthorisation ConsentStatus = "AWAITING_AUTHORISATION"
	ConsentPartiallyAccepted     ConsentStatus = "PARTIALLY_ACCEPTED"
	ConsentAuthorised            ConsentStatus = "AUTHORISED"
	ConsentRejected              ConsentStatus = "REJECTED"
	ConsentConsumed              ConsentStatus = "CONSUMED"
)

// Final reports whether no event moves a consent in s any more.
func (s ConsentStatus) Final() bool { return s == ConsentRejected || s == ConsentConsumed }

// ConsentEvent is something that happens to a payment consent.
type ConsentEvent string

const (
	ConsentEventCreate            ConsentEvent = "CREATE"
	ConsentEventAuthorise         ConsentEvent = "AUTHORISE"
	ConsentEventAcceptPartially   ConsentEvent = "ACCEPT_PARTIALLY"
	ConsentEventReject            ConsentEvent = "REJECT"
	ConsentEventExpireAuthorise   ConsentEvent = "EXPIRE_AUTHORISATION"
	ConsentEventExpireConsumption ConsentEvent = "EXPIRE_CONSUMPTION"
	ConsentEventConsume           ConsentEvent = "CONSUME"
)

// ConsentEvents lists every consent event, for tables and tests.
var ConsentEvents = []ConsentEvent{ConsentEventCreate, ConsentEventAuthorise, ConsentEventAcceptPartially,
	ConsentEventReject, ConsentEventExpireAuthorise, ConsentEventExpireConsumption, ConsentEventConsume}

// ConsentStatuses lists the stored consent statuses.
var ConsentStatuses = []ConsentStatus{ConsentAwaitingAuthorisation, ConsentPartiallyAccepted, ConsentAuthorised,
	ConsentRejected, ConsentConsumed}

var consentTransitions = map[ConsentStatus]map[ConsentEvent]ConsentStatus{
	ConsentNone: {ConsentEventCreate: ConsentAwaitingAuthorisation},
	ConsentAwaitingAuthorisation: {
		ConsentEventAuthorise:       ConsentAuthorised,
		ConsentEventAcceptPartially: ConsentPartiallyAccepted,
		ConsentEventReject:          ConsentRejected,
		ConsentEventExpireAuthorise: ConsentRejected,
	},
	ConsentPartiallyAccepted: {
		ConsentEventAuthorise:       ConsentAuthorised,
		ConsentEventReject:          ConsentRejected,
		ConsentEventExpireAuthorise: ConsentRejected,
	},
	ConsentAuthorised: {
		ConsentEventConsume:           ConsentConsumed,
		ConsentEventExpireConsumption: ConsentRejected,
		ConsentEventReject:            ConsentRejected,
	},
	ConsentRejected: {},
	ConsentConsumed: {},
}

// ConsentTransition returns the status a consent in from moves to on ev, or
// an *IllegalTransitionError.
func ConsentTransition(from ConsentStatus, ev ConsentEvent) (ConsentStatus, error) {
	to, ok := consentTransitions[from][ev]
	if !ok {
		return from, &IllegalTransitionError{Kind: "consent", From: string(from), Event: string(ev)}
	}
	return to, nil
}

// Consent lifetimes (payments 4.0.0, expirationDateTime).
const (
	// AuthorisationTTL: an AWAITING_AUTHORISATION consent expires at
	// creationDateTime + 5 minutes.
	AuthorisationTTL = 5 * time.Minute
	// ConsumptionTTL: an AUTHORISED consent expires at its
	// statusUpdateDateTime + 60 minutes.
	ConsumptionTTL = 60 * time.Minute
)

// ConsentDue returns the expiry event that applies to c at now, if any.
func ConsentDue(c Consent, now time.Time) (ConsentEvent, bool) {
	switch c.Status {
	case ConsentAwaitingAuthorisation, ConsentPartiallyAccepted:
		if !now.Before(c.ExpirationDateTime) {
			return ConsentEventExpireAuthorise, true
		}
	case ConsentAuthorised:
		if !now.Before(c.ExpirationDateTime) {
			return ConsentEventExpireConsumption, true
		}
	}
	return "", false
}

// ApplyConsent moves c by ev at now. Rejecting events need a reason: the
// expiries imply theirs (TEMPO_EXPIRADO_AUTORIZACAO,
// TEMPO_EXPIRADO_CONSUMO); REJECT takes rej (default REJEITADO_USUARIO).
// It checks the transition and its time conditions (no authorisation or
// consumption once the consent is due to expire; no expiry before it is
// due), sets Status, StatusUpdateDateTime, ExpirationDateTime (AUTHORISE:
// now + 60 min; ACCEPT_PARTIALLY: the multi-level deadline) and Rejection.
// It leaves c untouched on error. CREATE goes through NewConsent, and
// AUTHORISE's debtor account through Authorise.
func ApplyConsent(c *Consent, ev ConsentEvent, now time.Time, rej *ConsentRejection) error {
	if ev == ConsentEventCreate {
		return fmt.Errorf("payments: CREATE carries data; use NewConsent")
	}
	to, err := ConsentTransition(c.Status, ev)
	if err != nil {
		return err
	}
	due, isDue := ConsentDue(*c, now)
	switch ev {
	case ConsentEventExpireAuthorise, ConsentEventExpireConsumption:
		if !isDue || due != ev {
			return &PreconditionError{Event: string(ev), Reason: "the consent is not due to expire"}
		}
	case ConsentEventAuthorise, ConsentEventAcceptPartially, ConsentEventConsume:
		if isDue {
			return &PreconditionError{Event: string(ev), Reason: "the consent has expired"}
		}
	}
	now = now.UTC()
	var r *ConsentRejection
	if to == ConsentRejected {
		switch ev {
		case ConsentEventExpireAuthorise:
			r = &ConsentRejection{Code: RejectAuthorisationExpired, Detail: "Consentimento expirou antes que o usuário pudesse confirmá-lo."}
		case ConsentEventExpireConsumption:
			r = &ConsentRejection{Code: RejectConsumptionExpired, Detail: "O usuário não finalizou o fluxo de pagamento e o consentimento expirou."}
		default:
			r = &ConsentRejection{Code: RejectByUser, Detail: "O usuário rejeitou a autorização do consentimento."}
			if rej != nil {
				r = &ConsentRejection{Code: rej.Code, Detail: rej.Detail}
			}
		}
		if !r.Code.Valid() {
			return fmt.Errorf("payments: consent rejection code %q is not in the spec's enum", r.Code)
		}
		if r.Detail == "" {
			r.Detail = string(r.Code)
		}
		if len(r.Detail) > 2048 {
			return fmt.Errorf("payments: consent rejection detail is longer than 2048 bytes")
		}
	}
	switch ev {
	case ConsentEventAuthorise:
		c.ExpirationDateTime = now.Add(ConsumptionTTL)
	case ConsentEventAcceptPartially:
		c.ExpirationDateTime = MultiLevelDeadline(*c)
	}
	c.Status = to
	c.StatusUpdateDateTime = now
	c.Rejection = r
	return nil
}

// MultiLevelDeadline is when a PARTIALLY_ACCEPTED consent expires: every
// approval is due by 23:59:59 (Brasília) of the creation day for an
// immediate payment, or of the day before the first settlement for a
// scheduled one (payments 4.0.0, "Aprovações de múltipla alçada").
func MultiLevelDeadline(c Consent) time.Time {
	day := DateOf(c.CreationDateTime)
	if c.Payment.Schedule != nil {
		if dates, err := c.Payment.Schedule.Dates(); err == nil && len(dates) > 0 {
			day = dates[0].AddDays(-1)
		}
	}
	return day.AddDays(1).Start().Add(-time.Second).UTC()
}

// PaymentStatus is the spec's EnumPaymentStatusType.
//
//	stateDiagram-v2
//	    [*] --> RCVD: CREATE (POST /pix/payments)
//	    RCVD --> ACCP: ACCEPT (holder checks passed; immediate payment)
//	    RCVD --> SCHD: SCHEDULE (scheduled payment registered)
//	    RCVD --> PDNG: HOLD (held for analysis)
//	    SCHD --> PDNG: HOLD (held for analysis on the settlement day)
//	    PDNG --> ACCP: ACCEPT (analysis passed)
//	    SCHD --> ACCP: ACCEPT (settlement day, checks passed)
//	    ACCP --> ACPD: SUBMIT (sent to the SPI)
//	    ACPD --> ACSC: SETTLE (the SPI settled it)
//	    RCVD --> RJCT: REJECT
//	    PDNG --> RJCT: REJECT
//	    SCHD --> RJCT: REJECT
//	    ACCP --> RJCT: REJECT
//	    ACPD --> RJCT: REJECT (PAGAMENTO_RECUSADO_SPI, FALHA_INFRAESTRUTURA_SPI, ...)
//	    PDNG --> CANC: CANCEL (CANCELADO_PENDENCIA)
//	    SCHD --> CANC: CANCEL (CANCELADO_AGENDAMENTO, until 23:59 Brasília the day before)
//	    ACSC --> [*]
//	    RJCT --> [*]
//	    CANC --> [*]
type PaymentStatus string

const (
	PaymentNone PaymentStatus = ""
	PaymentRCVD PaymentStatus = "RCVD"
	PaymentACCP PaymentStatus = "ACCP"
	PaymentACPD PaymentStatus = "ACPD"
	PaymentACSC PaymentStatus = "ACSC"
	PaymentPDNG PaymentStatus = "PDNG"
	PaymentSCHD PaymentStatus = "SCHD"
	PaymentCANC PaymentStatus = "CANC"
	PaymentRJCT PaymentStatus = "RJCT"
)

// Final reports whether no event moves a payment in s any more.
func (s PaymentStatus) Final() bool {
	return s == PaymentACSC || s == PaymentRJCT || s == PaymentCANC
}

// PaymentStatuses lists the stored payment statuses.
var PaymentStatuses = []PaymentStatus{PaymentRCVD, PaymentACCP, PaymentACPD, PaymentACSC, PaymentPDNG,
	PaymentSCHD, PaymentCANC, PaymentRJCT}

// PaymentEvent is something that happens to a Pix payment.
type PaymentEvent string

const (
	PaymentEventCreate   PaymentEvent = "CREATE"
	PaymentEventAccept   PaymentEvent = "ACCEPT"
	PaymentEventSchedule PaymentEvent = "SCHEDULE"
	PaymentEventHold     PaymentEvent = "HOLD"
	PaymentEventSubmit   PaymentEvent = "SUBMIT"
	PaymentEventSettle   PaymentEvent = "SETTLE"
	PaymentEventReject   PaymentEvent = "REJECT"
	PaymentEventCancel   PaymentEvent = "CANCEL"
)

// PaymentEvents lists every payment event, for tables and tests.
var PaymentEvents = []PaymentEvent{PaymentEventCreate, PaymentEventAccept, PaymentEventSchedule, PaymentEventHold,
	PaymentEventSubmit, PaymentEventSettle, PaymentEventReject, PaymentEventCancel}

var paymentTransitions = map[PaymentStatus]map[PaymentEvent]PaymentStatus{
	PaymentNone: {PaymentEventCreate: PaymentRCVD},
	PaymentRCVD: {
		PaymentEventAccept:   PaymentACCP,
		PaymentEventSchedule: PaymentSCHD,
		PaymentEventHold:     PaymentPDNG,
		PaymentEventReject:   PaymentRJCT,
	},
	PaymentPDNG: {
		PaymentEventAccept: PaymentACCP,
		PaymentEventReject: PaymentRJCT,
		PaymentEventCancel: PaymentCANC,
	},
	PaymentSCHD: {
		PaymentEventAccept: PaymentACCP,
		PaymentEventHold:   PaymentPDNG,
		PaymentEventReject: PaymentRJCT,
		PaymentEventCancel: PaymentCANC,
	},
	PaymentACCP: {
		PaymentEventSubmit: PaymentACPD,
		PaymentEventReject: PaymentRJCT,
	},
	PaymentACPD: {
		PaymentEventSettle: PaymentACSC,
		PaymentEventReject: PaymentRJCT,
	},
	PaymentACSC: {},
	PaymentRJCT: {},
	PaymentCANC: {},
}

// PaymentTransition returns the status a payment in from moves to on ev, or
// an *IllegalTransitionError.
func PaymentTransition(from PaymentStatus, ev PaymentEvent) (PaymentStatus, error) {
	to, ok := paymentTransitions[from][ev]
	if !ok {
		return from, &IllegalTransitionError{Kind: "payment", From: string(from), Event: string(ev)}
	}
	return to, nil
}

// Cancellable reports whether a payment may be cancelled at now: only from
// PDNG, or from SCHD until 23:59:59 (Brasília) of the day before its
// settlement date.
func Cancellable(p Payment, now time.Time) bool {
	switch p.Status {
	case PaymentPDNG:
		return true
	case PaymentSCHD:
		return p.ScheduledDate != nil && now.Before(p.ScheduledDate.Start())
	}
	return false
}

// PaymentChange is what an event carries besides the event itself.
type PaymentChange struct {
	// Rejection is required by REJECT (its code must be in
	// EnumRejectionReasonTypeGetPix).
	Rejection *PaymentRejection
	// CancelledBy and CancelledFrom are required by CANCEL.
	CancelledBy   Document
	CancelledFrom CancelledFrom
}

// ApplyPayment moves p by ev at now: it checks the transition (and, for
// CANCEL, the time rule of Cancellable), sets Status,
// StatusUpdateDateTime, Rejection (REJECT) or Cancellation (CANCEL, with
// the reason the status it left implies). It leaves p untouched on error.
func ApplyPayment(p *Payment, ev PaymentEvent, now time.Time, ch PaymentChange) error {
	if ev == PaymentEventCreate {
		return fmt.Errorf("payments: CREATE carries data; use NewPayments")
	}
	to, err := PaymentTransition(p.Status, ev)
	if err != nil {
		return err
	}
	now = now.UTC()
	var (
		rej  *PaymentRejection
		canc *Cancellation
	)
	switch ev {
	case PaymentEventReject:
		if ch.Rejection == nil || !ch.Rejection.Code.Valid() {
			return fmt.Errorf("payments: REJECT needs a rejection code from EnumRejectionReasonTypeGetPix")
		}
		r := *ch.Rejection
		if r.Detail == "" {
			r.Detail = string(r.Code)
		}
		rej = &r
	case PaymentEventCancel:
		if !Cancellable(*p, now) {
			return &PreconditionError{Event: string(ev), Reason: "a scheduled payment can be cancelled only until 23:59 (Brasília) of the day before its date"}
		}
		if ch.CancelledFrom != CancelledFromInitiator && ch.CancelledFrom != CancelledFromHolder {
			return fmt.Errorf("payments: CANCEL needs cancelledFrom INICIADORA or DETENTORA")
		}
		reason := CancelledPending
		if p.Status == PaymentSCHD {
			reason = CancelledScheduled
		}
		canc = &Cancellation{Reason: reason, From: ch.CancelledFrom, At: now.Truncate(time.Second), By: ch.CancelledBy}
	}
	p.Status = to
	p.StatusUpdateDateTime = now
	if rej != nil {
		p.Rejection = rej
	}
	if canc != nil {
		p.Cancellation = canc
	}
	return nil
}

// IllegalTransitionError: the event is not allowed in the current status.
// The HTTP layer answers 422 (cancellation: PAGAMENTO_NAO_PERMITE_CANCELAMENTO;
// payment creation: CONSENTIMENTO_INVALIDO); background workers treat it as
// "someone else moved it first".
type IllegalTransitionError struct {
	Kind  string // "consent" or "payment"
	From  string
	Event string
}

func (e *IllegalTransitionError) Error() string {
	from := e.From
	if from == "" {
		from = "<none>"
	}
	return fmt.Sprintf("payments: %s event %s is not allowed in status %s", e.Kind, e.Event, from)
}

// PreconditionError: the event is legal in the status but its time
// condition does not hold now (an expiry not yet due, an authorisation after
// the window, a cancellation on the settlement day).
type PreconditionError struct {
	Event  string
	Reason string
}

func (e *PreconditionError) Error() string {
	return fmt.Sprintf("payments: %s not possible now: %s", e.Event, e.Reason)
}
