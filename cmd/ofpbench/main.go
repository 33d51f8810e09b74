package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ofp-dev/ofp/internal/bus"
	"github.com/ofp-dev/ofp/internal/oas"
	"github.com/ofp-dev/ofp/pipelines"
	"github.com/ofp-dev/ofp/warehouse"
)

// Targets of the benchmark.
const (
	targetThroughput = 0.50 // ours/baseline records per second, at least
	targetQuery      = 1.5  // ours/direct median query time, at most
)

// options select the benchmark's size.
type options struct {
	FeeRows      int    // fee rows the topic must hold at least
	Institutions int    // institutions collected from the simulator
	Variants     int    // institution variants the copies rotate through
	QueryRuns    int    // timed runs of each query (median reported)
	Rounds       int    // rounds of the throughput pair (baseline, pipeline); the median ratio is reported
	CPUProfile   string // file for a CPU profile of the pipeline phase
	MemProfile   string // file for a heap profile taken at the end of the pipeline phase
	Trace        string // file for a runtime execution trace of the pipeline phase
}

func defaultOptions() options {
	return options{FeeRows: 1_000_000, Institutions: 8, Variants: 8, QueryRuns: 5, Rounds: 5}
}

// machine describes the host.
type machine struct {
	GOMAXPROCS int
	NumCPU     int
	CPU        string
	Go         string
	OS         string
	DuckDB     string
}

// report is everything one run measured.
type report struct {
	Machine  machine
	Options  options
	Data     dataset
	Prepare  time.Duration
	Baseline throughput
	Pipeline throughput
	LakeOnly throughput // the pipeline without the warehouse
	// Rounds are the throughput pairs, the first being Baseline and
	// Pipeline: the same topic consumed again, the pipeline into a new
	// warehouse and lake each time.
	Rounds     []round
	Stats      pipelines.Stats
	RawLoad    rawLoadResult // DuckDB alone storing the lake objects of round 1
	FeeObjects int
	Queries    []queryResult
	Refresh    refreshResult
	Total      time.Duration
	Warnings   []string
}

// round is one throughput pair: the baseline consume, then the pipeline.
type round struct {
	Baseline, Pipeline throughput
}

func (r round) ratio() float64 { return r.Pipeline.recordsPerSec() / r.Baseline.recordsPerSec() }

// throughputRatio is the median over the rounds of the pipeline's records
// per second over the baseline's of the same round (a shared machine's
// noise moves single runs by several points).
func (r report) throughputRatio() float64 {
	if len(r.Rounds) == 0 {
		return r.ratioOf(r.Pipeline)
	}
	ratios := make([]float64, len(r.Rounds))
	for i, rd := range r.Rounds {
		ratios[i] = rd.ratio()
	}
	slices.Sort(ratios)
	if n := len(ratios); n%2 == 0 {
		return (ratios[n/2-1] + ratios[n/2]) / 2
	}
	return ratios[len(ratios)/2]
}

