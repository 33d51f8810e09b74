package lifecycle

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/ofp-dev/ofp/consent"
	"github.com/ofp-dev/ofp/internal/events"
)

// OutboxStore is what the Publisher needs from the consent store
// (*consentsql.Store satisfies it).
type OutboxStore interface {
	// ClaimOutbox hands out up to limit unpublished events, oldest first,
	// hidden from other claimers for the store's claim lease.
	ClaimOutbox(ctx context.Context, limit int) ([]consent.OutboxEvent, error)
	// MarkPublished records that these events reached Kafka.
	MarkPublished(ctx context.Context, ids []string) error
}

// Producer produces records and waits for their acknowledgement
// (*kgo.Client satisfies it; build it with bus.NewClient: acks=all,
// idempotent).
type Producer interface {
	ProduceSync(ctx context.Context, rs ...*kgo.Record) kgo.ProduceResults
}

// EnvelopeSource is the Source of every envelope the Publisher writes.
const EnvelopeSource = "ofp/consent"

// PublisherOptions configures a Publisher. The zero value is usable.
type PublisherOptions struct {
	// Topic defaults to events.TopicConsentEvents.
	Topic string
	// BatchSize is the ClaimOutbox limit; default 100.
	BatchSize int
	// PollInterval is how long Run waits when the outbox is empty; default 500 ms.
	PollInterval time.Duration
	// MinBackoff and MaxBackoff bound the exponential wait after a Kafka or
	// store error; defaults 100 ms and 10 s.
	MinBackoff, MaxBackoff time.Duration
	// ResumeDelay is how long Run waits before its first claim. Set it to the
	// store's claim lease so that events claimed by a crashed predecessor
	// are claimable again and are published before newer events of the same
	// consent (see the package documentation on ordering). Default 0.
	ResumeDelay time.Duration
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Publisher drains the consent outbox to Kafka. Run one per deployment for
// per-consent ordering (several are safe for delivery, see doc.go).
type Publisher struct {
	store OutboxStore
	prod  Producer
	opts  PublisherOptions
	log   *slog.Logger
}

// NewPublisher returns a Publisher; it does not own store or producer.
func NewPublisher(store OutboxStore, prod Producer, opts PublisherOptions) *Publisher {
	if opts.Topic == "" {
		opts.Topic = events.TopicConsentEvents
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 100
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 500 * time.Millisecond
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = 100 * time.Millisecond
	}
	if opts.MaxBackoff < opts.MinBackoff {
		opts.MaxBackoff = max(10*time.Second, opts.MinBackoff)
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Publisher{store: store, prod: prod, opts: opts, log: log}
}

// Run publishes until ctx is cancelled, then returns ctx's error. Store and
// Kafka errors are logged and retried with exponential backoff; they never
// end Run.
func (p *Publisher) Run(ctx context.Context) error {
	if err := sleep(ctx, p.opts.ResumeDelay); err != nil {
		return err
	}
	bo := p.backoff()
	for {
		n, err := p.Drain(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			p.log.Warn("consent outbox: claim failed; retrying", "err", err)
			if err := sleep(ctx, bo.next()); err != nil {
				return err
			}
			continue
		}
		bo.reset()
		if n == 0 {
			if err := sleep(ctx, p.opts.PollInterval); err != nil {
				return err
			}
		}
	}
}

// Drain publishes until ClaimOutbox hands out nothing and returns how many
// events it published (marked). Kafka and MarkPublished errors are retried
// with backoff on the same claimed events (so a consent's events stay in
// order); a ClaimOutbox error or the end of ctx is returned.
func (p *Publisher) Drain(ctx context.Context) (int, error) {
	total := 0
	for {
		evs, err := p.store.ClaimOutbox(ctx, p.opts.BatchSize)
		if err != nil {
			return total, fmt.Errorf("lifecycle: claim consent outbox: %w", err)
		}
		if len(evs) == 0 {
			return total, nil
		}
		n, err := p.publish(ctx, evs)
		total += n
		if err != nil {
			return total, err
		}
	}
}

// publish sends a claimed batch in waves holding at most one event per
// consent: an event is produced only after every earlier event of its
// consent in the batch was acknowledged, so a failed record can never be
// overtaken on the wire by a later event of the same consent.
func (p *Publisher) publish(ctx context.Context, evs []consent.OutboxEvent) (int, error) {
	published := 0
	for len(evs) > 0 {
		var wave, rest []consent.OutboxEvent
		seen := map[string]bool{}
		for _, e := range evs {
			if seen[e.ConsentID] {
				rest = append(rest, e)
				continue
			}
			seen[e.ConsentID] = true
			wave = append(wave, e)
		}
		if err := p.publishWave(ctx, wave); err != nil {
			return published, err
		}
		published += len(wave)
		evs = rest
	}
	return published, nil
}

// publishWave produces the wave and marks it published, retrying what
// failed until everything is acknowledged and marked or ctx ends.
func (p *Publisher) publishWave(ctx context.Context, wave []consent.OutboxEvent) error {
	recs := make([]*kgo.Record, len(wave))
	for i, e := range wave {
		r, err := p.record(e)
		if err != nil {
			return err
		}
		recs[i] = r
	}
	bo := p.backoff()
	for len(recs) > 0 {
		res := p.prod.ProduceSync(ctx, recs...)
		var acked []string
		var failed []*kgo.Record
		var firstErr error
		for _, r := range res {
			if r.Err != nil {
				failed = append(failed, r.Record)
				if firstErr == nil {
					firstErr = r.Err
				}
				continue
			}
			acked = append(acked, idOf(r.Record))
		}
		if err := p.mark(ctx, acked, bo); err != nil {
			return err
		}
		recs = failed
		if firstErr != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			p.log.Warn("consent outbox: produce failed; retrying", "topic", p.opts.Topic, "failed", len(failed), "err", firstErr)
			if err := sleep(ctx, bo.next()); err != nil {
				return err
			}
			// Reset per-attempt record state; kgo fills partition/offset on success.
			for i, r := range recs {
				recs[i] = &kgo.Record{Topic: r.Topic, Key: r.Key, Value: r.Value, Headers: r.Headers, Timestamp: r.Timestamp}
			}
		}
	}
	return nil
}

// mark records acked IDs, retrying store errors until ctx ends. Events
// acknowledged but not marked are published again later (same envelope ID).
func (p *Publisher) mark(ctx context.Context, ids []string, bo *backoff) error {
	for len(ids) > 0 {
		err := p.store.MarkPublished(ctx, ids)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		p.log.Warn("consent outbox: mark published failed; retrying", "events", len(ids), "err", err)
		if err := sleep(ctx, bo.next()); err != nil {
			return err
		}
	}
	return nil
}

// HeaderEventID carries the envelope ID as a record header too, so a
// consumer can drop duplicates without decoding the value.
const HeaderEventID = "ofp-event-id"

func (p *Publisher) record(e consent.OutboxEvent) (*kgo.Record, error) {
	env := events.Envelope{ID: e.ID, Type: e.Type, Source: EnvelopeSource, Time: e.CreatedAt.UTC(), Key: e.ConsentID, Payload: e.Payload}
	v, err := json.Marshal(env)
	if err != nil {
		return nil, fmt.Errorf("lifecycle: encode outbox event %s of %s: %w", e.ID, e.ConsentID, err)
	}
	return &kgo.Record{
		Topic: p.opts.Topic, Key: []byte(e.ConsentID), Value: v, Timestamp: env.Time,
		Headers: []kgo.RecordHeader{{Key: HeaderEventID, Value: []byte(e.ID)}},
	}, nil
}

func idOf(r *kgo.Record) string {
	for _, h := range r.Headers {
		if h.Key == HeaderEventID {
			return string(h.Value)
		}
	}
	return ""
}

type backoff struct {
	min, max, cur time.Duration
}

func (p *Publisher) backoff() *backoff {
	return &backoff{min: p.opts.MinBackoff, max: p.opts.MaxBackoff}
}

func (b *backoff) next() time.Duration {
	if b.cur == 0 {
		b.cur = b.min
	} else {
		b.cur = min(2*b.cur, b.max)
	}
	return b.cur
}

func (b *backoff) reset() { b.cur = 0 }

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
