package main

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/ofp-dev/ofp/connectors/directory"
	"github.com/ofp-dev/ofp/connectors/opendata"
	"github.com/ofp-dev/ofp/ingest"
	"github.com/ofp-dev/ofp/internal/bus"
	"github.com/ofp-dev/ofp/internal/events"
	"github.com/ofp-dev/ofp/internal/oas"
	"github.com/ofp-dev/ofp/internal/objstore"
	odpipe "github.com/ofp-dev/ofp/pipelines/opendata"
	"github.com/ofp-dev/ofp/sim"
	"github.com/ofp-dev/ofp/warehouse"
)

// The crash test: while a large collection is being published to Kafka (by
// the collector, in this process), the pipeline runs as a separate
// `ofp pipeline opendata` process that is killed with SIGKILL and restarted,
// crashMinKills times, at random moments: alternately a random while after
// its first new lake object (mid first batch, nothing committed yet) and a
// random while after it committed progress (mid a later batch). The last
// child drains the topic and is stopped with SIGTERM. Then:
//   - the consumer group committed up to the end of every partition;
//   - no dataset holds a (src_topic, src_partition, src_offset, item_index)
//     twice, and every dataset holds exactly the source keys that one
//     uninterrupted pass of a fresh Transformer over the topic produces;
//   - every Kafka record appears in opendata_pages, opendata_collections or
//     opendata_quarantine.
//
// The children run without --until-idle: that flag counts only finished
// partition batches as activity, so a child whose batch takes longer than
// the idle time exits mid-batch without committing it (pipelinecmd.go).

const (
	crashMinKills       = 5
	crashGroup          = "ofp-pipeline-opendata" // the group platform.go consumes in
	crashMaxCollections = 8                       // collections repeat until the kills are done
	crashProducts       = 40                      // sim.Config.ProductsPerEndpoint: ~1000 pages per collection
	// crashMaxLag bounds how far the collector runs ahead of the pipeline
	// (records published but not committed), so the pipeline always has
	// work in hand when it is killed and its batches stay small enough
	// that every child commits progress.
	crashMaxLag = 240
)

