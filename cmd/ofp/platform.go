package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/ofp-dev/ofp/connectors/directory"
	"github.com/ofp-dev/ofp/connectors/opendata"
	"github.com/ofp-dev/ofp/ingest"
	"github.com/ofp-dev/ofp/internal/bus"
	"github.com/ofp-dev/ofp/internal/config"
	"github.com/ofp-dev/ofp/internal/events"
	"github.com/ofp-dev/ofp/internal/oas"
	"github.com/ofp-dev/ofp/internal/objstore"
	"github.com/ofp-dev/ofp/internal/progress"
	"github.com/ofp-dev/ofp/jobs"
	"github.com/ofp-dev/ofp/pipelines"
	apipipe "github.com/ofp-dev/ofp/pipelines/apicalls"
	odpipe "github.com/ofp-dev/ofp/pipelines/opendata"
	"github.com/ofp-dev/ofp/pipelines/whload"
	"github.com/ofp-dev/ofp/warehouse"
)

// platform is every running part of ofp, built from configuration. It is
// the one place that knows the concrete types.
type platform struct {
	cfg       config.Config
	log       *slog.Logger
	progress  io.Writer // where progress bars are drawn
	simulated bool

	kafka    *bus.Embedded
	lake     *objstore.Store
	wh       *warehouse.Store
	producer *kgo.Client
	consumer *kgo.Client
	runner   *pipelines.Runner
	// callsRunner lands the API-call record (ofp.apicalls) like open data.
	callsRunner *pipelines.Runner
	runners     int // running pipelines, each reporting on runDone
	collector   *ingest.Collector
	dir         *directory.Client
	scheduler   *jobs.Scheduler

	runCancel context.CancelFunc
	runDone   chan error
	closers   []func(context.Context) error
}

type platformOpts struct {
	simulated bool      // every collected institution is the simulator's
	progress  io.Writer // nil: stderr
}

