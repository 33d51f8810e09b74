package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/pprof"
	"runtime/trace"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/ofp-dev/ofp/internal/bus"
	"github.com/ofp-dev/ofp/internal/events"
	"github.com/ofp-dev/ofp/internal/oas"
	"github.com/ofp-dev/ofp/internal/objstore"
	"github.com/ofp-dev/ofp/pipelines"
	odpipe "github.com/ofp-dev/ofp/pipelines/opendata"
	"github.com/ofp-dev/ofp/pipelines/whload"
	"github.com/ofp-dev/ofp/warehouse"
)

// sampleEvery is the memory sampling interval.
const sampleEvery = 50 * time.Millisecond

// throughput is one consumer's figures over the whole topic.
type throughput struct {
	Records int64
	Bytes   int64
	FeeRows int64 // fee rows the consumer made queryable (pipeline) or that the records hold (baseline)
	Elapsed time.Duration
	// Committed is when the pipeline had committed the whole topic; the
	// rest of Elapsed is the warehouse's checkpoint.
	Committed time.Duration
	Mem       memPeak
	// Pages the pipeline replayed from its Memo (content already seen) and
	// pages that took the full path.
	MemoHits, MemoMisses int64
	// LoadSteps is where the warehouse's loads spent their time
	// (warehouse.Stats), zero without the warehouse.
	LoadSteps warehouse.LoadSteps
}

// checkpoint is the warehouse's final checkpoint: what Elapsed holds
// after Committed.
func (t throughput) checkpoint() time.Duration { return t.Elapsed - t.Committed }

func (t throughput) recordsPerSec() float64 { return float64(t.Records) / t.Elapsed.Seconds() }
func (t throughput) feeRowsPerSec() float64 { return float64(t.FeeRows) / t.Elapsed.Seconds() }
func (t throughput) mbPerSec() float64      { return float64(t.Bytes) / 1e6 / t.Elapsed.Seconds() }

// reached reports whether every acked partition has been read past its offset.
func reached(next map[int32]int64, acked bus.Acked) bool {
	for p, off := range acked {
		if next[p] <= off {
			return false
		}
	}
	return true
}

// consumeBaseline reads the whole topic with a fresh group client, doing
// nothing with the records, until it reaches the acked offsets.
func consumeBaseline(ctx context.Context, brokers []string, acked bus.Acked, feeRows int64, round int) (throughput, error) {
	var t throughput
	group := roundGroup("ofpbench-baseline", round)
	cl, err := bus.NewClient(bus.Config{Brokers: brokers, ClientID: group},
		pipelines.ClientOpts(group, events.TopicOpenDataRaw)...)
	if err != nil {
		return t, err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Minute)
	defer cancel()
	s := startSampler(sampleEvery)
	start := time.Now()
	next := map[int32]int64{}
	for !reached(next, acked) {
		fs := cl.PollRecords(ctx, 5000)
		if err := ctx.Err(); err != nil {
			cl.AllowRebalance()
			s.stop()
			return t, fmt.Errorf("baseline consumer: %w", err)
		}
		var ferr error
		fs.EachError(func(topic string, p int32, err error) {
			ferr = fmt.Errorf("baseline consumer: fetch %s/%d: %w", topic, p, err)
		})
		if ferr != nil {
			cl.AllowRebalance()
			s.stop()
			return t, ferr
		}
		fs.EachRecord(func(r *kgo.Record) {
			t.Records++
			t.Bytes += recordBytes(r)
			next[r.Partition] = max(next[r.Partition], r.Offset+1)
		})
		cl.AllowRebalance()
	}
	t.Elapsed = time.Since(start)
	t.Mem = s.stop()
	t.FeeRows = feeRows
	return t, nil
}

// sinks are the engines behind the pipeline: the embedded S3 lake and the
// DuckDB warehouse, in dir.
type sinks struct {
	s3   *objstore.Embedded
	lake *objstore.Store
	wh   *warehouse.Store
	dir  string
	// lakeOnly is another bucket of the same S3 server, for the run
	// without the warehouse.
	lakeOnly *objstore.Store
}

