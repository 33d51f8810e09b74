package corehttp

import (
	"context"

	"github.com/ofp-dev/ofp/connectors/corebank"
	"github.com/ofp-dev/ofp/internal/backendrpc"
)

// Client is a corebank.Core over the contract. Every call is a read, so
// it is retried while the back end cannot answer (backendrpc.Options).
type Client struct{ rpc *backendrpc.Client }

var _ corebank.Core = (*Client)(nil)

// New returns a Client over rpc.
func New(rpc *backendrpc.Client) *Client { return &Client{rpc: rpc} }

func call[Out any](ctx context.Context, c *Client, method string, req Request) (Out, error) {
	var out Out
	if err := c.rpc.Call(ctx, Prefix+method, req, &out, true); err != nil {
		var zero Out
		return zero, portError(err)
	}
	return out, nil
}

func query(d corebank.DateRange, p corebank.PageRequest) *Query {
	return &Query{From: dayString(d.From), To: dayString(d.To), Page: p.Page, PageSize: p.PageSize}
}

func (c *Client) LookupCustomer(ctx context.Context, o corebank.Owner) (corebank.Customer, error) {
	cu, err := call[Customer](ctx, c, MethodLookupCustomer, Request{Owner: owner(o)})
	return fromCustomer(cu), err
}

func (c *Client) Accounts(ctx context.Context, o corebank.Owner) ([]corebank.Account, error) {
	return call[[]corebank.Account](ctx, c, MethodAccounts, Request{Owner: owner(o)})
}

func (c *Client) Account(ctx context.Context, o corebank.Owner, id string) (corebank.AccountIdentification, error) {
	return call[corebank.AccountIdentification](ctx, c, MethodAccount, Request{Owner: owner(o), ID: id})
}

func (c *Client) AccountBalances(ctx context.Context, o corebank.Owner, id string) (corebank.AccountBalances, error) {
	return call[corebank.AccountBalances](ctx, c, MethodAccountBalances, Request{Owner: owner(o), ID: id})
}

func (c *Client) AccountOverdraftLimits(ctx context.Context, o corebank.Owner, id string) (corebank.AccountOverdraftLimits, error) {
	return call[corebank.AccountOverdraftLimits](ctx, c, MethodAccountOverdraftLimits, Request{Owner: owner(o), ID: id})
}

func (c *Client) AccountTransactions(ctx context.Context, o corebank.Owner, id string, q corebank.AccountTransactionQuery) (corebank.Page[corebank.AccountTransaction], error) {
	wq := query(q.Booking, q.PageRequest)
	wq.CreditDebit = q.CreditDebit
	p, err := call[Page[corebank.AccountTransaction]](ctx, c, MethodAccountTransactions, Request{Owner: owner(o), ID: id, Query: wq})
	return fromPage(p), err
}

func (c *Client) CreditCardAccounts(ctx context.Context, o corebank.Owner) ([]corebank.CreditCardAccount, error) {
	return call[[]corebank.CreditCardAccount](ctx, c, MethodCreditCardAccounts, Request{Owner: owner(o)})
}

func (c *Client) CreditCardAccount(ctx context.Context, o corebank.Owner, id string) (corebank.CreditCardAccountIdentification, error) {
	return call[corebank.CreditCardAccountIdentification](ctx, c, MethodCreditCardAccount, Request{Owner: owner(o), ID: id})
}

func (c *Client) CreditCardLimits(ctx context.Context, o corebank.Owner, id string) ([]corebank.CreditCardLimit, error) {
	return call[[]corebank.CreditCardLimit](ctx, c, MethodCreditCardLimits, Request{Owner: owner(o), ID: id})
}

func (c *Client) CreditCardBills(ctx context.Context, o corebank.Owner, id string, q corebank.BillQuery) (corebank.Page[corebank.CreditCardBill], error) {
	p, err := call[Page[corebank.CreditCardBill]](ctx, c, MethodCreditCardBills, Request{Owner: owner(o), ID: id, Query: query(q.Due, q.PageRequest)})
	return fromPage(p), err
}

func cardQuery(q corebank.CardTransactionQuery) *Query {
	wq := query(q.Transaction, q.PageRequest)
	wq.TransactionType, wq.PayeeMCC = q.TransactionType, q.PayeeMCC
	return wq
}

func (c *Client) CreditCardBillTransactions(ctx context.Context, o corebank.Owner, id, billID string, q corebank.CardTransactionQuery) (corebank.Page[corebank.CreditCardTransaction], error) {
	p, err := call[Page[corebank.CreditCardTransaction]](ctx, c, MethodCreditCardBillTransactions,
		Request{Owner: owner(o), ID: id, BillID: billID, Query: cardQuery(q)})
	return fromPage(p), err
}

func (c *Client) CreditCardTransactions(ctx context.Context, o corebank.Owner, id string, q corebank.CardTransactionQuery) (corebank.Page[corebank.CreditCardTransaction], error) {
	p, err := call[Page[corebank.CreditCardTransaction]](ctx, c, MethodCreditCardTransactions, Request{Owner: owner(o), ID: id, Query: cardQuery(q)})
	return fromPage(p), err
}

func (c *Client) PersonalIdentifications(ctx context.Context, o corebank.Owner) ([]corebank.PersonalIdentification, error) {
	return call[[]corebank.PersonalIdentification](ctx, c, MethodPersonalIdentifications, Request{Owner: owner(o)})
}

func (c *Client) PersonalQualifications(ctx context.Context, o corebank.Owner) (corebank.PersonalQualification, error) {
	return call[corebank.PersonalQualification](ctx, c, MethodPersonalQualifications, Request{Owner: owner(o)})
}

func (c *Client) PersonalFinancialRelations(ctx context.Context, o corebank.Owner) (corebank.PersonalFinancialRelation, error) {
	return call[corebank.PersonalFinancialRelation](ctx, c, MethodPersonalFinancialRelations, Request{Owner: owner(o)})
}

func (c *Client) BusinessIdentifications(ctx context.Context, o corebank.Owner) ([]corebank.BusinessIdentification, error) {
	return call[[]corebank.BusinessIdentification](ctx, c, MethodBusinessIdentifications, Request{Owner: owner(o)})
}

func (c *Client) BusinessQualifications(ctx context.Context, o corebank.Owner) (corebank.BusinessQualification, error) {
	return call[corebank.BusinessQualification](ctx, c, MethodBusinessQualifications, Request{Owner: owner(o)})
}

func (c *Client) BusinessFinancialRelations(ctx context.Context, o corebank.Owner) (corebank.BusinessFinancialRelation, error) {
	return call[corebank.BusinessFinancialRelation](ctx, c, MethodBusinessFinancialRelations, Request{Owner: owner(o)})
}
