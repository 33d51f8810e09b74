package corehttp

import (
	"context"
	"net/http"

	"github.com/ofp-dev/ofp/connectors/corebank"
	"github.com/ofp-dev/ofp/internal/backendrpc"
)

// Register serves the contract from core on mux (under Prefix). With
// token set, callers must present it as a bearer token. The port's errors
// become the contract's codes; any other error is a 500 without detail.
func Register(mux *http.ServeMux, core corebank.Core, token string) {
	one := func(method string, fn func(context.Context, Request) (any, error)) {
		backendrpc.Handle(mux, Prefix+method, token, classify, fn)
	}
	one(MethodLookupCustomer, func(ctx context.Context, r Request) (any, error) {
		c, err := core.LookupCustomer(ctx, r.Owner.port())
		return toCustomer(c), err
	})
	one(MethodAccounts, func(ctx context.Context, r Request) (any, error) { return list(core.Accounts(ctx, r.Owner.port())) })
	one(MethodAccount, func(ctx context.Context, r Request) (any, error) { return core.Account(ctx, r.Owner.port(), r.ID) })
	one(MethodAccountBalances, func(ctx context.Context, r Request) (any, error) {
		return core.AccountBalances(ctx, r.Owner.port(), r.ID)
	})
	one(MethodAccountOverdraftLimits, func(ctx context.Context, r Request) (any, error) {
		return core.AccountOverdraftLimits(ctx, r.Owner.port(), r.ID)
	})
	one(MethodAccountTransactions, func(ctx context.Context, r Request) (any, error) {
		d, err := r.Query.dates()
		if err != nil {
			return nil, err
		}
		q := corebank.AccountTransactionQuery{Booking: d, PageRequest: r.Query.page()}
		if r.Query != nil {
			q.CreditDebit = r.Query.CreditDebit
		}
		p, err := core.AccountTransactions(ctx, r.Owner.port(), r.ID, q)
		return toPage(p), err
	})
	one(MethodCreditCardAccounts, func(ctx context.Context, r Request) (any, error) {
		return list(core.CreditCardAccounts(ctx, r.Owner.port()))
	})
	one(MethodCreditCardAccount, func(ctx context.Context, r Request) (any, error) {
		return core.CreditCardAccount(ctx, r.Owner.port(), r.ID)
	})
	one(MethodCreditCardLimits, func(ctx context.Context, r Request) (any, error) {
		return list(core.CreditCardLimits(ctx, r.Owner.port(), r.ID))
	})
	one(MethodCreditCardBills, func(ctx context.Context, r Request) (any, error) {
		d, err := r.Query.dates()
		if err != nil {
			return nil, err
		}
		p, err := core.CreditCardBills(ctx, r.Owner.port(), r.ID, corebank.BillQuery{Due: d, PageRequest: r.Query.page()})
		return toPage(p), err
	})
	one(MethodCreditCardBillTransactions, func(ctx context.Context, r Request) (any, error) {
		q, err := r.Query.card()
		if err != nil {
			return nil, err
		}
		p, err := core.CreditCardBillTransactions(ctx, r.Owner.port(), r.ID, r.BillID, q)
		return toPage(p), err
	})
	one(MethodCreditCardTransactions, func(ctx context.Context, r Request) (any, error) {
		q, err := r.Query.card()
		if err != nil {
			return nil, err
		}
		p, err := core.CreditCardTransactions(ctx, r.Owner.port(), r.ID, q)
		return toPage(p), err
	})
	one(MethodPersonalIdentifications, func(ctx context.Context, r Request) (any, error) {
		return list(core.PersonalIdentifications(ctx, r.Owner.port()))
	})
	one(MethodPersonalQualifications, func(ctx context.Context, r Request) (any, error) {
		return core.PersonalQualifications(ctx, r.Owner.port())
	})
	one(MethodPersonalFinancialRelations, func(ctx context.Context, r Request) (any, error) {
		return core.PersonalFinancialRelations(ctx, r.Owner.port())
	})
	one(MethodBusinessIdentifications, func(ctx context.Context, r Request) (any, error) {
		return list(core.BusinessIdentifications(ctx, r.Owner.port()))
	})
	one(MethodBusinessQualifications, func(ctx context.Context, r Request) (any, error) {
		return core.BusinessQualifications(ctx, r.Owner.port())
	})
	one(MethodBusinessFinancialRelations, func(ctx context.Context, r Request) (any, error) {
		return core.BusinessFinancialRelations(ctx, r.Owner.port())
	})
}

// list answers an empty list as [] rather than null.
func list[T any](items []T, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	if items == nil {
		items = []T{}
	}
	return items, nil
}

func (q *Query) card() (corebank.CardTransactionQuery, error) {
	d, err := q.dates()
	if err != nil {
		return corebank.CardTransactionQuery{}, err
	}
	out := corebank.CardTransactionQuery{Transaction: d, PageRequest: q.page()}
	if q != nil {
		out.TransactionType, out.PayeeMCC = q.TransactionType, q.PayeeMCC
	}
	return out, nil
}
