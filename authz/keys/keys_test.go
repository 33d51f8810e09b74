package keys

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/require"
)

// clock is a settable test clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func brand(id string) Brand {
	return Brand{ID: id, Issuer: "https://auth.ofp.local/" + id, DisplayName: "Banco " + id}
}

type fixture struct {
	dir   string
	store *FileStore
	clock *clock
	logs  *bytes.Buffer
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "keys")
	store, err := NewFileStore(dir)
	require.NoError(t, err)
	return &fixture{dir: dir, store: store, clock: &clock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}, logs: &bytes.Buffer{}}
}

func (f *fixture) manager(t *testing.T, brands ...Brand) *Manager {
	t.Helper()
	m, err := NewManager(context.Background(), f.store, brands, Options{
		Retention: time.Hour,
		Now:       f.clock.Now,
		Logger:    slog.New(slog.NewTextHandler(f.logs, nil)),
	})
	require.NoError(t, err)
	return m
}

func parseJWKS(t *testing.T, data []byte) jose.JSONWebKeySet {
	t.Helper()
	var set jose.JSONWebKeySet
	require.NoError(t, json.Unmarshal(data, &set))
	return set
}

func jwksKIDs(t *testing.T, m *Manager, brandID string) []string {
	t.Helper()
	data, err := m.PublicJWKS(brandID)
	require.NoError(t, err)
	var kids []string
	for _, k := range parseJWKS(t, data).Keys {
		kids = append(kids, k.KeyID)
	}
	return kids
}

// sign makes a compact JWS with the brand's active key.
func sign(t *testing.T, m *Manager, brandID, payload string) (string, string) {
	t.Helper()
	signer, kid, err := m.ActiveSigner(brandID, nil)
	require.NoError(t, err)
	jws, err := signer.Sign([]byte(payload))
	require.NoError(t, err)
	compact, err := jws.CompactSerialize()
	require.NoError(t, err)
	return compact, kid
}

// verifyWithJWKS checks a JWS only with what a client sees: the public JWKS.
func verifyWithJWKS(jwksJSON []byte, compact string) ([]byte, error) {
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(jwksJSON, &set); err != nil {
		return nil, err
	}
	jws, err := jose.ParseSignedCompact(compact, []jose.SignatureAlgorithm{jose.PS256})
	if err != nil {
		return nil, err
	}
	kid := jws.Signatures[0].Header.KeyID
	found := set.Key(kid)
	if len(found) != 1 || found[0].Use != "sig" {
		return nil, fmt.Errorf("kid %q not in JWKS as a signing key", kid)
	}
	return jws.Verify(found[0].Key)
}

func TestNewManagerCreatesKeysAndReloadsThemAfterRestart(t *testing.T) {
	f := newFixture(t)
	m := f.manager(t, brand("alpha"), brand("beta"))

	for _, id := range []string{"alpha", "beta"} {
		data, err := m.PublicJWKS(id)
		require.NoError(t, err)
		set := parseJWKS(t, data)
		require.Len(t, set.Keys, 2)
		uses := map[string]string{}
		for _, k := range set.Keys {
			uses[k.Use] = k.Algorithm
			require.True(t, k.IsPublic())
			require.GreaterOrEqual(t, k.Key.(*rsa.PublicKey).N.BitLen(), MinRSABits)
			require.NotEmpty(t, k.KeyID)
		}
		require.Equal(t, map[string]string{"sig": "PS256", "enc": "RSA-OAEP"}, uses)

		info, err := os.Stat(f.store.Path(id))
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	}
	info, err := os.Stat(f.dir)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), info.Mode().Perm())

	token, kid := sign(t, m, "alpha", `{"sub":"x"}`)
	before, err := m.PublicJWKS("alpha")
	require.NoError(t, err)

	restarted := f.manager(t, brand("alpha"), brand("beta"))
	after, err := restarted.PublicJWKS("alpha")
	require.NoError(t, err)
	require.JSONEq(t, string(before), string(after))
	_, kidAfter := sign(t, restarted, "alpha", "{}")
	require.Equal(t, kid, kidAfter)
	payload, err := verifyWithJWKS(after, token)
	require.NoError(t, err)
	require.Equal(t, `{"sub":"x"}`, string(payload))

	// The brands do not share keys.
	require.NotEqual(t, jwksKIDs(t, m, "alpha"), jwksKIDs(t, m, "beta"))
}

