package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/ofp-dev/ofp/internal/objstore"
	"github.com/ofp-dev/ofp/warehouse"
)

// rawLoadResult is the warehouse's baseline: what DuckDB alone needs to
// store the rows the pipeline stored.
type rawLoadResult struct {
	Files   int
	Rows    int64
	Elapsed time.Duration // loads, commit and checkpoint
	CPU     time.Duration // the whole process's, over Elapsed
}

// rawLoad copies every lake object of the pipeline's run into dir and
// loads them into a new, bare DuckDB file: one thread, as the warehouse's
// loads run (warehouse.DefaultOptions().LoadThreads), one transaction with
// one CREATE TABLE AS per dataset over its files, committed, then
// checkpointed, as the pipeline phase ends with a checkpoint. No
// deduplication, source ranges, content index or refresh queue: it is the
// least DuckDB itself needs to store those rows, beside which the
// pipeline's loads show what its bookkeeping adds.
func rawLoad(ctx context.Context, lake *objstore.Store, dir string) (rawLoadResult, error) {
	var res rawLoadResult
	sources := map[string]string{}
	for _, ds := range warehouse.Datasets() {
		src, n, err := downloadDataset(ctx, lake, filepath.Join(dir, ds), ds)
		if err != nil {
			return res, err
		}
		if n > 0 {
			sources[ds], res.Files = src, res.Files+n
		}
	}
	if len(sources) == 0 {
		return res, fmt.Errorf("raw DuckDB load: the lake holds no objects")
	}
	file := filepath.Join(dir, "raw.duckdb")
	_ = os.Remove(file)
	db, err := openDirect(file, max(warehouse.DefaultOptions().LoadThreads, 1))
	if err != nil {
		return res, fmt.Errorf("raw DuckDB load: %w", err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if err := db.PingContext(ctx); err != nil { // the file is created outside the timing
		return res, fmt.Errorf("raw DuckDB load: %w", err)
	}

	cpu0, start := cpuTime(), time.Now()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return res, fmt.Errorf("raw DuckDB load: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	for ds, src := range sources {
		if _, err := tx.ExecContext(ctx, "CREATE TABLE "+ds+" AS SELECT * FROM "+src); err != nil {
			return res, fmt.Errorf("raw DuckDB load of %s: %w", ds, err)
		}
		var n int64 // CREATE TABLE AS reports no rows affected
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM "+ds).Scan(&n); err != nil {
			return res, fmt.Errorf("raw DuckDB load of %s: %w", ds, err)
		}
		res.Rows += n
	}
	if err := tx.Commit(); err != nil {
		return res, fmt.Errorf("raw DuckDB load: commit: %w", err)
	}
	if _, err := db.ExecContext(ctx, "CHECKPOINT"); err != nil {
		return res, fmt.Errorf("raw DuckDB load: checkpoint: %w", err)
	}
	res.Elapsed, res.CPU = time.Since(start), cpuTime()-cpu0
	return res, nil
}
