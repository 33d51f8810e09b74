package customerdata

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/connectors/corebank"
	"github.com/ofp-dev/ofp/consent"
)

var allAccountPerms = []string{consent.PermAccountsRead, consent.PermAccountsBalancesRead, consent.PermAccountsTransactionsRead,
	consent.PermAccountsOverdraftLimitsRead, consent.PermResourcesRead}

func withAccounts(n int) func(corebank.Customer, []corebank.Account, []corebank.CreditCardAccount) bool {
	return func(c corebank.Customer, a []corebank.Account, _ []corebank.CreditCardAccount) bool {
		return c.Type == corebank.PF && len(a) >= n
	}
}

func acctPath(id, suffix string) string { return AccountsBasePath + "/accounts/" + id + suffix }

func TestAccountsEveryEndpointOnSQLite(t *testing.T) {
	accountsEveryEndpoint(t, newEnv(t, envOptions{}))
}

func TestAccountsEveryEndpointOnPostgres(t *testing.T) {
	accountsEveryEndpoint(t, newEnv(t, envOptions{engine: "postgres"}))
}

func accountsEveryEndpoint(t *testing.T, e *env) {
	ctx := context.Background()
	cust, accts, _ := e.customer(withAccounts(2))
	// The customer shares every account but the last one.
	shared := accts[:len(accts)-1]
	id := e.grant("client-a", cust, allAccountPerms, accountResources(shared, "AVAILABLE"))

	r := e.do(call{path: AccountsBasePath + "/accounts", consent: id})
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	require.Len(t, r.list(), len(shared), "only the accounts the customer chose")
	for i, a := range r.list() {
		require.Equal(t, shared[i].AccountID, a.(map[string]any)["accountId"])
	}
	require.EqualValues(t, len(shared), r.meta()["totalRecords"])
	require.EqualValues(t, 1, r.meta()["totalPages"])
	require.Equal(t, publicURL+AccountsBasePath+"/accounts", r.links()["self"])
	require.NotContains(t, r.links(), "next")
	require.Equal(t, "2026-03-10T12:30:00Z", r.meta()["requestDateTime"])
	require.Equal(t, AccountsVersion, r.header.Get("x-v"))

	acct := shared[0]
	r = e.do(call{path: acctPath(acct.AccountID, ""), consent: id})
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	want, err := e.core.Account(ctx, cust.Owner(), acct.AccountID)
	require.NoError(t, err)
	require.Equal(t, want.Number, r.object()["number"])
	require.EqualValues(t, 1, r.meta()["totalRecords"])

	r = e.do(call{path: acctPath(acct.AccountID, "/balances"), consent: id})
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	bal, err := e.core.AccountBalances(ctx, cust.Owner(), acct.AccountID)
	require.NoError(t, err)
	require.Equal(t, bal.AvailableAmount.Amount, r.object()["availableAmount"].(map[string]any)["amount"])

	for _, a := range shared {
		r = e.do(call{path: acctPath(a.AccountID, "/overdraft-limits"), consent: id})
		require.Equal(t, http.StatusOK, r.status, string(r.raw))
	}

	// A month of transactions, page by page through links.next.
	from := e.clock.Now().AddDate(0, -1, 0).Format("2006-01-02")
	to := e.clock.Now().Format("2006-01-02")
	q := url.Values{"fromBookingDate": {from}, "toBookingDate": {to}, "page-size": {"25"}}
	all, err := e.core.AccountTransactions(ctx, cust.Owner(), acct.AccountID, corebank.AccountTransactionQuery{
		Booking: corebank.DateRange{From: e.clock.Now().AddDate(0, -1, 0), To: e.clock.Now()}, PageRequest: corebank.PageRequest{PageSize: 1000}})
	require.NoError(t, err)
	require.Greater(t, all.TotalRecords, 25, "the month must span several pages")
	path := acctPath(acct.AccountID, "/transactions?"+q.Encode())
	var seen []string
	pages := 0
	for path != "" {
		r = e.do(call{path: path, consent: id})
		require.Equal(t, http.StatusOK, r.status, string(r.raw))
		pages++
		for _, tx := range r.list() {
			seen = append(seen, tx.(map[string]any)["transactionId"].(string))
		}
		require.NotContains(t, r.meta(), "totalRecords", "transactions meta is MetaOnlyRequestDateTime")
		require.NotContains(t, r.links(), "last", "TransactionsLinks has no last")
		if pages > 1 {
			require.Contains(t, r.links(), "first")
			require.Contains(t, r.links(), "prev")
		}
		next, _ := r.links()["next"].(string)
		if next == "" {
			break
		}
		u, err := url.Parse(next)
		require.NoError(t, err)
		require.NotEmpty(t, u.Query().Get("pagination-key"), "next carries a pagination-key")
		require.Equal(t, from, u.Query().Get("fromBookingDate"), "next keeps the filters")
		path = e.relative(next)
	}
	require.Equal(t, (all.TotalRecords+24)/25, pages)
	require.Len(t, seen, all.TotalRecords)
	for i, tx := range all.Items {
		require.Equal(t, tx.TransactionID, seen[i])
	}

	// Without dates: today's transactions only (the spec's default).
	r = e.do(call{path: acctPath(acct.AccountID, "/transactions"), consent: id})
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	for _, tx := range r.list() {
		require.Contains(t, tx.(map[string]any)["transactionDateTime"], "2026-03-10T")
	}
	// transactions-current over the whole D-6 window, debits only.
	d6 := e.clock.Now().AddDate(0, 0, -6).Format("2006-01-02")
	r = e.do(call{path: acctPath(acct.AccountID, "/transactions-current?fromBookingDate="+d6+"&toBookingDate="+to+"&creditDebitIndicator=DEBITO&page-size=1000"), consent: id})
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	require.NotEmpty(t, r.list())
	for _, tx := range r.list() {
		m := tx.(map[string]any)
		require.Equal(t, "DEBITO", m["creditDebitType"])
		require.GreaterOrEqual(t, m["transactionDateTime"].(string)[:10], d6)
	}
}

