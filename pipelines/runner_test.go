package pipelines_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/ofp-dev/ofp/internal/bus"
	"github.com/ofp-dev/ofp/internal/bus/bustest"
	"github.com/ofp-dev/ofp/internal/events"
	"github.com/ofp-dev/ofp/internal/oas"
	"github.com/ofp-dev/ofp/internal/objstore"
	"github.com/ofp-dev/ofp/internal/objstore/objstoretest"
	"github.com/ofp-dev/ofp/pipelines"
	odpipe "github.com/ofp-dev/ofp/pipelines/opendata"
	"github.com/ofp-dev/ofp/pipelines/whload"
	"github.com/ofp-dev/ofp/warehouse"
)

// singleLoader hides a loader's LoadBatches: the runner then loads one
// partition's batch at a time.
type singleLoader struct{ pipelines.Loader }

// flakyLake fails the first n puts, like an S3 outage.
type flakyLake struct {
	pipelines.Lake
	failures atomic.Int32
}

func (f *flakyLake) Put(ctx context.Context, key string, b []byte, ct string) error {
	if f.failures.Add(-1) >= 0 {
		return errors.New("503 Slow Down")
	}
	return f.Lake.Put(ctx, key, b, ct)
}

// testPages builds page events from the example payloads, some of them
// broken, across several institutions.
func testPages(t *testing.T) []events.Envelope {
	t.Helper()
	var out []events.Envelope
	files, err := filepath.Glob("opendata/testdata/opendata-*.json")
	require.NoError(t, err)
	ps, err := filepath.Glob("opendata/testdata/ps-*.json")
	require.NoError(t, err)
	files = append(files, ps...)
	require.NotEmpty(t, files)
	at := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for inst := 0; inst < 8; inst++ {
		for i, f := range files {
			body, err := os.ReadFile(f)
			require.NoError(t, err)
			base := filepath.Base(f)
			family, product := "opendata-accounts", base[len("opendata-"):len(base)-5]
			if base[:3] == "ps-" {
				family, product = "products-services", base[3:len(base)-5]
			}
			version := "1.0.1"
			if family == "products-services" {
				version = "1"
			}
			if i == inst%len(files) {
				body = body[:len(body)/2] // a truncated page must not stop the rest
			}
			org := fmt.Sprintf("org-%d", inst)
			p := events.OpenDataPage{CollectionID: "c1", Institution: events.Institution{OrganisationID: org, OrganisationName: "Org " + org, CNPJ: fmt.Sprintf("%014d", inst), Brand: "Brand " + org},
				Family: family, APIVersion: version, Product: product, URL: "https://x/" + product, Page: 1, StatusCode: 200, FetchedAt: at, Body: string(body)}
			id := fmt.Sprintf("c1/%s/%s", org, product)
			env, err := events.NewPage(id, "test", org, p) // CloudEvents binary mode, as ingest produces
			if inst%2 == 1 {
				env, err = events.New(id, events.TypeOpenDataPage, "test", org, at, p) // a JSON envelope, as earlier versions did
			}
			require.NoError(t, err)
			out = append(out, env)
		}
	}
	return out
}

