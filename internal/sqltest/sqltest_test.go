package sqltest

import (
	"context"
	"database/sql"
	"testing"
)

func TestSchemaIsIsolatedAndDropped(t *testing.T) {
	var schema string
	t.Run("inner", func(t *testing.T) {
		dsn := PostgresSchema(t, "sqltest")
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if _, err := db.Exec("CREATE TABLE t (x int)"); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRow("SELECT current_schema()").Scan(&schema); err != nil {
			t.Fatal(err)
		}
	})
	db, err := sql.Open("pgx", PostgresDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRowContext(context.Background(), "SELECT count(*) FROM information_schema.schemata WHERE schema_name = $1", schema).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if schema == "" || n != 0 {
		t.Fatalf("schema %q still exists after its test (count %d)", schema, n)
	}
}

func TestWithSearchPath(t *testing.T) {
	if got := WithSearchPath(t, "postgres://u@h/db?sslmode=disable", "s1"); got != "postgres://u@h/db?search_path=s1&sslmode=disable" {
		t.Fatalf("url form: %s", got)
	}
	if got := WithSearchPath(t, "host=h user=u", "s1"); got != "host=h user=u search_path=s1" {
		t.Fatalf("key=value form: %s", got)
	}
}
