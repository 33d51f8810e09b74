package dcrsql

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"modernc.org/sqlite"               // registers the "sqlite" driver
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/ofp-dev/ofp/authz/dcr"
	"github.com/ofp-dev/ofp/internal/sqlstore"
)

//go:embed migrations/postgres/*.sql migrations/sqlite/*.sql
var migrationFiles embed.FS

// Store is a dcr.Store on PostgreSQL or SQLite.
type Store struct {
	db       *sql.DB
	postgres bool
}

var _ dcr.Store = (*Store)(nil)

// OpenPostgres connects to PostgreSQL (pgx DSN or URL; add
// search_path=<schema> for a non-public schema) and applies the migrations
// it has not seen yet (recorded in dcr_migrations). ctx bounds connecting
// and migrating only.
func OpenPostgres(ctx context.Context, dsn string) (*Store, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("dcrsql: open postgres: %w", err)
	}
	db.SetMaxOpenConns(10)
	return open(ctx, db, true)
}

// OpenSQLite opens (creating if needed) the SQLite file at path in WAL mode
// and applies the migrations it has not seen yet.
func OpenSQLite(ctx context.Context, path string) (*Store, error) {
	dsn := "file:" + path + "?_pragma=busy_timeout(20000)&_pragma=journal_mode(WAL)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("dcrsql: open sqlite %s: %w", path, err)
	}
	db.SetMaxOpenConns(4)
	return open(ctx, db, false)
}

func open(ctx context.Context, db *sql.DB, postgres bool) (*Store, error) {
	s := &Store{db: db, postgres: postgres}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("dcrsql: connect: %w", err)
	}
	m := sqlstore.Migrations{Owner: "dcrsql", FS: migrationFiles, Dir: "migrations/sqlite", Table: "dcr_migrations"}
	if postgres {
		m.Dir, m.Dollar, m.Lock = "migrations/postgres", true, "SELECT pg_advisory_xact_lock(7382911)"
	}
	if err := sqlstore.Migrate(ctx, db, m); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the connection pool.
func (s *Store) Close() error { return s.db.Close() }

// q rewrites ? placeholders to $n for PostgreSQL.
func (s *Store) q(query string) string {
	if !s.postgres {
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

// Create implements dcr.Store.
func (s *Store) Create(ctx context.Context, c dcr.Client) error {
	md, err := json.Marshal(c.Metadata)
	if err != nil {
		return fmt.Errorf("dcrsql: encode metadata: %w", err)
	}
	_, err = s.db.ExecContext(ctx, s.q(`INSERT INTO dcr_clients
		(client_id, brand, software_id, org_id, token_hash, statement_hash, issued_at, updated_at, metadata)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		c.ID, c.Brand, c.SoftwareID, c.OrgID, c.TokenHash, c.StatementHash,
		c.IssuedAt.UnixMicro(), c.UpdatedAt.UnixMicro(), string(md))
	if isUniqueViolation(err) {
		return dcr.ErrDuplicate
	}
	if err != nil {
		return fmt.Errorf("dcrsql: insert client: %w", err)
	}
	return nil
}

// Get implements dcr.Store.
func (s *Store) Get(ctx context.Context, brand, id string) (dcr.Client, error) {
	var (
		c               dcr.Client
		issued, updated int64
		md              string
	)
	err := s.db.QueryRowContext(ctx, s.q(`SELECT client_id, brand, software_id, org_id, token_hash, statement_hash,
		issued_at, updated_at, metadata FROM dcr_clients WHERE client_id = ? AND brand = ?`), id, brand).
		Scan(&c.ID, &c.Brand, &c.SoftwareID, &c.OrgID, &c.TokenHash, &c.StatementHash, &issued, &updated, &md)
	if errors.Is(err, sql.ErrNoRows) {
		return dcr.Client{}, dcr.ErrNotFound
	}
	if err != nil {
		return dcr.Client{}, fmt.Errorf("dcrsql: select client: %w", err)
	}
	if err := json.Unmarshal([]byte(md), &c.Metadata); err != nil {
		return dcr.Client{}, fmt.Errorf("dcrsql: client %s has corrupt metadata: %w", id, err)
	}
	c.IssuedAt = time.UnixMicro(issued).UTC()
	c.UpdatedAt = time.UnixMicro(updated).UTC()
	return c, nil
}

// Update implements dcr.Store.
func (s *Store) Update(ctx context.Context, c dcr.Client) error {
	md, err := json.Marshal(c.Metadata)
	if err != nil {
		return fmt.Errorf("dcrsql: encode metadata: %w", err)
	}
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE dcr_clients SET software_id = ?, org_id = ?, token_hash = ?,
		statement_hash = ?, updated_at = ?, metadata = ? WHERE client_id = ? AND brand = ?`),
		c.SoftwareID, c.OrgID, c.TokenHash, c.StatementHash, c.UpdatedAt.UnixMicro(), string(md), c.ID, c.Brand)
	if isUniqueViolation(err) {
		return dcr.ErrDuplicate
	}
	if err != nil {
		return fmt.Errorf("dcrsql: update client: %w", err)
	}
	return oneRow(res)
}

// Delete implements dcr.Store.
func (s *Store) Delete(ctx context.Context, brand, id string) error {
	res, err := s.db.ExecContext(ctx, s.q(`DELETE FROM dcr_clients WHERE client_id = ? AND brand = ?`), id, brand)
	if err != nil {
		return fmt.Errorf("dcrsql: delete client: %w", err)
	}
	return oneRow(res)
}

func oneRow(res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("dcrsql: rows affected: %w", err)
	}
	if n == 0 {
		return dcr.ErrNotFound
	}
	return nil
}

func isUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23505"
	}
	var liteErr *sqlite.Error
	if errors.As(err, &liteErr) {
		code := liteErr.Code()
		return code == sqlite3.SQLITE_CONSTRAINT_UNIQUE || code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}
