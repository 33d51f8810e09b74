package sqltest

import (
	"context"
	"database/sql"
	"sort"
	"testing"

	_ "modernc.org/sqlite"
)

type tinyStore struct{ *sql.DB }

func openTiny(driver string) OpenFunc[tinyStore, string] {
	return func(ctx context.Context, location, table string) (tinyStore, error) {
		db, err := sql.Open(driver, location)
		if err != nil {
			return tinyStore{}, err
		}
		if _, err := db.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS "+table+" (x INTEGER)"); err != nil {
			db.Close()
			return tinyStore{}, err
		}
		return tinyStore{db}, nil
	}
}

func TestBackendsOpenOneDatabasePerTestOnEveryEngine(t *testing.T) {
	backends := Backends("sqltest_backend", openTiny("sqlite"), openTiny("pgx"))
	var names []string
	for name := range backends {
		names = append(names, name)
	}
	sort.Strings(names)
	if len(names) != 2 || names[0] != "postgres" || names[1] != "sqlite" {
		t.Fatalf("engines: %v", names)
	}
	for name, nb := range backends {
		t.Run(name, func(t *testing.T) {
			var first tinyStore
			t.Run("inner", func(t *testing.T) {
				b := nb(t)
				if b.Engine != name {
					t.Fatalf("engine %q, want %q", b.Engine, name)
				}
				first = b.Open(t, "t")
				second := b.Open(t, "t")
				if _, err := first.Exec("INSERT INTO t VALUES (1)"); err != nil {
					t.Fatal(err)
				}
				var n int
				if err := second.QueryRow("SELECT count(*) FROM t").Scan(&n); err != nil || n != 1 {
					t.Fatalf("a second Open sees the same database: n=%d err=%v", n, err)
				}
				other := nb(t).Open(t, "t")
				if err := other.QueryRow("SELECT count(*) FROM t").Scan(&n); err != nil || n != 0 {
					t.Fatalf("another backend is another, empty database: n=%d err=%v", n, err)
				}
			})
			if err := first.Ping(); err == nil {
				t.Fatal("the store is closed when its test ends")
			}
		})
	}
}
