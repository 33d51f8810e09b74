package sqlstore

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"
)

func TestMigrateAppliesOnceAndRefusesUnknownOrGappedMigrations(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "m.db"))
	require.NoError(t, err)
	defer db.Close()
	files := fstest.MapFS{
		"m/0001_a.sql": {Data: []byte("CREATE TABLE a (x INTEGER)")},
		"m/0002_b.sql": {Data: []byte("CREATE TABLE b (x INTEGER)")},
		"m/README":     {Data: []byte("not a migration")},
	}
	m := Migrations{Owner: "test", FS: files, Dir: "m", Table: "test_migrations"}
	require.NoError(t, Migrate(ctx, db, m))
	require.NoError(t, Migrate(ctx, db, m), "re-running is a no-op")
	var n int
	require.NoError(t, db.QueryRow("SELECT count(*) FROM test_migrations").Scan(&n))
	require.Equal(t, 2, n)

	older := Migrations{Owner: "test", FS: fstest.MapFS{"m/0001_a.sql": files["m/0001_a.sql"]}, Dir: "m", Table: "test_migrations"}
	require.ErrorContains(t, Migrate(ctx, db, older), "run a newer ofp")

	gap := Migrations{Owner: "test", FS: fstest.MapFS{"m/0001_a.sql": files["m/0001_a.sql"], "m/0003_c.sql": {Data: []byte("SELECT 1")}}, Dir: "m", Table: "other"}
	require.ErrorContains(t, Migrate(ctx, db, gap), "not numbered 1..n")

	broken := Migrations{Owner: "test", FS: fstest.MapFS{"m/0001_x.sql": {Data: []byte("CREATE TABLE z (")}}, Dir: "m", Table: "broken_migrations"}
	require.Error(t, Migrate(ctx, db, broken))
	err = db.QueryRow("SELECT count(*) FROM broken_migrations").Scan(&n)
	require.Error(t, err, "a failed migration leaves nothing behind, not even its table")
}
