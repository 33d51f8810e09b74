package jwtbody

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"
)

// ContentType is the media type of every signed body of the payments API.
const ContentType = "application/jwt"

// MaxBodyBytes bounds a signed request body (60 payments of a schedule fit
// many times over).
const MaxBodyBytes = 512 << 10

// Skew is how far iat may be from the verifier's clock.
const Skew = 60 * time.Second

// JTITTL is how long a request jti stays unique per client.
const JTITTL = 24 * time.Hour

// Kind classifies a verification failure; the HTTP layer maps it.
type Kind int

const (
	// KindBadSignature: not a PS256 compact JWS with kid and typ JWT, an
	// unknown kid, or a signature that does not verify → 400 BAD_SIGNATURE.
	KindBadSignature Kind = iota + 1
	// KindInvalidClaims: aud, iss, iat or jti missing or wrong → 403.
	KindInvalidClaims
	// KindReplayed: the jti was used by this client in the last 24 h → 403.
	KindReplayed
	// KindUnavailable: the client's keys or the jti store could not be
	// reached → 500 (retry later); not the client's fault.
	KindUnavailable
)

// Error is a verification failure. Detail is safe to show the client.
type Error struct {
	Kind   Kind
	Detail string
	Err    error // the underlying cause, for logs
}

func (e *Error) Error() string {
	if e.Err != nil {
		return "jwtbody: " + e.Detail + ": " + e.Err.Error()
	}
	return "jwtbody: " + e.Detail
}

func (e *Error) Unwrap() error { return e.Err }

func fail(k Kind, detail string, err error) *Error { return &Error{Kind: k, Detail: detail, Err: err} }

// Parsed is a compact JWS whose shape (not yet its signature) was checked.
type Parsed struct {
	jws   *jose.JSONWebSignature
	KeyID string
}

// Parse checks that body is a compact JWS signed with PS256 whose header
// carries kid and typ "JWT"; it does not verify the signature. Every
// failure is a KindBadSignature *Error. It never panics, whatever body is.
func Parse(body []byte) (*Parsed, error) {
	s := string(bytes.TrimSpace(body))
	if s == "" {
		return nil, fail(KindBadSignature, "the body is empty; a signed JWT (application/jwt) is required", nil)
	}
	if len(s) > MaxBodyBytes {
		return nil, fail(KindBadSignature, "the signed body is too large", nil)
	}
	if strings.Count(s, ".") != 2 {
		return nil, fail(KindBadSignature, "the body is not a compact JWS (header.payload.signature)", nil)
	}
	jws, err := jose.ParseSigned(s, []jose.SignatureAlgorithm{jose.PS256})
	if err != nil {
		return nil, fail(KindBadSignature, "the body is not a JWS signed with PS256", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, fail(KindBadSignature, "the JWS must carry exactly one signature", nil)
	}
	h := jws.Signatures[0].Protected
	if h.Algorithm != string(jose.PS256) {
		return nil, fail(KindBadSignature, "the JOSE header alg must be PS256", nil)
	}
	if h.KeyID == "" {
		return nil, fail(KindBadSignature, "the JOSE header must carry kid", nil)
	}
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); !strings.EqualFold(typ, "JWT") {
		return nil, fail(KindBadSignature, "the JOSE header typ must be JWT", nil)
	}
	return &Parsed{jws: jws, KeyID: h.KeyID}, nil
}

// Verify checks the signature with the key of p.KeyID in keys and returns
// the payload. An unknown kid or a bad signature is KindBadSignature.
func (p *Parsed) Verify(keys *jose.JSONWebKeySet) ([]byte, error) {
	if keys == nil {
		return nil, fail(KindBadSignature, "no keys are known for the signer", nil)
	}
	var key *jose.JSONWebKey
	for i := range keys.Keys {
		k := &keys.Keys[i]
		if k.KeyID == p.KeyID && (k.Use == "" || k.Use == "sig") {
			key = k
			break
		}
	}
	if key == nil {
		return nil, fail(KindBadSignature, fmt.Sprintf("kid %q is not among the signer's published keys", p.KeyID), nil)
	}
	if _, ok := key.Key.(*rsa.PublicKey); !ok {
		if priv, isPriv := key.Key.(*rsa.PrivateKey); isPriv {
			key = &jose.JSONWebKey{Key: &priv.PublicKey, KeyID: key.KeyID}
		} else {
			return nil, fail(KindBadSignature, fmt.Sprintf("kid %q is not an RSA key", p.KeyID), nil)
		}
	}
	payload, err := p.jws.Verify(key.Key)
	if err != nil {
		return nil, fail(KindBadSignature, "the signature does not verify", err)
	}
	return payload, nil
}

