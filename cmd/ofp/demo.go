package main

import (
	"context"
	"database/sql"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx" for --database-url
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ofp-dev/ofp/internal/config"
	"github.com/ofp-dev/ofp/internal/rbac"
	"github.com/ofp-dev/ofp/jobs"
	"github.com/ofp-dev/ofp/jobs/jobslock"
	"github.com/ofp-dev/ofp/sim"
	"github.com/ofp-dev/ofp/warehouse"
)

const jobCollectOpenData = "collect-opendata"

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := config.Default()
	fs := newFlagSet("demo [flags]",
		"Runs the whole platform on embedded engines — Kafka (kfake), S3 over ./var/lake, DuckDB —\n"+
			"with a simulated Open Finance ecosystem (central directory + institutions serving open data).\n"+
			"It collects open data at once and then on --schedule. Figures shown under real institutions'\n"+
			"names are SIMULATED and labelled so. Ctrl-C stops it; a restart keeps every record.",
		"  ofp demo\n  ofp demo --schedule '@every 10m' --listen 127.0.0.1:9000\n  ofp demo --sim-faults demo   # some institutions misbehave",
		stderr)
	cfg.Register(fs, config.FlagDataDir, config.FlagListen, config.FlagSchedule, config.FlagLogLevel, config.FlagLogFormat,
		config.FlagHolderListen, config.FlagHolderURL, config.FlagBrands, config.FlagAccessTokenLifetime)
	simListen := fs.String("sim-listen", "127.0.0.1:0", "address of the simulated ecosystem")
	simFaults := fs.String("sim-faults", "demo", "fault profile of the simulated institutions: none, demo, or a spec (see `ofp sim --help`)")
	log, release, err := parseAndLock(fs, args, &cfg, stderr)
	if err != nil {
		return err
	}
	defer release()

	simURL, stopSim, err := startSim(*simListen, *simFaults, 0)
	if err != nil {
		return err
	}
	defer stopSim()
	cfg.DirectoryURL = simURL + "/participants"
	return servePlatform(ctx, cfg, log, stdout, true)
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := config.Default()
	fs := newFlagSet("serve [flags]",
		"Runs the platform against configured engines: Kafka (--kafka-brokers), S3 (--s3-*), the real\n"+
			"central directory (--directory-url). Engines left unset fall back to the embedded ones in --data-dir.",
		"  OFP_S3_SECRET_KEY=... ofp serve --kafka-brokers k1:9092,k2:9092 --s3-endpoint https://s3.example \\\n"+
			"      --s3-bucket ofp-lake --s3-access-key AK --directory-url https://data.directory.openbankingbrasil.org.br/participants",
		stderr)
	cfg.Register(fs, config.FlagDataDir, config.FlagListen, config.FlagKafka, config.FlagS3Endpoint, config.FlagS3Bucket,
		config.FlagS3AccessKey, config.FlagS3SecretKey, config.FlagS3Region, config.FlagDirectoryURL, config.FlagSchedule,
		config.FlagDatabaseURL, config.FlagLogLevel, config.FlagLogFormat)
	cfg.Register(fs, config.HolderFlags...)
	log, release, err := parseAndLock(fs, args, &cfg, stderr)
	if err != nil {
		return err
	}
	defer release()
	return servePlatform(ctx, cfg, log, stdout, false)
}

// startSim serves the simulated ecosystem and returns its base URL.
func startSim(addr, faults string, productsPerEndpoint int) (string, func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("listen for the simulator on %s: %w", addr, err)
	}
	base := "http://" + ln.Addr().String()
	scfg := sim.DefaultConfig(base)
	if productsPerEndpoint > 0 {
		scfg.ProductsPerEndpoint = productsPerEndpoint
	}
	if scfg.Faults, err = simFaultProfile(faults); err != nil {
		ln.Close()
		return "", nil, err
	}
	eco, err := sim.New(scfg)
	if err != nil {
		ln.Close()
		return "", nil, fmt.Errorf("build the simulated ecosystem: %w", err)
	}
	srv := &http.Server{Handler: eco.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return base, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}

