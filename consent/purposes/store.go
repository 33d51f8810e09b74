package purposes

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ofp-dev/ofp/internal/sqlstore"
)

// Options configures a Store. The zero value is usable.
type Options struct {
	// Now is the clock; default time.Now. CreatedAt and UpdatedAt come from it.
	Now func() time.Time
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Store keeps purposes in PostgreSQL or SQLite; both engines behave the
// same (one contract test suite runs against both). Its migrations are
// recorded in their own table, purposes_migrations, so the store can share
// a database with consentsql.
type Store struct {
	db  *sql.DB
	d   sqlstore.Dialect
	now func() time.Time
	log *slog.Logger
}

// OpenPostgres connects to PostgreSQL (a pgx connection string or URL; add
// search_path=<schema> to use a schema other than public) and runs the
// migrations. ctx bounds connecting and migrating only.
func OpenPostgres(ctx context.Context, dsn string, opts Options) (*Store, error) {
	return open(ctx, sqlstore.Postgres, dsn, sqlstore.Options{Owner: "purposes", MaxOpenConns: 5}, opts)
}

// OpenSQLite opens (creating if needed) the SQLite database file at path,
// in WAL mode with a busy timeout, and runs the migrations. Every commit is
// synced to disk (synchronous=FULL).
func OpenSQLite(ctx context.Context, path string, opts Options) (*Store, error) {
	return open(ctx, sqlstore.SQLite, path, sqlstore.Options{Owner: "purposes", MaxOpenConns: 2, FullSync: true}, opts)
}

func open(ctx context.Context, d sqlstore.Dialect, location string, pool sqlstore.Options, opts Options) (*Store, error) {
	db, err := sqlstore.Open(ctx, d, location, pool)
	if err != nil {
		return nil, err
	}
	s := &Store{db: db, d: d, now: opts.Now, log: opts.Logger}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the connection pool.
func (s *Store) Close() error { return s.db.Close() }

// Dialect is "postgres" or "sqlite".
func (s *Store) Dialect() string { return s.d.Name }

// clock is UTC with microsecond precision (what PostgreSQL keeps), so a
// value reads back equal to what was written.
func (s *Store) clock() time.Time { return sqlstore.NormTime(s.now()) }

const columns = `id, name_pt_br, name_en, description_pt_br, description_en, permission_groups,
	default_duration_days, max_duration_days, legal_basis, revocation_rule, created_at, updated_at, version`

// Create stores a new purpose with version 1 and both timestamps set to
// now, and returns it as stored. It returns a *ValidationError for an
// invalid purpose and ErrAlreadyExists when the id is taken.
func (s *Store) Create(ctx context.Context, p Purpose) (Purpose, error) {
	if err := p.Validate(); err != nil {
		return Purpose{}, err
	}
	now := s.clock()
	p.CreatedAt, p.UpdatedAt, p.Version = now, now, 1
	groups, err := json.Marshal(p.PermissionGroups)
	if err != nil {
		return Purpose{}, fmt.Errorf("purposes: encode permission groups: %w", err)
	}
	_, err = s.db.ExecContext(ctx, s.d.Q(`INSERT INTO purposes (`+columns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		p.ID, p.Name.PtBR, p.Name.En, p.Description.PtBR, p.Description.En, string(groups),
		nullInt(p.DefaultDurationDays), nullInt(p.MaxDurationDays), string(p.LegalBasis), string(p.RevocationRule),
		s.d.Time(p.CreatedAt), s.d.Time(p.UpdatedAt), p.Version)
	if err != nil {
		if sqlstore.IsUniqueViolation(err) {
			return Purpose{}, fmt.Errorf("purposes: create %s: %w", p.ID, ErrAlreadyExists)
		}
		return Purpose{}, fmt.Errorf("purposes: create %s: %w", p.ID, err)
	}
	return clonePurpose(p), nil
}

// Get returns the purpose with this id, or ErrNotFound.
func (s *Store) Get(ctx context.Context, id string) (Purpose, error) {
	row := s.db.QueryRowContext(ctx, s.d.Q(`SELECT `+columns+` FROM purposes WHERE id = ?`), id)
	p, err := scanPurpose(row)
	if errors.Is(err, sql.ErrNoRows) {
		return Purpose{}, fmt.Errorf("purposes: get %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Purpose{}, fmt.Errorf("purposes: get %s: %w", id, err)
	}
	return p, nil
}

// List returns every purpose ordered by id.
func (s *Store) List(ctx context.Context) ([]Purpose, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+columns+` FROM purposes ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("purposes: list: %w", err)
	}
	defer rows.Close()
	out := []Purpose{}
	for rows.Next() {
		p, err := scanPurpose(rows)
		if err != nil {
			return nil, fmt.Errorf("purposes: list: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("purposes: list: %w", err)
	}
	return out, nil
}

// Update replaces the purpose p.ID if its stored version is
// expectedVersion, increments the version, keeps CreatedAt and sets
// UpdatedAt to now. It returns a *ValidationError, ErrNotFound, or
// ErrVersionConflict (someone else changed it: read it again).
func (s *Store) Update(ctx context.Context, p Purpose, expectedVersion int64) (Purpose, error) {
	if err := p.Validate(); err != nil {
		return Purpose{}, err
	}
	groups, err := json.Marshal(p.PermissionGroups)
	if err != nil {
		return Purpose{}, fmt.Errorf("purposes: encode permission groups: %w", err)
	}
	now := s.clock()
	res, err := s.db.ExecContext(ctx, s.d.Q(`UPDATE purposes SET name_pt_br = ?, name_en = ?, description_pt_br = ?,
		description_en = ?, permission_groups = ?, default_duration_days = ?, max_duration_days = ?, legal_basis = ?,
		revocation_rule = ?, updated_at = ?, version = version + 1 WHERE id = ? AND version = ?`),
		p.Name.PtBR, p.Name.En, p.Description.PtBR, p.Description.En, string(groups),
		nullInt(p.DefaultDurationDays), nullInt(p.MaxDurationDays), string(p.LegalBasis), string(p.RevocationRule),
		s.d.Time(now), p.ID, expectedVersion)
	if err != nil {
		return Purpose{}, fmt.Errorf("purposes: update %s: %w", p.ID, err)
	}
	if err := s.checkOne(ctx, res, p.ID, "update"); err != nil {
		return Purpose{}, err
	}
	return s.Get(ctx, p.ID)
}

// Delete removes the purpose id. With expectedVersion > 0 it deletes only
// that version (otherwise ErrVersionConflict); 0 deletes unconditionally.
// It returns ErrNotFound when there is no such purpose.
func (s *Store) Delete(ctx context.Context, id string, expectedVersion int64) error {
	query, args := `DELETE FROM purposes WHERE id = ?`, []any{id}
	if expectedVersion > 0 {
		query, args = query+` AND version = ?`, append(args, expectedVersion)
	}
	res, err := s.db.ExecContext(ctx, s.d.Q(query), args...)
	if err != nil {
		return fmt.Errorf("purposes: delete %s: %w", id, err)
	}
	return s.checkOne(ctx, res, id, "delete")
}

// checkOne tells "no such row" from "wrong version" after a conditional
// write that touched no row.
func (s *Store) checkOne(ctx context.Context, res sql.Result, id, op string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("purposes: %s %s: %w", op, id, err)
	}
	if n == 1 {
		return nil
	}
	var one int
	err = s.db.QueryRowContext(ctx, s.d.Q(`SELECT 1 FROM purposes WHERE id = ?`), id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("purposes: %s %s: %w", op, id, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("purposes: %s %s: %w", op, id, err)
	}
	return fmt.Errorf("purposes: %s %s: %w", op, id, ErrVersionConflict)
}

type scanner interface{ Scan(dest ...any) error }

func scanPurpose(sc scanner) (Purpose, error) {
	var (
		p                   Purpose
		groups, basis, rule string
		def, maxD           sql.NullInt64
		created, updated    sqlstore.Time
	)
	if err := sc.Scan(&p.ID, &p.Name.PtBR, &p.Name.En, &p.Description.PtBR, &p.Description.En, &groups,
		&def, &maxD, &basis, &rule, &created, &updated, &p.Version); err != nil {
		return Purpose{}, err
	}
	if err := json.Unmarshal([]byte(groups), &p.PermissionGroups); err != nil {
		return Purpose{}, fmt.Errorf("stored permission groups of %s are not a JSON array: %w", p.ID, err)
	}
	if def.Valid {
		v := int(def.Int64)
		p.DefaultDurationDays = &v
	}
	if maxD.Valid {
		v := int(maxD.Int64)
		p.MaxDurationDays = &v
	}
	p.LegalBasis, p.RevocationRule = LegalBasis(basis), RevocationRule(rule)
	p.CreatedAt, p.UpdatedAt = created.T, updated.T
	return p, nil
}

func nullInt(v *int) any {
	if v == nil {
		return nil
	}
	return int64(*v)
}

func clonePurpose(p Purpose) Purpose {
	p.PermissionGroups = append([]string(nil), p.PermissionGroups...)
	if p.DefaultDurationDays != nil {
		v := *p.DefaultDurationDays
		p.DefaultDurationDays = &v
	}
	if p.MaxDurationDays != nil {
		v := *p.MaxDurationDays
		p.MaxDurationDays = &v
	}
	return p
}

//go:embed migrations/postgres/*.sql migrations/sqlite/*.sql
var migrationFiles embed.FS

// migrate applies the embedded migrations that purposes_migrations does
// not list yet (sqlstore.Migrate: one transaction, re-running is a no-op).
func (s *Store) migrate(ctx context.Context) error {
	return sqlstore.Migrate(ctx, s.db, sqlstore.Migrations{
		Owner: "purposes", FS: migrationFiles, Dir: "migrations/" + s.d.Name, Table: "purposes_migrations",
		Lock: s.d.AdvisoryLock(7382902), Dollar: s.d.Dollar, Log: s.log,
	})
}
