package webhooks

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/consent"
	"github.com/ofp-dev/ofp/internal/events"
)

// received is one request a test receiver got.
type received struct {
	Path          string
	ContentType   string
	InteractionID string
	Body          []byte
}

// receiver is an httptest webhook receiver answering from a script of
// (status, Retry-After) pairs; after the script it answers 202.
type receiver struct {
	mu     sync.Mutex
	got    []received
	script []reply
	srv    *httptest.Server
}

type reply struct {
	status     int
	retryAfter string
}

func newReceiver(t *testing.T, script ...reply) *receiver {
	rc := &receiver{script: script}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		n := len(rc.got)
		rc.got = append(rc.got, received{Path: r.URL.EscapedPath(), ContentType: r.Header.Get("Content-Type"),
			InteractionID: r.Header.Get("x-webhook-interaction-id"), Body: b})
		rc.mu.Unlock()
		rep := reply{status: http.StatusAccepted}
		if n < len(rc.script) {
			rep = rc.script[n]
		}
		if rep.retryAfter != "" {
			w.Header().Set("Retry-After", rep.retryAfter)
		}
		w.Header().Set("x-webhook-interaction-id", r.Header.Get("x-webhook-interaction-id"))
		w.WriteHeader(rep.status)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) Got() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

type fixture struct {
	d     *Deliverer
	store *Store
	clock *fakeTime
	sign  *Signer
}

// newFixture delivers to rc for client "client-1" with deterministic jitter
// (Rand = 0.5, Jitter 0.2 → every backoff is 1.1 × the exponential step).
func newFixture(t *testing.T, rc *receiver) fixture {
	t.Helper()
	f := fixture{store: openSQLite(t), clock: &fakeTime{now: t0}, sign: testSigner(t)}
	eps := mapEndpoints{}
	if rc != nil {
		eps["client-1"] = rc.srv.URL + "/"
	}
	d, err := New(http.DefaultClient, eps, f.store, f.sign, Options{
		Retry: Retry{MinBackoff: time.Second, MaxBackoff: time.Minute, Jitter: 0.2, Rand: func() float64 { return 0.5 }, MaxAttempts: 5, AttemptTimeout: 5 * time.Second},
		Now:   f.clock.Now, Sleep: f.clock.Sleep,
		Logger: slog.New(slog.DiscardHandler),
	})
	require.NoError(t, err)
	f.d = d
	return f
}

func loadSpec(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromFile("testdata/webhook-1.2.0.yml")
	require.NoError(t, err)
	return doc
}

func TestDeliveredFirstTryMatchesSpec(t *testing.T) {
	rc := newReceiver(t)
	f := newFixture(t, rc)
	ctx := context.Background()

	require.NoError(t, f.d.Handle(ctx, nearExpiryEnvelope(t, "ev-1", "client-1")))

	got := rc.Got()
	require.Len(t, got, 1)
	require.Equal(t, "/open-banking/webhook/v1/consents/v3/consents/"+testConsentID, got[0].Path)
	require.Equal(t, "application/json", got[0].ContentType)
	require.JSONEq(t, `{"data":{"timestamp":"2026-11-25T12:00:01Z"}}`, string(got[0].Body))

	// Body and header against the spec's RequestBodyWebhook and
	// x-webhook-interaction-id definitions.
	doc := loadSpec(t)
	var body any
	require.NoError(t, json.Unmarshal(got[0].Body, &body))
	require.NoError(t, doc.Components.Schemas["RequestBodyWebhook"].Value.VisitJSON(body))
	hdr := doc.Components.Parameters["xWebhookInteractionId"].Value
	require.True(t, hdr.Required)
	require.NoError(t, hdr.Schema.Value.VisitJSON(got[0].InteractionID))
	require.Error(t, doc.Components.Schemas["RequestBodyWebhook"].Value.VisitJSON(map[string]any{"data": map[string]any{"timestamp": "2026-11-25T12:00:01.5Z"}}),
		"the schema check must be able to fail")

	o, ok, err := f.store.Outcome(ctx, "ev-1")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, ResultDelivered, o.Result)
	require.Equal(t, 1, o.Attempts)
	require.Equal(t, http.StatusAccepted, o.StatusCode)
	require.Equal(t, testConsentID, o.ConsentID)
	require.NoError(t, f.sign.VerifyOutcome(o))
	as, err := f.store.Attempts(ctx, "ev-1")
	require.NoError(t, err)
	require.Len(t, as, 1)
	require.Equal(t, got[0].InteractionID, as[0].InteractionID)
	require.NoError(t, f.sign.VerifyAttempt(as[0]))
	require.Empty(t, f.clock.Waits())
}