// ratioOf is t's records per second over the baseline's.
func (r report) ratioOf(t throughput) float64 {
	return t.recordsPerSec() / r.Baseline.recordsPerSec()
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

// run prepares the data and runs every measurement, writing progress lines
// to progress. Temporary files live under a directory removed on return.
func run(ctx context.Context, o options, progress io.Writer) (rep report, err error) {
	start := time.Now()
	rep.Options = o
	rep.Machine = machine{GOMAXPROCS: runtime.GOMAXPROCS(0), NumCPU: runtime.NumCPU(), CPU: cpuModel(),
		Go: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH}
	tmp, err := os.MkdirTemp("", "ofpbench-")
	if err != nil {
		return rep, fmt.Errorf("create a temporary directory: %w", err)
	}
	if os.Getenv("OFPBENCH_KEEP") == "" {
		defer os.RemoveAll(tmp)
	} else {
		fmt.Fprintf(progress, "· keeping %s\n", tmp)
	}

	kafka, err := bus.StartEmbedded("", 0)
	if err != nil {
		return rep, err
	}
	defer kafka.Close()
	brokers := kafka.Brokers()
	validator, err := oas.New()
	if err != nil {
		return rep, fmt.Errorf("load the embedded open-data specs: %w", err)
	}

	fmt.Fprintf(progress, "· preparing at least %d fee rows on an in-process kfake topic\n", o.FeeRows)
	t := time.Now()
	if rep.Data, err = prepare(ctx, brokers, validator, o, progress); err != nil {
		return rep, fmt.Errorf("prepare the topic: %w", err)
	}
	rep.Prepare = time.Since(t)

	fmt.Fprintf(progress, "· baseline: plain franz-go consumer over the whole topic\n")
	if rep.Baseline, err = consumeBaseline(ctx, brokers, rep.Data.Acked, rep.Data.FeeRows, 1); err != nil {
		return rep, err
	}
	fmt.Fprintf(progress, "· baseline done in %s\n", rep.Baseline.Elapsed.Round(time.Millisecond))

	sk, err := openSinks(ctx, filepath.Join(tmp, "sinks"))
	if err != nil {
		return rep, err
	}
	defer sk.close()
	fmt.Fprintf(progress, "· pipeline: Runner -> Transformer -> Parquet -> embedded S3 -> DuckDB, until committed and checkpointed\n")
	if rep.Pipeline, rep.Stats, err = runPipeline(ctx, brokers, validator, sk, rep.Data.Acked, rep.Data.Bytes, o.CPUProfile, o.MemProfile, o.Trace, progress, false, 1); err != nil {
		return rep, err
	}
	fmt.Fprintf(progress, "· pipeline done in %s (%d objects)\n", rep.Pipeline.Elapsed.Round(time.Millisecond), rep.Stats.Objects)
	fmt.Fprintf(progress, "· pipeline without the warehouse: Runner -> Transformer -> Parquet -> embedded S3, until committed\n")
	if rep.LakeOnly, _, err = runPipeline(ctx, brokers, validator, sk, rep.Data.Acked, rep.Data.Bytes, "", "", "", progress, true, 1); err != nil {
		return rep, err
	}
	rep.LakeOnly.FeeRows = rep.Data.FeeRows // transformed, not loaded
	fmt.Fprintf(progress, "· pipeline without the warehouse done in %s\n", rep.LakeOnly.Elapsed.Round(time.Millisecond))
	rep.Rounds = []round{{rep.Baseline, rep.Pipeline}}
	for i := 2; i <= o.Rounds; i++ {
		rd, err := throughputRound(ctx, brokers, validator, rep.Data, filepath.Join(tmp, fmt.Sprintf("sinks-%d", i)), progress, i)
		if err != nil {
			return rep, err
		}
		rep.Rounds = append(rep.Rounds, rd)
	}
	if rep.Pipeline.FeeRows != rep.Data.FeeRows {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("the warehouse holds %d fee rows, the topic %d", rep.Pipeline.FeeRows, rep.Data.FeeRows))
	}
	if rep.Pipeline.Records != rep.Data.Records {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("the pipeline sank %d records, the topic holds %d", rep.Pipeline.Records, rep.Data.Records))
	}

	fmt.Fprintf(progress, "· warehouse baseline: DuckDB alone loading the lake's objects (one thread, one transaction, checkpointed)\n")
	if rep.RawLoad, err = rawLoad(ctx, sk.lake, filepath.Join(tmp, "raw")); err != nil {
		return rep, err
	}
	fmt.Fprintf(progress, "· fee comparison: downloading opendata_pages and opendata_fee_items from the lake\n")
	source, nfiles, err := downloadFees(ctx, sk.lake, filepath.Join(tmp, "direct"))
	if err != nil {
		return rep, err
	}
	rep.FeeObjects = nfiles
	db, err := openDirect("", warehouse.DefaultOptions().Threads)
	if err != nil {
		return rep, err
	}
	defer db.Close()
	rep.Machine.DuckDB = duckdbVersion(ctx, db)
	fmt.Fprintf(progress, "· fee comparison: %d runs of each query, warehouse vs bare DuckDB on %d Parquet files\n", o.QueryRuns, nfiles)
	if rep.Queries, rep.Refresh, err = benchQueries(ctx, sk.wh, db, source, o.QueryRuns); err != nil {
		return rep, err
	}
	for _, q := range rep.Queries {
		if q.OursRows != q.DirectRows || q.ViewsRows != q.DirectRows {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("%s: the warehouse returned %d rows (%d before the refresh), DuckDB on the lake files %d",
				q.Name, q.OursRows, q.ViewsRows, q.DirectRows))
		}
	}
	rep.Total = time.Since(start)
	return rep, nil
}

