package consent

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Consent is a data-sharing consent as the holder keeps it. Times are UTC.
type Consent struct {
	// ID is a URN "urn:<institution>:<uuid>" (see NewID).
	ID          string
	Status      Status
	Permissions []string
	LoggedUser  LoggedUser
	// BusinessEntity is set for business (PJ) consents only.
	BusinessEntity *BusinessEntity
	// ClientID is the OAuth client of the receiver that created the consent.
	ClientID string
	// ExpirationDateTime is nil for open-ended ("prazo indeterminado") consents.
	ExpirationDateTime   *time.Time
	CreationDateTime     time.Time
	StatusUpdateDateTime time.Time
	// Rejection is set when Status is REJECTED.
	Rejection *Rejection
	// Version grows by one on every change; stores use it for optimistic
	// concurrency and it can serve as an ETag.
	Version int64
	// Role says on which side of Open Finance the institution stands for
	// this consent: RoleHolder (it holds the data; ClientID is the
	// receiver's client) or RoleReceiver (it obtained the consent from
	// another holder; ClientID is its own client there). New sets
	// RoleHolder when empty.
	Role Role
	// Counterparty names the other institution: for a RECEIVER consent the
	// holder that keeps it (required); for a HOLDER consent optionally the
	// receiver's name.
	Counterparty string
}

// Role is the institution's side of a consent.
type Role string

const (
	// RoleHolder: the institution holds the data; a receiver created the
	// consent through the Consents API.
	RoleHolder Role = "HOLDER"
	// RoleReceiver: the institution, as receiver, obtained the consent from
	// another data holder (connectors record it).
	RoleReceiver Role = "RECEIVER"
)

// Valid reports whether r is RoleHolder or RoleReceiver.
func (r Role) Valid() bool { return r == RoleHolder || r == RoleReceiver }

// Resource is one product a customer shares under a consent (Resources
// API 3.1.0): an account, card, contract... chosen at authorisation.
type Resource struct {
	// ID equals the accountId, creditCardAccountId, contractId, ... of the
	// product API.
	ID string
	// Type is the spec's EnumResourceType (ACCOUNT, CREDIT_CARD_ACCOUNT, LOAN, ...).
	Type string
	// Status is the spec's EnumResourceStatus (AVAILABLE, UNAVAILABLE,
	// TEMPORARILY_UNAVAILABLE, PENDING_AUTHORISATION).
	Status string
}

// ResourceTypes is the Resources API 3.1.0 type enum.
var ResourceTypes = []string{"ACCOUNT", "CREDIT_CARD_ACCOUNT", "LOAN", "FINANCING", "UNARRANGED_ACCOUNT_OVERDRAFT",
	"INVOICE_FINANCING", "BANK_FIXED_INCOME", "CREDIT_FIXED_INCOME", "VARIABLE_INCOME", "TREASURE_TITLE", "FUND", "EXCHANGE"}

// ResourceStatuses is the Resources API 3.1.0 status enum.
var ResourceStatuses = []string{"AVAILABLE", "UNAVAILABLE", "TEMPORARILY_UNAVAILABLE", "PENDING_AUTHORISATION"}

// ValidateResources checks types, statuses and that no ID repeats.
func ValidateResources(rs []Resource) error {
	seen := map[string]bool{}
	for _, r := range rs {
		if strings.TrimSpace(r.ID) == "" || len(r.ID) > 100 {
			return fmt.Errorf("consent: resource id must be 1 to 100 characters")
		}
		if seen[r.ID] {
			return fmt.Errorf("consent: resource %s listed twice", r.ID)
		}
		seen[r.ID] = true
		if !slices.Contains(ResourceTypes, r.Type) {
			return fmt.Errorf("consent: resource %s has unknown type %q", r.ID, r.Type)
		}
		if !slices.Contains(ResourceStatuses, r.Status) {
			return fmt.Errorf("consent: resource %s has unknown status %q", r.ID, r.Status)
		}
	}
	return nil
}

// Customer reports whether document (CPF or CNPJ) is the consent's
// loggedUser or businessEntity: the customer the consent is about.
func (c Consent) Customer(document string) bool {
	if document == "" {
		return false
	}
	if c.LoggedUser.Document.Identification == document {
		return true
	}
	return c.BusinessEntity != nil && c.BusinessEntity.Document.Identification == document
}

// Document identifies a person (CPF) or company (CNPJ); Rel is its kind
// ("CPF", "CNPJ") as the spec sends it.
type Document struct {
	Identification string
	Rel            string
}

// LoggedUser is the natural person logged in at the receiver.
type LoggedUser struct {
	Document Document
}

// BusinessEntity is the company whose data a PJ consent shares.
type BusinessEntity struct {
	Document Document
}

// RejectedBy is the spec's EnumRejectedBy.
type RejectedBy string

const (
	RejectedByUser  RejectedBy = "USER"
	RejectedByASPSP RejectedBy = "ASPSP"
	RejectedByTPP   RejectedBy = "TPP"
)

