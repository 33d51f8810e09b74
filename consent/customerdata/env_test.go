package customerdata

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/connectors/corebank"
	"github.com/ofp-dev/ofp/consent"
	"github.com/ofp-dev/ofp/consent/consentsql"
	"github.com/ofp-dev/ofp/consent/customerdata/spectest"
	"github.com/ofp-dev/ofp/internal/sqltest"
)

var quiet = slog.New(slog.DiscardHandler)

// publicURL is the host of links: credit-cards 2.3.1 links must match a
// pattern that wants a domain name, which a test server's 127.0.0.1 is not.
const publicURL = "https://api.ofpbank.com.br"

// testStart is the clock of the store, the APIs and the synthetic core.
var testStart = time.Date(2026, 3, 10, 12, 30, 0, 0, time.UTC)

type testClock struct{ ns atomic.Int64 }

func newClock() *testClock {
	c := &testClock{}
	c.ns.Store(testStart.UnixNano())
	return c
}

func (c *testClock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *testClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// headerCaller identifies the caller by test headers: the stand-in for the
// token guard in tests that do not run authz (authz runs in consent/customerdata/e2e).
func headerCaller(r *http.Request) (Identity, error) {
	id := Identity{ClientID: r.Header.Get("X-Test-Client"), ConsentID: r.Header.Get("X-Test-Consent"),
		OrgID: r.Header.Get("X-Test-Org")}
	if id.ClientID == "" || id.ConsentID == "" {
		return Identity{}, errors.New("no test identity")
	}
	return id, nil
}

// env is the three APIs over a real consent store and the synthetic core,
// behind an httptest server, with the official specs loaded.
type env struct {
	t     testing.TB
	store *consentsql.Store
	core  *corebank.Synthetic
	clock *testClock
	srv   *httptest.Server
	specs map[string]*spectest.Spec // by base path
}

type envOptions struct {
	engine  string // "sqlite" (default) or "postgres"
	limiter *Limiter
	wrap    func(http.Handler) http.Handler
}

func newEnv(t testing.TB, o envOptions) *env {
	t.Helper()
	ctx := context.Background()
	clock := newClock()
	var store *consentsql.Store
	var err error
	switch o.engine {
	case "", "sqlite":
		store, err = consentsql.OpenSQLite(ctx, filepath.Join(t.TempDir(), "consents.db"), consentsql.Options{Now: clock.Now, Logger: quiet})
	case "postgres":
		store, err = consentsql.OpenPostgres(ctx, sqltest.PostgresSchema(t, "customerdata_test"), consentsql.Options{Now: clock.Now, Logger: quiet})
	}
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	core, err := corebank.NewSynthetic(corebank.Options{Seed: 7, Now: clock.Now})
	require.NoError(t, err)

	opts := Options{Consents: store, Caller: headerCaller, Limiter: o.limiter, Now: clock.Now, Logger: quiet,
		PaginationKeySecret: []byte("test-secret"), PublicURL: publicURL}
	mux := http.NewServeMux()
	for base, build := range map[string]func() (http.Handler, error){
		AccountsBasePath:    func() (http.Handler, error) { return NewAccounts(core, opts) },
		CreditCardsBasePath: func() (http.Handler, error) { return NewCreditCards(core, opts) },
		CustomersBasePath:   func() (http.Handler, error) { return NewCustomers(core, opts) },
	} {
		h, err := build()
		require.NoError(t, err)
		mux.Handle(base+"/", h)
	}
	var h http.Handler = mux
	if o.wrap != nil {
		h = o.wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	e := &env{t: t, store: store, core: core, clock: clock, srv: srv, specs: map[string]*spectest.Spec{}}
	for base, file := range map[string]string{
		AccountsBasePath:    "testdata/accounts-2.4.2.yml",
		CreditCardsBasePath: "testdata/credit-cards-2.3.1.yml",
		CustomersBasePath:   "testdata/customers-2.2.1.yml",
	} {
		e.specs[base] = spectest.Load(t, file, srv.URL+base)
	}
	return e
}

// customer finds a customer of the synthetic core that matches want.
func (e *env) customer(want func(corebank.Customer, []corebank.Account, []corebank.CreditCardAccount) bool) (corebank.Customer, []corebank.Account, []corebank.CreditCardAccount) {
	e.t.Helper()
	ctx := context.Background()
	for i := 0; i < e.core.Len(); i++ {
		c := e.core.Customer(i)
		accts, err := e.core.Accounts(ctx, c.Owner())
		require.NoError(e.t, err)
		cards, err := e.core.CreditCardAccounts(ctx, c.Owner())
		require.NoError(e.t, err)
		if want(c, accts, cards) {
			return c, accts, cards
		}
	}
	e.t.Fatal("no customer in the synthetic core matches")
	return corebank.Customer{}, nil, nil
}

// grant creates a consent of client for customer c with perms and
// authorises it with resources (nil: none chosen).
func (e *env) grant(client string, c corebank.Customer, perms []string, resources []consent.Resource) string {
	e.t.Helper()
	ctx := context.Background()
	id, err := consent.NewID("ofpbank")
	require.NoError(e.t, err)
	exp := e.clock.Now().Add(90 * 24 * time.Hour)
	cs := consent.Consent{ID: id, Permissions: perms, ClientID: client, ExpirationDateTime: &exp,
		LoggedUser: consent.LoggedUser{Document: consent.Document{Identification: c.CPF, Rel: "CPF"}}}
	if c.Type == corebank.PJ {
		cs.BusinessEntity = &consent.BusinessEntity{Document: consent.Document{Identification: c.CNPJ, Rel: "CNPJ"}}
	}
	_, err = e.store.Create(ctx, cs, consent.AuditActor{Who: "tpp:" + client})
	require.NoError(e.t, err)
	_, err = e.store.Authorise(ctx, id, resources, consent.AuditActor{Who: "user:" + c.CPF})
	require.NoError(e.t, err)
	return id
}

// revoke rejects a consent as the customer would in the portal.
func (e *env) revoke(id string) {
	e.t.Helper()
	_, err := e.store.ApplyEvent(context.Background(), id, consent.EventRevokeByUser, consent.AuditActor{Who: "user:test"})
	require.NoError(e.t, err)
}

func accountResources(accts []corebank.Account, status string) []consent.Resource {
	rs := make([]consent.Resource, 0, len(accts))
	for _, a := range accts {
		rs = append(rs, consent.Resource{ID: a.AccountID, Type: ResourceAccount, Status: status})
	}
	return rs
}

func cardResources(cards []corebank.CreditCardAccount, status string) []consent.Resource {
	rs := make([]consent.Resource, 0, len(cards))
	for _, c := range cards {
		rs = append(rs, consent.Resource{ID: c.CreditCardAccountID, Type: ResourceCreditCardAccount, Status: status})
	}
	return rs
}

// call is one request to the test server.
type call struct {
	path     string // full path, with query when needed
	method   string // default GET
	client   string // default "client-a"
	consent  string
	headers  map[string]string // "" deletes
	lenient  bool              // the request breaks the schema on purpose and a 2xx is right
	noVerify bool              // do not validate against a spec (paths outside every spec)
}

type resp struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

// do sends c and validates the exchange against the spec of its API.
func (e *env) do(c call) resp {
	t := e.t
	t.Helper()
	method := c.method
	if method == "" {
		method = http.MethodGet
	}
	req, err := http.NewRequest(method, e.srv.URL+c.path, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer test-token")
	req.Header.Set("x-fapi-interaction-id", uuid.NewString())
	client := c.client
	if client == "" {
		client = "client-a"
	}
	req.Header.Set("X-Test-Client", client)
	req.Header.Set("X-Test-Consent", c.consent)
	for k, v := range c.headers {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	sent := req.Header.Get("x-fapi-interaction-id")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	res.Body.Close()
	out := resp{status: res.StatusCode, header: res.Header, raw: raw}
	require.NoError(t, json.Unmarshal(raw, &out.body), "not JSON: %s", raw)
	require.Equal(t, "application/json; charset=utf-8", res.Header.Get("Content-Type"))

	got := res.Header.Get("x-fapi-interaction-id")
	require.True(t, validUUID(got), "x-fapi-interaction-id %q", got)
	if validUUID(sent) {
		require.Equal(t, sent, got, "x-fapi-interaction-id must be echoed")
	} else {
		require.Equal(t, http.StatusBadRequest, res.StatusCode)
	}
	require.NotEmpty(t, res.Header.Get("x-v"))
	if res.StatusCode >= 400 {
		errs, _ := out.body["errors"].([]any)
		require.NotEmpty(t, errs, "error without errors[]: %s", raw)
	}
	if !c.noVerify {
		spec := e.specFor(c.path)
		req.URL.Path = strings.Split(c.path, "?")[0] // the path as sent, before any escaping
		spec.Check(t, req, res.StatusCode, res.Header, raw, c.lenient)
	}
	return out
}

func (e *env) specFor(path string) *spectest.Spec {
	for base, s := range e.specs {
		if strings.HasPrefix(path, base+"/") {
			return s
		}
	}
	e.t.Fatalf("no spec for %s", path)
	return nil
}

func (r resp) errorCode() string {
	errs, _ := r.body["errors"].([]any)
	if len(errs) == 0 {
		return ""
	}
	code, _ := errs[0].(map[string]any)["code"].(string)
	return code
}

func (r resp) list() []any {
	d, _ := r.body["data"].([]any)
	return d
}

func (r resp) object() map[string]any {
	d, _ := r.body["data"].(map[string]any)
	return d
}

func (r resp) links() map[string]any {
	l, _ := r.body["links"].(map[string]any)
	return l
}

func (r resp) meta() map[string]any {
	m, _ := r.body["meta"].(map[string]any)
	return m
}

// relative strips the public scheme and host from a link.
func (e *env) relative(link string) string {
	e.t.Helper()
	require.True(e.t, strings.HasPrefix(link, publicURL+"/"), "link %s is not on %s", link, publicURL)
	return strings.TrimPrefix(link, publicURL)
}
