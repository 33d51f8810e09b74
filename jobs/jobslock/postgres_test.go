package jobslock_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"io"
	"log/slog"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/internal/sqltest"
	"github.com/ofp-dev/ofp/jobs"
	"github.com/ofp-dev/ofp/jobs/jobslock"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// openDB opens a separate pool, as a separate replica would. An
// unreachable server fails the test: these tests are the PostgreSQL
// contract.
func openDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", sqltest.PostgresDSN(t))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

// namespace is unique per test so parallel runs never contend.
func namespace(t *testing.T) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "jobslock-test-" + t.Name() + "-" + hex.EncodeToString(b)
}

func tryLock(t *testing.T, l *jobslock.Postgres, job string) (func(), bool) {
	t.Helper()
	unlock, ok, err := l.TryLock(context.Background(), job)
	require.NoError(t, err)
	require.NotNil(t, unlock)
	return unlock, ok
}

func TestKeyIsStable(t *testing.T) {
	// Replicas of different releases must agree on the key: this value is
	// a contract (FNV-1a 64 of "ofp\x00consents.expire", split hi/lo).
	k1, k2 := jobslock.Key("ofp", "consents.expire")
	require.Equal(t, [2]int32{1382055665, -1220187056}, [2]int32{k1, k2})
	a1, a2 := jobslock.Key("ofp", "a")
	b1, b2 := jobslock.Key("ofpa", "")
	require.NotEqual(t, [2]int32{a1, a2}, [2]int32{b1, b2}, "namespace and job are separated")
}

func TestSecondReplicaIsRefusedUntilUnlock(t *testing.T) {
	ns := namespace(t)
	dbA, dbB := openDB(t), openDB(t)
	a, b := jobslock.New(dbA, ns).WithLogger(quiet), jobslock.New(dbB, ns).WithLogger(quiet)

	unlockA, ok := tryLock(t, a, "sync")
	require.True(t, ok)
	require.Equal(t, 1, dbA.Stats().InUse, "the lock pins one connection")

	unlockB, ok := tryLock(t, b, "sync")
	require.False(t, ok, "held by replica A")
	unlockB() // harmless no-op
	require.Equal(t, 0, dbB.Stats().InUse, "a refused TryLock returns its connection")

	_, ok = tryLock(t, a, "sync")
	require.False(t, ok, "the same pool uses another session, so the lock is not re-entered")

	unlockA()
	unlockA() // twice is harmless
	require.Equal(t, 0, dbA.Stats().InUse, "unlock returns the connection to the pool")

	unlockB, ok = tryLock(t, b, "sync")
	require.True(t, ok, "free after unlock")
	_, ok = tryLock(t, a, "sync")
	require.False(t, ok, "pooled connections of A keep no lock after unlock")
	unlockB()
}

func TestJobsAndNamespacesDoNotContend(t *testing.T) {
	ns := namespace(t)
	dbA, dbB := openDB(t), openDB(t)
	a := jobslock.New(dbA, ns).WithLogger(quiet)
	b := jobslock.New(dbB, ns).WithLogger(quiet)
	other := jobslock.New(dbB, ns+"-other").WithLogger(quiet)

	unlock1, ok := tryLock(t, a, "sync")
	require.True(t, ok)
	defer unlock1()

	unlock2, ok := tryLock(t, b, "expire")
	require.True(t, ok, "a different job does not contend")
	defer unlock2()

	unlock3, ok := tryLock(t, other, "sync")
	require.True(t, ok, "the same job in another namespace does not contend")
	defer unlock3()
}

func TestTryLockReportsUnreachableDatabase(t *testing.T) {
	db := openDB(t)
	l := jobslock.New(db, namespace(t)).WithLogger(quiet)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	unlock, ok, err := l.TryLock(ctx, "sync")
	require.Error(t, err)
	require.False(t, ok)
	unlock()
	require.Equal(t, 0, db.Stats().InUse)
}

