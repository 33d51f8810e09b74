package opendata

import (
	"context"
	"sync"
)

// Limiter bounds how many operations run at once per key (e.g. per
// institution host or CNPJ). Keys need no registration; an idle key uses no
// memory. The zero value is not usable; call NewLimiter.
type Limiter struct {
	perKey int
	mu     sync.Mutex
	keys   map[string]*slot
}

type slot struct {
	sem  chan struct{}
	refs int // holders plus waiters
}

// NewLimiter returns a Limiter allowing perKey concurrent holders per key
// (at least 1).
func NewLimiter(perKey int) *Limiter {
	return &Limiter{perKey: max(perKey, 1), keys: map[string]*slot{}}
}

// Acquire blocks until a place for key is free or ctx ends. On success the
// caller must call release exactly once (extra calls are ignored). On
// ctx's end it returns ctx.Err() and nothing to release.
func (l *Limiter) Acquire(ctx context.Context, key string) (release func(), err error) {
	l.mu.Lock()
	s := l.keys[key]
	if s == nil {
		s = &slot{sem: make(chan struct{}, l.perKey)}
		l.keys[key] = s
	}
	s.refs++
	l.mu.Unlock()

	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		l.drop(key, s)
		return nil, ctx.Err()
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			<-s.sem
			l.drop(key, s)
		})
	}, nil
}

func (l *Limiter) drop(key string, s *slot) {
	l.mu.Lock()
	s.refs--
	if s.refs == 0 {
		delete(l.keys, key)
	}
	l.mu.Unlock()
}
