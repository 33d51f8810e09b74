package storetest

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/authz/keys"
	"github.com/ofp-dev/ofp/authz/store"
)

// keyBrand is the brand of the key contract.
var keyBrand = keys.Brand{ID: "ofp", Issuer: "https://auth.ofp.example/ofp", DisplayName: "OFP"}

// runKeys is the part of the contract about the servers' keys: several
// keys.Managers (replicas) on one database agree on the keys, see each
// other's rotations and never drop each other's keys.
func runKeys(t *testing.T, newDatabase func(t *testing.T) Open) {
	ctx := context.Background()
	start := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	sealKey := make([]byte, 32)
	_, _ = rand.Read(sealKey)
	manager := func(t *testing.T, st *store.Store, clock *Clock, ahead time.Duration) *keys.Manager {
		t.Helper()
		m, err := keys.NewManager(ctx, st.Keys(), []keys.Brand{keyBrand}, keys.Options{
			Retention: time.Hour, PublishAhead: ahead, Now: clock.Now, Logger: slog.New(slog.DiscardHandler)})
		require.NoError(t, err)
		return m
	}

	t.Run("replicas starting at once share one key per use", func(t *testing.T) {
		open := newDatabase(t)
		clock := NewClock(start)
		stores := []*store.Store{open(t, store.Options{SealKey: sealKey}), open(t, store.Options{SealKey: sealKey}), open(t, store.Options{SealKey: sealKey})}
		managers := make([]*keys.Manager, len(stores))
		var wg sync.WaitGroup
		for i, st := range stores {
			wg.Go(func() { managers[i] = manager(t, st, clock, 0) })
		}
		wg.Wait()
		stored, err := stores[0].Keys().LoadBrand(ctx, keyBrand.ID)
		require.NoError(t, err)
		require.Len(t, stored, 2, "one signing and one encryption key, not one pair per replica")
		jwks := publicJWKS(t, managers[0])
		for _, m := range managers {
			require.Equal(t, jwks, publicJWKS(t, m))
			require.Equal(t, signingKID(t, managers[0]), signingKID(t, m))
		}
	})

	t.Run("the seal key rotates: the old one opens until the keys are resealed", func(t *testing.T) {
		open := newDatabase(t)
		clock := NewClock(start)
		newKey := make([]byte, 32)
		_, _ = rand.Read(newKey)
		manager(t, open(t, store.Options{SealKey: sealKey}), clock, 0)
		before, err := open(t, store.Options{SealKey: sealKey}).Keys().LoadBrand(ctx, keyBrand.ID)
		require.NoError(t, err)
		require.Len(t, before, 2)

		_, err = open(t, store.Options{SealKey: newKey}).Keys().LoadBrand(ctx, keyBrand.ID)
		require.ErrorContains(t, err, "previous key", "the new key alone does not open them, and the error says what to do")
		rotated := open(t, store.Options{SealKey: newKey, PreviousSealKeys: [][]byte{sealKey}})
		got, err := rotated.Keys().LoadBrand(ctx, keyBrand.ID)
		require.NoError(t, err)
		require.Equal(t, before, got)
		n, err := rotated.Keys().Reseal(ctx)
		require.NoError(t, err)
		require.Equal(t, 2, n)

		got, err = open(t, store.Options{SealKey: newKey}).Keys().LoadBrand(ctx, keyBrand.ID)
		require.NoError(t, err)
		require.Equal(t, before, got, "the same keys, now under the new seal key alone")
		_, err = open(t, store.Options{SealKey: sealKey}).Keys().LoadBrand(ctx, keyBrand.ID)
		require.Error(t, err, "the old seal key no longer opens them")
	})

	t.Run("a rotation is published on every replica before any signs with it", func(t *testing.T) {
		open := newDatabase(t)
		clock := NewClock(start)
		a := manager(t, open(t, store.Options{SealKey: sealKey}), clock, time.Minute)
		b := manager(t, open(t, store.Options{SealKey: sealKey}), clock, time.Minute)
		old := signingKID(t, a)

		kid, err := a.Rotate(ctx, keyBrand.ID)
		require.NoError(t, err)
		require.Contains(t, publicJWKS(t, a), kid, "published at once")
		require.Equal(t, old, signingKID(t, a), "not used before PublishAhead")
		require.NotContains(t, publicJWKS(t, b), kid)
		require.NoError(t, b.Reload(ctx))
		require.Contains(t, publicJWKS(t, b), kid, "the other replica publishes it after a reload")
		require.Equal(t, old, signingKID(t, b))

		clock.Advance(time.Minute)
		for _, m := range []*keys.Manager{a, b} {
			require.Equal(t, kid, signingKID(t, m), "both sign with the new key once it is due")
			jws := sign(t, m)
			for _, verifier := range []*keys.Manager{a, b} {
				require.NoError(t, verify(verifier, jws), "a token signed on one replica verifies with any replica's JWKS")
			}
			require.Contains(t, publicJWKS(t, m), old, "the old key stays published for its retention")
		}
		clock.Advance(time.Hour + time.Second)
		require.NoError(t, a.Prune(ctx))
		require.NoError(t, b.Reload(ctx))
		require.NotContains(t, publicJWKS(t, b), old, "pruned once retention has passed")
		require.Contains(t, publicJWKS(t, b), kid)
	})

	t.Run("a JWE to a key rotated in on another replica decrypts at once", func(t *testing.T) {
		open := newDatabase(t)
		clock := NewClock(start)
		a := manager(t, open(t, store.Options{SealKey: sealKey}), clock, 0)
		b := manager(t, open(t, store.Options{SealKey: sealKey}), clock, 0)
		kid, err := a.RotateEncryption(ctx, keyBrand.ID)
		require.NoError(t, err)
		jwe := encryptTo(t, a, kid, kid, "request object")
		plain, err := b.DecryptJWE(keyBrand.ID, jwe)
		require.NoError(t, err, "b reloads on the unknown kid instead of refusing the client")
		require.Equal(t, "request object", string(plain))

		_, err = b.DecryptJWE(keyBrand.ID, encryptTo(t, a, kid, "never-stored", "x"))
		require.ErrorIs(t, err, keys.ErrUnknownKey)
	})

	t.Run("a replica with stale keys never drops another's", func(t *testing.T) {
		open := newDatabase(t)
		clock := NewClock(start)
		st := open(t, store.Options{SealKey: sealKey})
		a := manager(t, st, clock, 0)
		b := manager(t, open(t, store.Options{SealKey: sealKey}), clock, 0)
		kid, err := b.Rotate(ctx, keyBrand.ID)
		require.NoError(t, err)

		// a has not reloaded: it prunes and rotates its encryption key.
		require.NoError(t, a.Prune(ctx))
		encKID, err := a.RotateEncryption(ctx, keyBrand.ID)
		require.NoError(t, err)
		stored, err := st.Keys().LoadBrand(ctx, keyBrand.ID)
		require.NoError(t, err)
		kids := map[string]bool{}
		for _, r := range stored {
			kids[r.KID] = r.Active()
		}
		require.True(t, kids[kid], "b's rotation is still stored and active")
		require.True(t, kids[encKID])
		require.Equal(t, kid, signingKID(t, a), "a's update read what b stored")
	})

	t.Run("keys need the seal key they were stored with", func(t *testing.T) {
		open := newDatabase(t)
		clock := NewClock(start)
		manager(t, open(t, store.Options{SealKey: sealKey}), clock, 0)
		other := make([]byte, 32)
		_, _ = rand.Read(other)
		for _, opts := range []store.Options{{SealKey: other}, {}} {
			_, err := open(t, opts).Keys().LoadBrand(ctx, keyBrand.ID)
			require.ErrorContains(t, err, "SealKey")
			_, err = keys.NewManager(ctx, open(t, opts).Keys(), []keys.Brand{keyBrand}, keys.Options{Now: clock.Now, Logger: slog.New(slog.DiscardHandler)})
			require.Error(t, err, "a replica with the wrong seal key refuses to start instead of making keys of its own")
		}
	})
}

