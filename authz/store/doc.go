// Package store keeps the authorization server's protocol state — go-oidc
// grants, authorization sessions, pushed authorization requests and JWT
// ids — in PostgreSQL (pgx) or SQLite (modernc.org/sqlite, the embedded
// default), so that any replica continues any flow: PAR on one, /authorize
// on another, the login callback on a third, /token on a fourth. Store
// implements goidc.GrantManager, goidc.AuthManager, goidc.PARManager and
// goidc.RefreshTokenManager; Store.ConsumeJTI is a goidc.ConsumeJTIFunc.
// Both engines pass one contract suite (authz/store/storetest), several
// Stores on one database standing for several replicas.
//
// Store.Keys is the server's key store (authz/keys.UpdatingStore): the
// signing and encryption keys of every brand in authz_keys, each sealed
// with Options.SealKey bound to its brand and kid, changed only under the
// brand's row lock in authz_key_brands, so that all replicas sign, publish
// and decrypt with the same keys.
//
// The seal key rotates: Options.PreviousSealKeys open what older keys
// sealed (nothing is sealed with them), and KeyStore.Reseal and
// ResealGrants rewrite every sealed key and pending refresh token under
// the current one, after which the previous keys can be dropped (`ofp keys
// reseal`). The login limiter's HMACs are not carried over: failure counts
// restart with a new key.
//
// Store.LoginLimiter is the failed-login limiter the replicas share
// (authz/server.LoginLimiter, login.Limiter's rules): one row per failure
// and key in authz_login_failures, the CPF and the client address kept
// only as an HMAC-SHA-256 keyed with Options.SealKey.
//
// Store.ClientRateLimiter is the customer-data APIs' token bucket per
// client id the replicas share (consent/customerdata.RateLimiter): one row
// per client in authz_client_buckets; each replica leases a few tokens at
// a time, so the shared budget is never exceeded and the database sees
// about one transaction per lease, not per call.
//
// It owns the authz_sessions, authz_grants, authz_jti, authz_keys,
// authz_key_brands, authz_login_failures and authz_client_buckets tables and their
// migrations (embedded, applied by internal/sqlstore at open, recorded in
// authz_store_migrations). go-oidc's objects are stored as JSON documents;
// lookup keys and the fields the store enforces are columns, which win
// over the document.
//
// What it enforces, on every replica, beyond plain storage:
//   - one redemption per authorization code: SaveGrant records the first
//     redemption under the grant's row lock (SELECT … FOR UPDATE; BEGIN
//     IMMEDIATE on SQLite) and refuses a second one with ErrCodeRedeemed
//     (an invalid_grant), after which go-oidc revokes the grant, so the
//     tokens of the first redemption stop working (RFC 6749 §4.1.2);
//   - revocations and redemptions are never undone by a stale save;
//   - a request_uri is claimed by its one lookup (RFC 9126 one-time use);
//   - a finished authorization session is not resumable and cannot finish
//     twice (ErrSessionFinished): one login, at most one grant;
//   - a jti is accepted once within Options.JTIWindow (ErrJTIReplayed);
//   - secrets are kept as SHA-256 only: authorization codes always,
//     refresh tokens once the code is redeemed (until then the token
//     response needs the token itself, sealed with AES-256-GCM when
//     Options.SealKey is set).
//
// It also links grants to consents (the consent_id column, from a
// consent:<urn> or recurring-consent:<urn> scope) for
// RevokeGrantsByConsent, gives every row an expiry for DeleteExpired (to be
// run periodically), and scopes rows by brand through ForBrand.
//
// Nothing is cached: every call reads or writes the database. It never
// decides protocol rules (go-oidc and authz/server do), never stores
// clients (authz/dcr), never decides which key is in use (authz/keys does;
// Store.Keys only keeps them), and never speaks HTTP.
package store
