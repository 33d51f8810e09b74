// Package backendrpc is the wire of ofp's back-end contract: how the data
// holder calls the institution's own systems (core banking in
// connectors/corebank/corehttp, customer identity in authz/idp/idphttp).
//
// The contract's OpenAPI 3.0 document is contract.yaml (Contract; `ofp sim
// backend` serves it at /openapi.yaml): what an institution implements,
// and what backendrpctest checks the adapters' traffic against in their
// tests and in the end-to-end test of `ofp serve --backend-url`.
//
// Every call is POST <base URL><path> with a JSON body and answers 200 with
// a JSON body, or an error status with {"error":{"code":"…","message":"…"}}
// whose code the adapters map to their port's errors. The contract is small
// on purpose: an institution implements it in front of its systems (or runs
// `ofp sim backend` to try it), and the holder never needs to know more.
//
// Client: https only (plain http for a loopback sidecar), TLS 1.2+, an
// optional CA bundle and client certificate (HTTPClient), an optional
// bearer token (never logged, never in an error), a per-attempt timeout,
// retries with backoff for idempotent calls only (core reads; a login is
// never sent twice), a cap on answer size. Any failure to get an answer
// wraps ErrUnavailable; a contract error is an *Error. Stats counts the
// calls per path (answered, refused, unavailable, retries, a latency
// histogram); `ofp serve` exports them as ofp_backend_* in /metrics.
//
// Handle serves one endpoint of the contract from a Go function, with the
// bearer token checked in constant time; it is what the simulated back end
// and the tests use.
package backendrpc
