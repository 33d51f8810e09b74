package main

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	_ "github.com/duckdb/duckdb-go/v2" // the "duckdb" database/sql driver

	"github.com/ofp-dev/ofp/internal/objstore"
	odpipe "github.com/ofp-dev/ofp/pipelines/opendata"
	"github.com/ofp-dev/ofp/warehouse"
)

// queryResult is one fee comparison timed three ways.
type queryResult struct {
	Name   string
	Filter warehouse.FeeFilter
	// Views is warehouse.Store.Fees right after the loads, before the
	// comparison tables are refreshed: the reference SQL on the views.
	Views      []time.Duration
	Ours       []time.Duration // warehouse.Store.Fees once refreshed: the derived table
	Direct     []time.Duration // the same SQL on the Parquet files, bare DuckDB
	OursRows   int
	ViewsRows  int
	DirectRows int
}

// refreshResult is the refresh of the comparison tables after the
// pipeline's loads.
type refreshResult struct {
	Elapsed, CPU time.Duration
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func (q queryResult) ratio() float64 {
	return median(q.Ours).Seconds() / median(q.Direct).Seconds()
}

func (q queryResult) viewsRatio() float64 {
	return median(q.Views).Seconds() / median(q.Direct).Seconds()
}

// downloadFees copies every opendata_pages and opendata_fee_items object of
// the lake into dir and returns the relation of the opendata_fees view over
// them (warehouse.FeesViewSQL; the items deduplicated, as the warehouse
// stores each content's items once while the lake may hold them more than
// once), with the number of files.
func downloadFees(ctx context.Context, lake *objstore.Store, dir string) (string, int, error) {
	pages, np, err := downloadDataset(ctx, lake, filepath.Join(dir, "pages"), odpipe.DatasetPages)
	if err == nil && np == 0 {
		err = fmt.Errorf("the lake holds no %s objects", odpipe.DatasetPages)
	}
	if err != nil {
		return "", 0, err
	}
	items, ni, err := downloadDataset(ctx, lake, filepath.Join(dir, "items"), odpipe.DatasetFeeItems)
	if err == nil && ni == 0 {
		err = fmt.Errorf("the lake holds no %s objects", odpipe.DatasetFeeItems)
	}
	if err != nil {
		return "", 0, err
	}
	items = "(SELECT DISTINCT ON (content_key, item_index) * FROM " + items + ")"
	return "(" + warehouse.FeesViewSQL(pages, items) + ")", np + ni, nil
}

// downloadDataset copies every object of dataset into dir and returns the
// read_parquet([...]) source expression over them and their number (0,
// and no expression, when the lake holds none).
func downloadDataset(ctx context.Context, lake *objstore.Store, dir, dataset string) (string, int, error) {
	objs, err := lake.List(ctx, dataset+"/")
	if err != nil || len(objs) == 0 {
		return "", 0, err
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", 0, err
	}
	quoted := make([]string, 0, len(objs))
	for i, o := range objs {
		b, err := lake.Get(ctx, o.Key)
		if err != nil {
			return "", 0, err
		}
		p := filepath.Join(dir, fmt.Sprintf("%05d-%s", i, path.Base(o.Key)))
		if err := os.WriteFile(p, b, 0o600); err != nil {
			return "", 0, fmt.Errorf("write %s: %w", p, err)
		}
		quoted = append(quoted, "'"+strings.ReplaceAll(p, "'", "''")+"'")
	}
	return "read_parquet([" + strings.Join(quoted, ", ") + "])", len(objs), nil
}

// openDirect opens a bare DuckDB at file ("" for in memory) with the
// warehouse's engine settings (warehouse.DefaultOptions: memory limit,
// checkpoint threshold) and threads, so that a baseline measures our
// layer, not a different engine budget.
func openDirect(file string, threads int) (*sql.DB, error) {
	o := warehouse.DefaultOptions()
	v := url.Values{}
	v.Set("autoinstall_known_extensions", "false")
	v.Set("autoload_known_extensions", "false")
	v.Set("memory_limit", o.MemoryLimit)
	v.Set("checkpoint_threshold", o.CheckpointThreshold)
	v.Set("threads", fmt.Sprint(threads))
	db, err := sql.Open("duckdb", file+"?"+v.Encode())
	if err != nil {
		return nil, fmt.Errorf("open DuckDB: %w", err)
	}
	return db, nil
}

// timeRun times one run of f, appending its duration to times and keeping
// the rows it returned in rows.
func timeRun(times *[]time.Duration, rows *int, f func() (int, error)) error {
	t := time.Now()
	n, err := f()
	if err != nil {
		return err
	}
	*times = append(*times, time.Since(t))
	*rows = n
	return nil
}

// oursRows runs the warehouse's comparison and returns its row count.
func oursRows(ctx context.Context, wh *warehouse.Store, f warehouse.FeeFilter) (int, error) {
	got, err := wh.Fees(ctx, f)
	return len(got), err
}

// runDirect executes sqlText and reads every column of every row.
func runDirect(ctx context.Context, db *sql.DB, sqlText string, args []any) (int, error) {
	rows, err := db.QueryContext(ctx, sqlText, args...)
	if err != nil {
		return 0, fmt.Errorf("direct fee comparison: %w", err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return 0, err
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	n := 0
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return n, fmt.Errorf("direct fee comparison: %w", err)
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return n, fmt.Errorf("direct fee comparison: %w", err)
	}
	return n, nil
}

// duckdbVersion names the engine (for the header).
func duckdbVersion(ctx context.Context, db *sql.DB) string {
	var v string
	if err := db.QueryRowContext(ctx, "SELECT version()").Scan(&v); err != nil {
		return "?"
	}
	return v
}

// pickFilter chooses the product and service code of the largest fee
// group (ties: first in the comparison's order).
func pickFilter(all []warehouse.FeeComparison) warehouse.FeeFilter {
	var best warehouse.FeeComparison
	for _, r := range all {
		if r.GroupSize > best.GroupSize {
			best = r
		}
	}
	return warehouse.FeeFilter{Product: best.Product, ServiceCode: best.ServiceCode}
}

// benchQueries times the fee comparisons: first ours right after the
// pipeline's loads (the views), then the refresh of the comparison tables,
// then, after one untimed warm-up of each side, runs rounds alternating
// ours (the derived table) and direct.
func benchQueries(ctx context.Context, wh *warehouse.Store, db *sql.DB, source string, runs int) ([]queryResult, refreshResult, error) {
	var rr refreshResult
	all, err := wh.Fees(ctx, warehouse.FeeFilter{})
	if err != nil {
		return nil, rr, err
	}
	qs := []queryResult{
		{Name: "fees, all groups", Filter: warehouse.FeeFilter{}},
		{Name: "fees, one product + code", Filter: pickFilter(all)},
	}
	// Right after the loads: the views (the derived tables are stale).
	for i := range qs {
		q := &qs[i]
		if _, err := wh.Fees(ctx, q.Filter); err != nil { // warm-up
			return nil, rr, err
		}
		for range runs {
			if err := timeRun(&q.Views, &q.ViewsRows, func() (int, error) { return oursRows(ctx, wh, q.Filter) }); err != nil {
				return nil, rr, err
			}
		}
	}
	// The refresh the background would run RefreshDelay after the last load.
	t, cpu := time.Now(), cpuTime()
	if err := wh.RefreshPending(ctx); err != nil {
		return nil, rr, err
	}
	rr = refreshResult{Elapsed: time.Since(t), CPU: cpuTime() - cpu}
	sqlText := warehouse.FeeComparisonSQL(source)
	for i := range qs {
		q := &qs[i]
		// Warm-up (file metadata, caches) of both sides.
		if _, err := wh.Fees(ctx, q.Filter); err != nil {
			return nil, rr, err
		}
		if _, err := runDirect(ctx, db, sqlText, q.Filter.Args()); err != nil {
			return nil, rr, err
		}
		for range runs {
			if err := timeRun(&q.Ours, &q.OursRows, func() (int, error) { return oursRows(ctx, wh, q.Filter) }); err != nil {
				return nil, rr, err
			}
			if err := timeRun(&q.Direct, &q.DirectRows, func() (int, error) { return runDirect(ctx, db, sqlText, q.Filter.Args()) }); err != nil {
				return nil, rr, err
			}
		}
	}
	return qs, rr, nil
}
