package login

import (
	"sync"
	"time"
)

// LimiterOptions configures a Limiter. Zero fields take the defaults.
type LimiterOptions struct {
	// MaxUserFailures failed logins of one CPF within Window block further
	// attempts for that CPF until the oldest failure leaves the window. Default 5.
	MaxUserFailures int
	// MaxAddressFailures failed logins from one client address within Window
	// block that address. Default 20.
	MaxAddressFailures int
	// Window is the sliding window. Default 15 minutes.
	Window time.Duration
	// MaxKeys bounds memory: past it, the keys with the oldest activity are
	// dropped. Default 100 000.
	MaxKeys int
	// Now defaults to time.Now.
	Now func() time.Time
}

// WithDefaults returns o with its zero fields set to the defaults.
func (o LimiterOptions) WithDefaults() LimiterOptions {
	if o.MaxUserFailures <= 0 {
		o.MaxUserFailures = 5
	}
	if o.MaxAddressFailures <= 0 {
		o.MaxAddressFailures = 20
	}
	if o.Window <= 0 {
		o.Window = 15 * time.Minute
	}
	if o.MaxKeys <= 0 {
		o.MaxKeys = 100_000
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Limiter counts failed logins per user and per client address in a sliding
// window. It is in memory: with several replicas each would keep its own
// counts (the effective limit replicas × the configured one), so replicas
// share authz/store's LoginLimiter, which applies the same rules.
type Limiter struct {
	opts LimiterOptions
	mu   sync.Mutex
	keys map[string][]time.Time
}

// NewLimiter returns a Limiter.
func NewLimiter(opts LimiterOptions) *Limiter {
	return &Limiter{opts: opts.WithDefaults(), keys: map[string][]time.Time{}}
}

// Allow reports whether a login for user from addr may be tried now, and if
// not, how long until it may.
func (l *Limiter) Allow(user, addr string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.opts.Now()
	wait := max(l.blocked("u:"+user, l.opts.MaxUserFailures, now), l.blocked("a:"+addr, l.opts.MaxAddressFailures, now))
	return wait == 0, wait
}

// Failure records a failed login.
func (l *Limiter) Failure(user, addr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.opts.Now()
	if len(l.keys) >= l.opts.MaxKeys {
		l.evict(now)
	}
	for _, k := range []string{"u:" + user, "a:" + addr} {
		l.keys[k] = append(l.recent(k, now), now)
	}
}

// Success clears the user's failures (the address keeps its count).
func (l *Limiter) Success(user string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.keys, "u:"+user)
}

// recent drops the key's entries older than the window.
func (l *Limiter) recent(k string, now time.Time) []time.Time {
	ts := l.keys[k]
	i := 0
	for i < len(ts) && now.Sub(ts[i]) >= l.opts.Window {
		i++
	}
	ts = ts[i:]
	if len(ts) == 0 {
		delete(l.keys, k)
		return nil
	}
	l.keys[k] = ts
	return ts
}

func (l *Limiter) blocked(k string, limit int, now time.Time) time.Duration {
	ts := l.recent(k, now)
	if len(ts) < limit {
		return 0
	}
	return ts[len(ts)-limit].Add(l.opts.Window).Sub(now)
}

// evict drops expired keys, and if that is not enough, every key whose last
// failure is older than half the window.
func (l *Limiter) evict(now time.Time) {
	for k := range l.keys {
		l.recent(k, now)
	}
	if len(l.keys) < l.opts.MaxKeys {
		return
	}
	for k, ts := range l.keys {
		if now.Sub(ts[len(ts)-1]) >= l.opts.Window/2 {
			delete(l.keys, k)
		}
	}
}
