package fapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// IDToken is a validated id_token.
type IDToken struct {
	Raw       string // the signed JWT (after decryption)
	Encrypted bool   // it arrived as a JWE
	Issuer    string
	Subject   string
	Audience  []string
	Nonce     string
	ACR       string
	IssuedAt  time.Time
	Expiry    time.Time
	AuthTime  time.Time      // zero when absent
	Claims    map[string]any // every claim
	Header    jose.Header    // of the JWS
}

// IDTokenChecks are the response-specific checks of ValidateIDToken.
type IDTokenChecks struct {
	// Code, when set, requires c_hash to match it (front-channel id_token).
	Code string
	// State, when set, requires s_hash to match it (front-channel id_token).
	State string
	// AccessToken, when set, is checked against at_hash if the token has one.
	AccessToken string
}

// ValidateIDToken decrypts (when the client has an encryption key the
// id_token must be a JWE to it: RSA-OAEP / A256GCM) and verifies an
// id_token: PS256 signature by a key of the holder's JWKS (refetched on an
// unknown kid), iss, aud (and azp), exp and iat with Config.ClockSkew,
// nonce, an acr among the request's ACRValues, sub, and the hashes asked
// in checks. Errors are *IDTokenError.
func (c *Client) ValidateIDToken(ctx context.Context, raw string, r AuthRequest, checks IDTokenChecks) (*IDToken, error) {
	idt := &IDToken{}
	if isJWE(raw) {
		if c.cfg.EncryptionKey == nil {
			return nil, idTokenErr("decrypt", "the id_token is encrypted and the client has no encryption key")
		}
		enc, err := jose.ParseEncrypted(raw, []jose.KeyAlgorithm{jose.RSA_OAEP}, []jose.ContentEncryption{jose.A256GCM})
		if err != nil {
			return nil, idTokenErr("decrypt", "not an RSA-OAEP/A256GCM JWE: %w", err)
		}
		if enc.Header.KeyID != c.cfg.EncryptionKeyID {
			return nil, idTokenErr("decrypt", "encrypted to kid %q, not the client's %q", clip(enc.Header.KeyID, 64), c.cfg.EncryptionKeyID)
		}
		inner, err := enc.Decrypt(oaepDecrypter{c.cfg.EncryptionKey})
		if err != nil {
			return nil, idTokenErr("decrypt", "%w", err)
		}
		raw, idt.Encrypted = string(inner), true
	} else if c.cfg.EncryptionKey != nil {
		return nil, idTokenErr("decrypt", "the id_token is not encrypted although the client registered an encryption key")
	}
	idt.Raw = raw

	jws, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{jose.PS256})
	if err != nil {
		return nil, idTokenErr("signature", "not a PS256 JWS: %w", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, idTokenErr("signature", "%d signatures, want 1", len(jws.Signatures))
	}
	h := jws.Signatures[0].Protected
	if h.KeyID == "" {
		return nil, idTokenErr("signature", "no kid in the header")
	}
	if err := noEmbeddedKeys(raw); err != nil {
		return nil, idTokenErr("signature", "%w", err)
	}
	key, err := c.keys.verificationKey(ctx, h.KeyID)
	if err != nil {
		return nil, idTokenErr("signature", "%w", err)
	}
	payload, err := jws.Verify(key)
	if err != nil {
		return nil, idTokenErr("signature", "%w", err)
	}
	idt.Header = h
	if err := json.Unmarshal(payload, &idt.Claims); err != nil {
		return nil, idTokenErr("claims", "%w", err)
	}
	if err := c.checkClaims(idt, r, checks); err != nil {
		return nil, err
	}
	return idt, nil
}

