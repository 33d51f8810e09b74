package customerdata

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/connectors/corebank"
	"github.com/ofp-dev/ofp/consent"
)

var allCardPerms = []string{consent.PermCreditCardsAccountsRead, consent.PermCreditCardsAccountsLimitsRead,
	consent.PermCreditCardsAccountsTransactionsRead, consent.PermCreditCardsAccountsBillsRead,
	consent.PermCreditCardsAccountsBillsTransactionsRead, consent.PermResourcesRead}

func withCards(n int) func(corebank.Customer, []corebank.Account, []corebank.CreditCardAccount) bool {
	return func(_ corebank.Customer, _ []corebank.Account, c []corebank.CreditCardAccount) bool {
		return len(c) >= n
	}
}

func cardPath(id, suffix string) string { return CreditCardsBasePath + "/accounts/" + id + suffix }

func TestCreditCardsEveryEndpoint(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	cust, _, cards := e.customer(withCards(1))
	id := e.grant("client-a", cust, allCardPerms, cardResources(cards, "AVAILABLE"))
	card := cards[0].CreditCardAccountID

	r := e.do(call{path: CreditCardsBasePath + "/accounts", consent: id})
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	require.Len(t, r.list(), len(cards))
	require.Equal(t, CreditCardsVersion, r.header.Get("x-v"))

	r = e.do(call{path: cardPath(card, ""), consent: id})
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	require.Equal(t, cards[0].Name, r.object()["name"])

	r = e.do(call{path: cardPath(card, "/limits"), consent: id})
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	require.NotEmpty(t, r.list())
	require.EqualValues(t, len(r.list()), r.meta()["totalRecords"])

	// Bills two at a time, to the last page through links.last.
	all, err := e.core.CreditCardBills(ctx, cust.Owner(), card, corebank.BillQuery{PageRequest: corebank.PageRequest{PageSize: 1000}})
	require.NoError(t, err)
	require.Greater(t, all.TotalRecords, 2)
	r = e.do(call{path: cardPath(card, "/bills?page-size=2"), consent: id})
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	require.EqualValues(t, all.TotalRecords, r.meta()["totalRecords"])
	require.EqualValues(t, (all.TotalRecords+1)/2, r.meta()["totalPages"])
	r = e.do(call{path: e.relative(r.links()["last"].(string)), consent: id})
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	lastBills := r.list()
	require.Equal(t, all.Items[len(all.Items)-1].BillID, lastBills[len(lastBills)-1].(map[string]any)["billId"])
	require.NotContains(t, r.links(), "next")

	// Bills due in a window.
	from := all.Items[0].DueDate
	to := all.Items[2].DueDate
	r = e.do(call{path: cardPath(card, "/bills?fromDueDate="+from+"&toDueDate="+to), consent: id})
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	require.Len(t, r.list(), 3)

	// The transactions of one bill, whole.
	bill := all.Items[len(all.Items)-1]
	btx, err := e.core.CreditCardBillTransactions(ctx, cust.Owner(), card, bill.BillID, corebank.CardTransactionQuery{PageRequest: corebank.PageRequest{PageSize: 1000}})
	require.NoError(t, err)
	r = e.do(call{path: cardPath(card, "/bills/"+bill.BillID+"/transactions?page-size=1000"), consent: id})
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	require.Len(t, r.list(), btx.TotalRecords)
	require.EqualValues(t, btx.TotalRecords, r.meta()["totalRecords"])
	for _, tx := range r.list() {
		require.Equal(t, bill.BillID, tx.(map[string]any)["billId"])
	}

	// A month of card transactions, then one type only.
	q := url.Values{"fromTransactionDate": {e.clock.Now().AddDate(0, -1, 0).Format("2006-01-02")}, "toTransactionDate": {e.clock.Now().Format("2006-01-02")}}
	r = e.do(call{path: cardPath(card, "/transactions?"+q.Encode()), consent: id})
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	require.NotEmpty(t, r.list())
	require.NotContains(t, r.meta(), "totalRecords")
	kind := r.list()[0].(map[string]any)["transactionType"].(string)
	q.Set("transactionType", kind)
	q.Set("page-size", "1000")
	r = e.do(call{path: cardPath(card, "/transactions?"+q.Encode()), consent: id})
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	for _, tx := range r.list() {
		require.Equal(t, kind, tx.(map[string]any)["transactionType"])
	}

	// transactions-current over D-6.
	d6 := e.clock.Now().AddDate(0, 0, -6).Format("2006-01-02")
	r = e.do(call{path: cardPath(card, "/transactions-current?fromTransactionDate="+d6+"&toTransactionDate="+e.clock.Now().Format("2006-01-02")), consent: id})
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	r = e.do(call{path: cardPath(card, "/transactions-current"), consent: id})
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
}

