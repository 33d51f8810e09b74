package dcr

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// KeySource gives the directory's public signing keys. The handler declares
// it; StaticKeys, FileKeys and URLKeys implement it.
type KeySource interface {
	// Keys returns the current key set. ctx bounds a fetch, if any.
	Keys(ctx context.Context) (*jose.JSONWebKeySet, error)
}

// ParseJWKS decodes a JWKS document and keeps only public signing keys.
func ParseJWKS(data []byte) (*jose.JSONWebKeySet, error) {
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("dcr: decode directory JWKS: %w", err)
	}
	out := &jose.JSONWebKeySet{}
	for _, k := range set.Keys {
		if !k.Valid() || k.Use == "enc" {
			continue
		}
		out.Keys = append(out.Keys, k.Public())
	}
	if len(out.Keys) == 0 {
		return nil, errors.New("dcr: directory JWKS has no usable signing key")
	}
	return out, nil
}

// StaticKeys is a fixed key set.
type StaticKeys struct{ set *jose.JSONWebKeySet }

// NewStaticKeys parses a JWKS document once.
func NewStaticKeys(jwks []byte) (*StaticKeys, error) {
	set, err := ParseJWKS(jwks)
	if err != nil {
		return nil, err
	}
	return &StaticKeys{set: set}, nil
}

// Keys implements KeySource.
func (s *StaticKeys) Keys(context.Context) (*jose.JSONWebKeySet, error) { return s.set, nil }

// NewFileKeys reads a JWKS file once (restart to pick up a rotated key).
func NewFileKeys(path string) (*StaticKeys, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("dcr: read directory JWKS file: %w", err)
	}
	return NewStaticKeys(data)
}

// URLKeys fetches the directory JWKS from a URL (e.g.
// https://keystore.directory.openbankingbrasil.org.br/openbanking.jwks) and
// caches it for TTL. A failed refresh keeps serving the previous set until
// it is older than MaxStale.
type URLKeys struct {
	url      string
	client   *http.Client
	ttl      time.Duration
	maxStale time.Duration
	minFetch time.Duration
	now      func() time.Time

	mu      sync.Mutex
	set     *jose.JSONWebKeySet
	fetched time.Time
}

// URLKeysOptions configure NewURLKeys.
type URLKeysOptions struct {
	// Client defaults to a client with a 10 s timeout.
	Client *http.Client
	// TTL defaults to 15 minutes.
	TTL time.Duration
	// MaxStale defaults to 24 hours.
	MaxStale time.Duration
	// MinRefresh is the least time between two fetches forced by Refresh
	// (an unknown kid); default 1 minute, so forged kids cannot make the
	// server hammer the directory.
	MinRefresh time.Duration
	// Now defaults to time.Now.
	Now func() time.Time
}

// NewURLKeys returns a caching KeySource; nothing is fetched until Keys.
func NewURLKeys(url string, opts URLKeysOptions) *URLKeys {
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if opts.TTL <= 0 {
		opts.TTL = 15 * time.Minute
	}
	if opts.MaxStale <= 0 {
		opts.MaxStale = 24 * time.Hour
	}
	if opts.MinRefresh <= 0 {
		opts.MinRefresh = time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &URLKeys{url: url, client: opts.Client, ttl: opts.TTL, maxStale: opts.MaxStale, minFetch: opts.MinRefresh, now: opts.Now}
}

// Keys implements KeySource.
func (u *URLKeys) Keys(ctx context.Context) (*jose.JSONWebKeySet, error) { return u.get(ctx, false) }

// Refresh refetches the set before its TTL ends, at most once per
// MinRefresh; the handler calls it when a statement names an unknown kid
// (directory key rotation). Otherwise it returns the cached set.
func (u *URLKeys) Refresh(ctx context.Context) (*jose.JSONWebKeySet, error) { return u.get(ctx, true) }

func (u *URLKeys) get(ctx context.Context, force bool) (*jose.JSONWebKeySet, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	now := u.now()
	age := now.Sub(u.fetched)
	if u.set != nil && age < u.ttl && (!force || age < u.minFetch) {
		return u.set, nil
	}
	set, err := u.fetch(ctx)
	if err != nil {
		if u.set != nil && age < u.maxStale {
			return u.set, nil
		}
		return nil, err
	}
	u.set, u.fetched = set, now
	return set, nil
}

func (u *URLKeys) fetch(ctx context.Context) (*jose.JSONWebKeySet, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.url, nil)
	if err != nil {
		return nil, fmt.Errorf("dcr: directory JWKS URL %q: %w", u.url, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := u.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("dcr: fetch directory JWKS: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("dcr: fetch directory JWKS %s: status %d", u.url, resp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("dcr: read directory JWKS: %w", err)
	}
	return ParseJWKS(data)
}
