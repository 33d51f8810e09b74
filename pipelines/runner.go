package pipelines

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Transformer turns Kafka records into one Arrow record per dataset
// (pipelines/opendata.Transformer). Add never fails: bad content becomes
// rows of a quarantine dataset.
type Transformer interface {
	Add(topic string, partition int32, offset int64, value []byte)
	Flush() map[string]arrow.RecordBatch
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
	// MaxPollRecords bounds one batch; 0 means 2000.
	MaxPollRecords int
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
}

// ClientOpts are the consumer options a Runner's client must have.
func ClientOpts(group, topic string) []kgo.Opt {
	return []kgo.Opt{
		kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(topic),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		// Bound what one poll holds in memory: raw pages are large.
		kgo.FetchMaxBytes(32 << 20),
		kgo.FetchMaxPartitionBytes(8 << 20),
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
		cfg.MaxPollRecords = 2000
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

// Run consumes until ctx is cancelled or the client is closed. Cancelling
// ctx stops after the batch in hand is sunk or abandoned uncommitted; it
// returns nil on a clean stop.
func (r *Runner) Run(ctx context.Context) error {
	cl := r.cfg.Client
	for {
		fetches := cl.PollRecords(ctx, r.cfg.MaxPollRecords)
		if fetches.IsClientClosed() || ctx.Err() != nil {
			cl.AllowRebalance()
			return nil
		}
		fetches.EachError(func(topic string, p int32, err error) {
			if errors.Is(err, context.Canceled) {
				return
			}
			r.cfg.Log.Error("fetch failed", "topic", topic, "partition", p, "err", err)
		})
		var parts []kgo.FetchTopicPartition
		fetches.EachPartition(func(p kgo.FetchTopicPartition) {
			if len(p.Records) > 0 {
				parts = append(parts, p)
			}
		})
		r.setBusy(len(parts) > 0)
		toCommit, fatal := r.sinkPartitions(ctx, parts)
		if fatal != nil {
			cl.AllowRebalance()
			if ctx.Err() != nil {
				return nil // stopping: the uncommitted batch is consumed again after restart
			}
			return fatal
		}
		if len(toCommit) > 0 {
			if err := cl.CommitRecords(ctx, toCommit...); err != nil {
				cl.AllowRebalance()
				if ctx.Err() != nil {
					return nil
				}
				// The sink is idempotent: after a crash the batch is simply redone.
				r.cfg.Log.Warn("commit failed; the next commit covers these offsets", "err", err)
				continue
			}
			r.markCommitted(toCommit)
		}
		r.setBusy(false)
		cl.AllowRebalance()
	}
}

func (r *Runner) setBusy(b bool) {
	r.mu.Lock()
	r.stats.Busy = b
	r.mu.Unlock()
}

// sinkPartitions sinks each partition's batch, up to Workers at once, and
// returns the last record of each for the commit. On error nothing is
// returned for commit: the whole poll is consumed again after a restart.
func (r *Runner) sinkPartitions(ctx context.Context, parts []kgo.FetchTopicPartition) ([]*kgo.Record, error) {
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		sem      = make(chan struct{}, r.cfg.Workers)
		last     = make([]*kgo.Record, 0, len(parts))
	)
	for _, p := range parts {
		sem <- struct{}{}
		wg.Add(1)
		go func(p kgo.FetchTopicPartition) {
			defer wg.Done()
			defer func() { <-sem }()
			err := r.sinkWithRetry(ctx, r.transformer(p.Partition), p.Topic, p.Partition, p.Records)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if firstErr == nil {
					firstErr = err
				}
				return
			}
			last = append(last, p.Records[len(p.Records)-1])
		}(p)
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return last, nil
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

// sinkWithRetry sinks a partition batch, retrying with backoff until it
// succeeds or ctx ends: an acknowledged record is never skipped.
func (r *Runner) sinkWithRetry(ctx context.Context, t Transformer, topic string, partition int32, recs []*kgo.Record) error {
	wait := r.cfg.RetryBackoff
	for {
		err := r.sink(ctx, t, topic, partition, recs)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		r.mu.Lock()
		r.stats.Retries++
		r.mu.Unlock()
		r.cfg.Log.Warn("sink failed; retrying (check S3 and the warehouse)", "topic", topic, "partition", partition,
			"first", recs[0].Offset, "last", recs[len(recs)-1].Offset, "retry_in", wait.String(), "err", err)
		if err := r.cfg.Sleep(ctx, wait); err != nil {
			return err
		}
		wait = min(wait*2, 30*time.Second)
	}
}

func (r *Runner) sink(ctx context.Context, t Transformer, topic string, partition int32, recs []*kgo.Record) error {
	rg := Range{Topic: topic, Partition: partition, First: recs[0].Offset, Last: recs[len(recs)-1].Offset}
	for i, rec := range recs {
		if i%64 == 0 && ctx.Err() != nil {
			for _, b := range t.Flush() { // drop the partial batch: it is consumed again after a restart
				b.Release()
			}
			return ctx.Err()
		}
		t.Add(rec.Topic, rec.Partition, rec.Offset, rec.Value)
	}
	batches := t.Flush()
	defer func() {
		for _, b := range batches {
			b.Release()
		}
	}()
	day := recs[0].Timestamp
	objects := make(map[string][]byte, len(batches))
	for ds, rec := range batches {
		if err := ctx.Err(); err != nil {
			return err
		}
		var buf bytes.Buffer
		if err := r.cfg.Write(&buf, rec); err != nil {
			return fmt.Errorf("encode %s as parquet: %w", ds, err)
		}
		key := ObjectKey(ds, day, rg)
		if err := r.cfg.Lake.Put(ctx, key, buf.Bytes(), "application/vnd.apache.parquet"); err != nil {
			return err
		}
		objects[ds] = buf.Bytes()
	}
	rows, err := stageAndLoad(ctx, r.cfg.Loader, r.cfg.TempDir, rg, objects)
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.stats.Records += int64(len(recs))
	r.stats.Rows += rows
	r.stats.Objects += int64(len(objects))
	r.mu.Unlock()
	return nil
}
