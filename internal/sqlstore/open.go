package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver
)

// Options sizes and names a connection pool.
type Options struct {
	// Owner prefixes errors, e.g. "consentsql".
	Owner string
	// MaxOpenConns bounds the pool, and as many connections are kept
	// idle; default 10 (PostgreSQL) or 4 (SQLite).
	MaxOpenConns int
	// FullSync (SQLite only) syncs the write-ahead log at every commit
	// (synchronous=FULL), so a commit survives a power cut. Without it
	// (synchronous=NORMAL) a commit survives a crash of the process, but
	// the last ones may be lost on power loss; the database stays
	// consistent either way.
	FullSync bool
}

// OpenPostgres opens a pool on PostgreSQL through pgx (a connection string
// or URL; add search_path=<schema> for a schema other than public), sizes
// it and pings it. ctx bounds the ping only.
func OpenPostgres(ctx context.Context, dsn string, o Options) (*sql.DB, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("%s: open postgres: %w", o.Owner, err)
	}
	return ready(ctx, db, Postgres, o, 10)
}

// OpenSQLite opens (creating it if needed) the SQLite file at path: WAL
// mode, a 20 s busy timeout (a writer waits for the lock rather than
// failing with SQLITE_BUSY), foreign keys enforced, and every transaction
// begun IMMEDIATE, so it holds the write lock from its first statement
// (what makes Dialect.ForUpdate unnecessary on SQLite). It sizes the pool
// and pings it; ctx bounds the ping only. Several pools, in one process or
// several, may open one file.
func OpenSQLite(ctx context.Context, path string, o Options) (*sql.DB, error) {
	sync := "NORMAL"
	if o.FullSync {
		sync = "FULL"
	}
	dsn := "file:" + path + "?_pragma=busy_timeout(20000)&_pragma=journal_mode(WAL)" +
		"&_pragma=foreign_keys(1)&_pragma=synchronous(" + sync + ")&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("%s: open sqlite %s: %w", o.Owner, path, err)
	}
	return ready(ctx, db, SQLite, o, 4)
}

// Open opens location on d's engine: OpenPostgres (location is a DSN) for
// Postgres, OpenSQLite (location is a file path) for SQLite. It lets a
// store write one open function for both engines.
func Open(ctx context.Context, d Dialect, location string, o Options) (*sql.DB, error) {
	switch d.Name {
	case Postgres.Name:
		return OpenPostgres(ctx, location, o)
	case SQLite.Name:
		return OpenSQLite(ctx, location, o)
	}
	return nil, fmt.Errorf("%s: unknown SQL engine %q", o.Owner, d.Name)
}

func ready(ctx context.Context, db *sql.DB, d Dialect, o Options, defaultConns int) (*sql.DB, error) {
	if o.MaxOpenConns <= 0 {
		o.MaxOpenConns = defaultConns
	}
	db.SetMaxOpenConns(o.MaxOpenConns)
	db.SetMaxIdleConns(o.MaxOpenConns)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("%s: connect to %s: %w", o.Owner, d.Name, err)
	}
	return db, nil
}

// InTx runs fn in a transaction (IMMEDIATE on SQLite) and commits if fn
// returns nil; otherwise it rolls back and returns fn's error as is, so
// sentinel errors reach the caller unwrapped. owner prefixes the errors of
// begin and commit.
func InTx(ctx context.Context, db *sql.DB, owner string, fn func(*sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: begin: %w", owner, err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback() //nolint:errcheck // fn's error is the one to report
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s: commit: %w", owner, err)
	}
	return nil
}
