package main

import (
	"context"
	"encoding/json"
	"slices"

	"github.com/ofp-dev/ofp/connectors/corebank"
	"github.com/ofp-dev/ofp/consent"
)

// coreSharedData is what a partner reads under an active purpose consent
// (consent/partnerapi): the customer's data that the consent's permissions
// cover, read from the core banking port.
type coreSharedData struct{ core corebank.Core }

type sharedAccount struct {
	corebank.Account
	Balances *corebank.AccountBalances `json:"balances,omitempty"`
}

type sharedData struct {
	Accounts        []sharedAccount                   `json:"accounts,omitempty"`
	CreditCards     []corebank.CreditCardAccount      `json:"creditCardAccounts,omitempty"`
	Identifications []corebank.PersonalIdentification `json:"personalIdentifications,omitempty"`
}

func (d coreSharedData) Read(ctx context.Context, pc consent.PurposeConsent) (json.RawMessage, error) {
	owner := corebank.Owner{CPF: pc.Customer.Identification}
	if pc.Customer.Rel == "CNPJ" {
		c, err := d.core.LookupCustomer(ctx, corebank.Owner{CNPJ: pc.Customer.Identification})
		if err != nil {
			return nil, err
		}
		owner = c.Owner()
	}
	has := func(p string) bool { return slices.Contains(pc.Permissions, p) }
	var out sharedData
	if has(consent.PermAccountsRead) {
		accts, err := d.core.Accounts(ctx, owner)
		if err != nil {
			return nil, err
		}
		for _, a := range accts {
			sa := sharedAccount{Account: a}
			if has("ACCOUNTS_BALANCES_READ") {
				b, err := d.core.AccountBalances(ctx, owner, a.AccountID)
				if err != nil {
					return nil, err
				}
				sa.Balances = &b
			}
			out.Accounts = append(out.Accounts, sa)
		}
	}
	if has("CREDIT_CARDS_ACCOUNTS_READ") {
		cards, err := d.core.CreditCardAccounts(ctx, owner)
		if err != nil {
			return nil, err
		}
		out.CreditCards = cards
	}
	if has("CUSTOMERS_PERSONAL_IDENTIFICATIONS_READ") && !owner.Business() {
		ids, err := d.core.PersonalIdentifications(ctx, owner)
		if err != nil {
			return nil, err
		}
		out.Identifications = ids
	}
	return json.Marshal(out)
}
