// Package authz is the FAPI-BR authorization server of the data holder
// (BRIEF.md §9–10): one server per brand (up to five issuers), PAR with signed
// (optionally encrypted) request objects, PKCE S256, response_type
// "code id_token" with response_mode=fragment, private_key_jwt client
// authentication, certificate-bound access tokens (RFC 8705) over mTLS,
// encrypted id_tokens with acr loa2/loa3, parameterised consent scopes,
// refresh tokens without rotation, DCR/DCM against directory-signed software
// statements, userinfo, discovery and JWKS per brand.
//
// Building blocks live in subpackages: authz/server assembles the go-oidc
// providers, the consent binding, the login policy and the resource
// middleware (Protect); authz/keys owns per-brand signing and encryption
// keys and the published JWKS; authz/dcr owns dynamic client registration
// and management (RFC 7591, RFC 7592, DCR-BR) and its client store
// (authz/dcr/dcrsql); authz/store keeps sessions, grants and client
// assertion ids in SQL; authz/idp is the identity provider interface with
// the demo provider; authz/login renders the branded pages and parses their
// forms; authz/e2e drives the whole flow with an independent client;
// internal/pki owns the test PKI, the FAPI TLS settings and reading
// software_id/org_id from client certificates.
//
// authz writes consent state only for the customer's two decisions on its
// pages (authorise, refuse), through the ConsentGate interface it declares
// (authz/server); the consent package reaches back only through a token
// revoker ((*server.Server).RevokeConsentTokens) wired in cmd/ofp.
package authz
