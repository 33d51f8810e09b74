package webhooks

import (
	"context"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// backoff is the wait after failed attempt n (1-based): MinBackoff·2^(n-1),
// capped at MaxBackoff, plus up to Jitter of it at random.
func (d *Deliverer) backoff(n int) time.Duration {
	w := float64(d.opts.MinBackoff) * math.Pow(2, float64(n-1))
	if w > float64(d.opts.MaxBackoff) {
		w = float64(d.opts.MaxBackoff)
	}
	w += w * d.opts.Jitter * d.opts.Rand()
	return time.Duration(w)
}

// retryAfter parses a Retry-After header (delay-seconds or HTTP-date);
// false when absent or unreadable.
func retryAfter(h string, now time.Time) (time.Duration, bool) {
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