func TestRunnerSinksExactlyOnceOnRealS3Servers(t *testing.T) {
	validator, err := oas.New()
	require.NoError(t, err)
	envs := testPages(t)
	for i, srv := range objstoretest.All(t) {
		// Both loaders, and batches cut after every poll or gathered.
		batched, flushBytes := i%2 == 0, int64(1)
		if batched {
			flushBytes = 0
		}
		t.Run(srv.Name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			kafka, prod := bustest.Start(t)
			require.NoError(t, bus.EnsureTopics(ctx, prod, 3, events.TopicOpenDataRaw))
			acked, err := bus.NewPublisher(prod).Publish(ctx, events.TopicOpenDataRaw, envs...)
			require.NoError(t, err)

			lake, err := objstore.New(srv.Config)
			require.NoError(t, err)
			require.NoError(t, lake.EnsureBucket(ctx))
			wh, err := warehouse.Open(filepath.Join(t.TempDir(), "wh.duckdb"), warehouse.DefaultOptions())
			require.NoError(t, err)
			defer wh.Close()

			cons, err := bus.NewClient(bus.Config{Brokers: kafka.Brokers()}, pipelines.ClientOpts("g", events.TopicOpenDataRaw)...)
			require.NoError(t, err)
			defer cons.Close()
			flaky := &flakyLake{Lake: lake}
			flaky.failures.Store(3)
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			var ld pipelines.Loader = singleLoader{whload.Loader{Store: wh}}
			if batched {
				ld = whload.Loader{Store: wh}
			}
			r, err := pipelines.NewRunner(pipelines.Config{
				Client: cons, Topic: events.TopicOpenDataRaw,
				NewTransformer: func() pipelines.Transformer { return odpipe.NewTransformer(validator, memory.NewGoAllocator(), log) },
				Write:          odpipe.WriteParquet, Lake: flaky, Loader: ld, TempDir: t.TempDir(), Log: log,
				Sleep:          func(context.Context, time.Duration) error { return nil },
				MaxPollRecords: 7, FlushBytes: flushBytes,
			})
			require.NoError(t, err)
			runCtx, stop := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- r.Run(runCtx) }()
			require.NoError(t, r.WaitCommitted(ctx, acked))
			stop()
			require.NoError(t, <-done)
			require.GreaterOrEqual(t, r.Stats().Retries, int64(1), "the S3 outage was retried")

			// Reference: the same records through one transformer in order.
			ref := odpipe.NewTransformer(validator, memory.NewGoAllocator(), log)
			want := map[string]int64{}
			consumeAll(t, ctx, kafka.Brokers(), func(rec *kgo.Record) { ref.AddRecord(rec) })
			want = refCounts(ref)
			got, err := wh.Counts(ctx)
			require.NoError(t, err)
			for ds, n := range want {
				require.Equal(t, n, got[ds], ds)
			}
			require.Positive(t, want[odpipe.DatasetFees])
			require.Positive(t, want[odpipe.DatasetQuarantine], "the truncated pages are quarantined, not dropped")

			// Every lake object is named after its offsets; a rebuild from the
			// lake alone gives the same counts, and a second rebuild over the
			// same warehouse changes nothing.
			objs, err := lake.List(ctx, odpipe.DatasetFeeItems+"/")
			require.NoError(t, err)
			require.NotEmpty(t, objs)
			for _, o := range objs {
				ds, _, err := pipelines.ParseObjectKey(o.Key)
				require.NoError(t, err)
				require.Equal(t, odpipe.DatasetFeeItems, ds)
			}
			fresh, err := warehouse.Open(filepath.Join(t.TempDir(), "rebuilt.duckdb"), warehouse.DefaultOptions())
			require.NoError(t, err)
			defer fresh.Close()
			for i := 0; i < 2; i++ {
				_, err = pipelines.Rebuild(ctx, lake, whload.Loader{Store: fresh}, odpipe.Datasets, t.TempDir(), nil)
				require.NoError(t, err)
				again, err := fresh.Counts(ctx)
				require.NoError(t, err)
				for ds, n := range want {
					require.Equal(t, n, again[ds], "rebuild %d: %s", i+1, ds)
				}
			}

			// The rebuild loads many ranges per transaction; one range per
			// transaction (a Loader without LoadBatches) gives the same
			// comparison.
			grouped, err := warehouse.Open(filepath.Join(t.TempDir(), "grouped.duckdb"), warehouse.DefaultOptions())
			require.NoError(t, err)
			defer grouped.Close()
			calls := &countingLoader{Loader: whload.Loader{Store: grouped}}
			st, err := pipelines.Rebuild(ctx, lake, calls, odpipe.Datasets, t.TempDir(), nil)
			require.NoError(t, err)
			ranges := countRanges(t, ctx, lake)
			require.Greater(t, ranges, 1)
			require.Less(t, calls.batches, ranges, "several ranges per load")
			require.Equal(t, ranges, calls.ranges)
			single, err := warehouse.Open(filepath.Join(t.TempDir(), "single.duckdb"), warehouse.DefaultOptions())
			require.NoError(t, err)
			defer single.Close()
			st1, err := pipelines.Rebuild(ctx, lake, struct{ pipelines.Loader }{whload.Loader{Store: single}}, odpipe.Datasets, t.TempDir(), nil)
			require.NoError(t, err)
			require.Equal(t, st1, st)
			for _, s := range []*warehouse.Store{grouped, single} {
				n, err := s.Counts(ctx)
				require.NoError(t, err)
				for ds, c := range want {
					require.Equal(t, c, n[ds], ds)
				}
			}
			feesGrouped, err := grouped.Fees(ctx, warehouse.FeeFilter{})
			require.NoError(t, err)
			feesSingle, err := single.Fees(ctx, warehouse.FeeFilter{})
			require.NoError(t, err)
			require.NotEmpty(t, feesSingle)
			require.Equal(t, feesSingle, feesGrouped)
		})
	}
}