// startPlatform starts the engines (embedded ones where nothing else is
// configured), the warehouse and the pipeline. On error everything
// started so far is closed.
func startPlatform(ctx context.Context, cfg config.Config, log *slog.Logger, o platformOpts) (p *platform, err error) {
	p = &platform{cfg: cfg, log: log, simulated: o.simulated, progress: o.progress, runDone: make(chan error, 2)}
	if p.progress == nil {
		p.progress = os.Stderr
	}
	defer func() {
		if err != nil {
			p.closeWithin(10 * time.Second)
			p = nil
		}
	}()
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return p, fmt.Errorf("create data dir %s: %w", cfg.DataDir, err)
	}

	brokers := cfg.Brokers()
	if len(brokers) == 0 {
		p.kafka, err = bus.StartEmbedded(cfg.Path("kafka"), 0)
		if err != nil {
			return p, err
		}
		p.closers = append(p.closers, func(context.Context) error { p.kafka.Close(); return nil })
		brokers = p.kafka.Brokers()
	}
	var closeLake func(context.Context) error
	p.lake, closeLake, err = openLake(ctx, cfg)
	if err != nil {
		return p, err
	}
	p.closers = append(p.closers, closeLake)

	if p.wh, err = warehouse.Open(cfg.Path("warehouse.duckdb"), warehouse.DefaultOptions()); err != nil {
		return p, fmt.Errorf("open the warehouse (is another ofp running on %s? `ofp report` talks to it instead): %w", cfg.DataDir, err)
	}
	p.closers = append(p.closers, func(context.Context) error { return p.wh.Close() })

	if p.producer, err = bus.NewClient(bus.Config{Brokers: brokers, ClientID: "ofp-ingest"}); err != nil {
		return p, err
	}
	p.closers = append(p.closers, func(context.Context) error { p.producer.Close(); return nil })
	if err := bus.EnsureTopics(ctx, p.producer, bus.DefaultPartitions, events.TopicOpenDataRaw, events.TopicAPICalls); err != nil {
		return p, err
	}

	validator, err := oas.New()
	if err != nil {
		return p, fmt.Errorf("load the embedded open-data specs: %w", err)
	}
	if p.consumer, err = bus.NewClient(bus.Config{Brokers: brokers, ClientID: "ofp-pipeline"},
		pipelines.ClientOpts("ofp-pipeline-opendata", events.TopicOpenDataRaw)...); err != nil {
		return p, err
	}
	// The runner may be stopped in the middle of a poll it blocks
	// rebalances for: leave the group without waiting for it.
	p.closers = append(p.closers, func(context.Context) error { p.consumer.CloseAllowingRebalance(); return nil })
	// One Memo for every partition: a page republished unchanged is
	// replayed, whichever partition it arrives on.
	memo := odpipe.NewMemo(odpipe.DefaultMemoBytes)
	p.runner, err = pipelines.NewRunner(pipelines.Config{
		Client: p.consumer,
		Topic:  events.TopicOpenDataRaw,
		NewTransformer: func() pipelines.Transformer {
			return odpipe.NewTransformer(validator, memory.NewGoAllocator(), log).WithMemo(memo)
		},
		Write:   odpipe.WriteParquet,
		Lake:    p.lake,
		Loader:  whload.Loader{Store: p.wh},
		TempDir: cfg.Path("tmp"),
		Log:     log.With("component", "pipeline"),
	})
	if err != nil {
		return p, err
	}
	callsConsumer, err := bus.NewClient(bus.Config{Brokers: brokers, ClientID: "ofp-pipeline"},
		pipelines.ClientOpts("ofp-pipeline-apicalls", events.TopicAPICalls)...)
	if err != nil {
		return p, err
	}
	p.closers = append(p.closers, func(context.Context) error { callsConsumer.CloseAllowingRebalance(); return nil })
	p.callsRunner, err = pipelines.NewRunner(pipelines.Config{
		Client: callsConsumer, Topic: events.TopicAPICalls,
		NewTransformer: func() pipelines.Transformer { return apipipe.NewTransformer(memory.NewGoAllocator()) },
		Write:          odpipe.WriteParquet, Lake: p.lake, Loader: whload.Loader{Store: p.wh}, TempDir: cfg.Path("tmp"),
		Log: log.With("component", "pipeline", "pipeline", "apicalls"),
	})
	if err != nil {
		return p, err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	p.runCancel = cancel
	p.runners = 2
	go func() { p.runDone <- p.runner.Run(runCtx) }()
	go func() { p.runDone <- p.callsRunner.Run(runCtx) }()

	if p.dir, err = directory.NewClient(directory.DefaultOptions()); err != nil {
		return p, err
	}
	odOpts := opendata.DefaultOptions()
	odOpts.Timeout = cfg.RequestTimeout
	od, err := opendata.New(odOpts)
	if err != nil {
		return p, err
	}
	p.collector = ingest.NewCollector(od, bus.NewPublisher(p.producer), p.lake, log.With("component", "collector"), ingest.Options{
		Institutions: cfg.Institutions, EndpointsPerInstitution: cfg.EndpointsPerInstitution, Simulated: o.simulated,
	})
	return p, nil
}

// openLake connects to the configured S3 bucket, or starts the embedded
// S3 server over <data-dir>/lake when no endpoint is configured. close
// stops the embedded server, if any.
func openLake(ctx context.Context, cfg config.Config) (lake *objstore.Store, close func(context.Context) error, err error) {
	close = func(context.Context) error { return nil }
	s3cfg := objstore.Config{Endpoint: cfg.S3Endpoint, Bucket: cfg.S3Bucket, AccessKey: cfg.S3AccessKey, SecretKey: cfg.S3SecretKey, Region: cfg.S3Region}
	if s3cfg.Endpoint == "" {
		emb, err := objstore.StartEmbedded(cfg.Path("lake"), "127.0.0.1:0")
		if err != nil {
			return nil, close, err
		}
		close = emb.Close
		s3cfg.Endpoint, s3cfg.AccessKey, s3cfg.SecretKey = emb.URL(), "ofp", "ofp-embedded"
	}
	if lake, err = objstore.New(s3cfg); err == nil {
		err = lake.EnsureBucket(ctx)
	}
	if err != nil {
		_ = close(ctx)
		return nil, close, err
	}
	return lake, close, nil
}

