// Package customerdata serves the Open Finance Brasil customer-data APIs of
// the data holder: Accounts 2.4.2, Credit-cards-accounts 2.3.1 and
// Customers 2.2.1, read through the core banking port (connectors/corebank)
// under the customer's consent (consent/consentsql).
//
// Each API is one constructor (NewAccounts, NewCreditCards, NewCustomers)
// returning an *API, an http.Handler whose routes are Go 1.22 ServeMux
// patterns ("GET /open-banking/accounts/v2/accounts/{accountId}"), so the
// API-call record (ingest/apicalls) gets the templated endpoint; Routes and
// AccountsRoutes/CreditCardsRoutes/CustomersRoutes list every endpoint with
// the token it needs (Requirement) and the consent permission it checks.
//
// # Checks, in order, with the answer of each failure
//
//  1. The token: done in front of the handler by Options.Guard (authz/server
//     Protect: mTLS, certificate-bound token, scopes, consent AUTHORISED at
//     the authorization server) — 401/403 in its own words; the
//     accounts/cards error shape (Meta with totals) is restored around it.
//  2. x-fapi-interaction-id present and a UUID (400, with a generated one
//     echoed), Accept allows JSON (406).
//  3. Options.Caller names the client and consent (401), the client is
//     within its rate limit (429 with Retry-After; a token bucket per
//     client id shared by all APIs: Limiter per process, or
//     authz/store.ClientRateLimiter shared by the replicas through the
//     database; ParseLimit reads the operator's setting and refuses one
//     below the 500-a-minute floor).
//  4. The consent exists, is a HOLDER consent of this client, is AUTHORISED
//     and not past its expirationDateTime (401 UNAUTHORIZED — the guidance
//     tables answer 401 for a consent that is not authorised, revoked or
//     expired). It is read from the store on every call, so a consent
//     revoked between two pages stops the next page.
//  5. The consent grants the endpoint's permission (403 FORBIDDEN).
//  6. For account and card endpoints, the id is a resource the customer
//     shared under this consent (403 RESOURCE_FORBIDDEN otherwise, also for
//     ids of other customers or that do not exist), and it is AVAILABLE
//     (403 STATUS_RESOURCE_PENDING_AUTHORISATION / _TEMPORARILY_UNAVAILABLE
//     / _UNAVAILABLE); the core reads it as the consent's owner (loggedUser
//     CPF, businessEntity CNPJ), and a shared id the customer no longer
//     holds is STATUS_RESOURCE_UNAVAILABLE. Lists show only the AVAILABLE
//     shared resources the customer still holds.
//  7. Query parameters: page ≥ 1 and 1 ≤ page-size (400), page-size ≤ 1000
//     (422), a page past the last one (422: customers 2.2.1 forbids an empty
//     identification list, so no API answers an empty page past the end);
//     dates must be YYYY-MM-DD and enums known (400); date rules are 422:
//     from/to sent together, from ≤ to, accounts /transactions within 12
//     months back and forth, transactions-current from D-6.
//
// Paging follows the specs: links.self always; first and prev when not on
// the first page; next (and last, where the schema has it) when a page
// follows; meta totals where the schema has them (accounts, cards) and
// meta {requestDateTime} alone where it has not (transactions, customers).
// Links keep the request's filters and carry a pagination-key (HMAC over
// consent, path and filters, valid Options.PaginationKeyTTL); a call that
// presents a valid one is marked paginationKey=true in the API-call record,
// an invalid one is simply ignored. Transactions without dates are
// today's, as the specs say; bill transactions without dates are the whole
// bill. The handlers set consentId and personType (PF/PJ) on the
// API-call record, and clientOrgId when the Caller knows it.
//
// # Wiring
//
// Options is shared by the three APIs and consent/resourceshttp: Consents
// (*consentsql.Store), Caller (over authz's TokenFrom), Guard (over
// authz's Protect, applied per route inside the API's mux so the matched
// pattern is recorded even when the guard refuses), one Limiter for all,
// PublicURL (the published https host: credit-cards 2.3.1 links must carry
// a domain name), PaginationKeySecret (shared by replicas).
//
// Subpackages: spectest (kin-openapi validation of exchanges, tests only),
// databench (the receiver's journey as an independent client, and the
// mTLS benchmark beside its ceiling for cmd/ofpbench), e2e (tests through
// the real authorization server).
//
// It never writes consent state, never checks tokens itself (the Guard
// does), never imports authz, and never logs documents, tokens or bodies.
package customerdata
