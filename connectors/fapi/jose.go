package fapi

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// signer signs with PS256 through any RSA crypto.Signer (a software key
// or an HSM), as a go-jose OpaqueSigner.
type signer struct {
	key crypto.Signer
	kid string
	jws jose.Signer
}

func newSigner(key crypto.Signer, kid string) (*signer, error) {
	s := &signer{key: key, kid: kid}
	jws, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.PS256, Key: s}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return nil, fmt.Errorf("%w: signing key: %w", ErrConfig, err)
	}
	s.jws = jws
	return s, nil
}

func (s *signer) Public() *jose.JSONWebKey {
	return &jose.JSONWebKey{Key: s.key.Public(), KeyID: s.kid, Algorithm: string(jose.PS256), Use: "sig"}
}

func (s *signer) Algs() []jose.SignatureAlgorithm { return []jose.SignatureAlgorithm{jose.PS256} }

func (s *signer) SignPayload(payload []byte, alg jose.SignatureAlgorithm) ([]byte, error) {
	if alg != jose.PS256 {
		return nil, fmt.Errorf("fapi: only PS256 signatures (asked %s)", alg)
	}
	sum := sha256.Sum256(payload)
	return s.key.Sign(rand.Reader, sum[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256})
}

// sign serialises claims as a compact PS256 JWS.
func (s *signer) sign(claims any) (string, error) {
	raw, err := jwt.Signed(s.jws).Claims(claims).Serialize()
	if err != nil {
		return "", fmt.Errorf("fapi: sign: %w", err)
	}
	return raw, nil
}

// oaepDecrypter decrypts RSA-OAEP content keys through any RSA
// crypto.Decrypter, as a go-jose OpaqueKeyDecrypter.
type oaepDecrypter struct{ key crypto.Decrypter }

func (d oaepDecrypter) DecryptKey(encryptedKey []byte, h jose.Header) ([]byte, error) {
	if h.Algorithm != string(jose.RSA_OAEP) {
		return nil, fmt.Errorf("fapi: key encryption %q is not RSA-OAEP", h.Algorithm)
	}
	return d.key.Decrypt(rand.Reader, encryptedKey, &rsa.OAEPOptions{Hash: crypto.SHA1})
}

// PublicJWKS returns the JWK Set to publish at the client's jwks_uri: the
// signing key (use sig, PS256) and, when configured, the encryption key
// (use enc, RSA-OAEP).
func (c *Client) PublicJWKS() ([]byte, error) {
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{*c.signer.Public()}}
	if c.cfg.EncryptionKey != nil {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: c.cfg.EncryptionKey.Public(), KeyID: c.cfg.EncryptionKeyID,
			Algorithm: string(jose.RSA_OAEP), Use: "enc"})
	}
	return json.Marshal(set)
}

// keyCache holds the holder's JWKS, fetched on first use and again when a
// token names an unknown kid (key rotation), at most once per minRefetch.
type keyCache struct {
	c       *Client
	mu      sync.Mutex
	set     jose.JSONWebKeySet
	fetched time.Time
}

const minRefetch = 10 * time.Second

func (k *keyCache) fetch(ctx context.Context) error {
	resp, err := k.c.send(ctx, http.MethodGet, k.c.disc.JWKSURI, "", nil, "", nil)
	if err != nil {
		return fmt.Errorf("fetch the holder's JWKS: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("fetch the holder's JWKS %s: HTTP %d", k.c.disc.JWKSURI, resp.StatusCode)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(resp.Body, &set); err != nil {
		return fmt.Errorf("the holder's JWKS %s: %w", k.c.disc.JWKSURI, err)
	}
	k.set, k.fetched = set, k.c.cfg.Now()
	return nil
}

// find returns the keys matching pick, refetching the set once when none
// matches and the copy is older than minRefetch.
func (k *keyCache) find(ctx context.Context, pick func(jose.JSONWebKey) bool) ([]jose.JSONWebKey, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	match := func() []jose.JSONWebKey {
		var out []jose.JSONWebKey
		for _, key := range k.set.Keys {
			if pick(key) {
				out = append(out, key)
			}
		}
		return out
	}
	if !k.fetched.IsZero() {
		if m := match(); len(m) > 0 || k.c.cfg.Now().Sub(k.fetched) < minRefetch {
			return m, nil
		}
	}
	if err := k.fetch(ctx); err != nil {
		return nil, err
	}
	return match(), nil
}

// verificationKey finds the holder's signing key with kid.
func (k *keyCache) verificationKey(ctx context.Context, kid string) (jose.JSONWebKey, error) {
	keys, err := k.find(ctx, func(j jose.JSONWebKey) bool {
		return j.KeyID == kid && (j.Use == "" || j.Use == "sig") && j.Valid()
	})
	if err != nil {
		return jose.JSONWebKey{}, err
	}
	if len(keys) != 1 {
		return jose.JSONWebKey{}, fmt.Errorf("the holder's JWKS has %d signing keys with kid %q", len(keys), kid)
	}
	return keys[0], nil
}

// encryptionKey finds the holder's RSA-OAEP key for request objects.
func (k *keyCache) encryptionKey(ctx context.Context) (jose.JSONWebKey, error) {
	keys, err := k.find(ctx, func(j jose.JSONWebKey) bool {
		_, rsaKey := j.Key.(*rsa.PublicKey)
		return j.Use == "enc" && rsaKey && (j.Algorithm == "" || j.Algorithm == string(jose.RSA_OAEP)) && j.KeyID != ""
	})
	if err != nil {
		return jose.JSONWebKey{}, err
	}
	if len(keys) == 0 {
		return jose.JSONWebKey{}, errors.New("the holder's JWKS has no RSA-OAEP encryption key")
	}
	return keys[0], nil
}

// encryptTo wraps a signed JWT in a JWE (RSA-OAEP / A256GCM, cty JWT) for key.
func encryptTo(key jose.JSONWebKey, jws string) (string, error) {
	enc, err := jose.NewEncrypter(jose.A256GCM, jose.Recipient{Algorithm: jose.RSA_OAEP, Key: key.Key, KeyID: key.KeyID},
		(&jose.EncrypterOptions{}).WithContentType("JWT").WithType("JWT"))
	if err != nil {
		return "", fmt.Errorf("fapi: encrypt: %w", err)
	}
	obj, err := enc.Encrypt([]byte(jws))
	if err != nil {
		return "", fmt.Errorf("fapi: encrypt: %w", err)
	}
	return obj.CompactSerialize()
}

// isJWE tells a compact JWE (five parts) from a JWS (three).
func isJWE(s string) bool { return strings.Count(s, ".") == 4 }