// ReasonCode is the spec's rejection.reason.code enum.
type ReasonCode string

const (
	ReasonConsentExpired           ReasonCode = "CONSENT_EXPIRED"
	ReasonCustomerManuallyRejected ReasonCode = "CUSTOMER_MANUALLY_REJECTED"
	ReasonCustomerManuallyRevoked  ReasonCode = "CUSTOMER_MANUALLY_REVOKED"
	ReasonConsentMaxDateReached    ReasonCode = "CONSENT_MAX_DATE_REACHED"
	ReasonConsentTechnicalIssue    ReasonCode = "CONSENT_TECHNICAL_ISSUE"
	ReasonInternalSecurityReason   ReasonCode = "INTERNAL_SECURITY_REASON"
	maxAdditionalInformationLength            = 140
)

// Rejection says why a consent is REJECTED.
type Rejection struct {
	RejectedBy RejectedBy
	Reason     ReasonCode
	// AdditionalInformation is optional free text for the receiver (≤140 characters).
	AdditionalInformation string
}

// Extension is one renewal of a consent (GET /consents/{id}/extensions).
type Extension struct {
	ExpirationDateTime         *time.Time // nil = renewed as open-ended
	PreviousExpirationDateTime *time.Time // nil = was open-ended
	LoggedUser                 LoggedUser
	BusinessEntity             *BusinessEntity
	RequestDateTime            time.Time
	CustomerIPAddress          string
	CustomerUserAgent          string
}

// AuditActor says who caused a change, for the audit history.
type AuditActor struct {
	// Who is "user:<cpf>", "tpp:<clientId>", "system:expiry", ... — free text.
	Who           string
	ClientID      string
	InteractionID string
	// Reason is internal audit text; it is never shown to the receiver.
	Reason string
	// Detail becomes rejection.additionalInformation when the event rejects
	// the consent (≤140 characters, shown to the receiver). Optional.
	Detail string
}

// AuditEntry is one row of a consent's history, oldest first.
type AuditEntry struct {
	At            time.Time
	From          Status // StatusNone for the CREATE row
	To            Status
	Event         Event
	Who           string
	ClientID      string
	InteractionID string
	Reason        string
}

// OutboxEvent is a lifecycle event written in the same transaction as the
// change it reports, waiting to be published to events.TopicConsentEvents.
// ID is unique and becomes the envelope ID, so consumers can drop duplicates
// (the outbox delivers at least once).
type OutboxEvent struct {
	ID        string
	ConsentID string
	Type      string
	Payload   json.RawMessage // a LifecycleEvent, or another event type written through the outbox (see Type)
	CreatedAt time.Time
}

// OutboxEventType is the type of consent lifecycle (state transition) events;
// other events share the outbox (lifecycle.NearExpiryEventType), so
// consumers dispatch on the envelope type.
const OutboxEventType = "ofp.consent.lifecycle.v1"

// LifecycleEvent is the payload of an OutboxEvent. It carries no customer
// document numbers (the analytics need the funnel, not the person).
type LifecycleEvent struct {
	ConsentID     string    `json:"consent_id"`
	Event         Event     `json:"event"`
	From          Status    `json:"from,omitempty"`
	To            Status    `json:"to"`
	At            time.Time `json:"at"`
	Version       int64     `json:"version"`
	ClientID      string    `json:"client_id"`
	ActorClientID string    `json:"actor_client_id,omitempty"`
	InteractionID string    `json:"interaction_id,omitempty"`
	Business      bool      `json:"business"`
	Permissions   []string  `json:"permissions"`
	// Role is HOLDER or RECEIVER. A RECEIVER consent rejected by
	// REVOKE_BY_TPP must be revoked at its holder too (DELETE there): the
	// receiver connector consumes these events to do so.
	Role               Role       `json:"role"`
	Counterparty       string     `json:"counterparty,omitempty"`
	ExpirationDateTime *time.Time `json:"expiration_date_time,omitempty"`
	RejectedBy         RejectedBy `json:"rejected_by,omitempty"`
	RejectionReason    ReasonCode `json:"rejection_reason,omitempty"`
}

// NewLifecycleEvent builds the payload for a change of c (already moved to
// its new state) from status from by ev.
func NewLifecycleEvent(c Consent, from Status, ev Event, at time.Time, actor AuditActor) LifecycleEvent {
	le := LifecycleEvent{
		ConsentID: c.ID, Event: ev, From: from, To: c.Status, At: at.UTC(), Version: c.Version,
		ClientID: c.ClientID, ActorClientID: actor.ClientID, InteractionID: actor.InteractionID,
		Business: c.BusinessEntity != nil, Permissions: c.Permissions, ExpirationDateTime: c.ExpirationDateTime,
		Role: c.Role, Counterparty: c.Counterparty,
	}
	if le.Role == "" {
		le.Role = RoleHolder
	}
	if c.Status == StatusRejected && c.Rejection != nil {
		le.RejectedBy = c.Rejection.RejectedBy
		le.RejectionReason = c.Rejection.Reason
	}
	return le
}

