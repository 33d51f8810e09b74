// Package resourceshttp serves the Open Finance Brasil Resources API 3.1.0
// of the data holder: GET /open-banking/resources/v3/resources lists the
// resources (accounts, credit-card accounts, contracts, investments...)
// the customer chose to share under the consent of the access token, each
// with its status: the one recorded at authorisation (AVAILABLE,
// PENDING_AUTHORISATION for a resource awaiting other holders,
// TEMPORARILY_UNAVAILABLE, UNAVAILABLE), except that an account or card
// the core banking port no longer holds for the customer is UNAVAILABLE.
//
// It shares the customer-data APIs' options and order of checks
// (customerdata.Options: Caller, Guard, Limiter, PublicURL, Now):
// x-fapi-interaction-id (400), Accept (406), caller (401), rate limit (429),
// consent of this client and AUTHORISED now (401 — the API "somente está
// disponível para consentimentos AUTHORISED"), RESOURCES_READ (403), then
// page (400) and page-size (below 25 counts as 25, above 1000 is 422; a page
// past the last is 422). Errors are ResponseError with meta
// {requestDateTime}; the answer carries x-v 3.1.0, links and meta totals.
//
// It never writes consent state and never imports authz.
package resourceshttp
