package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/ofp-dev/ofp/internal/config"
	"github.com/ofp-dev/ofp/internal/progress"
	"github.com/ofp-dev/ofp/pipelines"
	apipipe "github.com/ofp-dev/ofp/pipelines/apicalls"
	odpipe "github.com/ofp-dev/ofp/pipelines/opendata"
	"github.com/ofp-dev/ofp/pipelines/whload"
	"github.com/ofp-dev/ofp/warehouse"
)

func runWarehouse(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	_, rest, err := subcommand("warehouse", args, stdout, "rebuild")
	if err != nil {
		return err
	}
	cfg := config.Default()
	fs := newFlagSet("warehouse rebuild [flags]",
		"Rebuilds the DuckDB warehouse from the lake alone (every Parquet object of every dataset), into a\n"+
			"new file that replaces the old one only when complete. Queries give the same results as before.\n"+
			"Stop a server running on --data-dir first.",
		"  ofp warehouse rebuild\n  ofp warehouse rebuild --s3-endpoint https://s3.example --s3-bucket ofp-lake --data-dir /srv/ofp",
		stderr)
	cfg.Register(fs, engineFlags...)
	log, release, err := parseAndLock(fs, rest, &cfg, stderr)
	if err != nil {
		return err
	}
	defer release()

	lake, closeLake, err := openLake(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeLake(context.Background())
	final := cfg.Path("warehouse.duckdb")
	tmp := final + ".rebuild"
	if err := warehouse.Remove(tmp); err != nil {
		return err
	}
	wh, err := warehouse.Open(tmp, warehouse.DefaultOptions())
	if err != nil {
		return err
	}
	start := time.Now()
	st, err := pipelines.Rebuild(ctx, lake, whload.Loader{Store: wh}, slices.Concat(odpipe.Datasets, odpipe.LegacyDatasets, apipipe.Datasets), cfg.Path("tmp"), func(total int) pipelines.Progress {
		return progress.New(stderr, log, "rebuilding warehouse", total, 5*time.Second)
	})
	// Close also refreshes the comparison rows the loads queued: if that
	// fails, so does the rebuild.
	if cerr := wh.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = warehouse.Remove(tmp)
		return fmt.Errorf("rebuild failed; the old warehouse is untouched: %w", err)
	}
	if err := warehouse.Replace(tmp, final); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "warehouse rebuilt from the lake: %d objects, %d rows in %s → %s\n", st.Objects, st.Rows, time.Since(start).Round(time.Millisecond), final)
	return nil
}
