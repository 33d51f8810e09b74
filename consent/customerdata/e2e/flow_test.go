package e2e_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/connectors/fapi"
	"github.com/ofp-dev/ofp/consent"
	"github.com/ofp-dev/ofp/consent/customerdata"
	"github.com/ofp-dev/ofp/consent/customerdata/databench"
	"github.com/ofp-dev/ofp/consent/customerdata/spectest"
	"github.com/ofp-dev/ofp/consent/resourceshttp"
)

var everyPerm = []string{
	consent.PermAccountsRead, consent.PermAccountsBalancesRead, consent.PermAccountsTransactionsRead, consent.PermAccountsOverdraftLimitsRead,
	consent.PermCreditCardsAccountsRead, consent.PermCreditCardsAccountsLimitsRead, consent.PermCreditCardsAccountsTransactionsRead,
	consent.PermCreditCardsAccountsBillsRead, consent.PermCreditCardsAccountsBillsTransactionsRead,
	consent.PermCustomersPersonalIdentificationsRead, consent.PermCustomersPersonalAdittionalInfoRead,
	consent.PermResourcesRead,
}

// reader calls the holder's APIs as the receiver, through the session's
// connectors/fapi client, and validates every exchange against the spec of
// its API.
type reader struct {
	t     *testing.T
	e     *env
	c     *fapi.Client
	wire  *wire
	token string
	specs map[string]*spectest.Spec
}

// wire sits under connectors/fapi's transport (which fills a missing
// x-fapi-interaction-id in for its caller) and keeps each exchange as it
// crossed the wire: the request as sent and the holder's own response
// headers, for the echo and spec checks.
type wire struct {
	base http.RoundTripper
	mu   sync.Mutex
	seen map[string]exchange // by x-fapi-interaction-id
}

type exchange struct {
	req    *http.Request
	header http.Header
}

func (w *wire) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := w.base.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	w.seen[r.Header.Get(fapi.HeaderInteractionID)] = exchange{req: r.Clone(context.Background()), header: resp.Header.Clone()}
	w.mu.Unlock()
	return resp, nil
}

func (w *wire) take(id string) (exchange, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	ex, ok := w.seen[id]
	delete(w.seen, id)
	return ex, ok
}

// client is the session's registered client over a connection made with
// tlsCfg (its certificate, another one, or none).
func (e *env) client(t *testing.T, s *databench.Session, tlsCfg *tls.Config) (*fapi.Client, *wire) {
	w := &wire{base: &http.Transport{TLSClientConfig: tlsCfg}, seen: map[string]exchange{}}
	cfg := s.Config()
	cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second, Transport: w}
	c, err := fapi.New(context.Background(), cfg)
	require.NoError(t, err)
	require.Equal(t, s.ClientID, c.ClientID())
	return c, w
}

func (e *env) reader(t *testing.T, s *databench.Session) *reader {
	specs := map[string]*spectest.Spec{}
	for base, file := range map[string]string{
		customerdata.AccountsBasePath:    "../testdata/accounts-2.4.2.yml",
		customerdata.CreditCardsBasePath: "../testdata/credit-cards-2.3.1.yml",
		customerdata.CustomersBasePath:   "../testdata/customers-2.2.1.yml",
		resourceshttp.BasePath:           "../../resourceshttp/testdata/resources-3.1.0.yml",
	} {
		specs[base] = spectest.Load(t, file, e.base+base)
	}
	c, w := e.client(t, s, s.ClientTLS)
	return &reader{t: t, e: e, c: c, wire: w, token: s.AccessToken, specs: specs}
}

// over is the reader presenting tlsCfg's certificate (or none).
func (r *reader) over(s *databench.Session, tlsCfg *tls.Config) *reader {
	o := *r
	o.c, o.wire = r.e.client(r.t, s, tlsCfg)
	return &o
}

type answer struct {
	status int
	body   map[string]any
	raw    []byte
	header http.Header // as the holder sent it
}

func (a answer) list() []any { l, _ := a.body["data"].([]any); return l }

func (a answer) code() string {
	errs, _ := a.body["errors"].([]any)
	if len(errs) == 0 {
		return ""
	}
	return errs[0].(map[string]any)["code"].(string)
}

