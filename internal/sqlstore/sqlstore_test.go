package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/internal/sqlstore"
	"github.com/ofp-dev/ofp/internal/sqltest"
)

// engine is one empty database opened through sqlstore.
type engine struct {
	d    sqlstore.Dialect
	open func(t *testing.T) *sql.DB // another pool on the same database
}

func engines(t *testing.T) map[string]engine {
	path := filepath.Join(t.TempDir(), "s.db")
	dsn := sqltest.PostgresSchema(t, "sqlstore_test")
	o := sqlstore.Options{Owner: "test", MaxOpenConns: 4}
	opener := func(f func(context.Context, string, sqlstore.Options) (*sql.DB, error), where string) func(t *testing.T) *sql.DB {
		return func(t *testing.T) *sql.DB {
			t.Helper()
			db, err := f(context.Background(), where, o)
			require.NoError(t, err)
			t.Cleanup(func() { db.Close() })
			return db
		}
	}
	return map[string]engine{
		"sqlite":   {d: sqlstore.SQLite, open: opener(sqlstore.OpenSQLite, path)},
		"postgres": {d: sqlstore.Postgres, open: opener(sqlstore.OpenPostgres, dsn)},
	}
}

func TestQ(t *testing.T) {
	q := `SELECT a FROM t WHERE b = ? AND c IN (?, ?) LIMIT ?`
	require.Equal(t, q, sqlstore.SQLite.Q(q))
	require.Equal(t, `SELECT a FROM t WHERE b = $1 AND c IN ($2, $3) LIMIT $4`, sqlstore.Postgres.Q(q))
	require.Equal(t, `SELECT 1`, sqlstore.Postgres.Q(`SELECT 1`))
	require.Equal(t, `SELECT 'é' || $1`, sqlstore.Postgres.Q(`SELECT 'é' || ?`), "multi-byte text is kept")
}

func TestAdvisoryLock(t *testing.T) {
	require.Equal(t, "SELECT pg_advisory_xact_lock(7382901)", sqlstore.Postgres.AdvisoryLock(7382901))
	require.Empty(t, sqlstore.SQLite.AdvisoryLock(7382901))
}

func TestNormTime(t *testing.T) {
	in := time.Date(2026, 3, 10, 9, 0, 0, 123456789, time.FixedZone("BRT", -3*3600))
	require.Equal(t, time.Date(2026, 3, 10, 12, 0, 0, 123456000, time.UTC), sqlstore.NormTime(in))
	require.Nil(t, sqlstore.NormTimePtr(nil))
	require.Equal(t, sqlstore.NormTime(in), *sqlstore.NormTimePtr(&in))
}

func TestTimeScanRefusesWhatIsNotATime(t *testing.T) {
	var v sqlstore.Time
	require.ErrorContains(t, v.Scan("yesterday"), "not RFC 3339")
	require.ErrorContains(t, v.Scan(int64(5)), "cannot scan int64")
	require.NoError(t, v.Scan([]byte("2026-03-10T12:00:00.000001Z")))
	require.True(t, v.Valid)
	require.Equal(t, time.Date(2026, 3, 10, 12, 0, 0, 1000, time.UTC), *v.Ptr())
	require.NoError(t, v.Scan(nil))
	require.False(t, v.Valid)
	require.Nil(t, v.Ptr())
}

func TestOpenSQLiteSettings(t *testing.T) {
	ctx := context.Background()
	for _, full := range []bool{false, true} {
		db, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "p.db"), sqlstore.Options{Owner: "test", MaxOpenConns: 3, FullSync: full})
		require.NoError(t, err)
		var mode string
		var fk, busy, sync int
		require.NoError(t, db.QueryRow(`PRAGMA journal_mode`).Scan(&mode))
		require.NoError(t, db.QueryRow(`PRAGMA foreign_keys`).Scan(&fk))
		require.NoError(t, db.QueryRow(`PRAGMA busy_timeout`).Scan(&busy))
		require.NoError(t, db.QueryRow(`PRAGMA synchronous`).Scan(&sync))
		require.Equal(t, "wal", mode)
		require.Equal(t, 1, fk)
		require.Equal(t, 20000, busy)
		if full {
			require.Equal(t, 2, sync, "FULL")
		} else {
			require.Equal(t, 1, sync, "NORMAL")
		}
		require.Equal(t, 3, db.Stats().MaxOpenConnections)
		require.NoError(t, db.Close())
	}
}

func TestOpenDefaultPoolSizes(t *testing.T) {
	ctx := context.Background()
	lite, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "d.db"), sqlstore.Options{Owner: "test"})
	require.NoError(t, err)
	defer lite.Close()
	require.Equal(t, 4, lite.Stats().MaxOpenConnections)
	pg, err := sqlstore.OpenPostgres(ctx, sqltest.PostgresDSN(t), sqlstore.Options{Owner: "test"})
	require.NoError(t, err)
	defer pg.Close()
	require.Equal(t, 10, pg.Stats().MaxOpenConnections)
}

