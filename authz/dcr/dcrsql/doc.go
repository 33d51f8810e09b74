// Package dcrsql keeps registered DCR clients (dcr.Store) in PostgreSQL
// (pgx) or SQLite (modernc.org/sqlite, pure Go). Both engines pass the same
// contract tests (authz/dcr/dcrtest). It owns the dcr_clients table and its
// migrations (embedded per dialect, applied by internal/sqlstore at open and
// recorded in dcr_migrations; 0002 adds the brand column, empty for clients
// registered before, which then belong to no brand), and never interprets
// client metadata: it stores it as JSON.
package dcrsql
