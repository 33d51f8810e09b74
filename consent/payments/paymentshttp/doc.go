// Package paymentshttp serves the Open Finance Brasil Payments API 4.0.0
// (holder side) over a payments store:
//
//	POST  /open-banking/payments/v4/consents                      client_credentials, x-idempotency-key
//	GET   /open-banking/payments/v4/consents/{consentId}          client_credentials
//	POST  /open-banking/payments/v4/pix/payments                  authorization_code bound to the consent, x-idempotency-key
//	GET   /open-banking/payments/v4/pix/payments/{paymentId}      client_credentials
//	PATCH /open-banking/payments/v4/pix/payments/{paymentId}      client_credentials (cancel one payment)
//	PATCH /open-banking/payments/v4/pix/payments/consents/{consentId}  client_credentials, x-idempotency-key (cancel all)
//
// # Bodies and errors
//
// Request and response bodies are signed JWTs (application/jwt, PS256;
// consent/payments/jwtbody): requests must carry aud = PublicURL + the
// endpoint's path, iss = the caller's organisationId, iat within 60 s and a
// jti unused for 24 h; answers carry aud = the caller's organisationId and
// iss = the holder's. Following BRIEF §4, 2xx and 422 answers are signed
// JWTs; every other error (400 incl. BAD_SIGNATURE, 401, 403, 404, 405,
// 406, 415, 500) is a plain JSON ResponseError (internal/httpx), as the
// spec's responses declare. The data claim of POST requests is checked
// against the spec's request schema (embedded copy in oas/): a missing
// field is 422 PARAMETRO_NAO_INFORMADO, a malformed one 422
// PARAMETRO_INVALIDO; then the business rules of package payments give the
// spec's other 422 codes. PATCH bodies that break the schema are 400 (that
// endpoint's 422 enum has only PAGAMENTO_NAO_PERMITE_CANCELAMENTO).
//
// # Idempotency (x-idempotency-key)
//
// Keys are scoped per endpoint and per initiator organisation and kept 24 h
// in the store. The same key with the same data claim (compared as
// canonical JSON, so a new jti/iat does not matter) replays the original
// result with the resources' current state (header
// x-idempotency-replayed: true); with other data it is refused with 422
// ERRO_IDEMPOTENCIA. 422 outcomes are remembered too. Concurrent duplicates
// are executed once: the store serialises them on the key (see
// paymentsql). On PATCH /pix/payments/consents/{id} ERRO_IDEMPOTENCIA is
// answered although that endpoint's 422 enum in the spec omits it.
//
// # Authentication is NOT done here
//
// Options.Caller (a CallerFunc) names the caller; the handler trusts it.
// cmd/ofp implements it over authz/server: Protect (mTLS, certificate-bound
// token, scopes, consent gate) in front, TokenFrom(ctx) inside, plus the
// client's organisationId from its DCR registration. The handler checks
// only the grant type per endpoint (403 otherwise), the payments scope, and
// that resources belong to the calling client (403).
//
// # API-call record
//
// Behind ingest/apicalls' Recorder middleware, each call sets the templated
// endpoint (e.g. /open-banking/payments/v4/pix/payments/{paymentId}), the
// client's organisation (and software statement id when the Caller has
// it), additionalInfo.consentId and, where the consent is read,
// additionalInfo.personType (PF/PJ).
//
// # Benchmark
//
// BenchPixInitiation measures POST /pix/payments through this handler
// beside a fixed-body ceiling on the same listener (for cmd/ofpbench).
//
// This package never writes state except through Store, never imports
// authz or sim, and never runs the settlement (payments.Processor does;
// Options.PaymentsCreated kicks it).
package paymentshttp
