// Package jwtbody signs and verifies the JWT bodies of the Payments API
// 4.0.0: every request and response body is a compact JWS
// (application/jwt) signed with PS256, JOSE header {alg: PS256, kid, typ:
// JWT}, whose payload carries the body (data/links/meta or errors/meta)
// beside the claims aud, iss, jti and iat (FAPI-BR "Message Content Signing
// Considerations"; BRIEF §4).
//
// Requests (Verifier.Verify), in this order:
//   - shape: a compact JWS, PS256 only (other algorithms, "none" included,
//     are refused before any key is looked at), kid and typ JWT present;
//     the signature verifies with the kid's key among the client's
//     published keys (ClientKeys: its directory JWKS) → else 400
//     BAD_SIGNATURE (KindBadSignature);
//   - claims: iss = the client's organisationId, aud = the URL of the
//     endpoint called, iat within ±60 s, jti present → else 403
//     (KindInvalidClaims);
//   - jti unused by this client in the last 24 h (JTIs) → else 403
//     (KindReplayed). The jti is recorded only once everything else holds.
//
// Responses (Signer.Sign): iss = the holder's organisationId, aud = the
// client's organisationId, a fresh UUID jti, iat = now, signed with the
// holder's active key (SigningKeys; authz/keys.(*Manager) satisfies it).
// VerifyResponse is the client side of that, for tests and connectors.
//
// Parse is the untrusted-input parser; it never panics (fuzzed).
//
// This package never chooses HTTP statuses or bodies (paymentshttp maps
// Kind), never stores anything itself, and never logs keys.
package jwtbody