func TestCrashPipelineSIGKILLKeepsEveryRecordExactlyOnce(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	seed := uint64(time.Now().UnixNano())
	t.Logf("random kill points from seed %d", seed)
	rnd := rand.New(rand.NewPCG(seed, seed>>1))

	began := time.Now()
	elapsed := func() time.Duration { return time.Since(began).Round(100 * time.Millisecond) }
	tmp := t.TempDir()
	bin := crashBuildOFP(ctx, t, tmp)

	// Engines in the test process: Kafka, S3, the simulated ecosystem.
	kafka, err := bus.StartEmbedded("", 0)
	require.NoError(t, err)
	defer kafka.Close()
	brokers := kafka.Brokers()
	s3, err := objstore.StartEmbedded(filepath.Join(tmp, "s3"), "127.0.0.1:0")
	require.NoError(t, err)
	defer func() { _ = s3.Close(context.Background()) }()
	scfg := sim.DefaultConfig("")
	scfg.ProductsPerEndpoint = crashProducts
	scfg.Faults = crashFaults()
	eco, stopSim, err := sim.Start("127.0.0.1:0", scfg)
	require.NoError(t, err)
	defer func() { _ = stopSim(context.Background()) }()

	lake, err := objstore.New(objstore.Config{Endpoint: s3.URL(), Bucket: "lake", AccessKey: "x", SecretKey: "y"})
	require.NoError(t, err)
	require.NoError(t, lake.EnsureBucket(ctx))
	producer, err := bus.NewClient(bus.Config{Brokers: brokers, ClientID: "crash-test-ingest"})
	require.NoError(t, err)
	defer producer.Close()
	require.NoError(t, bus.EnsureTopics(ctx, producer, bus.DefaultPartitions, events.TopicOpenDataRaw))
	adm := kadm.NewClient(producer)

	// The collector, in this process.
	dir, err := directory.NewClient(directory.DefaultOptions())
	require.NoError(t, err)
	orgs, err := dir.Participants(ctx, eco.Config().BaseURL+"/participants")
	require.NoError(t, err)
	eps, _ := directory.Discover(orgs, directory.DiscoverOptions{})
	require.NotEmpty(t, eps)
	odOpts := opendata.DefaultOptions()
	odOpts.BaseBackoff, odOpts.MaxBackoff, odOpts.MaxRetryAfter = 20*time.Millisecond, 200*time.Millisecond, time.Second
	fetcher, err := opendata.New(odOpts)
	require.NoError(t, err)
	quiet := slog.New(slog.DiscardHandler)
	group := crashWatchGroup(ctx, adm)
	paced := crashPacedPublisher{pub: bus.NewPublisher(producer), group: group, max: crashMaxLag}
	collector := ingest.NewCollector(fetcher, paced, lake, quiet,
		ingest.Options{Institutions: 4, EndpointsPerInstitution: 2, Simulated: true})

	// Collections run back to back until the kills are done (at least one
	// whole collection), so every kill has work in flight to interrupt.
	var killsDone atomic.Bool
	type collectResult struct {
		runs  int
		pages int
		err   error
	}
	collected := make(chan collectResult, 1)
	go func() {
		var res collectResult
		for res.runs < crashMaxCollections {
			sum, err := collector.Collect(ctx, eps, nil)
			res.runs++
			res.pages += sum.Pages
			if err != nil {
				res.err = fmt.Errorf("collection %d: %w", res.runs, err)
				break
			}
			if killsDone.Load() {
				break
			}
		}
		collected <- res
	}()

	// The pipeline, as a child process killed and restarted. The children
	// run until stopped (no --until-idle: see the report on that flag).
	sup := &crashSupervisor{t: t, bin: bin, dataDir: filepath.Join(tmp, "data"), logPath: filepath.Join(tmp, "pipeline.log"),
		args: []string{"pipeline", "opendata", "--kafka-brokers", strings.Join(brokers, ","), "--s3-endpoint", s3.URL(),
			"--s3-bucket", "lake", "--s3-access-key", "x", "--s3-secret-key", "y"}}
	defer sup.stop()
	defer func() {
		if t.Failed() {
			sup.dumpLog()
		}
	}()

	// waitFor polls cond until it holds; the child must stay up meanwhile.
	waitFor := func(child *crashChild, what string, cond func() bool) {
		t.Helper()
		for !cond() {
			select {
			case <-ctx.Done():
				require.FailNow(t, "deadline while waiting: "+what)
			case <-child.exited:
				require.FailNow(t, "the pipeline child exited on its own while waiting: "+what, "exit: %v", child.err)
			case <-time.After(100 * time.Millisecond):
			}
		}
	}

	child := sup.start(ctx)
	for kills := 1; kills <= crashMinKills; kills++ {
		// Odd kills: mid first batch, once its first lake object exists
		// (nothing committed yet). Even kills: after the child committed
		// some progress, mid a later batch.
		what := "a new lake object"
		if kills%2 == 0 {
			what = "newly committed offsets"
			from := group.committed.Load()
			waitFor(child, what, func() bool { return group.committed.Load() > from })
		} else {
			from := crashLakeObjects(ctx, t, lake)
			waitFor(child, what, func() bool { return crashLakeObjects(ctx, t, lake) > from })
		}
		delay := time.Duration(rnd.Int64N(int64(1500 * time.Millisecond)))
		select {
		case <-child.exited:
			require.FailNow(t, "the pipeline child exited on its own", "exit: %v", child.err)
		case <-time.After(delay):
		}
		child.kill(t)
		t.Logf("%s kill %d: SIGKILL %s after %s (lag %d records)", elapsed(), kills, delay.Round(time.Millisecond), what, group.lag.Load())
		if kills == crashMinKills {
			killsDone.Store(true)
		}
		// A SIGKILLed member never leaves its consumer group; Kafka would
		// hand its partitions over only after the session timeout (45 s).
		// Remove it as the coordinator would, so the restart takes over now.
		crashRemoveGroupMembers(ctx, t, producer, adm)
		child = sup.start(ctx)
	}

	var res collectResult
	select {
	case res = <-collected:
	case <-child.exited:
		require.FailNow(t, "the pipeline child exited on its own", "exit: %v", child.err)
	case <-ctx.Done():
		require.FailNow(t, "the collection did not finish before the deadline")
	}
	require.NoError(t, res.err)
	t.Logf("%s %d collection(s), %d pages published while the pipeline was killed %d times", elapsed(), res.runs, res.pages, crashMinKills)

	// The last child drains the topic and then stops cleanly on SIGTERM.
	// Lag 0 twice, 1.5 s apart: the end offsets and the committed offsets are
	// read by two requests, so one reading can miss records that arrived
	// between them.
	for i := 0; i < 2; i++ {
		waitFor(child, "the pipeline to commit every record", func() bool { return group.lag.Load() == 0 })
		time.Sleep(1500 * time.Millisecond)
	}
	require.NoError(t, child.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-child.exited:
		require.NoError(t, child.err, "the last pipeline child did not exit cleanly on SIGTERM")
	case <-time.After(20 * time.Second):
		require.FailNow(t, "the last pipeline child did not stop within 20 s of SIGTERM")
	}
	t.Logf("%s the last child drained the topic and stopped", elapsed())

	ends, err := adm.ListEndOffsets(ctx, events.TopicOpenDataRaw)
	require.NoError(t, err)
	require.NoError(t, ends.Error())
	high := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) { high[o.Partition] = o.Offset })
	require.Len(t, high, bus.DefaultPartitions)

	committed, err := adm.FetchOffsets(ctx, crashGroup)
	require.NoError(t, err)
	require.NoError(t, committed.Error())
	for p, hw := range high {
		if hw == 0 {
			continue
		}
		c, ok := committed.Lookup(events.TopicOpenDataRaw, p)
		require.True(t, ok, "no committed offset for partition %d", p)
		require.Equal(t, hw, c.At, "partition %d: committed offset vs high watermark", p)
	}

	// Every record of the topic, and what one uninterrupted pass makes of it.
	recs := crashReadTopic(ctx, t, brokers, high)
	want := crashReference(t, recs)

	wh, err := warehouse.OpenReadOnly(filepath.Join(sup.dataDir, "warehouse.duckdb"), warehouse.DefaultOptions())
	require.NoError(t, err)
	defer wh.Close()
	db := wh.DB()

	// Items are content, stored once per (content_key, item_index): every
	// one the reference makes, nothing else, none twice.
	for _, ds := range crashViewItems {
		var dups int64
		require.NoError(t, db.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM `+ds+`
			GROUP BY content_key, item_index HAVING count(*) > 1)`).Scan(&dups))
		require.Zero(t, dups, "%s: content items present more than once", ds)
		got := map[string]int32{}
		rows, err := db.QueryContext(ctx, `SELECT content_key, count(*) FROM `+ds+` GROUP BY content_key`)
		require.NoError(t, err)
		for rows.Next() {
			var k string
			var n int32
			require.NoError(t, rows.Scan(&k, &n))
			got[k] = n
		}
		require.NoError(t, rows.Err())
		rows.Close()
		require.Equal(t, want.items[ds], got, "%s: the contents and their item counts", ds)
		t.Logf("%s: %d contents, each stored once", ds, len(got))
	}
	// Every relation with source columns (the tables but items, and the
	// views over pages and items) holds every row of the reference exactly
	// once.
	var sourced []string
	for _, ds := range warehouse.Datasets() {
		if _, item := crashItemViews[ds]; !item {
			sourced = append(sourced, ds)
		}
	}
	for _, ds := range append(sourced, warehouse.Views()...) {
		var dups int64
		require.NoError(t, db.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM `+ds+`
			GROUP BY src_topic, src_partition, src_offset, item_index HAVING count(*) > 1)`).Scan(&dups))
		require.Zero(t, dups, "%s: source keys present more than once", ds)

		got := crashQueryKeys(ctx, t, wh, `SELECT src_partition, src_offset, item_index FROM `+ds+` WHERE src_topic = $1`)
		var other int64
		require.NoError(t, db.QueryRowContext(ctx, `SELECT count(*) FROM `+ds+` WHERE src_topic <> $1`, events.TopicOpenDataRaw).Scan(&other))
		require.Zero(t, other, "%s: rows from another topic", ds)
		missing, extra := crashDiff(want.rows[ds], got)
		require.Equal(t, len(want.rows[ds]), len(got), "%s: row count vs the reference transformation (missing e.g. %v, extra e.g. %v)", ds, missing, extra)
		require.Empty(t, missing, "%s: rows of the reference transformation not in the warehouse", ds)
		require.Empty(t, extra, "%s: rows in the warehouse the reference transformation does not make", ds)
		t.Logf("%s: %d rows, each exactly once", ds, len(got))
	}

	seen := crashQueryKeys(ctx, t, wh, `SELECT src_partition, src_offset, 0 FROM opendata_pages WHERE src_topic = $1
		UNION SELECT src_partition, src_offset, 0 FROM opendata_collections WHERE src_topic = $1
		UNION SELECT src_partition, src_offset, 0 FROM opendata_quarantine WHERE src_topic = $1`)
	for _, r := range recs {
		_, ok := seen[crashKey{r.Partition, r.Offset, 0}]
		require.True(t, ok, "Kafka record %d/%d is in no page, collection or quarantine row", r.Partition, r.Offset)
	}
	require.Len(t, seen, len(recs), "warehouse rows point at offsets that are not on the topic")
	t.Logf("%d Kafka records, every one represented", len(recs))

	// How often a kill left loaded but uncommitted rows that a later load
	// of an overlapping range replaced (informative: it depends on timing).
	var redone int64
	require.NoError(t, db.QueryRowContext(ctx, `SELECT count(*) FROM loads a JOIN loads b
		ON a.dataset = b.dataset AND a.topic = b.topic AND a.partition = b.partition AND a.loaded_at < b.loaded_at
		AND a.first_offset <= b.last_offset AND b.first_offset <= a.last_offset`).Scan(&redone))
	t.Logf("%s %d loads were redone over rows already loaded before a kill", elapsed(), redone)
}

