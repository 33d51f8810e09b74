// Package consentsql stores consents in PostgreSQL (production, through
// pgx's database/sql driver) or SQLite (embedded default, modernc.org/sqlite,
// pure Go) behind one type, Store, with the same behaviour on both engines.
//
// It owns the consent tables, their versioned migrations (embedded .sql files
// per dialect, recorded in schema_migrations, applied at Open), and the
// transactional outbox: every change of a consent writes the new state, one
// audit-history row and one outbox event in the same transaction, so the
// history, the outbox and the consent can never disagree. Near-expiry
// notices (ListNearExpiry / RecordNearExpiryNotice, migration 0002) go
// through the same outbox, at most one per (consent, expirationDateTime).
//
// Concurrency: each change locks the consent row for the whole transaction
// (SELECT ... FOR UPDATE on PostgreSQL; BEGIN IMMEDIATE on SQLite, which
// takes the single write lock first) and computes the transition from the
// status read under that lock; the UPDATE is also guarded by the version
// read, and (consent_id, version) is unique in the history. Concurrent
// authorise / revoke / expire therefore serialise: one wins, the others see
// the new status and get *consent.IllegalTransitionError.
//
// Migration 0003 adds the institution's role (HOLDER/RECEIVER) and
// counterparty of each consent, the resources chosen at authorisation
// (Authorise, Resources), and the LGPD purpose consents with their own
// history (GrantPurpose, RevokePurpose, RenewPurpose, ExpirePurpose,
// ListDuePurposes, LinkedPurposes). Linked revocations cascade in the same
// transaction as the change that causes them, with a history row and an
// outbox event for each consent they touch: a regulated consent that
// becomes REJECTED (by any event, expiry included) revokes its linked
// purpose consents with rule REVOKE_LINKED (ASK_CUSTOMER ones only when the
// caller passes the customer's choice), and a revoked purpose consent with
// rule REVOKE_LINKED rejects its regulated consent (HOLDER: the customer
// revoked it; RECEIVER: REVOKE_BY_TPP, which the receiver connector turns
// into a DELETE at the holder from the outbox event) and, through it, the
// regulated consent's other REVOKE_LINKED purpose consents. Cascade reports
// what was touched so callers revoke tokens. Locks are always taken
// regulated consent first, then purpose consents, so concurrent cascades
// cannot deadlock. CustomerConsents answers, in one consistent read, every
// consent about a CPF/CNPJ in both roles plus its purpose consents, each
// with history, renewals, resources and links.
//
// It never decides the rules (package consent does), never publishes to
// Kafka (a publisher drains the outbox with ClaimOutbox / MarkPublished),
// and never speaks HTTP.
package consentsql
