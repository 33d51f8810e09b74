package authzbench

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"

	"github.com/ofp-dev/ofp/authz/dcr"
	"github.com/ofp-dev/ofp/authz/dcr/dcrsql"
	"github.com/ofp-dev/ofp/authz/keys"
	"github.com/ofp-dev/ofp/authz/server"
	"github.com/ofp-dev/ofp/authz/store"
	"github.com/ofp-dev/ofp/connectors/fapi"
	"github.com/ofp-dev/ofp/internal/pki"
)

// Options of Start and Run.
type Options struct {
	// DatabaseURL is a PostgreSQL DSN for the authorization server's state
	// and its clients; empty means SQLite files in Dir (the embedded
	// default of ofp).
	DatabaseURL string
	// Dir holds the test PKI, the brand keys and the SQLite files; empty
	// means a temporary directory removed by Close.
	Dir string
	// Requests per side (token endpoint and ceiling); default 2000.
	Requests int
	// Workers are the concurrent clients, each on its own keep-alive mTLS
	// connection; default 4.
	Workers int
	// Rounds alternate token and ceiling batches so that drift (other
	// load, GC, thermal) hits both; default 4.
	Rounds int
	// Logger for the server (default: discard).
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.Requests <= 0 {
		o.Requests = 2000
	}
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.Rounds <= 0 {
		o.Rounds = 4
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Side is what a batch calls.
type Side int

const (
	// Token is the authorization server's token endpoint:
	// client_credentials with private_key_jwt, checked in full (client
	// lookup, client JWKS, PS256 signature, jti replay record, certificate
	// binding, PS256 access token).
	Token Side = iota
	// Ceiling is the same listener answering the token response captured
	// from the real endpoint, from memory.
	Ceiling
)

func (s Side) String() string {
	if s == Ceiling {
		return "ceiling"
	}
	return "token"
}

// Bench is a running token endpoint and its ceiling on one TLS listener,
// with a registered client.
type Bench struct {
	opts     Options
	store    string // "sqlite" or "postgres"
	dir      string
	tmp      bool
	srv      *http.Server
	jwksSrv  *http.Server
	fetches  atomic.Int64 // client JWKS fetches by the server
	closers  []func() error
	client   *fapi.Client
	http     *http.Client
	tokenURL string
	ceilURL  string
	fixed    []byte // the captured token response
}

// Start builds the production token path: test PKI, brand keys,
// authz/dcr with dcrsql and authz/server over authz/store (SQLite or
// PostgreSQL), served with pki.TLSServerConfig (the holder's listener
// configuration) beside the ceiling route; registers a client through DCR
// with connectors/fapi and captures one real token response for the
// ceiling. ctx bounds the setup.
func Start(ctx context.Context, opts Options) (b *Bench, err error) {
	opts = opts.withDefaults()
	b = &Bench{opts: opts, store: "sqlite", dir: opts.Dir}
	if opts.DatabaseURL != "" {
		b.store = "postgres"
	}
	defer func() {
		if err != nil {
			b.Close()
			b = nil
		}
	}()
	if b.dir == "" {
		if b.dir, err = os.MkdirTemp("", "authzbench-"); err != nil {
			return b, err
		}
		b.tmp = true
	}
	pb, err := pki.Generate(filepath.Join(b.dir, "pki"), pki.Options{Clients: []pki.ClientSpec{pki.DemoClient}})
	if err != nil {
		return b, fmt.Errorf("authzbench: test PKI: %w", err)
	}
	serverTLS := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{pb.ServerCertificate()}}

	// The client's jwks_uri (the directory keystore's role), counting fetches.
	var jwks []byte
	jwksLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return b, err
	}
	b.jwksSrv = &http.Server{TLSConfig: serverTLS, ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		b.fetches.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(jwks)
	})}
	go func() { _ = b.jwksSrv.ServeTLS(jwksLn, "", "") }()
	jwksURI := "https://" + jwksLn.Addr().String() + "/bench/application.jwks"

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return b, err
	}
	base := "https://" + ln.Addr().String()
	issuer := base + "/bench"
	b.ceilURL = base + "/_authzbench/token"

	keyStore, err := keys.NewFileStore(filepath.Join(b.dir, "keys"))
	if err != nil {
		return b, err
	}
	km, err := keys.NewManager(ctx, keyStore, []keys.Brand{{ID: "bench", Issuer: issuer, DisplayName: "Bench"}}, keys.Options{Logger: opts.Logger})
	if err != nil {
		return b, err
	}
	var clients *dcrsql.Store
	var az *store.Store
	if opts.DatabaseURL != "" {
		if clients, err = dcrsql.OpenPostgres(ctx, opts.DatabaseURL); err == nil {
			b.closers = append(b.closers, clients.Close)
			if az, err = store.OpenPostgres(ctx, opts.DatabaseURL, store.Options{Logger: opts.Logger}); err == nil {
				b.closers = append(b.closers, az.Close)
			}
		}
	} else {
		if clients, err = dcrsql.OpenSQLite(ctx, filepath.Join(b.dir, "authz-clients.db")); err == nil {
			b.closers = append(b.closers, clients.Close)
			if az, err = store.OpenSQLite(ctx, filepath.Join(b.dir, "authz.db"), store.Options{Logger: opts.Logger}); err == nil {
				b.closers = append(b.closers, az.Close)
			}
		}
	}
	if err != nil {
		return b, fmt.Errorf("authzbench: open the %s stores: %w", b.store, err)
	}
	dirJWKS, err := pb.DirectoryJWKS()
	if err != nil {
		return b, err
	}
	dirKeys, err := dcr.NewStaticKeys(dirJWKS)
	if err != nil {
		return b, err
	}
	const directoryIssuer = "Open Banking Open Banking Brasil production SSA issuer"
	reg, err := dcr.New(dcr.Options{Issuer: directoryIssuer, Keys: dirKeys, Store: clients, Brand: "bench", RegistrationURL: issuer + "/register", Logger: opts.Logger})
	if err != nil {
		return b, err
	}
	az2 := az
	srv, err := server.New(server.Options{
		Keys: km, Clients: clients, Registration: map[string]http.Handler{"bench": reg},
		StorageFor: func(brand string) *server.Storage {
			v := az2.ForBrand(brand)
			return &server.Storage{Grants: v, Auth: v, PAR: v, Refresh: v, ConsumeJTI: v.ConsumeJTI}
		},
		HTTPClient: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pb.RootPool()}}},
		Logger:     opts.Logger,
	})
	if err != nil {
		return b, err
	}
	mux := http.NewServeMux()
	mux.Handle("/bench/", srv.Handler())
	mux.HandleFunc("POST /_authzbench/token", b.ceiling)
	tlsCfg, err := pki.TLSServerConfig(pb, nil, tls.VerifyClientCertIfGiven)
	if err != nil {
		return b, err
	}
	b.srv = &http.Server{Handler: mux, TLSConfig: tlsCfg, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = b.srv.ServeTLS(ln, "", "") }()

	// The client: registered through DCR like any receiver.
	cert, err := pb.ClientCertificate(pki.DemoClient.Name)
	if err != nil {
		return b, err
	}
	sig, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return b, err
	}
	redirect := "https://bench.tpp.example/cb"
	if b.client, err = fapi.New(ctx, fapi.Config{Issuer: issuer, Certificate: cert, RootCAs: pb.RootPool(), SigningKey: sig, SigningKeyID: "bench-sig",
		JWKSURI: jwksURI, RedirectURI: redirect, Logger: opts.Logger}); err != nil {
		return b, err
	}
	if jwks, err = b.client.PublicJWKS(); err != nil {
		return b, err
	}
	signer, err := pb.DirectorySigner()
	if err != nil {
		return b, err
	}
	s := pki.DemoClient
	ssa, err := jwt.Signed(signer).Claims(map[string]any{
		"iss": directoryIssuer, "iat": time.Now().Unix(), "jti": uuid.NewString(),
		"software_id": s.SoftwareID, "org_id": s.OrgID, "org_status": "Active", "software_client_name": "authzbench",
		"software_jwks_uri": jwksURI, "software_redirect_uris": []string{redirect}, "software_roles": []string{"DADOS"},
		"software_statement_roles": []map[string]string{{"role": "DADOS", "authorisation_domain": "Open Banking", "status": "Active"}},
	}).Serialize()
	if err != nil {
		return b, err
	}
	if _, err := b.client.Register(ctx, ssa, fapi.Metadata{Scope: "openid consents"}); err != nil {
		return b, fmt.Errorf("authzbench: register the client: %w", err)
	}
	b.tokenURL = b.client.Discovery().MTLS.Token
	if b.tokenURL == "" {
		b.tokenURL = b.client.Discovery().TokenEndpoint
	}
	b.http = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pb.RootPool(), Certificates: []tls.Certificate{cert}},
		MaxIdleConns:    opts.Workers * 2, MaxIdleConnsPerHost: opts.Workers * 2, IdleConnTimeout: time.Minute,
	}}

	// One real answer: checked, and served by the ceiling from then on.
	batch, err := b.Prepare(1)
	if err != nil {
		return b, err
	}
	status, body, err := b.post(ctx, b.tokenURL, batch.bodies[0])
	if err != nil {
		return b, fmt.Errorf("authzbench: first token request: %w", err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
	}
	if status != http.StatusOK || json.Unmarshal(body, &tok) != nil || tok.AccessToken == "" {
		return b, fmt.Errorf("authzbench: first token request: HTTP %d: %.300s", status, body)
	}
	b.fixed = body
	return b, nil
}