// refCounts flushes ref, which transformed every record of the topic in
// one batch, and returns its rows per dataset, with those of the warehouse
// views opendata_fees, opendata_rates, opendata_findings and
// opendata_quarantine (every page times its content's items; ref wrote
// each content's items once; plus, for quarantine, the rows of records
// that are no page).
func refCounts(ref *odpipe.Transformer) map[string]int64 {
	recs := ref.Flush()
	defer func() {
		for _, b := range recs {
			b.Release()
		}
	}()
	out := map[string]int64{}
	for ds, b := range recs {
		out[ds] = b.NumRows()
	}
	out[odpipe.DatasetFees] = odpipe.ViewRows(recs[odpipe.DatasetPages], recs[odpipe.DatasetFeeItems])
	out[odpipe.DatasetRates] = odpipe.ViewRows(recs[odpipe.DatasetPages], recs[odpipe.DatasetRateItems])
	out[odpipe.DatasetFindings] = odpipe.ViewRows(recs[odpipe.DatasetPages], recs[odpipe.DatasetFindingItems])
	out[odpipe.DatasetQuarantine] = odpipe.ViewRows(recs[odpipe.DatasetPages], recs[odpipe.DatasetQuarantineItems]) +
		out[odpipe.DatasetQuarantineRows]
	return out
}

func consumeAll(t *testing.T, ctx context.Context, brokers []string, fn func(*kgo.Record)) {
	t.Helper()
	cl, err := bus.NewClient(bus.Config{Brokers: brokers}, kgo.ConsumeTopics(events.TopicOpenDataRaw), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	require.NoError(t, err)
	defer cl.Close()
	ends := map[int32]int64{}
	for {
		f := cl.PollFetches(ctx)
		require.NoError(t, ctx.Err())
		f.EachRecord(func(r *kgo.Record) {
			fn(r)
			ends[r.Partition] = r.Offset
		})
		// The topic is static here: stop when a poll returns nothing new.
		if f.NumRecords() == 0 || len(ends) == 3 && allAtEnd(t, ctx, cl, ends) {
			return
		}
	}
}

func allAtEnd(t *testing.T, ctx context.Context, cl *kgo.Client, ends map[int32]int64) bool {
	t.Helper()
	hw := highWatermarks(t, ctx, cl)
	for p, end := range hw {
		if end > 0 && ends[p] < end-1 {
			return false
		}
	}
	return true
}

// sinkEnv is what a runner test sinks through: an embedded Kafka with the
// raw topic (3 partitions) and a producer, an embedded S3 lake and a
// warehouse; closed when the test ends.
type sinkEnv struct {
	t         *testing.T
	validator *oas.Validator
	kafka     *bus.Embedded
	prod      *kgo.Client
	lake      *objstore.Store
	wh        *warehouse.Store
	log       *slog.Logger
}

func newSinkEnv(t *testing.T, ctx context.Context) *sinkEnv {
	t.Helper()
	e := &sinkEnv{t: t, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	var err error
	e.validator, err = oas.New()
	require.NoError(t, err)
	e.kafka, e.prod = bustest.Start(t)
	require.NoError(t, bus.EnsureTopics(ctx, e.prod, 3, events.TopicOpenDataRaw))
	srv := objstoretest.Embedded(t)
	e.lake, err = objstore.New(srv.Config)
	require.NoError(t, err)
	require.NoError(t, e.lake.EnsureBucket(ctx))
	e.wh, err = warehouse.Open(filepath.Join(t.TempDir(), "wh.duckdb"), warehouse.DefaultOptions())
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.wh.Close() })
	return e
}

