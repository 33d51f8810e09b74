// Package consenthttp serves the Open Finance Brasil Consents API 3.3.1 (data
// holder side) over a consent store:
//
//	POST   /open-banking/consents/v3/consents
//	GET    /open-banking/consents/v3/consents/{consentId}
//	DELETE /open-banking/consents/v3/consents/{consentId}
//	POST   /open-banking/consents/v3/consents/{consentId}/extends
//	GET    /open-banking/consents/v3/consents/{consentId}/extensions
//
// It owns the wire shapes (data, links.self, meta; ResponseError for every
// error with the spec's status codes and 422 codes), the request checks the
// spec states (x-fapi-interaction-id required and echoed, generated when
// missing or invalid with a 400; x-v: 3.3.1 on every response; the
// mandatory x-fapi-customer-ip-address and x-customer-user-agent on
// /extends; the permission-group, PF/PJ and expirationDateTime rules;
// dropping permissions of products the holder does not offer), and the
// mapping of store outcomes to HTTP. Due expiries are applied when a consent
// is read through any endpoint: an AWAITING_AUTHORISATION consent older than
// 60 minutes is moved to REJECTED (ASPSP, CONSENT_EXPIRED), an AUTHORISED one
// past its expirationDateTime to REJECTED (ASPSP, CONSENT_MAX_DATE_REACHED),
// so no caller ever sees a stale status.
//
// The lifecycle rules themselves live in package consent and persistence in
// consent/consentsql; this package never writes consent state except through
// the Store interface, and never imports authz.
//
// # Authentication is NOT done here
//
// The caller's identity comes from Options.Clients (a ClientResolver); the
// handler trusts it. It checks only that a consent belongs to the calling
// client (another client's consent → 403, as the conformance suite expects).
// The authz integration must, in front of or inside the resolver:
//   - require mTLS with a certificate bound to the access token (FAPI-BR);
//   - require a client_credentials token with scope "consents" for POST
//     /consents, GET and DELETE /consents/{id} (401/403 otherwise);
//   - require an authorization_code token with "openid consent:{id}" for
//     POST /extends and GET /extensions, for that very consent (this also
//     rejects /extends on an AWAITING_AUTHORISATION consent with 401/403
//     before this package answers 422 ESTADO_CONSENTIMENTO_INVALIDO).
//
// # Token revocation
//
// After every transition to REJECTED it makes (DELETE, and an expiry
// applied on read) the handler calls Options.Tokens (TokenRevoker, which
// authz/server's (*Server).RevokeConsentTokens satisfies) before it
// answers, with a context that survives the client going away. A failure is
// logged and does not change the answer: the consent is REJECTED already
// and authz refuses tokens of a consent that is not AUTHORISED on every
// call. Rejections made elsewhere (expiry job, customer portal, operator
// console, LGPD cascades) are revoked by those callers.
//
// HeaderClientResolver reads the client id from a header and exists for
// tests and local development only.
package consenthttp
