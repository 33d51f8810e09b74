package customerdata

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
)

// LimitOptions configure a Limiter: a token bucket per client id that
// refills PerSecond tokens a second up to Burst.
type LimitOptions struct {
	// PerSecond is the sustained rate per client. The old portal rule is
	// that holders accept at least 500 calls a minute per receiver
	// (BRIEF §5), so keep it ≥ 8.4.
	PerSecond float64
	// Burst is how many calls a client may make at once after a pause.
	Burst int
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// DefaultLimitOptions: 100 calls a second per client (6,000 a minute, well
// above the 500-a-minute floor), bursts of 200.
func DefaultLimitOptions() LimitOptions {
	return LimitOptions{PerSecond: 100, Burst: 200}
}

// Limiter limits calls per client id with a token bucket each. It is safe
// for concurrent use; buckets of clients idle long enough to be full again
// are dropped, so memory follows the active clients.
type Limiter struct {
	rate  float64
	burst float64
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
	calls   int
}

type bucket struct {
	tokens float64
	last   time.Time
}

// NewLimiter builds a Limiter; it fails on a non-positive rate or burst.
func NewLimiter(opts LimitOptions) (*Limiter, error) {
	if opts.PerSecond <= 0 {
		return nil, errors.New("customerdata: LimitOptions.PerSecond must be positive")
	}
	if opts.Burst < 1 {
		return nil, errors.New("customerdata: LimitOptions.Burst must be at least 1")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Limiter{rate: opts.PerSecond, burst: float64(opts.Burst), now: opts.Now, buckets: map[string]*bucket{}}, nil
}

// sweepEvery is how many calls pass between sweeps of idle buckets.
const sweepEvery = 4096

// RateLimiter limits calls per client id: Allow takes one call of client's
// budget, or returns false and how long until one is due (Retry-After).
// Limiter counts per process; authz/store.ClientRateLimiter shares the
// budget between replicas through the database.
type RateLimiter interface {
	Allow(ctx context.Context, client string) (bool, time.Duration)
}

var _ RateLimiter = (*Limiter)(nil)

// Allow takes one token from client's bucket. When it is empty it returns
// false and how long until a token is back (for Retry-After). A nil
// *Limiter allows every call.
func (l *Limiter) Allow(_ context.Context, client string) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls++
	if l.calls%sweepEvery == 0 {
		l.sweep(now)
	}
	b, ok := l.buckets[client]
	if !ok {
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[client] = b
	}
	if elapsed := now.Sub(b.last).Seconds(); elapsed > 0 {
		b.tokens = min(l.burst, b.tokens+elapsed*l.rate)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
	return false, wait
}

// sweep drops the buckets that would be full by now.
func (l *Limiter) sweep(now time.Time) {
	full := time.Duration(l.burst / l.rate * float64(time.Second))
	for k, b := range l.buckets {
		if now.Sub(b.last) > full {
			delete(l.buckets, k)
		}
	}
}

// minPerSecond is the floor of the old portal rule: holders accept at
// least 500 calls a minute per receiver (BRIEF §5).
const minPerSecond = 500.0 / 60

// ParseLimit reads an operator's limit, "<calls per second>[:<burst>]"
// ("100:200", "50"; the burst defaults to twice the rate). A rate below
// the 500-calls-a-minute floor is refused, saying so.
func ParseLimit(s string) (LimitOptions, error) {
	rate, burst, hasBurst := strings.Cut(strings.TrimSpace(s), ":")
	perSecond, err := strconv.ParseFloat(strings.TrimSpace(rate), 64)
	if err != nil || perSecond <= 0 || math.IsInf(perSecond, 0) || math.IsNaN(perSecond) {
		return LimitOptions{}, fmt.Errorf("rate limit %q: want <calls per second>[:<burst>], e.g. 100:200", s)
	}
	if perSecond < minPerSecond {
		return LimitOptions{}, fmt.Errorf("rate limit %q: %g calls a second is below the 500 a minute (%.2f a second) holders must accept per receiver", s, perSecond, minPerSecond)
	}
	o := LimitOptions{PerSecond: perSecond, Burst: int(math.Ceil(2 * perSecond))}
	if hasBurst {
		b, err := strconv.Atoi(strings.TrimSpace(burst))
		if err != nil || b < 1 {
			return LimitOptions{}, fmt.Errorf("rate limit %q: the burst must be a whole number of calls, at least 1", s)
		}
		o.Burst = b
	}
	return o, nil
}
