package payments

import (
	"errors"
	"time"
)

// IdempotencyTTL is how long an x-idempotency-key is remembered.
const IdempotencyTTL = 24 * time.Hour

// IdempotencyKey scopes an x-idempotency-key: per endpoint and per
// initiator organisation (the iss of the signed request).
type IdempotencyKey struct {
	Endpoint string // e.g. "POST /consents"
	OrgID    string
	Key      string
}

// IdempotencyRecord is what a key remembers: the request's content hash
// (of the JWT's data claim) and the outcome, so a retry with the same
// content replays it (showing the resources' current state) and a retry
// with other content is refused with ERRO_IDEMPOTENCIA.
type IdempotencyRecord struct {
	IdempotencyKey
	RequestHash string
	// StatusCode is the HTTP status of the outcome (201, 200, 422).
	StatusCode int
	// ResourceIDs are the consent or payment IDs the request created or changed.
	ResourceIDs []string
	// Error is the 422 outcome, when StatusCode is 422.
	Error     *RuleError
	CreatedAt time.Time
	ExpiresAt time.Time
}

// ErrIdempotencyRace: a concurrent request with the same key committed
// first. Nothing was changed; look the key up again and replay its record.
var ErrIdempotencyRace = errors.New("payments: a concurrent request with the same idempotency key won")

// NoticeKind says which webhook a notice calls for.
type NoticeKind string

const (
	// NoticeConsent: POST <webhook>/open-banking/webhook/v1/payments/<v>/consents/<consentId>.
	NoticeConsent NoticeKind = "consent"
	// NoticePayment: POST <webhook>/open-banking/webhook/v1/payments/<v>/pix/payments/<paymentId>.
	NoticePayment NoticeKind = "payment"
)

// Notice is one webhook owed to an initiator: a status of one of its
// consents or payments changed. Stores write it in the transaction of the
// change (a transactional outbox), so none is lost.
type Notice struct {
	ID         string
	Kind       NoticeKind
	ResourceID string
	ClientID   string
	// APIVersion is the path segment of the API the resource was created
	// with ("v4").
	APIVersion string
	// EventAt is when the change happened: the webhook's data.timestamp.
	EventAt time.Time
	// Attempts made so far and when the first one started (nil: none yet).
	Attempts       int
	FirstAttemptAt *time.Time
}

// APIVersion is the payments API major version resources are created with.
const APIVersion = "v4"
