// Package paymentsql stores payment consents and Pix payments in PostgreSQL
// (production, pgx) or SQLite (embedded default, modernc.org/sqlite) behind
// one type, Store, with the same behaviour on both engines: one contract
// suite runs against both.
//
// It owns the tables (migrations embedded per dialect, recorded in
// paymentsql_migrations through internal/sqlstore):
//
//   - payment_consents and payment_consent_history, pix_payments and
//     pix_payment_history: every change writes the new state, one history
//     row and, for a status change, one payment_notices row in the same
//     transaction (a transactional outbox for webhooks: none is lost).
//   - payment_idempotency: x-idempotency-key records (endpoint, org, key)
//     → request hash and outcome (status, resource IDs or the 422), kept 24 h.
//   - payment_jtis: the jti of every signed request per client, kept 24 h.
//
// Idempotency and concurrency: an operation that carries a key inserts the
// key's row as the first statement of its transaction. Concurrent requests
// with the same key serialise there (PostgreSQL: the second INSERT waits on
// the first transaction's uncommitted row and then fails on the primary
// key; SQLite: every transaction is BEGIN IMMEDIATE and holds the single
// write lock) and the loser gets payments.ErrIdempotencyRace with nothing
// changed, so a duplicate is executed exactly once and replays the winner's
// record. Rule refusals (422) are committed with their key too. Changes to
// a consent or payment lock its row (SELECT ... FOR UPDATE / the SQLite
// write lock) and compute the transition from the state read under the
// lock; UPDATEs are also guarded by the version read.
//
// The Store also carries the authorisation hooks authz reaches through an
// adapter in cmd/ofp (CheckPending, Authorise, Reject, Authorised) and what
// the Processor (payments.ProcessorStore) and the webhook deliverer
// (ClaimNotices, RetryNotice, FinishNotice) need.
//
// It never decides the rules (package payments does), never speaks HTTP,
// never calls the settlement system and never sends webhooks.
package paymentsql