func TestCreditCardsRefusals(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	cust, _, cards := e.customer(withCards(1))
	_, _, otherCards := e.customer(func(c corebank.Customer, _ []corebank.Account, cc []corebank.CreditCardAccount) bool {
		return c.CPF != cust.CPF && len(cc) > 0
	})
	card := cards[0].CreditCardAccountID
	// Limits and transactions only: no bills.
	id := e.grant("client-a", cust, []string{consent.PermCreditCardsAccountsRead, consent.PermCreditCardsAccountsLimitsRead,
		consent.PermCreditCardsAccountsTransactionsRead, consent.PermResourcesRead}, cardResources(cards, "AVAILABLE"))
	withBills := e.grant("client-a", cust, allCardPerms, cardResources(cards, "AVAILABLE"))
	bills, err := e.core.CreditCardBills(ctx, cust.Owner(), card, corebank.BillQuery{})
	require.NoError(t, err)
	bill := bills.Items[0].BillID

	cases := []struct {
		name   string
		c      call
		status int
		code   string
	}{
		{"missing bills permission", call{path: cardPath(card, "/bills"), consent: id}, 403, CodeForbidden},
		{"missing bill transactions permission", call{path: cardPath(card, "/bills/"+bill+"/transactions"), consent: id}, 403, CodeForbidden},
		{"foreign card", call{path: cardPath(otherCards[0].CreditCardAccountID, "/limits"), consent: id}, 403, CodeResourceForbidden},
		{"account id of the wrong type", call{path: cardPath("x"+card[1:], ""), consent: id}, 403, CodeResourceForbidden},
		{"unknown bill", call{path: cardPath(card, "/bills/nosuchbill/transactions"), consent: withBills}, 404, CodeNotFound},
		{"malformed bill id", call{path: cardPath(card, "/bills/-x/transactions"), consent: withBills}, 400, CodeBadRequest},
		{"bad transactionType", call{path: cardPath(card, "/transactions?transactionType=COMPRA"), consent: id}, 400, CodeBadRequest},
		{"payeeMCC too large", call{path: cardPath(card, "/transactions?payeeMCC=10000"), consent: id}, 400, CodeBadRequest},
		{"payeeMCC not a number", call{path: cardPath(card, "/transactions?payeeMCC=abc"), consent: id}, 400, CodeBadRequest},
		{"from without to", call{path: cardPath(card, "/transactions?fromTransactionDate=2026-03-01"), consent: id}, 422, CodeUnprocessable},
		{"current before D-6", call{path: cardPath(card, "/transactions-current?fromTransactionDate=2026-03-01&toTransactionDate=2026-03-10"), consent: id}, 422, CodeUnprocessable},
		{"due dates reversed", call{path: cardPath(card, "/bills?fromDueDate=2026-03-01&toDueDate=2026-01-01"), consent: withBills}, 422, CodeUnprocessable},
		{"bills page-size above 1000", call{path: cardPath(card, "/bills?page-size=1001"), consent: withBills}, 422, CodeUnprocessable},
		{"bills bad due date", call{path: cardPath(card, "/bills?fromDueDate=01/03/2026"), consent: withBills}, 400, CodeBadRequest},
		{"list page negative", call{path: CreditCardsBasePath + "/accounts?page=-1", consent: id}, 400, CodeBadRequest},
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

	// An account resource is not a card: sharing it does not open this API.
	acctOnly := e.grant("client-a", cust, allCardPerms, []consent.Resource{{ID: card, Type: ResourceAccount, Status: "AVAILABLE"}})
	r := e.do(call{path: cardPath(card, ""), consent: acctOnly})
	require.Equal(t, http.StatusForbidden, r.status)
	require.Equal(t, CodeResourceForbidden, r.errorCode())
	r = e.do(call{path: CreditCardsBasePath + "/accounts", consent: acctOnly})
	require.Equal(t, http.StatusOK, r.status)
	require.Empty(t, r.list())

	// Revoked: 401 on every endpoint.
	e.revoke(withBills)
	r = e.do(call{path: cardPath(card, "/bills"), consent: withBills})
	require.Equal(t, http.StatusUnauthorized, r.status)
}
