package customerdata

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/ofp-dev/ofp/connectors/corebank"
	"github.com/ofp-dev/ofp/consent"
)

// CreditCardsCore is what the Credit-cards-accounts API reads from the core
// banking port (*corebank.Synthetic satisfies it).
type CreditCardsCore interface {
	CreditCardAccounts(ctx context.Context, owner corebank.Owner) ([]corebank.CreditCardAccount, error)
	CreditCardAccount(ctx context.Context, owner corebank.Owner, creditCardAccountID string) (corebank.CreditCardAccountIdentification, error)
	CreditCardLimits(ctx context.Context, owner corebank.Owner, creditCardAccountID string) ([]corebank.CreditCardLimit, error)
	CreditCardBills(ctx context.Context, owner corebank.Owner, creditCardAccountID string, q corebank.BillQuery) (corebank.Page[corebank.CreditCardBill], error)
	CreditCardBillTransactions(ctx context.Context, owner corebank.Owner, creditCardAccountID, billID string, q corebank.CardTransactionQuery) (corebank.Page[corebank.CreditCardTransaction], error)
	CreditCardTransactions(ctx context.Context, owner corebank.Owner, creditCardAccountID string, q corebank.CardTransactionQuery) (corebank.Page[corebank.CreditCardTransaction], error)
}

var _ CreditCardsCore = (*corebank.Synthetic)(nil)

// cardTransactionTypes is EnumCreditCardTransactionType.
var cardTransactionTypes = []string{"PAGAMENTO", "TARIFA", "OPERACOES_CREDITO_CONTRATADAS_CARTAO", "ESTORNO", "CASHBACK", "OUTROS"}

type cardsAPI struct {
	*service
	core CreditCardsCore
}

// NewCreditCards returns the Credit-cards-accounts API 2.3.1 (GET /accounts,
// /accounts/{creditCardAccountId}, …/limits, …/bills,
// …/bills/{billId}/transactions, …/transactions, …/transactions-current)
// under CreditCardsBasePath.
func NewCreditCards(core CreditCardsCore, opts Options) (*API, error) {
	if core == nil {
		return nil, errNoCore
	}
	s, err := newService(CreditCardsBasePath, CreditCardsVersion, "credit-cards-accounts", metaPaged, opts)
	if err != nil {
		return nil, err
	}
	a := &cardsAPI{service: s, core: core}
	mux := http.NewServeMux()
	routes := s.mount(mux, a.endpoints())
	return &API{mux: mux, routes: routes}, nil
}

func (a *cardsAPI) endpoints() []endpoint {
	const card = "/accounts/{creditCardAccountId}"
	return []endpoint{
		{path: "/accounts", perm: consent.PermCreditCardsAccountsRead, meta: metaPaged, serve: a.list},
		{path: card, perm: consent.PermCreditCardsAccountsRead, meta: metaPaged, serve: a.identification},
		{path: card + "/limits", perm: consent.PermCreditCardsAccountsLimitsRead, meta: metaPaged, serve: a.limits},
		{path: card + "/bills", perm: consent.PermCreditCardsAccountsBillsRead, meta: metaPaged, serve: a.bills},
		{path: card + "/bills/{billId}/transactions", perm: consent.PermCreditCardsAccountsBillsTransactionsRead, meta: metaPaged, serve: a.billTransactions},
		{path: card + "/transactions", perm: consent.PermCreditCardsAccountsTransactionsRead, meta: metaDate, serve: a.transactions(false)},
		{path: card + "/transactions-current", perm: consent.PermCreditCardsAccountsTransactionsRead, meta: metaDate, serve: a.transactions(true)},
	}
}

// CreditCardsRoutes is the Credit-cards-accounts API's route table.
func CreditCardsRoutes() []Route {
	return routesOf(CreditCardsBasePath, "credit-cards-accounts", (&cardsAPI{}).endpoints())
}

func (a *cardsAPI) list(rq *request) {
	p, ok := rq.parsePage(1)
	if !ok {
		return
	}
	ids, ok := rq.shared(ResourceCreditCardAccount)
	if !ok {
		return
	}
	all, err := a.core.CreditCardAccounts(rq.ctx(), rq.owner)
	if err != nil {
		rq.coreError("list credit card accounts", err)
		return
	}
	cards := make([]corebank.CreditCardAccount, 0, len(ids))
	for _, c := range all {
		if ids[c.CreditCardAccountID] {
			cards = append(cards, c)
		}
	}
	answerList(rq, p, cards)
}

func (a *cardsAPI) identification(rq *request) {
	answerOne(rq, "creditCardAccountId", ResourceCreditCardAccount, "read credit card account", a.core.CreditCardAccount)
}