// collectOpenData runs one collection from the directory and returns when
// its data is queryable in the warehouse.
func (p *platform) collectOpenData(ctx context.Context, directoryURL string) (ingest.Summary, error) {
	if directoryURL == "" {
		return ingest.Summary{}, errors.New("no directory URL: pass --directory-url (the central directory's participants list URL)")
	}
	orgs, err := p.dir.Participants(ctx, directoryURL)
	if err != nil {
		return ingest.Summary{}, fmt.Errorf("read the directory at %s: %w", directoryURL, err)
	}
	eps, report := directory.Discover(orgs, directory.DiscoverOptions{})
	p.log.Info("directory read", "url", directoryURL, "organisations", len(orgs), "endpoints", len(eps), "skipped", fmt.Sprint(report.Skipped))
	for _, f := range report.Findings {
		p.log.Debug("directory entry skipped", "finding", fmt.Sprintf("%+v", f))
	}
	institutions := map[string]bool{}
	for _, ep := range eps {
		institutions[ep.OrganisationID] = true
	}
	bar := progress.New(p.progress, p.log, "collecting open data", len(institutions), 5*time.Second)
	sum, err := p.collector.Collect(ctx, eps, bar)
	if err != nil && !errors.Is(err, ingest.ErrNothingCollected) {
		return sum, err
	}
	// Even a failed collection published statuses: wait for them too.
	wctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	if werr := p.runner.WaitCommitted(wctx, sum.Acked); werr != nil {
		return sum, werr
	}
	return sum, err
}

// serveHTTP serves h on addr; the returned function shuts it down.
func (p *platform) serveHTTP(addr string, h http.Handler) (string, func(context.Context) error, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("listen on %s (in use? pick another with --listen): %w", addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), srv.Shutdown, nil
}

// close stops everything in order: scheduler, pipeline (after its batch),
// clients, warehouse, embedded servers.
func (p *platform) close(ctx context.Context) {
	if p.scheduler != nil {
		if err := p.scheduler.Stop(ctx); err != nil {
			p.log.Warn("stopping jobs", "err", err)
		}
	}
	if p.runCancel != nil {
		p.runCancel()
	wait:
		for i := 0; i < p.runners; i++ {
			select {
			case err := <-p.runDone:
				if err != nil {
					p.log.Warn("pipeline stopped with an error", "err", err)
				}
			case <-ctx.Done():
				p.log.Warn("pipeline did not stop in time; its uncommitted batch will be consumed again")
				break wait
			}
		}
	}
	for i := len(p.closers) - 1; i >= 0; i-- {
		if err := p.closers[i](ctx); err != nil {
			p.log.Warn("shutdown", "err", err)
		}
	}
}

// registerMetrics exposes the pipelines' counters and the warehouse's
// (its loads and where their time went, checkpoints, refreshes) to
// Prometheus.
func (p *platform) registerMetrics(reg prometheus.Registerer) {
	p.registerWarehouseMetrics(reg)
	const stageHelp = "Time spent in each pipeline stage, summed over the goroutines doing it: transform (records to Arrow rows), " +
		"lake (Parquet encoding, lake upload, local copy), warehouse (loads, one at a time). A stage whose rate approaches 1 s/s " +
		"(transform: the consumer's cores) bounds the pipeline."
	metrics := []counter[pipelines.Stats]{
		{"records_total", "Kafka records sunk to the lake and the warehouse.", nil, func(s pipelines.Stats) float64 { return float64(s.Records) }},
		{"rows_total", "Rows written to the lake and loaded into the warehouse.", nil, func(s pipelines.Stats) float64 { return float64(s.Rows) }},
		{"objects_total", "Parquet objects written to the lake.", nil, func(s pipelines.Stats) float64 { return float64(s.Objects) }},
		{"sink_retries_total", "Failed sink attempts that were retried (S3 or warehouse trouble).", nil, func(s pipelines.Stats) float64 { return float64(s.Retries) }},
		{"stage_seconds_total", stageHelp, prometheus.Labels{"stage": "transform"}, func(s pipelines.Stats) float64 { return s.Transform.Seconds() }},
		{"stage_seconds_total", stageHelp, prometheus.Labels{"stage": "lake"}, func(s pipelines.Stats) float64 { return s.Lake.Seconds() }},
		{"stage_seconds_total", stageHelp, prometheus.Labels{"stage": "warehouse"}, func(s pipelines.Stats) float64 { return s.Warehouse.Seconds() }},
	}
	for label, r := range map[string]*pipelines.Runner{"opendata": p.runner, "apicalls": p.callsRunner} {
		if r == nil {
			continue
		}
		registerCounters(reg, "pipeline", prometheus.Labels{"pipeline": label}, r.Stats, metrics)
	}
}

// counter is a Prometheus counter read from a snapshot of stats S.
type counter[S any] struct {
	name, help string
	labels     prometheus.Labels // its own, besides those of registerCounters
	value      func(S) float64
}

