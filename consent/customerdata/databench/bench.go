package databench

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
)

// ceilingPrefix is where the listener answers the fixed bodies.
const ceilingPrefix = "/_databench/ceiling/"

// Server is the measured listener: TLS with the caller's configuration,
// serving the caller's handler stack, plus the ceiling route that answers a
// fixed body on the same listener.
type Server struct {
	ln      net.Listener
	srv     *http.Server
	url     string
	ceiling sync.Map // name → []byte
}

// Start serves handler on ln (nil: a new listener on 127.0.0.1:0) with
// tlsCfg, the production mTLS configuration (pki.TLSServerConfig with
// tls.RequireAndVerifyClientCert or VerifyClientCertIfGiven). Start the
// server before the authorization server's issuer is needed: its URL() is
// the base URL of both. Close stops it.
func Start(ln net.Listener, tlsCfg *tls.Config, handler http.Handler) (*Server, error) {
	if tlsCfg == nil || handler == nil {
		return nil, errors.New("databench: Start needs a TLS configuration and a handler")
	}
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			return nil, err
		}
	}
	s := &Server{ln: ln, url: "https://" + ln.Addr().String()}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+ceilingPrefix+"{name}", func(w http.ResponseWriter, r *http.Request) {
		body, ok := s.ceiling.Load(r.PathValue("name"))
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("x-fapi-interaction-id", r.Header.Get("x-fapi-interaction-id"))
		_, _ = w.Write(body.([]byte))
	})
	mux.Handle("/", handler)
	cfg := tlsCfg.Clone()
	s.srv = &http.Server{Handler: mux, TLSConfig: cfg, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.ServeTLS(ln, "", "") }()
	return s, nil
}

// URL is the listener's base URL ("https://127.0.0.1:port").
func (s *Server) URL() string { return s.url }

// Close stops the listener.
func (s *Server) Close() error { return s.srv.Close() }

// Target is what Run reads: an AUTHORISED consent with ACCOUNTS_READ and
// ACCOUNTS_TRANSACTIONS_READ sharing AccountID, its access token and the
// TLS configuration presenting the certificate the token is bound to (a
// Session from Authorise has all of it).
type Target struct {
	AccessToken string
	ClientTLS   *tls.Config
	// AccountID is a shared account; empty: the first of GET /accounts.
	AccountID string
}

// Options of Run.
type Options struct {
	// Requests per side (API and ceiling) of each scenario; default 2000.
	Requests int
	// Workers are the concurrent clients (each its own keep-alive
	// connection); default 4.
	Workers int
	// Rounds alternate API and ceiling to share any drift; default 4.
	Rounds int
	// Now is "today" of the transactions window; default time.Now.
	Now func() time.Time
}

// Figures are one side of one scenario.
type Figures struct {
	Requests   int
	Errors     int
	FirstError string
	Elapsed    time.Duration
	PerSecond  float64
	P50, P99   time.Duration
}

// Scenario is one endpoint measured beside its ceiling.
type Scenario struct {
	Name string
	// Path is what was called (the query included).
	Path string
	// Items is how many records one answer carries; Bytes its size.
	Items, Bytes int
	API, Ceiling Figures
	// Ratio is API throughput / ceiling throughput.
	Ratio float64
}

// Result is one run.
type Result struct {
	Workers   int
	Scenarios []Scenario
}

