// Package sqlstore is the plumbing the SQL-backed stores share, so that
// each of them runs on PostgreSQL (pgx) and SQLite (modernc.org/sqlite)
// the same way:
//
//   - Migrate: versioned migrations embedded per dialect, applied at
//     start-up in one transaction and recorded in a table per store;
//   - OpenPostgres and OpenSQLite (or Open, which picks one from a
//     Dialect): a sized connection pool, pinged; SQLite
//     in WAL mode with a busy timeout, foreign keys on, and every
//     transaction begun IMMEDIATE (it takes the database's single write
//     lock at once, so a read-then-write never fails half-way on a lock
//     upgrade);
//   - Dialect: what differs between the engines (placeholders rebound from
//     ? to $n, the row-lock suffixes FOR UPDATE / FOR UPDATE SKIP LOCKED
//     that SQLite does without thanks to BEGIN IMMEDIATE, the options of a
//     consistent read, how a time is stored), plus IsUniqueViolation for
//     both drivers' errors;
//   - Time, NormTime: a time column scanned from either engine, and the
//     one precision (UTC microseconds) every store keeps;
//   - InTx: run a function in a transaction, commit if it returns nil.
//
// It holds no business logic and no schema: each store owns its tables,
// queries, migrations and sentinel errors. It never retries: a store that
// wants to retry a conflict decides so itself.
package sqlstore