// Errors that stores return; wrap-checked with errors.Is.
var (
	// ErrNotFound: no consent with that ID (HTTP 404).
	ErrNotFound = errors.New("consent: not found")
	// ErrAlreadyExists: a consent with that ID exists; generate a new ID.
	ErrAlreadyExists = errors.New("consent: already exists")
	// ErrConcurrentUpdate: the consent changed between read and write; retry
	// the whole operation (stores that lock rows never return it).
	ErrConcurrentUpdate = errors.New("consent: concurrent update, retry")
)

// urnPattern is the spec's consentId pattern.
var urnPattern = regexp.MustCompile(`^urn:[a-zA-Z0-9][a-zA-Z0-9-]{0,31}:[a-zA-Z0-9()+,\-.:=@;$_!*'%\/?#]+$`)

var namespacePattern = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9-]{0,31}$`)

// NewID returns a fresh consent ID "urn:<institution>:<uuid>". institution is
// the URN namespace of the holder (1-32 letters, digits or '-', not starting
// with '-').
func NewID(institution string) (string, error) {
	if !namespacePattern.MatchString(institution) {
		return "", fmt.Errorf("consent: institution %q is not a valid URN namespace (1-32 of [a-zA-Z0-9-], starting alphanumeric)", institution)
	}
	return "urn:" + institution + ":" + uuid.NewString(), nil
}

// ValidID reports whether id matches the spec's consentId pattern (≤256 chars).
func ValidID(id string) bool {
	return len(id) <= 256 && urnPattern.MatchString(id)
}

// New returns c as a freshly created consent at now: status
// AWAITING_AUTHORISATION, CreationDateTime and StatusUpdateDateTime = now when
// zero, version 1, no rejection. It validates the fields the state machine and
// stores rely on; request-level rules (permission groups, dropping products
// the holder does not offer, expiration policy) belong to the caller.
func New(c Consent, now time.Time) (Consent, error) {
	if _, err := Transition(StatusNone, EventCreate); err != nil {
		return Consent{}, err
	}
	if !ValidID(c.ID) {
		return Consent{}, fmt.Errorf("consent: id %q is not a URN like urn:bank:<id>; build it with NewID", c.ID)
	}
	if c.Status != StatusNone && c.Status != StatusAwaitingAuthorisation {
		return Consent{}, fmt.Errorf("consent: a new consent must be %s, not %s", StatusAwaitingAuthorisation, c.Status)
	}
	if err := ValidatePermissions(c.Permissions); err != nil {
		return Consent{}, err
	}
	if strings.TrimSpace(c.LoggedUser.Document.Identification) == "" {
		return Consent{}, fmt.Errorf("consent: loggedUser.document.identification is required")
	}
	if c.BusinessEntity != nil && strings.TrimSpace(c.BusinessEntity.Document.Identification) == "" {
		return Consent{}, fmt.Errorf("consent: businessEntity given without document.identification")
	}
	if c.ClientID == "" {
		return Consent{}, fmt.Errorf("consent: clientID is required")
	}
	if c.Role == "" {
		c.Role = RoleHolder
	}
	if !c.Role.Valid() {
		return Consent{}, fmt.Errorf("consent: role %q is neither %s nor %s", c.Role, RoleHolder, RoleReceiver)
	}
	if c.Role == RoleReceiver && strings.TrimSpace(c.Counterparty) == "" {
		return Consent{}, fmt.Errorf("consent: a %s consent needs its holder in Counterparty", RoleReceiver)
	}
	if len(c.Counterparty) > 200 {
		return Consent{}, fmt.Errorf("consent: counterparty is longer than 200 characters")
	}
	if c.CreationDateTime.IsZero() {
		c.CreationDateTime = now
	}
	c.CreationDateTime = c.CreationDateTime.UTC()
	if c.ExpirationDateTime != nil {
		e := c.ExpirationDateTime.UTC()
		if !e.After(c.CreationDateTime) {
			return Consent{}, fmt.Errorf("consent: expirationDateTime %s is not after creation %s", e.Format(time.RFC3339), c.CreationDateTime.Format(time.RFC3339))
		}
		c.ExpirationDateTime = &e
	}
	c.Status = StatusAwaitingAuthorisation
	c.StatusUpdateDateTime = c.CreationDateTime
	c.Rejection = nil
	c.Version = 1
	c.Permissions = append([]string(nil), c.Permissions...)
	return c, nil
}

func validateAdditionalInformation(s string) error {
	if s == "" {
		return nil
	}
	if utf8.RuneCountInString(s) > maxAdditionalInformationLength {
		return fmt.Errorf("consent: rejection additionalInformation is longer than %d characters", maxAdditionalInformationLength)
	}
	if strings.TrimSpace(s) != s {
		return fmt.Errorf("consent: rejection additionalInformation must not start or end with spaces")
	}
	return nil
}
