package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/ofp-dev/ofp/authz/idp"
	"github.com/ofp-dev/ofp/authz/idp/idphttp"
	"github.com/ofp-dev/ofp/connectors/corebank"
	"github.com/ofp-dev/ofp/connectors/corebank/corehttp"
	"github.com/ofp-dev/ofp/consent/payments/settlehttp"
	"github.com/ofp-dev/ofp/internal/backendrpc"
	"github.com/ofp-dev/ofp/internal/config"
	"github.com/ofp-dev/ofp/sim/spi"
)

// runSimBackend serves the back-end contract (core reads and customer
// logins) from the synthetic core: what an institution implements in
// front of its systems, to try `ofp serve --backend-url` against.
func runSimBackend(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("sim backend [flags]",
		"Serves the back-end contract the data holder reads customers and their data through, checks\n"+
			"and settles Pix payments through (POST /core/v1/<method>, /idp/v1/authenticate,\n"+
			"/payments/v1/{check,submit,outcomes,outcomes/ack}; see connectors/corebank/corehttp,\n"+
			"authz/idp/idphttp, consent/payments/settlehttp) from the synthetic core and a simulated SPI:\n"+
			"10,000 SYNTHETIC customers, one password and one one-time code for all, printed at start.\n"+
			"It speaks plain HTTP, so it listens on loopback only.",
		"  export OFP_BACKEND_TOKEN=$(openssl rand -hex 16)\n"+
			"  ofp sim backend --listen 127.0.0.1:8091 &\n"+
			"  ofp serve --backend-url http://127.0.0.1:8091 --ispb 12345678 ...",
		stderr)
	listen := fs.String("listen", "127.0.0.1:8091", "loopback address to serve on")
	token := fs.String("token", "", "bearer token callers must present; empty: $OFP_BACKEND_TOKEN, else none")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *token == "" {
		*token = os.Getenv(config.EnvName(config.FlagBackendToken))
	}
	base, creds, stop, err := startSimBackend(*listen, *token, nil)
	if err != nil {
		return err
	}
	defer stop()
	fmt.Fprintf(stdout, "simulated back end on %s (SYNTHETIC customers)\n  contract: %s/openapi.yaml\n  ofp serve --backend-url %s --ispb <8 digits>", base, base, base)
	if *token != "" {
		fmt.Fprintf(stdout, "  (and OFP_BACKEND_TOKEN)")
	}
	fmt.Fprintf(stdout, "\n  test customers:\n")
	printTestCustomers(stdout, creds)
	fmt.Fprintf(stdout, "Ctrl-C to stop.\n")
	<-ctx.Done()
	return nil
}

// startSimBackend serves the contract on addr (loopback only), and its
// OpenAPI document at /openapi.yaml, and returns its base URL, a few test
// logins and a stop function. wrap, when set, wraps the contract's
// handler (the tests check the traffic against the document).
func startSimBackend(addr, token string, wrap func(http.Handler) http.Handler) (string, []idp.TestCredential, func(), error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return "", nil, nil, fmt.Errorf("--listen %q: %w", addr, err)
	}
	if !backendrpc.Loopback(host) {
		return "", nil, nil, fmt.Errorf("--listen %q: the simulated back end speaks plain HTTP and listens on loopback only (127.0.0.1:8091)", addr)
	}
	core, err := corebank.NewSynthetic(corebank.DefaultOptions())
	if err != nil {
		return "", nil, nil, err
	}
	pw, err := randomHex(6)
	if err != nil {
		return "", nil, nil, err
	}
	otp, err := randomHex(3)
	if err != nil {
		return "", nil, nil, err
	}
	demo := newDemoIdentity(core, pw, otp)
	mux := http.NewServeMux()
	corehttp.Register(mux, core, token)
	idphttp.Register(mux, demo, token)
	// Payments: the simulated SPI checks and settles (amounts listed in
	// sim/spi force other outcomes); the holder polls its outcomes.
	eng := spi.New(spi.Options{CheckDelay: 50 * time.Millisecond, SettleDelay: 500 * time.Millisecond})
	settle := settlehttp.NewServer(eng, eng)
	settle.Register(mux, token)
	spiCtx, stopSPI := context.WithCancel(context.Background())
	spiDone := make(chan struct{})
	go func() { defer close(spiDone); _ = eng.Run(spiCtx, settle.Report) }()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		stopSPI()
		return "", nil, nil, fmt.Errorf("listen for the simulated back end on %s: %w", addr, err)
	}
	var contract http.Handler = mux
	if wrap != nil {
		contract = wrap(mux)
	}
	root := http.NewServeMux()
	root.HandleFunc("GET /openapi.yaml", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		_, _ = w.Write(backendrpc.Contract)
	})
	root.Handle("/", contract)
	srv := &http.Server{Handler: root, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Println("simulated back end stopped:", err)
		}
	}()
	logins := demo.testCredentials()
	stop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		stopSPI()
		<-spiDone
	}
	return "http://" + ln.Addr().String(), logins, stop, nil
}

// printTestCustomers lists test logins, one per line.
func printTestCustomers(w io.Writer, creds []idp.TestCredential) {
	for _, c := range creds {
		if c.CNPJ != "" {
			fmt.Fprintf(w, "    %s  CPF %s for CNPJ %s  password %s  one-time code %s\n", c.Kind, c.CPF, c.CNPJ, c.Password, c.OTP)
		} else {
			fmt.Fprintf(w, "    %s  CPF %s  password %s  one-time code %s\n", c.Kind, c.CPF, c.Password, c.OTP)
		}
	}
}
