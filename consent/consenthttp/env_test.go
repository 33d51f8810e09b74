package consenthttp

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/consent"
	"github.com/ofp-dev/ofp/consent/consentsql"
	"github.com/ofp-dev/ofp/internal/sqltest"
)

const specFile = "testdata/consents-3.3.1.yml"

// testClock is a settable clock shared by the store and the handler.
type testClock struct{ ns atomic.Int64 }

func (c *testClock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *testClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// env is one handler over one real store, behind an httptest server, with
// the official spec loaded to validate every exchange.
type env struct {
	t      *testing.T
	store  *consentsql.Store
	clock  *testClock
	srv    *httptest.Server
	router routers.Router
}

type envOptions struct {
	offered []consent.Product
	maxExp  time.Duration
	tokens  TokenRevoker
}

// openStore opens a fresh store on engine ("sqlite" or "postgres").
func openStore(t *testing.T, engine string, clock *testClock) *consentsql.Store {
	t.Helper()
	ctx := context.Background()
	opts := consentsql.Options{Now: clock.Now}
	switch engine {
	case "sqlite":
		s, err := consentsql.OpenSQLite(ctx, filepath.Join(t.TempDir(), "consents.db"), opts)
		require.NoError(t, err)
		t.Cleanup(func() { s.Close() })
		return s
	case "postgres":
		s, err := consentsql.OpenPostgres(ctx, sqltest.PostgresSchema(t, "consenthttp_test"), opts)
		require.NoError(t, err)
		t.Cleanup(func() { s.Close() })
		return s
	}
	t.Fatalf("unknown engine %s", engine)
	return nil
}

func newEnv(t *testing.T, engine string, o envOptions) *env {
	t.Helper()
	clock := &testClock{}
	clock.ns.Store(time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC).UnixNano())
	store := openStore(t, engine, clock)
	h, err := NewHandler(store, Options{
		Institution: "ofpbank", Clients: HeaderClientResolver{Header: "X-Test-Client"},
		OfferedProducts: o.offered, MaxExpiration: o.maxExp, Now: clock.Now, Tokens: o.tokens,
	})
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	doc, err := openapi3.NewLoader().LoadFromFile(specFile)
	require.NoError(t, err)
	doc.Servers = openapi3.Servers{{URL: srv.URL + BasePath}}
	router, err := legacy.NewRouter(doc)
	require.NoError(t, err)
	return &env{t: t, store: store, clock: clock, srv: srv, router: router}
}

// call is one request. body is sent raw when it is a string, JSON-encoded
// otherwise.
type call struct {
	method, path string
	body         any
	client       string            // X-Test-Client; default "client-a"
	headers      map[string]string // extra or overriding headers ("" value deletes)
	query        string
	// specLenient: the request breaks the spec's schema on purpose and the
	// spec's own description says to accept it (page-size below 25).
	specLenient bool
}

type resp struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

