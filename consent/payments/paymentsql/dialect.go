package paymentsql

import (
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// dialect holds what differs between PostgreSQL and SQLite. Queries are
// written once with '?' placeholders and rebound for PostgreSQL.
type dialect struct {
	name string
	// forUpdate locks the row read inside a transaction (PostgreSQL); SQLite
	// needs none because every transaction starts with BEGIN IMMEDIATE and
	// so holds the database's single write lock from its first statement.
	forUpdate string
	// skipLocked lets concurrent outbox claimers pass each other (PostgreSQL).
	skipLocked string
	// migrationLock serialises migrations of replicas starting together.
	migrationLock string
	// timeArg turns a time into the value stored in a time column.
	timeArg func(time.Time) any
	// uniqueViolation reports a primary-key/unique constraint error.
	uniqueViolation func(error) bool
	dollar          bool
	// readTx are the options of a consistent multi-statement read
	// (PostgreSQL: repeatable read, read only; SQLite: every transaction
	// is serialisable already).
	readTx *sql.TxOptions
}

const sqliteTimeFormat = "2006-01-02T15:04:05.000000Z"

var postgresDialect = dialect{
	name:          "postgres",
	forUpdate:     " FOR UPDATE",
	skipLocked:    " FOR UPDATE SKIP LOCKED",
	migrationLock: "SELECT pg_advisory_xact_lock(7382931)",
	timeArg:       func(t time.Time) any { return t.UTC() },
	uniqueViolation: func(err error) bool {
		var pe *pgconn.PgError
		return errors.As(err, &pe) && pe.Code == "23505"
	},
	dollar: true,
	readTx: &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true},
}

var sqliteDialect = dialect{
	name:    "sqlite",
	timeArg: func(t time.Time) any { return t.UTC().Format(sqliteTimeFormat) },
	uniqueViolation: func(err error) bool {
		var se *sqlite.Error
		return errors.As(err, &se) && (se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY || se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE)
	},
}

// q rewrites '?' placeholders to $1, $2, ... for PostgreSQL. Queries in this
// package never contain '?' inside literals.
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

func (d dialect) nullTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return d.timeArg(*t)
}

// normTime is how every time is kept: UTC, microsecond precision (what
// PostgreSQL stores), so a value reads back equal to what was written.
func normTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func normTimePtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	n := normTime(*t)
	return &n
}

// dbTime scans a time column of either dialect.
type dbTime struct {
	T     time.Time
	Valid bool
}

func (d *dbTime) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		d.T, d.Valid = time.Time{}, false
		return nil
	case time.Time:
		d.T, d.Valid = x.UTC(), true
		return nil
	case string:
		return d.parse(x)
	case []byte:
		return d.parse(string(x))
	}
	return fmt.Errorf("paymentsql: cannot scan %T into a time", v)
}

func (d *dbTime) parse(s string) error {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("paymentsql: stored time %q is not RFC 3339: %w", s, err)
	}
	d.T, d.Valid = t.UTC(), true
	return nil
}

func (d dbTime) ptr() *time.Time {
	if !d.Valid {
		return nil
	}
	t := d.T
	return &t
}

var _ interface{ Scan(any) error } = (*dbTime)(nil)