func TestAccountsListPaging(t *testing.T) {
	e := newEnv(t, envOptions{})
	cust, accts, _ := e.customer(withAccounts(3))
	id := e.grant("client-a", cust, allAccountPerms, accountResources(accts, "AVAILABLE"))

	r := e.do(call{path: AccountsBasePath + "/accounts?page-size=1", consent: id})
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	require.Len(t, r.list(), 1)
	require.EqualValues(t, len(accts), r.meta()["totalRecords"])
	require.EqualValues(t, len(accts), r.meta()["totalPages"])
	require.NotContains(t, r.links(), "first", "first only when not on the first page")
	require.NotContains(t, r.links(), "prev")
	require.Contains(t, r.links(), "next")
	require.Contains(t, r.links(), "last")

	last := e.relative(r.links()["last"].(string))
	r = e.do(call{path: last, consent: id})
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	require.Equal(t, accts[len(accts)-1].AccountID, r.list()[0].(map[string]any)["accountId"])
	require.Contains(t, r.links(), "first")
	require.Contains(t, r.links(), "prev")
	require.NotContains(t, r.links(), "next", "next only when not on the last page")
	require.NotContains(t, r.links(), "last")

	// Filter by type.
	r = e.do(call{path: AccountsBasePath + "/accounts?accountType=" + accts[0].Type, consent: id})
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	for _, a := range r.list() {
		require.Equal(t, accts[0].Type, a.(map[string]any)["type"])
	}

	// Beyond the last page: that page does not exist.
	r = e.do(call{path: AccountsBasePath + "/accounts?page=9&page-size=1", consent: id})
	require.Equal(t, http.StatusUnprocessableEntity, r.status, string(r.raw))
	require.Equal(t, CodeUnprocessable, r.errorCode())

	// No account shared: an empty list with totalPages 0.
	none := e.grant("client-a", cust, allAccountPerms, nil)
	r = e.do(call{path: AccountsBasePath + "/accounts", consent: none})
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	require.Empty(t, r.list())
	require.EqualValues(t, 0, r.meta()["totalPages"])
	r = e.do(call{path: AccountsBasePath + "/accounts?page=2", consent: none})
	require.Equal(t, http.StatusUnprocessableEntity, r.status, "page 1 of an empty list exists, page 2 does not")
}

