package resourceshttp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/connectors/corebank"
	"github.com/ofp-dev/ofp/consent"
	"github.com/ofp-dev/ofp/consent/consentsql"
	"github.com/ofp-dev/ofp/consent/customerdata"
	"github.com/ofp-dev/ofp/consent/customerdata/spectest"
)

var now = time.Date(2026, 3, 10, 12, 30, 0, 0, time.UTC)

const publicURL = "https://api.ofpbank.com.br"

type env struct {
	t     *testing.T
	store *consentsql.Store
	core  *corebank.Synthetic
	srv   *httptest.Server
	spec  *spectest.Spec
}

func newEnv(t *testing.T) *env {
	ctx := context.Background()
	clock := func() time.Time { return now }
	store, err := consentsql.OpenSQLite(ctx, filepath.Join(t.TempDir(), "consents.db"), consentsql.Options{Now: clock, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	core, err := corebank.NewSynthetic(corebank.Options{Seed: 3, Now: clock})
	require.NoError(t, err)
	h, err := New(core, customerdata.Options{Consents: store, Now: clock, PublicURL: publicURL, Logger: slog.New(slog.DiscardHandler),
		Caller: func(r *http.Request) (customerdata.Identity, error) {
			id := customerdata.Identity{ClientID: r.Header.Get("X-Test-Client"), ConsentID: r.Header.Get("X-Test-Consent")}
			if id.ClientID == "" {
				return id, errors.New("no test identity")
			}
			return id, nil
		}})
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &env{t: t, store: store, core: core, srv: srv, spec: spectest.Load(t, "testdata/resources-3.1.0.yml", srv.URL+BasePath)}
}

func (e *env) grant(c corebank.Customer, perms []string, rs []consent.Resource) string {
	ctx := context.Background()
	id, err := consent.NewID("ofpbank")
	require.NoError(e.t, err)
	cs := consent.Consent{ID: id, Permissions: perms, ClientID: "client-a",
		LoggedUser: consent.LoggedUser{Document: consent.Document{Identification: c.CPF, Rel: "CPF"}}}
	_, err = e.store.Create(ctx, cs, consent.AuditActor{Who: "tpp:client-a"})
	require.NoError(e.t, err)
	_, err = e.store.Authorise(ctx, id, rs, consent.AuditActor{Who: "user:" + c.CPF})
	require.NoError(e.t, err)
	return id
}

type resp struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

func (e *env) get(query, consentID string, hdr map[string]string, lenient bool) resp {
	t := e.t
	t.Helper()
	u := e.srv.URL + Path
	if query != "" {
		u += "?" + query
	}
	req, err := http.NewRequest(http.MethodGet, u, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer test")
	req.Header.Set("x-fapi-interaction-id", uuid.NewString())
	req.Header.Set("X-Test-Client", "client-a")
	req.Header.Set("X-Test-Consent", consentID)
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	res.Body.Close()
	out := resp{status: res.StatusCode, header: res.Header, raw: raw}
	require.NoError(t, json.Unmarshal(raw, &out.body))
	require.Equal(t, Version, res.Header.Get("x-v"))
	require.NotEmpty(t, res.Header.Get("x-fapi-interaction-id"))
	e.spec.Check(t, req, res.StatusCode, res.Header, raw, lenient)
	return out
}

func (r resp) code() string {
	errs, _ := r.body["errors"].([]any)
	if len(errs) == 0 {
		return ""
	}
	return errs[0].(map[string]any)["code"].(string)
}

func TestResourcesListsStatuses(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	var cust corebank.Customer
	var accts []corebank.Account
	var cards []corebank.CreditCardAccount
	for i := 0; i < e.core.Len(); i++ {
		c := e.core.Customer(i)
		a, _ := e.core.Accounts(ctx, c.Owner())
		cc, _ := e.core.CreditCardAccounts(ctx, c.Owner())
		if len(a) >= 2 && len(cc) >= 1 {
			cust, accts, cards = c, a, cc
			break
		}
	}
	require.NotEmpty(t, cust.CPF)
	rs := []consent.Resource{
		{ID: accts[0].AccountID, Type: "ACCOUNT", Status: "AVAILABLE"},
		{ID: accts[1].AccountID, Type: "ACCOUNT", Status: "TEMPORARILY_UNAVAILABLE"},
		{ID: cards[0].CreditCardAccountID, Type: "CREDIT_CARD_ACCOUNT", Status: "PENDING_AUTHORISATION"},
		{ID: "closed-account-9", Type: "ACCOUNT", Status: "AVAILABLE"},
		{ID: "loan-contract-1", Type: "LOAN", Status: "AVAILABLE"},
	}
	perms := []string{consent.PermAccountsRead, consent.PermAccountsBalancesRead, consent.PermCreditCardsAccountsRead,
		consent.PermCreditCardsAccountsLimitsRead, consent.PermResourcesRead}
	id := e.grant(cust, perms, rs)

	r := e.get("", id, nil, false)
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	got := map[string]string{}
	for _, it := range r.body["data"].([]any) {
		m := it.(map[string]any)
		got[m["resourceId"].(string)] = m["type"].(string) + " " + m["status"].(string)
	}
	require.Equal(t, map[string]string{
		accts[0].AccountID:           "ACCOUNT AVAILABLE",
		accts[1].AccountID:           "ACCOUNT TEMPORARILY_UNAVAILABLE",
		cards[0].CreditCardAccountID: "CREDIT_CARD_ACCOUNT PENDING_AUTHORISATION",
		"closed-account-9":           "ACCOUNT UNAVAILABLE",
		"loan-contract-1":            "LOAN AVAILABLE",
	}, got)
	meta := r.body["meta"].(map[string]any)
	require.EqualValues(t, 5, meta["totalRecords"])
	require.EqualValues(t, 1, meta["totalPages"])
	require.Equal(t, publicURL+Path, r.body["links"].(map[string]any)["self"])
}

func TestResourcesPaging(t *testing.T) {
	e := newEnv(t)
	cust := e.core.Customer(0)
	rs := make([]consent.Resource, 30)
	for i := range rs {
		rs[i] = consent.Resource{ID: fmt.Sprintf("fund-%02d", i), Type: "FUND", Status: "AVAILABLE"}
	}
	id := e.grant(cust, []string{consent.PermFundsRead, consent.PermResourcesRead}, rs)

	// page-size below 25 counts as 25 (the spec's own rule, hence lenient).
	r := e.get("page-size=10", id, nil, true)
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	require.Len(t, r.body["data"], 25)
	l := r.body["links"].(map[string]any)
	require.Equal(t, publicURL+Path+"?page=2&page-size=25", l["next"])
	require.Equal(t, publicURL+Path+"?page=2&page-size=25", l["last"])
	require.NotContains(t, l, "prev")
	meta := r.body["meta"].(map[string]any)
	require.EqualValues(t, 30, meta["totalRecords"])
	require.EqualValues(t, 2, meta["totalPages"])

	r = e.get("page=2", id, nil, false)
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	require.Len(t, r.body["data"], 5)
	require.Equal(t, "fund-29", r.body["data"].([]any)[4].(map[string]any)["resourceId"])
	l = r.body["links"].(map[string]any)
	require.Contains(t, l, "first")
	require.Contains(t, l, "prev")
	require.NotContains(t, l, "next")

	for q, want := range map[string]int{"page=0": 400, "page=x": 400, "page-size=1001": 422, "page=3": 422, "page-size=y": 400} {
		r = e.get(q, id, nil, false)
		require.Equal(t, want, r.status, q)
	}
}

func TestResourcesRefusals(t *testing.T) {
	e := newEnv(t)
	cust := e.core.Customer(1)
	noRead := e.grant(cust, []string{consent.PermCustomersPersonalIdentificationsRead}, nil)
	r := e.get("", noRead, nil, false)
	require.Equal(t, http.StatusForbidden, r.status)
	require.Equal(t, customerdata.CodeForbidden, r.code())

	customersOnly := e.grant(cust, []string{consent.PermCustomersPersonalIdentificationsRead, consent.PermResourcesRead}, nil)
	r = e.get("", customersOnly, nil, false)
	require.Equal(t, http.StatusOK, r.status)
	require.Empty(t, r.body["data"])
	require.EqualValues(t, 0, r.body["meta"].(map[string]any)["totalPages"])

	// Awaiting authorisation.
	ctx := context.Background()
	pending, err := consent.NewID("ofpbank")
	require.NoError(t, err)
	_, err = e.store.Create(ctx, consent.Consent{ID: pending, Permissions: []string{consent.PermResourcesRead, consent.PermCustomersPersonalIdentificationsRead},
		ClientID: "client-a", LoggedUser: consent.LoggedUser{Document: consent.Document{Identification: cust.CPF, Rel: "CPF"}}}, consent.AuditActor{})
	require.NoError(t, err)
	r = e.get("", pending, nil, false)
	require.Equal(t, http.StatusUnauthorized, r.status)
	require.Equal(t, customerdata.CodeUnauthorized, r.code())

	// Revoked.
	_, err = e.store.ApplyEvent(ctx, customersOnly, consent.EventRevokeByTPP, consent.AuditActor{Who: "tpp:client-a"})
	require.NoError(t, err)
	r = e.get("", customersOnly, nil, false)
	require.Equal(t, http.StatusUnauthorized, r.status)

	r = e.get("", "", map[string]string{"X-Test-Client": ""}, false)
	require.Equal(t, http.StatusUnauthorized, r.status)
	r = e.get("", noRead, map[string]string{"x-fapi-interaction-id": ""}, false)
	require.Equal(t, http.StatusBadRequest, r.status)
	r = e.get("", noRead, map[string]string{"Accept": "text/html"}, false)
	require.Equal(t, http.StatusNotAcceptable, r.status)

	res, err := http.Post(e.srv.URL+Path, "application/json", strings.NewReader("{}"))
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusBadRequest, res.StatusCode, "no interaction id comes first")
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+Path, nil)
	req.Header.Set("x-fapi-interaction-id", uuid.NewString())
	res, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusMethodNotAllowed, res.StatusCode)
	require.Equal(t, "GET", res.Header.Get("Allow"))
}

func TestRouteTable(t *testing.T) {
	r := Route()
	require.Equal(t, "/open-banking/resources/v3/resources", r.Pattern)
	require.Equal(t, consent.PermResourcesRead, r.Permission)
	require.ElementsMatch(t, []string{"openid", "resources", "consent"}, r.Requirement.Scopes)
	require.Equal(t, "authorization_code", r.Requirement.GrantType)
}
