package lifecycle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ofp-dev/ofp/consent"
	"github.com/ofp-dev/ofp/jobs"
)

// NearExpiryEventType is the envelope type of a near-expiry notice (the
// "consent.near_expiry" event) on events.TopicConsentEvents.
const NearExpiryEventType = "ofp.consent.near_expiry.v1"

// NearExpiryEvent is the payload of a near-expiry notice. Like the
// lifecycle events it carries no customer document numbers.
type NearExpiryEvent struct {
	ConsentID          string    `json:"consent_id"`
	ClientID           string    `json:"client_id"`
	ExpirationDateTime time.Time `json:"expiration_date_time"`
	NoticedAt          time.Time `json:"noticed_at"`
	LeadSeconds        int64     `json:"lead_seconds"` // the lead time the notifier ran with
	Business           bool      `json:"business"`
	Permissions        []string  `json:"permissions"`
	Version            int64     `json:"version"` // consent version the notice was computed from
}

// NoticeStore is what the Notifier needs from the consent store
// (*consentsql.Store satisfies it).
type NoticeStore interface {
	ListNearExpiry(ctx context.Context, now time.Time, lead time.Duration, limit int) ([]consent.Consent, error)
	RecordNearExpiryNotice(ctx context.Context, id string, expiration time.Time, eventType string, payload json.RawMessage) (bool, error)
}

// NoticeJobName is the job name Notifier.Register uses.
const NoticeJobName = "consent-near-expiry"

// NotifierOptions configures a Notifier.
type NotifierOptions struct {
	// Lead is how long before expirationDateTime the notice is due; default 7 days.
	Lead time.Duration
	// Now defaults to time.Now.
	Now func() time.Time
	// BatchSize defaults to 500.
	BatchSize int
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// NoticeResult counts what one Notify call did.
type NoticeResult struct {
	Written int // notices written to the outbox by this call
	Skipped int // consents renewed, revoked or noticed by another replica first
}

// Notifier writes one near-expiry notice per (consent, expirationDateTime)
// into the consent outbox, where the Publisher picks it up. A renewal sets
// a new expirationDateTime and so re-arms the notice.
type Notifier struct {
	store NoticeStore
	lead  time.Duration
	now   func() time.Time
	batch int
	log   *slog.Logger
}

// NewNotifier returns a Notifier over store.
func NewNotifier(store NoticeStore, opts NotifierOptions) *Notifier {
	n := &Notifier{store: store, lead: opts.Lead, now: opts.Now, batch: opts.BatchSize, log: opts.Logger}
	if n.lead <= 0 {
		n.lead = 7 * 24 * time.Hour
	}
	if n.now == nil {
		n.now = time.Now
	}
	if n.batch <= 0 {
		n.batch = 500
	}
	if n.log == nil {
		n.log = slog.Default()
	}
	return n
}

// Run is the job function (jobs.Func).
func (n *Notifier) Run(ctx context.Context) error {
	res, err := n.Notify(ctx)
	n.log.Info("consent near-expiry run", "written", res.Written, "skipped", res.Skipped, "err", err)
	return err
}

// Register adds the notice job to s under NoticeJobName (e.g. "@hourly").
func (n *Notifier) Register(s *jobs.Scheduler, schedule string) error {
	return s.Register(NoticeJobName, schedule, n.Run)
}

// Notify writes the notices now due. Safe to run on several replicas at
// once: the store writes at most one notice per (consent, expiry).
func (n *Notifier) Notify(ctx context.Context) (NoticeResult, error) {
	var (
		res  NoticeResult
		errs []error
	)
	now := n.now().UTC()
	for {
		cs, err := n.store.ListNearExpiry(ctx, now, n.lead, n.batch)
		if err != nil {
			return res, fmt.Errorf("lifecycle: list consents near expiry: %w", err)
		}
		written := 0
		for _, c := range cs {
			if ctx.Err() != nil {
				return res, ctx.Err()
			}
			if c.ExpirationDateTime == nil {
				continue
			}
			payload, err := json.Marshal(NearExpiryEvent{
				ConsentID: c.ID, ClientID: c.ClientID, ExpirationDateTime: c.ExpirationDateTime.UTC(), NoticedAt: now,
				LeadSeconds: int64(n.lead / time.Second), Business: c.BusinessEntity != nil,
				Permissions: c.Permissions, Version: c.Version,
			})
			if err != nil {
				return res, fmt.Errorf("lifecycle: encode near-expiry notice of %s: %w", c.ID, err)
			}
			ok, err := n.store.RecordNearExpiryNotice(ctx, c.ID, *c.ExpirationDateTime, NearExpiryEventType, payload)
			switch {
			case err == nil && ok:
				written++
			case err == nil || errors.Is(err, consent.ErrNotFound):
				res.Skipped++
			default:
				errs = append(errs, fmt.Errorf("lifecycle: near-expiry notice of %s: %w", c.ID, err))
			}
		}
		res.Written += written
		if len(cs) < n.batch || written == 0 {
			return res, errors.Join(errs...)
		}
	}
}