// crashFaults degrades a few institutions: latency, 5xx and 429 that
// retries get through, and malformed, truncated and schema-invalid
// payloads that must end in quarantine, never in a crash.
func crashFaults() map[string]sim.Faults {
	f := sim.DemoFaults()
	f[sim.DemoSlowOrg] = sim.Faults{Latency: 20 * time.Millisecond, P5xx: 0.2, PTruncated: 0.1, MaxConsecutive: 2}
	f[sim.DemoThrottledOrg] = sim.Faults{P429: 0.2, RetryAfter: time.Second, PTruncated: 0.2, PInvalid: 0.1, MaxConsecutive: 2}
	f[sim.DemoBrokenOrg] = sim.Faults{PMalformed: 0.3, PTruncated: 0.1, PInvalid: 0.3, MaxConsecutive: 5}
	return f
}

// crashGroupState is the pipeline group's progress on the raw topic.
type crashGroupState struct {
	lag       atomic.Int64 // records on the topic not yet committed
	committed atomic.Int64 // sum of the committed offsets
}

// crashWatchGroup measures the pipeline group's progress every 100 ms
// until ctx ends.
func crashWatchGroup(ctx context.Context, adm *kadm.Client) *crashGroupState {
	st := &crashGroupState{}
	measure := func() {
		ends, err := adm.ListEndOffsets(ctx, events.TopicOpenDataRaw)
		if err != nil || ends.Error() != nil {
			return
		}
		committed, err := adm.FetchOffsets(ctx, crashGroup)
		if err != nil || committed.Error() != nil {
			return
		}
		var lag, sum int64
		ends.Each(func(o kadm.ListedOffset) {
			c, ok := committed.Lookup(events.TopicOpenDataRaw, o.Partition)
			if !ok || c.At < 0 {
				lag += o.Offset
				return
			}
			lag += o.Offset - c.At
			sum += c.At
		})
		st.lag.Store(lag)
		st.committed.Store(sum)
	}
	measure()
	go func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				measure()
			}
		}
	}()
	return st
}

