package pipelines

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Transformer turns Kafka records into one Arrow record per dataset
// (pipelines/opendata.Transformer). AddRecord never fails: bad content
// becomes rows of a quarantine dataset.
type Transformer interface {
	AddRecord(rec *kgo.Record)
	Flush() map[string]arrow.RecordBatch
}

// AckTransformer is a Transformer that wants to know what became of a
// batch it flushed: the Runner calls ack(true) after the batch's load
// succeeded (before the offsets are committed), ack(false) when the batch
// failed or was abandoned (its records are consumed again).
// pipelines/opendata.Transformer uses it to write the items of a content
// once, and again when the batch holding them was not loaded.
type AckTransformer interface {
	Transformer
	FlushAck() (batch map[string]arrow.RecordBatch, ack func(loaded bool))
}

// Lake stores objects (objstore.Store).
type Lake interface {
	Put(ctx context.Context, key string, data []byte, contentType string) error
}

// Loader loads the local Parquet files of one source range (one per
// dataset) into the warehouse in one transaction, replacing rows of the
// same range (warehouse.Store.LoadBatch through an adapter in cmd/ofp).
type Loader interface {
	LoadBatch(ctx context.Context, r Range, files map[string]string) (rows int64, err error)
}

// Batch is the local Parquet files (dataset -> path) of one source range.
type Batch struct {
	Range Range
	Files map[string]string
}

// BatchesLoader is a Loader that also loads the batches of several source
// ranges in one transaction (warehouse.Store.LoadBatches through an
// adapter). When the Loader has it, the Runner loads all partitions of a
// batch with one call: one warehouse commit and one refresh of the derived
// tables instead of one per partition.
type BatchesLoader interface {
	LoadBatches(ctx context.Context, batches []Batch) (rows int64, err error)
}

// ParquetWriter encodes one Arrow record as a Parquet file.
type ParquetWriter func(w io.Writer, rec arrow.RecordBatch) error

// Config wires a Runner.
type Config struct {
	Client *kgo.Client // consuming the topic in a group, with auto-commit disabled and BlockRebalanceOnPoll
	Topic  string
	// NewTransformer makes the transformer of one partition; partitions of
	// a poll are transformed in parallel, each by its own.
	NewTransformer func() Transformer
	// Workers bounds how many partitions are sunk at once; 0 means GOMAXPROCS.
	Workers int
	Write   ParquetWriter
	Lake    Lake
	Loader  Loader
	TempDir string // where Parquet files wait to be loaded
	Log     *slog.Logger
	// MaxPollRecords bounds one poll; 0 means 500.
	MaxPollRecords int
	// A batch gathers the records of several polls, so that the warehouse
	// loads few large batches: it is sunk (Parquet, lake, warehouse, then
	// the offsets are committed) once the consumed record values reach
	// FlushBytes (0 means 256 MiB), once FlushInterval has passed since its
	// first record (0 means 5 s), as soon as no poll brings anything for
	// IdleWait (0 means 100 ms), or at once when it holds FlushBytes/16
	// and has reached the high watermark of each of its partitions (the
	// topic's end when they were fetched: waiting could only delay the
	// batch, as at the end of a collection). One batch is sunk in the background while
	// the next is gathered. Rebalances wait while anything consumed is not
	// committed: under continuous input, at most about 2 × FlushInterval.
	FlushBytes    int64
	FlushInterval time.Duration
	IdleWait      time.Duration
	// PrefetchBytes bounds the record values polled ahead of the batch
	// being gathered (0 means 64 MiB): Kafka fetches and decompresses the
	// next records while these are transformed.
	PrefetchBytes int64
	// StopFlushTimeout bounds how long a graceful stop spends sinking and
	// committing the batch in flight and the gathered one (0 means 5 s).
	StopFlushTimeout time.Duration
	// RetryBackoff is the first wait after a failed sink; it doubles up to 30 s.
	RetryBackoff time.Duration
	// Sleep waits between sink retries (tests make it instant).
	Sleep func(ctx context.Context, d time.Duration) error
}

// Runner is a consumer that sinks to the lake and the warehouse.
type Runner struct {
	cfg Config

	tmu          sync.Mutex
	transformers map[int32]Transformer // one per partition, reused

	// loadMu runs the loads of the batches in flight one at a time (the
	// warehouse serialises them anyway), so that Stats.Warehouse is the
	// time the warehouse was busy with them, not time spent waiting.
	loadMu sync.Mutex

	mu        sync.Mutex
	changed   chan struct{} // closed and replaced whenever committed moves
	committed map[int32]int64
	stats     Stats
}

