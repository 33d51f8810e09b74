// Package e2e holds the end-to-end tests of the customer-data and resources
// APIs behind the real FAPI-BR authorization server. The receiver is
// connectors/fapi, the independent client (x/oauth2, go-jose, net/http),
// driven by databench.Authorise: DCR, Consents API, PAR, the customer's
// login and consent pages, callback and id_token checks, code exchange.
// With its certificate-bound token the same client reads every endpoint
// family through authz/server Protect over mutual TLS (accounts, credit
// cards, customers, resources); each exchange is kept as it crossed the
// wire (under fapi's transport) and validated against the official spec,
// and the holder must echo x-fapi-interaction-id.
//
// Negative paths: a missing permission, a resource not shared, the token
// over another client's certificate or without one, a garbage token, an
// expired token (the server's own token re-signed by the brand's key with
// its times an hour earlier, beside an unshifted control, since go-oidc
// checks a JWT's exp on the wall clock and tokens live at least 300 s),
// and every call after the consent is revoked: 401/403 in each spec's
// error shape. It also runs the databench measurement once on that stack.
//
// It has no non-test code; nothing may import it.
package e2e