// get calls path (a public link or a path) and validates the answer.
func (r *reader) get(path string) answer {
	t := r.t
	t.Helper()
	path = strings.TrimPrefix(path, publicURL)
	id := uuid.NewString()
	res, err := r.c.Get(fapi.WithInteractionID(context.Background(), id), r.token, r.e.base+path)
	require.NotNil(t, res, "%s: %v", path, err)
	if res.StatusCode < 300 {
		require.NoError(t, err)
	} else {
		var ae *fapi.APIError
		require.ErrorAs(t, err, &ae)
		require.Equal(t, res.StatusCode, ae.StatusCode)
	}
	ex, ok := r.wire.take(id)
	require.True(t, ok, "%s: the exchange did not cross the wire", path)
	a := answer{status: res.StatusCode, raw: res.Body, header: ex.header}
	require.NoError(t, json.Unmarshal(res.Body, &a.body), "%s: %s", path, res.Body)
	require.Equal(t, id, ex.header.Get(fapi.HeaderInteractionID), "the holder echoes x-fapi-interaction-id")
	for base, s := range r.specs {
		if strings.HasPrefix(path, base+"/") {
			s.Check(t, ex.req, res.StatusCode, ex.header, res.Body, false)
			return a
		}
	}
	t.Fatalf("no spec for %s", path)
	return a
}

// TestCustomerDataEndToEnd: consent → authorisation → reads of every
// endpoint family through Protect over mTLS → revocation → 401.
func TestCustomerDataEndToEnd(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	cust := e.customer()
	sess, err := databench.Authorise(ctx, e.flow(cust, everyPerm))
	require.NoError(t, err)
	defer sess.Close()
	r := e.reader(t, sess)

	// Resources: every account and card the customer ticked, AVAILABLE.
	res := r.get(resourceshttp.Path)
	require.Equal(t, http.StatusOK, res.status, string(res.raw))
	types := map[string]int{}
	for _, it := range res.list() {
		m := it.(map[string]any)
		require.Equal(t, "AVAILABLE", m["status"])
		types[m["type"].(string)]++
	}
	require.GreaterOrEqual(t, types["ACCOUNT"], 2)
	require.GreaterOrEqual(t, types["CREDIT_CARD_ACCOUNT"], 1)

	// Accounts.
	accts := r.get(customerdata.AccountsBasePath + "/accounts")
	require.Equal(t, http.StatusOK, accts.status, string(accts.raw))
	require.Len(t, accts.list(), types["ACCOUNT"])
	acct := accts.list()[0].(map[string]any)["accountId"].(string)
	for _, suffix := range []string{"", "/balances", "/overdraft-limits", "/transactions", "/transactions-current"} {
		a := r.get(customerdata.AccountsBasePath + "/accounts/" + acct + suffix)
		require.Equal(t, http.StatusOK, a.status, "%s: %s", suffix, a.raw)
	}
	from := time.Now().UTC().AddDate(0, -1, 0).Format("2006-01-02")
	to := time.Now().UTC().Format("2006-01-02")
	tx := r.get(customerdata.AccountsBasePath + "/accounts/" + acct + "/transactions?fromBookingDate=" + from + "&toBookingDate=" + to)
	require.Equal(t, http.StatusOK, tx.status)
	require.Len(t, tx.list(), 25)
	next := tx.body["links"].(map[string]any)["next"].(string)
	tx2 := r.get(next)
	require.Equal(t, http.StatusOK, tx2.status, string(tx2.raw))
	require.NotEqual(t, tx.list()[0], tx2.list()[0])

	// Credit cards.
	cards := r.get(customerdata.CreditCardsBasePath + "/accounts")
	require.Equal(t, http.StatusOK, cards.status, string(cards.raw))
	card := cards.list()[0].(map[string]any)["creditCardAccountId"].(string)
	for _, suffix := range []string{"", "/limits", "/bills", "/transactions", "/transactions-current"} {
		a := r.get(customerdata.CreditCardsBasePath + "/accounts/" + card + suffix)
		require.Equal(t, http.StatusOK, a.status, "%s: %s", suffix, a.raw)
	}
	bills := r.get(customerdata.CreditCardsBasePath + "/accounts/" + card + "/bills")
	bill := bills.list()[0].(map[string]any)["billId"].(string)
	bt := r.get(customerdata.CreditCardsBasePath + "/accounts/" + card + "/bills/" + bill + "/transactions")
	require.Equal(t, http.StatusOK, bt.status, string(bt.raw))

	// Customers.
	for _, p := range []string{"/personal/identifications", "/personal/qualifications", "/personal/financial-relations"} {
		a := r.get(customerdata.CustomersBasePath + p)
		require.Equal(t, http.StatusOK, a.status, "%s: %s", p, a.raw)
	}
	a := r.get(customerdata.CustomersBasePath + "/business/identifications")
	require.Equal(t, http.StatusForbidden, a.status, "a PF consent grants no business data")

	// The receiver revokes: every family answers 401, in its spec's shape.
	require.NoError(t, sess.RevokeConsent(ctx))
	for _, p := range []string{
		resourceshttp.Path,
		customerdata.AccountsBasePath + "/accounts",
		customerdata.AccountsBasePath + "/accounts/" + acct + "/transactions",
		next,
		customerdata.CreditCardsBasePath + "/accounts/" + card + "/bills",
		customerdata.CustomersBasePath + "/personal/identifications",
	} {
		a := r.get(p)
		require.Equal(t, http.StatusUnauthorized, a.status, "%s after revocation: %s", p, a.raw)
	}
}