// Stats counts what a runner has done since it started.
type Stats struct {
	Records int64
	Rows    int64
	Objects int64
	Retries int64
	// Busy is true while a polled batch is being sunk and not yet committed.
	Busy bool
	// Where the time went, per stage, summed over the goroutines doing it
	// (two partitions transformed at once for a second count two seconds):
	// Transform turns records into Arrow rows; Lake encodes Parquet,
	// uploads it to the lake and writes the local copy; Warehouse is the
	// loads, one at a time, retries included. A pipeline whose Warehouse
	// time approaches its elapsed time is bound by the warehouse.
	Transform, Lake, Warehouse time.Duration
}

// ClientOpts are the consumer options a Runner's client must have.
func ClientOpts(group, topic string) []kgo.Opt {
	return []kgo.Opt{
		kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(topic),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		// Fetch sizes count compressed bytes: raw pages compress about
		// 6:1, so a fetch brings about 25 MB of records. Small fetches
		// keep the flow to the transformers even (the poller fetches the
		// next while they work: measured with ofpbench, 4 MiB fetches
		// beat 32 MiB ones, which stalled the pipeline for a whole
		// fetch's decompression at a time) and cut the peak memory.
		kgo.FetchMaxBytes(4 << 20),
		kgo.FetchMaxPartitionBytes(1 << 20),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		// A pipeline killed without leaving the group holds its
		// partitions until the session times out: keep that short.
		kgo.SessionTimeout(10 * time.Second),
		kgo.HeartbeatInterval(2 * time.Second),
	}
}