// crashPacedPublisher holds the collector back while the pipeline lags
// max records or more behind.
type crashPacedPublisher struct {
	pub   ingest.Publisher
	group *crashGroupState
	max   int64
}

func (p crashPacedPublisher) Publish(ctx context.Context, topic string, envs ...events.Envelope) (bus.Acked, error) {
	for p.group.lag.Load() >= p.max {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return p.pub.Publish(ctx, topic, envs...)
}

// crashBuildOFP builds the ofp binary the way `make build` does.
func crashBuildOFP(ctx context.Context, t *testing.T, dir string) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	out := filepath.Join(dir, "ofp")
	bctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(bctx, goBin, "build", "-o", out, ".")
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build ./cmd/ofp:\n%s", b)
	return out
}

// crashSupervisor starts `ofp pipeline opendata` children, one at a time,
// with their output appended to one log file.
type crashSupervisor struct {
	t       *testing.T
	bin     string
	dataDir string
	logPath string
	args    []string

	mu      sync.Mutex
	n       int
	current *crashChild
}

type crashChild struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed once the process is gone
	err    error         // its exit, valid after exited is closed
}

func (s *crashSupervisor) start(ctx context.Context) *crashChild {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	require.NoError(s.t, err)
	fmt.Fprintf(logf, "===== child %d =====\n", s.n)
	cmd := exec.CommandContext(ctx, s.bin, append(slices.Clone(s.args), "--data-dir", s.dataDir)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = crashChildEnv()
	require.NoError(s.t, cmd.Start())
	c := &crashChild{cmd: cmd, exited: make(chan struct{})}
	go func() {
		c.err = cmd.Wait()
		logf.Close()
		close(c.exited)
	}()
	s.current = c
	return c
}

// kill sends SIGKILL and waits for the process to be gone.
func (c *crashChild) kill(t *testing.T) {
	t.Helper()
	require.NoError(t, c.cmd.Process.Signal(syscall.SIGKILL), "SIGKILL the pipeline child")
	select {
	case <-c.exited:
	case <-time.After(30 * time.Second):
		require.FailNow(t, "a SIGKILLed child did not exit")
	}
	var ee *exec.ExitError
	require.ErrorAs(t, c.err, &ee, "the pipeline child exited before it was killed")
	ws, ok := ee.Sys().(syscall.WaitStatus)
	require.True(t, ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL, "the pipeline child ended by %v, not by SIGKILL", c.err)
}

// stop kills whatever child still runs (test failure paths).
func (s *crashSupervisor) stop() {
	s.mu.Lock()
	c := s.current
	s.mu.Unlock()
	if c == nil {
		return
	}
	select {
	case <-c.exited:
		return
	default:
	}
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-c.exited:
	case <-time.After(10 * time.Second):
	}
}

