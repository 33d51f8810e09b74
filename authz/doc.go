// Package authz will be the FAPI-BR authorization server of the data holder
// (BRIEF.md §9–10): one server per brand (up to five issuers), PAR with signed
// (optionally encrypted) request objects, PKCE S256, response_type
// "code id_token" with response_mode=fragment, private_key_jwt client
// authentication, certificate-bound access tokens (RFC 8705) over mTLS,
// encrypted id_tokens with acr loa2/loa3, parameterised consent scopes,
// refresh tokens without rotation, DCR/DCM against directory-signed software
// statements, userinfo, discovery and JWKS per brand.
//
// Building blocks live in subpackages: authz/keys owns per-brand signing and
// encryption keys and the published JWKS; authz/dcr owns dynamic client
// registration and management (RFC 7591/7592, DCR-BR) and its client store
// (authz/dcr/dcrsql); internal/pki owns the test PKI, the FAPI TLS settings
// and reading software_id/org_id from client certificates. The remaining
// protocol handlers (par, pkce, mtls, clientauth, token) will be added as
// authz/<concern> packages.
//
// authz never writes consent state: it reads it through an interface it
// declares, and the consent package reaches back only through a token
// revoker wired in cmd/ofp.
package authz
