package paymentshttp

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/ofp-dev/ofp/consent/payments"
	"github.com/ofp-dev/ofp/consent/payments/jwtbody"
	"github.com/ofp-dev/ofp/consent/payments/paymentsql"
)

// BenchOptions configures BenchPixInitiation. Zero fields take the
// defaults noted.
type BenchOptions struct {
	// Requests is how many initiations (and as many ceiling requests) are
	// timed; default 1000.
	Requests int
	// Concurrency is the number of client goroutines; default 8.
	Concurrency int
	// PostgresDSN selects PostgreSQL; empty = a SQLite file in Dir.
	PostgresDSN string
	// Dir holds the SQLite file; default a fresh temporary directory,
	// removed afterwards.
	Dir string
	// Serve, when set, serves h and returns the base URL and a client for
	// it plus a stop function (e.g. the mTLS listener of cmd/ofp). Default:
	// plain HTTP on a loopback port.
	Serve func(h http.Handler) (baseURL string, client *http.Client, stop func(), err error)
}

// BenchResult is one measured series.
type BenchResult struct {
	Name      string
	Requests  int
	Errors    int
	Elapsed   time.Duration
	PerSecond float64
	P50, P99  time.Duration
}

func (r BenchResult) String() string {
	return fmt.Sprintf("%-22s %6d req  %8.1f req/s  p50 %-10v p99 %-10v errors %d", r.Name, r.Requests, r.PerSecond,
		r.P50.Round(time.Microsecond), r.P99.Round(time.Microsecond), r.Errors)
}

const benchCeilingPath = "/bench/ceiling"

// BenchPixInitiation measures POST /pix/payments through the real handler
// (signed JWT verified with the client's key, jti recorded, idempotency
// key recorded, consent locked and consumed, payment stored, answer
// signed with the holder's key) against a ceiling measured in the same run
// on the same listener: a handler answering a fixed pre-signed 201 body.
// Consents are created and authorised, and request bodies signed, before
// the clock starts; the Processor is not running. Everything is built here
// (keys, store, handler); nothing of the caller's is touched.
func BenchPixInitiation(ctx context.Context, opts BenchOptions) (initiation, ceiling BenchResult, err error) {
	if opts.Requests <= 0 {
		opts.Requests = 1000
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 8
	}
	now := time.Now
	var store *paymentsql.Store
	if opts.PostgresDSN != "" {
		store, err = paymentsql.OpenPostgres(ctx, opts.PostgresDSN, paymentsql.Options{MaxOpenConns: 2 * opts.Concurrency})
	} else {
		dir := opts.Dir
		if dir == "" {
			if dir, err = os.MkdirTemp("", "ofp-paybench-*"); err != nil {
				return initiation, ceiling, fmt.Errorf("paymentshttp: bench dir: %w", err)
			}
			defer os.RemoveAll(dir)
		}
		store, err = paymentsql.OpenSQLite(ctx, filepath.Join(dir, "payments-bench-"+uuid.NewString()+".db"), paymentsql.Options{})
	}
	if err != nil {
		return initiation, ceiling, err
	}
	defer store.Close()

	holder, err := jwtbody.NewStaticKey("bench-holder")
	if err != nil {
		return initiation, ceiling, err
	}
	client, err := jwtbody.NewStaticKey("bench-client")
	if err != nil {
		return initiation, ceiling, err
	}
	const clientID, orgID, holderOrg = "bench-client", "bench-org", "bench-holder-org"
	verifier, err := jwtbody.NewVerifier(jwtbody.StaticClientKeys{clientID: client.PublicJWKS()}, store, now)
	if err != nil {
		return initiation, ceiling, err
	}
	signer, err := jwtbody.NewSigner(holder, "bench", holderOrg, now)
	if err != nil {
		return initiation, ceiling, err
	}
	caller := func(r *http.Request) (Caller, error) {
		return Caller{ClientID: clientID, OrgID: orgID, GrantType: GrantAuthorizationCode, Scopes: []string{"openid", "payments"},
			ConsentID: r.Header.Get("X-Bench-Consent")}, nil
	}
	h, err := New(store, Options{Institution: "ofpbench", PublicURL: "https://api.ofpbench.com.br", Caller: caller,
		Verifier: verifier, Signer: signer, Now: now})
	if err != nil {
		return initiation, ceiling, err
	}
	fixed, err := signer.Sign(orgID, map[string]any{"data": []any{map[string]any{"paymentId": "fixed", "status": "RCVD"}}})
	if err != nil {
		return initiation, ceiling, err
	}
	mux := http.NewServeMux()
	mux.Handle(BasePath+"/", h)
	mux.HandleFunc(benchCeilingPath, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", jwtbody.ContentType)
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write(fixed)
	})
	serve := opts.Serve
	if serve == nil {
		serve = serveLoopback
	}
	base, hc, stop, err := serve(mux)
	if err != nil {
		return initiation, ceiling, err
	}
	defer stop()

	// Prepare: one authorised consent and one signed body per request.
	reqs := make([]benchRequest, opts.Requests)
	clientSigner, _, err := client.ActiveSigner("", nil)
	if err != nil {
		return initiation, ceiling, err
	}
	today := payments.DateOf(now())
	for i := range reqs {
		id, err := payments.NewConsentID("ofpbench")
		if err != nil {
			return initiation, ceiling, err
		}
		c := payments.Consent{ID: id, ClientID: clientID, OrgID: orgID,
			LoggedUser: payments.Document{Identification: "11111111111", Rel: "CPF"},
			Creditor:   payments.Creditor{PersonType: "PESSOA_JURIDICA", CpfCnpj: "12345678000199", Name: "Loja"},
			Payment: payments.ConsentPayment{Type: "PIX", Date: &today, Currency: "BRL", Amount: "10.00",
				Details: payments.Details{LocalInstrument: "DICT", Proxy: "loja@example.com", CreditorAccount: benchCreditor}}}
		if _, err := store.CreateConsent(ctx, c, nil, payments.Actor{Who: "bench"}); err != nil {
			return initiation, ceiling, err
		}
		if _, err := store.Authorise(ctx, id, payments.Customer{CPF: "11111111111"}, benchDebtor); err != nil {
			return initiation, ceiling, err
		}
		item := map[string]any{"endToEndId": fmt.Sprintf("E12345678%s%011d", now().UTC().Format("200601021504"), i),
			"localInstrument": "DICT", "payment": map[string]any{"amount": "10.00", "currency": "BRL"},
			"creditorAccount": map[string]any{"ispb": benchCreditor.ISPB, "issuer": benchCreditor.Issuer, "number": benchCreditor.Number, "accountType": benchCreditor.AccountType},
			"proxy":           "loja@example.com", "cnpjInitiator": "50685362000135"}
		body, err := jwtbody.Compose(clientSigner, orgID, "https://api.ofpbench.com.br"+BasePath+"/pix/payments", uuid.NewString(), now(),
			map[string]any{"data": []any{item}})
		if err != nil {
			return initiation, ceiling, err
		}
		reqs[i] = benchRequest{consentID: id, body: body, key: uuid.NewString()}
	}

	ceiling, err = runBench(ctx, "ceiling (fixed body)", hc, base+benchCeilingPath, reqs, opts.Concurrency)
	if err != nil {
		return initiation, ceiling, err
	}
	initiation, err = runBench(ctx, "pix initiation", hc, base+BasePath+"/pix/payments", reqs, opts.Concurrency)
	return initiation, ceiling, err
}

