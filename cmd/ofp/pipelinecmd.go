package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/ofp-dev/ofp/internal/config"
)

func runPipeline(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	_, rest, err := subcommand("pipeline", args, stdout, "opendata")
	if err != nil {
		return err
	}
	cfg := config.Default()
	fs := newFlagSet("pipeline opendata [flags]",
		"Runs only the open-data pipeline: consumes ofp.opendata.raw in the consumer group\n"+
			"ofp-pipeline-opendata, writes Parquet to the lake, loads the warehouse, commits offsets.\n"+
			"Run one per warehouse replica; stop it with Ctrl-C (the batch in hand is finished or redone).",
		"  ofp pipeline opendata --kafka-brokers k1:9092 --s3-endpoint https://s3.example --s3-bucket ofp-lake\n"+
			"  ofp pipeline opendata --kafka-brokers 127.0.0.1:9092 --s3-endpoint http://127.0.0.1:7070 --until-idle 5s",
		stderr)
	cfg.Register(fs, engineFlags...)
	untilIdle := fs.Duration("until-idle", 0, "exit once nothing new arrived for this long (0 = run until stopped)")
	log, release, err := parseAndLock(fs, rest, &cfg, stderr)
	if err != nil {
		return err
	}
	defer release()
	p, err := startPlatform(ctx, cfg, log, platformOpts{})
	if err != nil {
		return err
	}
	defer p.closeWithin(10 * time.Second)
	if *untilIdle <= 0 {
		<-ctx.Done()
		return nil
	}
	last, idleSince := p.runner.Stats(), time.Now()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		st := p.runner.Stats()
		if st != last || st.Busy {
			last, idleSince = st, time.Now()
			continue
		}
		if time.Since(idleSince) >= *untilIdle {
			fmt.Fprintf(stdout, "pipeline idle for %s: %d records, %d rows, %d objects\n", *untilIdle, st.Records, st.Rows, st.Objects)
			return nil
		}
	}
}
