package consent

import (
	"fmt"
	"time"
)

// Status is the lifecycle state of a data-sharing consent, with the values of
// the spec's status enum. The diagram (see the package documentation):
//
//	stateDiagram-v2
//	    [*] --> AWAITING_AUTHORISATION: CREATE
//	    AWAITING_AUTHORISATION --> AUTHORISED: AUTHORISE
//	    AWAITING_AUTHORISATION --> REJECTED: REJECT_BY_USER, REVOKE_BY_TPP, EXPIRE_AWAITING, REJECT_TECHNICAL_ISSUE, REJECT_SECURITY
//	    AUTHORISED --> AUTHORISED: EXTEND
//	    AUTHORISED --> REJECTED: REVOKE_BY_USER, REVOKE_BY_TPP, EXPIRE_AUTHORISED, REJECT_TECHNICAL_ISSUE, REJECT_SECURITY
//	    REJECTED --> [*]
type Status string

const (
	// StatusNone is the state before a consent exists (the [*] of the
	// diagram). It is never stored; it is the From of the CREATE history row.
	StatusNone                  Status = ""
	StatusAwaitingAuthorisation Status = "AWAITING_AUTHORISATION"
	StatusAuthorised            Status = "AUTHORISED"
	StatusRejected              Status = "REJECTED"
)

// Statuses lists the stored statuses in lifecycle order.
var Statuses = []Status{StatusAwaitingAuthorisation, StatusAuthorised, StatusRejected}

// Valid reports whether s is one of the spec's status values.
func (s Status) Valid() bool {
	switch s {
	case StatusAwaitingAuthorisation, StatusAuthorised, StatusRejected:
		return true
	}
	return false
}

// Event is something that happens to a consent and may move its status.
type Event string

const (
	// EventCreate creates the consent (POST /consents).
	EventCreate Event = "CREATE"
	// EventAuthorise: the customer confirmed at the holder within the window.
	EventAuthorise Event = "AUTHORISE"
	// EventRejectByUser: the customer refused during the authorisation journey.
	EventRejectByUser Event = "REJECT_BY_USER"
	// EventRevokeByUser: the customer revoked an authorised consent at the
	// holder (customer portal).
	EventRevokeByUser Event = "REVOKE_BY_USER"
	// EventRevokeByTPP: the receiver called DELETE /consents/{id}.
	EventRevokeByTPP Event = "REVOKE_BY_TPP"
	// EventExpireAwaiting: AwaitingAuthorisationTTL passed without authorisation.
	EventExpireAwaiting Event = "EXPIRE_AWAITING"
	// EventExpireAuthorised: the consent's expirationDateTime was reached.
	EventExpireAuthorised Event = "EXPIRE_AUTHORISED"
	// EventExtend: the consent was renewed (POST /consents/{id}/extends).
	EventExtend Event = "EXTEND"
	// EventRejectTechnicalIssue: the holder rejects the consent because a
	// technical failure makes it unusable (e.g. the code exchange failed).
	EventRejectTechnicalIssue Event = "REJECT_TECHNICAL_ISSUE"
	// EventRejectSecurity: the holder rejects the consent by security policy.
	EventRejectSecurity Event = "REJECT_SECURITY"
)

// Events lists every event, for tables and tests.
var Events = []Event{
	EventCreate, EventAuthorise, EventRejectByUser, EventRevokeByUser, EventRevokeByTPP,
	EventExpireAwaiting, EventExpireAuthorised, EventExtend, EventRejectTechnicalIssue, EventRejectSecurity,
}

// AwaitingAuthorisationTTL is how long a consent may stay
// AWAITING_AUTHORISATION before it is rejected with CONSENT_EXPIRED.
const AwaitingAuthorisationTTL = 60 * time.Minute

// transitions is the whole state machine: from -> event -> to.
var transitions = map[Status]map[Event]Status{
	StatusNone: {
		EventCreate: StatusAwaitingAuthorisation,
	},
	StatusAwaitingAuthorisation: {
		EventAuthorise:            StatusAuthorised,
		EventRejectByUser:         StatusRejected,
		EventRevokeByTPP:          StatusRejected,
		EventExpireAwaiting:       StatusRejected,
		EventRejectTechnicalIssue: StatusRejected,
		EventRejectSecurity:       StatusRejected,
	},
	StatusAuthorised: {
		EventExtend:               StatusAuthorised,
		EventRevokeByUser:         StatusRejected,
		EventRevokeByTPP:          StatusRejected,
		EventExpireAuthorised:     StatusRejected,
		EventRejectTechnicalIssue: StatusRejected,
		EventRejectSecurity:       StatusRejected,
	},
	StatusRejected: {},
}

// IllegalTransitionError is returned when an event is not allowed in the
// consent's current status. The HTTP layer answers 422 (for DELETE on a
// REJECTED consent: CONSENTIMENTO_EM_STATUS_REJEITADO; for /extends:
// ESTADO_CONSENTIMENTO_INVALIDO); the expiry job treats it as "someone else
// already moved this consent" and goes on.
type IllegalTransitionError struct {
	From  Status
	Event Event
}

func (e *IllegalTransitionError) Error() string {
	from := string(e.From)
	if from == "" {
		from = "<none>"
	}
	return fmt.Sprintf("consent: event %s is not allowed in status %s", e.Event, from)
}

// Transition is the state machine: it returns the status a consent in from
// moves to on ev, or an *IllegalTransitionError.
func Transition(from Status, ev Event) (Status, error) {
	to, ok := transitions[from][ev]
	if !ok {
		return from, &IllegalTransitionError{From: from, Event: ev}
	}
	return to, nil
}