// throughputRound measures the throughput pair again: the baseline, then
// the pipeline into a new warehouse and lake in dir (removed after).
func throughputRound(ctx context.Context, brokers []string, v *oas.Validator, d dataset, dir string, progress io.Writer, i int) (round, error) {
	var rd round
	var err error
	fmt.Fprintf(progress, "· round %d: baseline, then the pipeline into a new warehouse and lake\n", i)
	if rd.Baseline, err = consumeBaseline(ctx, brokers, d.Acked, d.FeeRows, i); err != nil {
		return rd, err
	}
	sk, err := openSinks(ctx, dir)
	if err != nil {
		return rd, err
	}
	defer func() {
		sk.close()
		_ = os.RemoveAll(dir)
	}()
	if rd.Pipeline, _, err = runPipeline(ctx, brokers, v, sk, d.Acked, d.Bytes, "", "", "", progress, false, i); err != nil {
		return rd, err
	}
	if rd.Pipeline.Records != d.Records {
		return rd, fmt.Errorf("round %d: the pipeline sank %d records, the topic holds %d", i, rd.Pipeline.Records, d.Records)
	}
	fmt.Fprintf(progress, "· round %d: baseline %s, pipeline %s (%.1f%%)\n", i, rd.Baseline.Elapsed.Round(time.Millisecond),
		rd.Pipeline.Elapsed.Round(time.Millisecond), 100*rd.ratio())
	return rd, nil
}

