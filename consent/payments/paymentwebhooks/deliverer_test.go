package paymentwebhooks

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/consent/payments"
	"github.com/ofp-dev/ofp/consent/payments/paymentsql"
	"github.com/ofp-dev/ofp/consent/webhooks"
	"github.com/ofp-dev/ofp/internal/sqltest"
)

var t0 = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

type clock struct{ ns atomic.Int64 }

func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// endpoints is a fixed client → webhook URI table (the DCR registrations).
type endpoints map[string]string

func (e endpoints) WebhookURI(_ context.Context, clientID string) (string, bool, error) {
	u, ok := e[clientID]
	return u, ok, nil
}

// receiver is a real HTTP server playing the initiator: it validates every
// webhook against webhook-1.2.0.yml and answers the scripted statuses.
type receiver struct {
	t       *testing.T
	srv     *httptest.Server
	router  routers.Router
	mu      sync.Mutex
	got     []*http.Request
	bodies  []string
	answers []int // popped per request; 202 when empty
	headers map[string]string
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{t: t}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	doc, err := openapi3.NewLoader().LoadFromFile("testdata/webhook-1.2.0.yml")
	require.NoError(t, err)
	doc.Servers = openapi3.Servers{{URL: r.srv.URL + "/hooks" + WebhookBasePath}}
	r.router, err = legacy.NewRouter(doc)
	require.NoError(t, err)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	// The router matches the spec's server URL: give the request its full URL.
	full := req.Clone(context.Background())
	full.URL.Scheme, full.URL.Host = "http", req.Host
	full.Body = io.NopCloser(strings.NewReader(string(b)))
	route, params, err := r.router.FindRoute(full)
	if err == nil {
		err = openapi3filter.ValidateRequest(context.Background(), &openapi3filter.RequestValidationInput{
			Request: full, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}})
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.t.Errorf("webhook does not match webhook-1.2.0.yml: %v (%s %s)", err, req.Method, req.URL)
	}
	r.got = append(r.got, req)
	r.bodies = append(r.bodies, string(b))
	status := http.StatusAccepted
	if len(r.answers) > 0 {
		status, r.answers = r.answers[0], r.answers[1:]
	}
	for k, v := range r.headers {
		w.Header().Set(k, v)
	}
	w.Header().Set("x-webhook-interaction-id", req.Header.Get("x-webhook-interaction-id"))
	w.WriteHeader(status)
}

func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.got)
}

type rig struct {
	t       *testing.T
	clk     *clock
	store   *paymentsql.Store
	records *webhooks.Store
	signer  *webhooks.Signer
	recv    *receiver
	d       *Deliverer
}

func newRig(t *testing.T, engine string, opts Options) *rig {
	ctx := context.Background()
	clk := &clock{}
	clk.ns.Store(t0.UnixNano())
	var (
		store   *paymentsql.Store
		records *webhooks.Store
		err     error
	)
	if engine == "postgres" {
		dsn := sqltest.PostgresSchema(t, "paywebhooks_test")
		store, err = paymentsql.OpenPostgres(ctx, dsn, paymentsql.Options{Now: clk.Now})
		require.NoError(t, err)
		records, err = webhooks.OpenPostgres(ctx, dsn)
	} else {
		dir := t.TempDir()
		store, err = paymentsql.OpenSQLite(ctx, filepath.Join(dir, "p.db"), paymentsql.Options{Now: clk.Now})
		require.NoError(t, err)
		records, err = webhooks.OpenSQLite(ctx, filepath.Join(dir, "w.db"))
	}
	require.NoError(t, err)
	t.Cleanup(func() { store.Close(); records.Close() })
	signer, err := webhooks.NewSigner("k1", []byte(strings.Repeat("s", 32)))
	require.NoError(t, err)
	recv := newReceiver(t)
	opts.Now = clk.Now
	if opts.Jitter == 0 {
		opts.Jitter = -1
	}
	d, err := New(recv.srv.Client(), store, endpoints{"client-a": recv.srv.URL + "/hooks"}, records, signer, opts)
	require.NoError(t, err)
	return &rig{t: t, clk: clk, store: store, records: records, signer: signer, recv: recv, d: d}
}

var creditor = payments.Account{ISPB: "87654321", Issuer: "0002", Number: "654321", AccountType: "CACC"}

