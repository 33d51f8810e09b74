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
	// RetiredAt is zero while the key is the active key of its use.
	RetiredAt time.Time
	Key       *rsa.PrivateKey
	// Chain optionally holds the key's certificate first (published as x5c).
	Chain []*x509.Certificate
}

// Active reports whether the record is the active key of its use.
func (r Record) Active() bool { return r.RetiredAt.IsZero() }

// String prints public metadata only.
func (r Record) String() string {
	state := "active"
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
		RetiredAt *time.Time `json:"retired_at,omitempty"`
	}{KID: r.KID, Use: r.Use, Alg: r.Alg, CreatedAt: r.CreatedAt}
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
