package dcr_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/authz/dcr"
)

func TestFileKeys(t *testing.T) {
	jwks, err := bundle(t).DirectoryJWKS()
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "directory.jwks")
	require.NoError(t, os.WriteFile(path, jwks, 0o600))
	keys, err := dcr.NewFileKeys(path)
	require.NoError(t, err)
	set, err := keys.Keys(t.Context())
	require.NoError(t, err)
	require.Len(t, set.Keys, 1)
	require.True(t, set.Keys[0].IsPublic())

	_, err = dcr.NewFileKeys(filepath.Join(t.TempDir(), "missing.jwks"))
	require.Error(t, err)
	_, err = dcr.NewStaticKeys([]byte(`{"keys":[]}`))
	require.Error(t, err)
}

func TestURLKeysCachesForTTL(t *testing.T) {
	jwks, err := bundle(t).DirectoryJWKS()
	require.NoError(t, err)
	var hits atomic.Int32
	var fail atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if fail.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write(jwks)
	}))
	defer srv.Close()

	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	keys := dcr.NewURLKeys(srv.URL, dcr.URLKeysOptions{Client: srv.Client(), TTL: time.Minute, MaxStale: time.Hour,
		Now: func() time.Time { return now }})

	set, err := keys.Keys(t.Context())
	require.NoError(t, err)
	require.Len(t, set.Keys, 1)
	_, err = keys.Keys(t.Context())
	require.NoError(t, err)
	require.EqualValues(t, 1, hits.Load(), "second call within TTL must use the cache")

	now = now.Add(2 * time.Minute)
	_, err = keys.Keys(t.Context())
	require.NoError(t, err)
	require.EqualValues(t, 2, hits.Load(), "expired cache must be refetched")

	// A failed refresh serves the stale set until MaxStale.
	fail.Store(true)
	now = now.Add(2 * time.Minute)
	_, err = keys.Keys(t.Context())
	require.NoError(t, err)
	now = now.Add(2 * time.Hour)
	_, err = keys.Keys(t.Context())
	require.Error(t, err)
}

func TestURLKeysRefreshOnUnknownKid(t *testing.T) {
	b := bundle(t)
	old, err := b.DirectoryJWKS()
	require.NoError(t, err)

	// After rotation the directory publishes a new key (kid "rotated-1").
	newKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	rotated, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: &newKey.PublicKey, KeyID: "rotated-1", Algorithm: string(jose.PS256), Use: "sig"}}})
	require.NoError(t, err)

	var hits atomic.Int32
	var serveRotated atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if serveRotated.Load() {
			_, _ = w.Write(rotated)
			return
		}
		_, _ = w.Write(old)
	}))
	defer srv.Close()

	now := time.Now()
	keys := dcr.NewURLKeys(srv.URL, dcr.URLKeysOptions{Client: srv.Client(), TTL: time.Hour, MinRefresh: time.Minute,
		Now: func() time.Time { return now }})
	demo, err := b.ClientCertificate("demo-tpp")
	require.NoError(t, err)
	h, err := dcr.New(dcr.Options{Issuer: directoryIssuer, Keys: keys, Store: dcr.NewMemoryStore(), Brand: testBrand,
		RegistrationURL: "https://as.example/register", Certificates: fixedCert{cert: demo.Leaf},
		Now: func() time.Time { return now }})
	require.NoError(t, err)

	e := &env{t: t, b: b}
	rec := post(t, h, body(e.sign(claims())))
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	require.EqualValues(t, 1, hits.Load())

	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.PS256, Key: jose.JSONWebKey{Key: newKey, KeyID: "rotated-1"}},
		(&jose.SignerOptions{}).WithType("JWT"))
	require.NoError(t, err)

	// Within MinRefresh the unknown kid does not cause a fetch.
	serveRotated.Store(true)
	rec = post(t, h, body(signWith(t, signer, claims())))
	requireError(t, rec.Code, rec.Body.Bytes(), http.StatusBadRequest, dcr.CodeInvalidSoftwareStatement)
	require.EqualValues(t, 1, hits.Load())

	// After MinRefresh it refetches and finds the rotated key.
	now = now.Add(2 * time.Minute)
	c := claims()
	c["iat"] = now.Unix()
	rec = post(t, h, body(signWith(t, signer, c)))
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	require.EqualValues(t, 2, hits.Load())
}