// NewRunner checks cfg and returns a runner.
func NewRunner(cfg Config) (*Runner, error) {
	switch {
	case cfg.Client == nil, cfg.NewTransformer == nil, cfg.Write == nil, cfg.Lake == nil, cfg.Loader == nil, cfg.Topic == "":
		return nil, errors.New("pipelines: runner needs a client, topic, transformer, parquet writer, lake and loader")
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	if cfg.MaxPollRecords <= 0 {
		cfg.MaxPollRecords = 500
	}
	if cfg.FlushBytes <= 0 {
		// Measured with ofpbench on 1M fee rows (2 cores): the warehouse
		// is the bottleneck and its cost per batch falls with batch size
		// (32 MiB 30 s, 64 MiB 25 s, 256 MiB 16 s, 512 MiB 18 s) while
		// the peak RSS barely moves (2.6-2.9 GiB, mostly the embedded
		// Kafka and DuckDB).
		cfg.FlushBytes = 256 << 20
	}
	if cfg.StopFlushTimeout <= 0 {
		cfg.StopFlushTimeout = 5 * time.Second
	}
	if cfg.FlushInterval <= 0 {
		cfg.FlushInterval = 5 * time.Second
	}
	if cfg.PrefetchBytes <= 0 {
		cfg.PrefetchBytes = 64 << 20
	}
	if cfg.IdleWait <= 0 {
		cfg.IdleWait = 100 * time.Millisecond
	}
	if cfg.RetryBackoff <= 0 {
		cfg.RetryBackoff = 200 * time.Millisecond
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleepCtx
	}
	if cfg.TempDir == "" {
		cfg.TempDir = os.TempDir()
	}
	if err := os.MkdirAll(cfg.TempDir, 0o750); err != nil {
		return nil, fmt.Errorf("pipelines: temp dir: %w", err)
	}
	return &Runner{cfg: cfg, changed: make(chan struct{}), committed: map[int32]int64{}, transformers: map[int32]Transformer{}}, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Stats returns a snapshot of the counters.
func (r *Runner) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stats
}

// pending is what one partition has consumed since the last cut.
type pending struct {
	t           Transformer
	topic       string
	partition   int32
	first, last *kgo.Record // nil until a record was added
	records     int64
	hwm         int64 // the partition's high watermark at its last fetch
}

// atEnd reports whether every pending batch has reached its partition's
// high watermark: the end of what Kafka held when it was fetched.
func atEnd(pend map[int32]*pending) bool {
	for _, pe := range pend {
		if pe.last == nil || pe.hwm <= 0 || pe.last.Offset+1 < pe.hwm {
			return false
		}
	}
	return len(pend) > 0
}

func (pe *pending) rng() Range {
	return Range{Topic: pe.topic, Partition: pe.partition, First: pe.first.Offset, Last: pe.last.Offset}
}

// cut is one partition's share of a batch handed to the sink: its Arrow
// records and the offsets they came from.
type cut struct {
	rg      Range
	day     time.Time
	recs    map[string]arrow.RecordBatch
	ack     func(loaded bool) // the transformer's ack of the batch (flushAck)
	last    *kgo.Record
	records int64
}

// flight is a batch being sunk in the background.
type flight struct {
	seq  uint64 // the batch's last poll
	done chan struct{}
	last []*kgo.Record // to commit, once done without err
	err  error
}

func (f *flight) finished() bool {
	select {
	case <-f.done:
		return true
	default:
		return false
	}
}

// maxFlights is how many batches are sunk at once: one is staged
// (Parquet, lake) while the one before it is loaded into the warehouse.
const maxFlights = 2

// Run consumes until ctx is cancelled or the client is closed, and returns
// nil on a clean stop. A poller fetches ahead (PrefetchBytes); while
// batches are sunk in the background (one staged to Parquet and the lake
// while the one before it is loaded into the warehouse), the next one is
// gathered; offsets are committed batch by batch in consumption order,
// each once it and the ones before it are sunk. Rebalances wait while
// anything consumed is not committed, at most about twice FlushInterval
// under continuous input. Cancelling ctx gives the batches in flight and
// the gathered one StopFlushTimeout to be sunk and committed; what does
// not make it is consumed again after a restart.
func (r *Runner) Run(ctx context.Context) error {
	cl := r.cfg.Client
	sinkCtx, cancelSinks := context.WithCancel(context.Background())
	defer cancelSinks()
	pl := newPoller(cl, r.cfg.MaxPollRecords, r.cfg.PrefetchBytes)
	pollCtx, stopPolling := context.WithCancel(ctx)
	polling := make(chan struct{})
	go func() {
		defer close(polling)
		pl.run(pollCtx)
	}()
	// finish stops the poller; then no poll holds a rebalance any more.
	finish := func() {
		stopPolling()
		<-polling
		r.setBusy(false)
		cl.AllowRebalance()
	}
	var (
		pend     = map[int32]*pending{}
		bytes    int64
		seq      uint64    // the last poll added to pend
		since    time.Time // when the gathered batch got its first record
		lastPoll time.Time // when the last poll with records came
		blocked  time.Time // since when rebalances wait (zero: they do not)
		draining bool      // a drain was requested and its marker has not come
		flights  []*flight // oldest first
	)
	// settle waits for the oldest batch in flight and commits its offsets.
	// Its error is the sink's (sinks only stop when cancelled).
	settle := func(cctx context.Context) error {
		f := flights[0]
		flights = flights[1:]
		<-f.done
		if f.err != nil {
			return f.err
		}
		if err := cl.CommitRecords(cctx, f.last...); err != nil {
			// The sink is idempotent: after a crash the batch is simply redone.
			r.cfg.Log.Warn("commit failed; the next commit covers these offsets", "err", err)
		} else {
			r.markCommitted(f.last)
		}
		pl.settle(f.seq)
		return nil
	}
	settleAll := func(cctx context.Context) error {
		for len(flights) > 0 {
			if err := settle(cctx); err != nil {
				return err
			}
		}
		return nil
	}
	abandon := func() { // stops the sinks; their batches are consumed again
		cancelSinks()
		for _, f := range flights {
			<-f.done
		}
		flights = nil
		r.drop(pend)
	}
	launch := func() {
		r.cfg.Log.Debug("batch cut", "partitions", len(pend), "bytes", bytes, "gathered_in", time.Since(since), "in_flight", len(flights))
		flights = append(flights, r.launch(sinkCtx, r.cut(pend), seq))
		clear(pend)
		bytes, since = 0, time.Time{}
	}
	timer := time.NewTimer(time.Hour) // wakes the loop when the gathered batch is due
	timer.Stop()
	for {
		var wake <-chan time.Time
		if len(pend) > 0 {
			timer.Reset(max(0, min(time.Until(lastPoll.Add(r.cfg.IdleWait)), time.Until(since.Add(r.cfg.FlushInterval)))))
			wake = timer.C
		}
		var flightDone <-chan struct{}
		if len(flights) > 0 {
			flightDone = flights[0].done
		}
		var p poll
		polled, ended := false, false
		select {
		case p, polled = <-pl.out:
			ended = !polled
		case <-wake:
		case <-flightDone:
		case <-ctx.Done():
		}
		timer.Stop()
		if closed := p.closed || ended && ctx.Err() == nil; closed || ctx.Err() != nil {
			var err error
			if closed {
				err = errors.New("client closed") // nothing can be committed any more
			} else {
				timer := time.AfterFunc(r.cfg.StopFlushTimeout, cancelSinks)
				cctx, cancel := context.WithTimeout(context.Background(), r.cfg.StopFlushTimeout)
				if err = settleAll(cctx); err == nil && len(pend) > 0 {
					launch()
					err = settleAll(cctx)
				}
				cancel()
				timer.Stop()
			}
			if err != nil && (len(flights) > 0 || len(pend) > 0) {
				r.cfg.Log.Warn("stopping: what was consumed but not committed is consumed again after a restart", "err", err)
			}
			abandon()
			finish()
			return nil
		}
		marker := false
		if polled {
			pl.taken(p.bytes)
			marker = p.drained
			p.fetches.EachError(func(topic string, part int32, err error) {
				if !waitEnded(err) {
					r.cfg.Log.Error("fetch failed", "topic", topic, "partition", part, "err", err)
				}
			})
			if p.seq > 0 {
				r.add(ctx, p.fetches, pend)
				seq, lastPoll = p.seq, time.Now()
				bytes += p.bytes
				if since.IsZero() {
					since = lastPoll
				}
			}
		}
		if (len(pend) > 0 || len(flights) > 0) && blocked.IsZero() {
			blocked = time.Now()
		}
		r.setBusy(len(pend) > 0 || len(flights) > 0 || len(pl.out) > 0)
		var err error
		for err == nil && len(flights) > 0 && flights[0].finished() {
			err = settle(ctx)
		}
		if err == nil && marker {
			// Every poll before the marker is here: sink and commit
			// them all, then the poller lets the rebalance through.
			if len(pend) > 0 {
				launch()
			}
			if err = settleAll(ctx); err == nil {
				draining, blocked = false, time.Time{}
				pl.endDrain()
			}
		}
		if !draining && !blocked.IsZero() && time.Since(blocked) >= 2*r.cfg.FlushInterval {
			draining = true
			pl.requestDrain()
		}
		idle := time.Since(lastPoll) >= r.cfg.IdleWait && len(pl.out) == 0
		caughtUp := len(pl.out) == 0 && bytes >= r.cfg.FlushBytes/16 && atEnd(pend)
		due := len(pend) > 0 && (idle || caughtUp || bytes >= r.cfg.FlushBytes || time.Since(since) >= r.cfg.FlushInterval)
		if err == nil && due {
			for err == nil && len(flights) >= maxFlights {
				err = settle(ctx)
			}
			if err == nil {
				launch()
			}
		}
		if err != nil {
			abandon()
			finish()
			if ctx.Err() != nil {
				return nil // stopping: the uncommitted batches are consumed again after restart
			}
			return err
		}
		if len(pend) == 0 && len(flights) == 0 {
			blocked = time.Time{}
		}
	}
}

// add transforms the polled records into the partitions' pending batches,
// up to Workers partitions at once, and notes each partition's high
// watermark. A partition's pending batch ends at the last record actually
// added (ctx may stop it half way).
func (r *Runner) add(ctx context.Context, fetches kgo.Fetches, pend map[int32]*pending) {
	byPart := map[int32][]*kgo.Record{}
	var order []int32
	fetches.EachPartition(func(fp kgo.FetchTopicPartition) {
		if len(fp.Records) == 0 {
			return
		}
		pe := pend[fp.Partition]
		if pe == nil {
			pe = &pending{t: r.transformer(fp.Partition), topic: fp.Topic, partition: fp.Partition}
			pend[fp.Partition] = pe
		}
		if fp.Err == nil {
			pe.hwm = fp.HighWatermark
		}
		if _, ok := byPart[fp.Partition]; !ok {
			order = append(order, fp.Partition)
		}
		byPart[fp.Partition] = append(byPart[fp.Partition], fp.Records...)
	})
	var (
		wg  sync.WaitGroup
		sem = make(chan struct{}, r.cfg.Workers)
	)
	for _, p := range order {
		recs, pe := byPart[p], pend[p]
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			defer r.addTime(&r.stats.Transform, time.Now())
			for i, rec := range recs {
				if i%64 == 0 && ctx.Err() != nil {
					return
				}
				pe.t.AddRecord(rec)
				if pe.first == nil {
					pe.first = rec
				}
				pe.last = rec
				pe.records++
			}
		}()
	}
	wg.Wait()
	for p, pe := range pend {
		if pe.first == nil {
			delete(pend, p)
		}
	}
}

