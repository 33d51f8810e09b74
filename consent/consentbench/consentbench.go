// Package consentbench measures the consent service for `make bench`
// (cmd/ofpbench calls Run): consent create + read throughput and latency
// percentiles through the Consents API (consenthttp over a real
// consentsql.Store, over loopback TCP), beside a baseline measured in the
// same run on the same database — a raw INSERT of the same consent row and
// a SELECT of it by id through database/sql — and the ratio of the two.
//
// The API side does what production does per consent: request parsing and
// validation, a transaction writing the consent, its audit-history row and
// its outbox event, then a read (with the due-expiry check). The baseline
// writes only the row. The ratio is what the service costs on top of the
// storage engine.
//
// It never runs on its own: it is a library for cmd/ofpbench and for the
// Benchmark functions in its tests.
package consentbench

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	_ "github.com/jackc/pgx/v5/stdlib" // "pgx" driver for the baseline
	_ "modernc.org/sqlite"             // "sqlite" driver for the baseline

	"github.com/ofp-dev/ofp/consent"
	"github.com/ofp-dev/ofp/consent/consenthttp"
	"github.com/ofp-dev/ofp/consent/consentsql"
)

// Options says what to measure. Engine "sqlite" needs Dir; "postgres"
// needs DSN (an empty database or schema: add search_path to the DSN).
type Options struct {
	Engine string
	// Dir is where the SQLite file is created (consents.db).
	Dir string
	// DSN is the PostgreSQL connection string.
	DSN string
	// N is the number of consents created and read on each side; default 2000.
	N int
	// Workers is the number of concurrent clients on each side; default 4.
	Workers int
	// Logger defaults to a discarding logger (the API logs nothing per request).
	Logger *slog.Logger
}

// Figures are one side's measurements. One operation is the create and
// the read of one consent.
type Figures struct {
	Ops        int
	Elapsed    time.Duration
	OpsPerSec  float64
	CreateP50  time.Duration
	CreateP99  time.Duration
	ReadP50    time.Duration
	ReadP99    time.Duration
	OpP99      time.Duration
	Errors     int
	FirstError string
}

// Result is one run.
type Result struct {
	Engine  string
	N       int
	Workers int
	API     Figures
	Raw     Figures
	// Ratio is API ops/s divided by raw ops/s (1 = the API costs nothing
	// over the engine).
	Ratio float64
}

// Print writes the figures side by side.
func (r Result) Print(w io.Writer) {
	fmt.Fprintf(w, "consent create+read, %s, %d consents, %d workers\n", r.Engine, r.N, r.Workers)
	fmt.Fprintf(w, "  %-28s %10s %10s %10s %10s %10s %10s\n", "", "ops/s", "create p50", "create p99", "read p50", "read p99", "op p99")
	row := func(name string, f Figures) {
		fmt.Fprintf(w, "  %-28s %10.0f %10s %10s %10s %10s %10s\n", name, f.OpsPerSec, round(f.CreateP50), round(f.CreateP99),
			round(f.ReadP50), round(f.ReadP99), round(f.OpP99))
	}
	row("Consents API (HTTP)", r.API)
	row("raw INSERT+SELECT (baseline)", r.Raw)
	fmt.Fprintf(w, "  API / baseline throughput: %.2f\n", r.Ratio)
	for _, f := range []Figures{r.API, r.Raw} {
		if f.Errors > 0 {
			fmt.Fprintf(w, "  %d errors, first: %s\n", f.Errors, f.FirstError)
		}
	}
}

func round(d time.Duration) string { return d.Round(time.Microsecond).String() }

// Run measures both sides on a fresh store and returns the figures. ctx
// bounds the whole run. Any failed operation is counted in Errors; Run
// returns an error only when it cannot set up.
func Run(ctx context.Context, opts Options) (Result, error) {
	if opts.N <= 0 {
		opts.N = 2000
	}
	if opts.Workers <= 0 {
		opts.Workers = 4
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	res := Result{Engine: opts.Engine, N: opts.N, Workers: opts.Workers}
	var (
		store *consentsql.Store
		raw   *sql.DB
		err   error
		q     = func(s string) string { return s }
		tm    = func(t time.Time) any { return t.UTC().Format("2006-01-02T15:04:05.000000Z") }
	)
	switch opts.Engine {
	case "sqlite":
		if opts.Dir == "" {
			return res, errors.New("consentbench: sqlite needs Options.Dir")
		}
		path := filepath.Join(opts.Dir, "consents.db")
		if store, err = consentsql.OpenSQLite(ctx, path, consentsql.Options{Logger: opts.Logger}); err != nil {
			return res, err
		}
		raw, err = sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(20000)&_pragma=journal_mode(WAL)"+
			"&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate")
		if err == nil {
			raw.SetMaxOpenConns(4) // as the store
		}
	case "postgres":
		if opts.DSN == "" {
			return res, errors.New("consentbench: postgres needs Options.DSN")
		}
		if store, err = consentsql.OpenPostgres(ctx, opts.DSN, consentsql.Options{Logger: opts.Logger}); err != nil {
			return res, err
		}
		raw, err = sql.Open("pgx", opts.DSN)
		if err == nil {
			raw.SetMaxOpenConns(10) // as the store
		}
		q = dollar
		tm = func(t time.Time) any { return t.UTC() }
	default:
		return res, fmt.Errorf("consentbench: engine %q is neither sqlite nor postgres", opts.Engine)
	}
	defer store.Close()
	if err != nil {
		return res, fmt.Errorf("consentbench: open baseline connection: %w", err)
	}
	defer raw.Close()

	api, stop, err := serveAPI(store, opts.Logger)
	if err != nil {
		return res, err
	}
	defer stop()
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: opts.Workers, MaxConnsPerHost: opts.Workers}}
	defer client.CloseIdleConnections()

	res.API = measure(ctx, opts.N, opts.Workers, func(ctx context.Context, i int) (time.Duration, time.Duration, error) {
		return apiOp(ctx, client, api, i)
	})
	insert := q(`INSERT INTO consents (id, status, permissions, logged_user_identification, logged_user_rel,
		client_id, creation_date_time, status_update_date_time, version, role, counterparty)
		VALUES (?, 'AWAITING_AUTHORISATION', ?, ?, 'CPF', 'bench-client', ?, ?, 1, 'HOLDER', '')`)
	sel := q(`SELECT id, status, permissions, logged_user_identification, logged_user_rel, business_entity_identification,
		business_entity_rel, client_id, expiration_date_time, creation_date_time, status_update_date_time, rejected_by,
		rejection_reason, rejection_info, version, role, counterparty FROM consents WHERE id = ?`)
	perms, _ := json.Marshal(benchPerms)
	res.Raw = measure(ctx, opts.N, opts.Workers, func(ctx context.Context, i int) (time.Duration, time.Duration, error) {
		id := "urn:bench:" + uuid.NewString()
		now := time.Now()
		t0 := time.Now()
		if _, err := raw.ExecContext(ctx, insert, id, string(perms), cpf(i), tm(now), tm(now)); err != nil {
			return 0, 0, err
		}
		t1 := time.Now()
		var (
			cols [17]any
			ptrs [17]any
		)
		for k := range cols {
			ptrs[k] = &cols[k]
		}
		if err := raw.QueryRowContext(ctx, sel, id).Scan(ptrs[:]...); err != nil {
			return 0, 0, err
		}
		return t1.Sub(t0), time.Since(t1), nil
	})
	if res.Raw.OpsPerSec > 0 {
		res.Ratio = res.API.OpsPerSec / res.Raw.OpsPerSec
	}
	return res, nil
}

