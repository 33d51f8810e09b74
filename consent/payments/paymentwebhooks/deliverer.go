package paymentwebhooks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ofp-dev/ofp/consent/payments"
	"github.com/ofp-dev/ofp/consent/webhooks"
)

// WebhookBasePath is what the convention puts between the initiator's
// registered webhook URI and the API path.
const WebhookBasePath = "/open-banking/webhook/v1"

// Event types written in the delivery records (webhooks.Outcome.EventType);
// the record's ConsentID field holds the consent or payment ID.
const (
	EventTypeConsent = "ofp.payments.consent.v4"
	EventTypePayment = "ofp.payments.pix.v4"
)

// Notices is the webhook outbox (*paymentsql.Store satisfies it).
type Notices interface {
	ClaimNotices(ctx context.Context, limit int) ([]payments.Notice, error)
	RetryNotice(ctx context.Context, id string, attempts int, first, next time.Time) error
	FinishNotice(ctx context.Context, id string, attempts int, result string) error
}

// Endpoints finds a client's registered webhook base URI (the DCR
// webhook_uris entry). ok is false when the client registered none
// (webhooks off); an error means "cannot tell now" (the notice is offered
// again after its lease). The same interface as consent/webhooks.Endpoints.
type Endpoints interface {
	WebhookURI(ctx context.Context, clientID string) (uri string, ok bool, err error)
}

// Records keeps the signed delivery records (*webhooks.Store satisfies it:
// payment and consent webhooks share one audit trail).
type Records interface {
	AddAttempt(ctx context.Context, a webhooks.Attempt) error
	SetOutcome(ctx context.Context, o webhooks.Outcome) (bool, error)
	Outcome(ctx context.Context, eventID string) (webhooks.Outcome, bool, error)
}

var (
	_ Records   = (*webhooks.Store)(nil)
	_ Endpoints = webhooks.Endpoints(nil)
)