// start runs a runner of the raw topic in group over the env's sinks,
// with tune's changes to the config (flush limits, loader...). stop ends
// it and checks that it stopped cleanly; it may be called again.
func (e *sinkEnv) start(ctx context.Context, group string, tune func(*pipelines.Config)) (r *pipelines.Runner, cons *kgo.Client, stop func()) {
	e.t.Helper()
	cons = e.consumer(group)
	cfg := pipelines.Config{
		Client: cons, Topic: events.TopicOpenDataRaw,
		NewTransformer: func() pipelines.Transformer {
			return odpipe.NewTransformer(e.validator, memory.NewGoAllocator(), e.log)
		},
		Write: odpipe.WriteParquet, Lake: e.lake, Loader: whload.Loader{Store: e.wh}, TempDir: e.t.TempDir(), Log: e.log,
	}
	tune(&cfg)
	r, err := pipelines.NewRunner(cfg)
	require.NoError(e.t, err)
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- r.Run(runCtx) }()
	var once sync.Once
	return r, cons, func() {
		once.Do(func() {
			cancel()
			require.NoError(e.t, <-done, "runner of %s", group)
		})
	}
}

// consumer is a pipeline consumer of the raw topic in group, closed when
// the test ends.
func (e *sinkEnv) consumer(group string) *kgo.Client {
	cons, err := bus.NewClient(bus.Config{Brokers: e.kafka.Brokers()}, pipelines.ClientOpts(group, events.TopicOpenDataRaw)...)
	require.NoError(e.t, err)
	e.t.Cleanup(cons.Close)
	return cons
}

// TestGracefulStopSinksTheGatheredBatch: a runner that is still gathering
// (nothing reached its flush limits) sinks and commits on a graceful stop,
// instead of leaving the batch to be consumed again.
func TestGracefulStopSinksTheGatheredBatch(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	e := newSinkEnv(t, ctx)
	acked, err := bus.NewPublisher(e.prod).Publish(ctx, events.TopicOpenDataRaw, testPages(t)...)
	require.NoError(t, err)
	r, _, stop := e.start(ctx, "g", func(c *pipelines.Config) {
		// Nothing makes it sink on its own within the test.
		c.FlushBytes, c.FlushInterval, c.IdleWait = 1<<40, time.Hour, time.Hour
	})
	require.Eventually(t, func() bool { return r.Stats().Busy }, 20*time.Second, 10*time.Millisecond, "the runner gathers")
	time.Sleep(500 * time.Millisecond) // let it gather every poll
	require.Zero(t, r.Stats().Objects, "nothing is sunk before the stop")
	stop()
	wctx, wcancel := context.WithTimeout(ctx, time.Second)
	defer wcancel()
	require.NoError(t, r.WaitCommitted(wctx, acked), "the stop committed the gathered batch")
	require.Positive(t, r.Stats().Objects)
	got, err := e.wh.Counts(ctx)
	require.NoError(t, err)
	require.Positive(t, got[odpipe.DatasetFees])
}

// orderLoader records which offsets the warehouse holds and, at every load,
// checks that the group never committed past them: a batch loaded in the
// background must not let its offsets (or a later batch's) be committed
// before every earlier batch is loaded too.
type orderLoader struct {
	whload.Loader
	admin  *kadm.Client
	mu     sync.Mutex
	loaded map[int32][][2]int64
	loads  atomic.Int32
	bad    atomic.Value
}