// Claims are the registered claims of a signed body plus its content.
type Claims struct {
	Issuer   string
	Audience []string
	JTI      string
	IssuedAt time.Time
	// Data is the data claim (the request's content), raw.
	Data json.RawMessage
}

// ParseClaims decodes a verified payload: a JSON object with iss, aud
// (string or array), jti, iat (NumericDate) and data. Malformed claims are
// KindInvalidClaims.
func ParseClaims(payload []byte) (Claims, error) {
	var raw struct {
		Iss  *string         `json:"iss"`
		Aud  json.RawMessage `json:"aud"`
		JTI  *string         `json:"jti"`
		Iat  json.Number     `json:"iat"`
		Data json.RawMessage `json:"data"`
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return Claims{}, fail(KindInvalidClaims, "the JWT payload is not a JSON object with the expected claims", err)
	}
	var c Claims
	if raw.Iss == nil || *raw.Iss == "" {
		return Claims{}, fail(KindInvalidClaims, "the iss claim is missing", nil)
	}
	c.Issuer = *raw.Iss
	switch {
	case len(raw.Aud) == 0 || string(raw.Aud) == "null":
		return Claims{}, fail(KindInvalidClaims, "the aud claim is missing", nil)
	case raw.Aud[0] == '"':
		var a string
		if err := json.Unmarshal(raw.Aud, &a); err != nil {
			return Claims{}, fail(KindInvalidClaims, "the aud claim is malformed", err)
		}
		c.Audience = []string{a}
	default:
		if err := json.Unmarshal(raw.Aud, &c.Audience); err != nil {
			return Claims{}, fail(KindInvalidClaims, "the aud claim must be a string or an array of strings", err)
		}
	}
	if raw.JTI == nil || *raw.JTI == "" || len(*raw.JTI) > 256 {
		return Claims{}, fail(KindInvalidClaims, "the jti claim is missing or longer than 256 characters", nil)
	}
	c.JTI = *raw.JTI
	if raw.Iat == "" {
		return Claims{}, fail(KindInvalidClaims, "the iat claim is missing", nil)
	}
	f, err := strconv.ParseFloat(string(raw.Iat), 64)
	if err != nil || f < 0 || f > 1e11 {
		return Claims{}, fail(KindInvalidClaims, "the iat claim must be a NumericDate", err)
	}
	c.IssuedAt = time.Unix(int64(f), int64((f-float64(int64(f)))*1e9)).UTC()
	if len(raw.Data) == 0 || string(raw.Data) == "null" {
		return Claims{}, fail(KindInvalidClaims, "the data claim is missing", nil)
	}
	c.Data = raw.Data
	return c, nil
}

// ClientKeys finds the keys a client signs its requests with: the JWKS
// published for it in the directory (its software_jwks_uri). An error is
// "cannot tell now" (KindUnavailable).
type ClientKeys interface {
	ClientJWKS(ctx context.Context, clientID string) (*jose.JSONWebKeySet, error)
}

// JTIs remembers request jtis; UseJTI reports false for a jti this client
// already used and that is not expired. *paymentsql.Store satisfies it.
type JTIs interface {
	UseJTI(ctx context.Context, clientID, jti string, until time.Time) (bool, error)
}

// Expect is what a request must be: sent by ClientID of organisation
// Issuer (its iss) to Audience (the URL of the endpoint called).
type Expect struct {
	ClientID string
	Issuer   string
	Audience string
}

// Verifier checks signed request bodies.
type Verifier struct {
	keys ClientKeys
	jtis JTIs
	now  func() time.Time
}

// NewVerifier returns a Verifier over a client key source and a jti store;
// now defaults to time.Now.
func NewVerifier(keys ClientKeys, jtis JTIs, now func() time.Time) (*Verifier, error) {
	if keys == nil || jtis == nil {
		return nil, errors.New("jwtbody: NewVerifier needs ClientKeys and JTIs")
	}
	if now == nil {
		now = time.Now
	}
	return &Verifier{keys: keys, jtis: jtis, now: now}, nil
}