// TestAccountsRefusals runs the checks in the order the spec sets them,
// each failure with its status and code.
func TestAccountsRefusals(t *testing.T) {
	e := newEnv(t, envOptions{})
	cust, accts, _ := e.customer(withAccounts(2))
	other, otherAccts, _ := e.customer(func(c corebank.Customer, a []corebank.Account, _ []corebank.CreditCardAccount) bool {
		return c.Type == corebank.PF && c.CPF != cust.CPF && len(a) > 0
	})
	_ = other
	acct := accts[0].AccountID
	id := e.grant("client-a", cust, []string{consent.PermAccountsRead, consent.PermAccountsTransactionsRead, consent.PermResourcesRead},
		[]consent.Resource{{ID: acct, Type: ResourceAccount, Status: "AVAILABLE"}})

	cases := []struct {
		name   string
		c      call
		status int
		code   string
	}{
		{"no caller", call{path: AccountsBasePath + "/accounts", headers: map[string]string{"X-Test-Client": ""}}, 401, CodeUnauthorized},
		{"unknown consent", call{path: AccountsBasePath + "/accounts", consent: "urn:ofpbank:nope"}, 401, CodeUnauthorized},
		{"consent of another client", call{path: AccountsBasePath + "/accounts", consent: id, client: "client-b"}, 401, CodeUnauthorized},
		{"missing permission", call{path: acctPath(acct, "/balances"), consent: id}, 403, CodeForbidden},
		{"missing permission before resource", call{path: acctPath(otherAccts[0].AccountID, "/overdraft-limits"), consent: id}, 403, CodeForbidden},
		{"foreign resource id", call{path: acctPath(otherAccts[0].AccountID, ""), consent: id}, 403, CodeResourceForbidden},
		{"own account not shared", call{path: acctPath(accts[1].AccountID, "/transactions"), consent: id}, 403, CodeResourceForbidden},
		{"unknown account", call{path: acctPath("doesnotexist", ""), consent: id}, 403, CodeResourceForbidden},
		{"malformed account id", call{path: acctPath("-bad", ""), consent: id}, 400, CodeBadRequest},
		{"page zero", call{path: AccountsBasePath + "/accounts?page=0", consent: id}, 400, CodeBadRequest},
		{"page not a number", call{path: AccountsBasePath + "/accounts?page=abc", consent: id}, 400, CodeBadRequest},
		{"page-size zero", call{path: AccountsBasePath + "/accounts?page-size=0", consent: id}, 400, CodeBadRequest},
		{"page-size above 1000", call{path: AccountsBasePath + "/accounts?page-size=1001", consent: id}, 422, CodeUnprocessable},
		{"bad account type", call{path: AccountsBasePath + "/accounts?accountType=CONTA", consent: id}, 400, CodeBadRequest},
		{"transactions page-size above 1000", call{path: acctPath(acct, "/transactions?page-size=5000"), consent: id}, 422, CodeUnprocessable},
		{"from without to", call{path: acctPath(acct, "/transactions?fromBookingDate=2026-03-01"), consent: id}, 422, CodeUnprocessable},
		{"to without from", call{path: acctPath(acct, "/transactions?toBookingDate=2026-03-01"), consent: id}, 422, CodeUnprocessable},
		{"not a date", call{path: acctPath(acct, "/transactions?fromBookingDate=2026-13-01&toBookingDate=2026-03-01"), consent: id}, 400, CodeBadRequest},
		{"date with time", call{path: acctPath(acct, "/transactions?fromBookingDate=2026-03-01T00:00:00Z&toBookingDate=2026-03-02"), consent: id}, 400, CodeBadRequest},
		{"from after to", call{path: acctPath(acct, "/transactions?fromBookingDate=2026-03-05&toBookingDate=2026-03-01"), consent: id}, 422, CodeUnprocessable},
		{"more than 12 months back", call{path: acctPath(acct, "/transactions?fromBookingDate=2025-03-09&toBookingDate=2026-03-01"), consent: id}, 422, CodeUnprocessable},
		{"more than 12 months ahead", call{path: acctPath(acct, "/transactions?fromBookingDate=2026-03-01&toBookingDate=2027-03-11"), consent: id}, 422, CodeUnprocessable},
		{"current before D-6", call{path: acctPath(acct, "/transactions-current?fromBookingDate=2026-03-03&toBookingDate=2026-03-10"), consent: id}, 422, CodeUnprocessable},
		{"bad creditDebitIndicator", call{path: acctPath(acct, "/transactions?creditDebitIndicator=BOTH"), consent: id}, 400, CodeBadRequest},
		{"no interaction id", call{path: AccountsBasePath + "/accounts", consent: id, headers: map[string]string{"x-fapi-interaction-id": ""}}, 400, CodeBadRequest},
		{"bad interaction id", call{path: AccountsBasePath + "/accounts", consent: id, headers: map[string]string{"x-fapi-interaction-id": "not-a-uuid"}}, 400, CodeBadRequest},
		{"accept xml", call{path: AccountsBasePath + "/accounts", consent: id, headers: map[string]string{"Accept": "application/xml"}}, 406, CodeNotAcceptable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e.t = t
			r := e.do(tc.c)
			require.Equal(t, tc.status, r.status, string(r.raw))
			require.Equal(t, tc.code, r.errorCode(), string(r.raw))
		})
	}
	e.t = t

	// D-6 itself is accepted.
	r := e.do(call{path: acctPath(acct, "/transactions-current?fromBookingDate=2026-03-04&toBookingDate=2026-03-10"), consent: id})
	require.Equal(t, http.StatusOK, r.status, string(r.raw))

	// Outside any spec: 405 and 404 in the ResponseError shape.
	r = e.do(call{method: http.MethodPost, path: AccountsBasePath + "/accounts", consent: id, noVerify: true})
	require.Equal(t, http.StatusMethodNotAllowed, r.status)
	require.Equal(t, CodeMethodNotAllowed, r.errorCode())
	require.Equal(t, "GET", r.header.Get("Allow"))
	r = e.do(call{path: AccountsBasePath + "/nothing-here", consent: id, noVerify: true})
	require.Equal(t, http.StatusNotFound, r.status)
	require.Equal(t, CodeNotFound, r.errorCode())
	require.EqualValues(t, 1, r.meta()["totalPages"], "accounts errors carry Meta's totals")
}

