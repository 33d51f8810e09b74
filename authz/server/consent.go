package server

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/ofp-dev/ofp/authz/login"
)

// ConsentGate is how authz asks the consent service about consent:<urn>
// scopes. Only standard-library types and login.Payment (what the consent
// page shows of a payment) cross it; cmd/ofp implements it over
// the consent store. authz never writes consent state except through
// Authorise and Reject, the two customer decisions taken on its pages.
type ConsentGate interface {
	// CheckPending: the consent exists, is AWAITING_AUTHORISATION and was
	// created by clientID. Returns ErrConsentNotFound, ErrConsentNotPending
	// or ErrConsentOtherClient (wrapped or not); any other error means the
	// consent service is unavailable.
	CheckPending(ctx context.Context, clientID, consentID string) (ConsentInfo, error)
	// Authorise moves AWAITING_AUTHORISATION -> AUTHORISED after checking
	// the customer matches loggedUser (and businessEntity); resourceIDs are
	// the resources the customer chose. ErrCustomerMismatch on mismatch,
	// ErrConsentNotPending when it is no longer awaiting authorisation.
	Authorise(ctx context.Context, consentID string, customer Customer, resourceIDs []string) error
	// Reject: the customer refused on the consent page (REJECT_BY_USER,
	// rejectedBy USER, reason CUSTOMER_MANUALLY_REJECTED).
	Reject(ctx context.Context, consentID string, customer Customer) error
	// Authorised reports whether the consent is AUTHORISED now (token
	// endpoint, introspection, resource calls).
	Authorised(ctx context.Context, consentID string) (bool, error)
}

// ConsentInfo is what the login and consent pages need to know about a
// consent. Documents are digits only; Rel is "CPF" or "CNPJ".
type ConsentInfo struct {
	ID, ClientID, Status string
	Permissions          []string
	LoggedUserDocument   string
	LoggedUserRel        string
	BusinessDocument     string
	BusinessRel          string
	// ExpiresAt is zero for open-ended consents.
	ExpiresAt time.Time
	// Payment is set for a payment consent: what the consent page shows
	// the customer is asked to pay.
	Payment *login.Payment
}

// ResourceNarrower is a ConsentGate that narrows, per consent, which of
// the customer's resources may be chosen on the consent page: a payment
// consent whose initiator named the debtor account offers that account
// only, so the customer cannot pick one the consent would refuse. ids are
// the customer's resources of the permissions' types; the answer keeps
// their order.
type ResourceNarrower interface {
	Choosable(ctx context.Context, consentID string, customer Customer, ids []string) ([]string, error)
}

// Customer is the authenticated customer taking a decision.
type Customer struct {
	// Subject is the customer's stable sub; CPF always set; CNPJ set for a
	// business login.
	Subject, CPF, CNPJ string
}

// Sentinel errors a ConsentGate returns.
var (
	// ErrConsentNotFound: no consent with that id. PAR answers invalid_scope.
	ErrConsentNotFound = errors.New("server: consent not found")
	// ErrConsentNotPending: the consent is not AWAITING_AUTHORISATION any
	// more (authorised, rejected or expired). PAR answers invalid_scope,
	// the login flow access_denied.
	ErrConsentNotPending = errors.New("server: consent is not awaiting authorisation")
	// ErrConsentOtherClient: the consent was created by another client.
	// PAR answers invalid_scope.
	ErrConsentOtherClient = errors.New("server: consent belongs to another client")
	// ErrCustomerMismatch: the customer is not the consent's loggedUser or
	// businessEntity. The flow answers access_denied.
	ErrCustomerMismatch = errors.New("server: customer does not match the consent")
)

// ConsentScopePrefix starts the parameterised consent scope.
const ConsentScopePrefix = "consent:"

// ConsentIDOf returns the <urn> of the first consent:<urn> scope in scopes
// (space separated), or "".
func ConsentIDOf(scopes string) string {
	for _, sc := range strings.Fields(scopes) {
		if strings.HasPrefix(sc, ConsentScopePrefix) && len(sc) > len(ConsentScopePrefix) {
			return sc[len(ConsentScopePrefix):]
		}
	}
	return ""
}

// MatchCustomer applies the FAPI-BR rules (security-fapi-br §7.1 items 9-11):
// the CPF must be the consent's loggedUser; a consent with a businessEntity
// needs a business login for that CNPJ; a consent without one refuses a
// business login. It returns ErrCustomerMismatch or nil.
func MatchCustomer(info ConsentInfo, c Customer) error {
	if info.LoggedUserDocument == "" || info.LoggedUserDocument != c.CPF {
		return ErrCustomerMismatch
	}
	if info.BusinessDocument == "" {
		if c.CNPJ != "" {
			return ErrCustomerMismatch
		}
		return nil
	}
	if info.BusinessDocument != c.CNPJ {
		return ErrCustomerMismatch
	}
	return nil
}

// ConsentGrantRevoker is implemented by storage that revokes every grant of
// a consent itself (authz/store.Store does, in one statement across
// replicas). Without it the server keeps an in-memory index of the grants
// it saved, which only covers grants made by this process.
type ConsentGrantRevoker interface {
	RevokeGrantsByConsent(ctx context.Context, consentID string) (int, error)
}

// RefreshGate is optional: when the ConsentGate implements it, a refresh
// token of a consent is honoured only while RefreshAllowed says so. It lets
// the consent service refuse refreshes a read would still allow, such as a
// CONSUMED payment consent (BRIEF §4: no refresh token for it) whose
// status reads must go on working.
type RefreshGate interface {
	RefreshAllowed(ctx context.Context, consentID string) (bool, error)
}
