package jobslock

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sync"
	"time"

	"github.com/ofp-dev/ofp/jobs"
)

var _ jobs.Locker = (*Postgres)(nil)

// UnlockTimeout bounds how long unlock waits for pg_advisory_unlock before
// it gives up and discards the connection (which releases the lock too).
const UnlockTimeout = 10 * time.Second

// Postgres is a jobs.Locker backed by PostgreSQL session-level advisory
// locks. It is safe for concurrent use.
type Postgres struct {
	db        *sql.DB
	namespace string
	log       *slog.Logger
}

// New returns a locker on db (opened with the pgx stdlib driver or any
// PostgreSQL driver). namespace separates lock spaces, e.g. per deployment
// or environment sharing one database: the same job name in two
// namespaces does not contend. Warnings go to slog.Default until
// WithLogger is used.
func New(db *sql.DB, namespace string) *Postgres {
	return &Postgres{db: db, namespace: namespace, log: slog.Default()}
}

// WithLogger returns a copy of p that logs to log.
func (p *Postgres) WithLogger(log *slog.Logger) *Postgres {
	c := *p
	c.log = log
	return &c
}

// Key returns the advisory lock key pair for a job in a namespace; it is
// stable across releases (see the package documentation).
func Key(namespace, job string) (int32, int32) {
	h := fnv.New64a()
	_, _ = h.Write([]byte(namespace))
	_, _ = h.Write([]byte{0})
	_, _ = h.Write([]byte(job))
	s := h.Sum64()
	return int32(uint32(s >> 32)), int32(uint32(s))
}

// TryLock tries to take the job's lock without waiting. ok=false with a nil
// error means another session holds it. ctx bounds getting a connection
// and the lock query, not how long the lock is held; the lock is held until
// unlock is called or the connection ends. unlock is never nil.
func (p *Postgres) TryLock(ctx context.Context, job string) (unlock func(), ok bool, err error) {
	noop := func() {}
	k1, k2 := Key(p.namespace, job)
	conn, err := p.db.Conn(ctx)
	if err != nil {
		return noop, false, fmt.Errorf("jobslock: lock %s: get a PostgreSQL connection: %w", job, err)
	}
	var got bool
	err = conn.QueryRowContext(ctx, "SELECT pg_try_advisory_lock($1::int4, $2::int4)", k1, k2).Scan(&got)
	if err != nil {
		// The server may have granted the lock before the error reached
		// us (e.g. ctx cancelled mid-query); discarding the session is
		// the only way to be sure it is not kept.
		discard(conn)
		return noop, false, fmt.Errorf("jobslock: lock %s: pg_try_advisory_lock: %w (check the database is reachable)", job, err)
	}
	if !got {
		_ = conn.Close() // back to the pool; it holds nothing
		return noop, false, nil
	}
	var once sync.Once
	return func() { once.Do(func() { p.unlock(ctx, conn, job, k1, k2) }) }, true, nil
}

func (p *Postgres) unlock(lockCtx context.Context, conn *sql.Conn, job string, k1, k2 int32) {
	// The lock context may be done by now (the job ended because it was
	// cancelled), and the lock must be released anyway: keep only its
	// values.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(lockCtx), UnlockTimeout)
	defer cancel()
	var released bool
	err := conn.QueryRowContext(ctx, "SELECT pg_advisory_unlock($1::int4, $2::int4)", k1, k2).Scan(&released)
	switch {
	case err != nil:
		p.log.Warn("jobslock: could not release the lock; discarding its connection, which releases it if the session is still alive. If the connection had died, the lock was lost during the run and another replica may have run the job too",
			"job", job, "err", err)
		discard(conn)
	case !released:
		p.log.Warn("jobslock: lock was not held at unlock; discarding the connection", "job", job)
		discard(conn)
	default:
		_ = conn.Close()
	}
}

// discard closes conn's underlying session instead of returning it to the
// pool: database/sql drops a connection when Raw's callback reports
// driver.ErrBadConn. The Close after it is a no-op unless Raw could not
// reach the connection.
func discard(conn *sql.Conn) {
	_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	_ = conn.Close()
}