func publicJWKS(t *testing.T, m *keys.Manager) string {
	t.Helper()
	data, err := m.PublicJWKS(keyBrand.ID)
	require.NoError(t, err)
	return string(data)
}

func signingKID(t *testing.T, m *keys.Manager) string {
	t.Helper()
	_, kid, err := m.ActiveSigner(keyBrand.ID, nil)
	require.NoError(t, err)
	return kid
}

func sign(t *testing.T, m *keys.Manager) string {
	t.Helper()
	signer, _, err := m.ActiveSigner(keyBrand.ID, nil)
	require.NoError(t, err)
	jws, err := signer.Sign([]byte(`{"sub":"x"}`))
	require.NoError(t, err)
	out, err := jws.CompactSerialize()
	require.NoError(t, err)
	return out
}

// verify checks a JWS as a client would: with the manager's public JWKS only.
func verify(m *keys.Manager, compact string) error {
	data, err := m.PublicJWKS(keyBrand.ID)
	if err != nil {
		return err
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(data, &set); err != nil {
		return err
	}
	jws, err := jose.ParseSignedCompact(compact, []jose.SignatureAlgorithm{jose.PS256})
	if err != nil {
		return err
	}
	found := set.Key(jws.Signatures[0].Header.KeyID)
	if len(found) != 1 {
		return fmt.Errorf("kid %s not in the JWKS", jws.Signatures[0].Header.KeyID)
	}
	_, err = jws.Verify(found[0].Key)
	return err
}

// encryptTo encrypts plain to m's published key kid, as a client does,
// naming headerKID in the JWE header (kid, unless a test lies).
func encryptTo(t *testing.T, m *keys.Manager, kid, headerKID, plain string) string {
	t.Helper()
	var set jose.JSONWebKeySet
	require.NoError(t, json.Unmarshal([]byte(publicJWKS(t, m)), &set))
	found := set.Key(kid)
	require.Len(t, found, 1)
	enc, err := jose.NewEncrypter(jose.A256GCM, jose.Recipient{Algorithm: jose.RSA_OAEP, Key: found[0].Key, KeyID: headerKID}, nil)
	require.NoError(t, err)
	obj, err := enc.Encrypt([]byte(plain))
	require.NoError(t, err)
	out, err := obj.CompactSerialize()
	require.NoError(t, err)
	return out
}