// thousands formats n with thin separators: 1,234,567.
func thousands(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func mib(b uint64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

// cpuBound is the least elapsed time the pipeline could take on this
// machine in round 1 if its warehouse cost no more than DuckDB alone
// (RawLoad) and every core were busy throughout: the CPU time of the run
// without the warehouse plus RawLoad's, over the cores (DuckDB's threads
// are not bound by GOMAXPROCS).
func (r report) cpuBound() time.Duration {
	return (r.LakeOnly.Mem.CPU + r.RawLoad.CPU) / time.Duration(max(r.Machine.NumCPU, 1))
}

// medianBaseline is the median over the rounds of the baseline's elapsed
// time (round 1's without rounds).
func (r report) medianBaseline() time.Duration {
	if len(r.Rounds) == 0 {
		return r.Baseline.Elapsed
	}
	ds := make([]time.Duration, len(r.Rounds))
	for i, rd := range r.Rounds {
		ds[i] = rd.Baseline.Elapsed
	}
	slices.Sort(ds)
	if n := len(ds); n%2 == 0 {
		return (ds[n/2-1] + ds[n/2]) / 2
	}
	return ds[len(ds)/2]
}

// warehouseTime is the pipeline's warehouse time in round 1: its loads
// (one at a time) and the final checkpoint.
func (r report) warehouseTime() time.Duration {
	return r.Stats.Warehouse + r.Pipeline.checkpoint()
}

// stagesNote says where the pipeline's time went in round 1 (its Stats):
// each stage's time summed over the goroutines doing it, the loads' share
// of the elapsed time (they run one at a time, so a share near 100% means
// the warehouse bounds the pipeline) and the final checkpoint.
func (r report) stagesNote() string {
	st, el := r.Stats, r.Pipeline.Elapsed
	share := 0.0
	if el > 0 {
		share = 100 * st.Warehouse.Seconds() / el.Seconds()
	}
	ls, round := r.Pipeline.LoadSteps, func(d time.Duration) time.Duration { return d.Round(10 * time.Millisecond) }
	return fmt.Sprintf("Time in the pipeline's stages (summed over the goroutines doing each): transform %s, Parquet + lake + local copy %s,\n"+
		"warehouse loads %s (one at a time: busy %.0f%% of the elapsed %s), final checkpoint %s.\n"+
		"The loads' steps (warehouse.Stats): plan %s, items %s (new contents found, their files stored, indexed), other rows %s, refresh queue %s, commit %s.",
		round(st.Transform), round(st.Lake), round(st.Warehouse), share, round(el), round(r.Pipeline.checkpoint()),
		round(ls.Plan), round(ls.Items), round(ls.Rows), round(ls.Queue), round(ls.Commit))
}

// lakeOnlyNote compares the run without the warehouse with the baselines
// and says what the target leaves the warehouse: the pipeline must finish
// within the median round's baseline over targetThroughput.
func (r report) lakeOnlyNote() string {
	mb, lo := r.medianBaseline(), r.LakeOnly.Elapsed
	budget := time.Duration(float64(mb) / targetThroughput)
	head := fmt.Sprintf("Without the warehouse (the same Runner, its files uploaded and not loaded) the pipeline took %s: %.1f%% of round 1's\n"+
		"baseline rate, %.1f%% of the median round's (%s). The target means finishing within %s (the median round's baseline\n"+
		"over %.0f%%): ",
		lo.Round(time.Millisecond), 100*r.ratioOf(r.LakeOnly), 100*mb.Seconds()/lo.Seconds(), mb.Round(time.Millisecond),
		budget.Round(time.Millisecond), 100*targetThroughput)
	if lo >= budget {
		return head + "the pipeline without the warehouse already takes longer, so the transform and the Parquet and lake\n" +
			"stage must get cheaper too, not only the warehouse."
	}
	return head + fmt.Sprintf("the warehouse (loads, checkpoint) may add at most %s; it added %s.",
		(budget-lo).Round(time.Millisecond), (r.Pipeline.Elapsed-lo).Round(time.Millisecond))
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

// print writes the report.
func (r report) print(w io.Writer) {
	m := r.Machine
	fmt.Fprintf(w, "\nofpbench: open-data pipeline, with baselines measured in the same run (only the ratios are comparable)\n")
	fmt.Fprintf(w, "machine: %s, GOMAXPROCS=%d (NumCPU %d), CPU %s, %s, DuckDB %s\n", m.OS, m.GOMAXPROCS, m.NumCPU, m.CPU, m.Go, m.DuckDB)
	d := r.Data
	fmt.Fprintf(w, "data:    %d pages of %d simulated institutions, replicated as %d collections over %d institution variants:\n",
		d.BasePages, d.Institutions, d.Copies, d.Variants)
	fmt.Fprintf(w, "         %s records, %.1f MB, %s fee rows (%s per collection) on %s (6 partitions); prepared in %s\n",
		thousands(d.Records), float64(d.Bytes)/1e6, thousands(d.FeeRows), thousands(d.FeeRowsPerCopy), "ofp.opendata.raw", r.Prepare.Round(time.Second))

	fmt.Fprintf(w, "\n1. Throughput, Kafka -> Parquet -> DuckDB (whole topic, fresh consumer group each)\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "\telapsed\tCPU time\trecords/s\tfee rows/s\tMB/s\tGo heap start\tGo heap peak\tGo sys peak\tRSS peak\tmax RSS (process)\t\n")
	for _, row := range []struct {
		name string
		t    throughput
	}{{"baseline: franz-go consume", r.Baseline}, {"ours: pipelines.Runner", r.Pipeline}, {"ours without the warehouse (lake only)", r.LakeOnly}} {
		t := row.t
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%.1f\t%s\t%s\t%s\t%s\t%s\t\n", row.name, t.Elapsed.Round(time.Millisecond), t.Mem.CPU.Round(10*time.Millisecond),
			thousands(int64(t.recordsPerSec())), thousands(int64(t.feeRowsPerSec())), t.mbPerSec(),
			mib(t.Mem.HeapStart), mib(t.Mem.HeapPeak), mib(t.Mem.GoSysPeak), mib(t.Mem.RSSPeak), mib(t.Mem.MaxRSS))
	}
	_ = tw.Flush()
	fmt.Fprintf(w, "ours/baseline: %.1f%% (target >= %.0f%%: %s)%s. The pipeline wrote %d lake objects, %s rows over all datasets, %d retries.\n",
		100*r.throughputRatio(), 100*targetThroughput, verdict(r.throughputRatio() >= targetThroughput), r.roundsNote(),
		r.Stats.Objects, thousands(r.Stats.Rows), r.Stats.Retries)
	fmt.Fprintf(w, "The pipeline had committed the topic at %s; the warehouse's checkpoint took the rest.\n",
		r.Pipeline.Committed.Round(time.Millisecond))
	fmt.Fprintf(w, "%s\n", r.stagesNote())
	fmt.Fprintf(w, "Baseline for the warehouse: DuckDB alone stores the same %s files (%s rows) in %s, %s CPU time (a bare file,\n"+
		"one thread as our loads, one CREATE TABLE AS per dataset in one transaction, committed and checkpointed; no deduplication,\n"+
		"source ranges, content index or refresh queue): our loads and final checkpoint took %s, %.1fx.\n",
		thousands(int64(r.RawLoad.Files)), thousands(r.RawLoad.Rows), r.RawLoad.Elapsed.Round(time.Millisecond),
		r.RawLoad.CPU.Round(10*time.Millisecond), r.warehouseTime().Round(time.Millisecond), r.warehouseTime().Seconds()/r.RawLoad.Elapsed.Seconds())
	fmt.Fprintf(w, "%s\n", r.lakeOnlyNote())
	if b := r.cpuBound(); b > 0 {
		fmt.Fprintf(w, "Bound on this machine: without the warehouse the pipeline used %s CPU time, DuckDB alone %s; with all %d cores\n"+
			"busy throughout, it could not finish in less than %s: %.1f%% of round 1's baseline rate, %.1f%% of the median\n"+
			"round's baseline (%s), the one the median ratio compares with.\n",
			r.LakeOnly.Mem.CPU.Round(10*time.Millisecond), r.RawLoad.CPU.Round(10*time.Millisecond), r.Machine.NumCPU,
			b.Round(10*time.Millisecond), 100*r.Baseline.Elapsed.Seconds()/b.Seconds(),
			100*r.medianBaseline().Seconds()/b.Seconds(), r.medianBaseline().Round(time.Millisecond))
	}
	fmt.Fprintf(w, "After the pipeline, the refresh of the comparison tables (in production in the background, RefreshDelay after\n"+
		"the last load; queries meanwhile read the views, section 2) took %s, %s CPU time.\n",
		r.Refresh.Elapsed.Round(time.Millisecond), r.Refresh.CPU.Round(10*time.Millisecond))
	fmt.Fprintf(w, "Pages replayed from the Memo (content seen in an earlier collection): %s; parsed, validated and interpreted: %s.\n",
		thousands(r.Pipeline.MemoHits), thousands(r.Pipeline.MemoMisses))
	fmt.Fprintf(w, "(Go heap includes the in-process kfake cluster holding the whole topic; RSS also counts DuckDB's C heap.)\n")

	fmt.Fprintf(w, "\n2. Fee comparison (median of %d runs after a warm-up; same SQL: warehouse.FeeComparisonSQL)\n", r.Options.QueryRuns)
	fmt.Fprintf(w, "   ours before the refresh: Store.Fees right after the loads (the SQL on the views); after: Store.Fees on the derived table\n")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "query\tours before the refresh\tours after\tbaseline: DuckDB on %d lake files\tours/baseline (before, after)\trows ours\trows baseline\t\n", r.FeeObjects)
	for _, q := range r.Queries {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.2fx, %.2fx\t%s\t%s\t\n", q.label(), ms(median(q.Views)), ms(median(q.Ours)), ms(median(q.Direct)),
			q.viewsRatio(), q.ratio(), thousands(int64(q.OursRows)), thousands(int64(q.DirectRows)))
	}
	_ = tw.Flush()

	fmt.Fprintf(w, "\nSummary\n")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "measure\tours\tbaseline\tratio\ttarget\tresult\t\n")
	name := "pipeline records/s"
	if len(r.Rounds) > 1 {
		name = fmt.Sprintf("pipeline records/s (round 1; ratio: median of %d rounds)", len(r.Rounds))
	}
	fmt.Fprintf(tw, "%s\t%s\t%s\t%.1f%%\t>= %.0f%%\t%s\t\n", name, thousands(int64(r.Pipeline.recordsPerSec())),
		thousands(int64(r.Baseline.recordsPerSec())), 100*r.throughputRatio(), 100*targetThroughput, verdict(r.throughputRatio() >= targetThroughput))
	fmt.Fprintf(tw, "pipeline fee rows/s\t%s\t%s\t\t\t\t\n", thousands(int64(r.Pipeline.feeRowsPerSec())), thousands(int64(r.Baseline.feeRowsPerSec())))
	fmt.Fprintf(tw, "pipeline MB/s\t%.1f\t%.1f\t\t\t\t\n", r.Pipeline.mbPerSec(), r.Baseline.mbPerSec())
	fmt.Fprintf(tw, "pipeline RSS peak\t%s\t%s\t\t\t\t\n", mib(r.Pipeline.Mem.RSSPeak), mib(r.Baseline.Mem.RSSPeak))
	for _, q := range r.Queries {
		fmt.Fprintf(tw, "%s, before the refresh\t%s\t%s\t%.2fx\t<= %.1fx\t%s\t\n", q.Name, ms(median(q.Views)), ms(median(q.Direct)), q.viewsRatio(),
			targetQuery, verdict(q.viewsRatio() <= targetQuery))
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.2fx\t<= %.1fx\t%s\t\n", q.Name, ms(median(q.Ours)), ms(median(q.Direct)), q.ratio(), targetQuery, verdict(q.ratio() <= targetQuery))
	}
	_ = tw.Flush()
	for _, warn := range r.Warnings {
		fmt.Fprintf(w, "WARNING: %s\n", warn)
	}
	fmt.Fprintf(w, "total run time %s\n", r.Total.Round(time.Second))
}