// ceiling answers the captured token response after reading the request,
// as the token endpoint's transport does.
func (b *Bench) ceiling(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("x-fapi-interaction-id", r.Header.Get("x-fapi-interaction-id"))
	_, _ = w.Write(b.fixed)
}

// Close stops the listeners, closes the stores and removes a temporary Dir.
func (b *Bench) Close() {
	if b.srv != nil {
		_ = b.srv.Close()
	}
	if b.jwksSrv != nil {
		_ = b.jwksSrv.Close()
	}
	if b.http != nil {
		b.http.CloseIdleConnections()
	}
	for i := len(b.closers) - 1; i >= 0; i-- {
		_ = b.closers[i]()
	}
	b.closers = nil
	if b.tmp {
		_ = os.RemoveAll(b.dir)
	}
}

// Batch is n ready token request bodies, each with its own client
// assertion (a jti is single use), signed before any timing starts.
type Batch struct{ bodies [][]byte }

// Len is the number of requests in the batch.
func (bt *Batch) Len() int { return len(bt.bodies) }

// Prepare signs n client assertions (PS256, on every core) and builds the
// request bodies.
func (b *Bench) Prepare(n int) (*Batch, error) {
	bt := &Batch{bodies: make([][]byte, n)}
	id := b.client.ClientID()
	var next atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				a, err := b.client.Assertion()
				if err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				bt.bodies[i] = []byte(url.Values{"grant_type": {"client_credentials"}, "scope": {"consents"}, "client_id": {id},
					"client_assertion_type": {fapi.AssertionType}, "client_assertion": {a}}.Encode())
			}
		}()
	}
	wg.Wait()
	return bt, firstErr
}

