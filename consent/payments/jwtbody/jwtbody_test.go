package jwtbody

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/consent/payments/paymentsql"
)

var (
	keysOnce  sync.Once
	clientKey StaticKey
	otherKey  StaticKey
	holderKey StaticKey
)

func testKeys(t testing.TB) {
	keysOnce.Do(func() {
		var err error
		clientKey, err = NewStaticKey("client-kid")
		require.NoError(t, err)
		otherKey, err = NewStaticKey("client-kid") // same kid, other key: a forgery
		require.NoError(t, err)
		holderKey, err = NewStaticKey("holder-kid")
		require.NoError(t, err)
	})
}

const aud = "https://api.ofpbank.com.br/open-banking/payments/v4/consents"

type env struct {
	v     *Verifier
	now   time.Time
	store *paymentsql.Store
}

func newEnv(t *testing.T) *env {
	testKeys(t)
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	store, err := paymentsql.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "p.db"), paymentsql.Options{Now: func() time.Time { return now }})
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	v, err := NewVerifier(StaticClientKeys{"client-a": clientKey.PublicJWKS()}, store, func() time.Time { return now })
	require.NoError(t, err)
	return &env{v: v, now: now, store: store}
}

func sign(t testing.TB, k StaticKey, iss, aud, jti string, iat time.Time, body any) []byte {
	s, _, err := k.ActiveSigner("", nil)
	require.NoError(t, err)
	b, err := Compose(s, iss, aud, jti, iat, body)
	require.NoError(t, err)
	return b
}

var body = map[string]any{"data": map[string]any{"x": "y"}}

func kindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return 0
}

func TestVerifyAcceptsAWellSignedRequestOnce(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	jti := uuid.NewString()
	b := sign(t, clientKey, "org-a", aud, jti, e.now.Add(-30*time.Second), body)
	c, err := e.v.Verify(ctx, b, Expect{ClientID: "client-a", Issuer: "org-a", Audience: aud})
	require.NoError(t, err)
	require.Equal(t, "org-a", c.Issuer)
	require.Equal(t, jti, c.JTI)
	require.JSONEq(t, `{"x":"y"}`, string(c.Data))

	_, err = e.v.Verify(ctx, b, Expect{ClientID: "client-a", Issuer: "org-a", Audience: aud})
	require.Equal(t, KindReplayed, kindOf(err), "%v", err)
	// The same jti from another client is that client's business (and here its signature fails).
	_, err = e.v.Verify(ctx, b, Expect{ClientID: "client-b", Issuer: "org-a", Audience: aud})
	require.Equal(t, KindBadSignature, kindOf(err), "client-b has no keys")
}

func TestVerifyRefusals(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	exp := Expect{ClientID: "client-a", Issuer: "org-a", Audience: aud}
	ok := func() []byte { return sign(t, clientKey, "org-a", aud, uuid.NewString(), e.now, body) }

	cases := []struct {
		name string
		body []byte
		kind Kind
	}{
		{"forged signature (same kid, other key)", sign(t, otherKey, "org-a", aud, uuid.NewString(), e.now, body), KindBadSignature},
		{"JSON instead of a JWT", []byte(`{"data":{"x":"y"}}`), KindBadSignature},
		{"empty", nil, KindBadSignature},
		{"tampered payload", tamper(ok()), KindBadSignature},
		{"alg none", unsigned(t, "none"), KindBadSignature},
		{"HS256", unsigned(t, "HS256"), KindBadSignature},
		{"wrong aud", sign(t, clientKey, "org-a", "https://api.ofpbank.com.br/open-banking/payments/v4/pix/payments", uuid.NewString(), e.now, body), KindInvalidClaims},
		{"wrong iss", sign(t, clientKey, "org-b", aud, uuid.NewString(), e.now, body), KindInvalidClaims},
		{"iat 61 s old", sign(t, clientKey, "org-a", aud, uuid.NewString(), e.now.Add(-61*time.Second), body), KindInvalidClaims},
		{"iat 61 s ahead", sign(t, clientKey, "org-a", aud, uuid.NewString(), e.now.Add(61*time.Second), body), KindInvalidClaims},
		{"no jti", sign(t, clientKey, "org-a", aud, "", e.now, body), KindInvalidClaims},
		{"no data", sign(t, clientKey, "org-a", aud, uuid.NewString(), e.now, map[string]any{"other": 1}), KindInvalidClaims},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.v.Verify(ctx, tc.body, exp)
			require.Error(t, err)
			require.Equal(t, tc.kind, kindOf(err), "%v", err)
		})
	}

	// A refused request does not burn its jti.
	jti := uuid.NewString()
	_, err := e.v.Verify(ctx, sign(t, clientKey, "org-a", "https://elsewhere.example.com/x", jti, e.now, body), exp)
	require.Equal(t, KindInvalidClaims, kindOf(err))
	_, err = e.v.Verify(ctx, sign(t, clientKey, "org-a", aud, jti, e.now, body), exp)
	require.NoError(t, err)

	// aud as an array is accepted when it holds the endpoint.
	b := signRaw(t, clientKey, map[string]any{"aud": []string{"x", aud}, "iss": "org-a", "jti": uuid.NewString(), "iat": e.now.Unix(), "data": map[string]any{}})
	_, err = e.v.Verify(ctx, b, exp)
	require.NoError(t, err)
}