// cut takes the gathered records out of the partitions' transformers
// (which go on with the next batch) in partition order.
func (r *Runner) cut(pend map[int32]*pending) []cut {
	out := make([]cut, 0, len(pend))
	for _, pe := range pend {
		c := cut{rg: pe.rng(), day: pe.first.Timestamp, last: pe.last, records: pe.records}
		c.recs, c.ack = flushAck(pe.t)
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b cut) int { return int(a.rg.Partition) - int(b.rg.Partition) })
	return out
}

// launch sinks cuts in the background.
func (r *Runner) launch(ctx context.Context, cuts []cut, seq uint64) *flight {
	f := &flight{seq: seq, done: make(chan struct{})}
	go func() {
		defer close(f.done)
		f.last, f.err = r.sinkPartitions(ctx, cuts)
	}()
	return f
}

// drop abandons the pending batches (their records are consumed again).
func (r *Runner) drop(pend map[int32]*pending) {
	for _, pe := range pend {
		batch, ack := flushAck(pe.t)
		ack(false)
		for _, b := range batch {
			b.Release()
		}
	}
	clear(pend)
}

// flushAck flushes t, with the ack of its batch (a no-op unless t is an
// AckTransformer).
func flushAck(t Transformer) (map[string]arrow.RecordBatch, func(loaded bool)) {
	if at, ok := t.(AckTransformer); ok {
		return at.FlushAck()
	}
	return t.Flush(), func(bool) {}
}