func openSinks(ctx context.Context, dir string) (*sinks, error) {
	s := &sinks{dir: dir}
	var err error
	if s.s3, err = objstore.StartEmbedded(filepath.Join(dir, "lake"), "127.0.0.1:0"); err != nil {
		return nil, err
	}
	if s.lake, err = objstore.New(objstore.Config{Endpoint: s.s3.URL(), Bucket: "ofp-bench", AccessKey: "ofp", SecretKey: "ofp-embedded"}); err != nil {
		s.close()
		return nil, err
	}
	if s.lakeOnly, err = objstore.New(objstore.Config{Endpoint: s.s3.URL(), Bucket: "ofp-bench-lake-only", AccessKey: "ofp", SecretKey: "ofp-embedded"}); err != nil {
		s.close()
		return nil, err
	}
	for _, l := range []*objstore.Store{s.lake, s.lakeOnly} {
		if err := l.EnsureBucket(ctx); err != nil {
			s.close()
			return nil, err
		}
	}
	wo := warehouse.DefaultOptions()
	// No background refresh of the comparison tables: it would start
	// RefreshDelay after the pipeline's last load, in the middle of the
	// run without the warehouse. The benchmark refreshes on its own and
	// times it (benchQueries).
	wo.RefreshDelay = 0
	if os.Getenv("OFPBENCH_DEBUG") != "" {
		wo.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if s.wh, err = warehouse.Open(filepath.Join(dir, "warehouse.duckdb"), wo); err != nil {
		s.close()
		return nil, fmt.Errorf("open the benchmark warehouse: %w", err)
	}
	return s, nil
}

func (s *sinks) close() {
	if s.wh != nil {
		_ = s.wh.Close()
	}
	if s.s3 != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = s.s3.Close(ctx)
	}
}

// discardLoader stands in for the warehouse in the run without it: the
// batch's files were written and uploaded to the lake; it drops them.
type discardLoader struct{}

func (discardLoader) LoadBatch(context.Context, pipelines.Range, map[string]string) (int64, error) {
	return 0, nil
}