// registerCounters registers metrics as ofp_<subsystem>_<name> with labels
// and their own, each read from stats() when scraped.
func registerCounters[S any](reg prometheus.Registerer, subsystem string, labels prometheus.Labels, stats func() S, metrics []counter[S]) {
	for _, m := range metrics {
		all := prometheus.Labels{}
		maps.Copy(all, labels)
		maps.Copy(all, m.labels)
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "ofp", Subsystem: subsystem, Name: m.name, Help: m.help,
			ConstLabels: all}, func() float64 { return m.value(stats()) }))
	}
}

// registerWarehouseMetrics exposes warehouse.Store.Stats as ofp_warehouse_*.
func (p *platform) registerWarehouseMetrics(reg prometheus.Registerer) {
	if p.wh == nil {
		return
	}
	const stepHelp = "Time the warehouse's loads spent in each step, failed loads included: plan (reading the files' footers), " +
		"items (finding new contents, storing their item files, indexing them), rows (pages and the other datasets by source range), " +
		"queue (queueing the comparison keys to refresh), commit (DuckDB compressing and writing what the load did not write as it went)."
	metrics := []counter[warehouse.Stats]{
		{"loads_total", "Warehouse loads committed (one per pipeline batch).", nil, func(s warehouse.Stats) float64 { return float64(s.Loads) }},
		{"loads_failed_total", "Warehouse loads that failed and were rolled back (the pipeline retries them).", nil,
			func(s warehouse.Stats) float64 { return float64(s.FailedLoads) }},
		{"load_rows_total", "Rows inserted by the warehouse's committed loads.", nil, func(s warehouse.Stats) float64 { return float64(s.LoadRows) }},
		{"load_seconds_total", stepHelp, prometheus.Labels{"step": "plan"}, func(s warehouse.Stats) float64 { return s.LoadSteps.Plan.Seconds() }},
		{"load_seconds_total", stepHelp, prometheus.Labels{"step": "items"}, func(s warehouse.Stats) float64 { return s.LoadSteps.Items.Seconds() }},
		{"load_seconds_total", stepHelp, prometheus.Labels{"step": "rows"}, func(s warehouse.Stats) float64 { return s.LoadSteps.Rows.Seconds() }},
		{"load_seconds_total", stepHelp, prometheus.Labels{"step": "queue"}, func(s warehouse.Stats) float64 { return s.LoadSteps.Queue.Seconds() }},
		{"load_seconds_total", stepHelp, prometheus.Labels{"step": "commit"}, func(s warehouse.Stats) float64 { return s.LoadSteps.Commit.Seconds() }},
		{"checkpoints_total", "Checkpoints folding the warehouse's write-ahead log into its file.", nil,
			func(s warehouse.Stats) float64 { return float64(s.Checkpoints) }},
		{"checkpoint_seconds_total", "Time spent in the warehouse's checkpoints.", nil, func(s warehouse.Stats) float64 { return s.Checkpoint.Seconds() }},
		{"refreshes_total", "Refreshes of the derived fee and rate comparison tables.", nil, func(s warehouse.Stats) float64 { return float64(s.Refreshes) }},
		{"refresh_seconds_total", "Time spent refreshing the derived comparison tables.", nil, func(s warehouse.Stats) float64 { return s.Refresh.Seconds() }},
		{"folds_total", "Folds of recent item files into the warehouse's item tables.", nil, func(s warehouse.Stats) float64 { return float64(s.Folds) }},
		{"folded_files_total", "Item files folded into the warehouse's item tables.", nil, func(s warehouse.Stats) float64 { return float64(s.FoldedFiles) }},
		{"folded_items_total", "Items folded from files into the warehouse's item tables.", nil, func(s warehouse.Stats) float64 { return float64(s.FoldedItems) }},
		{"fold_seconds_total", "Time spent folding item files into the warehouse's item tables.", nil, func(s warehouse.Stats) float64 { return s.Fold.Seconds() }},
	}
	registerCounters(reg, "warehouse", nil, p.wh.Stats, metrics)
}

// closeWithin closes the platform, giving it at most d.
func (p *platform) closeWithin(d time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	p.close(ctx)
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(strings.ToUpper(cfg.LogLevel)))
	opts := &slog.HandlerOptions{Level: lvl}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
