package keys

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Use is a JWK "use" value.
type Use string

// Key uses and the algorithm each is published with (FAPI-BR: PS256 for all
// JWS, RSA-OAEP for JWE key management).
const (
	UseSig Use = "sig"
	UseEnc Use = "enc"

	AlgPS256   = string(jose.PS256)
	AlgRSAOAEP = string(jose.RSA_OAEP)
)

func (u Use) alg() string {
	if u == UseEnc {
		return AlgRSAOAEP
	}
	return AlgPS256
}

func (u Use) valid() bool { return u == UseSig || u == UseEnc }

// MinRSABits is the smallest RSA modulus accepted for generated or imported keys.
const MinRSABits = 2048

// Record is one stored key. Key is private material: Record's String,
// GoString and LogValue print only public metadata.
type Record struct {
	KID       string
	Use       Use
	Alg       string
	CreatedAt time.Time
	// NotBefore, when set, is when the key starts being used (signing, and
	// decrypting JWEs without kid): until then it is only published, so
	// that every replica and client knows it before the first token it
	// signs (Options.PublishAhead). Zero means from CreatedAt.
	NotBefore time.Time
	// RetiredAt is zero while the key is the active (or pending) key of its
	// use.
	RetiredAt time.Time
	Key       *rsa.PrivateKey
	// Chain optionally holds the key's certificate first (published as x5c).
	Chain []*x509.Certificate
}

// Active reports whether the record is not retired: the active key of its
// use, or one published ahead of its NotBefore.
func (r Record) Active() bool { return r.RetiredAt.IsZero() }

// activeFrom is when the key starts being used.
func (r Record) activeFrom() time.Time {
	if r.NotBefore.After(r.CreatedAt) {
		return r.NotBefore
	}
	return r.CreatedAt
}

// Pending reports whether the key is published but not used yet at now.
func (r Record) Pending(now time.Time) bool { return r.Active() && now.Before(r.NotBefore) }

// usable: not retired and no longer pending at now.
func (r Record) usable(now time.Time) bool { return r.Active() && !r.Pending(now) }

// String prints public metadata only.
func (r Record) String() string {
	state := "active"
	if !r.NotBefore.IsZero() && r.Active() {
		state = "active from " + r.NotBefore.UTC().Format(time.RFC3339)
	}
	if !r.Active() {
		state = "retired " + r.RetiredAt.UTC().Format(time.RFC3339)
	}
	return fmt.Sprintf("keys.Record{kid: %s, use: %s, alg: %s, %s}", r.KID, r.Use, r.Alg, state)
}

// GoString keeps %#v from dumping the private key.
func (r Record) GoString() string { return r.String() }

// LogValue keeps slog from dumping the private key.
func (r Record) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("kid", r.KID), slog.String("use", string(r.Use)),
		slog.String("alg", r.Alg), slog.Time("retired_at", r.RetiredAt))
}

// MarshalJSON emits public metadata only, so that encoding a Record (for
// example a []Record handed to a JSON logger) cannot leak the key. Stores
// serialise keys through their own format, not through this method.
func (r Record) MarshalJSON() ([]byte, error) {
	meta := struct {
		KID       string     `json:"kid"`
		Use       Use        `json:"use"`
		Alg       string     `json:"alg"`
		CreatedAt time.Time  `json:"created_at"`
		NotBefore *time.Time `json:"not_before,omitempty"`
		RetiredAt *time.Time `json:"retired_at,omitempty"`
	}{KID: r.KID, Use: r.Use, Alg: r.Alg, CreatedAt: r.CreatedAt}
	if !r.NotBefore.IsZero() {
		meta.NotBefore = &r.NotBefore
	}
	if !r.Active() {
		meta.RetiredAt = &r.RetiredAt
	}
	return json.Marshal(meta)
}

// KeyStore persists the keys of each brand. Implementations must make
// SaveBrand atomic (readers see the old or the new set, never a mix) and
// keep private material readable only by the server.
type KeyStore interface {
	// LoadBrand returns the stored keys of a brand; none stored is an empty
	// slice and a nil error.
	LoadBrand(ctx context.Context, brandID string) ([]Record, error)
	// SaveBrand replaces all stored keys of a brand.
	SaveBrand(ctx context.Context, brandID string, records []Record) error
}

// UpdatingStore is a KeyStore that several processes (the replicas of one
// authorization server) share. UpdateBrand changes a brand's keys as one
// read-modify-write that no other process interleaves with: update gets
// the stored records and returns what to store, with changed false to
// store nothing; UpdateBrand returns the brand's records afterwards. The
// Manager makes every change through it, so replicas never drop each
// other's keys, and Reload picks up what the others stored.
type UpdatingStore interface {
	KeyStore
	UpdateBrand(ctx context.Context, brandID string, update func(stored []Record) (next []Record, changed bool, err error)) ([]Record, error)
}

