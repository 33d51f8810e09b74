package lifecycle

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/consent/consentsql"
	"github.com/ofp-dev/ofp/internal/bus"
)

// Environment of the publisher child process of TestPublisherSurvivesSIGKILL.
const (
	envChild   = "LIFECYCLE_CHILD"
	envDB      = "LIFECYCLE_DB"
	envBrokers = "LIFECYCLE_BROKERS"
)

// childLease is the claim lease of the child's store; the child waits it
// before its first claim (PublisherOptions.ResumeDelay).
const childLease = 500 * time.Millisecond

func TestMain(m *testing.M) {
	if os.Getenv(envChild) == "1" {
		os.Exit(childPublisher())
	}
	os.Exit(m.Run())
}

// childPublisher runs a Publisher over the SQLite file and the brokers the
// parent names until it is killed.
func childPublisher() int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	s, err := consentsql.OpenSQLite(ctx, os.Getenv(envDB), consentsql.Options{ClaimLease: childLease, Logger: log})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 2
	}
	defer s.Close()
	cl, err := bus.NewClient(bus.Config{Brokers: strings.Split(os.Getenv(envBrokers), ","), ClientID: "lifecycle-child"})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 2
	}
	defer cl.Close()
	pub := NewPublisher(s, cl, PublisherOptions{
		BatchSize: 5, PollInterval: 2 * time.Millisecond, MinBackoff: 5 * time.Millisecond,
		ResumeDelay: childLease, Logger: log,
	})
	_ = pub.Run(ctx)
	return 0
}

// TestPublisherSurvivesSIGKILL kills the publisher process at random points
// while transitions keep being written, and checks that a consumer that
// dedupes on the envelope id sees every outbox event exactly once, in
// order per consent.
func TestPublisherSurvivesSIGKILL(t *testing.T) {
	brokers, cl := kafka(t)
	dbPath := filepath.Join(t.TempDir(), "consents.db")
	s := openStore(t, dbPath, consentsql.Options{})
	ctx := context.Background()

	// The writer keeps applying transitions until told to stop.
	var (
		mu       sync.Mutex
		ids      []string
		writeErr error
		stopW    = make(chan struct{})
		writerW  sync.WaitGroup
	)
	writerW.Add(1)
	go func() {
		defer writerW.Done()
		tick := time.NewTicker(3 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stopW:
				return
			case <-tick.C:
			}
			id, err := lifecycleMixErr(s, i)
			mu.Lock()
			ids = append(ids, id)
			writeErr = err
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()

	onWire := func() int64 {
		n := int64(0)
		ends, err := kadmEnds(ctx, cl)
		require.NoError(t, err)
		for _, o := range ends {
			n += o
		}
		return n
	}
	start := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^TestPublisherSurvivesSIGKILL$")
		cmd.Env = append(os.Environ(), envChild+"=1", envDB+"="+dbPath, envBrokers+"="+strings.Join(brokers, ","))
		cmd.Stderr = os.Stderr
		require.NoError(t, cmd.Start())
		return cmd
	}

	const kills = 4
	for k := range kills {
		before := onWire()
		cmd := start()
		// Wait until this child has produced something, then kill it a
		// random moment later: mid-batch, between ack and mark, or idle.
		require.Eventually(t, func() bool { return onWire() > before }, 30*time.Second, time.Millisecond,
			"child %d publishes", k)
		time.Sleep(time.Duration(rand.IntN(40)) * time.Millisecond) // random kill point, not a wait for a condition
		require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
		err := cmd.Wait()
		require.Error(t, err, "the child died by SIGKILL")
	}
	close(stopW)
	writerW.Wait()
	require.NoError(t, writeErr, "the writer never fails while publishers die")

	// A last child drains the rest, then is stopped cleanly.
	cmd := start()
	require.Eventually(t, func() bool {
		n, err := s.PendingOutbox(ctx)
		return err == nil && n == 0
	}, 60*time.Second, 5*time.Millisecond, "a restarted publisher drains everything left")
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, cmd.Wait())

	outbox := outboxIDs(t, dbPath)
	recs := readTopic(t, brokers)
	require.GreaterOrEqual(t, len(recs), len(outbox))
	byID := map[string]wireRecord{}
	dups := 0
	for _, r := range recs {
		if first, ok := byID[r.Env.ID]; ok {
			dups++
			require.Equal(t, first.Env, r.Env, "a duplicate is the same envelope")
			require.Equal(t, first.Partition, r.Partition)
			continue
		}
		byID[r.Env.ID] = r
	}
	distinct := map[string]bool{}
	for id := range byID {
		distinct[id] = true
	}
	require.Equal(t, outbox, distinct, "the distinct envelope ids are exactly the outbox: nothing lost, nothing invented")
	t.Logf("%d outbox events, %d records on the wire, %d duplicates", len(outbox), len(recs), dups)

	mu.Lock()
	defer mu.Unlock()
	requireMatchesHistory(t, s, firstSeen(recs), ids)
}

func outboxIDs(t *testing.T, path string) map[string]bool {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	require.NoError(t, err)
	defer db.Close()
	rows, err := db.Query(`SELECT id FROM consent_outbox`)
	require.NoError(t, err)
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var id string
		require.NoError(t, rows.Scan(&id))
		out[id] = true
	}
	require.NoError(t, rows.Err())
	return out
}