func (a *cardsAPI) limits(rq *request) {
	id := rq.r.PathValue("creditCardAccountId")
	if !rq.resource(id, ResourceCreditCardAccount) {
		return
	}
	v, err := a.core.CreditCardLimits(rq.ctx(), rq.owner, id)
	if err != nil {
		rq.coreError("read credit card limits", err)
		return
	}
	if v == nil {
		v = []corebank.CreditCardLimit{}
	}
	pages := 0
	if len(v) > 0 {
		pages = 1
	}
	rq.ok(pagedBody{Data: v, Links: rq.selfLinks(), Meta: pagedMeta{TotalRecords: len(v), TotalPages: pages, RequestDateTime: rq.requestDateTime()}})
}

func (a *cardsAPI) bills(rq *request) {
	id := rq.r.PathValue("creditCardAccountId")
	if !rq.resource(id, ResourceCreditCardAccount) {
		return
	}
	p, ok := rq.parsePage(1)
	if !ok {
		return
	}
	due, ok := rq.parseDates(dateRule{from: "fromDueDate", to: "toDueDate"})
	if !ok {
		return
	}
	pg, err := a.core.CreditCardBills(rq.ctx(), rq.owner, id, corebank.BillQuery{Due: due, PageRequest: p.core()})
	if err != nil {
		rq.coreError("list bills", err)
		return
	}
	answerPage(rq, p, pg, true)
}

// cardQuery reads the transaction filters shared by the three transaction
// endpoints.
func (rq *request) cardQuery(rule dateRule) (corebank.CardTransactionQuery, pageReq, bool) {
	var q corebank.CardTransactionQuery
	p, ok := rq.parsePage(1)
	if !ok {
		return q, p, false
	}
	if q.Transaction, ok = rq.parseDates(rule); !ok {
		return q, p, false
	}
	v := rq.query()
	if tt := v.Get("transactionType"); tt != "" {
		if !slices.Contains(cardTransactionTypes, tt) {
			rq.fail(http.StatusBadRequest, CodeBadRequest, "Parâmetro transactionType inválido", "transactionType must be one of "+strings.Join(cardTransactionTypes, ", "))
			return q, p, false
		}
		q.TransactionType = tt
	}
	if mcc := v.Get("payeeMCC"); mcc != "" {
		n, err := strconv.Atoi(mcc)
		if err != nil || n < 0 || n > 9999 {
			rq.fail(http.StatusBadRequest, CodeBadRequest, "Parâmetro payeeMCC inválido", "payeeMCC must be an integer up to 9999")
			return q, p, false
		}
		q.PayeeMCC = n
	}
	q.PageRequest = p.core()
	return q, p, true
}

func (a *cardsAPI) billTransactions(rq *request) {
	id := rq.r.PathValue("creditCardAccountId")
	if !rq.resource(id, ResourceCreditCardAccount) {
		return
	}
	billID := rq.r.PathValue("billId")
	if !validResourceID(billID) {
		rq.fail(http.StatusBadRequest, CodeBadRequest, "Identificador inválido", "billId must match ^[a-zA-Z0-9][a-zA-Z0-9-]{0,99}$")
		return
	}
	// A bill bounds its transactions already: no dates means the whole bill.
	q, p, ok := rq.cardQuery(dateRule{from: "fromTransactionDate", to: "toTransactionDate", pair: true})
	if !ok {
		return
	}
	pg, err := a.core.CreditCardBillTransactions(rq.ctx(), rq.owner, id, billID, q)
	if errors.Is(err, corebank.ErrResourceNotFound) {
		// The card was checked: is it the bill that does not exist?
		if _, cerr := a.core.CreditCardAccount(rq.ctx(), rq.owner, id); cerr == nil {
			rq.fail(http.StatusNotFound, CodeNotFound, "Fatura não encontrada", "this credit card account has no bill with this billId")
			return
		}
	}
	if err != nil {
		rq.coreError("list bill transactions", err)
		return
	}
	answerPage(rq, p, pg, true)
}

// transactions serves /transactions or, with current, /transactions-current
// (D-6).
func (a *cardsAPI) transactions(current bool) func(*request) {
	rule := dateRule{from: "fromTransactionDate", to: "toTransactionDate", pair: true, defaultToday: true}
	if current {
		rule.pastDays, rule.futureYear = 6, true
	}
	return func(rq *request) {
		id := rq.r.PathValue("creditCardAccountId")
		if !rq.resource(id, ResourceCreditCardAccount) {
			return
		}
		q, p, ok := rq.cardQuery(rule)
		if !ok {
			return
		}
		pg, err := a.core.CreditCardTransactions(rq.ctx(), rq.owner, id, q)
		if err != nil {
			rq.coreError("list card transactions", err)
			return
		}
		answerPage(rq, p, pg, false)
	}
}