// TestGuardRefusals: what Protect refuses reaches the receiver in each
// spec's error shape; what passes it meets the consent's checks.
func TestGuardRefusals(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	cust := e.customer()
	sess, err := databench.Authorise(ctx, e.flow(cust, []string{consent.PermAccountsRead, consent.PermAccountsTransactionsRead, consent.PermResourcesRead}))
	require.NoError(t, err)
	defer sess.Close()
	r := e.reader(t, sess)

	accts := r.get(customerdata.AccountsBasePath + "/accounts")
	require.Equal(t, http.StatusOK, accts.status, string(accts.raw))
	acct := accts.list()[0].(map[string]any)["accountId"].(string)

	// Missing permission: the token is fine, the consent lacks the permission.
	a := r.get(customerdata.AccountsBasePath + "/accounts/" + acct + "/balances")
	require.Equal(t, http.StatusForbidden, a.status)
	require.Equal(t, customerdata.CodeForbidden, a.code())

	// A card id of another customer: not shared.
	other, _, _ := func() (string, int, int) {
		for i := 0; i < e.core.Len(); i++ {
			c := e.core.Customer(i)
			if c.CPF == cust.CPF {
				continue
			}
			as, _ := e.core.Accounts(ctx, c.Owner())
			if len(as) > 0 {
				return as[0].AccountID, 0, 0
			}
		}
		return "", 0, 0
	}()
	a = r.get(customerdata.AccountsBasePath + "/accounts/" + other + "/transactions")
	require.Equal(t, http.StatusForbidden, a.status)
	require.Equal(t, customerdata.CodeResourceForbidden, a.code())

	// The token over another client's certificate: 401 from Protect, in
	// the accounts list's shape (Meta with totals) and the transactions' shape.
	otherCert, err := e.b.ClientCertificate(otherTPP.Name)
	require.NoError(t, err)
	cfg := sess.ClientTLS.Clone()
	cfg.Certificates = []tls.Certificate{otherCert}
	stolen := r.over(sess, cfg)
	a = stolen.get(customerdata.AccountsBasePath + "/accounts")
	require.Equal(t, http.StatusUnauthorized, a.status)
	require.EqualValues(t, 1, a.body["meta"].(map[string]any)["totalPages"])
	a = stolen.get(customerdata.AccountsBasePath + "/accounts/" + acct + "/transactions")
	require.Equal(t, http.StatusUnauthorized, a.status)

	// Without a client certificate at all.
	noCert := r.over(sess, &tls.Config{RootCAs: e.b.RootPool(), MinVersion: tls.VersionTLS12})
	a = noCert.get(customerdata.CreditCardsBasePath + "/accounts")
	require.Equal(t, http.StatusUnauthorized, a.status)

	// A consent whose token lacks the API's scope: a consent of accounts
	// only, asking for customer data; the scope was granted, the permission not.
	a = r.get(customerdata.CustomersBasePath + "/personal/identifications")
	require.Equal(t, http.StatusForbidden, a.status)

	// Garbage token.
	bad := *r
	bad.token = "not-a-token"
	a = bad.get(resourceshttp.Path)
	require.Equal(t, http.StatusUnauthorized, a.status)
}

// TestBenchOnTheRealStack runs the databench measurement once, small, on
// the real authz + customer-data stack.
func TestBenchOnTheRealStack(t *testing.T) {
	if testing.Short() {
		t.Skip("measurement run; covered by make bench")
	}
	e := newEnv(t)
	ctx := context.Background()
	sess, err := databench.Authorise(ctx, e.flow(e.customer(), []string{consent.PermAccountsRead, consent.PermAccountsTransactionsRead, consent.PermResourcesRead}))
	require.NoError(t, err)
	defer sess.Close()
	res, err := e.bench.Run(ctx, databench.Target{AccessToken: sess.AccessToken, ClientTLS: sess.ClientTLS}, databench.Options{Requests: 400, Workers: 2})
	require.NoError(t, err)
	var sb strings.Builder
	res.Format(&sb)
	t.Log("\n" + sb.String())
	require.Len(t, res.Scenarios, 2)
	for _, s := range res.Scenarios {
		require.Zero(t, s.API.Errors, s.API.FirstError)
		require.Zero(t, s.Ceiling.Errors, s.Ceiling.FirstError)
		require.Greater(t, s.API.PerSecond, 0.0)
		require.Greater(t, s.Ceiling.PerSecond, s.API.PerSecond, "the ceiling does less work")
		require.Greater(t, s.API.P99, time.Duration(0))
	}
	require.Equal(t, 25, res.Scenarios[1].Items, "a page of 25 transactions")
}