// Verify checks a signed request body in the order the spec's error table
// implies: shape and signature (400 BAD_SIGNATURE), then the claims iss =
// exp.Issuer, aud ∋ exp.Audience, iat within ±60 s, and jti unused by this
// client in the last 24 h (403). The jti is recorded only when everything
// else holds. Failures are *Error.
func (v *Verifier) Verify(ctx context.Context, body []byte, exp Expect) (Claims, error) {
	p, err := Parse(body)
	if err != nil {
		return Claims{}, err
	}
	keys, err := v.keys.ClientJWKS(ctx, exp.ClientID)
	if err != nil {
		return Claims{}, fail(KindUnavailable, "the client's keys could not be read", err)
	}
	payload, err := p.Verify(keys)
	if err != nil {
		return Claims{}, err
	}
	c, err := ParseClaims(payload)
	if err != nil {
		return Claims{}, err
	}
	if c.Issuer != exp.Issuer {
		return Claims{}, fail(KindInvalidClaims, "the iss claim is not the organisationId of the calling client", nil)
	}
	if !audienceMatches(c.Audience, exp.Audience) {
		return Claims{}, fail(KindInvalidClaims, "the aud claim is not the URL of the endpoint called", nil)
	}
	now := v.now()
	if d := now.Sub(c.IssuedAt); d > Skew || d < -Skew {
		return Claims{}, fail(KindInvalidClaims, "the iat claim is more than 60 seconds away from the server's clock", nil)
	}
	fresh, err := v.jtis.UseJTI(ctx, exp.ClientID, c.JTI, now.Add(JTITTL))
	if err != nil {
		return Claims{}, fail(KindUnavailable, "the jti could not be recorded", err)
	}
	if !fresh {
		return Claims{}, fail(KindReplayed, "the jti was already used", nil)
	}
	return c, nil
}

func audienceMatches(aud []string, want string) bool {
	want = strings.TrimRight(want, "/")
	for _, a := range aud {
		if strings.TrimRight(a, "/") == want {
			return true
		}
	}
	return false
}

// SigningKeys gives the holder's active PS256 signing key for a brand;
// authz/keys.(*Manager) satisfies it.
type SigningKeys interface {
	ActiveSigner(brandID string, opts *jose.SignerOptions) (jose.Signer, string, error)
}

// Signer signs response bodies as the holder.
type Signer struct {
	keys   SigningKeys
	brand  string
	issuer string
	now    func() time.Time
}

// NewSigner signs with brand's active key; issuer is the holder's
// organisationId (the iss of every response). now defaults to time.Now.
func NewSigner(keys SigningKeys, brand, issuer string, now func() time.Time) (*Signer, error) {
	if keys == nil || issuer == "" {
		return nil, errors.New("jwtbody: NewSigner needs SigningKeys and the holder's organisationId")
	}
	if now == nil {
		now = time.Now
	}
	return &Signer{keys: keys, brand: brand, issuer: issuer, now: now}, nil
}

// Sign returns body (a value encoding as a JSON object: data/links/meta or
// errors/meta) as a compact JWS with aud = audience (the client's
// organisationId), iss, a fresh jti and iat = now.
func (s *Signer) Sign(audience string, body any) ([]byte, error) {
	signer, _, err := s.keys.ActiveSigner(s.brand, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return nil, fmt.Errorf("jwtbody: signing key: %w", err)
	}
	return Compose(signer, s.issuer, audience, uuid.NewString(), s.now(), body)
}

