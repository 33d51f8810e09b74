package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"
)

// ClientRateLimiter is a token bucket per client id that the replicas
// share: the bucket lives in the database (authz_client_buckets), so a
// receiver's budget is the same whichever replica its calls reach. It
// satisfies consent/customerdata.RateLimiter.
//
// A replica does not go to the database on every call: it takes a lease of
// a few tokens at once (Lease) and spends them locally for at most
// LeaseTTL; tokens it leased and did not spend are lost, never handed out
// twice. So the shared budget is never exceeded; a client may be refused
// up to about Lease calls early per replica it reaches. A client refused
// by the shared bucket is refused locally until a token is due, without
// asking the database again.
//
// When the database cannot be reached, calls are counted by Fallback (a
// per-process limiter) and the failure is logged once a minute: a database
// outage neither opens the APIs wide nor closes them.
type ClientRateLimiter struct {
	s     *Store
	opts  ClientRateOptions
	mu    sync.Mutex
	local map[string]*lease
	// lastWarn is when a database failure was last logged.
	lastWarn time.Time
}

// ClientRateOptions configure a ClientRateLimiter.
type ClientRateOptions struct {
	// PerSecond and Burst are the shared bucket's refill rate and size.
	PerSecond float64
	Burst     int
	// Lease is how many tokens a replica takes at once; 0 means a tenth of
	// the rate (at least 1, at most Burst/4).
	Lease int
	// LeaseTTL is how long a replica may spend a lease; 0 means 1 s.
	LeaseTTL time.Duration
	// Fallback counts calls while the database cannot be reached; nil
	// allows them.
	Fallback interface {
		Allow(ctx context.Context, client string) (bool, time.Duration)
	}
}

type lease struct {
	tokens  int
	expires time.Time // the lease's end
	refused time.Time // until when the shared bucket is known empty
}

// ClientRateLimiter returns the shared limiter on s's database.
func (s *Store) ClientRateLimiter(opts ClientRateOptions) (*ClientRateLimiter, error) {
	if opts.PerSecond <= 0 || math.IsInf(opts.PerSecond, 0) || math.IsNaN(opts.PerSecond) || opts.Burst < 1 {
		return nil, errors.New("store: a client rate limit needs a positive rate and a burst of at least 1")
	}
	if opts.Lease <= 0 {
		opts.Lease = max(1, min(int(opts.PerSecond/10), opts.Burst/4))
	}
	if opts.LeaseTTL <= 0 {
		opts.LeaseTTL = time.Second
	}
	return &ClientRateLimiter{s: s, opts: opts, local: map[string]*lease{}}, nil
}

// maxLeases bounds the clients a replica keeps leases for; past it the
// expired ones are dropped.
const maxLeases = 10000

// Allow takes one token of client's budget. When there is none it returns
// false and how long until one is due (for Retry-After).
func (l *ClientRateLimiter) Allow(ctx context.Context, client string) (bool, time.Duration) {
	now := l.s.now()
	l.mu.Lock()
	le := l.local[client]
	if le != nil {
		if now.Before(le.refused) {
			wait := le.refused.Sub(now)
			l.mu.Unlock()
			return false, wait
		}
		if le.tokens > 0 && now.Before(le.expires) {
			le.tokens--
			l.mu.Unlock()
			return true, 0
		}
	}
	l.mu.Unlock()

	took, wait, err := l.take(ctx, client, now)
	if err != nil {
		if ctx.Err() == nil { // not the caller giving up: the database
			l.warn(err)
		}
		if l.opts.Fallback != nil {
			return l.opts.Fallback.Allow(ctx, client)
		}
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.local) >= maxLeases {
		for k, v := range l.local {
			if !now.Before(v.expires) && !now.Before(v.refused) {
				delete(l.local, k)
			}
		}
	}
	le = l.local[client]
	if le == nil {
		le = &lease{}
		l.local[client] = le
	}
	live := le.tokens > 0 && now.Before(le.expires) // another call of this replica leased meanwhile
	if took == 0 {
		if live {
			le.tokens--
			return true, 0
		}
		le.tokens, le.refused = 0, now.Add(wait)
		return false, wait
	}
	left := took - 1
	if live {
		left += le.tokens
	}
	le.tokens, le.expires, le.refused = left, now.Add(l.opts.LeaseTTL), time.Time{}
	return true, 0
}

// take leases up to Lease tokens of client's shared bucket at now. It
// returns how many it took, and when none, how long until one is due.
func (l *ClientRateLimiter) take(ctx context.Context, client string, now time.Time) (int, time.Duration, error) {
	var took int
	var wait time.Duration
	nowMS := now.UnixMilli()
	err := l.s.inTx(ctx, func(tx *sql.Tx) error {
		// One statement creates a full bucket or locks the client's row
		// (the no-op update) and reads it.
		var tokens float64
		var updated int64
		if err := tx.QueryRowContext(ctx, l.s.d.Q(`INSERT INTO authz_client_buckets (client_id, tokens, updated_ms) VALUES (?, ?, ?)
ON CONFLICT (client_id) DO UPDATE SET client_id = excluded.client_id RETURNING tokens, updated_ms`),
			client, float64(l.opts.Burst), nowMS).Scan(&tokens, &updated); err != nil {
			return err
		}
		if elapsed := nowMS - updated; elapsed > 0 {
			tokens = min(float64(l.opts.Burst), tokens+float64(elapsed)/1000*l.opts.PerSecond)
		} else {
			nowMS = updated // a replica with a clock behind: never count time twice
		}
		took = min(l.opts.Lease, int(tokens))
		if took == 0 {
			wait = max(time.Millisecond, time.Duration((1-tokens)/l.opts.PerSecond*float64(time.Second)))
		}
		_, err := tx.ExecContext(ctx, l.s.d.Q(`UPDATE authz_client_buckets SET tokens = ?, updated_ms = ? WHERE client_id = ?`),
			tokens-float64(took), nowMS, client)
		return err
	})
	if err != nil {
		return 0, 0, fmt.Errorf("store: client rate limit: %w", err)
	}
	return took, wait, nil
}

func (l *ClientRateLimiter) warn(err error) {
	l.mu.Lock()
	due := time.Since(l.lastWarn) >= time.Minute
	if due {
		l.lastWarn = time.Now()
	}
	l.mu.Unlock()
	if due {
		l.s.log.Warn("client rate limit: the shared buckets cannot be reached; counting per replica meanwhile", "err", err)
	}
}
