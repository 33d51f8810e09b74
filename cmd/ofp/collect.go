package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ofp-dev/ofp/ingest"
	"github.com/ofp-dev/ofp/internal/config"
	"github.com/ofp-dev/ofp/jobs"
)

// engineFlags are the settings that pick Kafka, S3 and the data dir.
var engineFlags = []string{config.FlagDataDir, config.FlagKafka, config.FlagS3Endpoint, config.FlagS3Bucket,
	config.FlagS3AccessKey, config.FlagS3SecretKey, config.FlagS3Region, config.FlagLogLevel, config.FlagLogFormat}

func runCollect(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	_, rest, err := subcommand("collect", args, stdout, "opendata")
	if err != nil {
		return err
	}
	cfg := config.Default()
	fs := newFlagSet("collect opendata [flags]",
		"Collects every participant's public product and fee data found through the central directory:\n"+
			"Kafka (ofp.opendata.raw) → lake (Parquet) → warehouse. With --once it returns when the data is\n"+
			"queryable and exits non-zero when nothing could be collected; without it, it collects on --schedule.\n"+
			"If an ofp server is running on --data-dir, the collection runs inside it.",
		"  ofp collect opendata --once --sim                     # against the built-in simulator\n"+
			"  ofp collect opendata --once --directory-url https://data.directory.openbankingbrasil.org.br/participants\n"+
			"  ofp collect opendata --schedule '0 */6 * * *' --directory-url URL --kafka-brokers k1:9092 --s3-endpoint URL",
		stderr)
	cfg.Register(fs, append(engineFlags, config.FlagDirectoryURL, config.FlagSchedule)...)
	once := fs.Bool("once", false, "collect once and exit")
	useSim := fs.Bool("sim", false, "collect from a simulated ecosystem started in-process (figures are labelled simulated)")
	if err := fs.Parse(rest); err != nil {
		return err
	}
	log := newLogger(cfg, stderr)

	if info, busy := runningServer(cfg.DataDir); busy {
		if info.URL == "" {
			return fmt.Errorf("another ofp process is using %s (a collection or rebuild); wait for it or use another --data-dir", cfg.DataDir)
		}
		if !*once {
			return fmt.Errorf("an ofp server (%s) already collects on its own schedule on %s", info.URL, cfg.DataDir)
		}
		log.Info("an ofp server is running on this data dir; asking it to collect", "server", info.URL)
		return triggerRemoteCollection(ctx, info.URL, cfg.DataDir, stdout)
	}
	release, err := lockDataDir(cfg.DataDir)
	if err != nil {
		return err
	}
	defer release()

	simulated := false
	if *useSim {
		base, stop, err := startSim("127.0.0.1:0", "none", 0)
		if err != nil {
			return err
		}
		defer stop()
		cfg.DirectoryURL, simulated = base+"/participants", true
	}
	p, err := startPlatform(ctx, cfg, log, platformOpts{simulated: simulated})
	if err != nil {
		return err
	}
	defer p.closeWithin(10 * time.Second)

	if *once {
		sum, err := p.collectOpenData(ctx, cfg.DirectoryURL)
		printSummary(stdout, sum)
		if errors.Is(err, ingest.ErrNothingCollected) {
			return exitError{1, err}
		}
		return err
	}
	p.scheduler = jobs.New(log.With("component", "jobs"), nil)
	if err := p.scheduler.Register(jobCollectOpenData, cfg.Schedule, func(ctx context.Context) error {
		sum, err := p.collectOpenData(ctx, cfg.DirectoryURL)
		printSummary(stdout, sum)
		return err
	}); err != nil {
		return err
	}
	p.scheduler.Start()
	fmt.Fprintf(stdout, "collecting on schedule %q; Ctrl-C to stop\n", cfg.Schedule)
	<-ctx.Done()
	return nil
}

func printSummary(w io.Writer, s ingest.Summary) {
	if s.CollectionID == "" {
		return
	}
	fmt.Fprintf(w, "collection %s: %d institutions (%d ok, %d partial, %d failed), %d pages in %s\n",
		s.CollectionID, s.Institutions, s.OK, s.Partial, s.Failed, s.Pages, s.FinishedAt.Sub(s.StartedAt).Round(time.Millisecond))
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ORGANISATION\tBRAND\tSTATUS\tNOT OFFERED\tPAGES\tFAILED\tRETRIES\tERRORS")
	for _, st := range s.Statuses {
		errs := strings.Join(st.Errors, "; ")
		if len(errs) > 120 {
			errs = errs[:117] + "..."
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%s\n", st.Institution.OrganisationName, st.Institution.Brand, st.Status,
			len(st.NotOffered), st.Pages, st.FailedPages, st.Retries, errs)
	}
	_ = tw.Flush()
}

func triggerRemoteCollection(ctx context.Context, server, dataDir string, stdout io.Writer) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, server+"/admin/v1/jobs/"+jobCollectOpenData+"/run", nil)
	if err != nil {
		return err
	}
	tok, err := cliToken(dataDir)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("ask the running server to collect: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusConflict {
		return errors.New("the running server is collecting right now; see " + server + "/admin/v1/jobs")
	}
	var run jobs.Run
	if err := json.NewDecoder(resp.Body).Decode(&run); err != nil || resp.StatusCode != http.StatusOK {
		return fmt.Errorf("the running server answered %s", resp.Status)
	}
	fmt.Fprintf(stdout, "collection by %s: %s (%s)\n", server, run.Status, run.FinishedAt.Sub(run.StartedAt).Round(time.Millisecond))
	if run.Status != "ok" {
		return exitError{1, fmt.Errorf("collection %s: %s", run.Status, run.Error)}
	}
	return nil
}