func TestAccountsResourceStatuses(t *testing.T) {
	e := newEnv(t, envOptions{})
	cust, accts, _ := e.customer(withAccounts(3))
	rs := []consent.Resource{
		{ID: accts[0].AccountID, Type: ResourceAccount, Status: "PENDING_AUTHORISATION"},
		{ID: accts[1].AccountID, Type: ResourceAccount, Status: "TEMPORARILY_UNAVAILABLE"},
		{ID: accts[2].AccountID, Type: ResourceAccount, Status: "UNAVAILABLE"},
		// An id the consent shares that the core does not know (closed and gone).
		{ID: "closed-account-1", Type: ResourceAccount, Status: "AVAILABLE"},
	}
	id := e.grant("client-a", cust, allAccountPerms, rs)

	r := e.do(call{path: AccountsBasePath + "/accounts", consent: id})
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	require.Empty(t, r.list(), "the list shows AVAILABLE accounts the customer holds")

	for path, code := range map[string]string{
		acctPath(accts[0].AccountID, "/balances"): CodeResourcePending,
		acctPath(accts[1].AccountID, "/balances"): CodeResourceTemporarilyUnavai,
		acctPath(accts[2].AccountID, "/balances"): CodeResourceUnavailable,
		acctPath("closed-account-1", "/balances"): CodeResourceUnavailable,
	} {
		r := e.do(call{path: path, consent: id})
		require.Equal(t, http.StatusForbidden, r.status, string(r.raw))
		require.Equal(t, code, r.errorCode(), path)
	}
}

// TestAccountsConsentStates: only an AUTHORISED consent within its
// validity reads data; every other state is 401.
func TestAccountsConsentStates(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	cust, accts, _ := e.customer(withAccounts(1))

	// Awaiting authorisation.
	pending, err := consent.NewID("ofpbank")
	require.NoError(t, err)
	_, err = e.store.Create(ctx, consent.Consent{ID: pending, Permissions: allAccountPerms, ClientID: "client-a",
		LoggedUser: consent.LoggedUser{Document: consent.Document{Identification: cust.CPF, Rel: "CPF"}}}, consent.AuditActor{Who: "tpp:client-a"})
	require.NoError(t, err)
	r := e.do(call{path: AccountsBasePath + "/accounts", consent: pending})
	require.Equal(t, http.StatusUnauthorized, r.status)
	require.Equal(t, CodeUnauthorized, r.errorCode())

	// Revoked.
	revoked := e.grant("client-a", cust, allAccountPerms, accountResources(accts, "AVAILABLE"))
	e.revoke(revoked)
	r = e.do(call{path: acctPath(accts[0].AccountID, "/balances"), consent: revoked})
	require.Equal(t, http.StatusUnauthorized, r.status)

	// Expired: past expirationDateTime, before the expiry job ran.
	expiring := e.grant("client-a", cust, allAccountPerms, accountResources(accts, "AVAILABLE"))
	r = e.do(call{path: AccountsBasePath + "/accounts", consent: expiring})
	require.Equal(t, http.StatusOK, r.status)
	e.clock.Advance(91 * 24 * time.Hour)
	r = e.do(call{path: AccountsBasePath + "/accounts", consent: expiring})
	require.Equal(t, http.StatusUnauthorized, r.status)
}

