// Package e2e holds the end-to-end tests of the customer-data and resources
// APIs behind the real FAPI-BR authorization server: the receiver (the
// independent client of databench.Authorise: DCR, Consents API, PAR, the
// customer's login and consent pages, code exchange) obtains a
// certificate-bound token, reads every endpoint family through
// authz/server Protect over mutual TLS (accounts, credit cards, customers,
// resources), each answer validated against the official spec, and after
// the consent is revoked every call is 401. It also runs the databench
// measurement once on that stack.
//
// It has no non-test code; nothing may import it.
package e2e
