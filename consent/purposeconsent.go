package consent

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// PurposeConsent is a non-regulated (LGPD) consent: the customer lets the
// institution use data for one of its own purposes, registered in
// consent/purposes (partner data sharing, marketing, analytics, ...). It
// may be linked to a regulated consent (LinkedConsentID, either role); the
// purpose's revocation rule, copied here when the consent is granted,
// decides what revoking one side does to the other.
type PurposeConsent struct {
	// ID is a URN like the regulated consents' (NewID).
	ID        string
	PurposeID string
	// LegalBasis and RevocationRule are the purpose's when the consent was
	// granted: a later change of the purpose does not change what the
	// customer agreed to.
	LegalBasis     string
	RevocationRule LinkRule
	// Customer is the CPF or CNPJ whose data the consent is about.
	Customer Document
	// PartnerID is the partner allowed to read the data under this consent
	// through the partner API; empty for purposes the institution serves
	// itself (marketing, analytics).
	PartnerID string
	// LinkedConsentID is a regulated consent (consents table) this one is
	// tied to, or "".
	LinkedConsentID string
	// Permissions are the data (Consents API permissions) the purpose uses.
	Permissions          []string
	Status               PurposeStatus
	GrantedAt            time.Time
	StatusUpdateDateTime time.Time
	// ExpiresAt is nil for an open-ended consent.
	ExpiresAt *time.Time
	// RevocationReason says why the consent ended (set with REVOKED/EXPIRED).
	RevocationReason string
	Version          int64
}

// LinkRule is what revoking one side of a link does to the other. The
// values are those of purposes.RevocationRule.
type LinkRule string

const (
	// LinkRevoke: revoking either side revokes the other.
	LinkRevoke LinkRule = "REVOKE_LINKED"
	// LinkKeep: the other side stays as it is.
	LinkKeep LinkRule = "KEEP_LINKED"
	// LinkAsk: the customer decides in the revocation journey; revocations
	// made without the customer (receiver's DELETE, expiry, operator) keep
	// the other side.
	LinkAsk LinkRule = "ASK_CUSTOMER"
)

// Valid reports whether r is one of the three rules.
func (r LinkRule) Valid() bool { return r == LinkRevoke || r == LinkKeep || r == LinkAsk }

// PurposeStatus is the lifecycle state of a PurposeConsent:
//
//	stateDiagram-v2
//	    [*] --> ACTIVE: GRANT
//	    ACTIVE --> ACTIVE: RENEW (new ExpiresAt)
//	    ACTIVE --> REVOKED: REVOKE (customer, operator)
//	    ACTIVE --> REVOKED: REVOKE_LINKED (the linked regulated consent ended, rule REVOKE_LINKED or the customer chose so)
//	    ACTIVE --> EXPIRED: EXPIRE at ExpiresAt
//	    REVOKED --> [*]
//	    EXPIRED --> [*]
type PurposeStatus string

const (
	PurposeNone    PurposeStatus = ""
	PurposeActive  PurposeStatus = "ACTIVE"
	PurposeRevoked PurposeStatus = "REVOKED"
	PurposeExpired PurposeStatus = "EXPIRED"
)

// PurposeEvent moves a PurposeConsent.
type PurposeEvent string

const (
	PurposeEventGrant        PurposeEvent = "GRANT"
	PurposeEventRenew        PurposeEvent = "RENEW"
	PurposeEventRevoke       PurposeEvent = "REVOKE"
	PurposeEventRevokeLinked PurposeEvent = "REVOKE_LINKED"
	PurposeEventExpire       PurposeEvent = "EXPIRE"
)

var purposeTransitions = map[PurposeStatus]map[PurposeEvent]PurposeStatus{
	PurposeNone:    {PurposeEventGrant: PurposeActive},
	PurposeActive:  {PurposeEventRenew: PurposeActive, PurposeEventRevoke: PurposeRevoked, PurposeEventRevokeLinked: PurposeRevoked, PurposeEventExpire: PurposeExpired},
	PurposeRevoked: {},
	PurposeExpired: {},
}

// PurposeTransitionError is an event not allowed in the consent's status.
type PurposeTransitionError struct {
	From  PurposeStatus
	Event PurposeEvent
}

func (e *PurposeTransitionError) Error() string {
	from := string(e.From)
	if from == "" {
		from = "<none>"
	}
	return fmt.Sprintf("consent: purpose consent event %s is not allowed in status %s", e.Event, from)
}

// PurposeTransition is the PurposeConsent state machine.
func PurposeTransition(from PurposeStatus, ev PurposeEvent) (PurposeStatus, error) {
	to, ok := purposeTransitions[from][ev]
	if !ok {
		return from, &PurposeTransitionError{From: from, Event: ev}
	}
	return to, nil
}

// Active reports whether p lets its purpose use the data at now: ACTIVE and
// not past ExpiresAt (an expiry not yet applied by the job counts).
func (p PurposeConsent) Active(now time.Time) bool {
	return p.Status == PurposeActive && (p.ExpiresAt == nil || now.Before(*p.ExpiresAt))
}

// ErrPurposeLink: the regulated consent a purpose consent should be linked
// to is missing, about another customer, or already REJECTED.
var ErrPurposeLink = errors.New("consent: the linked consent cannot take a purpose consent")

