package paymentshttp

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/consent/payments"
	"github.com/ofp-dev/ofp/consent/payments/jwtbody"
	"github.com/ofp-dev/ofp/consent/payments/paymentsql"
	"github.com/ofp-dev/ofp/internal/sqltest"
)

const (
	specFile  = "testdata/payments-4.0.0.yml"
	publicURL = "https://api.ofpbank.com.br"
	holderOrg = "74e929d9-33b6-4d85-8ba7-c146c867a817"
)

// t0 is 12:00 UTC = 09:00 Brasília on 2026-03-10.
var t0 = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

// clients of the tests: client id → organisation.
var clientOrgs = map[string]string{"client-a": "org-a", "client-b": "org-b", "client-a2": "org-a"}

var (
	keysOnce   sync.Once
	holderKey  jwtbody.StaticKey
	clientKeys = map[string]jwtbody.StaticKey{}
	forgedKey  jwtbody.StaticKey
)

func testKeys(t testing.TB) {
	keysOnce.Do(func() {
		var err error
		holderKey, err = jwtbody.NewStaticKey("holder-sig-1")
		require.NoError(t, err)
		for c := range clientOrgs {
			k, err := jwtbody.NewStaticKey(c + "-sig")
			require.NoError(t, err)
			clientKeys[c] = k
		}
		forgedKey, err = jwtbody.NewStaticKey("client-a-sig")
		require.NoError(t, err)
	})
}

type testClock struct{ ns atomic.Int64 }

