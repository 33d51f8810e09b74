package opendata

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ofp-dev/ofp/connectors/directory"
)

// Errors recorded on a Page or returned by Fetch. They describe the server,
// not ofp: the caller records them (failed page, partial collection) and
// carries on with the next endpoint.
var (
	// ErrMalformedJSON: a 2xx page whose body is not valid JSON. The page is
	// still emitted with its body so it can be quarantined.
	ErrMalformedJSON = errors.New("opendata: page body is not valid JSON")
	// ErrTruncated: the connection ended before the body did, on every
	// attempt. The page is emitted with the bytes received.
	ErrTruncated = errors.New("opendata: page body truncated")
	// ErrBodyTooLarge: the body exceeds Options.MaxBodyBytes. The page is
	// emitted without a body.
	ErrBodyTooLarge = errors.New("opendata: page body exceeds Options.MaxBodyBytes")
	// ErrTimeout: every attempt exceeded Options.Timeout.
	ErrTimeout = errors.New("opendata: request timed out")
	// ErrUnsafeURL: a next link or redirect leaves the endpoint's host,
	// downgrades https to http or uses another scheme, and
	// Options.AllowCrossHost is off. Nothing is requested from that URL.
	ErrUnsafeURL = errors.New("opendata: URL refused (other host or scheme than the endpoint)")
	// ErrPaginationLoop: a next link points at a page already fetched in this walk.
	ErrPaginationLoop = errors.New("opendata: pagination loop (next URL already fetched)")
	// ErrMaxPages: the walk reached Options.MaxPages while the server still
	// announced more pages; the data is incomplete.
	ErrMaxPages = errors.New("opendata: pagination stopped at Options.MaxPages")
	// ErrBadNext: links.next is not a usable URL.
	ErrBadNext = errors.New("opendata: links.next is not a usable URL")
)

// StatusError is a non-2xx answer that was not retried or still failed
// after retries.
type StatusError struct {
	StatusCode int
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("opendata: HTTP %d %s", e.StatusCode, http.StatusText(e.StatusCode))
}

// Page is one response of an open-data endpoint, in walk order. A page that
// finally failed has Err set; StatusCode is 0 when no response arrived.
type Page struct {
	URL        string
	Number     int // 1-based position in the walk
	StatusCode int
	Body       []byte // exactly as received (possibly malformed or truncated)
	FetchedAt  time.Time
	Attempts   int
	Err        error
}

// Stats sums up one Fetch.
type Stats struct {
	Pages   int   // pages emitted, failed ones included
	Retries int   // attempts beyond the first, over all pages
	Bytes   int64 // body bytes emitted
	Errors  int   // failed pages plus walk errors (loop, cap, refused link)
}

// Client fetches open-data endpoints. It is safe for concurrent use.
type Client struct {
	opts Options
	hc   *http.Client
	ua   string
}

// New validates opts and returns a Client.
func New(opts Options) (*Client, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	base := opts.HTTPClient
	if base == nil {
		base = &http.Client{}
	}
	hc := *base // shallow copy: same transport, our redirect policy
	prev := base.CheckRedirect
	allow := opts.AllowCrossHost
	hc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if !allow && len(via) > 0 {
			if err := sameOrigin(via[0].URL, req.URL); err != nil {
				return err
			}
		}
		if prev != nil {
			return prev(req, via)
		}
		if len(via) >= 10 {
			return errors.New("opendata: stopped after 10 redirects")
		}
		return nil
	}
	return &Client{opts: opts, hc: &hc, ua: "ofp-opendata-collector/" + opts.Version}, nil
}