func (l *orderLoader) LoadBatches(ctx context.Context, batches []pipelines.Batch) (int64, error) {
	l.check(ctx)
	time.Sleep(30 * time.Millisecond) // a slow warehouse: the next batch is staged meanwhile
	n, err := l.Loader.LoadBatches(ctx, batches)
	if err == nil {
		l.mu.Lock()
		for _, b := range batches {
			l.loaded[b.Range.Partition] = append(l.loaded[b.Range.Partition], [2]int64{b.Range.First, b.Range.Last})
		}
		l.mu.Unlock()
		l.loads.Add(1)
	}
	return n, err
}

func (l *orderLoader) LoadBatch(ctx context.Context, r pipelines.Range, files map[string]string) (int64, error) {
	return l.LoadBatches(ctx, []pipelines.Batch{{Range: r, Files: files}})
}

// check: every offset below the committed one of each partition is loaded.
func (l *orderLoader) check(ctx context.Context) {
	offs, err := l.admin.FetchOffsets(ctx, "g-order")
	if err != nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	offs.Each(func(o kadm.OffsetResponse) {
		covered := int64(0)
		ranges := slices.Clone(l.loaded[o.Partition])
		slices.SortFunc(ranges, func(a, b [2]int64) int { return int(a[0] - b[0]) })
		for _, rg := range ranges {
			if rg[0] <= covered {
				covered = max(covered, rg[1]+1)
			}
		}
		if o.At > covered {
			l.bad.Store(fmt.Sprintf("partition %d committed at %d, loaded below %d only", o.Partition, o.At, covered))
		}
	})
}

// TestBackgroundSinksCommitInOrder: with batches cut after every poll and a
// slow warehouse, several batches are in flight at once, and the committed
// offsets never pass what the warehouse holds; every record ends up loaded
// exactly once.
func TestBackgroundSinksCommitInOrder(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	e := newSinkEnv(t, ctx)
	acked, err := bus.NewPublisher(e.prod).Publish(ctx, events.TopicOpenDataRaw, testPages(t)...)
	require.NoError(t, err)
	ld := &orderLoader{Loader: whload.Loader{Store: e.wh}, admin: kadm.NewClient(e.prod), loaded: map[int32][][2]int64{}}
	began := time.Now()
	r, _, stop := e.start(ctx, "g-order", func(c *pipelines.Config) {
		c.Loader, c.MaxPollRecords, c.FlushBytes = ld, 3, 1
	})
	require.NoError(t, r.WaitCommitted(ctx, acked))
	stop()
	ld.check(ctx)
	require.Nil(t, ld.bad.Load())
	require.Greater(t, ld.loads.Load(), int32(5), "many small batches")
	st := r.Stats()
	require.Positive(t, st.Transform)
	require.Positive(t, st.Lake)
	require.GreaterOrEqual(t, st.Warehouse, time.Duration(ld.loads.Load())*30*time.Millisecond,
		"Warehouse counts every load's time (each sleeps 30 ms)")
	require.Less(t, st.Warehouse, time.Since(began), "loads run one at a time: their time never exceeds the run's")

	ref := odpipe.NewTransformer(e.validator, memory.NewGoAllocator(), e.log)
	consumeAll(t, ctx, e.kafka.Brokers(), func(rec *kgo.Record) { ref.AddRecord(rec) })
	want := refCounts(ref)
	got, err := e.wh.Counts(ctx)
	require.NoError(t, err)
	for ds, n := range want {
		require.Equal(t, n, got[ds], ds)
	}
}

// failingLoader refuses every load, like a warehouse that is down.
type failingLoader struct{ attempts atomic.Int32 }

func (f *failingLoader) LoadBatch(context.Context, pipelines.Range, map[string]string) (int64, error) {
	f.attempts.Add(1)
	return 0, errors.New("warehouse down")
}

