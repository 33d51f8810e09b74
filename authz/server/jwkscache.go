package server

import (
	"bytes"
	"io"
	"net/http"
	"sync"
	"time"
)

// jwksCache is the transport under go-oidc's fetches of clients' jwks_uri.
// go-oidc fetches a client's key set on every client assertion and request
// object; without a cache the token endpoint makes one outbound HTTPS call per
// request. Successful GET answers are kept for ttl (a client's key rotation
// is seen within ttl; FAPI-BR clients publish new keys before using them),
// at most maxEntries URLs, at most maxBody bytes each.
type jwksCache struct {
	next       http.RoundTripper
	ttl        time.Duration
	maxEntries int
	now        func() time.Time

	mu      sync.Mutex
	entries map[string]jwksEntry
}

type jwksEntry struct {
	at     time.Time
	status int
	header http.Header
	body   []byte
}

const jwksMaxBody = 1 << 20

func newJWKSCache(next http.RoundTripper, ttl time.Duration) *jwksCache {
	if next == nil {
		next = http.DefaultTransport
	}
	return &jwksCache{next: next, ttl: ttl, maxEntries: 10000, now: time.Now, entries: map[string]jwksEntry{}}
}

func (c *jwksCache) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method != http.MethodGet || c.ttl <= 0 {
		return c.next.RoundTrip(r)
	}
	key := r.URL.String()
	now := c.now()
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	if ok && now.Sub(e.at) < c.ttl {
		return e.response(r), nil
	}
	resp, err := c.next.RoundTrip(r)
	if err != nil || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, jwksMaxBody+1))
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	e = jwksEntry{at: now, status: resp.StatusCode, header: resp.Header.Clone(), body: body}
	if len(body) <= jwksMaxBody {
		c.mu.Lock()
		if len(c.entries) >= c.maxEntries {
			for k, old := range c.entries { // drop expired entries, or any one
				if now.Sub(old.at) >= c.ttl || len(c.entries) >= c.maxEntries {
					delete(c.entries, k)
				}
				if len(c.entries) < c.maxEntries/2 {
					break
				}
			}
		}
		c.entries[key] = e
		c.mu.Unlock()
	}
	return e.response(r), nil
}

func (e jwksEntry) response(r *http.Request) *http.Response {
	return &http.Response{StatusCode: e.status, Status: http.StatusText(e.status), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: e.header.Clone(), Body: io.NopCloser(bytes.NewReader(e.body)), ContentLength: int64(len(e.body)), Request: r}
}
