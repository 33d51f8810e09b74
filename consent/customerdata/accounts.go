package customerdata

import (
	"context"
	"net/http"
	"slices"

	"github.com/ofp-dev/ofp/connectors/corebank"
	"github.com/ofp-dev/ofp/consent"
)

// AccountsCore is what the Accounts API reads from the core banking port
// (corebank.Core; *corebank.Synthetic satisfies it).
type AccountsCore interface {
	Accounts(ctx context.Context, owner corebank.Owner) ([]corebank.Account, error)
	Account(ctx context.Context, owner corebank.Owner, accountID string) (corebank.AccountIdentification, error)
	AccountBalances(ctx context.Context, owner corebank.Owner, accountID string) (corebank.AccountBalances, error)
	AccountOverdraftLimits(ctx context.Context, owner corebank.Owner, accountID string) (corebank.AccountOverdraftLimits, error)
	AccountTransactions(ctx context.Context, owner corebank.Owner, accountID string, q corebank.AccountTransactionQuery) (corebank.Page[corebank.AccountTransaction], error)
}

var _ AccountsCore = (*corebank.Synthetic)(nil)

// Resource types of the Resources API used here.
const (
	ResourceAccount           = "ACCOUNT"
	ResourceCreditCardAccount = "CREDIT_CARD_ACCOUNT"
)

var accountTypes = []string{corebank.AccountChecking, corebank.AccountSavings, corebank.AccountPrepaid}

type accountsAPI struct {
	*service
	core AccountsCore
}

// NewAccounts returns the Accounts API 2.4.2 (GET /accounts,
// /accounts/{accountId}, …/balances, …/transactions,
// …/transactions-current, …/overdraft-limits) under AccountsBasePath.
func NewAccounts(core AccountsCore, opts Options) (*API, error) {
	if core == nil {
		return nil, errNoCore
	}
	s, err := newService(AccountsBasePath, AccountsVersion, "accounts", metaPaged, opts)
	if err != nil {
		return nil, err
	}
	a := &accountsAPI{service: s, core: core}
	mux := http.NewServeMux()
	routes := s.mount(mux, a.endpoints())
	return &API{mux: mux, routes: routes}, nil
}

func (a *accountsAPI) endpoints() []endpoint {
	return []endpoint{
		{path: "/accounts", perm: consent.PermAccountsRead, meta: metaPaged, serve: a.list},
		{path: "/accounts/{accountId}", perm: consent.PermAccountsRead, meta: metaPaged, serve: a.identification},
		{path: "/accounts/{accountId}/balances", perm: consent.PermAccountsBalancesRead, meta: metaPaged, serve: a.balances},
		{path: "/accounts/{accountId}/transactions", perm: consent.PermAccountsTransactionsRead, meta: metaDate, serve: a.transactions(false)},
		{path: "/accounts/{accountId}/transactions-current", perm: consent.PermAccountsTransactionsRead, meta: metaDate, serve: a.transactions(true)},
		{path: "/accounts/{accountId}/overdraft-limits", perm: consent.PermAccountsOverdraftLimitsRead, meta: metaPaged, serve: a.overdraftLimits},
	}
}

// AccountsRoutes is the Accounts API's route table: pattern, token
// requirement and consent permission of every endpoint.
func AccountsRoutes() []Route {
	return routesOf(AccountsBasePath, "accounts", (&accountsAPI{}).endpoints())
}

func (a *accountsAPI) list(rq *request) {
	p, ok := rq.parsePage(1)
	if !ok {
		return
	}
	typ := rq.query().Get("accountType")
	if typ != "" && !slices.Contains(accountTypes, typ) {
		rq.fail(http.StatusBadRequest, CodeBadRequest, "Parâmetro accountType inválido", "accountType must be one of CONTA_DEPOSITO_A_VISTA, CONTA_POUPANCA, CONTA_PAGAMENTO_PRE_PAGA")
		return
	}
	ids, ok := rq.shared(ResourceAccount)
	if !ok {
		return
	}
	all, err := a.core.Accounts(rq.ctx(), rq.owner)
	if err != nil {
		rq.coreError("list accounts", err)
		return
	}
	accts := make([]corebank.Account, 0, len(ids))
	for _, ac := range all {
		if ids[ac.AccountID] && (typ == "" || ac.Type == typ) {
			accts = append(accts, ac)
		}
	}
	answerList(rq, p, accts)
}

func (a *accountsAPI) identification(rq *request) {
	answerOne(rq, "accountId", ResourceAccount, "read account", a.core.Account)
}

func (a *accountsAPI) balances(rq *request) {
	answerOne(rq, "accountId", ResourceAccount, "read balances", a.core.AccountBalances)
}

// overdraftLimits: accounts without limits answer an empty data object (the
// spec says so).
func (a *accountsAPI) overdraftLimits(rq *request) {
	answerOne(rq, "accountId", ResourceAccount, "read overdraft limits", a.core.AccountOverdraftLimits)
}

// transactions serves /transactions (12 months back and forth) or, with
// current, /transactions-current (D-6).
func (a *accountsAPI) transactions(current bool) func(*request) {
	rule := dateRule{from: "fromBookingDate", to: "toBookingDate", pair: true, defaultToday: true, futureYear: true, pastYear: true}
	if current {
		rule.pastYear, rule.pastDays = false, 6
	}
	return func(rq *request) {
		id := rq.r.PathValue("accountId")
		if !rq.resource(id, ResourceAccount) {
			return
		}
		p, ok := rq.parsePage(1)
		if !ok {
			return
		}
		dr, ok := rq.parseDates(rule)
		if !ok {
			return
		}
		cd := rq.query().Get("creditDebitIndicator")
		if cd != "" && cd != "CREDITO" && cd != "DEBITO" {
			rq.fail(http.StatusBadRequest, CodeBadRequest, "Parâmetro creditDebitIndicator inválido", "creditDebitIndicator must be CREDITO or DEBITO")
			return
		}
		pg, err := a.core.AccountTransactions(rq.ctx(), rq.owner, id, corebank.AccountTransactionQuery{Booking: dr, CreditDebit: cd, PageRequest: p.core()})
		if err != nil {
			rq.coreError("list account transactions", err)
			return
		}
		answerPage(rq, p, pg, false)
	}
}