func TestRotateKeepsOldKeyPublishedUntilRetention(t *testing.T) {
	f := newFixture(t)
	m := f.manager(t, brand("alpha"))
	oldToken, oldKID := sign(t, m, "alpha", "old")

	newKID, err := m.Rotate(context.Background(), "alpha")
	require.NoError(t, err)
	require.NotEqual(t, oldKID, newKID)
	newToken, kid := sign(t, m, "alpha", "new")
	require.Equal(t, newKID, kid, "new tokens use the new key")

	jwks, err := m.PublicJWKS("alpha")
	require.NoError(t, err)
	require.ElementsMatch(t, []string{oldKID, newKID}, sigKIDs(t, jwks))
	payload, err := verifyWithJWKS(jwks, oldToken)
	require.NoError(t, err)
	require.Equal(t, "old", string(payload))
	payload, err = verifyWithJWKS(jwks, newToken)
	require.NoError(t, err)
	require.Equal(t, "new", string(payload))

	// Still there after a restart, within retention.
	f.clock.Advance(59 * time.Minute)
	restarted := f.manager(t, brand("alpha"))
	jwks, err = restarted.PublicJWKS("alpha")
	require.NoError(t, err)
	require.ElementsMatch(t, []string{oldKID, newKID}, sigKIDs(t, jwks))

	// Past retention it is no longer published, and Prune removes it from disk.
	f.clock.Advance(2 * time.Minute)
	jwks, err = restarted.PublicJWKS("alpha")
	require.NoError(t, err)
	require.Equal(t, []string{newKID}, sigKIDs(t, jwks))
	_, err = verifyWithJWKS(jwks, oldToken)
	require.Error(t, err)

	require.NoError(t, restarted.Prune(context.Background()))
	stored, err := f.store.LoadBrand(context.Background(), "alpha")
	require.NoError(t, err)
	require.Len(t, stored, 2)
	for _, r := range stored {
		require.NotEqual(t, oldKID, r.KID)
		require.True(t, r.Active())
	}
}

func sigKIDs(t *testing.T, jwks []byte) []string {
	t.Helper()
	var kids []string
	for _, k := range parseJWKS(t, jwks).Keys {
		if k.Use == "sig" {
			kids = append(kids, k.KeyID)
		}
	}
	return kids
}

func TestPublicJWKSHasNoPrivateMembers(t *testing.T) {
	f := newFixture(t)
	m := f.manager(t, brand("alpha"))
	_, err := m.Rotate(context.Background(), "alpha")
	require.NoError(t, err)
	_, err = m.RotateEncryption(context.Background(), "alpha")
	require.NoError(t, err)

	data, err := m.PublicJWKS("alpha")
	require.NoError(t, err)
	var raw struct {
		Keys []map[string]any `json:"keys"`
	}
	require.NoError(t, json.Unmarshal(data, &raw))
	require.Len(t, raw.Keys, 4)
	for _, k := range raw.Keys {
		for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"} {
			require.NotContains(t, k, private)
		}
		require.Equal(t, "RSA", k["kty"])
		require.Contains(t, []any{"sig", "enc"}, k["use"])
		require.NotEmpty(t, k["kid"])
	}
	// The stored file, by contrast, does hold the private key.
	stored, err := os.ReadFile(f.store.Path("alpha"))
	require.NoError(t, err)
	require.Contains(t, string(stored), `"d"`)
}

func TestPrivateMaterialNeverPrinted(t *testing.T) {
	f := newFixture(t)
	m := f.manager(t, brand("alpha"))
	_, err := m.Rotate(context.Background(), "alpha")
	require.NoError(t, err)
	records, err := m.Keys("alpha")
	require.NoError(t, err)

	secrets := []string{}
	for _, r := range records {
		secrets = append(secrets, r.Key.D.String()[:24], r.Key.Primes[0].String()[:24])
		d, _ := json.Marshal(r.Key.D.Bytes())
		secrets = append(secrets, string(d[1:25]))
	}
	var out bytes.Buffer
	fmt.Fprint(&out, m, records)
	fmt.Fprintf(&out, "%v %+v %#v %+v %#v", m, m, m, records, records[0])
	slog.New(slog.NewJSONHandler(&out, nil)).Info("keys", "records", records, "first", records[0], "manager", m)
	asJSON, err := json.Marshal(records)
	require.NoError(t, err)
	out.Write(asJSON)
	out.Write(f.logs.Bytes())
	for _, s := range secrets {
		require.NotContains(t, out.String(), s)
	}
	require.Contains(t, out.String(), records[0].KID)
}

