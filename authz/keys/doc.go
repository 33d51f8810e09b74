// Package keys owns the authorization server's per-brand key material: for
// each brand (at most five, each with its own issuer) a PS256 signing key and
// an RSA-OAEP encryption key (RSA 2048+), their rotation, and the public
// JWKS served at each brand's jwks_uri.
//
// Keys live in a KeyStore, each as EncodeRecord writes it (a private JWK
// plus ofp_created_at / ofp_not_before / ofp_retired_at members). FileStore
// keeps one JWK Set file per brand (mode 0600), for a single process. The
// replicas of one server share an UpdatingStore (authz/store's KeyStore, in
// PostgreSQL or SQLite, sealed at rest): every change a Manager makes
// (creating a brand's first keys, rotating, pruning) is a read-modify-write
// under the store's lock of what is stored now, so replicas starting or
// rotating at once end with one key set and never drop each other's keys;
// Manager.Run reloads the store periodically, and DecryptJWE reloads on an
// unknown kid, so each replica serves and uses what the others stored.
//
// Rotation puts a new key in use and retires the previous one. With
// Options.PublishAhead the new key is published at once but used only from
// its NotBefore, so every replica and client knows it before the first
// token it signs; the previous key is retired at that moment (every replica
// computes the same time from the same records). A retired key stays
// published (so tokens it signed still verify, and JWEs encrypted to it
// still decrypt) until Options.Retention has passed, then Prune drops it.
// A rotation always replaces the keys it finds, even when this process's
// clock is behind the one that made them.
//
// It never logs, prints or returns in errors any private key material
// (Record and Manager implement String, GoString and LogValue), never serves
// HTTP itself (the authz server mounts PublicJWKS), and never issues tokens.
package keys