// Run measures, over mTLS with every check of the stack, the accounts
// list and a page of 25 transactions of target.AccountID (the last 30
// days), each beside the ceiling: the same listener answering the same
// bytes from memory.
func (s *Server) Run(ctx context.Context, target Target, opts Options) (Result, error) {
	if opts.Requests <= 0 {
		opts.Requests = 2000
	}
	if opts.Workers <= 0 {
		opts.Workers = 4
	}
	if opts.Rounds <= 0 {
		opts.Rounds = 4
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if target.AccessToken == "" || target.ClientTLS == nil {
		return Result{}, errors.New("databench: Target needs AccessToken and ClientTLS")
	}
	tr := &http.Transport{TLSClientConfig: target.ClientTLS.Clone(), MaxIdleConns: opts.Workers * 2, MaxIdleConnsPerHost: opts.Workers * 2}
	defer tr.CloseIdleConnections()
	c := &client{http: &http.Client{Transport: tr, Timeout: 30 * time.Second}, token: target.AccessToken}

	const accounts = "/open-banking/accounts/v2/accounts"
	list, err := c.get(ctx, s.url+accounts, true)
	if err != nil {
		return Result{}, fmt.Errorf("databench: accounts list: %w", err)
	}
	acct := target.AccountID
	if acct == "" {
		var body struct {
			Data []struct {
				AccountID string `json:"accountId"`
			} `json:"data"`
		}
		if err := json.Unmarshal(list, &body); err != nil || len(body.Data) == 0 {
			return Result{}, fmt.Errorf("databench: the consent shares no account: %s", list)
		}
		acct = body.Data[0].AccountID
	}
	today := opts.Now().UTC()
	q := url.Values{"fromBookingDate": {today.AddDate(0, 0, -30).Format("2006-01-02")}, "toBookingDate": {today.Format("2006-01-02")}, "page-size": {"25"}}
	txPath := accounts + "/" + url.PathEscape(acct) + "/transactions?" + q.Encode()

	res := Result{Workers: opts.Workers}
	for _, sc := range []struct{ name, path string }{{"accounts list", accounts}, {"transactions (page of 25)", txPath}} {
		body, err := c.get(ctx, s.url+sc.path, true)
		if err != nil {
			return res, fmt.Errorf("databench: %s: %w", sc.name, err)
		}
		var parsed struct {
			Data []json.RawMessage `json:"data"`
		}
		_ = json.Unmarshal(body, &parsed)
		key := uuid.NewString()
		s.ceiling.Store(key, body)
		// Warm both paths (connections, caches).
		warm := min(200, opts.Requests/4+1)
		c.measure(ctx, s.url+sc.path, warm, opts.Workers)
		c.measure(ctx, s.url+ceilingPrefix+key, warm, opts.Workers)

		var api, ceil []sample
		var apiTime, ceilTime time.Duration
		per := max(opts.Requests/opts.Rounds, 1)
		for r := 0; r < opts.Rounds; r++ {
			a, took := c.measure(ctx, s.url+sc.path, per, opts.Workers)
			api, apiTime = append(api, a...), apiTime+took
			b, took := c.measure(ctx, s.url+ceilingPrefix+key, per, opts.Workers)
			ceil, ceilTime = append(ceil, b...), ceilTime+took
		}
		s.ceiling.Delete(key)
		out := Scenario{Name: sc.name, Path: sc.path, Items: len(parsed.Data), Bytes: len(body),
			API: figures(api, apiTime), Ceiling: figures(ceil, ceilTime)}
		if out.Ceiling.PerSecond > 0 {
			out.Ratio = out.API.PerSecond / out.Ceiling.PerSecond
		}
		res.Scenarios = append(res.Scenarios, out)
	}
	return res, ctx.Err()
}

// Format prints the result as a table.
func (r Result) Format(w io.Writer) {
	fmt.Fprintf(w, "customer data over mTLS (%d workers), each beside the same listener answering the same bytes:\n", r.Workers)
	fmt.Fprintf(w, "  %-27s %6s %6s %10s %9s %9s %10s %9s %9s %6s\n", "scenario", "items", "bytes", "api req/s", "api p50", "api p99", "ceil req/s", "ceil p50", "ceil p99", "ratio")
	for _, s := range r.Scenarios {
		fmt.Fprintf(w, "  %-27s %6d %6d %10.0f %9s %9s %10.0f %9s %9s %6.2f\n", s.Name, s.Items, s.Bytes,
			s.API.PerSecond, round(s.API.P50), round(s.API.P99), s.Ceiling.PerSecond, round(s.Ceiling.P50), round(s.Ceiling.P99), s.Ratio)
		if s.API.Errors > 0 || s.Ceiling.Errors > 0 {
			fmt.Fprintf(w, "    errors: api %d (%s), ceiling %d (%s)\n", s.API.Errors, s.API.FirstError, s.Ceiling.Errors, s.Ceiling.FirstError)
		}
	}
}

func round(d time.Duration) time.Duration { return d.Round(time.Microsecond) }

type client struct {
	http  *http.Client
	token string
}

type sample struct {
	took time.Duration
	err  string
	done bool
}

// get calls u once and returns the body of a 200.
func (c *client) get(ctx context.Context, u string, auth bool) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("x-fapi-interaction-id", uuid.NewString())
	if auth {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %d: %.300s", resp.StatusCode, body)
	}
	return body, nil
}

// measure sends n requests to u from workers goroutines and returns the
// samples and the wall time of the batch.
func (c *client) measure(ctx context.Context, u string, n, workers int) ([]sample, time.Duration) {
	out := make([]sample, n)
	began := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				start := time.Now()
				_, err := c.get(ctx, u, true)
				out[i] = sample{took: time.Since(start), done: true}
				if err != nil {
					out[i].err = err.Error()
				}
			}
		}()
	}
	wg.Wait()
	return out, time.Since(began)
}

// figures summarises samples taken in rounds of total wall time elapsed.
func figures(ss []sample, elapsed time.Duration) Figures {
	f := Figures{Requests: len(ss)}
	if len(ss) == 0 {
		return f
	}
	lat := make([]time.Duration, 0, len(ss))
	for _, s := range ss {
		if !s.done {
			continue
		}
		lat = append(lat, s.took)
		if s.err != "" {
			f.Errors++
			if f.FirstError == "" {
				f.FirstError = s.err
			}
		}
	}
	f.Elapsed = elapsed
	if f.Elapsed > 0 {
		f.PerSecond = float64(len(lat)) / f.Elapsed.Seconds()
	}
	slices.Sort(lat)
	if len(lat) > 0 {
		f.P50 = lat[len(lat)*50/100]
		f.P99 = lat[min(len(lat)*99/100, len(lat)-1)]
	}
	return f
}
