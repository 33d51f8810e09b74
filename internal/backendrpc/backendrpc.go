package backendrpc

import (
	"bytes"
	"context"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"
)

// Contract is the contract's OpenAPI 3.0 document (contract.yaml): what an
// institution implements; `ofp sim backend` serves it at /openapi.yaml.
//
//go:embed contract.yaml
var Contract []byte

// Error is a failure the back end reported in the contract's error body
// {"error":{"code":"…","message":"…"}}, with the HTTP status it came with
// (4xx other than 401 and 403, which say the back end refused ofp itself).
// Code is one of the contract's codes (the adapters map them to their
// port's errors); Message is the back end's text, for logs only.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("back end answered %d %s", e.Status, e.Code)
	}
	return fmt.Sprintf("back end answered %d %s: %s", e.Status, e.Code, e.Message)
}

// ErrUnavailable wraps every failure to get an answer from the back end:
// connection, timeout, a 5xx without the contract's body, an unreadable
// answer. The holder APIs answer them as their own 500/504.
var ErrUnavailable = errors.New("back end unavailable")

// errorBody is the wire form of an Error.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message,omitempty"`
	} `json:"error"`
}

// Options configure a Client.
type Options struct {
	// BaseURL is the back end's base URL (https://core.bank.internal/ofp).
	// Plain http is accepted only for a loopback host (a sidecar).
	BaseURL string
	// Token, when set, is sent as "Authorization: Bearer <Token>". It is
	// never logged and never part of an error.
	Token string
	// HTTPClient carries the TLS settings (the back end's CA, a client
	// certificate). Nil: a client trusting the system roots, TLS 1.2+.
	HTTPClient *http.Client
	// Timeout bounds one attempt (default 5 s); the caller's context bounds
	// the call.
	Timeout time.Duration
	// Retries is how many times an idempotent call is tried again after
	// the back end could not answer (default 2; negative: none). Calls
	// that are not idempotent are never retried.
	Retries int
	// Backoff is the wait before the first retry, doubled each time
	// (default 100 ms).
	Backoff time.Duration
	// MaxBody caps an answer's size (default 16 MiB).
	MaxBody int64
	Logger  *slog.Logger
}

// Client calls one back end.
type Client struct {
	base *url.URL
	o    Options

	mu    sync.Mutex
	stats map[string]*PathStats
}

// LatencyBuckets are the upper bounds, in seconds, of PathStats.Buckets.
var LatencyBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// PathStats counts the calls of one path since the Client was made.
type PathStats struct {
	OK          uint64 // answered 200
	Refused     uint64 // a contract error (*Error): the back end said no
	Unavailable uint64 // no usable answer after the retries (ErrUnavailable)
	Retries     uint64 // attempts beyond the first
	Seconds     float64
	// Buckets[i] counts the calls that took at most LatencyBuckets[i]
	// (cumulative, as Prometheus histograms are), retries included.
	Buckets []uint64
}

// Stats returns a copy of the counts per path (what /metrics exports as
// ofp_backend_*).
func (c *Client) Stats() map[string]PathStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]PathStats, len(c.stats))
	for p, st := range c.stats {
		cp := *st
		cp.Buckets = append([]uint64(nil), st.Buckets...)
		out[p] = cp
	}
	return out
}

func (c *Client) record(path string, took time.Duration, retries int, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stats == nil {
		c.stats = map[string]*PathStats{}
	}
	st := c.stats[path]
	if st == nil {
		st = &PathStats{Buckets: make([]uint64, len(LatencyBuckets))}
		c.stats[path] = st
	}
	var be *Error
	switch {
	case err == nil:
		st.OK++
	case errors.As(err, &be):
		st.Refused++
	default:
		st.Unavailable++
	}
	st.Retries += uint64(retries)
	sec := took.Seconds()
	st.Seconds += sec
	for i, le := range LatencyBuckets {
		if sec <= le {
			st.Buckets[i]++
		}
	}
}

// NewClient checks o and returns a Client.
func NewClient(o Options) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(o.BaseURL, "/"))
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("back-end URL %q: want https://host[:port][/path]", o.BaseURL)
	}
	if u.Scheme == "http" && !Loopback(u.Hostname()) {
		return nil, fmt.Errorf("back-end URL %q: plain http is accepted only for a loopback host (a sidecar); use https", o.BaseURL)
	}
	if u.User != nil {
		return nil, errors.New("back-end URL: put credentials in the token setting, not in the URL")
	}
	if o.HTTPClient == nil {
		o.HTTPClient, _ = HTTPClient("", "", "") // no files to read: it cannot fail
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	if o.Retries == 0 {
		o.Retries = 2
	}
	if o.Backoff <= 0 {
		o.Backoff = 100 * time.Millisecond
	}
	if o.MaxBody <= 0 {
		o.MaxBody = 16 << 20
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Client{base: u, o: o}, nil
}

// Loopback reports whether host names this machine (localhost, 127/8,
// ::1): the only place the contract may travel as plain HTTP.
func Loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Call POSTs in as JSON to the base URL + path and decodes a 200 answer
// into out. A contract error comes back as *Error; anything else that
// kept the back end from answering wraps ErrUnavailable. An idempotent
// call is retried, with backoff, while the back end could not answer.
func (c *Client) Call(ctx context.Context, path string, in, out any, idempotent bool) error {
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("back end %s: encode the request: %w", path, err)
	}
	start := time.Now()
	wait := c.o.Backoff
	for attempt := 0; ; attempt++ {
		err := c.once(ctx, path, body, out)
		var be *Error
		if err == nil || errors.As(err, &be) || !idempotent || attempt >= c.o.Retries || ctx.Err() != nil {
			c.record(path, time.Since(start), attempt, err)
			return err
		}
		c.o.Logger.Warn("back end did not answer; retrying", "path", path, "attempt", attempt+1, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			c.record(path, time.Since(start), attempt, err)
			return err
		case <-t.C:
		}
		wait *= 2
	}
}