func (b *Bench) post(ctx context.Context, u string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("x-fapi-interaction-id", uuid.NewString())
	resp, err := b.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return resp.StatusCode, out, err
}

// Figures are one side's measurements.
type Figures struct {
	Requests   int
	Errors     int
	FirstError string
	Elapsed    time.Duration
	PerSecond  float64
	P50, P99   time.Duration
}

// Measure sends the batch to side from workers goroutines (each request
// waits for its answer; connections are kept alive) and returns the
// figures. Only the sending is timed.
func (b *Bench) Measure(ctx context.Context, side Side, bt *Batch, workers int) Figures {
	u := b.tokenURL
	if side == Ceiling {
		u = b.ceilURL
	}
	lat, errs, first, took := b.send(ctx, u, bt, workers)
	return summarise(lat, errs, first, took)
}

func (b *Bench) send(ctx context.Context, u string, bt *Batch, workers int) ([]time.Duration, int, string, time.Duration) {
	n := bt.Len()
	lat := make([]time.Duration, n)
	var errs atomic.Int64
	var first atomic.Value
	var next atomic.Int64
	var wg sync.WaitGroup
	began := time.Now()
	for range max(workers, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				start := time.Now()
				status, body, err := b.post(ctx, u, bt.bodies[i])
				lat[i] = time.Since(start)
				if err == nil && status != http.StatusOK {
					err = fmt.Errorf("HTTP %d: %.200s", status, body)
				}
				if err != nil {
					errs.Add(1)
					first.CompareAndSwap(nil, err.Error())
				}
			}
		}()
	}
	wg.Wait()
	took := time.Since(began)
	f, _ := first.Load().(string)
	return lat, int(errs.Load()), f, took
}

func summarise(lat []time.Duration, errs int, first string, elapsed time.Duration) Figures {
	f := Figures{Requests: len(lat), Errors: errs, FirstError: first, Elapsed: elapsed}
	if len(lat) == 0 {
		return f
	}
	if elapsed > 0 {
		f.PerSecond = float64(len(lat)) / elapsed.Seconds()
	}
	s := slices.Clone(lat)
	slices.Sort(s)
	f.P50 = s[len(s)*50/100]
	f.P99 = s[min(len(s)*99/100, len(s)-1)]
	return f
}

