package webhooks

import (
	"context"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Retry is how a webhook deliverer retries a receiver that failed: the
// policy of this package's Deliverer and of consent/payments/paymentwebhooks,
// which embed it in their Options. Zero fields take the defaults noted.
type Retry struct {
	// AttemptTimeout bounds one POST; default 10 s.
	AttemptTimeout time.Duration
	// MaxAttempts is the most POSTs per event; default 8.
	MaxAttempts int
	// MaxAge is how long after the first attempt retries may still start;
	// default 30 min.
	MaxAge time.Duration
	// MinBackoff, MaxBackoff bound the exponential wait; default 1 s, 5 min.
	MinBackoff, MaxBackoff time.Duration
	// Jitter is the largest random fraction added to a backoff; default
	// 0.2. Use a negative value for none.
	Jitter float64
	// Rand returns a number in [0,1); default math/rand/v2.Float64.
	Rand func() float64
}

// WithDefaults returns r with its zero fields set to the defaults.
func (r Retry) WithDefaults() Retry {
	if r.AttemptTimeout <= 0 {
		r.AttemptTimeout = 10 * time.Second
	}
	if r.MaxAttempts <= 0 {
		r.MaxAttempts = 8
	}
	if r.MaxAge <= 0 {
		r.MaxAge = 30 * time.Minute
	}
	if r.MinBackoff <= 0 {
		r.MinBackoff = time.Second
	}
	if r.MaxBackoff <= 0 {
		r.MaxBackoff = 5 * time.Minute
	}
	if r.Jitter == 0 {
		r.Jitter = 0.2
	}
	if r.Jitter < 0 {
		r.Jitter = 0
	}
	if r.Rand == nil {
		r.Rand = rand.Float64
	}
	return r
}

// Backoff is the wait after failed attempt n (1-based): MinBackoff·2^(n-1),
// capped at MaxBackoff, plus up to Jitter of it at random. r must have its
// defaults (WithDefaults).
func (r Retry) Backoff(n int) time.Duration {
	w := float64(r.MinBackoff) * math.Pow(2, float64(n-1))
	if w > float64(r.MaxBackoff) {
		w = float64(r.MaxBackoff)
	}
	w += w * r.Jitter * r.Rand()
	return time.Duration(w)
}

// Next decides what follows failed attempt n (t) of an event first tried
// at first: the wait before the next attempt (the receiver's Retry-After
// when it sent one, else Backoff(n)), or giveUp when n reached MaxAttempts
// or the next attempt would start more than MaxAge after the first.
func (r Retry) Next(n int, first, now time.Time, t Try) (wait time.Duration, giveUp bool) {
	wait = r.Backoff(n)
	if t.HasRetryAfter {
		wait = t.RetryAfter
	}
	return wait, n >= r.MaxAttempts || now.Add(wait).Sub(first) > r.MaxAge
}

// RetryAfter parses a Retry-After header (delay-seconds or HTTP-date,
// RFC 9110 §10.2.3) at now; false when absent or unreadable. A date in the
// past is a zero wait.
func RetryAfter(h string, now time.Time) (time.Duration, bool) {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0, false
	}
	if secs, err := strconv.Atoi(h); err == nil {
		if secs < 0 {
			return 0, false
		}
		return time.Duration(secs) * time.Second, true
	}
	if t, err := http.ParseTime(h); err == nil {
		if w := t.Sub(now); w > 0 {
			return w, true
		}
		return 0, true
	}
	return 0, false
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
