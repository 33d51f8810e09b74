package store

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// sealer protects the secrets the store keeps: the refresh token kept
// between authorization and code redemption, and the server's private keys
// (keys.go). AES-256-GCM bound to the row (its id as associated data) when
// a key is set, as is otherwise. Stored values say which ("s:" sealed,
// "p:" plain).
type sealer struct{ aead cipher.AEAD }

func newSealer(key []byte) (sealer, error) {
	if len(key) == 0 {
		return sealer{}, nil
	}
	if len(key) != 32 {
		return sealer{}, fmt.Errorf("store: Options.SealKey must be 32 bytes (AES-256), got %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return sealer{}, fmt.Errorf("store: seal key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return sealer{}, fmt.Errorf("store: seal key: %w", err)
	}
	return sealer{aead: aead}, nil
}

func (s sealer) seal(bound, secret string) (string, error) {
	if s.aead == nil {
		return "p:" + secret, nil
	}
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("store: seal: %w", err)
	}
	out := s.aead.Seal(nonce, nonce, []byte(secret), []byte(bound))
	return "s:" + base64.RawURLEncoding.EncodeToString(out), nil
}

// open reverses seal; what names the value in errors ("grant <id> refresh
// token"), which never quote it.
func (s sealer) open(bound, what, stored string) (string, error) {
	kind, body, ok := strings.Cut(stored, ":")
	switch {
	case ok && kind == "p":
		return body, nil
	case ok && kind == "s":
		if s.aead == nil {
			return "", errors.New("store: " + what + " is sealed but no Options.SealKey is configured")
		}
		raw, err := base64.RawURLEncoding.DecodeString(body)
		if err != nil || len(raw) < s.aead.NonceSize() {
			return "", errors.New("store: " + what + " is sealed but corrupt")
		}
		n := s.aead.NonceSize()
		plain, err := s.aead.Open(nil, raw[:n], raw[n:], []byte(bound))
		if err != nil {
			return "", errors.New("store: " + what + " does not open with Options.SealKey (was the key changed? restore the previous one)")
		}
		return string(plain), nil
	}
	return "", errors.New("store: " + what + " is in an unknown format")
}
