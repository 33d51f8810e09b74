// Package consent owns the domain of Open Finance Brasil data-sharing
// consents (Consents API 3.3.1): the Consent type, its lifecycle state
// machine, the rejection rules each lifecycle event implies, the permission
// registry, and the shapes of the audit history and of the lifecycle events
// that leave the service through the transactional outbox.
//
// The lifecycle is a type ([Status]) moved only by [Transition]:
//
//	stateDiagram-v2
//	    [*] --> AWAITING_AUTHORISATION: CREATE
//	    AWAITING_AUTHORISATION --> AUTHORISED: AUTHORISE
//	    AWAITING_AUTHORISATION --> REJECTED: REJECT_BY_USER (USER, CUSTOMER_MANUALLY_REJECTED)
//	    AWAITING_AUTHORISATION --> REJECTED: REVOKE_BY_TPP (TPP, CUSTOMER_MANUALLY_REJECTED)
//	    AWAITING_AUTHORISATION --> REJECTED: EXPIRE_AWAITING after 60 min (ASPSP, CONSENT_EXPIRED)
//	    AWAITING_AUTHORISATION --> REJECTED: REJECT_TECHNICAL_ISSUE (ASPSP, CONSENT_TECHNICAL_ISSUE)
//	    AWAITING_AUTHORISATION --> REJECTED: REJECT_SECURITY (ASPSP, INTERNAL_SECURITY_REASON)
//	    AUTHORISED --> AUTHORISED: EXTEND (new expirationDateTime)
//	    AUTHORISED --> REJECTED: REVOKE_BY_USER (USER, CUSTOMER_MANUALLY_REVOKED)
//	    AUTHORISED --> REJECTED: REVOKE_BY_TPP (TPP, CUSTOMER_MANUALLY_REVOKED)
//	    AUTHORISED --> REJECTED: EXPIRE_AUTHORISED at expirationDateTime (ASPSP, CONSENT_MAX_DATE_REACHED)
//	    AUTHORISED --> REJECTED: REJECT_TECHNICAL_ISSUE (ASPSP, CONSENT_TECHNICAL_ISSUE)
//	    AUTHORISED --> REJECTED: REJECT_SECURITY (ASPSP, INTERNAL_SECURITY_REASON)
//	    REJECTED --> [*]
//
// REJECTED is final: the spec has no CONSUMED or REVOKED status for data
// consents; revocation and expiry both end in REJECTED with a rejection
// object. Any other (status, event) pair is an *IllegalTransitionError,
// which the HTTP layer maps to 422 (for DELETE on a REJECTED consent:
// CONSENTIMENTO_EM_STATUS_REJEITADO).
//
// # Both sides, and the LGPD extension
//
// A Consent has a Role: HOLDER (the institution holds the data; a receiver
// created the consent through the Consents API) or RECEIVER (the
// institution obtained it from another holder, named in Counterparty), so
// one store and one customer view cover both ecosystems. Resources are the
// products the customer chose at authorisation.
//
// A PurposeConsent is a non-regulated consent for one of the institution's
// own purposes (consent/purposes: partner data sharing, marketing,
// analytics), with its own state machine (ACTIVE → REVOKED | EXPIRED,
// diagram at PurposeStatus). It may be linked to a regulated consent; the
// purpose's revocation rule (LinkRule, copied at grant time) applies in
// both directions: REVOKE_LINKED revokes the other side, KEEP_LINKED never
// does, ASK_CUSTOMER follows the customer's choice in the portal and keeps
// the other side otherwise. Stores apply it in the transaction of the
// revocation (consentsql.ApplyEventCascade, RevokePurpose).
//
// Persistence lives in consent/consentsql; this package never touches a
// database, never speaks HTTP, and never imports authz (token revocation is
// reached through a small interface that the service layer declares).
package consent