func TestBrandLimitsAndValidation(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	six := []Brand{brand("b1"), brand("b2"), brand("b3"), brand("b4"), brand("b5"), brand("b6")}
	quiet := Options{Logger: slog.New(slog.DiscardHandler)}
	_, err := NewManager(ctx, f.store, six, quiet)
	require.ErrorIs(t, err, ErrTooManyBrands)
	_, err = NewManager(ctx, f.store, nil, Options{})
	require.Error(t, err)
	_, err = NewManager(ctx, f.store, []Brand{brand("b1"), brand("b1")}, Options{})
	require.ErrorContains(t, err, "duplicate")
	_, err = NewManager(ctx, f.store, []Brand{{ID: "b1", Issuer: "http://auth.local", DisplayName: "x"}}, Options{})
	require.ErrorContains(t, err, "https")
	_, err = NewManager(ctx, f.store, []Brand{{ID: "../etc", Issuer: "https://auth.local", DisplayName: "x"}}, Options{})
	require.ErrorContains(t, err, "brand id")
	_, err = NewManager(ctx, f.store, []Brand{brand("b1")}, Options{RSABits: 1024})
	require.ErrorContains(t, err, "1024")

	// Five brands is fine, and each gets its own file.
	m, err := NewManager(ctx, f.store, six[:5], quiet)
	require.NoError(t, err)
	require.Len(t, m.Brands(), 5)
	entries, err := filepath.Glob(filepath.Join(f.dir, "*.jwks.json"))
	require.NoError(t, err)
	require.Len(t, entries, 5)
	_, err = m.PublicJWKS("b6")
	require.ErrorIs(t, err, ErrUnknownBrand)
	_, err = m.Rotate(ctx, "b6")
	require.ErrorIs(t, err, ErrUnknownBrand)
}

func TestFileStoreRefusesReadableKeyFile(t *testing.T) {
	f := newFixture(t)
	f.manager(t, brand("alpha"))
	require.NoError(t, os.Chmod(f.store.Path("alpha"), 0o644))
	_, err := NewManager(context.Background(), f.store, []Brand{brand("alpha")}, Options{})
	require.ErrorContains(t, err, "chmod 600")
}

func TestFileStoreRejectsCorruptFileWithoutQuotingIt(t *testing.T) {
	f := newFixture(t)
	require.NoError(t, os.WriteFile(f.store.Path("alpha"), []byte(`{"keys":[{"kty":"RSA","d":"c2VjcmV0LXZhbHVl"}]}`), 0o600))
	_, err := f.store.LoadBrand(context.Background(), "alpha")
	require.Error(t, err)
	require.NotContains(t, err.Error(), "c2VjcmV0LXZhbHVl")
}

func TestDecryptJWEWithCurrentAndRetiredEncryptionKeys(t *testing.T) {
	f := newFixture(t)
	m := f.manager(t, brand("alpha"))
	oldKID, err := m.EncryptionKID("alpha")
	require.NoError(t, err)
	toOld := encryptTo(t, m, oldKID, "request-object-"+oldKID)

	newKID, err := m.RotateEncryption(context.Background(), "alpha")
	require.NoError(t, err)
	plain, err := m.DecryptJWE("alpha", toOld)
	require.NoError(t, err)
	require.Equal(t, "request-object-"+oldKID, string(plain))
	plain, err = m.DecryptJWE("alpha", encryptTo(t, m, newKID, "request-object-"+newKID))
	require.NoError(t, err)
	require.Equal(t, "request-object-"+newKID, string(plain))

	f.clock.Advance(2 * time.Hour)
	_, err = m.DecryptJWE("alpha", toOld)
	require.ErrorIs(t, err, ErrUnknownKey)
}

func TestImportPublishesCertificateChainAsX5C(t *testing.T) {
	f := newFixture(t)
	m := f.manager(t, brand("alpha"))
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "alpha BRSEAL"},
		NotBefore: f.clock.Now().Add(-time.Hour), NotAfter: f.clock.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)

	other, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	_, err = m.Import(context.Background(), "alpha", UseSig, other, []*x509.Certificate{cert})
	require.ErrorContains(t, err, "not for this key")

	kid, err := m.Import(context.Background(), "alpha", UseSig, key, []*x509.Certificate{cert})
	require.NoError(t, err)
	data, err := m.PublicJWKS("alpha")
	require.NoError(t, err)
	var raw struct {
		Keys []map[string]any `json:"keys"`
	}
	require.NoError(t, json.Unmarshal(data, &raw))
	var found bool
	for _, k := range raw.Keys {
		if k["kid"] == kid {
			found = true
			require.Len(t, k["x5c"], 1)
		} else {
			require.NotContains(t, k, "x5c")
		}
	}
	require.True(t, found)

	// The chain survives a restart.
	restarted := f.manager(t, brand("alpha"))
	records, err := restarted.Keys("alpha")
	require.NoError(t, err)
	require.Equal(t, kid, records[0].KID)
	require.Len(t, records[0].Chain, 1)
	require.Equal(t, cert.Raw, records[0].Chain[0].Raw)
	token, _ := sign(t, restarted, "alpha", "sealed")
	data, err = restarted.PublicJWKS("alpha")
	require.NoError(t, err)
	_, err = verifyWithJWKS(data, token)
	require.NoError(t, err)
}

