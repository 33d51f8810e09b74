// Package dcrsql keeps registered DCR clients (dcr.Store) in PostgreSQL
// (pgx) or SQLite (modernc.org/sqlite, pure Go). Both engines pass the same
// contract tests (authz/dcr/dcrtest). It owns the dcr_clients table and its
// migration, and never interprets client metadata: it stores it as JSON.
package dcrsql