var benchPerms = []string{consent.PermAccountsRead, consent.PermAccountsBalancesRead, consent.PermResourcesRead}

func cpf(i int) string { return fmt.Sprintf("%011d", 10000000000+i) }

// serveAPI runs the Consents API over store on a loopback port.
func serveAPI(store *consentsql.Store, log *slog.Logger) (string, func(), error) {
	h, err := consenthttp.NewHandler(store, consenthttp.Options{Institution: "ofpbench",
		Clients: consenthttp.HeaderClientResolver{Header: "X-Bench-Client"}, Logger: log})
	if err != nil {
		return "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("consentbench: listen: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln) //nolint:errcheck // ends with Close
	return "http://" + ln.Addr().String() + consenthttp.BasePath + "/consents", func() { srv.Close() }, nil
}

type createBody struct {
	Data struct {
		LoggedUser struct {
			Document struct {
				Identification string `json:"identification"`
				Rel            string `json:"rel"`
			} `json:"document"`
		} `json:"loggedUser"`
		Permissions []string `json:"permissions"`
	} `json:"data"`
}

func apiOp(ctx context.Context, client *http.Client, base string, i int) (time.Duration, time.Duration, error) {
	var b createBody
	b.Data.LoggedUser.Document.Identification, b.Data.LoggedUser.Document.Rel = cpf(i), "CPF"
	b.Data.Permissions = benchPerms
	body, _ := json.Marshal(b)
	t0 := time.Now()
	var created struct {
		Data struct {
			ConsentID string `json:"consentId"`
		} `json:"data"`
	}
	if err := call(ctx, client, http.MethodPost, base, body, http.StatusCreated, &created); err != nil {
		return 0, 0, err
	}
	t1 := time.Now()
	if err := call(ctx, client, http.MethodGet, base+"/"+created.Data.ConsentID, nil, http.StatusOK, nil); err != nil {
		return 0, 0, err
	}
	return t1.Sub(t0), time.Since(t1), nil
}

func call(ctx context.Context, client *http.Client, method, url string, body []byte, want int, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("x-fapi-interaction-id", uuid.NewString())
	req.Header.Set("X-Bench-Client", "bench-client")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	if res.StatusCode != want {
		return fmt.Errorf("%s %s: %d %s", method, url, res.StatusCode, raw)
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

// measure runs op n times on workers goroutines and summarises.
func measure(ctx context.Context, n, workers int, op func(context.Context, int) (time.Duration, time.Duration, error)) Figures {
	var (
		next           atomic.Int64
		mu             sync.Mutex
		creates, reads []time.Duration
		ops            []time.Duration
		errs           int
		first          string
		wg             sync.WaitGroup
	)
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				c, r, err := op(ctx, i)
				mu.Lock()
				if err != nil {
					errs++
					if first == "" {
						first = err.Error()
					}
				} else {
					creates, reads, ops = append(creates, c), append(reads, r), append(ops, c+r)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	f := Figures{Ops: len(ops), Elapsed: time.Since(start), Errors: errs, FirstError: first}
	if f.Elapsed > 0 {
		f.OpsPerSec = float64(f.Ops) / f.Elapsed.Seconds()
	}
	f.CreateP50, f.CreateP99 = pct(creates, 50), pct(creates, 99)
	f.ReadP50, f.ReadP99 = pct(reads, 50), pct(reads, 99)
	f.OpP99 = pct(ops, 99)
	return f
}

// pct is the p-th percentile (nearest rank).
func pct(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	k := (p*len(s) + 99) / 100
	return s[max(k-1, 0)]
}

func dollar(q string) string {
	var b bytes.Buffer
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