// addTime adds the time since start to one of the stats' durations.
func (r *Runner) addTime(d *time.Duration, start time.Time) {
	took := time.Since(start)
	r.mu.Lock()
	*d += took
	r.mu.Unlock()
}

func (r *Runner) setBusy(b bool) {
	r.mu.Lock()
	r.stats.Busy = b
	r.mu.Unlock()
}

// sinkPartitions sinks a batch: each partition's records are encoded as
// Parquet, uploaded and staged (up to Workers partitions at once), then all
// are loaded into the warehouse, and the last record of each partition is
// returned for the commit. Every step is retried until it succeeds or ctx
// ends; on error nothing is returned for commit: the batch is consumed
// again after a restart. The records are released in any case.
func (r *Runner) sinkPartitions(ctx context.Context, cuts []cut) (_ []*kgo.Record, err error) {
	began := time.Now()
	defer func() {
		for _, c := range cuts {
			c.ack(err == nil)
		}
	}()
	batches := make([]Batch, len(cuts))
	defer func() {
		for _, b := range batches {
			for _, f := range b.Files {
				_ = os.Remove(f)
			}
		}
	}()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		sem      = make(chan struct{}, r.cfg.Workers)
	)
	for i := range cuts {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			defer r.addTime(&r.stats.Lake, time.Now())
			var err error
			batches[i], err = r.stageWithRetry(ctx, &cuts[i])
			if err != nil {
				mu.Lock()
				firstErr = cmp.Or(firstErr, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	staged := time.Now()
	r.loadMu.Lock()
	loading := time.Now()
	rows, err := r.loadWithRetry(ctx, batches)
	r.addTime(&r.stats.Warehouse, loading)
	r.loadMu.Unlock()
	if err != nil {
		return nil, err
	}
	r.cfg.Log.Debug("batch sunk", "partitions", len(cuts), "staged_in", staged.Sub(began), "loaded_in", time.Since(loading),
		"waited_for_load", loading.Sub(staged))
	last := make([]*kgo.Record, len(cuts))
	var records, objects int64
	for i, c := range cuts {
		last[i] = c.last
		records += c.records
		objects += int64(len(batches[i].Files))
	}
	r.mu.Lock()
	r.stats.Records += records
	r.stats.Rows += rows
	r.stats.Objects += objects
	r.mu.Unlock()
	return last, nil
}

// retry runs f until it succeeds or ctx ends, waiting with backoff between
// attempts: an acknowledged record is never skipped.
func (r *Runner) retry(ctx context.Context, what string, rg Range, f func() error) error {
	wait := r.cfg.RetryBackoff
	for {
		err := f()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		r.mu.Lock()
		r.stats.Retries++
		r.mu.Unlock()
		r.cfg.Log.Warn(what+" failed; retrying (check S3 and the warehouse)", "topic", rg.Topic, "partition", rg.Partition,
			"first", rg.First, "last", rg.Last, "retry_in", wait.String(), "err", err)
		if err := r.cfg.Sleep(ctx, wait); err != nil {
			return err
		}
		wait = min(wait*2, 30*time.Second)
	}
}

// stageWithRetry turns a partition's records into one Parquet object per
// dataset named after its range, uploads each to the lake and writes it to
// a local file for the warehouse; it releases the records.
func (r *Runner) stageWithRetry(ctx context.Context, c *cut) (Batch, error) {
	recs := c.recs
	defer func() {
		for _, rec := range recs {
			rec.Release()
		}
	}()
	b := Batch{Range: c.rg, Files: make(map[string]string, len(recs))}
	var buf bytes.Buffer
	for ds, rec := range recs {
		err := r.retry(ctx, "upload", b.Range, func() error {
			buf.Reset()
			if err := r.cfg.Write(&buf, rec); err != nil {
				return fmt.Errorf("encode %s as parquet: %w", ds, err)
			}
			return r.cfg.Lake.Put(ctx, ObjectKey(ds, c.day, b.Range), buf.Bytes(), "application/vnd.apache.parquet")
		})
		if err == nil {
			err = r.retry(ctx, "staging", b.Range, func() error {
				f, err := stage(r.cfg.TempDir, ds, buf.Bytes())
				if err != nil && f != "" {
					_ = os.Remove(f)
				}
				if err == nil {
					b.Files[ds] = f
				}
				return err
			})
		}
		if err != nil {
			return b, err
		}
	}
	return b, nil
}

// loadWithRetry loads the staged batches into the warehouse: in one
// transaction when the Loader is a BatchesLoader, else one per batch.
func (r *Runner) loadWithRetry(ctx context.Context, batches []Batch) (int64, error) {
	if bl, ok := r.cfg.Loader.(BatchesLoader); ok && len(batches) > 1 {
		var rows int64
		err := r.retry(ctx, "warehouse load", batches[0].Range, func() error {
			n, err := bl.LoadBatches(ctx, batches)
			if err != nil {
				return fmt.Errorf("load %d batches into the warehouse: %w", len(batches), err)
			}
			rows = n
			return nil
		})
		return rows, err
	}
	var rows int64
	for _, b := range batches {
		err := r.retry(ctx, "warehouse load", b.Range, func() error {
			n, err := r.cfg.Loader.LoadBatch(ctx, b.Range, b.Files)
			if err != nil {
				return fmt.Errorf("load %s/%d [%d,%d] into the warehouse: %w", b.Range.Topic, b.Range.Partition, b.Range.First, b.Range.Last, err)
			}
			rows += n
			return nil
		})
		if err != nil {
			return rows, err
		}
	}
	return rows, nil
}

func (r *Runner) transformer(partition int32) Transformer {
	r.tmu.Lock()
	defer r.tmu.Unlock()
	t, ok := r.transformers[partition]
	if !ok {
		t = r.cfg.NewTransformer()
		r.transformers[partition] = t
	}
	return t
}

func (r *Runner) markCommitted(recs []*kgo.Record) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rec := range recs {
		if rec.Offset+1 > r.committed[rec.Partition] {
			r.committed[rec.Partition] = rec.Offset + 1
		}
	}
	close(r.changed)
	r.changed = make(chan struct{})
}

// WaitCommitted blocks until, for every partition in acked, the runner has
// committed past the given offset (the data is in the lake and the
// warehouse), or ctx ends.
func (r *Runner) WaitCommitted(ctx context.Context, acked map[int32]int64) error {
	for {
		r.mu.Lock()
		done := true
		for p, off := range acked {
			if r.committed[p] <= off {
				done = false
				break
			}
		}
		ch := r.changed
		r.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("pipelines: waiting for the pipeline to load the collected data: %w", ctx.Err())
		case <-ch:
		}
	}
}