// Fetch walks the pages of ep, calling emit once per page in order, failed
// pages included. It follows links.next, or else meta.totalPages with
// page=N+1, and stops when there is no next page, on a repeated URL, at
// Options.MaxPages, or at the first failed page.
//
// It returns nil when the walk ended normally; the error that ended it early
// (the failed page's Err, ErrPaginationLoop, ErrMaxPages, ErrUnsafeURL,
// ErrBadNext), wrapped with the endpoint URL; ctx's error when ctx ended
// (no page is emitted for the interrupted request); or emit's error, which
// stops the walk at once. Stats are valid in every case.
func (c *Client) Fetch(ctx context.Context, ep directory.Endpoint, emit func(Page) error) (Stats, error) {
	var st Stats
	start, err := url.Parse(ep.URL)
	if err != nil || (start.Scheme != "https" && start.Scheme != "http") || start.Host == "" || start.User != nil {
		return st, fmt.Errorf("opendata: endpoint URL %q: %w (fix the directory record or discovery)", ep.URL, ErrUnsafeURL)
	}
	if c.opts.PageSize > 0 && !start.Query().Has("page-size") {
		q := start.Query()
		q.Set("page-size", strconv.Itoa(c.opts.PageSize))
		start.RawQuery = q.Encode()
	}
	cur := start
	seen := map[string]bool{}
	for number := 1; ; number++ {
		curStr := cur.String()
		seen[curStr] = true
		page, retries, err := c.fetchPage(ctx, curStr, number)
		st.Retries += retries
		if err != nil {
			return st, fmt.Errorf("opendata: %s page %d: %w", ep.URL, number, err)
		}
		var pg pagination
		if page.Err == nil {
			pg, err = parsePagination(page.Body)
			if err != nil {
				page.Err = fmt.Errorf("GET %s: %w", curStr, ErrMalformedJSON)
			}
		}
		st.Pages++
		st.Bytes += int64(len(page.Body))
		if page.Err != nil {
			st.Errors++
		}
		if err := emit(page); err != nil {
			return st, fmt.Errorf("opendata: %s page %d: emit: %w", ep.URL, number, err)
		}
		if page.Err != nil {
			return st, fmt.Errorf("opendata: %s: stopped at page %d: %w", ep.URL, number, page.Err)
		}

		next, err := nextURL(cur, number, pg)
		if err != nil {
			st.Errors++
			return st, fmt.Errorf("opendata: %s page %d: %w: %v", ep.URL, number, ErrBadNext, err)
		}
		if next == "" {
			return st, nil
		}
		nu, err := url.Parse(next)
		if err != nil {
			st.Errors++
			return st, fmt.Errorf("opendata: %s page %d: %w: %v", ep.URL, number, ErrBadNext, err)
		}
		if !c.opts.AllowCrossHost {
			if err := sameOrigin(start, nu); err != nil {
				st.Errors++
				return st, fmt.Errorf("opendata: %s page %d: next %q: %w", ep.URL, number, truncate(next, 200), err)
			}
		} else if nu.Scheme != "https" && nu.Scheme != "http" || nu.Host == "" {
			st.Errors++
			return st, fmt.Errorf("opendata: %s page %d: next %q: %w", ep.URL, number, truncate(next, 200), ErrUnsafeURL)
		}
		if seen[nu.String()] {
			st.Errors++
			return st, fmt.Errorf("opendata: %s page %d: next %q: %w", ep.URL, number, truncate(next, 200), ErrPaginationLoop)
		}
		if number >= c.opts.MaxPages {
			st.Errors++
			return st, fmt.Errorf("opendata: %s: %w (%d)", ep.URL, ErrMaxPages, c.opts.MaxPages)
		}
		cur = nu
	}
}

// fetchPage requests one page with retries. Its error is only ctx's; every
// server-side failure ends up in Page.Err.
func (c *Client) fetchPage(ctx context.Context, rawURL string, number int) (Page, int, error) {
	retries := 0
	for attempt := 1; ; attempt++ {
		res := c.attempt(ctx, rawURL)
		if err := ctx.Err(); err != nil {
			return Page{}, retries, err
		}
		if !res.retryable || attempt > c.opts.MaxRetries {
			return Page{
				URL:        rawURL,
				Number:     number,
				StatusCode: res.status,
				Body:       res.body,
				FetchedAt:  res.at,
				Attempts:   attempt,
				Err:        res.err,
			}, retries, nil
		}
		wait := c.opts.Jitter(c.backoff(attempt))
		if res.hasRetryAfter {
			wait = res.retryAfter
		}
		if err := c.opts.Sleep(ctx, wait); err != nil {
			return Page{}, retries, err
		}
		retries++
	}
}