// RejectionFor returns who rejected the consent and the spec's reason code
// that a legal transition (from, ev) into REJECTED implies; ok is false when
// the transition does not reject.
//
// A receiver's DELETE on a consent that was never authorised is recorded as
// CUSTOMER_MANUALLY_REJECTED (the spec keeps CUSTOMER_MANUALLY_REVOKED for
// revocation "after the authorisation"); on an authorised one as
// CUSTOMER_MANUALLY_REVOKED. Both carry rejectedBy TPP.
func RejectionFor(from Status, ev Event) (by RejectedBy, code ReasonCode, ok bool) {
	to, err := Transition(from, ev)
	if err != nil || to != StatusRejected {
		return "", "", false
	}
	switch ev {
	case EventRejectByUser:
		return RejectedByUser, ReasonCustomerManuallyRejected, true
	case EventRevokeByUser:
		return RejectedByUser, ReasonCustomerManuallyRevoked, true
	case EventRevokeByTPP:
		if from == StatusAwaitingAuthorisation {
			return RejectedByTPP, ReasonCustomerManuallyRejected, true
		}
		return RejectedByTPP, ReasonCustomerManuallyRevoked, true
	case EventExpireAwaiting:
		return RejectedByASPSP, ReasonConsentExpired, true
	case EventExpireAuthorised:
		return RejectedByASPSP, ReasonConsentMaxDateReached, true
	case EventRejectTechnicalIssue:
		return RejectedByASPSP, ReasonConsentTechnicalIssue, true
	case EventRejectSecurity:
		return RejectedByASPSP, ReasonInternalSecurityReason, true
	}
	return "", "", false
}

// PreconditionError is returned when an event is legal in the consent's
// status but its time condition does not hold at that moment: an expiry that
// is not due yet (the job raced with an extension), or an authorisation after
// the 60-minute window. The HTTP layer maps it to 422; the expiry job skips.
type PreconditionError struct {
	Event  Event
	Reason string
}

func (e *PreconditionError) Error() string {
	return fmt.Sprintf("consent: %s not possible now: %s", e.Event, e.Reason)
}

// Due returns the expiry event that applies to c at now, if any.
func Due(c Consent, now time.Time) (Event, bool) {
	switch c.Status {
	case StatusAwaitingAuthorisation:
		if !now.Before(c.CreationDateTime.Add(AwaitingAuthorisationTTL)) {
			return EventExpireAwaiting, true
		}
	case StatusAuthorised:
		if c.ExpirationDateTime != nil && !now.Before(*c.ExpirationDateTime) {
			return EventExpireAuthorised, true
		}
	}
	return "", false
}

// guard checks the time conditions of ev on c at now.
func guard(c Consent, ev Event, now time.Time) error {
	due, isDue := Due(c, now)
	switch ev {
	case EventExpireAwaiting, EventExpireAuthorised:
		if !isDue || due != ev {
			return &PreconditionError{Event: ev, Reason: "the consent is not due to expire"}
		}
	case EventAuthorise:
		if isDue {
			return &PreconditionError{Event: ev, Reason: "the authorisation window has passed; expire the consent instead"}
		}
	case EventExtend:
		if isDue {
			return &PreconditionError{Event: ev, Reason: "the consent has reached its expirationDateTime"}
		}
	}
	return nil
}

// Apply moves c by ev at now: it checks the transition and its time
// condition, then sets Status, StatusUpdateDateTime and, when the consent is
// rejected, Rejection (with detail as additionalInformation, at most 140
// characters). It does not touch c on error. EventCreate and EventExtend carry
// data and go through New and ApplyExtension instead.
func Apply(c *Consent, ev Event, now time.Time, detail string) error {
	if ev == EventCreate || ev == EventExtend {
		return fmt.Errorf("consent: %s carries data; use New or ApplyExtension", ev)
	}
	to, err := Transition(c.Status, ev)
	if err != nil {
		return err
	}
	if err := guard(*c, ev, now); err != nil {
		return err
	}
	var rej *Rejection
	if by, code, ok := RejectionFor(c.Status, ev); ok {
		if err := validateAdditionalInformation(detail); err != nil {
			return err
		}
		rej = &Rejection{RejectedBy: by, Reason: code, AdditionalInformation: detail}
	}
	c.Status = to
	c.StatusUpdateDateTime = now.UTC()
	if rej != nil {
		c.Rejection = rej
	}
	return nil
}

// ApplyExtension renews an authorised consent at now: it checks the EXTEND
// transition and that the consent has not reached its expiry, then sets the
// new ExpirationDateTime (nil = open-ended) and returns the extension record
// with PreviousExpirationDateTime filled. Who may renew (PF: only the creating
// loggedUser; PJ: any authorised user) is checked by the caller.
func ApplyExtension(c *Consent, ext Extension, now time.Time) (Extension, error) {
	if _, err := Transition(c.Status, EventExtend); err != nil {
		return Extension{}, err
	}
	if err := guard(*c, EventExtend, now); err != nil {
		return Extension{}, err
	}
	if ext.ExpirationDateTime != nil && !ext.ExpirationDateTime.After(now) {
		return Extension{}, &PreconditionError{Event: EventExtend, Reason: "the new expirationDateTime is not in the future"}
	}
	if ext.LoggedUser.Document.Identification == "" {
		return Extension{}, fmt.Errorf("consent: extension without loggedUser.document.identification")
	}
	ext.PreviousExpirationDateTime = c.ExpirationDateTime
	if ext.RequestDateTime.IsZero() {
		ext.RequestDateTime = now.UTC()
	}
	c.ExpirationDateTime = ext.ExpirationDateTime
	return ext, nil
}
