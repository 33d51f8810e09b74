package customerdata

import (
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/require"
)

// TestRouteTables: the route tables cover exactly the operations of each
// spec, with the scope of its security block and the permission of its
// info.description table.
func TestRouteTables(t *testing.T) {
	for _, tc := range []struct {
		file, base, scope string
		routes            []Route
		perms             map[string]string
	}{
		{"testdata/accounts-2.4.2.yml", AccountsBasePath, "accounts", AccountsRoutes(), map[string]string{
			"/accounts": "ACCOUNTS_READ", "/accounts/{accountId}": "ACCOUNTS_READ",
			"/accounts/{accountId}/balances": "ACCOUNTS_BALANCES_READ", "/accounts/{accountId}/transactions": "ACCOUNTS_TRANSACTIONS_READ",
			"/accounts/{accountId}/transactions-current": "ACCOUNTS_TRANSACTIONS_READ", "/accounts/{accountId}/overdraft-limits": "ACCOUNTS_OVERDRAFT_LIMITS_READ",
		}},
		{"testdata/credit-cards-2.3.1.yml", CreditCardsBasePath, "credit-cards-accounts", CreditCardsRoutes(), map[string]string{
			"/accounts": "CREDIT_CARDS_ACCOUNTS_READ", "/accounts/{creditCardAccountId}": "CREDIT_CARDS_ACCOUNTS_READ",
			"/accounts/{creditCardAccountId}/bills":                       "CREDIT_CARDS_ACCOUNTS_BILLS_READ",
			"/accounts/{creditCardAccountId}/bills/{billId}/transactions": "CREDIT_CARDS_ACCOUNTS_BILLS_TRANSACTIONS_READ",
			"/accounts/{creditCardAccountId}/limits":                      "CREDIT_CARDS_ACCOUNTS_LIMITS_READ",
			"/accounts/{creditCardAccountId}/transactions":                "CREDIT_CARDS_ACCOUNTS_TRANSACTIONS_READ",
			"/accounts/{creditCardAccountId}/transactions-current":        "CREDIT_CARDS_ACCOUNTS_TRANSACTIONS_READ",
		}},
		{"testdata/customers-2.2.1.yml", CustomersBasePath, "customers", CustomersRoutes(), map[string]string{
			"/personal/identifications": "CUSTOMERS_PERSONAL_IDENTIFICATIONS_READ", "/personal/qualifications": "CUSTOMERS_PERSONAL_ADITTIONALINFO_READ",
			"/personal/financial-relations": "CUSTOMERS_PERSONAL_ADITTIONALINFO_READ", "/business/identifications": "CUSTOMERS_BUSINESS_IDENTIFICATIONS_READ",
			"/business/qualifications": "CUSTOMERS_BUSINESS_ADITTIONALINFO_READ", "/business/financial-relations": "CUSTOMERS_BUSINESS_ADITTIONALINFO_READ",
		}},
	} {
		doc, err := openapi3.NewLoader().LoadFromFile(tc.file)
		require.NoError(t, err)
		require.Len(t, tc.routes, doc.Paths.Len(), tc.file)
		for _, r := range tc.routes {
			rel := r.Pattern[len(tc.base):]
			item := doc.Paths.Value(rel)
			require.NotNil(t, item, "%s is not in %s", r.Pattern, tc.file)
			require.NotNil(t, item.Get, r.Pattern)
			require.Equal(t, "GET", r.Method)
			require.Equal(t, tc.perms[rel], r.Permission, r.Pattern)
			specScopes := (*item.Get.Security)[0]["OAuth2Security"]
			require.Contains(t, specScopes, tc.scope)
			require.Contains(t, specScopes, "consent:consentId")
			require.ElementsMatch(t, []string{"openid", tc.scope, "consent"}, r.Requirement.Scopes)
			require.Equal(t, "authorization_code", r.Requirement.GrantType)
		}
	}
}
