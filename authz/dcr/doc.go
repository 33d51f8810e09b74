// Package dcr owns Dynamic Client Registration and Management for the
// authorization server (RFC 7591, RFC 7592, DCR-BR; dcr-dcm-2.0.1.yaml;
// BRIEF.md §10). Handler serves POST /register and GET/PUT/DELETE
// /register/{client_id} (also /register?client_id=…): it verifies the
// directory-signed software statement (PS256, issuer, iat ≤ 5 min), checks
// the requested metadata against it (jwks_uri, redirect_uris, webhook_uris,
// scopes from the active regulatory roles, auth method, grant and response
// types), binds the registration to the mTLS client certificate (UID =
// software_id, organizationIdentifier = OFBBR-<org_id>) and keeps clients in
// a Store. Registration access tokens are random, never rotated, and stored
// only as a SHA-256 hash compared in constant time.
//
// Clients belong to a brand: one Handler per brand (Options.Brand) creates
// clients of that brand, and every Store lookup (Get, Update, Delete) is
// scoped by brand, so a client registered at brand A is unknown at brand B
// (its registration endpoint and, through authz/server's adapter, its
// token endpoint). Client ids and software statements are unique across
// brands.
//
// Errors use the RFC 7591 shape {"error","error_description"} with the
// spec's codes, never the Open Finance ResponseError.
//
// dcr never authenticates clients at the token endpoint, issues access
// tokens, or fetches the client's jwks_uri; those belong to other authz
// packages, which read registered clients through Store. SQL storage lives in
// authz/dcr/dcrsql; the store contract tests in authz/dcr/dcrtest.
package dcr
