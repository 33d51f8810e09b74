package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Migrations describes one store's migrations.
type Migrations struct {
	Owner string // prefix of errors and logs, e.g. "consentsql"
	FS    fs.FS  // embedded files
	Dir   string // folder of NNNN_name.sql files, numbered 1..n without gaps
	Table string // where applied versions are recorded (one per store, so stores can share a database)
	// Lock, if set, runs first in the migration transaction so replicas
	// starting together migrate one at a time (pg_advisory_xact_lock).
	Lock string
	// Dollar selects $n placeholders (PostgreSQL) instead of ?.
	Dollar bool
	Log    *slog.Logger
}

type migration struct {
	version int
	name    string
	sql     string
}

func (m Migrations) load() ([]migration, error) {
	entries, err := fs.ReadDir(m.FS, m.Dir)
	if err != nil {
		return nil, fmt.Errorf("%s: read embedded migrations: %w", m.Owner, err)
	}
	var out []migration
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("%s: migration %s must be named NNNN_name.sql", m.Owner, name)
		}
		b, err := fs.ReadFile(m.FS, path.Join(m.Dir, name))
		if err != nil {
			return nil, fmt.Errorf("%s: read migration %s: %w", m.Owner, name, err)
		}
		out = append(out, migration{version: v, name: name, sql: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i := range out {
		if out[i].version != i+1 {
			return nil, fmt.Errorf("%s: migrations in %s are not numbered 1..n without gaps (found %s)", m.Owner, m.Dir, out[i].name)
		}
	}
	return out, nil
}

// Migrate applies the migrations that m.Table does not list yet, all in one
// transaction (SQLite and PostgreSQL have transactional DDL), so a failed
// start leaves the schema as it was. Re-running is a no-op. A database
// that already has a migration this binary does not know is refused.
func Migrate(ctx context.Context, db *sql.DB, m Migrations) error {
	ms, err := m.load()
	if err != nil {
		return err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: begin migration: %w", m.Owner, err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit this is a no-op
	if m.Lock != "" {
		if _, err := tx.ExecContext(ctx, m.Lock); err != nil {
			return fmt.Errorf("%s: take migration lock: %w", m.Owner, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+m.Table+` (
		version INTEGER PRIMARY KEY,
		name TEXT NOT NULL,
		applied_at TEXT NOT NULL)`); err != nil {
		return fmt.Errorf("%s: create %s: %w", m.Owner, m.Table, err)
	}
	applied := map[int]string{}
	rows, err := tx.QueryContext(ctx, `SELECT version, name FROM `+m.Table)
	if err != nil {
		return fmt.Errorf("%s: read %s: %w", m.Owner, m.Table, err)
	}
	for rows.Next() {
		var v int
		var n string
		if err := rows.Scan(&v, &n); err != nil {
			rows.Close()
			return fmt.Errorf("%s: read %s: %w", m.Owner, m.Table, err)
		}
		applied[v] = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("%s: read %s: %w", m.Owner, m.Table, err)
	}
	for v, n := range applied {
		if v > len(ms) {
			return fmt.Errorf("%s: database has migration %d (%s) that this binary does not know; run a newer ofp", m.Owner, v, n)
		}
	}
	insert := `INSERT INTO ` + m.Table + ` (version, name, applied_at) VALUES (?, ?, ?)`
	if m.Dollar {
		insert = `INSERT INTO ` + m.Table + ` (version, name, applied_at) VALUES ($1, $2, $3)`
	}
	for _, mg := range ms {
		if _, ok := applied[mg.version]; ok {
			continue
		}
		if _, err := tx.ExecContext(ctx, mg.sql); err != nil {
			return fmt.Errorf("%s: apply migration %s: %w", m.Owner, mg.name, err)
		}
		if _, err := tx.ExecContext(ctx, insert, mg.version, mg.name, time.Now().UTC().Format(time.RFC3339Nano)); err != nil {
			return fmt.Errorf("%s: record migration %s: %w", m.Owner, mg.name, err)
		}
		if m.Log != nil {
			m.Log.Info(m.Owner+": applied migration", "dir", m.Dir, "migration", mg.name)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s: commit migrations: %w", m.Owner, err)
	}
	return nil
}