// Options configures a Deliverer; zero fields take the defaults noted.
type Options struct {
	// Retry is the retry policy (timeouts, attempts, backoff), the one
	// consent webhooks use; MaxAttempts counts the POSTs per notice.
	webhooks.Retry
	// Batch is how many notices one pass claims; default 50. Interval is
	// the pause between passes when there was nothing to do; default 1 s.
	Batch    int
	Interval time.Duration
	// Now defaults to time.Now; use the store's clock.
	Now func() time.Time
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	o.Retry = o.Retry.WithDefaults()
	if o.Batch <= 0 {
		o.Batch = 50
	}
	if o.Interval <= 0 {
		o.Interval = time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Deliverer POSTs the webhooks of payment consents and Pix payments.
type Deliverer struct {
	hc        *http.Client
	notices   Notices
	endpoints Endpoints
	records   Records
	signer    *webhooks.Signer
	opts      Options
	log       *slog.Logger
}

// New returns a Deliverer. hc carries the mTLS configuration (the spec
// allows mTLS only: no token, no body signature).
func New(hc *http.Client, notices Notices, endpoints Endpoints, records Records, signer *webhooks.Signer, opts Options) (*Deliverer, error) {
	if hc == nil || notices == nil || endpoints == nil || records == nil || signer == nil {
		return nil, errors.New("paymentwebhooks: New needs an HTTP client, Notices, Endpoints, Records and a Signer")
	}
	opts = opts.withDefaults()
	return &Deliverer{hc: hc, notices: notices, endpoints: endpoints, records: records, signer: signer, opts: opts, log: opts.Logger}, nil
}

// Run delivers due notices until ctx ends and returns ctx's error. A pass
// that found work is followed at once by the next one.
func (d *Deliverer) Run(ctx context.Context) error {
	for {
		n, err := d.DeliverDue(ctx)
		if err != nil && ctx.Err() == nil {
			d.log.Warn("paymentwebhooks: delivery pass", "err", err)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if n > 0 && err == nil {
			continue
		}
		t := time.NewTimer(d.opts.Interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// DeliverDue claims the notices due now and makes one attempt for each; it
// returns how many it handled. The error is the first one met; the notices
// it concerns are offered again once their lease ends.
func (d *Deliverer) DeliverDue(ctx context.Context) (int, error) {
	ns, err := d.notices.ClaimNotices(ctx, d.opts.Batch)
	if err != nil {
		return 0, err
	}
	var first error
	for _, n := range ns {
		if err := d.handle(ctx, n); err != nil {
			if ctx.Err() != nil {
				return 0, ctx.Err()
			}
			d.log.Warn("paymentwebhooks: notice not handled", "notice_id", n.ID, "err", err)
			if first == nil {
				first = err
			}
		}
	}
	return len(ns), first
}

func eventType(k payments.NoticeKind) string {
	if k == payments.NoticePayment {
		return EventTypePayment
	}
	return EventTypeConsent
}

// NoticeURL is where the webhook of n goes under the client's base URI
// (webhook 1.2.0 paths).
func NoticeURL(base string, n payments.Notice) string {
	p := "/payments/" + n.APIVersion + "/consents/"
	if n.Kind == payments.NoticePayment {
		p = "/payments/" + n.APIVersion + "/pix/payments/"
	}
	return strings.TrimRight(base, "/") + WebhookBasePath + p + url.PathEscape(n.ResourceID)
}

func (d *Deliverer) handle(ctx context.Context, n payments.Notice) error {
	out := webhooks.Outcome{EventID: n.ID, EventType: eventType(n.Kind), ConsentID: n.ResourceID, ClientID: n.ClientID}
	// A notice whose outcome was recorded but not marked done (a crash in
	// between) is finished without sending again.
	if prev, done, err := d.records.Outcome(ctx, n.ID); err != nil {
		return err
	} else if done {
		return d.notices.FinishNotice(ctx, n.ID, prev.Attempts, string(prev.Result))
	}
	base, ok, err := d.endpoints.WebhookURI(ctx, n.ClientID)
	if err != nil {
		return fmt.Errorf("paymentwebhooks: webhook URI of client %s: %w", n.ClientID, err)
	}
	if !ok || base == "" {
		out.Result = webhooks.ResultSkipped
		out.Attempts = n.Attempts
		return d.decide(ctx, n, out)
	}
	out.URL = NoticeURL(base, n)
	now := d.opts.Now()
	first := now
	if n.FirstAttemptAt != nil {
		first = *n.FirstAttemptAt
	}
	attempt := n.Attempts + 1
	a := d.opts.Post(ctx, d.hc, out.URL, webhooks.RequestBody(n.EventAt), nil, d.opts.Now)
	if ctx.Err() != nil {
		return ctx.Err() // a cancelled attempt says nothing about the receiver
	}
	rec := a.Attempt
	rec.EventID, rec.ClientID, rec.URL, rec.Attempt = n.ID, n.ClientID, out.URL, attempt
	d.signer.SignAttempt(&rec)
	if err := d.records.AddAttempt(ctx, rec); err != nil {
		return err
	}
	out.Attempts, out.StatusCode, out.Error = attempt, rec.StatusCode, rec.Error
	switch {
	case rec.StatusCode >= 200 && rec.StatusCode < 300:
		out.Result = webhooks.ResultDelivered
		return d.decide(ctx, n, out)
	case !a.Retryable:
		out.Result = webhooks.ResultFailed
		return d.decide(ctx, n, out)
	}
	now = d.opts.Now()
	wait, giveUp := d.opts.Next(attempt, first, now, a)
	if giveUp {
		out.Result = webhooks.ResultGaveUp
		return d.decide(ctx, n, out)
	}
	d.log.Info("paymentwebhooks: attempt failed, will retry", "notice_id", n.ID, "attempt", attempt,
		"status", rec.StatusCode, "err", rec.Error, "wait", wait)
	return d.notices.RetryNotice(ctx, n.ID, attempt, first, now.Add(wait))
}

func (d *Deliverer) decide(ctx context.Context, n payments.Notice, o webhooks.Outcome) error {
	o.DecidedAt = d.opts.Now()
	d.signer.SignOutcome(&o)
	if _, err := d.records.SetOutcome(ctx, o); err != nil {
		return err
	}
	d.log.Info("paymentwebhooks: notice decided", "notice_id", n.ID, "kind", n.Kind, "resource_id", n.ResourceID,
		"client_id", n.ClientID, "result", o.Result, "attempts", o.Attempts, "status", o.StatusCode)
	return d.notices.FinishNotice(ctx, n.ID, o.Attempts, string(o.Result))
}