func TestRevocationNotifiesAndOtherTransitionsDoNot(t *testing.T) {
	rc := newReceiver(t)
	f := newFixture(t, rc)
	ctx := context.Background()
	require.NoError(t, f.d.Handle(ctx, lifecycleEnvelope(t, "ev-auth", "client-1", consent.StatusAuthorised)))
	require.Empty(t, rc.Got())
	_, ok, err := f.store.Outcome(ctx, "ev-auth")
	require.NoError(t, err)
	require.False(t, ok, "a transition that notifies nobody leaves no record")

	// A consent obtained as receiver has nobody of ours to notify.
	env, err := events.New("ev-recv", consent.OutboxEventType, "ofp/consent", testConsentID, t0, consent.LifecycleEvent{
		ConsentID: testConsentID, Event: consent.EventRevokeByTPP, From: consent.StatusAuthorised, To: consent.StatusRejected,
		At: t0, Version: 3, ClientID: "client-1", Role: consent.RoleReceiver})
	require.NoError(t, err)
	raw, err := json.Marshal(env)
	require.NoError(t, err)
	require.NoError(t, f.d.Handle(ctx, raw))
	require.Empty(t, rc.Got())

	require.NoError(t, f.d.Handle(ctx, lifecycleEnvelope(t, "ev-rev", "client-1", consent.StatusRejected)))
	got := rc.Got()
	require.Len(t, got, 1)
	require.JSONEq(t, `{"data":{"timestamp":"2026-11-25T12:00:00Z"}}`, string(got[0].Body))
}

func TestRetriesOn503ThenDelivered(t *testing.T) {
	rc := newReceiver(t, reply{status: 503}, reply{status: 503})
	f := newFixture(t, rc)
	ctx := context.Background()

	require.NoError(t, f.d.Handle(ctx, nearExpiryEnvelope(t, "ev-2", "client-1")))

	got := rc.Got()
	require.Len(t, got, 3)
	require.NotEqual(t, got[0].InteractionID, got[1].InteractionID, "each attempt has its own interaction id")
	require.NotEqual(t, got[1].InteractionID, got[2].InteractionID)
	// 1s·2^0·1.1, 1s·2^1·1.1
	require.Equal(t, []time.Duration{1100 * time.Millisecond, 2200 * time.Millisecond}, f.clock.Waits())
	o, ok, err := f.store.Outcome(ctx, "ev-2")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, ResultDelivered, o.Result)
	require.Equal(t, 3, o.Attempts)
	as, err := f.store.Attempts(ctx, "ev-2")
	require.NoError(t, err)
	require.Len(t, as, 3)
	for i, a := range as {
		require.Equal(t, i+1, a.Attempt)
		require.NoError(t, f.sign.VerifyAttempt(a))
	}
	require.Equal(t, 503, as[0].StatusCode)
	require.Equal(t, 202, as[2].StatusCode)
	require.Equal(t, t0.Add(1100*time.Millisecond), as[1].StartedAt)
}

func TestRetryAfterHonoured(t *testing.T) {
	rc := newReceiver(t, reply{status: 429, retryAfter: "7"}, reply{status: 429, retryAfter: t0.Add(7*time.Second + 40*time.Second).Format(http.TimeFormat)})
	f := newFixture(t, rc)
	require.NoError(t, f.d.Handle(context.Background(), nearExpiryEnvelope(t, "ev-3", "client-1")))
	require.Len(t, rc.Got(), 3)
	require.Equal(t, []time.Duration{7 * time.Second, 40 * time.Second}, f.clock.Waits())
}

func TestBadRequestIsFinal(t *testing.T) {
	rc := newReceiver(t, reply{status: 400})
	f := newFixture(t, rc)
	ctx := context.Background()
	require.NoError(t, f.d.Handle(ctx, nearExpiryEnvelope(t, "ev-4", "client-1")))
	require.Len(t, rc.Got(), 1)
	require.Empty(t, f.clock.Waits())
	o, ok, err := f.store.Outcome(ctx, "ev-4")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, ResultFailed, o.Result)
	require.Equal(t, 400, o.StatusCode)
}

func TestGivesUpAfterMaxAttempts(t *testing.T) {
	rc := newReceiver(t, reply{status: 500}, reply{status: 502}, reply{status: 503}, reply{status: 504}, reply{status: 500}, reply{status: 500})
	f := newFixture(t, rc)
	ctx := context.Background()
	require.NoError(t, f.d.Handle(ctx, nearExpiryEnvelope(t, "ev-5", "client-1")))
	require.Len(t, rc.Got(), 5)
	o, _, err := f.store.Outcome(ctx, "ev-5")
	require.NoError(t, err)
	require.Equal(t, ResultGaveUp, o.Result)
	require.Equal(t, 5, o.Attempts)
	require.Equal(t, []time.Duration{1100 * time.Millisecond, 2200 * time.Millisecond, 4400 * time.Millisecond, 8800 * time.Millisecond}, f.clock.Waits())
}

