package sqltest

import (
	"context"
	"io"
	"path/filepath"
	"testing"
)

// Engines are the engines every SQL store runs on, and so is tested on.
var Engines = []string{"sqlite", "postgres"}

// OpenFunc is a store constructor of the usual shape: OpenSQLite(ctx,
// path, opts) or OpenPostgres(ctx, dsn, opts).
type OpenFunc[S io.Closer, O any] func(ctx context.Context, location string, opts O) (S, error)

// Backend is one empty database of one engine and the store's
// constructor for it. Each Open is another pool on the same database, as
// another replica would be, so a test can reopen it (migrations re-run) or
// race several stores on it.
type Backend[S io.Closer, O any] struct {
	// Engine is "sqlite" or "postgres".
	Engine string
	// Location is what the constructor takes: the SQLite file (in the
	// test's TempDir) or a PostgreSQL DSN whose search_path is a fresh
	// schema (PostgresSchema), dropped when the test ends.
	Location string
	open     OpenFunc[S, O]
}

// NewBackend makes an empty database for engine, whose schema (PostgreSQL)
// or file (SQLite) is named after prefix, and pairs it with the store's
// sqlite or postgres constructor. An unknown engine fails the test.
func NewBackend[S io.Closer, O any](t testing.TB, engine, prefix string, sqlite, postgres OpenFunc[S, O]) Backend[S, O] {
	t.Helper()
	switch engine {
	case "sqlite":
		return Backend[S, O]{Engine: engine, Location: filepath.Join(t.TempDir(), prefix+".db"), open: sqlite}
	case "postgres":
		return Backend[S, O]{Engine: engine, Location: PostgresSchema(t, prefix), open: postgres}
	}
	t.Fatalf("sqltest: unknown engine %q", engine)
	return Backend[S, O]{}
}

// Backends maps every engine to a function that makes a fresh Backend
// for the test it is given.
func Backends[S io.Closer, O any](prefix string, sqlite, postgres OpenFunc[S, O]) map[string]func(t *testing.T) Backend[S, O] {
	out := map[string]func(t *testing.T) Backend[S, O]{}
	for _, e := range Engines {
		out[e] = func(t *testing.T) Backend[S, O] { return NewBackend(t, e, prefix, sqlite, postgres) }
	}
	return out
}

// Open opens a store on the backend, fails the test if that fails, and
// closes the store when the test ends.
func (b Backend[S, O]) Open(t *testing.T, opts O) S {
	t.Helper()
	s, err := b.open(context.Background(), b.Location, opts)
	if err != nil {
		t.Fatalf("open %s store at %s: %v", b.Engine, b.Location, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
