package webhooks

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ofp-dev/ofp/internal/sqlstore"
)

// Store keeps delivery records in SQLite or PostgreSQL: one row per
// attempt (webhook_attempts) and one final outcome per event
// (webhook_outcomes). Rows are written signed and never updated. Times are
// stored as fixed-width UTC text in both engines, so one schema serves both.
type Store struct {
	db *sql.DB
	d  sqlstore.Dialect
}

// OpenSQLite opens (creating if needed) a SQLite file and migrates it.
func OpenSQLite(ctx context.Context, path string) (*Store, error) {
	return open(ctx, sqlstore.SQLite, path, 4)
}

// OpenPostgres connects to PostgreSQL (a pgx DSN; set search_path in it to
// use a schema) and migrates it.
func OpenPostgres(ctx context.Context, dsn string) (*Store, error) {
	return open(ctx, sqlstore.Postgres, dsn, 8)
}

func open(ctx context.Context, d sqlstore.Dialect, location string, conns int) (*Store, error) {
	db, err := sqlstore.Open(ctx, d, location, sqlstore.Options{Owner: "webhooks", MaxOpenConns: conns})
	if err != nil {
		return nil, err
	}
	s := &Store{db: db, d: d}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the connection pool.
func (s *Store) Close() error { return s.db.Close() }

// migrations are applied in order; both engines run the same DDL.
var migrations = []string{
	`CREATE TABLE webhook_attempts (
		interaction_id TEXT PRIMARY KEY,
		event_id TEXT NOT NULL,
		client_id TEXT NOT NULL,
		url TEXT NOT NULL,
		attempt INTEGER NOT NULL,
		status_code INTEGER NOT NULL,
		error TEXT NOT NULL,
		started_at TEXT NOT NULL,
		finished_at TEXT NOT NULL,
		key_id TEXT NOT NULL,
		signature TEXT NOT NULL);
	CREATE INDEX webhook_attempts_event ON webhook_attempts (event_id, started_at);
	CREATE TABLE webhook_outcomes (
		event_id TEXT PRIMARY KEY,
		event_type TEXT NOT NULL,
		consent_id TEXT NOT NULL,
		client_id TEXT NOT NULL,
		url TEXT NOT NULL,
		result TEXT NOT NULL,
		attempts INTEGER NOT NULL,
		status_code INTEGER NOT NULL,
		error TEXT NOT NULL,
		decided_at TEXT NOT NULL,
		key_id TEXT NOT NULL,
		signature TEXT NOT NULL)`,
}

// migrate applies missing migrations in one transaction, recorded in
// webhook_migrations (its own table, so it never collides with another
// package's schema_migrations in a shared database).
func (s *Store) migrate(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("webhooks: begin migration: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	if lock := s.d.AdvisoryLock(7382907); lock != "" {
		if _, err := tx.ExecContext(ctx, lock); err != nil {
			return fmt.Errorf("webhooks: take migration lock: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS webhook_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)`); err != nil {
		return fmt.Errorf("webhooks: create webhook_migrations: %w", err)
	}
	var have int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM webhook_migrations`).Scan(&have); err != nil {
		return fmt.Errorf("webhooks: read webhook_migrations: %w", err)
	}
	if have > len(migrations) {
		return fmt.Errorf("webhooks: database has webhook migration %d that this binary does not know; run a newer ofp", have)
	}
	for v := have + 1; v <= len(migrations); v++ {
		for _, stmt := range strings.Split(migrations[v-1], ";") {
			if strings.TrimSpace(stmt) == "" {
				continue
			}
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("webhooks: apply migration %d: %w", v, err)
			}
		}
		if _, err := tx.ExecContext(ctx, s.d.Q(`INSERT INTO webhook_migrations (version, applied_at) VALUES (?, ?)`), v, fmtTime(time.Now())); err != nil {
			return fmt.Errorf("webhooks: record migration %d: %w", v, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("webhooks: commit migration: %w", err)
	}
	return nil
}

// AddAttempt stores a signed attempt. Its interaction ID must be new.
func (s *Store) AddAttempt(ctx context.Context, a Attempt) error {
	_, err := s.db.ExecContext(ctx, s.d.Q(`INSERT INTO webhook_attempts
		(interaction_id, event_id, client_id, url, attempt, status_code, error, started_at, finished_at, key_id, signature)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		a.InteractionID, a.EventID, a.ClientID, a.URL, a.Attempt, a.StatusCode, a.Error,
		fmtTime(a.StartedAt), fmtTime(a.FinishedAt), a.KeyID, a.Signature)
	if err != nil {
		return fmt.Errorf("webhooks: store attempt %d of event %s: %w", a.Attempt, a.EventID, err)
	}
	return nil
}

// Attempts returns the attempts of an event, oldest first.
func (s *Store) Attempts(ctx context.Context, eventID string) ([]Attempt, error) {
	rows, err := s.db.QueryContext(ctx, s.d.Q(`SELECT interaction_id, event_id, client_id, url, attempt, status_code, error,
		started_at, finished_at, key_id, signature FROM webhook_attempts WHERE event_id = ? ORDER BY started_at, attempt`), eventID)
	if err != nil {
		return nil, fmt.Errorf("webhooks: read attempts of %s: %w", eventID, err)
	}
	defer rows.Close()
	var out []Attempt
	for rows.Next() {
		var a Attempt
		var started, finished string
		if err := rows.Scan(&a.InteractionID, &a.EventID, &a.ClientID, &a.URL, &a.Attempt, &a.StatusCode, &a.Error,
			&started, &finished, &a.KeyID, &a.Signature); err != nil {
			return nil, fmt.Errorf("webhooks: read attempts of %s: %w", eventID, err)
		}
		if a.StartedAt, err = parseTime(started); err != nil {
			return nil, err
		}
		if a.FinishedAt, err = parseTime(finished); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("webhooks: read attempts of %s: %w", eventID, err)
	}
	return out, nil
}

// SetOutcome stores the final outcome of an event unless one exists; it
// reports whether this call stored it (false: another delivery of the same
// event decided first, and its record stands).
func (s *Store) SetOutcome(ctx context.Context, o Outcome) (bool, error) {
	res, err := s.db.ExecContext(ctx, s.d.Q(`INSERT INTO webhook_outcomes
		(event_id, event_type, consent_id, client_id, url, result, attempts, status_code, error, decided_at, key_id, signature)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING`),
		o.EventID, o.EventType, o.ConsentID, o.ClientID, o.URL, string(o.Result), o.Attempts, o.StatusCode, o.Error,
		fmtTime(o.DecidedAt), o.KeyID, o.Signature)
	if err != nil {
		return false, fmt.Errorf("webhooks: store outcome of event %s: %w", o.EventID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("webhooks: store outcome of event %s: %w", o.EventID, err)
	}
	return n == 1, nil
}

// Outcome returns the final outcome of an event; false when none is recorded.
func (s *Store) Outcome(ctx context.Context, eventID string) (Outcome, bool, error) {
	var o Outcome
	var result, decided string
	err := s.db.QueryRowContext(ctx, s.d.Q(`SELECT event_id, event_type, consent_id, client_id, url, result, attempts,
		status_code, error, decided_at, key_id, signature FROM webhook_outcomes WHERE event_id = ?`), eventID).
		Scan(&o.EventID, &o.EventType, &o.ConsentID, &o.ClientID, &o.URL, &result, &o.Attempts, &o.StatusCode, &o.Error,
			&decided, &o.KeyID, &o.Signature)
	if errors.Is(err, sql.ErrNoRows) {
		return Outcome{}, false, nil
	}
	if err != nil {
		return Outcome{}, false, fmt.Errorf("webhooks: read outcome of %s: %w", eventID, err)
	}
	o.Result = Result(result)
	if o.DecidedAt, err = parseTime(decided); err != nil {
		return Outcome{}, false, err
	}
	return o, true, nil
}

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(recordTimeFormat, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("webhooks: stored time %q is malformed: %w", s, err)
	}
	return t.UTC(), nil
}