func TestNetworkErrorIsRetried(t *testing.T) {
	rc := newReceiver(t)
	f := newFixture(t, nil)
	// A closed server refuses connections: every attempt is a network error.
	url := rc.srv.URL
	rc.srv.Close()
	f.d.endpoints = mapEndpoints{"client-1": url}
	ctx := context.Background()
	require.NoError(t, f.d.Handle(ctx, nearExpiryEnvelope(t, "ev-6", "client-1")))
	o, _, err := f.store.Outcome(ctx, "ev-6")
	require.NoError(t, err)
	require.Equal(t, ResultGaveUp, o.Result)
	require.Equal(t, 5, o.Attempts)
	require.Equal(t, 0, o.StatusCode)
	require.NotEmpty(t, o.Error)
}

func TestUnknownClientSkipped(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	require.NoError(t, f.d.Handle(ctx, nearExpiryEnvelope(t, "ev-7", "nobody")))
	o, ok, err := f.store.Outcome(ctx, "ev-7")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, ResultSkipped, o.Result)
	require.Equal(t, "nobody", o.ClientID)
	require.NoError(t, f.sign.VerifyOutcome(o))
}

func TestSameEventTwiceNotifiesOnce(t *testing.T) {
	rc := newReceiver(t)
	f := newFixture(t, rc)
	ctx := context.Background()
	ev := nearExpiryEnvelope(t, "ev-8", "client-1")
	require.NoError(t, f.d.Handle(ctx, ev))
	require.NoError(t, f.d.Handle(ctx, ev))
	require.Len(t, rc.Got(), 1)
}

func TestCancelledDeliveryDecidesNothing(t *testing.T) {
	rc := newReceiver(t, reply{status: 503})
	f := newFixture(t, rc)
	ctx, cancel := context.WithCancel(context.Background())
	f.d.opts.Sleep = func(context.Context, time.Duration) error { cancel(); return context.Canceled }
	require.ErrorIs(t, f.d.Handle(ctx, nearExpiryEnvelope(t, "ev-9", "client-1")), context.Canceled)
	_, ok, err := f.store.Outcome(context.Background(), "ev-9")
	require.NoError(t, err)
	require.False(t, ok, "an undecided event must be delivered again after restart")
}

func TestRetryAfterParsing(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, false}, {"3", 3 * time.Second, true}, {"-1", 0, false}, {"soon", 0, false},
		{t0.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{t0.Add(-time.Hour).Format(http.TimeFormat), 0, true},
	} {
		got, ok := RetryAfter(tc.in, t0)
		require.Equal(t, tc.ok, ok, tc.in)
		require.Equal(t, tc.want, got, tc.in)
	}
}

type failingEndpoints struct{}

func (failingEndpoints) WebhookURI(context.Context, string) (string, bool, error) {
	return "", false, errors.New("client store down")
}

func TestEndpointsErrorDecidesNothing(t *testing.T) {
	f := newFixture(t, nil)
	f.d.endpoints = failingEndpoints{}
	ctx := context.Background()
	require.ErrorContains(t, f.d.Handle(ctx, nearExpiryEnvelope(t, "ev-10", "client-1")), "client store down")
	_, ok, err := f.store.Outcome(ctx, "ev-10")
	require.NoError(t, err)
	require.False(t, ok)
}

func TestMaxAgeStopsRetries(t *testing.T) {
	rc := newReceiver(t, reply{status: 503, retryAfter: "3600"})
	f := newFixture(t, rc)
	ctx := context.Background()
	require.NoError(t, f.d.Handle(ctx, nearExpiryEnvelope(t, "ev-11", "client-1")))
	require.Len(t, rc.Got(), 1, "a Retry-After beyond MaxAge ends the delivery")
	o, _, err := f.store.Outcome(ctx, "ev-11")
	require.NoError(t, err)
	require.Equal(t, ResultGaveUp, o.Result)
}

func TestAttemptTimeoutIsRetried(t *testing.T) {
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release // answers only after the test; the deliverer's timeout ends each request
	}))
	t.Cleanup(hang.Close)
	t.Cleanup(func() { close(release) }) // runs before hang.Close
	f := newFixture(t, nil)
	f.d.endpoints = mapEndpoints{"client-1": hang.URL}
	f.d.opts.AttemptTimeout = 50 * time.Millisecond
	f.d.opts.MaxAttempts = 2
	ctx := context.Background()
	require.NoError(t, f.d.Handle(ctx, nearExpiryEnvelope(t, "ev-12", "client-1")))
	o, _, err := f.store.Outcome(ctx, "ev-12")
	require.NoError(t, err)
	require.Equal(t, ResultGaveUp, o.Result)
	require.Equal(t, 2, o.Attempts)
	require.Contains(t, o.Error, "deadline exceeded")
	require.Len(t, f.clock.Waits(), 1)
}
