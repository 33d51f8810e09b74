package purposes

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"github.com/ofp-dev/ofp/internal/sqlstore"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
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
	d   dialect
	now func() time.Time
	log *slog.Logger
}

type dialect struct {
	name            string
	dollar          bool
	migrationLock   string
	timeArg         func(time.Time) any
	uniqueViolation func(error) bool
}

const sqliteTimeFormat = "2006-01-02T15:04:05.000000Z"

var postgresDialect = dialect{
	name:          "postgres",
	dollar:        true,
	migrationLock: "SELECT pg_advisory_xact_lock(7382902)",
	timeArg:       func(t time.Time) any { return t.UTC() },
	uniqueViolation: func(err error) bool {
		var pe *pgconn.PgError
		return errors.As(err, &pe) && pe.Code == "23505"
	},
}

var sqliteDialect = dialect{
	name:    "sqlite",
	timeArg: func(t time.Time) any { return t.UTC().Format(sqliteTimeFormat) },
	uniqueViolation: func(err error) bool {
		var se *sqlite.Error
		return errors.As(err, &se) && (se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY || se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE)
	},
}

// q rewrites '?' placeholders to $1, $2, ... for PostgreSQL. Queries in
// this package never contain '?' inside literals.
func (d dialect) q(query string) string {
	if !d.dollar {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// OpenPostgres connects to PostgreSQL (a pgx connection string or URL; add
// search_path=<schema> to use a schema other than public) and runs the
// migrations. ctx bounds connecting and migrating only.
func OpenPostgres(ctx context.Context, dsn string, opts Options) (*Store, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("purposes: open postgres: %w", err)
	}
	db.SetMaxOpenConns(5)
	return open(ctx, db, postgresDialect, opts)
}

// OpenSQLite opens (creating if needed) the SQLite database file at path,
// in WAL mode with a busy timeout, and runs the migrations.
func OpenSQLite(ctx context.Context, path string, opts Options) (*Store, error) {
	dsn := "file:" + path + "?_pragma=busy_timeout(20000)&_pragma=journal_mode(WAL)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("purposes: open sqlite %s: %w", path, err)
	}
	db.SetMaxOpenConns(2)
	return open(ctx, db, sqliteDialect, opts)
}

func open(ctx context.Context, db *sql.DB, d dialect, opts Options) (*Store, error) {
	s := &Store{db: db, d: d, now: opts.Now, log: opts.Logger}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("purposes: connect to %s: %w", d.name, err)
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
func (s *Store) Dialect() string { return s.d.name }

// clock is UTC with microsecond precision (what PostgreSQL keeps), so a
// value reads back equal to what was written.
func (s *Store) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

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
	_, err = s.db.ExecContext(ctx, s.d.q(`INSERT INTO purposes (`+columns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		p.ID, p.Name.PtBR, p.Name.En, p.Description.PtBR, p.Description.En, string(groups),
		nullInt(p.DefaultDurationDays), nullInt(p.MaxDurationDays), string(p.LegalBasis), string(p.RevocationRule),
		s.d.timeArg(p.CreatedAt), s.d.timeArg(p.UpdatedAt), p.Version)
	if err != nil {
		if s.d.uniqueViolation(err) {
			return Purpose{}, fmt.Errorf("purposes: create %s: %w", p.ID, ErrAlreadyExists)
		}
		return Purpose{}, fmt.Errorf("purposes: create %s: %w", p.ID, err)
	}
	return clonePurpose(p), nil
}

// Get returns the purpose with this id, or ErrNotFound.
func (s *Store) Get(ctx context.Context, id string) (Purpose, error) {
	row := s.db.QueryRowContext(ctx, s.d.q(`SELECT `+columns+` FROM purposes WHERE id = ?`), id)
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
	res, err := s.db.ExecContext(ctx, s.d.q(`UPDATE purposes SET name_pt_br = ?, name_en = ?, description_pt_br = ?,
		description_en = ?, permission_groups = ?, default_duration_days = ?, max_duration_days = ?, legal_basis = ?,
		revocation_rule = ?, updated_at = ?, version = version + 1 WHERE id = ? AND version = ?`),
		p.Name.PtBR, p.Name.En, p.Description.PtBR, p.Description.En, string(groups),
		nullInt(p.DefaultDurationDays), nullInt(p.MaxDurationDays), string(p.LegalBasis), string(p.RevocationRule),
		s.d.timeArg(now), p.ID, expectedVersion)
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
	res, err := s.db.ExecContext(ctx, s.d.q(query), args...)
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
	err = s.db.QueryRowContext(ctx, s.d.q(`SELECT 1 FROM purposes WHERE id = ?`), id).Scan(&one)
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
		created, updated    dbTime
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
	p.CreatedAt, p.UpdatedAt = created.t, updated.t
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

// dbTime scans a NOT NULL time column of either dialect.
type dbTime struct{ t time.Time }

func (d *dbTime) Scan(v any) error {
	var s string
	switch x := v.(type) {
	case time.Time:
		d.t = x.UTC()
		return nil
	case string:
		s = x
	case []byte:
		s = string(x)
	default:
		return fmt.Errorf("purposes: cannot scan %T into a time", v)
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("purposes: stored time %q is not RFC 3339: %w", s, err)
	}
	d.t = t.UTC()
	return nil
}

//go:embed migrations/postgres/*.sql migrations/sqlite/*.sql
var migrationFiles embed.FS

// migrate applies the embedded migrations that purposes_migrations does
// not list yet (sqlstore.Migrate: one transaction, re-running is a no-op).
func (s *Store) migrate(ctx context.Context) error {
	return sqlstore.Migrate(ctx, s.db, sqlstore.Migrations{
		Owner: "purposes", FS: migrationFiles, Dir: "migrations/" + s.d.name, Table: "purposes_migrations",
		Lock: s.d.migrationLock, Dollar: s.d.dollar, Log: s.log,
	})
}