var (
	benchCreditor = payments.Account{ISPB: "87654321", Issuer: "0002", Number: "654321", AccountType: "CACC"}
	benchDebtor   = payments.Account{ISPB: "12345678", Issuer: "0001", Number: "123456", AccountType: "CACC"}
)

type benchRequest struct {
	consentID string
	body      []byte
	key       string
}

func runBench(ctx context.Context, name string, hc *http.Client, url string, reqs []benchRequest, conc int) (BenchResult, error) {
	lat := make([]time.Duration, len(reqs))
	var next, errs atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(reqs) || ctx.Err() != nil {
					return
				}
				r := reqs[i]
				t := time.Now()
				err := benchOne(ctx, hc, url, r)
				lat[i] = time.Since(t)
				if err != nil {
					errs.Add(1)
					once.Do(func() { firstErr = err })
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if ctx.Err() != nil {
		return BenchResult{}, ctx.Err()
	}
	slices.Sort(lat)
	res := BenchResult{Name: name, Requests: len(reqs), Errors: int(errs.Load()), Elapsed: elapsed,
		PerSecond: float64(len(reqs)) / elapsed.Seconds(), P50: lat[len(lat)/2], P99: lat[(len(lat)*99)/100]}
	if res.Errors > 0 {
		return res, fmt.Errorf("paymentshttp: bench %s: %d of %d requests failed, first: %w", name, res.Errors, res.Requests, firstErr)
	}
	return res, nil
}

func benchOne(ctx context.Context, hc *http.Client, url string, r benchRequest) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(r.body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", jwtbody.ContentType)
	req.Header.Set("x-fapi-interaction-id", uuid.NewString())
	req.Header.Set("x-idempotency-key", r.key)
	req.Header.Set("X-Bench-Consent", r.consentID)
	res, err := hc.Do(req)
	if err != nil {
		return err
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		return fmt.Errorf("status %d: %.300s", res.StatusCode, b)
	}
	return nil
}

func serveLoopback(h http.Handler) (string, *http.Client, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, nil, fmt.Errorf("paymentshttp: bench listener: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }() // returns ErrServerClosed when stopped
	tr := &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256}
	stop := func() {
		tr.CloseIdleConnections()
		_ = srv.Close()
	}
	return "http://" + ln.Addr().String(), &http.Client{Transport: tr, Timeout: 30 * time.Second}, stop, nil
}