// runPipeline runs the real Runner over the topic with another group until
// it has committed every acked offset and the warehouse has checkpointed.
// cpuProfile, if set, receives a CPU profile of this phase only. With
// lakeOnly, the Runner has no warehouse (discardLoader, another group and
// bucket): it stops at the lake, which says how much of the gap to the
// baseline the warehouse makes.
func runPipeline(ctx context.Context, brokers []string, v *oas.Validator, sk *sinks, acked bus.Acked, bytes int64,
	cpuProfile, memProfile, traceFile string, logw io.Writer, lakeOnly bool, round int) (throughput, pipelines.Stats, error) {
	var t throughput
	debug := os.Getenv("OFPBENCH_DEBUG") != ""
	level := slog.LevelWarn
	if debug {
		level = slog.LevelDebug // the Runner's batches: cut, staged, loaded
	}
	log := slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: level}))
	group, lake, loader := roundGroup("ofpbench-pipeline", round), sk.lake, pipelines.Loader(whload.Loader{Store: sk.wh})
	if lakeOnly {
		group, lake, loader = roundGroup("ofpbench-lake-only", round), sk.lakeOnly, discardLoader{}
	}
	cl, err := bus.NewClient(bus.Config{Brokers: brokers, ClientID: group},
		pipelines.ClientOpts(group, events.TopicOpenDataRaw)...)
	if err != nil {
		return t, pipelines.Stats{}, err
	}
	defer cl.Close()
	// Wired as cmd/ofp/platform.go wires it.
	memo := odpipe.NewMemo(odpipe.DefaultMemoBytes)
	r, err := pipelines.NewRunner(pipelines.Config{
		Client: cl,
		Topic:  events.TopicOpenDataRaw,
		NewTransformer: func() pipelines.Transformer {
			return odpipe.NewTransformer(v, memory.NewGoAllocator(), log).WithMemo(memo)
		},
		Write:   odpipe.WriteParquet,
		Lake:    lake,
		Loader:  loader,
		TempDir: filepath.Join(sk.dir, "stage"),
		Log:     log,
	})
	if err != nil {
		return t, pipelines.Stats{}, err
	}

	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			return t, pipelines.Stats{}, fmt.Errorf("create the CPU profile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return t, pipelines.Stats{}, fmt.Errorf("start the CPU profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}

	if traceFile != "" {
		f, err := os.Create(traceFile)
		if err != nil {
			return t, pipelines.Stats{}, fmt.Errorf("create the execution trace: %w", err)
		}
		defer f.Close()
		if err := trace.Start(f); err != nil {
			return t, pipelines.Stats{}, fmt.Errorf("start the execution trace: %w", err)
		}
		defer trace.Stop()
	}
	var before warehouse.LoadSteps
	if !lakeOnly {
		before = sk.wh.Stats().LoadSteps
	}
	s := startSampler(sampleEvery)
	runCtx, stopRun := context.WithCancel(ctx)
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- r.Run(runCtx) }()
	if debug {
		go logCores(runCtx, logw, start)
	}

	wctx, cancel := context.WithTimeout(ctx, 60*time.Minute)
	defer cancel()
	werr := make(chan error, 1)
	go func() { werr <- r.WaitCommitted(wctx, acked) }()
	select {
	case err = <-werr:
		t.Committed = time.Since(start)
		if err == nil && !lakeOnly {
			// Count the warehouse's deferred write too: fold its
			// write-ahead log into the database file. (The comparison
			// tables' refresh is measured on its own, after.)
			var walBytes int64 // none when the loads went straight to the file
			if fi, err := os.Stat(filepath.Join(sk.dir, "warehouse.duckdb.wal")); err == nil {
				walBytes = fi.Size()
			}
			ck := time.Now()
			err = sk.wh.Checkpoint(ctx)
			log.Debug("warehouse checkpoint", "wal_bytes", walBytes, "took", time.Since(ck))
		}
	case err = <-done: // Run ended before everything was committed
		if err == nil {
			err = errors.New("the pipeline stopped before committing the topic")
		}
		err = fmt.Errorf("pipeline: %w", err)
	}
	t.Elapsed = time.Since(start)
	t.Mem = s.stop()
	stopRun()
	if memProfile != "" {
		if perr := writeHeapProfile(memProfile); perr != nil && err == nil {
			err = perr
		}
	}
	if err != nil {
		return t, r.Stats(), err
	}
	if rerr := <-done; rerr != nil {
		return t, r.Stats(), fmt.Errorf("pipeline stopped with an error: %w", rerr)
	}
	st := r.Stats()
	t.MemoHits, t.MemoMisses = memo.Stats()
	if !lakeOnly {
		t.LoadSteps = sk.wh.Stats().LoadSteps.Sub(before)
	}
	if lakeOnly {
		t.Records, t.Bytes = st.Records, bytes
		return t, st, nil
	}
	counts, err := sk.wh.Counts(ctx)
	if err != nil {
		return t, st, err
	}
	t.Records, t.Bytes, t.FeeRows = st.Records, bytes, counts[odpipe.DatasetFees]
	return t, st, nil
}

// writeHeapProfile writes the heap profile (alloc_space shows where the
// phase allocated; inuse_space what is live at its end).
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("create the heap profile: %w", err)
	}
	defer f.Close()
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		return fmt.Errorf("write the heap profile: %w", err)
	}
	return nil
}

// recordBytes is the size of a record's key, value and headers.
func recordBytes(r *kgo.Record) int64 {
	n := int64(len(r.Key) + len(r.Value))
	for _, h := range r.Headers {
		n += int64(len(h.Key) + len(h.Value))
	}
	return n
}

// roundGroup is the consumer group of a phase in a round: each round
// reads the whole topic again.
func roundGroup(name string, round int) string {
	if round <= 1 {
		return name
	}
	return fmt.Sprintf("%s-%d", name, round)
}

// logCores writes, every 100 ms until ctx ends, how many cores the process
// used in the last 100 ms (OFPBENCH_DEBUG): where a phase leaves a core
// idle.
func logCores(ctx context.Context, w io.Writer, start time.Time) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	prev, at := cpuTime(), time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			c := cpuTime()
			fmt.Fprintf(w, "cores at %5.0f ms: %.2f\n", float64(now.Sub(start))/1e6, float64(c-prev)/float64(now.Sub(at)))
			prev, at = c, now
		}
	}
}