// servePlatform runs the platform, its scheduler and its internal
// listener until ctx is cancelled, then shuts down within 10 s.
func servePlatform(ctx context.Context, cfg config.Config, log *slog.Logger, stdout io.Writer, simulated bool) error {
	p, err := startPlatform(ctx, cfg, log, platformOpts{simulated: simulated})
	if err != nil {
		return err
	}
	defer func() {
		p.closeWithin(10 * time.Second)
		log.Info("stopped")
	}()

	var locker jobs.Locker
	if cfg.DatabaseURL != "" {
		db, err := sql.Open("pgx", cfg.DatabaseURL)
		if err != nil {
			return fmt.Errorf("--database-url: %w", err)
		}
		defer db.Close()
		if err := db.PingContext(ctx); err != nil {
			return fmt.Errorf("--database-url: PostgreSQL does not answer (check the URL and that the server is up): %w", err)
		}
		locker = jobslock.New(db, "ofp").WithLogger(log)
	}
	p.scheduler = jobs.New(log.With("component", "jobs"), locker)
	if err := p.scheduler.Register(jobCollectOpenData, cfg.Schedule, func(ctx context.Context) error {
		sum, err := p.collectOpenData(ctx, cfg.DirectoryURL)
		log.Info("open-data collection", "collection", sum.CollectionID, "institutions", sum.Institutions, "ok", sum.OK,
			"partial", sum.Partial, "failed", sum.Failed, "pages", sum.Pages)
		return err
	}); err != nil {
		return err
	}

	// The regulated interface: always in demo, in production once its
	// certificate is configured.
	var h *holder
	if simulated || cfg.TLSCert != "" {
		if h, err = startHolder(ctx, cfg, log, p, p.scheduler, simulated, holderHooks{}); err != nil {
			return fmt.Errorf("start the regulated interface: %w", err)
		}
		defer h.close(context.Background())
	} else {
		log.Info("regulated interface off: set --tls-cert, --tls-key, --client-ca, --transport-cert, --transport-key, --directory-jwks, --org-id, --users-file and --session-key to serve it")
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	p.registerMetrics(reg)
	if h != nil && h.backend != nil {
		reg.MustRegister(backendCollector{h.backend})
	}

	mux := http.NewServeMux()
	// The jobs admin API: viewers read, operators run; local commands use
	// the CLI token in <data-dir>/secrets.
	var staff rbac.Authenticator
	if h != nil {
		staff = h.staff
	}
	admin, err := newCLIAuth(cfg.DataDir, staff)
	if err != nil {
		return err
	}
	guard := rbac.NewGuard(admin, rbac.GuardOptions{Logger: log})
	jobsAPI := guard.RequireMethods(rbac.RoleViewer, rbac.RoleOperator)(p.scheduler.Handler())
	// The analytics API needs a viewer (local commands: the CLI token).
	mux.Handle("/analytics/", guard.Require(rbac.RoleViewer)(
		warehouse.NewAPI(p.wh, log.With("component", "analytics"))))
	mux.Handle("/admin/v1/jobs", jobsAPI)
	mux.Handle("/admin/v1/jobs/", jobsAPI)
	mux.Handle("GET /metrics", guard.Require(rbac.RoleViewer)(promhttp.HandlerFor(reg, promhttp.HandlerOpts{})))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) { indexPage(w, cfg.DirectoryURL, simulated) })
	if h != nil {
		h.Mount(mux)
	}
	url, shutdown, err := p.serveHTTP(cfg.Listen, mux)
	if err != nil {
		return err
	}
	info := serverInfo{URL: url, PID: os.Getpid()}
	if h != nil {
		info.HolderURL = h.URL
	}
	if err := writeServerInfo(cfg.DataDir, info); err != nil {
		return fmt.Errorf("write %s/server.json: %w", cfg.DataDir, err)
	}
	p.scheduler.Start()
	printBanner(stdout, cfg, url, simulated)
	if h != nil {
		printHolderBanner(stdout, h, url)
	}
	go func() { _, _ = p.scheduler.RunNow(ctx, jobCollectOpenData) }() // the first collection runs at once

	<-ctx.Done()
	log.Info("stopping (Ctrl-C again to force)")
	sctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if h != nil {
		h.shutdown(sctx) // stop the regulated listener, then flush the api-call record
	}
	_ = shutdown(sctx)
	return nil
}

