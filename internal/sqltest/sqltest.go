// Package sqltest gives tests a real PostgreSQL to run store contract
// suites against: the server at OFP_TEST_POSTGRES_DSN (default: the local
// one with trust auth) and a fresh schema per test, dropped when it ends, so
// parallel runs never collide. An unreachable server fails the test with
// the command that starts it: these tests are the PostgreSQL contract and
// are never skipped.
//
// Backend pairs one empty database of one engine (a SQLite file in the
// test's TempDir, or a fresh PostgreSQL schema) with a store's
// constructor, so a store's contract suite runs on every engine with
// Backends(prefix, OpenSQLite, OpenPostgres) and b.Open(t, opts).
package sqltest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
)

// DefaultPostgresDSN is the PostgreSQL that go-svc machines and CI run.
const DefaultPostgresDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// PostgresDSN returns the test server's DSN once it answers.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("OFP_TEST_POSTGRES_DSN")
	if dsn == "" {
		dsn = DefaultPostgresDSN
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatalf("OFP_TEST_POSTGRES_DSN %q: %v", dsn, err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		t.Fatalf("PostgreSQL is not reachable at %s (%v).\nStart it with:\n  pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start\n"+
			"or point OFP_TEST_POSTGRES_DSN at a server (database with trust auth for the user).", dsn, err)
	}
	return dsn
}

// PostgresSchema creates a schema named prefix_<random> on the test server,
// drops it (with everything in it) when the test ends, and returns a DSN
// whose search_path is that schema.
func PostgresSchema(t testing.TB, prefix string) string {
	t.Helper()
	dsn := PostgresDSN(t)
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatalf("open PostgreSQL: %v", err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := prefix + "_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(context.Background(), "CREATE SCHEMA "+schema); err != nil {
		admin.Close()
		t.Fatalf("create schema %s: %v", schema, err)
	}
	t.Cleanup(func() {
		defer admin.Close()
		if _, err := admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return WithSearchPath(t, dsn, schema)
}

// WithSearchPath returns dsn (URL or key=value form) with search_path set.
func WithSearchPath(t testing.TB, dsn, schema string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" {
		return dsn + " search_path=" + schema
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
