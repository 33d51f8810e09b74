package consentsql

import (
	"context"
	"embed"
	"fmt"

	"github.com/ofp-dev/ofp/internal/sqlstore"
)

//go:embed migrations/postgres/*.sql migrations/sqlite/*.sql
var migrationFiles embed.FS

// migrate applies the embedded migrations that schema_migrations does not
// list yet (sqlstore.Migrate: one transaction, re-running is a no-op).
func (s *Store) migrate(ctx context.Context) error {
	return sqlstore.Migrate(ctx, s.db, sqlstore.Migrations{
		Owner: "consentsql", FS: migrationFiles, Dir: "migrations/" + s.d.Name, Table: "schema_migrations",
		Lock: s.d.AdvisoryLock(7382901), Dollar: s.d.Dollar, Log: s.log,
	})
}

// AppliedMigrations lists the versions recorded in schema_migrations.
func (s *Store) AppliedMigrations(ctx context.Context) ([]int, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		return nil, fmt.Errorf("consentsql: read schema_migrations: %w", err)
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("consentsql: read schema_migrations: %w", err)
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
