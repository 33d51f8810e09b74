// Package e2e holds the end-to-end tests of the FAPI-BR authorization
// server (authz/server) driven by an independent client: the TPP is
// connectors/fapi, the receiver client built only from golang.org/x/oauth2,
// github.com/go-jose/go-jose/v4 and net/http with mutual TLS (it never
// imports authz), and the customer's browser is net/http with
// golang.org/x/net/html for the login and consent forms.
// It registers through DCR with a directory-signed software statement,
// creates a consent through the real Consents API (consent/consenthttp over
// consent/consentsql on SQLite), runs PAR, the HTML login and consent, the
// code exchange with PKCE, ID-token validation, a certificate-bound
// resource call, refresh and revocation, plus one negative test per rule.
//
// It has no non-test code; nothing may import it.
package e2e