func TestOpenPicksTheEngineOfTheDialect(t *testing.T) {
	ctx := context.Background()
	for _, d := range []sqlstore.Dialect{sqlstore.SQLite, sqlstore.Postgres} {
		where := filepath.Join(t.TempDir(), "o.db")
		if d.Dollar {
			where = sqltest.PostgresDSN(t)
		}
		db, err := sqlstore.Open(ctx, d, where, sqlstore.Options{Owner: "test"})
		require.NoError(t, err)
		var one int
		require.NoError(t, db.QueryRowContext(ctx, d.Q(`SELECT 1 WHERE 2 > ?`), 1).Scan(&one), d.Name)
		require.Equal(t, 1, one)
		require.NoError(t, db.Close())
	}
	_, err := sqlstore.Open(ctx, sqlstore.Dialect{Name: "oracle"}, "x", sqlstore.Options{Owner: "test"})
	require.ErrorContains(t, err, `test: unknown SQL engine "oracle"`)
}

func TestOpenErrorsNameTheOwner(t *testing.T) {
	ctx := context.Background()
	_, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "missing-dir", "x.db"), sqlstore.Options{Owner: "somestore"})
	require.ErrorContains(t, err, "somestore: connect to sqlite")
	_, err = sqlstore.OpenPostgres(ctx, "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=2", sqlstore.Options{Owner: "somestore"})
	require.ErrorContains(t, err, "somestore: connect to postgres")
}