func TestHeaderRules(t *testing.T) {
	testKeys(t)
	noKid, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.PS256, Key: clientKey.Key}, (&jose.SignerOptions{}).WithType("JWT"))
	require.NoError(t, err)
	b, err := Compose(noKid, "org-a", aud, "j", time.Now(), body)
	require.NoError(t, err)
	_, err = Parse(b)
	require.Equal(t, KindBadSignature, kindOf(err), "kid is required")

	noTyp, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.PS256, Key: jose.JSONWebKey{Key: clientKey.Key, KeyID: "client-kid"}}, nil)
	require.NoError(t, err)
	b, err = Compose(noTyp, "org-a", aud, "j", time.Now(), body)
	require.NoError(t, err)
	_, err = Parse(b)
	require.Equal(t, KindBadSignature, kindOf(err), "typ JWT is required")

	rs256, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: clientKey.Key, KeyID: "client-kid"}}, (&jose.SignerOptions{}).WithType("JWT"))
	require.NoError(t, err)
	b, err = Compose(rs256, "org-a", aud, "j", time.Now(), body)
	require.NoError(t, err)
	_, err = Parse(b)
	require.Equal(t, KindBadSignature, kindOf(err), "only PS256")
}

func TestSignerAndVerifyResponse(t *testing.T) {
	testKeys(t)
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	s, err := NewSigner(holderKey, "brand", "holder-org", func() time.Time { return now })
	require.NoError(t, err)
	b, err := s.Sign("org-a", map[string]any{"data": map[string]any{"status": "RCVD"}, "meta": map[string]any{"requestDateTime": "x"}})
	require.NoError(t, err)
	p, err := Parse(b)
	require.NoError(t, err)
	require.Equal(t, "holder-kid", p.KeyID)
	payload, err := VerifyResponse(b, holderKey.PublicJWKS(), "holder-org", "org-a", now)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(payload, &m))
	require.Equal(t, "org-a", m["aud"])
	require.Equal(t, "holder-org", m["iss"])
	require.NotEmpty(t, m["jti"])
	require.Equal(t, float64(now.Unix()), m["iat"])
	require.Equal(t, "RCVD", m["data"].(map[string]any)["status"])

	_, err = VerifyResponse(b, holderKey.PublicJWKS(), "holder-org", "org-b", now)
	require.Error(t, err, "aud is another org")
	_, err = VerifyResponse(b, clientKey.PublicJWKS(), "holder-org", "org-a", now)
	require.Error(t, err, "other keys")
	_, err = Compose(nil, "a", "b", "c", now, []int{1})
	require.Error(t, err, "a body that is not an object")
}

func tamper(b []byte) []byte {
	parts := splitDots(string(b))
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var m map[string]any
	_ = json.Unmarshal(payload, &m)
	m["data"] = map[string]any{"x": "z"}
	nb, _ := json.Marshal(m)
	return []byte(parts[0] + "." + base64.RawURLEncoding.EncodeToString(nb) + "." + parts[2])
}

func splitDots(s string) []string {
	var out []string
	start := 0
	for i := range len(s) {
		if s[i] == '.' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// unsigned builds a token with the given alg and a junk signature.
func unsigned(t testing.TB, alg string) []byte {
	h, _ := json.Marshal(map[string]string{"alg": alg, "kid": "client-kid", "typ": "JWT"})
	p, _ := json.Marshal(map[string]any{"aud": aud, "iss": "org-a", "jti": uuid.NewString(), "iat": time.Now().Unix(), "data": map[string]any{}})
	sig := ""
	if alg != "none" {
		sig = base64.RawURLEncoding.EncodeToString([]byte("not-a-signature"))
	}
	return []byte(base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(p) + "." + sig)
}

func signRaw(t testing.TB, k StaticKey, payload map[string]any) []byte {
	s, _, err := k.ActiveSigner("", nil)
	require.NoError(t, err)
	b, err := json.Marshal(payload)
	require.NoError(t, err)
	obj, err := s.Sign(b)
	require.NoError(t, err)
	c, err := obj.CompactSerialize()
	require.NoError(t, err)
	return []byte(c)
}

// FuzzParse feeds arbitrary bodies to the untrusted-input path: Parse,
// then (for what parses) signature verification and claim decoding. None
// may panic, and a body that verifies must have come from the client key.
func FuzzParse(f *testing.F) {
	testKeys(f)
	now := time.Now()
	f.Add(sign(f, clientKey, "org-a", aud, "j", now, body))
	f.Add(sign(f, otherKey, "org-a", aud, "j", now, body))
	f.Add(unsigned(f, "none"))
	f.Add([]byte(`{"data":{}}`))
	f.Add([]byte("a.b.c"))
	f.Add([]byte("eyJhbGciOiJQUzI1NiIsImtpZCI6IngiLCJ0eXAiOiJKV1QifQ..."))
	f.Add([]byte(""))
	keys := clientKey.PublicJWKS()
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Parse(b)
		if err != nil {
			require.Equal(t, KindBadSignature, kindOf(err))
			return
		}
		payload, err := p.Verify(keys)
		if err != nil {
			require.Equal(t, KindBadSignature, kindOf(err))
			return
		}
		_, _ = ParseClaims(payload)
	})
}

// FuzzParseClaims feeds arbitrary verified payloads to the claim decoder.
func FuzzParseClaims(f *testing.F) {
	f.Add([]byte(`{"aud":"a","iss":"b","jti":"c","iat":1700000000,"data":{}}`))
	f.Add([]byte(`{"aud":["a"],"iss":"b","jti":"c","iat":1.5e9,"data":[]}`))
	f.Add([]byte(`{"aud":1,"iat":"x"}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseClaims(b)
		if err == nil {
			require.NotEmpty(t, c.Issuer)
			require.NotEmpty(t, c.JTI)
			require.NotEmpty(t, c.Data)
		}
	})
}
