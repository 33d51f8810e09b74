package directory

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

// Options configures a Client. Start from DefaultOptions.
type Options struct {
	// HTTPClient sends the requests; nil means a client with no overall
	// timeout (Timeout below bounds each attempt).
	HTTPClient *http.Client
	// Timeout bounds one attempt, reading the body included.
	Timeout time.Duration
	// MaxRetries is how many times a failed attempt (network error, 5xx, 429)
	// is retried.
	MaxRetries int
	// Backoff is the wait before the first retry; it doubles per retry up to
	// MaxBackoff, with jitter. A Retry-After header replaces it (capped by
	// MaxBackoff).
	Backoff    time.Duration
	MaxBackoff time.Duration
	// MaxBodyBytes bounds the participants document (the real one is a few MiB).
	MaxBodyBytes int64
	// UserAgent is sent on every request.
	UserAgent string
	// Sleep waits between attempts; tests replace it. It must return
	// ctx.Err() when ctx ends first.
	Sleep func(ctx context.Context, d time.Duration) error
	// Logger receives warnings about dropped records; nil means slog.Default().
	Logger *slog.Logger
}

// DefaultOptions returns the options used in production.
func DefaultOptions() Options {
	return Options{
		Timeout:      60 * time.Second,
		MaxRetries:   3,
		Backoff:      time.Second,
		MaxBackoff:   30 * time.Second,
		MaxBodyBytes: 128 << 20,
		UserAgent:    "ofp-directory-client",
		Sleep:        sleepCtx,
	}
}

// Client reads the central directory's public participants list.
type Client struct {
	opts Options
	hc   *http.Client
	log  *slog.Logger
}

// NewClient validates opts and returns a Client.
func NewClient(opts Options) (*Client, error) {
	if opts.Timeout <= 0 {
		return nil, errors.New("directory: Options.Timeout must be positive")
	}
	if opts.MaxRetries < 0 {
		return nil, errors.New("directory: Options.MaxRetries must not be negative")
	}
	if opts.MaxBodyBytes <= 0 {
		return nil, errors.New("directory: Options.MaxBodyBytes must be positive")
	}
	if opts.Sleep == nil {
		opts.Sleep = sleepCtx
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Client{opts: opts, hc: hc, log: log}, nil
}

// StatusError is a non-2xx answer from the directory after retries.
type StatusError struct {
	URL        string
	StatusCode int
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("directory: GET %s: HTTP %d", e.URL, e.StatusCode)
}

// Participants fetches and parses the participants list at url (e.g.
// https://data.directory.openbankingbrasil.org.br/participants). Records
// that do not decode are dropped and logged; the call fails only when the
// document cannot be fetched or is not a JSON array. ctx bounds the whole
// call, retries included.
func (c *Client) Participants(ctx context.Context, url string) ([]Organisation, error) {
	body, err := c.get(ctx, url)
	if err != nil {
		return nil, err
	}
	orgs, rejected, err := ParseParticipants(body)
	if err != nil {
		return nil, fmt.Errorf("directory: %s: %w", url, err)
	}
	for _, r := range rejected {
		c.log.Warn("directory: dropped participant record", "url", url, "index", r.Index,
			"organisation_id", r.OrganisationID, "err", r.Err)
	}
	return orgs, nil
}

func (c *Client) get(ctx context.Context, url string) ([]byte, error) {
	var lastErr error
	for attempt := 0; ; attempt++ {
		body, retryAfter, retry, err := c.attempt(ctx, url)
		if err == nil {
			return body, nil
		}
		lastErr = err
		if !retry || attempt >= c.opts.MaxRetries || ctx.Err() != nil {
			break
		}
		wait := c.backoff(attempt)
		if retryAfter > 0 {
			wait = min(retryAfter, c.opts.MaxBackoff)
		}
		if err := c.opts.Sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("directory: GET %s: %w (last error: %v)", url, err, lastErr)
		}
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("directory: GET %s: %w", url, ctx.Err())
	}
	return nil, lastErr
}

func (c *Client) attempt(ctx context.Context, url string) (body []byte, retryAfter time.Duration, retry bool, err error) {
	actx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodGet, url, nil)
	if err != nil {
		return nil, 0, false, fmt.Errorf("directory: bad participants URL %q: %w", url, err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.opts.UserAgent)
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, 0, true, fmt.Errorf("directory: GET %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		retry := resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500
		return nil, retryAfterSeconds(resp.Header.Get("Retry-After")), retry,
			&StatusError{URL: url, StatusCode: resp.StatusCode}
	}
	body, err = io.ReadAll(io.LimitReader(resp.Body, c.opts.MaxBodyBytes+1))
	if err != nil {
		return nil, 0, true, fmt.Errorf("directory: GET %s: reading body: %w", url, err)
	}
	if int64(len(body)) > c.opts.MaxBodyBytes {
		return nil, 0, false, fmt.Errorf("directory: GET %s: body exceeds %d bytes; raise Options.MaxBodyBytes if the list really grew", url, c.opts.MaxBodyBytes)
	}
	return body, 0, false, nil
}

func (c *Client) backoff(attempt int) time.Duration {
	d := c.opts.Backoff
	for i := 0; i < attempt && d < c.opts.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, c.opts.MaxBackoff)
	if d <= 0 {
		return 0
	}
	return d/2 + rand.N(d/2+1) // equal jitter
}

// retryAfterSeconds reads a Retry-After given in seconds; HTTP dates are
// ignored here (the directory sends seconds), falling back to backoff.
func retryAfterSeconds(v string) time.Duration {
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return 0
	}
	return time.Duration(n) * time.Second
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