func (c *Client) once(ctx context.Context, path string, body []byte, out any) error {
	ctx, cancel := context.WithTimeout(ctx, c.o.Timeout)
	defer cancel()
	u := *c.base
	u.Path += path
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrUnavailable, path, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if c.o.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.o.Token)
	}
	resp, err := c.o.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrUnavailable, path, redactURL(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, c.o.MaxBody+1))
	if err != nil {
		return fmt.Errorf("%w: %s: read the answer: %v", ErrUnavailable, path, err)
	}
	if int64(len(data)) > c.o.MaxBody {
		return fmt.Errorf("%w: %s: the answer is larger than %d bytes", ErrUnavailable, path, c.o.MaxBody)
	}
	if resp.StatusCode != http.StatusOK {
		if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
			return fmt.Errorf("%w: %s: refused with %d: check the back-end token and certificates", ErrUnavailable, path, resp.StatusCode)
		}
		var eb errorBody
		if json.Unmarshal(data, &eb) == nil && eb.Error.Code != "" && resp.StatusCode < 500 {
			return &Error{Status: resp.StatusCode, Code: eb.Error.Code, Message: eb.Error.Message}
		}
		return fmt.Errorf("%w: %s: status %d", ErrUnavailable, path, resp.StatusCode)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%w: %s: the answer is not the contract's JSON: %v", ErrUnavailable, path, err)
	}
	return nil
}

// redactURL drops the URL from a transport error (it may carry a query
// the back end treats as secret); the path is said by the caller.
func redactURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// DefaultTLS is the TLS configuration of a back-end client: TLS 1.2 or
// newer, the system roots.
func DefaultTLS() *tls.Config { return &tls.Config{MinVersion: tls.VersionTLS12} }

// HTTPClient returns a client for a back end: TLS 1.2+, trusting the CA
// bundle in caFile (PEM; empty: the system roots) and presenting the
// client certificate certFile/keyFile (PEM; empty: none).
func HTTPClient(caFile, certFile, keyFile string) (*http.Client, error) {
	cfg := DefaultTLS()
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("back-end CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("back-end CA %s: no PEM certificate in it", caFile)
		}
		cfg.RootCAs = pool
	}
	if (certFile == "") != (keyFile == "") {
		return nil, errors.New("back-end client certificate: give both the certificate and its key, or neither")
	}
	if certFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("back-end client certificate %s: %w", certFile, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return &http.Client{Transport: &http.Transport{
		Proxy: http.ProxyFromEnvironment, TLSClientConfig: cfg, MaxIdleConnsPerHost: 32, IdleConnTimeout: 90 * time.Second,
		ForceAttemptHTTP2: true,
	}}, nil
}

// Server helpers.

// Handle registers on mux the contract endpoint path: a POST whose JSON
// body decodes into In, answered by fn. fn's error is turned into the
// contract's error body by classify (status and code; a zero status means
// 500 INTERNAL, with no detail sent). With token set, requests must carry
// it as a bearer token (compared in constant time).
func Handle[In, Out any](mux *http.ServeMux, path, token string, classify func(error) (int, string), fn func(context.Context, In) (Out, error)) {
	mux.HandleFunc("POST "+path, func(w http.ResponseWriter, r *http.Request) {
		if token != "" {
			got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
				WriteError(w, http.StatusUnauthorized, "UNAUTHORISED", "a valid bearer token is required")
				return
			}
		}
		var in In
		dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
		if err := dec.Decode(&in); err != nil {
			WriteError(w, http.StatusBadRequest, "BAD_REQUEST", "the body is not the request's JSON: "+err.Error())
			return
		}
		out, err := fn(r.Context(), in)
		if err != nil {
			status, code := classify(err)
			msg := err.Error()
			if status == 0 {
				status, code, msg = http.StatusInternalServerError, "INTERNAL", "internal error"
			}
			WriteError(w, status, code, msg)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	})
}

// WriteError writes the contract's error body.
func WriteError(w http.ResponseWriter, status int, code, message string) {
	var eb errorBody
	eb.Error.Code, eb.Error.Message = code, message
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(eb)
}
