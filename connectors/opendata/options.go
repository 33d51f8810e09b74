package opendata

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"time"
)

// Version is the collector version sent in the User-Agent; cmd/ofp may set
// Options.Version from its build information instead.
const Version = "0.1.0"

// Options configures a Client. Start from DefaultOptions and change fields;
// New validates them.
type Options struct {
	// HTTPClient sends the requests. nil means a fresh client. Its redirect
	// policy is wrapped so that redirects obey the same host guard as next
	// links; its Timeout, if any, still applies.
	HTTPClient *http.Client
	// Version goes into the User-Agent "ofp-opendata-collector/<Version>".
	Version string
	// Timeout bounds one request attempt, reading the body included.
	Timeout time.Duration
	// MaxBodyBytes bounds one page; a larger page becomes a failed page.
	MaxBodyBytes int64
	// MaxPages caps the pagination walk of one endpoint.
	MaxPages int
	// PageSize, when positive, is sent as page-size on the first request
	// (unless the endpoint URL already has one). 0 lets the server choose.
	PageSize int
	// MaxRetries is how many times an attempt that failed with a network
	// error, a truncated body, 5xx or 429 is retried.
	MaxRetries int
	// BaseBackoff is the wait before the first retry; it doubles per retry up
	// to MaxBackoff, then Jitter is applied.
	BaseBackoff time.Duration
	MaxBackoff  time.Duration
	// MaxRetryAfter caps a server's Retry-After (seconds or HTTP date).
	MaxRetryAfter time.Duration
	// AllowCrossHost lets next links and redirects leave the endpoint's host
	// (and downgrade https to http). Off by default: a hostile server could
	// otherwise make the collector call internal addresses.
	AllowCrossHost bool
	// Sleep waits between attempts. It must return ctx.Err() promptly when
	// ctx ends. Tests replace it to record waits without sleeping.
	Sleep func(ctx context.Context, d time.Duration) error
	// Jitter turns a backoff into the actual wait; default "equal jitter"
	// (d/2 plus a random part up to d/2). Not applied to Retry-After.
	Jitter func(d time.Duration) time.Duration
	// Now is the clock used for FetchedAt and Retry-After dates.
	Now func() time.Time
}

// DefaultOptions returns production settings.
func DefaultOptions() Options {
	return Options{
		Version:       Version,
		Timeout:       30 * time.Second,
		MaxBodyBytes:  32 << 20,
		MaxPages:      1000,
		MaxRetries:    3,
		BaseBackoff:   500 * time.Millisecond,
		MaxBackoff:    30 * time.Second,
		MaxRetryAfter: 2 * time.Minute,
		Sleep:         SleepContext,
		Jitter:        EqualJitter,
		Now:           time.Now,
	}
}

func (o *Options) validate() error {
	var errs []error
	if o.Timeout <= 0 {
		errs = append(errs, errors.New("Timeout must be positive"))
	}
	if o.MaxBodyBytes <= 0 {
		errs = append(errs, errors.New("MaxBodyBytes must be positive"))
	}
	if o.MaxPages <= 0 {
		errs = append(errs, errors.New("MaxPages must be positive"))
	}
	if o.PageSize < 0 {
		errs = append(errs, errors.New("PageSize must not be negative"))
	}
	if o.MaxRetries < 0 {
		errs = append(errs, errors.New("MaxRetries must not be negative"))
	}
	if o.BaseBackoff < 0 || o.MaxBackoff < o.BaseBackoff {
		errs = append(errs, errors.New("need 0 <= BaseBackoff <= MaxBackoff"))
	}
	if o.MaxRetryAfter < 0 {
		errs = append(errs, errors.New("MaxRetryAfter must not be negative"))
	}
	if o.Version == "" {
		errs = append(errs, errors.New("Version must be set"))
	}
	if err := errors.Join(errs...); err != nil {
		return errors.New("opendata: invalid options: " + err.Error())
	}
	if o.Sleep == nil {
		o.Sleep = SleepContext
	}
	if o.Jitter == nil {
		o.Jitter = EqualJitter
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return nil
}

// SleepContext waits d or until ctx ends, whichever is first.
func SleepContext(ctx context.Context, d time.Duration) error {
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

// EqualJitter returns a random duration in [d/2, d].
func EqualJitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d-d/2+1)
}