func TestEngines(t *testing.T) {
	for name, e := range engines(t) {
		t.Run(name, func(t *testing.T) {
			db := e.open(t)
			ctx := context.Background()
			require.NoError(t, sqlstore.Migrate(ctx, db, sqlstore.Migrations{
				Owner: "test", Table: "test_migrations", Dir: "m", Lock: e.d.AdvisoryLock(1234), Dollar: e.d.Dollar,
				FS: fstest.MapFS{"m/0001_init.sql": {Data: []byte(timeDDL(e.d) + `;
					CREATE TABLE counters (id TEXT PRIMARY KEY, n INTEGER NOT NULL);
					CREATE TABLE parents (id TEXT PRIMARY KEY);
					CREATE TABLE children (id TEXT PRIMARY KEY, parent TEXT NOT NULL REFERENCES parents (id))`)}},
			}))

			t.Run("times round-trip at microsecond precision, NULL included", func(t *testing.T) {
				at := time.Date(2026, 3, 10, 9, 0, 0, 123456789, time.FixedZone("BRT", -3*3600))
				_, err := db.ExecContext(ctx, e.d.Q(`INSERT INTO times (id, at, maybe) VALUES (?, ?, ?)`), "a", e.d.Time(at), e.d.NullTime(nil))
				require.NoError(t, err)
				_, err = db.ExecContext(ctx, e.d.Q(`INSERT INTO times (id, at, maybe) VALUES (?, ?, ?)`), "b", e.d.Time(at.Add(time.Second)), e.d.NullTime(&at))
				require.NoError(t, err)
				var got, maybe sqlstore.Time
				require.NoError(t, db.QueryRowContext(ctx, e.d.Q(`SELECT at, maybe FROM times WHERE id = ?`), "a").Scan(&got, &maybe))
				require.Equal(t, sqlstore.NormTime(at), got.T)
				require.False(t, maybe.Valid)
				require.NoError(t, db.QueryRowContext(ctx, e.d.Q(`SELECT maybe FROM times WHERE id = ?`), "b").Scan(&maybe))
				require.Equal(t, sqlstore.NormTime(at), *maybe.Ptr())
				var first string
				require.NoError(t, db.QueryRowContext(ctx, e.d.Q(`SELECT id FROM times WHERE at > ? ORDER BY at LIMIT 1`), e.d.Time(at)).Scan(&first))
				require.Equal(t, "b", first, "stored times compare as times")
			})

			t.Run("unique violations are told apart from other errors", func(t *testing.T) {
				_, err := db.ExecContext(ctx, e.d.Q(`INSERT INTO counters (id, n) VALUES (?, 0)`), "dup")
				require.NoError(t, err)
				_, err = db.ExecContext(ctx, e.d.Q(`INSERT INTO counters (id, n) VALUES (?, 0)`), "dup")
				require.Error(t, err)
				require.True(t, sqlstore.IsUniqueViolation(err))
				require.True(t, sqlstore.IsUniqueViolation(errors.Join(errors.New("wrapped"), err)))
				_, err = db.ExecContext(ctx, e.d.Q(`INSERT INTO counters (id, n) VALUES (?, NULL)`), "null")
				require.Error(t, err, "NOT NULL")
				require.False(t, sqlstore.IsUniqueViolation(err))
				require.False(t, sqlstore.IsUniqueViolation(nil))
			})

			t.Run("foreign keys are enforced", func(t *testing.T) {
				_, err := db.ExecContext(ctx, e.d.Q(`INSERT INTO children (id, parent) VALUES (?, ?)`), "c", "nobody")
				require.Error(t, err)
			})

			t.Run("InTx commits on nil and rolls back returning fn's error as is", func(t *testing.T) {
				stop := errors.New("stop")
				err := sqlstore.InTx(ctx, db, "test", func(tx *sql.Tx) error {
					if _, err := tx.ExecContext(ctx, e.d.Q(`INSERT INTO counters (id, n) VALUES (?, 0)`), "rolled-back"); err != nil {
						return err
					}
					return stop
				})
				require.Same(t, stop, err)
				require.NoError(t, sqlstore.InTx(ctx, db, "test", func(tx *sql.Tx) error {
					_, err := tx.ExecContext(ctx, e.d.Q(`INSERT INTO counters (id, n) VALUES (?, 0)`), "kept")
					return err
				}))
				var n int
				require.NoError(t, db.QueryRowContext(ctx, `SELECT count(*) FROM counters WHERE id IN ('rolled-back', 'kept')`).Scan(&n))
				require.Equal(t, 1, n)
			})

			t.Run("a row read with ForUpdate is not changed under the transaction", func(t *testing.T) {
				// Read-modify-write from several pools (replicas) at once:
				// without the row lock (or BEGIN IMMEDIATE) increments are lost.
				_, err := db.ExecContext(ctx, e.d.Q(`INSERT INTO counters (id, n) VALUES (?, 0)`), "c")
				require.NoError(t, err)
				const workers, each = 4, 10
				var wg sync.WaitGroup
				errs := make(chan error, workers*each)
				for w := range workers {
					pool := db
					if w%2 == 1 {
						pool = e.open(t)
					}
					wg.Add(1)
					go func() {
						defer wg.Done()
						for range each {
							errs <- sqlstore.InTx(ctx, pool, "test", func(tx *sql.Tx) error {
								var n int
								if err := tx.QueryRowContext(ctx, e.d.Q(`SELECT n FROM counters WHERE id = ?`+e.d.ForUpdate), "c").Scan(&n); err != nil {
									return err
								}
								time.Sleep(time.Millisecond) // widen the window a lost update needs
								_, err := tx.ExecContext(ctx, e.d.Q(`UPDATE counters SET n = ? WHERE id = ?`), n+1, "c")
								return err
							})
						}
					}()
				}
				wg.Wait()
				close(errs)
				for err := range errs {
					require.NoError(t, err)
				}
				var n int
				require.NoError(t, db.QueryRowContext(ctx, e.d.Q(`SELECT n FROM counters WHERE id = ?`), "c").Scan(&n))
				require.Equal(t, workers*each, n)
			})

			t.Run("ReadTx is a consistent read", func(t *testing.T) {
				tx, err := db.BeginTx(ctx, e.d.ReadTx)
				require.NoError(t, err)
				defer tx.Rollback() //nolint:errcheck
				var before, after int
				require.NoError(t, tx.QueryRowContext(ctx, `SELECT count(*) FROM counters`).Scan(&before))
				if e.d.Dollar { // on SQLite the open read transaction holds the write lock: a writer would wait
					_, err = e.open(t).ExecContext(ctx, e.d.Q(`INSERT INTO counters (id, n) VALUES (?, 0)`), "during-read")
					require.NoError(t, err)
				}
				require.NoError(t, tx.QueryRowContext(ctx, `SELECT count(*) FROM counters`).Scan(&after))
				require.Equal(t, before, after)
			})
		})
	}
}

func TestSkipLockedLetsClaimersPass(t *testing.T) {
	e := engines(t)["postgres"]
	db := e.open(t)
	ctx := context.Background()
	_, err := db.ExecContext(ctx, `CREATE TABLE queue (id INTEGER PRIMARY KEY)`)
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, `INSERT INTO queue VALUES (1), (2)`)
	require.NoError(t, err)
	claim := func(tx *sql.Tx) int {
		var id int
		require.NoError(t, tx.QueryRowContext(ctx, `SELECT id FROM queue ORDER BY id LIMIT 1`+e.d.SkipLocked).Scan(&id))
		return id
	}
	tx1, err := db.BeginTx(ctx, nil)
	require.NoError(t, err)
	defer tx1.Rollback() //nolint:errcheck
	tx2, err := db.BeginTx(ctx, nil)
	require.NoError(t, err)
	defer tx2.Rollback() //nolint:errcheck
	require.Equal(t, 1, claim(tx1))
	require.Equal(t, 2, claim(tx2), "the second claimer skips the row the first one holds")
}

func timeDDL(d sqlstore.Dialect) string {
	if d.Dollar {
		return `CREATE TABLE times (id TEXT PRIMARY KEY, at TIMESTAMPTZ NOT NULL, maybe TIMESTAMPTZ)`
	}
	return `CREATE TABLE times (id TEXT PRIMARY KEY, at TEXT NOT NULL, maybe TEXT)`
}