// TestAccountsRevokedMidPagination: a consent revoked between two pages
// stops the next page.
func TestAccountsRevokedMidPagination(t *testing.T) {
	e := newEnv(t, envOptions{})
	cust, accts, _ := e.customer(withAccounts(1))
	id := e.grant("client-a", cust, allAccountPerms, accountResources(accts, "AVAILABLE"))
	from := e.clock.Now().AddDate(0, -2, 0).Format("2006-01-02")
	to := e.clock.Now().Format("2006-01-02")
	r := e.do(call{path: acctPath(accts[0].AccountID, "/transactions?fromBookingDate="+from+"&toBookingDate="+to), consent: id})
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	next, _ := r.links()["next"].(string)
	require.NotEmpty(t, next)

	e.revoke(id)
	r = e.do(call{path: e.relative(next), consent: id})
	require.Equal(t, http.StatusUnauthorized, r.status, string(r.raw))
	require.Equal(t, CodeUnauthorized, r.errorCode())
}

func TestRateLimitPerClient(t *testing.T) {
	clock := newClock()
	lim, err := NewLimiter(LimitOptions{PerSecond: 1, Burst: 2, Now: clock.Now})
	require.NoError(t, err)
	e := newEnv(t, envOptions{limiter: lim})
	cust, accts, _ := e.customer(withAccounts(1))
	a := e.grant("client-a", cust, allAccountPerms, accountResources(accts, "AVAILABLE"))
	b := e.grant("client-b", cust, allAccountPerms, accountResources(accts, "AVAILABLE"))

	for range 2 {
		require.Equal(t, http.StatusOK, e.do(call{path: AccountsBasePath + "/accounts", consent: a}).status)
	}
	r := e.do(call{path: AccountsBasePath + "/accounts", consent: a})
	require.Equal(t, http.StatusTooManyRequests, r.status, string(r.raw))
	require.Equal(t, CodeTooManyRequests, r.errorCode())
	require.Equal(t, "1", r.header.Get("Retry-After"))
	// Transactions answer 429 in their own error shape.
	r = e.do(call{path: acctPath(accts[0].AccountID, "/transactions"), consent: a})
	require.Equal(t, http.StatusTooManyRequests, r.status)
	require.NotContains(t, r.meta(), "totalRecords")

	require.Equal(t, http.StatusOK, e.do(call{path: AccountsBasePath + "/accounts", consent: b, client: "client-b"}).status, "another client has its own bucket")

	clock.Advance(time.Second)
	require.Equal(t, http.StatusOK, e.do(call{path: AccountsBasePath + "/accounts", consent: a}).status, "one token back after a second")
	require.Equal(t, http.StatusTooManyRequests, e.do(call{path: AccountsBasePath + "/accounts", consent: a}).status)
}

// TestStoreFailureIs500: a consent store that fails is a 500 in the spec's
// shape, never a panic or a leak of the error.
func TestStoreFailureIs500(t *testing.T) {
	e := newEnv(t, envOptions{})
	cust, accts, _ := e.customer(withAccounts(1))
	id := e.grant("client-a", cust, allAccountPerms, accountResources(accts, "AVAILABLE"))
	require.NoError(t, e.store.Close())
	for _, p := range []string{AccountsBasePath + "/accounts", acctPath(accts[0].AccountID, "/transactions")} {
		r := e.do(call{path: p, consent: id})
		require.Equal(t, http.StatusInternalServerError, r.status, string(r.raw))
		require.Equal(t, CodeInternal, r.errorCode())
		require.NotContains(t, string(r.raw), "sql", "no internal error text reaches the client")
	}
}
