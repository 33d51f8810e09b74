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
	"strings"
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
	// PublishAhead is how long a rotated-in key is published before it is
	// used (its NotBefore): long enough for every replica to Reload it and
	// for clients to see it in the JWKS before the first token it signs.
	// 0 (the default) uses it at once, right for a single process.
	PublishAhead time.Duration
	// ReloadInterval is how often Run re-reads the store; default 15 s.
	ReloadInterval time.Duration
	// Now defaults to time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// DefaultOptions returns the defaults NewManager applies to zero fields.
func DefaultOptions() Options {
	return Options{Retention: 7 * 24 * time.Hour, RSABits: MinRSABits, ReloadInterval: 15 * time.Second, Now: time.Now, Logger: slog.Default()}
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
	if o.PublishAhead < 0 {
		return o, errors.New("keys: PublishAhead must not be negative")
	}
	if o.ReloadInterval <= 0 {
		o.ReloadInterval = d.ReloadInterval
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
// It is safe for concurrent use within one process; with an UpdatingStore
// it is also safe beside other Managers (replicas) on the same store:
// every change is a read-modify-write of what is stored, and Reload (Run)
// picks up the others' changes.
type Manager struct {
	store  KeyStore
	opts   Options
	brands []Brand

	mu   sync.RWMutex
	keys map[string][]Record // brand id -> records, newest first

	writeMu    sync.Mutex // one update at a time in this process
	reloadMu   sync.Mutex // one Reload at a time
	lastReload time.Time  // guarded by reloadMu
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
	return m.update(ctx, brandID, func(stored []Record, now time.Time) ([]Record, bool, error) {
		next, changed := m.normalise(stored, now)
		for _, use := range []Use{UseSig, UseEnc} {
			if slices.ContainsFunc(next, func(r Record) bool { return r.Use == use && r.Active() }) {
				continue
			}
			r, err := m.generate(use, now)
			if err != nil {
				return nil, false, fmt.Errorf("keys: brand %s: %w", brandID, err)
			}
			next = append([]Record{r}, next...)
			changed = true
			m.opts.Logger.Info("created key", "brand", brandID, "key", r)
		}
		return next, changed, nil
	})
}

// update changes a brand's stored keys: fn gets them and the time of the
// change, and returns what to store (changed false: store nothing). With
// an UpdatingStore fn sees what is stored now, under the store's lock;
// with a plain KeyStore, this Manager's records (one process owns the
// store). The brand's records afterwards become this Manager's. Errors of
// fn and of an UpdatingStore (which names itself) are returned as they are.
func (m *Manager) update(ctx context.Context, brandID string, fn func(stored []Record, now time.Time) ([]Record, bool, error)) error {
	m.writeMu.Lock()
	defer m.writeMu.Unlock()
	now := m.opts.Now().UTC()
	if us, ok := m.store.(UpdatingStore); ok {
		next, err := us.UpdateBrand(ctx, brandID, func(stored []Record) ([]Record, bool, error) { return fn(stored, now) })
		if err != nil {
			return err
		}
		m.install(brandID, next, now)
		return nil
	}
	m.mu.RLock()
	current, loaded := m.keys[brandID]
	m.mu.RUnlock()
	if !loaded {
		var err error
		if current, err = m.store.LoadBrand(ctx, brandID); err != nil {
			return fmt.Errorf("keys: load brand %s: %w", brandID, err)
		}
	}
	next, changed, err := fn(current, now)
	if err != nil {
		return err
	}
	if changed {
		if err := m.store.SaveBrand(ctx, brandID, next); err != nil {
			return fmt.Errorf("keys: save brand %s: %w", brandID, err)
		}
	}
	m.install(brandID, next, now)
	return nil
}

// install makes records (normalised at now) the brand's keys in memory.
func (m *Manager) install(brandID string, records []Record, now time.Time) {
	next, _ := m.normalise(records, now)
	m.mu.Lock()
	m.keys[brandID] = next
	m.mu.Unlock()
}

// Reload re-reads every brand's keys from the store, so that a Manager
// sharing an UpdatingStore with others (replicas, an `ofp keys` command)
// serves and uses what they stored. It stores nothing.
func (m *Manager) Reload(ctx context.Context) error {
	m.reloadMu.Lock()
	defer m.reloadMu.Unlock()
	m.lastReload = m.opts.Now()
	for _, b := range m.brands {
		if err := m.reloadBrand(ctx, b.ID); err != nil {
			return err
		}
	}
	return nil
}

func (m *Manager) reloadBrand(ctx context.Context, brandID string) error {
	m.writeMu.Lock() // what is read is installed before any later update
	defer m.writeMu.Unlock()
	records, err := m.store.LoadBrand(ctx, brandID)
	if err != nil {
		return fmt.Errorf("keys: reload brand %s: %w", brandID, err)
	}
	for _, use := range []Use{UseSig, UseEnc} {
		if !slices.ContainsFunc(records, func(r Record) bool { return r.Use == use && r.Active() }) {
			// Never drop to no key: someone emptied the store. Keep
			// serving what is in memory until an operator fixes it.
			m.opts.Logger.Warn("keys: the store has no active key; keeping the keys in memory", "brand", brandID, "use", use)
			return nil
		}
	}
	m.install(brandID, records, m.opts.Now().UTC())
	return nil
}

// Run reloads the keys every Options.ReloadInterval until ctx ends, so
// that a rotation made by another replica or by `ofp keys rotate` is
// published and used here too. Run it on every replica sharing an
// UpdatingStore; a failed reload is logged and retried at the next tick.
func (m *Manager) Run(ctx context.Context) {
	t := time.NewTicker(m.opts.ReloadInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := m.Reload(ctx); err != nil && ctx.Err() == nil {
				m.opts.Logger.Warn("keys: reload failed; serving the keys loaded before", "err", err)
			}
		}
	}
}

// reloadForUnknownKID reloads when a JWE names a kid this Manager does not
// know (another replica may have rotated it in), at most once a second.
func (m *Manager) reloadForUnknownKID(ctx context.Context) bool {
	if _, ok := m.store.(UpdatingStore); !ok {
		return false
	}
	m.reloadMu.Lock()
	recent := m.opts.Now().Sub(m.lastReload) < time.Second
	m.reloadMu.Unlock()
	if recent {
		return false
	}
	if err := m.Reload(ctx); err != nil {
		m.opts.Logger.Warn("keys: reload for an unknown kid failed", "err", err)
		return false
	}
	return true
}

// normalise sorts newest first, keeps one key in use per use and drops
// keys past retention. The key in use is the newest whose NotBefore has
// passed; every other unretired key of that use older than it is retired
// at the moment it came into use (its NotBefore, else its CreatedAt), so
// that replicas normalising the same records agree. Keys due after it
// (published ahead) stay pending.
// changed reports any difference from records.
func (m *Manager) normalise(records []Record, now time.Time) (out []Record, changed bool) {
	out = slices.Clone(records)
	slices.SortStableFunc(out, newerFirst)
	for _, use := range []Use{UseSig, UseEnc} {
		inUse := slices.IndexFunc(out, func(r Record) bool { return r.Use == use && r.usable(now) })
		if inUse < 0 {
			continue
		}
		since := out[inUse].activeFrom()
		if since.After(now) {
			since = now
		}
		for i := inUse + 1; i < len(out); i++ {
			if out[i].Use == use && out[i].Active() {
				out[i].RetiredAt = since
				changed = true
			}
		}
	}
	kept := slices.DeleteFunc(out, func(r Record) bool { return !m.published(r, now) })
	return kept, changed || len(kept) != len(records)
}

// InUse returns the key of each use that a Manager holding records signs
// (or decrypts JWEs without kid) with at now: the newest not retired whose
// NotBefore has passed. Sig comes first.
func InUse(records []Record, now time.Time) []Record {
	sorted := slices.Clone(records)
	slices.SortStableFunc(sorted, newerFirst)
	var out []Record
	for _, use := range []Use{UseSig, UseEnc} {
		if i := slices.IndexFunc(sorted, func(r Record) bool { return r.Use == use && r.usable(now) }); i >= 0 {
			out = append(out, sorted[i])
		}
	}
	return out
}

// newerFirst orders records by when they start being used (NotBefore, else
// CreatedAt), newest first, then by CreatedAt and kid, so that every
// replica sorts the same records the same way and picks the same key.
func newerFirst(a, b Record) int {
	if c := b.activeFrom().Compare(a.activeFrom()); c != 0 {
		return c
	}
	if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
		return c
	}
	return strings.Compare(b.KID, a.KID)
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

	if m.opts.PublishAhead > 0 {
		r.NotBefore = now.Add(m.opts.PublishAhead)
	}
	err = m.update(ctx, brandID, func(stored []Record, _ time.Time) ([]Record, bool, error) {
		if slices.ContainsFunc(stored, func(c Record) bool { return c.KID == r.KID }) {
			return nil, false, fmt.Errorf("keys: brand %s: key %s is already stored", brandID, r.KID)
		}
		// The new key replaces every stored one, even when a clock (this
		// replica's, behind another's, or a frozen test clock) says it is
		// not newer: it starts being used just after the newest of them.
		for _, c := range stored {
			if c.Use == use && !r.activeFrom().After(c.activeFrom()) {
				shift := c.activeFrom().Sub(r.activeFrom()) + time.Microsecond
				r.CreatedAt = r.CreatedAt.Add(shift)
				if !r.NotBefore.IsZero() {
					r.NotBefore = r.NotBefore.Add(shift)
				}
			}
		}
		next, _ := m.normalise(append([]Record{r}, stored...), now)
		return next, true, nil
	})
	if err != nil {
		return "", fmt.Errorf("keys: rotate brand %s (the old key is still active): %w", brandID, err)
	}
	m.opts.Logger.Info("rotated key", "brand", brandID, "key", r)
	return r.KID, nil
}

