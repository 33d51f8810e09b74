package keys

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// MaxBrands is the number of brands (issuers) one server may host.
const MaxBrands = 5

// ErrTooManyBrands is returned by NewManager for more than MaxBrands brands.
var ErrTooManyBrands = fmt.Errorf("keys: at most %d brands per authorization server", MaxBrands)

// ErrUnknownBrand means the brand id is not configured.
var ErrUnknownBrand = errors.New("keys: unknown brand")

// Brand is one issuer hosted by the authorization server.
type Brand struct {
	// ID names the brand in paths and key files: 1-32 of [a-z0-9-].
	ID string
	// Issuer is the OpenID issuer URL (https, no query or fragment).
	Issuer      string
	DisplayName string
}

func validBrandID(id string) bool {
	if id == "" || len(id) > 32 {
		return false
	}
	for _, r := range id {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' {
			return false
		}
	}
	return true
}

func (b Brand) validate() error {
	if !validBrandID(b.ID) {
		return fmt.Errorf("keys: brand id %q: use 1-32 lower-case letters, digits or '-'", b.ID)
	}
	u, err := url.Parse(b.Issuer)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("keys: brand %s: issuer %q must be an https URL without query or fragment", b.ID, b.Issuer)
	}
	if b.DisplayName == "" {
		return fmt.Errorf("keys: brand %s: DisplayName is required", b.ID)
	}
	return nil
}