func (c *testClock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *testClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// env is one handler over one real store behind an httptest server, with
// the official spec loaded to validate every exchange.
type env struct {
	t       *testing.T
	store   *paymentsql.Store
	clock   *testClock
	srv     *httptest.Server
	router  routers.Router
	kicks   *atomic.Int64
	handler *Handler
}

func openStore(t testing.TB, engine string, clock *testClock) *paymentsql.Store {
	t.Helper()
	ctx := context.Background()
	opts := paymentsql.Options{Now: clock.Now, MaxOpenConns: 16}
	var (
		s   *paymentsql.Store
		err error
	)
	switch engine {
	case "sqlite":
		s, err = paymentsql.OpenSQLite(ctx, filepath.Join(t.TempDir(), "payments.db"), opts)
	case "postgres":
		s, err = paymentsql.OpenPostgres(ctx, sqltest.PostgresSchema(t, "paymentshttp_test"), opts)
	default:
		t.Fatalf("unknown engine %s", engine)
	}
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

// headerCaller stands in for authz: it trusts test headers. Production
// wires authz/server's Protect + TokenFrom instead.
func headerCaller(r *http.Request) (Caller, error) {
	c := r.Header.Get("X-Test-Client")
	org, ok := clientOrgs[c]
	if !ok {
		return Caller{}, errors.New("no token")
	}
	scopes := []string{"payments"}
	if s := r.Header.Get("X-Test-Scopes"); s != "" {
		scopes = strings.Fields(s)
	}
	return Caller{ClientID: c, OrgID: org, GrantType: r.Header.Get("X-Test-Grant"), ConsentID: r.Header.Get("X-Test-Consent"), Scopes: scopes}, nil
}

func clientJWKS() jwtbody.StaticClientKeys {
	m := jwtbody.StaticClientKeys{}
	for c, k := range clientKeys {
		m[c] = k.PublicJWKS()
	}
	return m
}

func newHandler(t testing.TB, store *paymentsql.Store, now func() time.Time, created func()) *Handler {
	testKeys(t)
	v, err := jwtbody.NewVerifier(clientJWKS(), store, now)
	require.NoError(t, err)
	s, err := jwtbody.NewSigner(holderKey, "ofpbank", holderOrg, now)
	require.NoError(t, err)
	h, err := New(store, Options{Institution: "ofpbank", PublicURL: publicURL, Caller: headerCaller, Verifier: v, Signer: s,
		PaymentsCreated: created, Now: now})
	require.NoError(t, err)
	return h
}

var registerJWT sync.Once

// jwtDecoder lets kin-openapi validate application/jwt bodies: it decodes
// the JWS payload (the signature is checked separately with the holder's
// or the client's key).
func jwtDecoder(body io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
	b, err := io.ReadAll(body)
	if err != nil {
		return nil, err
	}
	parts := strings.Split(strings.TrimSpace(string(b)), ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("not a compact JWS")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, err
	}
	var v any
	if err := json.Unmarshal(payload, &v); err != nil {
		return nil, err
	}
	return v, nil
}

// re2 compiles the spec's patterns; the one lookahead in the spec
// (x-idempotency-key) is rewritten to its RE2 equivalent.
func re2(expr string) (openapi3.RegexMatcher, error) {
	if expr == `^(?!\s)(.*)(\S)$` {
		expr = `^\S(.*\S)?$`
	}
	return regexp.Compile(expr)
}

// newEnv builds the environment; wrap, when given, wraps the handler
// (the API-call recorder's middleware).
func newEnv(t *testing.T, engine string, wrap ...func(http.Handler) http.Handler) *env {
	t.Helper()
	testKeys(t)
	registerJWT.Do(func() { openapi3filter.RegisterBodyDecoder(jwtbody.ContentType, jwtDecoder) })
	clock := &testClock{}
	clock.ns.Store(t0.UnixNano())
	store := openStore(t, engine, clock)
	e := &env{t: t, store: store, clock: clock, kicks: &atomic.Int64{}}
	e.handler = newHandler(t, store, clock.Now, func() { e.kicks.Add(1) })
	var h http.Handler = e.handler
	for _, w := range wrap {
		h = w(h)
	}
	e.srv = httptest.NewServer(h)
	t.Cleanup(e.srv.Close)

	doc, err := openapi3.NewLoader().LoadFromFile(specFile)
	require.NoError(t, err)
	doc.Servers = openapi3.Servers{{URL: e.srv.URL + BasePath}}
	// The spec's x-idempotency-key pattern uses a lookahead that Go's RE2
	// cannot compile; the router validates the document, so give it the
	// RE2 equivalent (same language: 1+ characters, no leading or trailing
	// space).
	doc.Components.Parameters["XIdempotencyKey"].Value.Schema.Value.Pattern = `^\S(.*\S)?$`
	e.router, err = legacy.NewRouter(doc)
	require.NoError(t, err)
	return e
}

// in returns e reporting to t (a subtest).
func (e *env) in(t *testing.T) *env {
	c := *e
	c.t = t
	return &c
}

// call is one request. data, when set, is signed as the client's request
// JWT (aud = the endpoint URL, iss = its org, fresh jti, iat = now);
// raw replaces the body entirely.
type call struct {
	method, path string
	data         any
	raw          []byte
	client       string // default client-a
	grant        string // default client_credentials
	consent      string // X-Test-Consent (the token's consent)
	idemKey      string // x-idempotency-key
	headers      map[string]string
	// sign overrides the request claims.
	aud, iss, jti string
	iat           time.Time
	key           *jwtbody.StaticKey
	// specLenient: the answer is outside the spec on purpose (documented
	// at the call site); the response is not schema-validated.
	specLenient bool
}

type resp struct {
	status  int
	header  http.Header
	raw     []byte
	body    map[string]any // JSON body, or the verified JWT payload
	jwt     bool
	replays bool
}

func (r resp) errorCode() string {
	errs, _ := r.body["errors"].([]any)
	if len(errs) == 0 {
		return ""
	}
	e, _ := errs[0].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

func (r resp) data() map[string]any {
	d, _ := r.body["data"].(map[string]any)
	return d
}

func (r resp) dataList() []any {
	d, _ := r.body["data"].([]any)
	return d
}

func (e *env) sign(c call) []byte {
	t := e.t
	client := c.client
	if client == "" {
		client = "client-a"
	}
	k := clientKeys[client]
	if c.key != nil {
		k = *c.key
	}
	aud := c.aud
	if aud == "" {
		aud = publicURL + c.path
	}
	iss := c.iss
	if iss == "" {
		iss = clientOrgs[client]
	}
	jti := c.jti
	if jti == "" {
		jti = uuid.NewString()
	}
	iat := c.iat
	if iat.IsZero() {
		iat = e.clock.Now()
	}
	s, _, err := k.ActiveSigner("", nil)
	require.NoError(t, err)
	b, err := jwtbody.Compose(s, iss, aud, jti, iat, map[string]any{"data": c.data})
	require.NoError(t, err)
	return b
}

func (e *env) do(c call) resp {
	t := e.t
	t.Helper()
	var body []byte
	switch {
	case c.raw != nil:
		body = c.raw
	case c.data != nil:
		body = e.sign(c)
	}
	u := e.srv.URL + c.path
	req, err := http.NewRequest(c.method, u, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer test-token")
	req.Header.Set("x-fapi-interaction-id", uuid.NewString())
	if body != nil {
		req.Header.Set("Content-Type", jwtbody.ContentType)
	}
	client := c.client
	if client == "" {
		client = "client-a"
	}
	req.Header.Set("X-Test-Client", client)
	grant := c.grant
	if grant == "" {
		grant = GrantClientCredentials
	}
	req.Header.Set("X-Test-Grant", grant)
	if c.consent != "" {
		req.Header.Set("X-Test-Consent", c.consent)
	}
	if c.idemKey != "" {
		req.Header.Set("x-idempotency-key", c.idemKey)
	}
	for k, v := range c.headers {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	sentID := req.Header.Get("x-fapi-interaction-id")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	res.Body.Close()
	out := resp{status: res.StatusCode, header: res.Header, raw: raw, replays: res.Header.Get("x-idempotency-replayed") == "true"}

	// Every answer: interaction id echoed; 2xx and 422 signed by the holder
	// for the caller's organisation; other errors plain JSON.
	gotID := res.Header.Get("x-fapi-interaction-id")
	require.Regexp(t, interactionIDPat, gotID)
	if interactionIDPat.MatchString(sentID) {
		require.Equal(t, sentID, gotID)
	}
	ct := res.Header.Get("Content-Type")
	if res.StatusCode < 300 || res.StatusCode == http.StatusUnprocessableEntity {
		require.Equal(t, jwtbody.ContentType, ct, "status %d must be a signed JWT: %s", res.StatusCode, raw)
		payload, err := jwtbody.VerifyResponse(raw, holderKey.PublicJWKS(), holderOrg, clientOrgs[client], e.clock.Now())
		require.NoError(t, err, "the answer's signature and claims")
		require.NoError(t, json.Unmarshal(payload, &out.body))
		out.jwt = true
	} else {
		require.Equal(t, "application/json; charset=utf-8", ct, "status %d: %s", res.StatusCode, raw)
		require.NoError(t, json.Unmarshal(raw, &out.body), "%s", raw)
		require.NotEmpty(t, out.errorCode(), "%s", raw)
	}

	// Validate the exchange against the official spec.
	vreq, err := http.NewRequest(c.method, u, bytes.NewReader(body))
	require.NoError(t, err)
	vreq.Header = req.Header.Clone()
	route, params, err := e.router.FindRoute(vreq)
	if res.StatusCode == http.StatusMethodNotAllowed && err != nil {
		return out // the spec cannot document a method it does not have
	}
	require.NoError(t, err, "no route in the spec for %s %s", c.method, c.path)
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true,
		MultiError: true, RegexCompiler: re2}
	in := &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route, Options: opts}
	if res.StatusCode < 300 {
		require.NoError(t, openapi3filter.ValidateRequest(context.Background(), in), "a 2xx was given to a request the spec rejects")
	}
	if !c.specLenient {
		require.NoError(t, openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
			RequestValidationInput: in, Status: res.StatusCode, Header: res.Header,
			Body: io.NopCloser(bytes.NewReader(raw)), Options: opts,
		}), "response does not match the spec: %d %s", res.StatusCode, out.body)
	}
	return out
}

// ---- request builders ----

func account(ispb, issuer, number string) map[string]any {
	return map[string]any{"ispb": ispb, "issuer": issuer, "number": number, "accountType": "CACC"}
}

var (
	creditorAcc = account("87654321", "0002", "654321")
	debtorAcc   = payments.Account{ISPB: "12345678", Issuer: "0001", Number: "123456", AccountType: "CACC"}
)

// consentBody is an immediate DICT payment of amount for today, or a
// scheduled one.
func consentBody(now time.Time, amount string, schedule map[string]any) map[string]any {
	pay := map[string]any{
		"type": "PIX", "currency": "BRL", "amount": amount,
		"details": map[string]any{"localInstrument": "DICT", "proxy": "loja@example.com", "creditorAccount": creditorAcc},
	}
	if schedule != nil {
		pay["schedule"] = schedule
	} else {
		pay["date"] = payments.DateOf(now).String()
	}
	return map[string]any{
		"loggedUser": map[string]any{"document": map[string]any{"identification": "11111111111", "rel": "CPF"}},
		"creditor":   map[string]any{"personType": "PESSOA_JURIDICA", "cpfCnpj": "12345678000199", "name": "Loja Exemplo"},
		"payment":    pay,
	}
}

func e2e(at time.Time, seq int) string {
	return fmt.Sprintf("E12345678%s%011d", at.UTC().Format("200601021504"), seq)
}

func pixItem(at time.Time, seq int, amount string) map[string]any {
	return map[string]any{
		"endToEndId": e2e(at, seq), "localInstrument": "DICT", "payment": map[string]any{"amount": amount, "currency": "BRL"},
		"creditorAccount": creditorAcc, "proxy": "loja@example.com", "cnpjInitiator": "50685362000135",
		"remittanceInformation": "Pedido 42",
	}
}

// newConsent creates a consent through the API and returns its id.
func (e *env) newConsent(data map[string]any) string {
	e.t.Helper()
	r := e.do(call{method: "POST", path: BasePath + "/consents", data: data, idemKey: uuid.NewString()})
	require.Equal(e.t, http.StatusCreated, r.status, "%v", r.body)
	return r.data()["consentId"].(string)
}

// authorise stands in for the customer's approval through authz.
func (e *env) authorise(id string) {
	e.t.Helper()
	_, err := e.store.Authorise(context.Background(), id, payments.Customer{CPF: "11111111111"}, debtorAcc)
	require.NoError(e.t, err)
}

func (e *env) pay(consentID string, items []any, key string) resp {
	e.t.Helper()
	return e.do(call{method: "POST", path: BasePath + "/pix/payments", data: items, grant: GrantAuthorizationCode,
		consent: consentID, idemKey: key})
}

// send is a goroutine-safe request for races: no assertions, no spec
// validation; the answer's signature is still verified.
func (e *env) send(method, path string, data any, key string, grant, consent string) (resp, error) {
	k := clientKeys["client-a"]
	s, _, err := k.ActiveSigner("", nil)
	if err != nil {
		return resp{}, err
	}
	body, err := jwtbody.Compose(s, "org-a", publicURL+path, uuid.NewString(), e.clock.Now(), map[string]any{"data": data})
	if err != nil {
		return resp{}, err
	}
	req, err := http.NewRequest(method, e.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		return resp{}, err
	}
	req.Header.Set("x-fapi-interaction-id", uuid.NewString())
	req.Header.Set("Content-Type", jwtbody.ContentType)
	req.Header.Set("X-Test-Client", "client-a")
	req.Header.Set("X-Test-Grant", grant)
	req.Header.Set("X-Test-Consent", consent)
	req.Header.Set("x-idempotency-key", key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return resp{}, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return resp{}, err
	}
	out := resp{status: res.StatusCode, header: res.Header, raw: raw, replays: res.Header.Get("x-idempotency-replayed") == "true"}
	if res.Header.Get("Content-Type") == jwtbody.ContentType {
		payload, err := jwtbody.VerifyResponse(raw, holderKey.PublicJWKS(), holderOrg, "org-a", e.clock.Now())
		if err != nil {
			return out, err
		}
		out.jwt = true
		return out, json.Unmarshal(payload, &out.body)
	}
	return out, json.Unmarshal(raw, &out.body)
}

func (e *env) rawPay(consentID string, items []any, key string) resp {
	r, err := e.send("POST", BasePath+"/pix/payments", items, key, GrantAuthorizationCode, consentID)
	if err != nil {
		r.raw = append(r.raw, []byte(" / "+err.Error())...)
	}
	return r
}

func (e *env) rawPost(path string, data any, key string) resp {
	r, err := e.send("POST", path, data, key, GrantClientCredentials, "")
	if err != nil {
		r.raw = append(r.raw, []byte(" / "+err.Error())...)
	}
	return r
}
