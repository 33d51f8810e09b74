package webhooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"
)

// Result is the final outcome of delivering one event.
type Result string

const (
	// ResultDelivered: the receiver answered 2xx (the spec expects 202).
	ResultDelivered Result = "delivered"
	// ResultFailed: the receiver answered a final status (4xx other than
	// 429, 3xx); retrying would not help.
	ResultFailed Result = "failed"
	// ResultGaveUp: every retry failed (network error, 5xx, 429) until the
	// attempt or age limit was reached.
	ResultGaveUp Result = "gave_up"
	// ResultSkipped: the client has no webhook URI registered (webhooks
	// are off for it, or the client is unknown).
	ResultSkipped Result = "skipped"
)

// Attempt is one HTTP POST of a notice. InteractionID is the
// x-webhook-interaction-id sent (fresh per attempt) and the record's key.
type Attempt struct {
	InteractionID string
	EventID       string
	ClientID      string
	URL           string
	Attempt       int // 1-based within one delivery run
	StatusCode    int // 0 when no response arrived
	Error         string
	StartedAt     time.Time
	FinishedAt    time.Time
	KeyID         string
	Signature     string // base64url HMAC-SHA256 of the canonical form
}

// Outcome is the final record of one event (envelope ID).
type Outcome struct {
	EventID    string
	EventType  string
	ConsentID  string
	ClientID   string
	URL        string // empty when skipped
	Result     Result
	Attempts   int
	StatusCode int // of the last attempt; 0 when none or no response
	Error      string
	DecidedAt  time.Time
	KeyID      string
	Signature  string
}

// ErrBadSignature is returned by Verify* for a record whose signature does
// not match its content: the record was changed after it was written, or
// it was signed with another key under the same key ID. Treat the record
// as untrustworthy.
var ErrBadSignature = errors.New("webhooks: delivery record signature does not match its content")

// Signer signs and verifies delivery records with HMAC-SHA256 under a
// secret key. The key is never logged or formatted: Signer implements
// slog.LogValuer and fmt.Stringer showing the key ID only.
type Signer struct {
	keyID string
	key   []byte
}

// NewSigner returns a Signer. keyID names the key in every record so a
// rotated key can still verify old records; key must be at least 32 bytes.
func NewSigner(keyID string, key []byte) (*Signer, error) {
	if keyID == "" {
		return nil, errors.New("webhooks: signing key needs a key ID")
	}
	if len(key) < 32 {
		return nil, fmt.Errorf("webhooks: signing key %q is %d bytes; use at least 32 random bytes", keyID, len(key))
	}
	return &Signer{keyID: keyID, key: append([]byte(nil), key...)}, nil
}

// KeyID returns the key's name.
func (s *Signer) KeyID() string { return s.keyID }

// String shows the key ID, never the key.
func (s *Signer) String() string { return "webhooks.Signer{keyID:" + s.keyID + "}" }

// GoString shows the key ID, never the key (for %#v).
func (s *Signer) GoString() string { return s.String() }

// LogValue shows the key ID, never the key.
func (s *Signer) LogValue() slog.Value { return slog.GroupValue(slog.String("key_id", s.keyID)) }

// SignAttempt sets a.KeyID and a.Signature.
func (s *Signer) SignAttempt(a *Attempt) {
	a.StartedAt, a.FinishedAt = normTime(a.StartedAt), normTime(a.FinishedAt)
	a.KeyID = s.keyID
	a.Signature = s.mac(canonicalAttempt(*a))
}

// VerifyAttempt returns ErrBadSignature unless a carries this key's valid signature.
func (s *Signer) VerifyAttempt(a Attempt) error {
	if a.KeyID != s.keyID {
		return fmt.Errorf("webhooks: attempt %s signed with key %q, verifier holds %q", a.InteractionID, a.KeyID, s.keyID)
	}
	return s.check(canonicalAttempt(a), a.Signature)
}

// SignOutcome sets o.KeyID and o.Signature.
func (s *Signer) SignOutcome(o *Outcome) {
	o.DecidedAt = normTime(o.DecidedAt)
	o.KeyID = s.keyID
	o.Signature = s.mac(canonicalOutcome(*o))
}

// VerifyOutcome returns ErrBadSignature unless o carries this key's valid signature.
func (s *Signer) VerifyOutcome(o Outcome) error {
	if o.KeyID != s.keyID {
		return fmt.Errorf("webhooks: outcome %s signed with key %q, verifier holds %q", o.EventID, o.KeyID, s.keyID)
	}
	return s.check(canonicalOutcome(o), o.Signature)
}

func (s *Signer) mac(msg []byte) string {
	m := hmac.New(sha256.New, s.key)
	m.Write(msg)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (s *Signer) check(msg []byte, sig string) error {
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil {
		return ErrBadSignature
	}
	m := hmac.New(sha256.New, s.key)
	m.Write(msg)
	if !hmac.Equal(got, m.Sum(nil)) {
		return ErrBadSignature
	}
	return nil
}

// recordTimeFormat is the fixed-width UTC form of every record time, in the
// canonical form and in the database (so text order is time order).
const recordTimeFormat = "2006-01-02T15:04:05.000000Z"

func normTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func fmtTime(t time.Time) string { return t.UTC().Format(recordTimeFormat) }

// canonicalAttempt is the signed form of an attempt: a JSON array of
// strings in fixed order behind a type tag. JSON string escaping makes the
// field boundaries unambiguous; integers and times have one spelling.
func canonicalAttempt(a Attempt) []byte {
	return canonical("ofp.webhook.attempt.v1", a.KeyID, a.InteractionID, a.EventID, a.ClientID, a.URL,
		strconv.Itoa(a.Attempt), strconv.Itoa(a.StatusCode), a.Error, fmtTime(a.StartedAt), fmtTime(a.FinishedAt))
}

func canonicalOutcome(o Outcome) []byte {
	return canonical("ofp.webhook.outcome.v1", o.KeyID, o.EventID, o.EventType, o.ConsentID, o.ClientID, o.URL,
		string(o.Result), strconv.Itoa(o.Attempts), strconv.Itoa(o.StatusCode), o.Error, fmtTime(o.DecidedAt))
}

func canonical(fields ...string) []byte {
	b, _ := json.Marshal(fields) // []string always encodes
	return b
}