// Options configures a Manager.
type Options struct {
	// Retention is how long a retired key stays published and usable for
	// verification and decryption. It must exceed the longest lifetime of
	// anything signed with the key (id_tokens, request objects in flight).
	// Default 7 days.
	Retention time.Duration
	// RSABits for generated keys; default and minimum 2048.
	RSABits int
	// Now defaults to time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// DefaultOptions returns the defaults NewManager applies to zero fields.
func DefaultOptions() Options {
	return Options{Retention: 7 * 24 * time.Hour, RSABits: MinRSABits, Now: time.Now, Logger: slog.Default()}
}

func (o Options) withDefaults() (Options, error) {
	d := DefaultOptions()
	if o.Retention == 0 {
		o.Retention = d.Retention
	}
	if o.Retention < 0 {
		return o, errors.New("keys: Retention must not be negative")
	}
	if o.RSABits == 0 {
		o.RSABits = d.RSABits
	}
	if o.RSABits < MinRSABits {
		return o, fmt.Errorf("keys: RSABits %d is below %d", o.RSABits, MinRSABits)
	}
	if o.Now == nil {
		o.Now = d.Now
	}
	if o.Logger == nil {
		o.Logger = d.Logger
	}
	return o, nil
}

// Manager holds the keys of every brand in memory, backed by a KeyStore.
// It is safe for concurrent use within one process.
type Manager struct {
	store  KeyStore
	opts   Options
	brands []Brand

	mu   sync.RWMutex
	keys map[string][]Record // brand id -> records, newest first
}

// String names the manager without key material.
func (m *Manager) String() string {
	ids := make([]string, len(m.brands))
	for i, b := range m.brands {
		ids[i] = b.ID
	}
	return fmt.Sprintf("keys.Manager{brands: %v}", ids)
}

// GoString keeps %#v from dumping private keys.
func (m *Manager) GoString() string { return m.String() }

// NewManager validates the brands (1..MaxBrands, unique ids and issuers),
// loads their keys from store, creates an active signing and encryption key
// for any brand that lacks one, drops keys past retention and saves what
// changed. ctx bounds this loading only.
func NewManager(ctx context.Context, store KeyStore, brands []Brand, opts Options) (*Manager, error) {
	if store == nil {
		return nil, errors.New("keys: NewManager needs a KeyStore")
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if len(brands) == 0 {
		return nil, errors.New("keys: configure at least one brand")
	}
	if len(brands) > MaxBrands {
		return nil, fmt.Errorf("%w: got %d", ErrTooManyBrands, len(brands))
	}
	ids, issuers := map[string]bool{}, map[string]bool{}
	for _, b := range brands {
		if err := b.validate(); err != nil {
			return nil, err
		}
		if ids[b.ID] || issuers[b.Issuer] {
			return nil, fmt.Errorf("keys: brand %s: duplicate id or issuer", b.ID)
		}
		ids[b.ID], issuers[b.Issuer] = true, true
	}
	m := &Manager{store: store, opts: opts, brands: slices.Clone(brands), keys: map[string][]Record{}}
	for _, b := range brands {
		if err := m.loadBrand(ctx, b.ID); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *Manager) loadBrand(ctx context.Context, brandID string) error {
	records, err := m.store.LoadBrand(ctx, brandID)
	if err != nil {
		return fmt.Errorf("keys: load brand %s: %w", brandID, err)
	}
	now := m.opts.Now().UTC()
	next, changed := m.normalise(records, now)
	for _, use := range []Use{UseSig, UseEnc} {
		if slices.ContainsFunc(next, func(r Record) bool { return r.Use == use && r.Active() }) {
			continue
		}
		r, err := m.generate(use, now)
		if err != nil {
			return fmt.Errorf("keys: brand %s: %w", brandID, err)
		}
		next = append([]Record{r}, next...)
		changed = true
		m.opts.Logger.Info("created key", "brand", brandID, "key", r)
	}
	if changed {
		if err := m.store.SaveBrand(ctx, brandID, next); err != nil {
			return fmt.Errorf("keys: save brand %s: %w", brandID, err)
		}
	}
	m.keys[brandID] = next
	return nil
}

// normalise sorts newest first, keeps a single active key per use (a second
// one, e.g. from two processes rotating at once, is retired now) and drops
// keys past retention. changed reports any difference from records.
func (m *Manager) normalise(records []Record, now time.Time) (out []Record, changed bool) {
	out = slices.Clone(records)
	slices.SortStableFunc(out, func(a, b Record) int { return b.CreatedAt.Compare(a.CreatedAt) })
	seen := map[Use]bool{}
	for i := range out {
		if !out[i].Active() {
			continue
		}
		if seen[out[i].Use] {
			out[i].RetiredAt = now
			changed = true
		}
		seen[out[i].Use] = true
	}
	kept := slices.DeleteFunc(out, func(r Record) bool { return !m.published(r, now) })
	return kept, changed || len(kept) != len(records)
}

// published: active, or retired less than Retention ago.
func (m *Manager) published(r Record, now time.Time) bool {
	return r.Active() || now.Before(r.RetiredAt.Add(m.opts.Retention))
}

func (m *Manager) generate(use Use, now time.Time) (Record, error) {
	key, err := rsa.GenerateKey(rand.Reader, m.opts.RSABits)
	if err != nil {
		return Record{}, fmt.Errorf("generate RSA key: %w", err)
	}
	return newRecord(use, key, nil, now)
}

// Brands returns the configured brands in configuration order.
func (m *Manager) Brands() []Brand { return slices.Clone(m.brands) }

// Brand returns one configured brand.
func (m *Manager) Brand(brandID string) (Brand, error) {
	for _, b := range m.brands {
		if b.ID == brandID {
			return b, nil
		}
	}
	return Brand{}, fmt.Errorf("%w %q", ErrUnknownBrand, brandID)
}

// Rotate makes a new signing key active for the brand and retires the
// previous one, which stays in the JWKS until Retention passes. It returns
// the new kid.
func (m *Manager) Rotate(ctx context.Context, brandID string) (string, error) {
	return m.rotate(ctx, brandID, UseSig, nil, nil)
}

// RotateEncryption does the same for the encryption key.
func (m *Manager) RotateEncryption(ctx context.Context, brandID string) (string, error) {
	return m.rotate(ctx, brandID, UseEnc, nil, nil)
}

// Import makes an externally issued key (e.g. one certified by an ICP-Brasil
// BRSEAL certificate, chain[0] being its certificate) the active key of use,
// retiring the previous one. The chain is published as x5c.
func (m *Manager) Import(ctx context.Context, brandID string, use Use, key *rsa.PrivateKey, chain []*x509.Certificate) (string, error) {
	if key == nil {
		return "", errors.New("keys: Import needs a key")
	}
	return m.rotate(ctx, brandID, use, key, chain)
}

func (m *Manager) rotate(ctx context.Context, brandID string, use Use, key *rsa.PrivateKey, chain []*x509.Certificate) (string, error) {
	if _, err := m.Brand(brandID); err != nil {
		return "", err
	}
	if !use.valid() {
		return "", fmt.Errorf("keys: use %q: want sig or enc", use)
	}
	now := m.opts.Now().UTC()
	var r Record
	var err error
	if key == nil {
		r, err = m.generate(use, now) // outside the lock: this is the slow part
	} else {
		r, err = newRecord(use, key, chain, now)
	}
	if err != nil {
		return "", fmt.Errorf("keys: brand %s: %w", brandID, err)
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	current := m.keys[brandID]
	if slices.ContainsFunc(current, func(c Record) bool { return c.KID == r.KID }) {
		return "", fmt.Errorf("keys: brand %s: key %s is already stored", brandID, r.KID)
	}
	next := make([]Record, 0, len(current)+1)
	next = append(next, r)
	for _, c := range current {
		if c.Use == use && c.Active() {
			c.RetiredAt = now
		}
		next = append(next, c)
	}
	next, _ = m.normalise(next, now)
	if err := m.store.SaveBrand(ctx, brandID, next); err != nil {
		return "", fmt.Errorf("keys: save brand %s after rotation (old key still active): %w", brandID, err)
	}
	m.keys[brandID] = next
	m.opts.Logger.Info("rotated key", "brand", brandID, "key", r)
	return r.KID, nil
}

// Prune drops keys past retention from every brand and saves the brands that
// changed. Run it periodically; PublicJWKS already hides expired keys.
func (m *Manager) Prune(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.opts.Now().UTC()
	for _, b := range m.brands {
		next, changed := m.normalise(m.keys[b.ID], now)
		if !changed {
			continue
		}
		if err := m.store.SaveBrand(ctx, b.ID, next); err != nil {
			return fmt.Errorf("keys: save brand %s after pruning: %w", b.ID, err)
		}
		m.keys[b.ID] = next
		m.opts.Logger.Info("pruned expired keys", "brand", b.ID)
	}
	return nil
}

// Keys returns the brand's published records (active and within retention),
// newest first. The records share private keys with the manager: do not
// modify them.
func (m *Manager) Keys(brandID string) ([]Record, error) {
	if _, err := m.Brand(brandID); err != nil {
		return nil, err
	}
	now := m.opts.Now().UTC()
	m.mu.RLock()
	defer m.mu.RUnlock()
	var out []Record
	for _, r := range m.keys[brandID] {
		if m.published(r, now) {
			out = append(out, r)
		}
	}
	return out, nil
}

func (m *Manager) active(brandID string, use Use) (Record, error) {
	records, err := m.Keys(brandID)
	if err != nil {
		return Record{}, err
	}
	for _, r := range records {
		if r.Use == use && r.Active() {
			return r, nil
		}
	}
	return Record{}, fmt.Errorf("keys: brand %s has no active %s key", brandID, use)
}

// ActiveSigner returns a PS256 signer with the brand's active signing key;
// its JWS header carries the kid (also returned). opts may add headers such
// as typ; nil means typ "JWT".
func (m *Manager) ActiveSigner(brandID string, opts *jose.SignerOptions) (jose.Signer, string, error) {
	r, err := m.active(brandID, UseSig)
	if err != nil {
		return nil, "", err
	}
	if opts == nil {
		opts = (&jose.SignerOptions{}).WithType("JWT")
	}
	signer, err := jose.NewSigner(jose.SigningKey{
		Algorithm: jose.PS256,
		Key:       jose.JSONWebKey{Key: r.Key, KeyID: r.KID, Algorithm: AlgPS256},
	}, opts)
	if err != nil {
		return nil, "", fmt.Errorf("keys: brand %s: build signer for kid %s: %w", brandID, r.KID, err)
	}
	return signer, r.KID, nil
}

// EncryptionKID is the kid of the brand's active encryption key (clients
// encrypt request objects to it).
func (m *Manager) EncryptionKID(brandID string) (string, error) {
	r, err := m.active(brandID, UseEnc)
	if err != nil {
		return "", err
	}
	return r.KID, nil
}

// DecryptJWE decrypts a compact JWE (alg RSA-OAEP, enc A256GCM) addressed to
// one of the brand's published encryption keys by its kid header; a JWE
// without kid is tried with the active key. An unknown kid wraps
// ErrUnknownKey.
func (m *Manager) DecryptJWE(brandID, compact string) ([]byte, error) {
	obj, err := jose.ParseEncryptedCompact(compact, []jose.KeyAlgorithm{jose.RSA_OAEP}, []jose.ContentEncryption{jose.A256GCM})
	if err != nil {
		return nil, fmt.Errorf("keys: parse JWE (want compact RSA-OAEP/A256GCM): %w", err)
	}
	records, err := m.Keys(brandID)
	if err != nil {
		return nil, err
	}
	kid := obj.Header.KeyID
	for _, r := range records {
		if r.Use != UseEnc || (kid == "" && !r.Active()) || (kid != "" && r.KID != kid) {
			continue
		}
		plain, err := obj.Decrypt(r.Key)
		if err != nil {
			return nil, fmt.Errorf("keys: decrypt JWE with kid %s: %w", r.KID, err)
		}
		return plain, nil
	}
	return nil, fmt.Errorf("%w: brand %s has no encryption key %q", ErrUnknownKey, brandID, kid)
}

// PublicJWKS is the brand's JWK Set as served at its jwks_uri: every
// published key with kid, use, alg and, when it has certificates, x5c. It
// never contains private members.
func (m *Manager) PublicJWKS(brandID string) ([]byte, error) {
	records, err := m.Keys(brandID)
	if err != nil {
		return nil, err
	}
	set := jose.JSONWebKeySet{Keys: make([]jose.JSONWebKey, 0, len(records))}
	for _, r := range records {
		set.Keys = append(set.Keys, r.publicJWK())
	}
	data, err := json.Marshal(set)
	if err != nil {
		return nil, fmt.Errorf("keys: encode JWKS of brand %s: %w", brandID, err)
	}
	return data, nil
}
