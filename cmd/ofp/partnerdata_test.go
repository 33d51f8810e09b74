package main

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/ofp-dev/ofp/connectors/corebank"
	"github.com/ofp-dev/ofp/consent"
)

func TestPartnerSeesOnlyWhatThePurposeConsentCovers(t *testing.T) {
	core, err := corebank.NewSynthetic(corebank.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	var pf corebank.Customer
	for i := 0; i < core.Len(); i++ {
		if c := core.Customer(i); c.Type == corebank.PF {
			pf = c
			break
		}
	}
	d := coreSharedData{core}
	read := func(perms ...string) sharedData {
		raw, err := d.Read(context.Background(), consent.PurposeConsent{
			Customer: consent.Document{Identification: pf.CPF, Rel: "CPF"}, Permissions: perms, Status: consent.PurposeStatus("ACTIVE")})
		if err != nil {
			t.Fatal(err)
		}
		var out sharedData
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	accts := read("ACCOUNTS_READ")
	if len(accts.Accounts) == 0 || accts.Accounts[0].Balances != nil || accts.CreditCards != nil || accts.Identifications != nil {
		t.Fatalf("ACCOUNTS_READ alone: %+v", accts)
	}
	withBal := read("ACCOUNTS_READ", "ACCOUNTS_BALANCES_READ")
	if withBal.Accounts[0].Balances == nil || withBal.Accounts[0].Balances.AvailableAmount.Amount == "" {
		t.Fatalf("balances missing: %+v", withBal.Accounts[0])
	}
	ids := read("CUSTOMERS_PERSONAL_IDENTIFICATIONS_READ")
	if len(ids.Identifications) == 0 || len(ids.Accounts) != 0 {
		t.Fatalf("identifications only: %+v", ids)
	}
	if none := read("RESOURCES_READ"); len(none.Accounts)+len(none.CreditCards)+len(none.Identifications) != 0 {
		t.Fatalf("a permission that covers no data gave %+v", none)
	}
}