// Result is one run.
type Result struct {
	Store   string // "sqlite" or "postgres"
	Workers int
	Token   Figures
	Ceiling Figures
	// Ratio is token throughput / ceiling throughput.
	Ratio float64
	// JWKSFetchesPerToken is how many times the server fetched the
	// client's jwks_uri per token request during the token side.
	JWKSFetchesPerToken float64
	// SignPerSecond is the client-side PS256 assertion signing rate of
	// Prepare (outside the timing).
	SignPerSecond float64
}

// Run measures Requests token requests and as many ceiling requests,
// alternating in Rounds after a warm-up of both.
func (b *Bench) Run(ctx context.Context) (Result, error) {
	o := b.opts
	res := Result{Store: b.store, Workers: o.Workers}
	warm := min(200, o.Requests/4+1)
	bt, err := b.Prepare(warm)
	if err != nil {
		return res, err
	}
	b.Measure(ctx, Token, bt, o.Workers)
	b.Measure(ctx, Ceiling, bt, o.Workers)

	per := max(o.Requests/o.Rounds, 1)
	var tokLat, ceilLat []time.Duration
	var tokErrs, ceilErrs int
	var tokFirst, ceilFirst string
	var tokTime, ceilTime, signTime time.Duration
	var fetches int64
	signed := 0
	for range o.Rounds {
		start := time.Now()
		bt, err := b.Prepare(per)
		if err != nil {
			return res, err
		}
		signTime += time.Since(start)
		signed += per
		before := b.fetches.Load()
		lat, errs, first, took := b.send(ctx, b.tokenURL, bt, o.Workers)
		fetches += b.fetches.Load() - before
		tokLat, tokErrs, tokTime = append(tokLat, lat...), tokErrs+errs, tokTime+took
		tokFirst = firstNonEmpty(tokFirst, first)
		lat, errs, first, took = b.send(ctx, b.ceilURL, bt, o.Workers)
		ceilLat, ceilErrs, ceilTime = append(ceilLat, lat...), ceilErrs+errs, ceilTime+took
		ceilFirst = firstNonEmpty(ceilFirst, first)
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
	}
	res.Token = summarise(tokLat, tokErrs, tokFirst, tokTime)
	res.Ceiling = summarise(ceilLat, ceilErrs, ceilFirst, ceilTime)
	if res.Ceiling.PerSecond > 0 {
		res.Ratio = res.Token.PerSecond / res.Ceiling.PerSecond
	}
	if n := len(tokLat); n > 0 {
		res.JWKSFetchesPerToken = float64(fetches) / float64(n)
	}
	if signTime > 0 {
		res.SignPerSecond = float64(signed) / signTime.Seconds()
	}
	if res.Token.Errors > 0 {
		return res, fmt.Errorf("authzbench: %d of %d token requests failed, first: %s", res.Token.Errors, res.Token.Requests, res.Token.FirstError)
	}
	if res.Ceiling.Errors > 0 {
		return res, fmt.Errorf("authzbench: %d of %d ceiling requests failed, first: %s", res.Ceiling.Errors, res.Ceiling.Requests, res.Ceiling.FirstError)
	}
	return res, nil
}

// Run starts a Bench, runs it once and closes it.
func Run(ctx context.Context, opts Options) (Result, error) {
	b, err := Start(ctx, opts)
	if err != nil {
		return Result{}, err
	}
	defer b.Close()
	return b.Run(ctx)
}

// Print writes both sides and the ratio.
func (r Result) Print(w io.Writer) {
	fmt.Fprintf(w, "token endpoint: client_credentials + private_key_jwt (PS256) over mTLS, keep-alive, %d workers, store %s\n", r.Workers, r.Store)
	fmt.Fprintf(w, "  %-9s %9s %10s %9s %9s %7s\n", "side", "requests", "req/s", "p50", "p99", "errors")
	for _, s := range []struct {
		name string
		f    Figures
	}{{"token", r.Token}, {"ceiling", r.Ceiling}} {
		fmt.Fprintf(w, "  %-9s %9d %10.0f %9s %9s %7d\n", s.name, s.f.Requests, s.f.PerSecond, s.f.P50.Round(time.Microsecond), s.f.P99.Round(time.Microsecond), s.f.Errors)
	}
	fmt.Fprintf(w, "  ratio token/ceiling %.3f (ceiling: the same TLS listener answering a fixed token response)\n", r.Ratio)
	fmt.Fprintf(w, "  client JWKS fetches per token request %.2f; client assertions signed beforehand at %.0f/s\n", r.JWKSFetchesPerToken, r.SignPerSecond)
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
