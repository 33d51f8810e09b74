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
// "p:" plain). It seals with the current key and opens with it or any
// previous one (a key being rotated out: Options.PreviousSealKeys).
type sealer struct {
	aead     cipher.AEAD
	previous []cipher.AEAD
}

func newSealer(key []byte, previous [][]byte) (sealer, error) {
	if len(key) == 0 {
		if len(previous) > 0 {
			return sealer{}, errors.New("store: Options.PreviousSealKeys without a SealKey: give the current key too")
		}
		return sealer{}, nil
	}
	aead, err := newAEAD(key, "Options.SealKey")
	if err != nil {
		return sealer{}, err
	}
	s := sealer{aead: aead}
	for i, p := range previous {
		a, err := newAEAD(p, fmt.Sprintf("Options.PreviousSealKeys[%d]", i))
		if err != nil {
			return sealer{}, err
		}
		s.previous = append(s.previous, a)
	}
	return s, nil
}

func newAEAD(key []byte, name string) (cipher.AEAD, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("store: %s must be 32 bytes (AES-256), got %d", name, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", name, err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", name, err)
	}
	return aead, nil
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
		for _, a := range append([]cipher.AEAD{s.aead}, s.previous...) {
			if plain, err := a.Open(nil, raw[:n], raw[n:], []byte(bound)); err == nil {
				return string(plain), nil
			}
		}
		return "", errors.New("store: " + what + " does not open with Options.SealKey or a previous key (was the key changed? " +
			"run with the new key and the old one as a previous key, then reseal)")
	}
	return "", errors.New("store: " + what + " is in an unknown format")
}