// do sends c, then validates the response against the spec (status must be
// documented for the operation; headers and body must match), and, for a
// 2xx, that the request itself was spec-valid.
func (e *env) do(c call) resp {
	t := e.t
	t.Helper()
	var body []byte
	switch b := c.body.(type) {
	case nil:
	case string:
		body = []byte(b)
	default:
		var err error
		body, err = json.Marshal(b)
		require.NoError(t, err)
	}
	u := e.srv.URL + c.path
	if c.query != "" {
		u += "?" + c.query
	}
	req, err := http.NewRequest(c.method, u, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer test-token")
	req.Header.Set("x-fapi-interaction-id", uuid.NewString())
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	client := c.client
	if client == "" {
		client = "client-a"
	}
	req.Header.Set("X-Test-Client", client)
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
	out := resp{status: res.StatusCode, header: res.Header, raw: raw}
	if len(raw) > 0 {
		require.NoError(t, json.Unmarshal(raw, &out.body), "response is not JSON: %s", raw)
		require.Equal(t, "application/json; charset=utf-8", res.Header.Get("Content-Type"))
	}

	// Headers every response carries.
	gotID := res.Header.Get("x-fapi-interaction-id")
	require.Regexp(t, interactionIDPat, gotID)
	if interactionIDPat.MatchString(sentID) {
		require.Equal(t, sentID, gotID, "x-fapi-interaction-id must be echoed")
	} else {
		require.Equal(t, http.StatusBadRequest, res.StatusCode)
	}
	require.Equal(t, APIVersion, res.Header.Get("x-v"))
	if res.StatusCode >= 400 {
		errs, ok := out.body["errors"].([]any)
		require.True(t, ok && len(errs) >= 1, "error without errors[]: %s", raw)
		require.NotEmpty(t, out.body["meta"].(map[string]any)["requestDateTime"])
	}

	// Validate against the official spec.
	vreq, err := http.NewRequest(c.method, u, bytes.NewReader(body))
	require.NoError(t, err)
	vreq.Header = req.Header.Clone()
	route, params, err := e.router.FindRoute(vreq)
	require.NoError(t, err, "no route in the spec for %s %s", c.method, c.path)
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true, MultiError: true}
	in := &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route, Options: opts}
	if res.StatusCode < 300 && !c.specLenient {
		require.NoError(t, openapi3filter.ValidateRequest(context.Background(), in), "a 2xx was given to a request the spec rejects")
	}
	require.NoError(t, openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: res.StatusCode, Header: res.Header,
		Body: io.NopCloser(bytes.NewReader(raw)), Options: opts,
	}), "response does not match the spec: %d %s", res.StatusCode, raw)
	return out
}

// errorCode returns errors[0].code.
func (r resp) errorCode() string {
	errs, _ := r.body["errors"].([]any)
	if len(errs) == 0 {
		return ""
	}
	code, _ := errs[0].(map[string]any)["code"].(string)
	return code
}

func (r resp) data() map[string]any {
	d, _ := r.body["data"].(map[string]any)
	return d
}

func (r resp) consentID() string {
	id, _ := r.data()["consentId"].(string)
	return id
}

func consentsPath(id string, suffix ...string) string {
	p := BasePath + "/consents"
	if id != "" {
		p += "/" + id
	}
	return p + strings.Join(suffix, "")
}

// createBody builds a POST /consents body.
func createBody(perms []string, exp string, business bool) map[string]any {
	data := map[string]any{
		"loggedUser":  map[string]any{"document": map[string]any{"identification": "76109277673", "rel": "CPF"}},
		"permissions": perms,
	}
	if exp != "" {
		data["expirationDateTime"] = exp
	}
	if business {
		data["businessEntity"] = map[string]any{"document": map[string]any{"identification": "50685362006773", "rel": "CNPJ"}}
	}
	return map[string]any{"data": data}
}

func extendBody(cpf, exp string, cnpj string) map[string]any {
	data := map[string]any{"loggedUser": map[string]any{"document": map[string]any{"identification": cpf, "rel": "CPF"}}}
	if exp != "" {
		data["expirationDateTime"] = exp
	}
	if cnpj != "" {
		data["businessEntity"] = map[string]any{"document": map[string]any{"identification": cnpj, "rel": "CNPJ"}}
	}
	return map[string]any{"data": data}
}

var extendHeaders = map[string]string{
	"x-fapi-customer-ip-address": "172.217.22.14",
	"x-customer-user-agent":      "Mozilla/5.0 (iPhone14,6; U; CPU iPhone OS 15_4 like Mac OS X)",
}

// authorise moves a consent to AUTHORISED the way the authorisation journey will.
func (e *env) authorise(id string) {
	e.t.Helper()
	_, err := e.store.ApplyEvent(context.Background(), id, consent.EventAuthorise, consent.AuditActor{Who: "user:test"})
	require.NoError(e.t, err)
}

func (e *env) at(d time.Duration) string { return fmtTime(e.clock.Now().Add(d)) }

// raw sends a request outside the spec's operations (no spec validation).
func (e *env) raw(method, path string) *http.Response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, nil)
	require.NoError(e.t, err)
	req.Header.Set("x-fapi-interaction-id", uuid.NewString())
	req.Header.Set("X-Test-Client", "client-a")
	res, err := http.DefaultClient.Do(req)
	require.NoError(e.t, err)
	res.Body.Close()
	return res
}
