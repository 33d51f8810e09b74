// Package jobslock provides jobs.Locker implementations. It owns only the
// mapping from (namespace, job name) to a lock and the lock's lifetime; it
// never schedules, runs or records jobs (package jobs does that).
//
// # Postgres
//
// Postgres makes a job run on one replica at a time with PostgreSQL
// session-level advisory locks:
//
//   - TryLock takes a dedicated connection from the *sql.DB pool (advisory
//     locks belong to a session, so the same pooled connection must unlock
//     what it locked) and runs pg_try_advisory_lock(key1, key2). The key is
//     Key(namespace, job): FNV-1a 64 of namespace, a NUL byte and the job
//     name, split into two int32. The key is part of the contract between
//     replicas: changing it would let an old and a new replica run the same
//     job during a rolling deploy.
//   - When another session holds the lock, TryLock returns ok=false and no
//     error, and the connection goes straight back to the pool.
//   - unlock runs pg_advisory_unlock on the same connection and returns it to
//     the pool. If that fails (the connection died, the server restarted, a
//     timeout) the connection is discarded rather than returned, so a pooled
//     connection never keeps a lock; unlock never blocks for more than
//     UnlockTimeout and never panics, and calling it twice is harmless.
//
// While a job runs it holds one connection out of the pool: size
// SetMaxOpenConns for the jobs that can run at the same time plus the
// application's own queries.
//
// PostgreSQL releases a session's advisory locks when the session ends: a
// crashed replica, a closed connection or pg_terminate_backend frees the
// lock for another replica, with no stale lock to clean up. The flip side
// is that the lock can be lost while a job is still running (the
// connection drops mid-run): another replica may then start the same job.
// unlock logs a warning when it finds the lock already gone. Jobs should
// therefore stay idempotent; the lock prevents routine overlap, it is not a
// fencing token. A replica that vanishes without closing its socket (a
// network partition) keeps the lock until the server notices, which is
// governed by the server's tcp_keepalives_* settings.
//
// Operators can see holders with
//
//	SELECT pid, classid::int4 AS key1, objid::int4 AS key2 FROM pg_locks
//	WHERE locktype = 'advisory' AND objsubid = 2;
//
// # No in-process locker
//
// There is deliberately no Local locker: jobs.Scheduler already refuses to
// overlap a job with itself within one process, so the embedded
// single-replica default is jobs.New(log, nil). A process-local lock would
// only matter for several schedulers in one process, which ofp never runs.
package jobslock
