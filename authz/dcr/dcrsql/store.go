package dcrsql

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/ofp-dev/ofp/authz/dcr"
	"github.com/ofp-dev/ofp/internal/sqlstore"
)

//go:embed migrations/postgres/*.sql migrations/sqlite/*.sql
var migrationFiles embed.FS

// Store is a dcr.Store on PostgreSQL or SQLite.
type Store struct {
	db *sql.DB
	d  sqlstore.Dialect
}

var _ dcr.Store = (*Store)(nil)

// OpenPostgres connects to PostgreSQL (pgx DSN or URL; add
// search_path=<schema> for a non-public schema) and applies the migrations
// it has not seen yet (recorded in dcr_migrations). ctx bounds connecting
// and migrating only.
func OpenPostgres(ctx context.Context, dsn string) (*Store, error) {
	return open(ctx, sqlstore.Postgres, dsn, sqlstore.Options{Owner: "dcrsql"})
}

// OpenSQLite opens (creating if needed) the SQLite file at path in WAL mode
// and applies the migrations it has not seen yet. Every commit is synced to
// disk (synchronous=FULL).
func OpenSQLite(ctx context.Context, path string) (*Store, error) {
	return open(ctx, sqlstore.SQLite, path, sqlstore.Options{Owner: "dcrsql", FullSync: true})
}

func open(ctx context.Context, d sqlstore.Dialect, location string, pool sqlstore.Options) (*Store, error) {
	db, err := sqlstore.Open(ctx, d, location, pool)
	if err != nil {
		return nil, err
	}
	err = sqlstore.Migrate(ctx, db, sqlstore.Migrations{Owner: "dcrsql", FS: migrationFiles, Dir: "migrations/" + d.Name,
		Table: "dcr_migrations", Lock: d.AdvisoryLock(7382911), Dollar: d.Dollar})
	if err != nil {
		db.Close()
		return nil, err
	}
	return &Store{db: db, d: d}, nil
}

// Close closes the connection pool.
func (s *Store) Close() error { return s.db.Close() }

// Create implements dcr.Store.
func (s *Store) Create(ctx context.Context, c dcr.Client) error {
	md, err := json.Marshal(c.Metadata)
	if err != nil {
		return fmt.Errorf("dcrsql: encode metadata: %w", err)
	}
	_, err = s.db.ExecContext(ctx, s.d.Q(`INSERT INTO dcr_clients
		(client_id, brand, software_id, org_id, token_hash, statement_hash, issued_at, updated_at, metadata)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		c.ID, c.Brand, c.SoftwareID, c.OrgID, c.TokenHash, c.StatementHash,
		c.IssuedAt.UnixMicro(), c.UpdatedAt.UnixMicro(), string(md))
	if sqlstore.IsUniqueViolation(err) {
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
	err := s.db.QueryRowContext(ctx, s.d.Q(`SELECT client_id, brand, software_id, org_id, token_hash, statement_hash,
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
	res, err := s.db.ExecContext(ctx, s.d.Q(`UPDATE dcr_clients SET software_id = ?, org_id = ?, token_hash = ?,
		statement_hash = ?, updated_at = ?, metadata = ? WHERE client_id = ? AND brand = ?`),
		c.SoftwareID, c.OrgID, c.TokenHash, c.StatementHash, c.UpdatedAt.UnixMicro(), string(md), c.ID, c.Brand)
	if sqlstore.IsUniqueViolation(err) {
		return dcr.ErrDuplicate
	}
	if err != nil {
		return fmt.Errorf("dcrsql: update client: %w", err)
	}
	return oneRow(res)
}

// Delete implements dcr.Store.
func (s *Store) Delete(ctx context.Context, brand, id string) error {
	res, err := s.db.ExecContext(ctx, s.d.Q(`DELETE FROM dcr_clients WHERE client_id = ? AND brand = ?`), id, brand)
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