// roundsNote says, when there are several rounds, that the ratio is their
// median and gives each round's.
func (r report) roundsNote() string {
	if len(r.Rounds) < 2 {
		return ""
	}
	parts := make([]string, len(r.Rounds))
	for i, rd := range r.Rounds {
		parts[i] = fmt.Sprintf("%s/%s %.1f%%", rd.Pipeline.Elapsed.Round(time.Millisecond), rd.Baseline.Elapsed.Round(time.Millisecond), 100*rd.ratio())
	}
	return fmt.Sprintf(", the median of %d rounds (ours/baseline elapsed: %s; the table shows round 1)", len(r.Rounds), strings.Join(parts, ", "))
}

func (q queryResult) label() string {
	if q.Filter.Product == "" {
		return q.Name
	}
	return fmt.Sprintf("%s (%s %s)", q.Name, q.Filter.Product, q.Filter.ServiceCode)
}

func main() { os.Exit(realMain()) }

func realMain() int {
	o := defaultOptions()
	fs := flag.NewFlagSet("ofpbench", flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: ofpbench [flags]\n\nMeasures the open-data pipeline (throughput, memory, fee comparison query time)\n"+
			"beside baselines measured in the same run. Everything runs in-process in a temporary directory.\n\n")
		fs.PrintDefaults()
	}
	fs.IntVar(&o.FeeRows, "fee-rows", o.FeeRows, "fee rows the topic holds at least")
	quick := fs.Bool("quick", false, "smoke run: 100,000 fee rows, fewer API requests")
	suite := fs.String("suite", "all", "what to measure: all, pipeline (open data), holder (regulated interface)")
	fs.IntVar(&o.Institutions, "institutions", o.Institutions, "simulated institutions collected as the base set")
	fs.IntVar(&o.Variants, "variants", o.Variants, "institution variants the replicated collections rotate through")
	fs.IntVar(&o.QueryRuns, "query-runs", o.QueryRuns, "timed runs of each query (the median is reported)")
	fs.IntVar(&o.Rounds, "rounds", o.Rounds, "rounds of the throughput pair, baseline then pipeline into a new warehouse (the median ratio is reported)")
	fs.StringVar(&o.CPUProfile, "cpuprofile", "", "write a CPU profile of the pipeline phase to this file")
	fs.StringVar(&o.Trace, "trace", "", "write a runtime execution trace of the pipeline phase (round 1) to this file: `go tool trace` shows what each core did")
	fs.StringVar(&o.MemProfile, "memprofile", "", "write a heap profile (allocations since start) at the end of the pipeline phase to this file")
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *quick {
		o.FeeRows = 100_000
	}
	if o.FeeRows < 1 || o.Institutions < 1 || o.Variants < 1 || o.QueryRuns < 1 || o.Rounds < 1 {
		fmt.Fprintln(os.Stderr, "ofpbench: -fee-rows, -institutions, -variants, -query-runs and -rounds must be positive")
		return 2
	}
	if *suite != "all" && *suite != "pipeline" && *suite != "holder" {
		fmt.Fprintln(os.Stderr, "ofpbench: -suite must be all, pipeline or holder")
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if *suite != "holder" {
		rep, err := run(ctx, o, os.Stderr)
		if err != nil {
			fmt.Fprintln(os.Stderr, "ofpbench:", err)
			return 1
		}
		rep.print(os.Stdout)
	}
	if *suite != "pipeline" {
		if err := runHolder(ctx, *quick, os.Stderr, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "ofpbench:", err)
			return 1
		}
	}
	return 0
}
