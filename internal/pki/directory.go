package pki

import (
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"

	jose "github.com/go-jose/go-jose/v4"
)

// DirectoryKID is the kid of the directory signing key: its RFC 7638
// SHA-256 thumbprint, base64url.
func (b *Bundle) DirectoryKID() (string, error) {
	jwk := jose.JSONWebKey{Key: &b.directoryKey.PublicKey}
	thumb, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("pki: directory key thumbprint: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(thumb), nil
}

// DirectoryJWKS is the public JWK Set the demo directory serves in place of
// keystore.directory.openbankingbrasil.org.br/openbanking.jwks: the signing
// key with use "sig", alg PS256, its kid and its certificate chain as x5c.
func (b *Bundle) DirectoryJWKS() ([]byte, error) {
	kid, err := b.DirectoryKID()
	if err != nil {
		return nil, err
	}
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{
		Key:          &b.directoryKey.PublicKey,
		KeyID:        kid,
		Algorithm:    string(jose.PS256),
		Use:          "sig",
		Certificates: []*x509.Certificate{b.Directory, b.Intermediate},
	}}}
	data, err := json.Marshal(set)
	if err != nil {
		return nil, fmt.Errorf("pki: encode directory JWKS: %w", err)
	}
	return data, nil
}

// DirectorySigner signs software statements (PS256) with the directory key;
// the JWS header carries the kid and typ "JWT".
func (b *Bundle) DirectorySigner() (jose.Signer, error) {
	kid, err := b.DirectoryKID()
	if err != nil {
		return nil, err
	}
	signer, err := jose.NewSigner(jose.SigningKey{
		Algorithm: jose.PS256,
		Key:       jose.JSONWebKey{Key: b.directoryKey, KeyID: kid},
	}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return nil, fmt.Errorf("pki: directory signer: %w", err)
	}
	return signer, nil
}