// Prune drops keys past retention from every brand and saves the brands that
// changed. Run it periodically; PublicJWKS already hides expired keys.
func (m *Manager) Prune(ctx context.Context) error {
	for _, b := range m.brands {
		pruned := false
		err := m.update(ctx, b.ID, func(stored []Record, now time.Time) ([]Record, bool, error) {
			next, changed := m.normalise(stored, now)
			pruned = changed
			return next, changed, nil
		})
		if err != nil {
			return fmt.Errorf("keys: prune brand %s: %w", b.ID, err)
		}
		if pruned {
			m.opts.Logger.Info("pruned expired keys", "brand", b.ID)
		}
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
	now := m.opts.Now()
	for _, r := range records {
		if r.Use == use && r.usable(now) {
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
// without kid is tried with the key in use. An unknown kid is looked up
// again after a Reload (another replica may have rotated it in) and then
// wraps ErrUnknownKey.
func (m *Manager) DecryptJWE(brandID, compact string) ([]byte, error) {
	obj, err := jose.ParseEncryptedCompact(compact, []jose.KeyAlgorithm{jose.RSA_OAEP}, []jose.ContentEncryption{jose.A256GCM})
	if err != nil {
		return nil, fmt.Errorf("keys: parse JWE (want compact RSA-OAEP/A256GCM): %w", err)
	}
	kid := obj.Header.KeyID
	r, err := m.decryptionKey(brandID, kid)
	if errors.Is(err, ErrUnknownKey) && kid != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		reloaded := m.reloadForUnknownKID(ctx)
		cancel()
		if reloaded {
			r, err = m.decryptionKey(brandID, kid)
		}
	}
	if err != nil {
		return nil, err
	}
	plain, err := obj.Decrypt(r.Key)
	if err != nil {
		return nil, fmt.Errorf("keys: decrypt JWE with kid %s: %w", r.KID, err)
	}
	return plain, nil
}

// decryptionKey is the published encryption key kid names, or the one in
// use when kid is empty.
func (m *Manager) decryptionKey(brandID, kid string) (Record, error) {
	if kid == "" {
		return m.active(brandID, UseEnc)
	}
	records, err := m.Keys(brandID)
	if err != nil {
		return Record{}, err
	}
	for _, r := range records {
		if r.Use == UseEnc && r.KID == kid {
			return r, nil
		}
	}
	return Record{}, fmt.Errorf("%w: brand %s has no encryption key %q", ErrUnknownKey, brandID, kid)
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

// CopyMissing copies to `to` the keys `from` holds for each brand that has
// none in `to` yet (a brand with keys in both keeps those of `to`), and
// returns the brands it copied. It moves the keys of an earlier
// single-process FileStore into a store replicas share, without ever
// replacing what is already shared.
func CopyMissing(ctx context.Context, from KeyStore, to UpdatingStore, brandIDs []string) ([]string, error) {
	var copied []string
	for _, id := range brandIDs {
		records, err := from.LoadBrand(ctx, id)
		if err != nil {
			return copied, fmt.Errorf("keys: read brand %s to copy it: %w", id, err)
		}
		if len(records) == 0 {
			continue
		}
		moved := false
		if _, err := to.UpdateBrand(ctx, id, func(stored []Record) ([]Record, bool, error) {
			moved = len(stored) == 0
			return records, moved, nil
		}); err != nil {
			return copied, fmt.Errorf("keys: copy brand %s: %w", id, err)
		}
		if moved {
			copied = append(copied, id)
		}
	}
	return copied, nil
}
