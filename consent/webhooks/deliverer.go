package webhooks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/ofp-dev/ofp/internal/events"
)

// Endpoints finds a client's registered webhook base URI (the DCR
// webhook_uris entry, e.g. "https://tpp.example/hooks"). ok is false when
// the client is unknown or registered no webhook URI (webhooks off). An
// error means "cannot tell now": the event is retried later.
type Endpoints interface {
	WebhookURI(ctx context.Context, clientID string) (uri string, ok bool, err error)
}

// Records is where delivery records go (*Store satisfies it).
type Records interface {
	AddAttempt(ctx context.Context, a Attempt) error
	SetOutcome(ctx context.Context, o Outcome) (bool, error)
	Outcome(ctx context.Context, eventID string) (Outcome, bool, error)
}

var _ Records = (*Store)(nil)

// Options configures a Deliverer; zero fields take the defaults noted.
type Options struct {
	// ConsentsAPIVersion is the path segment of the consents API the
	// consents were created with; default "v3" (Consents 3.3.1).
	ConsentsAPIVersion string
	// Retry is the retry policy (timeouts, attempts, backoff).
	Retry
	// Now defaults to time.Now; Sleep to a timer honouring ctx.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.ConsentsAPIVersion == "" {
		o.ConsentsAPIVersion = "v3"
	}
	o.Retry = o.Retry.WithDefaults()
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Sleep == nil {
		o.Sleep = sleepCtx
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Deliverer turns consent events into webhook POSTs and records every
// attempt and each event's outcome, signed.
type Deliverer struct {
	hc        *http.Client
	endpoints Endpoints
	records   Records
	signer    *Signer
	opts      Options
	log       *slog.Logger
}

// New returns a Deliverer. hc carries the mTLS configuration (client
// certificate, receiver CA bundle); its own Timeout should be zero or
// above Options.AttemptTimeout.
func New(hc *http.Client, endpoints Endpoints, records Records, signer *Signer, opts Options) (*Deliverer, error) {
	if hc == nil || endpoints == nil || records == nil || signer == nil {
		return nil, errors.New("webhooks: New needs an HTTP client, Endpoints, Records and a Signer")
	}
	opts = opts.withDefaults()
	return &Deliverer{hc: hc, endpoints: endpoints, records: records, signer: signer, opts: opts, log: opts.Logger}, nil
}

// ClientOpts are the consumer options the Run client must have (add them to
// bus.NewClient): group membership on events.TopicConsentEvents, manual
// commits, no rebalance while a polled batch is being delivered.
func ClientOpts(group string) []kgo.Opt {
	return []kgo.Opt{
		kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(events.TopicConsentEvents),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	}
}

// Run consumes events.TopicConsentEvents with cl (built with ClientOpts)
// until ctx ends, and commits a polled batch only after every event of it
// has a recorded outcome (or needs none). An event whose delivery cannot be
// decided (store or Endpoints error) is retried in place with backoff, so
// nothing behind it is committed past it. Returns ctx's error; the caller
// closes cl.
func (d *Deliverer) Run(ctx context.Context, cl *kgo.Client) error {
	for {
		fetches := cl.PollRecords(ctx, 100)
		if ctx.Err() != nil || fetches.IsClientClosed() {
			cl.AllowRebalance()
			return ctx.Err()
		}
		fetches.EachError(func(topic string, p int32, err error) {
			d.log.Warn("webhooks: fetch error", "topic", topic, "partition", p, "err", err)
		})
		var stop error
		fetches.EachRecord(func(r *kgo.Record) {
			if stop != nil {
				return
			}
			stop = d.handleUntilDone(ctx, r)
		})
		if stop != nil {
			cl.AllowRebalance()
			return stop
		}
		if err := cl.CommitUncommittedOffsets(ctx); err != nil {
			// Not fatal: the batch is redelivered and deduplicated by event ID.
			d.log.Warn("webhooks: commit offsets", "err", err)
		}
		cl.AllowRebalance()
	}
}

func (d *Deliverer) handleUntilDone(ctx context.Context, r *kgo.Record) error {
	for n := 1; ; n++ {
		err := d.Handle(ctx, r.Value)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		d.log.Warn("webhooks: event not decided, retrying", "partition", r.Partition, "offset", r.Offset, "try", n, "err", err)
		if err := d.opts.Sleep(ctx, d.opts.Backoff(min(n, 10))); err != nil {
			return err
		}
	}
}

// Handle delivers the webhook one Kafka record value calls for, if any. It
// returns nil once the outcome is recorded (or when the event notifies
// nobody, is malformed, or was already decided: redeliveries are dropped by
// envelope ID). A non-nil error means nothing final was recorded; call
// again later.
func (d *Deliverer) Handle(ctx context.Context, value []byte) error {
	env, err := events.Decode(value)
	if err != nil {
		d.log.Error("webhooks: dropping record that is not an envelope", "err", err)
		return nil
	}
	n, ok, err := toNotice(env)
	if err != nil {
		d.log.Error("webhooks: dropping malformed event", "event_id", env.ID, "type", env.Type, "err", err)
		return nil
	}
	if !ok {
		return nil
	}
	if n.EventID == "" {
		d.log.Error("webhooks: dropping event without an ID", "type", env.Type)
		return nil
	}
	if _, done, err := d.records.Outcome(ctx, n.EventID); err != nil {
		return err
	} else if done {
		d.log.Debug("webhooks: event already decided", "event_id", n.EventID)
		return nil
	}
	base, ok, err := d.endpoints.WebhookURI(ctx, n.ClientID)
	if err != nil {
		return fmt.Errorf("webhooks: look up webhook URI of client %s: %w", n.ClientID, err)
	}
	out := Outcome{EventID: n.EventID, EventType: n.EventType, ConsentID: n.ConsentID, ClientID: n.ClientID}
	if !ok || base == "" {
		out.Result = ResultSkipped
		return d.decide(ctx, out)
	}
	out.URL = noticeURL(base, d.opts.ConsentsAPIVersion, n.ConsentID)
	if err := d.deliver(ctx, n, &out); err != nil {
		return err
	}
	return d.decide(ctx, out)
}

func (d *Deliverer) decide(ctx context.Context, o Outcome) error {
	o.DecidedAt = d.opts.Now()
	d.signer.SignOutcome(&o)
	stored, err := d.records.SetOutcome(ctx, o)
	if err != nil {
		return err
	}
	d.log.Info("webhooks: event decided", "event_id", o.EventID, "client_id", o.ClientID, "result", o.Result,
		"attempts", o.Attempts, "status", o.StatusCode, "first", stored)
	return nil
}

// acceptJSON is sent with consent webhooks.
var acceptJSON = http.Header{"Accept": {"application/json"}}

// deliver POSTs until success, a final failure or the limits; it fills
// out's result. It returns an error only when the context ended or an
// attempt could not be recorded (then nothing is decided).
func (d *Deliverer) deliver(ctx context.Context, n notice, out *Outcome) error {
	payload := RequestBody(n.At)
	first := d.opts.Now()
	for attempt := 1; ; attempt++ {
		a := d.opts.Post(ctx, d.hc, out.URL, payload, acceptJSON, d.opts.Now)
		rec := a.Attempt
		rec.EventID, rec.ClientID, rec.URL, rec.Attempt = n.EventID, n.ClientID, out.URL, attempt
		if ctx.Err() != nil {
			return ctx.Err() // a cancelled attempt says nothing about the receiver
		}
		d.signer.SignAttempt(&rec)
		if err := d.records.AddAttempt(ctx, rec); err != nil {
			return err
		}
		out.Attempts, out.StatusCode, out.Error = attempt, rec.StatusCode, rec.Error
		switch {
		case rec.StatusCode >= 200 && rec.StatusCode < 300:
			out.Result = ResultDelivered
			return nil
		case !a.Retryable:
			out.Result = ResultFailed
			return nil
		}
		wait, giveUp := d.opts.Next(attempt, first, d.opts.Now(), a)
		if giveUp {
			out.Result = ResultGaveUp
			return nil
		}
		d.log.Info("webhooks: attempt failed, will retry", "event_id", n.EventID, "attempt", attempt,
			"status", rec.StatusCode, "err", rec.Error, "wait", wait)
		if err := d.opts.Sleep(ctx, wait); err != nil {
			return err
		}
	}
}