func (s *crashSupervisor) dumpLog() {
	f, err := os.Open(s.logPath)
	if err != nil {
		s.t.Logf("no pipeline log: %v", err)
		return
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) > 300 {
		lines = append([]string{"…"}, lines[len(lines)-300:]...)
	}
	s.t.Logf("pipeline children's output (%s):\n%s", s.logPath, strings.Join(lines, "\n"))
}

// crashChildEnv is the test's environment without OFP_* settings, so that
// only the flags configure the child.
func crashChildEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OFP_") {
			env = append(env, kv)
		}
	}
	return env
}

// crashLakeObjects counts the Parquet objects of every dataset.
func crashLakeObjects(ctx context.Context, t *testing.T, lake *objstore.Store) int {
	t.Helper()
	n := 0
	for _, ds := range warehouse.Datasets() {
		objs, err := lake.List(ctx, ds+"/")
		require.NoError(t, err)
		n += len(objs)
	}
	return n
}

// crashRemoveGroupMembers makes every member of the pipeline's group leave
// it; call it only while no child runs (the members are dead).
func crashRemoveGroupMembers(ctx context.Context, t *testing.T, cl *kgo.Client, adm *kadm.Client) {
	t.Helper()
	// Every pipeline the child runs: open data and the API-call record.
	for _, g := range []string{crashGroup, "ofp-pipeline-apicalls"} {
		crashRemoveMembersOf(ctx, t, cl, adm, g)
	}
}