func (c *Client) checkClaims(idt *IDToken, r AuthRequest, checks IDTokenChecks) error {
	cl := idt.Claims
	str := func(k string) string { s, _ := cl[k].(string); return s }
	num := func(k string) (time.Time, bool) {
		v, ok := cl[k].(float64)
		if !ok {
			return time.Time{}, false
		}
		return time.Unix(int64(v), 0).UTC(), true
	}
	idt.Issuer, idt.Subject, idt.Nonce, idt.ACR = str("iss"), str("sub"), str("nonce"), str("acr")
	switch aud := cl["aud"].(type) {
	case string:
		idt.Audience = []string{aud}
	case []any:
		for _, a := range aud {
			if s, ok := a.(string); ok {
				idt.Audience = append(idt.Audience, s)
			}
		}
	}
	now := c.cfg.Now()
	skew := c.cfg.ClockSkew
	var ok bool
	if idt.Issuer != c.disc.Issuer {
		return idTokenErr("iss", "issuer %q, want %q", clip(idt.Issuer, 200), c.disc.Issuer)
	}
	id := c.ClientID()
	if !slices.Contains(idt.Audience, id) {
		return idTokenErr("aud", "audience %q does not name client %s", idt.Audience, id)
	}
	if azp := str("azp"); (len(idt.Audience) > 1 || azp != "") && azp != id {
		return idTokenErr("azp", "azp %q, want %s", clip(azp, 100), id)
	}
	if idt.Expiry, ok = num("exp"); !ok {
		return idTokenErr("exp", "missing")
	}
	if !now.Before(idt.Expiry.Add(skew)) {
		return idTokenErr("exp", "expired at %s", idt.Expiry.Format(time.RFC3339))
	}
	if idt.IssuedAt, ok = num("iat"); !ok {
		return idTokenErr("iat", "missing")
	}
	if idt.IssuedAt.After(now.Add(skew)) {
		return idTokenErr("iat", "issued in the future (%s)", idt.IssuedAt.Format(time.RFC3339))
	}
	idt.AuthTime, _ = num("auth_time")
	if idt.Subject == "" {
		return idTokenErr("sub", "missing")
	}
	if r.Nonce == "" || subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(r.Nonce)) != 1 {
		return idTokenErr("nonce", "does not match the request's")
	}
	if idt.ACR == "" {
		return idTokenErr("acr", "missing (asked as essential)")
	}
	if len(r.ACRValues) > 0 && !slices.Contains(r.ACRValues, idt.ACR) {
		return idTokenErr("acr", "%q is not among the requested %q", clip(idt.ACR, 100), r.ACRValues)
	}
	for _, h := range []struct{ claim, value string }{{"c_hash", checks.Code}, {"s_hash", checks.State}} {
		if h.value == "" {
			continue
		}
		if err := checkHalfHash(str(h.claim), h.value); err != nil {
			return idTokenErr(h.claim, "%w", err)
		}
	}
	if checks.AccessToken != "" && str("at_hash") != "" {
		if err := checkHalfHash(str("at_hash"), checks.AccessToken); err != nil {
			return idTokenErr("at_hash", "%w", err)
		}
	}
	return nil
}

// noEmbeddedKeys refuses headers that point at or carry keys (jku, jwk,
// x5u, x5c): the key must come from the holder's JWKS by kid (FAPI-BR).
func noEmbeddedKeys(jws string) error {
	head, _, _ := strings.Cut(jws, ".")
	b, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		return fmt.Errorf("header: %w", err)
	}
	var h map[string]json.RawMessage
	if err := json.Unmarshal(b, &h); err != nil {
		return fmt.Errorf("header: %w", err)
	}
	for _, k := range []string{"jku", "jwk", "x5u", "x5c"} {
		if _, ok := h[k]; ok {
			return fmt.Errorf("header %q is not allowed", k)
		}
	}
	return nil
}

// HalfHash is the OIDC left-half SHA-256 hash (c_hash, s_hash, at_hash of
// a PS256 token).
func HalfHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}

func checkHalfHash(got, value string) error {
	if got == "" {
		return errors.New("missing")
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(HalfHash(value))) != 1 {
		return fmt.Errorf("does not match")
	}
	return nil
}