// TestAbandonedBatchesWriteTheirItemsAgain: a runner whose loads never
// succeed is stopped, and another, in the same process and with the same
// Memo, consumes the topic again. The Memo knew the contents from the
// first runner's batches, which were never loaded: the second runner must
// write their items again rather than replay pages whose fees exist
// nowhere.
func TestAbandonedBatchesWriteTheirItemsAgain(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	e := newSinkEnv(t, ctx)
	validator, kafka, lake, wh, log := e.validator, e.kafka, e.lake, e.wh, e.log
	pub := bus.NewPublisher(e.prod)
	acked := bus.Acked{}
	for range 2 { // the same contents twice: the second time is replayed
		a, err := pub.Publish(ctx, events.TopicOpenDataRaw, testPages(t)...)
		require.NoError(t, err)
		acked.Merge(a)
	}
	memo := odpipe.NewMemo(odpipe.DefaultMemoBytes)
	run := func(ld pipelines.Loader) (*pipelines.Runner, func(), chan error) {
		cons, err := bus.NewClient(bus.Config{Brokers: kafka.Brokers()}, pipelines.ClientOpts("g", events.TopicOpenDataRaw)...)
		require.NoError(t, err) // closed by stop
		r, err := pipelines.NewRunner(pipelines.Config{
			Client: cons, Topic: events.TopicOpenDataRaw,
			NewTransformer: func() pipelines.Transformer {
				return odpipe.NewTransformer(validator, memory.NewGoAllocator(), log).WithMemo(memo)
			},
			Write: odpipe.WriteParquet, Lake: lake, Loader: ld, TempDir: t.TempDir(), Log: log,
			RetryBackoff: 10 * time.Millisecond, StopFlushTimeout: 200 * time.Millisecond,
		})
		require.NoError(t, err)
		runCtx, cancelRun := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- r.Run(runCtx) }()
		stop := func() { // and leave the group, so that the next runner gets the partitions at once
			cancelRun()
			require.NoError(t, <-done)
			cons.Close()
		}
		return r, stop, done
	}

	down := &failingLoader{}
	_, stop, _ := run(down)
	require.Eventually(t, func() bool {
		hits, _ := memo.Stats()
		return down.attempts.Load() >= 3 && hits > 0
	}, 30*time.Second, 10*time.Millisecond, "the first runner transformed both copies and tried to load")
	stop()
	got, err := wh.Counts(ctx)
	require.NoError(t, err)
	require.Zero(t, got[odpipe.DatasetPages], "nothing was loaded")

	r, stop, _ := run(whload.Loader{Store: wh})
	require.NoError(t, r.WaitCommitted(ctx, acked))
	stop()

	ref := odpipe.NewTransformer(validator, memory.NewGoAllocator(), log)
	consumeAll(t, ctx, kafka.Brokers(), func(rec *kgo.Record) { ref.AddRecord(rec) })
	want := refCounts(ref)
	got, err = wh.Counts(ctx)
	require.NoError(t, err)
	require.Positive(t, want[odpipe.DatasetFees])
	for _, ds := range []string{odpipe.DatasetFees, odpipe.DatasetRates, odpipe.DatasetFeeItems, odpipe.DatasetRateItems, odpipe.DatasetPages} {
		require.Equal(t, want[ds], got[ds], ds)
	}
}

// countingLoader is the warehouse's loader that counts its LoadBatches
// calls and the ranges they load.
type countingLoader struct {
	whload.Loader
	batches, ranges int
}

func (l *countingLoader) LoadBatches(ctx context.Context, b []pipelines.Batch) (int64, error) {
	l.batches++
	l.ranges += len(b)
	return l.Loader.LoadBatches(ctx, b)
}

// countRanges counts the distinct source ranges of the open-data objects in the lake.
func countRanges(t *testing.T, ctx context.Context, lake *objstore.Store) int {
	t.Helper()
	seen := map[pipelines.Range]bool{}
	for _, ds := range odpipe.Datasets {
		objs, err := lake.List(ctx, ds+"/")
		require.NoError(t, err)
		for _, o := range objs {
			_, rg, err := pipelines.ParseObjectKey(o.Key)
			require.NoError(t, err)
			seen[rg] = true
		}
	}
	return len(seen)
}