func crashRemoveMembersOf(ctx context.Context, t *testing.T, cl *kgo.Client, adm *kadm.Client, group string) {
	t.Helper()
	groups, err := adm.DescribeGroups(ctx, group)
	require.NoError(t, err)
	g, ok := groups[group]
	if !ok || g.Err != nil || len(g.Members) == 0 {
		return
	}
	req := kmsg.NewPtrLeaveGroupRequest()
	req.Group = group
	for _, m := range g.Members {
		lm := kmsg.NewLeaveGroupRequestMember()
		lm.MemberID = m.MemberID
		req.Members = append(req.Members, lm)
	}
	resp, err := req.RequestWith(ctx, cl)
	require.NoError(t, err)
	for _, m := range resp.Members {
		if m.ErrorCode != 0 {
			t.Logf("remove dead member %s: error code %d (it may have left already)", m.MemberID, m.ErrorCode)
		}
	}
}

// crashReadTopic reads every record of the raw topic up to high.
func crashReadTopic(ctx context.Context, t *testing.T, brokers []string, high map[int32]int64) []*kgo.Record {
	t.Helper()
	parts := map[int32]kgo.Offset{}
	for p, hw := range high {
		if hw > 0 {
			parts[p] = kgo.NewOffset().AtStart()
		}
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{events.TopicOpenDataRaw: parts}),
		kgo.FetchMaxBytes(64<<20), kgo.FetchMaxPartitionBytes(16<<20))
	require.NoError(t, err)
	defer cl.Close()
	next := map[int32]int64{}
	var out []*kgo.Record
	done := func() bool {
		for p, hw := range high {
			if next[p] < hw {
				return false
			}
		}
		return true
	}
	rctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for !done() {
		fs := cl.PollFetches(rctx)
		require.NoError(t, rctx.Err(), "reading the topic back")
		fs.EachError(func(topic string, p int32, err error) { require.NoError(t, err, "fetch %s/%d", topic, p) })
		fs.EachRecord(func(r *kgo.Record) {
			require.Equal(t, next[r.Partition], r.Offset, "partition %d: offsets are not contiguous", r.Partition)
			next[r.Partition] = r.Offset + 1
			out = append(out, r)
		})
	}
	for p, hw := range high {
		require.Equal(t, hw, next[p], "partition %d read past its high watermark", p)
	}
	slices.SortFunc(out, func(a, b *kgo.Record) int {
		if a.Partition != b.Partition {
			return int(a.Partition - b.Partition)
		}
		return int(a.Offset - b.Offset)
	})
	return out
}

// crashKey is a row's source position within the raw topic.
type crashKey struct {
	partition int32
	offset    int64
	item      int32
}

// crashViewItems maps each warehouse view over pages and items to its item
// dataset, and crashItemViews the other way; crashViewRows maps a view to
// the table of its rows without a content.
var (
	crashViewItems = map[string]string{odpipe.DatasetFees: odpipe.DatasetFeeItems, odpipe.DatasetRates: odpipe.DatasetRateItems,
		odpipe.DatasetFindings: odpipe.DatasetFindingItems, odpipe.DatasetQuarantine: odpipe.DatasetQuarantineItems}
	crashItemViews = func() map[string]string {
		out := map[string]string{}
		for v, i := range crashViewItems {
			out[i] = v
		}
		return out
	}()
	crashViewRows = map[string]string{odpipe.DatasetFindings: warehouse.DatasetFindingRows, odpipe.DatasetQuarantine: odpipe.DatasetQuarantineRows}
)

// crashWant is what one uninterrupted pass makes of the topic: the source
// keys of the rows of every relation with source columns (tables and the
// views), and the item count of every content.
type crashWant struct {
	rows  map[string]map[crashKey]struct{}
	items map[string]map[string]int32 // item dataset -> content_key -> items
}