func TestSecondActiveKeyFromStoreIsRetiredOnLoad(t *testing.T) {
	f := newFixture(t)
	m := f.manager(t, brand("alpha"))
	records, err := m.Keys("alpha")
	require.NoError(t, err)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	newer, err := newRecord(UseSig, key, nil, f.clock.Now().Add(time.Minute))
	require.NoError(t, err)
	require.NoError(t, f.store.SaveBrand(context.Background(), "alpha", append(records, newer)))

	f.clock.Advance(2 * time.Minute)
	reloaded := f.manager(t, brand("alpha"))
	_, kid, err := reloaded.ActiveSigner("alpha", nil)
	require.NoError(t, err)
	require.Equal(t, newer.KID, kid, "the newest active key wins")
	require.Len(t, sigKIDsOf(t, reloaded), 2, "the other stays published while retained")

	// Replicas normalising the same records at different times agree on
	// when the older key was retired: when the newer came into use.
	both := append(records, newer)
	early, _ := m.normalise(both, f.clock.Now())
	late, _ := m.normalise(both, f.clock.Now().Add(time.Hour))
	for _, got := range [][]Record{early, late} {
		for _, r := range got {
			if r.Use == UseSig && r.KID != newer.KID {
				require.Equal(t, newer.CreatedAt, r.RetiredAt)
			}
		}
	}
}

func sigKIDsOf(t *testing.T, m *Manager) []string {
	t.Helper()
	data, err := m.PublicJWKS("alpha")
	require.NoError(t, err)
	return sigKIDs(t, data)
}

