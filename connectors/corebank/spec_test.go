package corebank

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/dlclark/regexp2/v2"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// spec is one official OpenAPI file with a router over its own servers
// (https://api.banco.com.br/open-banking/<family>/v2), the same way the
// consenthttp tests validate exchanges: openapi3filter against the
// official document.
type spec struct {
	base   string
	router routers.Router
}

func loadSpec(t testing.TB, file, base string) spec {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromFile("testdata/" + file)
	require.NoError(t, err)
	router, err := legacy.NewRouter(doc, openapi3.SetRegexCompiler(ecmaRegex))
	require.NoError(t, err)
	return spec{base: base, router: router}
}

// ecmaRegex compiles the specs' patterns as ECMAScript regular expressions:
// customers 2.2.1 uses a lookahead ("^(?!\\s)...") that Go's regexp lacks.
func ecmaRegex(expr string) (openapi3.RegexMatcher, error) {
	re, err := regexp2.Compile(expr, regexp2.ECMAScript)
	if err != nil {
		return nil, err
	}
	return ecmaMatcher{re}, nil
}

type ecmaMatcher struct{ re *regexp2.Regexp }

func (m ecmaMatcher) MatchString(s string) bool {
	ok, err := m.re.MatchString(s)
	return ok && err == nil
}

// specs are loaded once per test binary.
var specCache = map[string]spec{}

func specFor(t testing.TB, family string) spec {
	t.Helper()
	if s, ok := specCache[family]; ok {
		return s
	}
	files := map[string]string{
		"accounts":              "accounts-2.4.2.yml",
		"credit-cards-accounts": "credit-cards-2.3.1.yml",
		"customers":             "customers-2.2.1.yml",
	}
	s := loadSpec(t, files[family], "https://api.banco.com.br/open-banking/"+family+"/v2")
	specCache[family] = s
	return s
}

// validate wraps data as the spec's 200 answer to GET path (data, links,
// and the meta shape the operation defines) and validates it against the
// official schema.
func validate(t testing.TB, family, path string, data any, paged bool) {
	t.Helper()
	s := specFor(t, family)
	url := s.base + path
	body := map[string]any{"data": data, "links": map[string]any{"self": url}}
	if paged {
		body["meta"] = map[string]any{"totalRecords": 1, "totalPages": 1, "requestDateTime": "2026-03-10T12:00:00Z"}
	} else {
		body["meta"] = map[string]any{"requestDateTime": "2026-03-10T12:00:00Z"}
	}
	raw, err := json.Marshal(body)
	require.NoError(t, err)

	req := httptest.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer x")
	req.Header.Set("x-fapi-interaction-id", uuid.NewString())
	route, params, err := s.router.FindRoute(req)
	require.NoError(t, err, "no route in the spec for %s", url)
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true, MultiError: true, RegexCompiler: ecmaRegex}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts}
	hdr := http.Header{}
	hdr.Set("Content-Type", "application/json")
	hdr.Set("x-fapi-interaction-id", req.Header.Get("x-fapi-interaction-id"))
	require.NoError(t, openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: http.StatusOK, Header: hdr, Body: io.NopCloser(bytes.NewReader(raw)), Options: opts,
	}), "%s does not match the spec: %s", path, raw)
}