// crashReference feeds every record, in order, to a fresh Transformer and
// returns what it makes.
func crashReference(t *testing.T, recs []*kgo.Record) crashWant {
	t.Helper()
	v, err := oas.New()
	require.NoError(t, err)
	tr := odpipe.NewTransformer(v, memory.NewGoAllocator(), nil)
	defer tr.Release()
	w := crashWant{rows: map[string]map[crashKey]struct{}{}, items: map[string]map[string]int32{}}
	for _, items := range crashViewItems {
		w.items[items] = map[string]int32{}
	}
	for _, ds := range append(warehouse.Datasets(), warehouse.Views()...) {
		w.rows[ds] = map[crashKey]struct{}{}
	}
	type page struct {
		partition int32
		offset    int64
		content   string
	}
	var pages []page
	flush := func() {
		for ds, rec := range tr.Flush() {
			if _, ok := w.items[ds]; ok { // a content's items come again in every batch: count them once
				keys := rec.Column(rec.Schema().FieldIndices("content_key")[0]).(*array.String)
				batch := map[string]int32{}
				for i := range keys.Len() {
					batch[keys.Value(i)]++
				}
				for k, n := range batch {
					w.items[ds][k] = n
				}
				rec.Release()
				continue
			}
			crashRecordKeys(t, ds, rec, w.rows[ds])
			if ds == odpipe.DatasetPages {
				parts := rec.Column(rec.Schema().FieldIndices("src_partition")[0]).(*array.Int32)
				offs := rec.Column(rec.Schema().FieldIndices("src_offset")[0]).(*array.Int64)
				keys := rec.Column(rec.Schema().FieldIndices("content_key")[0]).(*array.String)
				for i := range keys.Len() {
					pages = append(pages, page{parts.Value(i), offs.Value(i), keys.Value(i)})
				}
			}
			rec.Release()
		}
	}
	for i, r := range recs {
		tr.AddRecord(r)
		if (i+1)%1000 == 0 {
			flush()
		}
	}
	flush()
	for view, items := range crashViewItems {
		for _, p := range pages {
			for i := range w.items[items][p.content] {
				w.rows[view][crashKey{p.partition, p.offset, i}] = struct{}{}
			}
		}
		for k := range w.rows[crashViewRows[view]] {
			w.rows[view][k] = struct{}{}
		}
	}
	return w
}

func crashRecordKeys(t *testing.T, ds string, rec arrow.RecordBatch, into map[crashKey]struct{}) {
	t.Helper()
	col := func(name string) arrow.Array {
		idx := rec.Schema().FieldIndices(name)
		require.Len(t, idx, 1, "%s has no column %s", ds, name)
		return rec.Column(idx[0])
	}
	parts, ok1 := col("src_partition").(*array.Int32)
	offs, ok2 := col("src_offset").(*array.Int64)
	items, ok3 := col("item_index").(*array.Int32)
	require.True(t, ok1 && ok2 && ok3, "%s: unexpected source column types", ds)
	for i := 0; i < int(rec.NumRows()); i++ {
		k := crashKey{parts.Value(i), offs.Value(i), items.Value(i)}
		_, dup := into[k]
		require.False(t, dup, "%s: the reference transformation made key %v twice", ds, k)
		into[k] = struct{}{}
	}
}

func crashQueryKeys(ctx context.Context, t *testing.T, wh *warehouse.Store, query string) map[crashKey]struct{} {
	t.Helper()
	rows, err := wh.DB().QueryContext(ctx, query, events.TopicOpenDataRaw)
	require.NoError(t, err)
	defer rows.Close()
	out := map[crashKey]struct{}{}
	for rows.Next() {
		var k crashKey
		require.NoError(t, rows.Scan(&k.partition, &k.offset, &k.item))
		out[k] = struct{}{}
	}
	require.NoError(t, rows.Err())
	return out
}

// crashDiff returns up to 5 keys only in want and up to 5 only in got.
func crashDiff(want, got map[crashKey]struct{}) (missing, extra []crashKey) {
	for k := range want {
		if _, ok := got[k]; !ok && len(missing) < 5 {
			missing = append(missing, k)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok && len(extra) < 5 {
			extra = append(extra, k)
		}
	}
	return missing, extra
}