// ErrUnknownKey means a kid is not (or no longer) published for the brand:
// the caller rejects the token or JWE (the client should refetch the JWKS).
var ErrUnknownKey = errors.New("keys: unknown or expired key id")

// newRecord builds a record for key, with an RFC 7638 SHA-256 thumbprint kid.
func newRecord(use Use, key *rsa.PrivateKey, chain []*x509.Certificate, now time.Time) (Record, error) {
	if key == nil {
		return Record{}, errors.New("keys: nil RSA key")
	}
	if bits := key.N.BitLen(); bits < MinRSABits {
		return Record{}, fmt.Errorf("keys: RSA key has %d bits, need at least %d", bits, MinRSABits)
	}
	if len(chain) > 0 {
		pub, ok := chain[0].PublicKey.(*rsa.PublicKey)
		if !ok || !pub.Equal(&key.PublicKey) {
			return Record{}, errors.New("keys: the first certificate of the chain is not for this key")
		}
	}
	jwk := jose.JSONWebKey{Key: &key.PublicKey}
	thumb, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return Record{}, fmt.Errorf("keys: key thumbprint: %w", err)
	}
	return Record{
		KID:       base64.RawURLEncoding.EncodeToString(thumb),
		Use:       use,
		Alg:       use.alg(),
		CreatedAt: now.UTC(),
		Key:       key,
		Chain:     chain,
	}, nil
}

// publicJWK is the record as published: no private members.
func (r Record) publicJWK() jose.JSONWebKey {
	return jose.JSONWebKey{
		Key:          &r.Key.PublicKey,
		KeyID:        r.KID,
		Algorithm:    r.Alg,
		Use:          string(r.Use),
		Certificates: r.Chain,
	}
}

// privateJWK is the record as stored.
func (r Record) privateJWK() jose.JSONWebKey {
	j := r.publicJWK()
	j.Key = r.Key
	return j
}

// storedKey is the metadata EncodeRecord adds to a private JWK: members
// JWK readers ignore.
type storedKey struct {
	CreatedAt time.Time  `json:"ofp_created_at"`
	NotBefore *time.Time `json:"ofp_not_before,omitempty"`
	RetiredAt *time.Time `json:"ofp_retired_at,omitempty"`
}

// EncodeRecord is the stored form of a record: its private JWK (with x5c
// when it has a chain) plus the members ofp_created_at, ofp_not_before and
// ofp_retired_at (RFC 3339). It holds private key material: stores keep
// it readable only by the server (or sealed), and nothing prints it.
func EncodeRecord(r Record) ([]byte, error) {
	if r.Key == nil {
		return nil, fmt.Errorf("keys: encode kid %s: no private key", r.KID)
	}
	jwkJSON, err := r.privateJWK().MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("keys: encode kid %s: %w", r.KID, err)
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(jwkJSON, &members); err != nil {
		return nil, fmt.Errorf("keys: encode kid %s: %w", r.KID, err)
	}
	members["ofp_created_at"], _ = json.Marshal(r.CreatedAt.UTC())
	if !r.NotBefore.IsZero() {
		members["ofp_not_before"], _ = json.Marshal(r.NotBefore.UTC())
	}
	if !r.RetiredAt.IsZero() {
		members["ofp_retired_at"], _ = json.Marshal(r.RetiredAt.UTC())
	}
	out, err := json.Marshal(members)
	if err != nil {
		return nil, fmt.Errorf("keys: encode kid %s: %w", r.KID, err)
	}
	return out, nil
}

// DecodeRecord reads what EncodeRecord wrote. Its errors never quote the
// input: it holds a private key.
func DecodeRecord(data []byte) (Record, error) {
	var jwk jose.JSONWebKey
	if err := jwk.UnmarshalJSON(data); err != nil {
		return Record{}, errors.New("not a valid JWK")
	}
	var meta storedKey
	if err := json.Unmarshal(data, &meta); err != nil {
		return Record{}, errors.New("malformed ofp_* members")
	}
	priv, ok := jwk.Key.(*rsa.PrivateKey)
	if !ok {
		return Record{}, fmt.Errorf("kid %s is not an RSA private key", jwk.KeyID)
	}
	use := Use(jwk.Use)
	if !use.valid() {
		return Record{}, fmt.Errorf("kid %s has use %q, want sig or enc", jwk.KeyID, jwk.Use)
	}
	r := Record{
		KID:       jwk.KeyID,
		Use:       use,
		Alg:       jwk.Algorithm,
		CreatedAt: meta.CreatedAt.UTC(),
		Key:       priv,
		Chain:     jwk.Certificates,
	}
	if meta.NotBefore != nil {
		r.NotBefore = meta.NotBefore.UTC()
	}
	if meta.RetiredAt != nil {
		r.RetiredAt = meta.RetiredAt.UTC()
	}
	return r, nil
}
