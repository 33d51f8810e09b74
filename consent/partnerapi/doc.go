// Package partnerapi serves the partner API: a partner of the institution
// reads the data a customer agreed to share with it, only under an ACTIVE
// purpose (LGPD, non-regulated) consent naming that partner:
//
//	GET /partner/v1/consents/{consentId}        the consent's status (any status)
//	GET /partner/v1/consents/{consentId}/data   the shared data (ACTIVE consents only)
//
// Every call authenticates the partner (PartnerAuthenticator; KeyAuthenticator
// checks API keys by SHA-256 digest in constant time) and reads the consent
// from the store again — nothing is cached — so a revocation (by the
// customer, an operator, or a linked regulated consent's cascade) or an
// expiry refuses the very next call with 403 CONSENTIMENTO_INATIVO. Another
// partner's consent is 403 ACESSO_NAO_PERMITIDO; an unknown one 404; a
// missing or wrong key 401. Errors use the Open Finance ResponseError shape
// (internal/httpx). Each data read is logged (partner, consent, purpose;
// never the customer's document).
//
// It never changes consents, never decides what data a permission covers
// (the SharedData the lead wires does, from the consent's permissions and
// customer), and never authenticates staff or customers (internal/rbac and
// consent/portal do).
package partnerapi