// Compose signs body with signer after adding the claims aud, iss, jti and
// iat at its top level. Clients (tests, the payment-initiation connector)
// use it to sign requests as well.
func Compose(signer jose.Signer, iss, aud, jti string, iat time.Time, body any) ([]byte, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("jwtbody: encode %T: %w", body, err)
	}
	b = bytes.TrimSpace(b)
	if len(b) < 2 || b[0] != '{' {
		return nil, fmt.Errorf("jwtbody: %T does not encode as a JSON object", body)
	}
	claims, err := json.Marshal(struct {
		Aud string `json:"aud"`
		Iss string `json:"iss"`
		JTI string `json:"jti"`
		Iat int64  `json:"iat"`
	}{aud, iss, jti, iat.Unix()})
	if err != nil {
		return nil, fmt.Errorf("jwtbody: encode claims: %w", err)
	}
	payload := make([]byte, 0, len(claims)+len(b))
	payload = append(payload, claims[:len(claims)-1]...)
	if len(b) > 2 {
		payload = append(payload, ',')
		payload = append(payload, b[1:]...)
	} else {
		payload = append(payload, '}')
	}
	obj, err := signer.Sign(payload)
	if err != nil {
		return nil, fmt.Errorf("jwtbody: sign: %w", err)
	}
	s, err := obj.CompactSerialize()
	if err != nil {
		return nil, fmt.Errorf("jwtbody: serialise: %w", err)
	}
	return []byte(s), nil
}

// StaticKey is a SigningKeys over one RSA key (tests, local runs, and
// clients signing their requests).
type StaticKey struct {
	Key *rsa.PrivateKey
	KID string
}

// ActiveSigner returns a PS256 signer with k (brand is ignored).
func (k StaticKey) ActiveSigner(_ string, opts *jose.SignerOptions) (jose.Signer, string, error) {
	if opts == nil {
		opts = (&jose.SignerOptions{}).WithType("JWT")
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.PS256, Key: jose.JSONWebKey{Key: k.Key, KeyID: k.KID}}, opts)
	if err != nil {
		return nil, "", fmt.Errorf("jwtbody: build signer: %w", err)
	}
	return s, k.KID, nil
}

// PublicJWKS is k's public key as a JWK Set.
func (k StaticKey) PublicJWKS() *jose.JSONWebKeySet {
	return &jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &k.Key.PublicKey, KeyID: k.KID, Algorithm: string(jose.PS256), Use: "sig"}}}
}

// NewStaticKey generates a 2048-bit RSA key.
func NewStaticKey(kid string) (StaticKey, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return StaticKey{}, fmt.Errorf("jwtbody: generate key: %w", err)
	}
	return StaticKey{Key: key, KID: kid}, nil
}

// StaticClientKeys is a ClientKeys over a fixed map (tests, local runs).
type StaticClientKeys map[string]*jose.JSONWebKeySet

// ClientJWKS returns the client's keys, or an empty set for an unknown client.
func (m StaticClientKeys) ClientJWKS(_ context.Context, clientID string) (*jose.JSONWebKeySet, error) {
	if ks, ok := m[clientID]; ok {
		return ks, nil
	}
	return &jose.JSONWebKeySet{}, nil
}

// VerifyResponse is the client's side: it checks a signed response from the
// holder (signature with holderKeys, iss = holderOrg, aud = clientOrg, iat
// within ±60 s of now) and returns its payload (a JSON object holding
// data/links/meta or errors/meta besides the claims).
func VerifyResponse(body []byte, holderKeys *jose.JSONWebKeySet, holderOrg, clientOrg string, now time.Time) ([]byte, error) {
	p, err := Parse(body)
	if err != nil {
		return nil, err
	}
	payload, err := p.Verify(holderKeys)
	if err != nil {
		return nil, err
	}
	var c struct {
		Iss string          `json:"iss"`
		Aud json.RawMessage `json:"aud"`
		JTI string          `json:"jti"`
		Iat json.Number     `json:"iat"`
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	if err := dec.Decode(&c); err != nil {
		return nil, fail(KindInvalidClaims, "the response payload is not a JSON object", err)
	}
	var aud string
	if err := json.Unmarshal(c.Aud, &aud); err != nil || aud != clientOrg {
		return nil, fail(KindInvalidClaims, "the response aud is not the client's organisationId", err)
	}
	if c.Iss != holderOrg || c.JTI == "" {
		return nil, fail(KindInvalidClaims, "the response iss or jti is wrong", nil)
	}
	iat, err := c.Iat.Int64()
	if err != nil || now.Sub(time.Unix(iat, 0)) > Skew || time.Unix(iat, 0).Sub(now) > Skew {
		return nil, fail(KindInvalidClaims, "the response iat is out of the 60-second window", err)
	}
	return payload, nil
}
