package store

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/ofp-dev/ofp/authz/login"
)

// LoginLimiter is the failed-login limiter the replicas share: the rules
// of login.Limiter (at most MaxUserFailures failed logins of one CPF, and
// MaxAddressFailures from one client address, within Window; a success
// clears the CPF's count), counted in the database so that they hold
// whichever replica the attempts reach. The CPF and the address are stored
// only as an HMAC (keyed with Options.SealKey when set). It satisfies
// authz/server.LoginLimiter.
type LoginLimiter struct {
	s    *Store
	opts login.LimiterOptions
}

// LoginLimiter returns the shared limiter on s's database. opts.Now and
// opts.MaxKeys are not used (the store's clock is; the table is pruned by
// DeleteExpired).
func (s *Store) LoginLimiter(opts login.LimiterOptions) *LoginLimiter {
	return &LoginLimiter{s: s, opts: opts.WithDefaults()}
}

func (l *LoginLimiter) userKey(user string) string { return l.key("u", user) }
func (l *LoginLimiter) addrKey(addr string) string { return l.key("a", addr) }

func (l *LoginLimiter) key(kind, v string) string {
	m := hmac.New(sha256.New, append([]byte("ofp login limiter\x00"), l.s.hmacKey...))
	m.Write([]byte(kind + "\x00" + v))
	return hex.EncodeToString(m.Sum(nil))
}

// Allow reports whether a login for user from addr may be tried now, and
// if not, how long until it may.
func (l *LoginLimiter) Allow(ctx context.Context, user, addr string) (bool, time.Duration, error) {
	now := l.s.now()
	var wait time.Duration
	for _, c := range []struct {
		key   string
		limit int
	}{{l.userKey(user), l.opts.MaxUserFailures}, {l.addrKey(addr), l.opts.MaxAddressFailures}} {
		w, err := l.blocked(ctx, c.key, c.limit, now)
		if err != nil {
			return false, 0, err
		}
		wait = max(wait, w)
	}
	return wait == 0, wait, nil
}

// blocked is how long key stays blocked: until the limit-th most recent
// failure in the window leaves it.
func (l *LoginLimiter) blocked(ctx context.Context, key string, limit int, now time.Time) (time.Duration, error) {
	rows, err := l.s.db.QueryContext(ctx, l.s.d.Q(`SELECT failed_at FROM authz_login_failures WHERE key_hash = ? AND failed_at > ?
ORDER BY failed_at DESC LIMIT ?`), key, now.Add(-l.opts.Window).UnixMilli(), limit)
	if err != nil {
		return 0, fmt.Errorf("store: read failed logins: %w", err)
	}
	defer rows.Close()
	n, oldest := 0, int64(0)
	for rows.Next() {
		if err := rows.Scan(&oldest); err != nil {
			return 0, fmt.Errorf("store: read failed logins: %w", err)
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("store: read failed logins: %w", err)
	}
	if n < limit {
		return 0, nil
	}
	return max(time.UnixMilli(oldest).Add(l.opts.Window).Sub(now), time.Millisecond), nil
}

// Failure records a failed login of user from addr.
func (l *LoginLimiter) Failure(ctx context.Context, user, addr string) error {
	now := l.s.now()
	expires := now.Add(l.opts.Window).Unix() + 1
	return l.s.inTx(ctx, func(tx *sql.Tx) error {
		for _, k := range []string{l.userKey(user), l.addrKey(addr)} {
			if _, err := tx.ExecContext(ctx, l.s.d.Q(`INSERT INTO authz_login_failures (key_hash, failed_at, expires_at) VALUES (?, ?, ?)`),
				k, now.UnixMilli(), expires); err != nil {
				return fmt.Errorf("store: record a failed login: %w", err)
			}
		}
		return nil
	})
}

// Success clears user's failures (the address keeps its count).
func (l *LoginLimiter) Success(ctx context.Context, user string) error {
	if _, err := l.s.db.ExecContext(ctx, l.s.d.Q(`DELETE FROM authz_login_failures WHERE key_hash = ?`), l.userKey(user)); err != nil {
		return fmt.Errorf("store: clear failed logins: %w", err)
	}
	return nil
}