func TestConcurrentRotationAndReads(t *testing.T) {
	f := newFixture(t)
	m := f.manager(t, brand("alpha"))
	var wg sync.WaitGroup
	rotated := make(chan string, 2)
	for range 2 {
		wg.Go(func() {
			kid, err := m.Rotate(context.Background(), "alpha")
			if err == nil {
				rotated <- kid
			}
		})
	}
	for range 4 {
		wg.Go(func() {
			for range 20 {
				token, _ := signNoT(m)
				jwks, _ := m.PublicJWKS("alpha")
				if _, err := verifyWithJWKS(jwks, token); err != nil {
					t.Errorf("token signed with the active key does not verify: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(rotated)
	require.Len(t, rotated, 2)
	require.Len(t, sigKIDsOf(t, m), 3, "both rotations kept the earlier keys published")
	_, active, err := m.ActiveSigner("alpha", nil)
	require.NoError(t, err)
	stored, err := f.store.LoadBrand(context.Background(), "alpha")
	require.NoError(t, err)
	var activeStored []string
	for _, r := range stored {
		if r.Use == UseSig && r.Active() {
			activeStored = append(activeStored, r.KID)
		}
	}
	require.Equal(t, []string{active}, activeStored)
}

// signNoT signs with the active key; errors surface as verification failures.
func signNoT(m *Manager) (string, error) {
	signer, _, err := m.ActiveSigner("alpha", nil)
	if err != nil {
		return "", err
	}
	jws, err := signer.Sign([]byte("x"))
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}

func TestPublishAheadPublishesBeforeUse(t *testing.T) {
	f := newFixture(t)
	m, err := NewManager(context.Background(), f.store, []Brand{brand("alpha")}, Options{
		Retention: time.Hour, PublishAhead: 10 * time.Minute, Now: f.clock.Now, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	_, oldKID := sign(t, m, "alpha", "old")
	oldEnc, err := m.EncryptionKID("alpha")
	require.NoError(t, err)

	f.clock.Advance(time.Minute)
	newKID, err := m.Rotate(context.Background(), "alpha")
	require.NoError(t, err)
	newEnc, err := m.RotateEncryption(context.Background(), "alpha")
	require.NoError(t, err)
	require.ElementsMatch(t, []string{oldKID, newKID}, sigKIDs(t, must(m.PublicJWKS("alpha"))), "published at once")
	_, kid := sign(t, m, "alpha", "still old")
	require.Equal(t, oldKID, kid, "not used before PublishAhead has passed")
	enc, err := m.EncryptionKID("alpha")
	require.NoError(t, err)
	require.Equal(t, oldEnc, enc)
	// A client may already encrypt to the published key.
	plain, err := m.DecryptJWE("alpha", encryptTo(t, m, newEnc, "early"))
	require.NoError(t, err)
	require.Equal(t, "early", string(plain))

	stored, err := f.store.LoadBrand(context.Background(), "alpha")
	require.NoError(t, err)
	due := f.clock.Now().Add(10 * time.Minute)
	for _, r := range stored {
		if r.KID == newKID || r.KID == newEnc {
			require.True(t, r.Pending(f.clock.Now()), "stored as pending: a restart keeps the schedule")
			require.Equal(t, due, r.NotBefore)
		}
	}

	f.clock.Advance(10 * time.Minute)
	_, kid = sign(t, m, "alpha", "new")
	require.Equal(t, newKID, kid, "used once due")
	inUse := InUse(stored, f.clock.Now())
	require.Len(t, inUse, 2)
	require.Equal(t, newKID, inUse[0].KID)
	require.Equal(t, newEnc, inUse[1].KID)

	// The old keys are retired when the new ones became due, and stay
	// published for the retention from then.
	require.NoError(t, m.Prune(context.Background()))
	stored, err = f.store.LoadBrand(context.Background(), "alpha")
	require.NoError(t, err)
	for _, r := range stored {
		if r.KID == oldKID || r.KID == oldEnc {
			require.Equal(t, due, r.RetiredAt)
		}
	}
	f.clock.Advance(time.Hour - time.Second)
	require.Contains(t, sigKIDs(t, must(m.PublicJWKS("alpha"))), oldKID)
	f.clock.Advance(2 * time.Second)
	require.Equal(t, []string{newKID}, sigKIDs(t, must(m.PublicJWKS("alpha"))))
}

func TestRotationOnALaggingClockStillReplacesTheKey(t *testing.T) {
	f := newFixture(t)
	m := f.manager(t, brand("alpha"))
	_, oldKID := sign(t, m, "alpha", "x")
	f.clock.Advance(-time.Hour) // this process's clock is behind the one that made the key
	newKID, err := m.Rotate(context.Background(), "alpha")
	require.NoError(t, err)
	_, kid := sign(t, m, "alpha", "y")
	require.Equal(t, newKID, kid)
	require.NotEqual(t, oldKID, kid)
}

func TestReloadKeepsTheKeysWhenTheStoreLosesThem(t *testing.T) {
	f := newFixture(t)
	m := f.manager(t, brand("alpha"))
	_, kid := sign(t, m, "alpha", "x")
	require.NoError(t, os.Remove(f.store.Path("alpha")))
	require.NoError(t, m.Reload(context.Background()))
	_, after := sign(t, m, "alpha", "y")
	require.Equal(t, kid, after)
	require.Contains(t, f.logs.String(), "keeping the keys in memory")
}

func TestEncodeRecordRoundTrip(t *testing.T) {
	f := newFixture(t)
	m := f.manager(t, brand("alpha"))
	records, err := m.Keys("alpha")
	require.NoError(t, err)
	r := records[0]
	r.NotBefore = r.CreatedAt.Add(time.Minute)
	r.RetiredAt = r.CreatedAt.Add(time.Hour)
	data, err := EncodeRecord(r)
	require.NoError(t, err)
	got, err := DecodeRecord(data)
	require.NoError(t, err)
	require.Equal(t, r.KID, got.KID)
	require.Equal(t, r.Use, got.Use)
	require.True(t, r.CreatedAt.Equal(got.CreatedAt))
	require.True(t, r.NotBefore.Equal(got.NotBefore))
	require.True(t, r.RetiredAt.Equal(got.RetiredAt))
	require.True(t, r.Key.Equal(got.Key))

	_, err = DecodeRecord(data[:len(data)/2])
	require.Error(t, err)
	require.NotContains(t, err.Error(), string(data[:20]), "errors never quote the key")
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// encryptTo encrypts plain to the brand's published encryption key kid
// (which must be published for encryption).
func encryptTo(t *testing.T, m *Manager, kid, plain string) string {
	t.Helper()
	var set jose.JSONWebKeySet
	require.NoError(t, json.Unmarshal(must(m.PublicJWKS("alpha")), &set))
	found := set.Key(kid)
	require.Len(t, found, 1)
	require.Equal(t, "enc", found[0].Use)
	enc, err := jose.NewEncrypter(jose.A256GCM, jose.Recipient{Algorithm: jose.RSA_OAEP, Key: found[0].Key, KeyID: kid}, nil)
	require.NoError(t, err)
	obj, err := enc.Encrypt([]byte(plain))
	require.NoError(t, err)
	out, err := obj.CompactSerialize()
	require.NoError(t, err)
	return out
}
