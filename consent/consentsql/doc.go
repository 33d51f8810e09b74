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
// It never decides the rules (package consent does), never publishes to
// Kafka (a publisher drains the outbox with ClaimOutbox / MarkPublished),
// and never speaks HTTP.
package consentsql