// consent creates and authorises a consent of client (one notice: AUTHORISED).
func (r *rig) consent(client string) payments.Consent {
	r.t.Helper()
	ctx := context.Background()
	id, err := payments.NewConsentID("ofpbank")
	require.NoError(r.t, err)
	today := payments.DateOf(r.clk.Now())
	_, err = r.store.CreateConsent(ctx, payments.Consent{ID: id, ClientID: client, OrgID: "org-a",
		LoggedUser: payments.Document{Identification: "11111111111", Rel: "CPF"},
		Creditor:   payments.Creditor{PersonType: "PESSOA_NATURAL", CpfCnpj: "22222222222", Name: "Maria"},
		Payment: payments.ConsentPayment{Type: "PIX", Date: &today, Currency: "BRL", Amount: "1.00",
			Details: payments.Details{LocalInstrument: "MANU", CreditorAccount: creditor}}}, nil, payments.Actor{Who: "test"})
	require.NoError(r.t, err)
	c, err := r.store.Authorise(ctx, id, payments.Customer{CPF: "11111111111"},
		payments.Account{ISPB: "12345678", Issuer: "0001", Number: "1", AccountType: "CACC"})
	require.NoError(r.t, err)
	return c
}

func (r *rig) pass() int {
	r.t.Helper()
	n, err := r.d.DeliverDue(context.Background())
	require.NoError(r.t, err)
	return n
}

func (r *rig) notice(resourceID string) paymentsql.NoticeState {
	r.t.Helper()
	ns, err := r.store.NoticesOf(context.Background(), resourceID)
	require.NoError(r.t, err)
	require.NotEmpty(r.t, ns)
	return ns[len(ns)-1]
}

func TestDeliversConsentAndPaymentNotices(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			r := newRig(t, engine, Options{})
			ctx := context.Background()
			c := r.consent("client-a")
			require.Equal(t, 1, r.pass())
			require.Equal(t, 1, r.recv.count())
			req := r.recv.got[0]
			require.Equal(t, "/hooks/open-banking/webhook/v1/payments/v4/consents/"+c.ID, req.URL.Path)
			require.JSONEq(t, `{"data":{"timestamp":"2026-03-10T12:00:00Z"}}`, r.recv.bodies[0])
			require.Equal(t, "application/json", req.Header.Get("Content-Type"))
			n := r.notice(c.ID)
			require.True(t, n.Done)
			require.Equal(t, "delivered", n.Result)
			out, ok, err := r.records.Outcome(ctx, n.ID)
			require.NoError(t, err)
			require.True(t, ok)
			require.Equal(t, webhooks.ResultDelivered, out.Result)
			require.Equal(t, EventTypeConsent, out.EventType)
			require.Equal(t, c.ID, out.ConsentID)
			require.NoError(t, r.signer.VerifyOutcome(out))
			atts, err := r.records.Attempts(ctx, n.ID)
			require.NoError(t, err)
			require.Len(t, atts, 1)
			require.NoError(t, r.signer.VerifyAttempt(atts[0]))
			require.Equal(t, req.Header.Get("x-webhook-interaction-id"), atts[0].InteractionID)
			require.Zero(t, r.pass(), "nothing left")

			// A payment's status change goes to the pix/payments path.
			r.clk.Advance(time.Minute)
			ps, err := r.store.CreatePayments(ctx, c.ID, "client-a", []payments.Payment{{
				EndToEndID: "E12345678" + r.clk.Now().Format("200601021504") + "00000000001", LocalInstrument: "MANU",
				Amount: "1.00", Currency: "BRL", CreditorAccount: creditor, CnpjInitiator: "50685362000135"}}, nil, payments.Actor{Who: "test"})
			require.NoError(t, err)
			_, err = r.store.ApplyPaymentEvent(ctx, ps[0].ID, payments.PaymentRCVD, payments.PaymentEventAccept, payments.PaymentChange{}, payments.Actor{Who: "test"})
			require.NoError(t, err)
			require.Equal(t, 2, r.pass(), "CONSUMED and ACCP")
			var paths []string
			for _, g := range r.recv.got[1:] {
				paths = append(paths, g.URL.Path)
			}
			require.ElementsMatch(t, []string{
				"/hooks/open-banking/webhook/v1/payments/v4/consents/" + c.ID,
				"/hooks/open-banking/webhook/v1/payments/v4/pix/payments/" + ps[0].ID,
			}, paths)
		})
	}
}