func (c *Client) backoff(attempt int) time.Duration {
	d := c.opts.BaseBackoff
	for i := 1; i < attempt && d < c.opts.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, c.opts.MaxBackoff)
}

type result struct {
	status        int
	body          []byte
	at            time.Time
	err           error
	retryable     bool
	retryAfter    time.Duration
	hasRetryAfter bool
}

func (c *Client) attempt(ctx context.Context, rawURL string) result {
	actx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodGet, rawURL, nil)
	if err != nil {
		return result{at: c.now(), err: fmt.Errorf("GET %s: %w: %v", rawURL, ErrBadNext, err)}
	}
	req.Header.Set("User-Agent", c.ua)
	req.Header.Set("Accept", "application/json")
	resp, err := c.hc.Do(req)
	at := c.now()
	if err != nil {
		switch {
		case errors.Is(err, ErrUnsafeURL):
			return result{at: at, err: fmt.Errorf("GET %s: redirect: %w", rawURL, ErrUnsafeURL)}
		case ctx.Err() == nil && actx.Err() != nil:
			return result{at: at, err: fmt.Errorf("GET %s: %w after %s", rawURL, ErrTimeout, c.opts.Timeout), retryable: true}
		default:
			return result{at: at, err: fmt.Errorf("GET %s: %w", rawURL, err), retryable: true}
		}
	}
	defer resp.Body.Close()
	res := result{status: resp.StatusCode, at: at}
	if resp.ContentLength > c.opts.MaxBodyBytes {
		res.err = fmt.Errorf("GET %s: %w (Content-Length %d > %d)", rawURL, ErrBodyTooLarge, resp.ContentLength, c.opts.MaxBodyBytes)
		return res
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.opts.MaxBodyBytes+1))
	if int64(len(body)) > c.opts.MaxBodyBytes {
		res.err = fmt.Errorf("GET %s: %w (%d)", rawURL, ErrBodyTooLarge, c.opts.MaxBodyBytes)
		return res
	}
	res.body = body
	if err != nil {
		res.retryable = true
		if ctx.Err() == nil && actx.Err() != nil {
			res.err = fmt.Errorf("GET %s: %w after %s while reading the body (%d bytes received)", rawURL, ErrTimeout, c.opts.Timeout, len(body))
		} else {
			res.err = fmt.Errorf("GET %s: %w after %d bytes: %v", rawURL, ErrTruncated, len(body), err)
		}
		return res
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		res.err = fmt.Errorf("GET %s: %w", rawURL, &StatusError{StatusCode: resp.StatusCode})
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
			res.retryable = true
			res.retryAfter, res.hasRetryAfter = c.retryAfter(resp.Header.Get("Retry-After"))
		}
	}
	return res
}

func (c *Client) now() time.Time { return c.opts.Now().UTC() }

// retryAfter reads Retry-After as seconds or an HTTP date, capped by
// Options.MaxRetryAfter.
func (c *Client) retryAfter(v string) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	var d time.Duration
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, false
		}
		if n > int64(c.opts.MaxRetryAfter/time.Second)+1 {
			return c.opts.MaxRetryAfter, true
		}
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = max(t.Sub(c.opts.Now()), 0)
	} else {
		return 0, false
	}
	return min(d, c.opts.MaxRetryAfter), true
}

// sameOrigin refuses u unless it has ref's host and a scheme at least as
// safe (https stays https; http may go to https).
func sameOrigin(ref, u *url.URL) error {
	if u.User != nil {
		return fmt.Errorf("%w: credentials in URL", ErrUnsafeURL)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && ref.Scheme == "http":
	default:
		return fmt.Errorf("%w: scheme %q from %q", ErrUnsafeURL, u.Scheme, ref.Scheme)
	}
	if !strings.EqualFold(u.Host, ref.Host) {
		return fmt.Errorf("%w: host %q is not %q", ErrUnsafeURL, u.Host, ref.Host)
	}
	return nil
}