// NewPurposeConsent validates p and returns it granted at now (ACTIVE,
// version 1).
func NewPurposeConsent(p PurposeConsent, now time.Time) (PurposeConsent, error) {
	if _, err := PurposeTransition(PurposeNone, PurposeEventGrant); err != nil {
		return PurposeConsent{}, err
	}
	if !ValidID(p.ID) {
		return PurposeConsent{}, fmt.Errorf("consent: purpose consent id %q is not a URN; build it with NewID", p.ID)
	}
	if strings.TrimSpace(p.PurposeID) == "" {
		return PurposeConsent{}, fmt.Errorf("consent: purpose consent without a purpose")
	}
	if !p.RevocationRule.Valid() {
		return PurposeConsent{}, fmt.Errorf("consent: revocation rule %q is not one of %s, %s, %s", p.RevocationRule, LinkRevoke, LinkKeep, LinkAsk)
	}
	if strings.TrimSpace(p.LegalBasis) == "" {
		return PurposeConsent{}, fmt.Errorf("consent: purpose consent without a legal basis")
	}
	if strings.TrimSpace(p.Customer.Identification) == "" {
		return PurposeConsent{}, fmt.Errorf("consent: purpose consent without the customer's document")
	}
	if len(p.PartnerID) > 200 {
		return PurposeConsent{}, fmt.Errorf("consent: partnerId is longer than 200 characters")
	}
	if len(p.Permissions) > 0 {
		if err := ValidatePermissions(p.Permissions); err != nil {
			return PurposeConsent{}, err
		}
	}
	if p.GrantedAt.IsZero() {
		p.GrantedAt = now
	}
	p.GrantedAt = p.GrantedAt.UTC()
	if p.ExpiresAt != nil {
		e := p.ExpiresAt.UTC()
		if !e.After(p.GrantedAt) {
			return PurposeConsent{}, fmt.Errorf("consent: purpose consent expires before it is granted")
		}
		p.ExpiresAt = &e
	}
	p.Status = PurposeActive
	p.StatusUpdateDateTime = p.GrantedAt
	p.RevocationReason = ""
	p.Version = 1
	p.Permissions = append([]string(nil), p.Permissions...)
	return p, nil
}

// ApplyPurpose moves p by ev at now (REVOKE, REVOKE_LINKED, EXPIRE; RENEW
// goes through RenewPurpose). EXPIRE needs ExpiresAt reached.
func ApplyPurpose(p *PurposeConsent, ev PurposeEvent, now time.Time, reason string) error {
	if ev == PurposeEventGrant || ev == PurposeEventRenew {
		return fmt.Errorf("consent: %s carries data; use NewPurposeConsent or RenewPurpose", ev)
	}
	to, err := PurposeTransition(p.Status, ev)
	if err != nil {
		return err
	}
	if ev == PurposeEventExpire && (p.ExpiresAt == nil || now.Before(*p.ExpiresAt)) {
		return &PreconditionError{Event: Event(ev), Reason: "the purpose consent is not due to expire"}
	}
	p.Status = to
	p.StatusUpdateDateTime = now.UTC()
	p.RevocationReason = reason
	return nil
}

// RenewPurpose sets a new ExpiresAt (nil = open-ended) on an ACTIVE consent
// that has not reached its expiry.
func RenewPurpose(p *PurposeConsent, expiresAt *time.Time, now time.Time) error {
	if _, err := PurposeTransition(p.Status, PurposeEventRenew); err != nil {
		return err
	}
	if !p.Active(now) {
		return &PreconditionError{Event: Event(PurposeEventRenew), Reason: "the purpose consent has reached its expiry"}
	}
	if expiresAt != nil && !expiresAt.After(now) {
		return &PreconditionError{Event: Event(PurposeEventRenew), Reason: "the new expiry is not in the future"}
	}
	if expiresAt != nil {
		e := expiresAt.UTC()
		expiresAt = &e
	}
	p.ExpiresAt = expiresAt
	return nil
}

// PurposeAuditEntry is one row of a purpose consent's history, oldest first.
type PurposeAuditEntry struct {
	At            time.Time
	From          PurposeStatus
	To            PurposeStatus
	Event         PurposeEvent
	Who           string
	ClientID      string
	InteractionID string
	Reason        string
}

// PurposeOutboxEventType is the outbox/Kafka type of purpose consent events.
const PurposeOutboxEventType = "ofp.consent.purpose.v1"

// PurposeEventPayload is the payload of a purpose consent event. Like
// LifecycleEvent it carries no customer document.
type PurposeEventPayload struct {
	PurposeConsentID string        `json:"purpose_consent_id"`
	PurposeID        string        `json:"purpose_id"`
	Event            PurposeEvent  `json:"event"`
	From             PurposeStatus `json:"from,omitempty"`
	To               PurposeStatus `json:"to"`
	At               time.Time     `json:"at"`
	Version          int64         `json:"version"`
	PartnerID        string        `json:"partner_id,omitempty"`
	LinkedConsentID  string        `json:"linked_consent_id,omitempty"`
	Reason           string        `json:"reason,omitempty"`
}