// TestSpecShapes validates every kind of object for a spread of customers
// (PF and PJ) against the official schemas.
func TestSpecShapes(t *testing.T) {
	s := newTestCore(t, 7)
	ctx := context.Background()
	month := DateRange{From: testNow.AddDate(0, -1, 0), To: testNow}
	// Every 97th customer covers both kinds and all account/card variants.
	checkedCards, checkedIntl, checkedSavings := 0, 0, 0
	for i := 0; i < s.Len(); i += 97 {
		c := s.Customer(i)
		o := c.Owner()
		accts, err := s.Accounts(ctx, o)
		require.NoError(t, err)
		require.NotEmpty(t, accts)
		validate(t, "accounts", "/accounts", accts, true)
		for _, a := range accts {
			id, err := s.Account(ctx, o, a.AccountID)
			require.NoError(t, err)
			validate(t, "accounts", "/accounts/"+a.AccountID, id, true)
			bal, err := s.AccountBalances(ctx, o, a.AccountID)
			require.NoError(t, err)
			validate(t, "accounts", "/accounts/"+a.AccountID+"/balances", bal, true)
			od, err := s.AccountOverdraftLimits(ctx, o, a.AccountID)
			require.NoError(t, err)
			validate(t, "accounts", "/accounts/"+a.AccountID+"/overdraft-limits", od, true)
			pg, err := s.AccountTransactions(ctx, o, a.AccountID, AccountTransactionQuery{Booking: month, PageRequest: PageRequest{PageSize: 1000}})
			require.NoError(t, err)
			validate(t, "accounts", "/accounts/"+a.AccountID+"/transactions", pg.Items, false)
			validate(t, "accounts", "/accounts/"+a.AccountID+"/transactions-current", pg.Items, false)
			if a.Type == AccountSavings {
				checkedSavings++
			}
		}
		cards, err := s.CreditCardAccounts(ctx, o)
		require.NoError(t, err)
		validate(t, "credit-cards-accounts", "/accounts", cards, true)
		for _, cc := range cards {
			checkedCards++
			base := "/accounts/" + cc.CreditCardAccountID
			id, err := s.CreditCardAccount(ctx, o, cc.CreditCardAccountID)
			require.NoError(t, err)
			validate(t, "credit-cards-accounts", base, id, true)
			lim, err := s.CreditCardLimits(ctx, o, cc.CreditCardAccountID)
			require.NoError(t, err)
			validate(t, "credit-cards-accounts", base+"/limits", lim, true)
			bills, err := s.CreditCardBills(ctx, o, cc.CreditCardAccountID, BillQuery{})
			require.NoError(t, err)
			validate(t, "credit-cards-accounts", base+"/bills", bills.Items, true)
			for _, b := range bills.Items {
				if len(b.FinanceCharges) > 0 {
					checkedIntl++
				}
			}
			last := bills.Items[len(bills.Items)-1]
			bt, err := s.CreditCardBillTransactions(ctx, o, cc.CreditCardAccountID, last.BillID, CardTransactionQuery{PageRequest: PageRequest{PageSize: 1000}})
			require.NoError(t, err)
			validate(t, "credit-cards-accounts", base+"/bills/"+last.BillID+"/transactions", bt.Items, true)
			tx, err := s.CreditCardTransactions(ctx, o, cc.CreditCardAccountID, CardTransactionQuery{Transaction: month, PageRequest: PageRequest{PageSize: 1000}})
			require.NoError(t, err)
			validate(t, "credit-cards-accounts", base+"/transactions", tx.Items, false)
			validate(t, "credit-cards-accounts", base+"/transactions-current", tx.Items, false)
		}
		if c.Type == PF {
			ids, err := s.PersonalIdentifications(ctx, o)
			require.NoError(t, err)
			validate(t, "customers", "/personal/identifications", ids, false)
			q, err := s.PersonalQualifications(ctx, o)
			require.NoError(t, err)
			validate(t, "customers", "/personal/qualifications", q, false)
			fr, err := s.PersonalFinancialRelations(ctx, o)
			require.NoError(t, err)
			validate(t, "customers", "/personal/financial-relations", fr, false)
		} else {
			ids, err := s.BusinessIdentifications(ctx, o)
			require.NoError(t, err)
			validate(t, "customers", "/business/identifications", ids, false)
			q, err := s.BusinessQualifications(ctx, o)
			require.NoError(t, err)
			validate(t, "customers", "/business/qualifications", q, false)
			fr, err := s.BusinessFinancialRelations(ctx, o)
			require.NoError(t, err)
			validate(t, "customers", "/business/financial-relations", fr, false)
		}
	}
	require.Positive(t, checkedCards)
	require.Positive(t, checkedIntl, "no bill with IOF was validated")
	require.Positive(t, checkedSavings)
}

// TestSpecRejectsBrokenData proves the validation above can fail.
func TestSpecRejectsBrokenData(t *testing.T) {
	s := newTestCore(t, 7)
	c := s.Customer(0)
	accts, err := s.Accounts(context.Background(), c.Owner())
	require.NoError(t, err)
	broken := accts[0]
	broken.Type = "CONTA_CORRENTE"
	ft := &failRecorder{TB: t}
	func() {
		defer func() { _ = recover() }()
		validate(ft, "accounts", "/accounts", []Account{broken}, true)
	}()
	require.True(t, ft.failed, "an account type outside the enum passed validation")
}

// failRecorder turns require's FailNow into a recorded failure.
type failRecorder struct {
	testing.TB
	failed bool
}

func (f *failRecorder) Errorf(string, ...any) { f.failed = true }
func (f *failRecorder) FailNow()              { f.failed = true; panic("failnow") }
func (f *failRecorder) Helper()               {}

var testNow = time.Date(2026, 3, 10, 12, 30, 0, 0, time.UTC)

func newTestCore(t testing.TB, seed uint64) *Synthetic {
	t.Helper()
	s, err := NewSynthetic(Options{Seed: seed, Now: func() time.Time { return testNow }})
	require.NoError(t, err)
	return s
}
