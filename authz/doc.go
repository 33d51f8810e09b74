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
// registration and management (RFC 7591/7592, DCR-BR) and its brand-scoped
// client store (authz/dcr/dcrsql); authz/server runs one go-oidc provider
// per brand (DESIGN.md records why go-oidc is the protocol engine);
// authz/store keeps go-oidc's grants, sessions, pushed requests and JWT ids
// in SQLite or PostgreSQL so that any replica continues any flow;
// internal/pki owns the test PKI, the FAPI TLS settings and reading
// software_id/org_id from client certificates.
//
// authz never writes consent state: it reads it through an interface it
// declares, and the consent package reaches back only through a token
// revoker wired in cmd/ofp.
package authz
