package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/ofp-dev/ofp/consent/customerdata"
	"github.com/ofp-dev/ofp/consent/customerdata/databench"
	"github.com/ofp-dev/ofp/internal/config"
	"github.com/ofp-dev/ofp/internal/pki"
	"github.com/ofp-dev/ofp/jobs"
)

// runBench measures the regulated interface as `ofp demo` wires it: the
// customer-data APIs over mTLS with every check, beside the same listener
// answering a fixed body.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := config.Default()
	fs := newFlagSet("bench [flags]",
		"Measures the regulated interface exactly as `ofp demo` wires it (authorization server, consent\n"+
			"store, customer-data APIs, api-call record) in a temporary data dir: throughput and p99 of the\n"+
			"accounts list and of a page of 25 transactions over mTLS with a certificate-bound token, each\n"+
			"beside a ceiling measured in the same run (the same TLS listener answering the same bytes).\n"+
			"The token is obtained like a receiver does: DCR, consent, PAR, login and consent pages, code exchange.",
		"  ofp bench\n  ofp bench --requests 5000 --workers 8",
		stderr)
	requests := fs.Int("requests", 2000, "requests per side of each scenario")
	workers := fs.Int("workers", 4, "concurrent clients, each with its own keep-alive connection")
	if err := fs.Parse(args); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "ofp-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfg.DataDir, cfg.HolderListen, cfg.AccessTokenLifetime, cfg.LogLevel = dir, "127.0.0.1:0", "900s", "error"
	log := newLogger(cfg, stderr)

	fmt.Fprintf(stderr, "· starting the platform and the regulated interface in %s\n", dir)
	p, err := startPlatform(ctx, cfg, log, platformOpts{simulated: true, progress: io.Discard})
	if err != nil {
		return err
	}
	defer p.closeWithin(10 * time.Second)
	var srv *databench.Server
	serve := func(ln net.Listener, tlsCfg *tls.Config, h http.Handler) error {
		s, err := databench.Start(ln, tlsCfg, h)
		srv = s
		return err
	}
	// The bench measures the regulated path, not the per-client limit.
	unlimited := customerdata.LimitOptions{PerSecond: 1e9, Burst: 1 << 30}
	h, err := startHolder(ctx, cfg, log, p, jobs.New(log, nil), true, holderHooks{serve: serve, limit: &unlimited})
	if err != nil {
		return err
	}
	defer h.close(context.Background())
	defer srv.Close()

	bundle, err := pki.Load(h.PKIDir)
	if err != nil {
		return err
	}
	cust := h.Customers[0]
	fmt.Fprintf(stderr, "· obtaining a token as a receiver: DCR, consent, PAR, login, consent page, code exchange\n")
	sess, err := databench.Authorise(ctx, databench.FlowOptions{
		BaseURL: srv.URL(), Issuer: h.Brands[0].Issuer, Bundle: bundle, DirectoryIssuer: cfg.DirectoryIssuer,
		CPF: cust.CPF, Password: cust.Password,
		Permissions: []string{"ACCOUNTS_READ", "ACCOUNTS_TRANSACTIONS_READ", "RESOURCES_READ"},
	})
	if err != nil {
		return fmt.Errorf("obtain a token: %w", err)
	}
	defer sess.Close()
	fmt.Fprintf(stderr, "· measuring %d requests per side with %d workers\n", *requests, *workers)
	res, err := srv.Run(ctx, databench.Target{AccessToken: sess.AccessToken, ClientTLS: sess.ClientTLS},
		databench.Options{Requests: *requests, Workers: *workers})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nofp bench: customer-data APIs as `ofp demo` wires them, over mTLS with every check\n")
	res.Format(stdout)
	fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := h.Recorder.Flush(fctx); err != nil {
		return fmt.Errorf("flush the api-call record: %w", err)
	}
	st := h.Recorder.Stats()
	fmt.Fprintf(stdout, "api-call record: %d calls recorded, %d acknowledged by Kafka, %d dropped; at most %d were in flight (the crash-loss window of this run)\n",
		st.Recorded, st.Acked, st.Dropped, st.MaxPending)
	return nil
}
