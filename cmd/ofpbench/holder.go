package main

import (
	"context"
	"crypto/tls"
	"database/sql"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"

	"github.com/ofp-dev/ofp/authz/authzbench"
	"github.com/ofp-dev/ofp/consent/consentbench"
	"github.com/ofp-dev/ofp/consent/payments/paymentshttp"
	"github.com/ofp-dev/ofp/internal/pki"
)

// postgresDSN is the PostgreSQL the store benchmarks use when it answers:
// OFP_TEST_POSTGRES_DSN, or the machine's local server.
func postgresDSN() string {
	if dsn := os.Getenv("OFP_TEST_POSTGRES_DSN"); dsn != "" {
		return dsn
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// freshSchema creates an empty schema and returns a DSN that uses it.
func freshSchema(ctx context.Context, dsn, name string) (string, func(), error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return "", nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := db.PingContext(cctx); err != nil {
		db.Close()
		return "", nil, err
	}
	if _, err := db.ExecContext(ctx, "DROP SCHEMA IF EXISTS "+name+" CASCADE; CREATE SCHEMA "+name); err != nil {
		db.Close()
		return "", nil, err
	}
	drop := func() {
		_, _ = db.ExecContext(context.Background(), "DROP SCHEMA IF EXISTS "+name+" CASCADE")
		db.Close()
	}
	sep := "?"
	for _, c := range dsn {
		if c == '?' {
			sep = "&"
		}
	}
	return dsn + sep + "search_path=" + name, drop, nil
}

// runHolder measures the regulated interface's stores and APIs, each beside
// its baseline in the same run, and prints the tables.
func runHolder(ctx context.Context, quick bool, progress, w io.Writer) error {
	tmp, err := os.MkdirTemp("", "ofpbench-holder-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	n := 2000
	if quick {
		n = 300
	}

	fmt.Fprintf(w, "\nofpbench: regulated interface, each beside a baseline measured in the same run\n")

	// Token endpoint: client_credentials + private_key_jwt over mTLS vs the
	// same listener answering a fixed token response.
	fmt.Fprintf(w, "\n3a. Token endpoint, client_credentials with private_key_jwt over mTLS, keep-alive (authz/authzbench)\n")
	fmt.Fprintf(progress, "· token endpoint: SQLite\n")
	tr, err := authzbench.Run(ctx, authzbench.Options{Requests: n})
	if err != nil {
		return fmt.Errorf("token bench (SQLite): %w", err)
	}
	tr.Print(w)
	fmt.Fprintf(progress, "· token endpoint: PostgreSQL\n")
	if dsn, drop, err := freshSchema(ctx, postgresDSN(), fmt.Sprintf("ofpbench_authz_%d", os.Getpid())); err != nil {
		fmt.Fprintf(w, "  PostgreSQL not measured: %v\n", err)
	} else {
		tr, err := authzbench.Run(ctx, authzbench.Options{Requests: n, DatabaseURL: dsn})
		drop()
		if err != nil {
			return fmt.Errorf("token bench (PostgreSQL): %w", err)
		}
		tr.Print(w)
	}

	// Consents API: create + read through HTTP vs the same store's raw insert + select.
	fmt.Fprintf(w, "\n3b. Consents API create + read (consent/consentbench)\n")
	fmt.Fprintf(progress, "· consents: SQLite\n")
	if err := os.MkdirAll(filepath.Join(tmp, "consents"), 0o700); err != nil {
		return err
	}
	r, err := consentbench.Run(ctx, consentbench.Options{Engine: "sqlite", Dir: filepath.Join(tmp, "consents"), N: n})
	if err != nil {
		return fmt.Errorf("consent bench (SQLite): %w", err)
	}
	r.Print(w)
	fmt.Fprintf(progress, "· consents: PostgreSQL\n")
	if dsn, drop, err := freshSchema(ctx, postgresDSN(), fmt.Sprintf("ofpbench_consent_%d", os.Getpid())); err != nil {
		fmt.Fprintf(w, "  PostgreSQL not measured: %v (set OFP_TEST_POSTGRES_DSN)\n", err)
	} else {
		r, err := consentbench.Run(ctx, consentbench.Options{Engine: "postgres", DSN: dsn, N: n})
		drop()
		if err != nil {
			return fmt.Errorf("consent bench (PostgreSQL): %w", err)
		}
		r.Print(w)
	}

	// Pix initiation over mTLS vs the same listener answering a fixed body.
	fmt.Fprintf(w, "\n4. Pix payment initiation over mTLS: signed JWT request and answer, idempotency key, store (consent/payments/paymentshttp)\n")
	fmt.Fprintf(progress, "· payments: Pix initiation over mTLS\n")
	bundle, err := pki.Generate(filepath.Join(tmp, "pki"), pki.Options{Clients: []pki.ClientSpec{pki.DemoClient}})
	if err != nil {
		return err
	}
	serve := func(h http.Handler) (string, *http.Client, func(), error) {
		cfg, err := pki.TLSServerConfig(bundle, nil, tls.RequireAndVerifyClientCert)
		if err != nil {
			return "", nil, nil, err
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", nil, nil, err
		}
		srv := &http.Server{Handler: h, TLSConfig: cfg, ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = srv.ServeTLS(ln, "", "") }()
		ccfg, err := pki.TLSClientConfig(bundle, pki.DemoClient.Name)
		if err != nil {
			return "", nil, nil, err
		}
		client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: ccfg, MaxIdleConnsPerHost: 64}}
		return "https://" + ln.Addr().String(), client, func() { _ = srv.Close() }, nil
	}
	reqs := 1000
	if quick {
		reqs = 200
	}
	for _, engine := range []string{"SQLite", "PostgreSQL"} {
		opts := paymentshttp.BenchOptions{Requests: reqs, Serve: serve, Dir: filepath.Join(tmp, "payments")}
		var drop func()
		if engine == "PostgreSQL" {
			dsn, d, err := freshSchema(ctx, postgresDSN(), fmt.Sprintf("ofpbench_pay_%d", os.Getpid()))
			if err != nil {
				fmt.Fprintf(w, "  PostgreSQL not measured: %v\n", err)
				continue
			}
			opts.PostgresDSN, drop = dsn, d
		}
		_ = os.MkdirAll(opts.Dir, 0o700)
		ini, ceil, err := paymentshttp.BenchPixInitiation(ctx, opts)
		if drop != nil {
			drop()
		}
		if err != nil {
			return fmt.Errorf("Pix initiation bench (%s): %w", engine, err)
		}
		fmt.Fprintf(w, "  %-10s ours:    %s\n", engine, ini)
		fmt.Fprintf(w, "  %-10s ceiling: %s\n", "", ceil)
		fmt.Fprintf(w, "  %-10s ours/ceiling throughput %.3f; p99 %s vs %s\n", "", ini.PerSecond/ceil.PerSecond, ini.P99, ceil.P99)
	}
	return nil
}