func TestLockOfTerminatedSessionIsReleased(t *testing.T) {
	ns := namespace(t)
	admin, dbA, dbB := openDB(t), openDB(t), openDB(t)
	var logA bytes.Buffer
	a := jobslock.New(dbA, ns).WithLogger(slog.New(slog.NewTextHandler(&logA, nil)))
	b := jobslock.New(dbB, ns).WithLogger(quiet)

	unlockA, ok := tryLock(t, a, "sync")
	require.True(t, ok)
	_, ok = tryLock(t, b, "sync")
	require.False(t, ok)

	// Find the session holding the lock and kill it, as a crashed replica
	// or a dropped connection would.
	k1, k2 := jobslock.Key(ns, "sync")
	var pid int
	require.NoError(t, admin.QueryRow(`SELECT pid FROM pg_locks
		WHERE locktype = 'advisory' AND objsubid = 2 AND classid::int4 = $1 AND objid::int4 = $2 AND granted`,
		k1, k2).Scan(&pid))
	var terminated bool
	require.NoError(t, admin.QueryRow("SELECT pg_terminate_backend($1)", pid).Scan(&terminated))
	require.True(t, terminated)

	var unlockB func()
	require.Eventually(t, func() bool {
		var ok bool
		unlockB, ok = tryLock(t, b, "sync")
		return ok
	}, 10*time.Second, 20*time.Millisecond, "PostgreSQL releases the lock of a dead session")

	// A's unlock meets a dead connection: it must return, discard the
	// connection and leave A's pool usable.
	done := make(chan struct{})
	go func() { unlockA(); close(done) }()
	select {
	case <-done:
	case <-time.After(jobslock.UnlockTimeout + 5*time.Second):
		t.Fatal("unlock on a dead connection did not return")
	}
	require.Equal(t, 0, dbA.Stats().InUse)
	require.NoError(t, dbA.Ping())
	require.Contains(t, logA.String(), "another replica may have run the job too", "the lost lock is reported")

	_, ok = tryLock(t, a, "sync")
	require.False(t, ok, "B holds it now; A's late unlock did not release it")
	unlockB()
	unlockA2, ok := tryLock(t, a, "sync")
	require.True(t, ok)
	unlockA2()
}

func TestTwoSchedulersRunAJobOnce(t *testing.T) {
	ns := namespace(t)
	s1 := jobs.New(quiet, jobslock.New(openDB(t), ns).WithLogger(quiet))
	s2 := jobs.New(quiet, jobslock.New(openDB(t), ns).WithLogger(quiet))
	release := make(chan struct{})
	job := func(ctx context.Context) error {
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	require.NoError(t, s1.Register("sync", "@hourly", job))
	require.NoError(t, s2.Register("sync", "@hourly", job))

	type result struct {
		s   *jobs.Scheduler
		run jobs.Run
		err error
	}
	results := make(chan result, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, s := range []*jobs.Scheduler{s1, s2} {
		go func() { r, err := s.RunNow(ctx, "sync"); results <- result{s, r, err} }()
	}

	// The winner blocks in the job until release, so the first result is
	// the replica that was refused.
	var skipped result
	select {
	case skipped = <-results:
	case <-ctx.Done():
		t.Fatal("neither scheduler was refused: both hold the lock")
	}
	require.ErrorIs(t, skipped.err, jobs.ErrAlreadyRunning)
	require.Equal(t, "skipped", skipped.run.Status)
	close(release)
	ran := <-results
	require.NoError(t, ran.err)
	require.Equal(t, "ok", ran.run.Status)
	require.NotSame(t, skipped.s, ran.s)

	h, err := skipped.s.History("sync")
	require.NoError(t, err)
	require.Len(t, h, 1)
	require.Equal(t, "skipped", h[0].Status)

	// Once released, the other replica can run it.
	r, err := skipped.s.RunNow(ctx, "sync")
	require.NoError(t, err)
	require.Equal(t, "ok", r.Status)
}