func TestRetriesWithBackoffAndRetryAfter(t *testing.T) {
	r := newRig(t, "sqlite", Options{Retry: webhooks.Retry{MinBackoff: time.Second, MaxBackoff: time.Minute}})
	r.recv.answers = []int{503, 500, 429, 202}
	r.recv.headers = nil
	c := r.consent("client-a")
	require.Equal(t, 1, r.pass())
	n := r.notice(c.ID)
	require.False(t, n.Done)
	require.Equal(t, 1, n.Attempts)
	require.Equal(t, r.clk.Now().Add(time.Second), n.NextAttemptAt, "1 s after the first failure")
	require.Zero(t, r.pass(), "not due yet")
	r.clk.Advance(time.Second)
	require.Equal(t, 1, r.pass())
	require.Equal(t, r.clk.Now().Add(2*time.Second), r.notice(c.ID).NextAttemptAt, "then 2 s")
	r.recv.mu.Lock()
	r.recv.headers = map[string]string{"Retry-After": "30"}
	r.recv.mu.Unlock()
	r.clk.Advance(2 * time.Second)
	require.Equal(t, 1, r.pass())
	require.Equal(t, r.clk.Now().Add(30*time.Second), r.notice(c.ID).NextAttemptAt, "the receiver's Retry-After wins")
	r.clk.Advance(30 * time.Second)
	require.Equal(t, 1, r.pass())
	n = r.notice(c.ID)
	require.True(t, n.Done)
	require.Equal(t, "delivered", n.Result)
	require.Equal(t, 4, n.Attempts)
	require.Equal(t, 4, r.recv.count())
	ids := map[string]bool{}
	for _, g := range r.recv.got {
		ids[g.Header.Get("x-webhook-interaction-id")] = true
	}
	require.Len(t, ids, 4, "a fresh interaction id per attempt")
}

func TestFailsGivesUpAndSkips(t *testing.T) {
	r := newRig(t, "sqlite", Options{Retry: webhooks.Retry{MaxAttempts: 3, MinBackoff: time.Second}})
	r.recv.answers = []int{400}
	c := r.consent("client-a")
	r.pass()
	n := r.notice(c.ID)
	require.True(t, n.Done)
	require.Equal(t, "failed", n.Result, "a 4xx is final")

	r.recv.answers = []int{502, 502, 502, 502}
	c = r.consent("client-a")
	for range 3 {
		require.Equal(t, 1, r.pass())
		r.clk.Advance(time.Minute)
	}
	n = r.notice(c.ID)
	require.True(t, n.Done)
	require.Equal(t, "gave_up", n.Result)
	require.Equal(t, 3, n.Attempts)

	before := r.recv.count()
	c = r.consent("client-without-webhook")
	r.pass()
	n = r.notice(c.ID)
	require.Equal(t, "skipped", n.Result)
	require.Equal(t, before, r.recv.count())
}

func TestRecordedOutcomeIsNotSentAgain(t *testing.T) {
	r := newRig(t, "sqlite", Options{})
	ctx := context.Background()
	c := r.consent("client-a")
	ns, err := r.store.ClaimNotices(ctx, 10)
	require.NoError(t, err)
	require.Len(t, ns, 1)
	// A previous run recorded the outcome and crashed before marking the notice done.
	o := webhooks.Outcome{EventID: ns[0].ID, EventType: EventTypeConsent, ConsentID: c.ID, ClientID: "client-a",
		Result: webhooks.ResultDelivered, Attempts: 1, StatusCode: 202, DecidedAt: r.clk.Now()}
	r.signer.SignOutcome(&o)
	_, err = r.records.SetOutcome(ctx, o)
	require.NoError(t, err)
	r.clk.Advance(2 * time.Minute) // the claim's lease ran out
	require.Equal(t, 1, r.pass())
	require.Zero(t, r.recv.count())
	require.True(t, r.notice(c.ID).Done)
}

func TestRunDelivers(t *testing.T) {
	r := newRig(t, "sqlite", Options{Interval: 10 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.d.Run(ctx) }()
	r.consent("client-a")
	require.Eventually(t, func() bool { return r.recv.count() == 1 }, 10*time.Second, 10*time.Millisecond)
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
}
