// Package keys owns the authorization server's per-brand key material: for
// each brand (at most five, each with its own issuer) a PS256 signing key and
// an RSA-OAEP encryption key (RSA 2048+), their rotation, and the public
// JWKS served at each brand's jwks_uri.
//
// Keys live in a KeyStore. FileStore keeps one JWK Set file per brand (mode
// 0600, private JWKs plus ofp_created_at / ofp_retired_at members); a SQL
// store can replace it behind the same two-method interface.
//
// Rotation makes a new key active and retires the previous one; a retired key
// stays published (so tokens it signed still verify, and JWEs encrypted to it
// still decrypt) until Options.Retention has passed, then Prune drops it.
//
// It never logs, prints or returns in errors any private key material
// (Record and Manager implement String, GoString and LogValue), never serves
// HTTP itself (the authz server mounts PublicJWKS), and never issues tokens.
package keys
