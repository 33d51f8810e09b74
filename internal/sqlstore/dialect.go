package sqlstore

import (
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Dialect holds what differs between PostgreSQL and SQLite. Stores write
// each query once with '?' placeholders and pass it through Q.
type Dialect struct {
	// Name is "postgres" or "sqlite" (also the folder of a store's
	// migrations for this engine).
	Name string
	// Dollar: placeholders are $1, $2, ... (PostgreSQL) rather than ?.
	Dollar bool
	// ForUpdate is appended to a SELECT that reads a row a transaction
	// will change: " FOR UPDATE" on PostgreSQL. SQLite needs none: its
	// transactions begin IMMEDIATE (OpenSQLite) and so hold the
	// database's single write lock from their first statement.
	ForUpdate string
	// SkipLocked lets concurrent claimers of a queue pass each other:
	// " FOR UPDATE SKIP LOCKED" on PostgreSQL, none on SQLite (writers
	// take turns).
	SkipLocked string
	// ReadTx are the options of a consistent multi-statement read:
	// repeatable read, read only on PostgreSQL; nil on SQLite, where every
	// transaction is serialisable already.
	ReadTx *sql.TxOptions
}

// Postgres is the dialect of PostgreSQL through pgx.
var Postgres = Dialect{
	Name:       "postgres",
	Dollar:     true,
	ForUpdate:  " FOR UPDATE",
	SkipLocked: " FOR UPDATE SKIP LOCKED",
	ReadTx:     &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true},
}

// SQLite is the dialect of modernc.org/sqlite opened by OpenSQLite.
var SQLite = Dialect{Name: "sqlite"}

// Q rewrites '?' placeholders to $1, $2, ... for PostgreSQL and returns
// query unchanged for SQLite. It does not parse SQL: queries must not hold
// '?' inside literals or identifiers.
func (d Dialect) Q(query string) string {
	if !d.Dollar {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 8)
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

// AdvisoryLock is the statement that serialises, on PostgreSQL, the
// migrations of replicas starting together (Migrations.Lock): a
// transaction-scoped advisory lock on key, one key per store. It is empty
// on SQLite, where the migration transaction holds the write lock.
func (d Dialect) AdvisoryLock(key int64) string {
	if !d.Dollar {
		return ""
	}
	return "SELECT pg_advisory_xact_lock(" + strconv.FormatInt(key, 10) + ")"
}

// SQLiteTimeFormat is how a time column is written on SQLite: fixed-width
// UTC text with microseconds, so that text order is time order and the
// value reads back equal (see NormTime).
const SQLiteTimeFormat = "2006-01-02T15:04:05.000000Z"

// Time is the argument that stores t in a time column: a UTC time.Time
// for PostgreSQL (timestamptz), SQLiteTimeFormat text for SQLite.
func (d Dialect) Time(t time.Time) any {
	if d.Dollar {
		return t.UTC()
	}
	return t.UTC().Format(SQLiteTimeFormat)
}

// NullTime is Time, or NULL for a nil t.
func (d Dialect) NullTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return d.Time(*t)
}

// IsUniqueViolation reports whether err (possibly wrapped) is a primary-key
// or unique-constraint violation from pgx (SQLSTATE 23505) or
// modernc.org/sqlite. Stores map it to their own "already exists" error.
func IsUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23505"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY || se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE
	}
	return false
}