func printBanner(w io.Writer, cfg config.Config, url string, simulated bool) {
	fmt.Fprintf(w, "\nofp is running.\n\n")
	if simulated {
		fmt.Fprintf(w, "  Institutions are SIMULATED (directory %s): figures under real names are not real.\n\n", cfg.DirectoryURL)
	}
	fmt.Fprintf(w, "  Home page            %s/\n", url)
	fmt.Fprintf(w, "  Fee comparison       %s/analytics/v1/fees?product=personal-accounts\n", url)
	fmt.Fprintf(w, "  Rate comparison      %s/analytics/v1/rates?product=personal-loans\n", url)
	fmt.Fprintf(w, "  Data quality         %s/analytics/v1/quality\n", url)
	fmt.Fprintf(w, "  Jobs                 %s/admin/v1/jobs   (collection schedule %q)\n", url, cfg.Schedule)
	fmt.Fprintf(w, "  Metrics              %s/metrics\n\n", url)
	fmt.Fprintf(w, "  Try, in another terminal:\n")
	fmt.Fprintf(w, "    ofp report fees --data-dir %s --product personal-accounts\n", cfg.DataDir)
	fmt.Fprintf(w, "    ofp report rates --data-dir %s --format chart\n", cfg.DataDir)
	fmt.Fprintf(w, "    ofp collect opendata --once --data-dir %s      # collect now (asks this server)\n\n", cfg.DataDir)
	fmt.Fprintf(w, "  Data: %s (Kafka log, lake, warehouse). Ctrl-C stops; a restart keeps everything.\n\n", cfg.DataDir)
}

func printHolderBanner(w io.Writer, h *holder, internal string) {
	fmt.Fprintf(w, "  Regulated interface (FAPI-BR, TLS + mTLS) %s\n", h.URL)
	for _, b := range h.Brands {
		fmt.Fprintf(w, "    brand %-8s issuer %s  (discovery %s/.well-known/openid-configuration)\n", b.ID, b.Issuer, b.Issuer)
	}
	fmt.Fprintf(w, "    Consents API  %s/open-banking/consents/v3/consents   (also accounts v2, credit-cards-accounts v2, customers v2, resources v3, payments v4)\n", h.URL)
	if h.PartnerKeyFile != "" {
		fmt.Fprintf(w, "    Partner API   %s%s{id}/data   (partner demo-partner, key in %s)\n", h.URL, "/partner/v1/consents/", h.PartnerKeyFile)
	}
	if h.PKIDir != "" {
		fmt.Fprintf(w, "    Test PKI      %s  (root-ca.crt trusts the server; client-demo-tpp.crt/.key is a TPP certificate;\n", h.PKIDir)
		fmt.Fprintf(w, "                  directory-signing.key signs software statements, directory.jwks verifies them)\n")
	}
	if len(h.Customers) > 0 {
		fmt.Fprintf(w, "  Test customers (synthetic, for the login page and the portal):\n")
		printTestCustomers(w, h.Customers)
	}
	fmt.Fprintf(w, "  Customer portal      %s/portal/   (consents; scheduled Pix payments, cancellable)\n", internal)
	fmt.Fprintf(w, "  Operator console     %s/console/", internal)
	if h.Operator[0] != "" {
		fmt.Fprintf(w, "   (demo operator %s / %s)", h.Operator[0], h.Operator[1])
	}
	fmt.Fprintf(w, "\n\n")
}

var indexTmpl = template.Must(template.New("index").Parse(`<!doctype html><html lang="en"><meta charset="utf-8"><title>ofp</title>
<body style="font-family:sans-serif;max-width:50em;margin:2em auto">
<h1>ofp — Open Finance platform</h1>
{{if .Simulated}}<p><strong>Demo:</strong> institutions are simulated. Every figure here is SIMULATED, even under real institutions' names.</p>{{end}}
<ul>
<li><a href="/analytics/v1/fees">Fee comparison (JSON)</a> · <a href="/analytics/v1/fees?format=csv">CSV</a></li>
<li><a href="/analytics/v1/rates">Interest-rate comparison</a></li>
<li><a href="/analytics/v1/quality">Data quality per institution</a> · <a href="/analytics/v1/quarantine">Quarantined items</a> · <a href="/analytics/v1/collections">Collection status</a></li>
<li><a href="/admin/v1/jobs">Scheduled jobs</a> (POST /admin/v1/jobs/collect-opendata/run to collect now)</li>
<li><a href="/metrics">Prometheus metrics</a></li>
</ul><p>Directory: <code>{{.Directory}}</code></p></body></html>`))

func indexPage(w http.ResponseWriter, dir string, simulated bool) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = indexTmpl.Execute(w, map[string]any{"Directory": dir, "Simulated": simulated})
}
