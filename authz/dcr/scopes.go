package dcr

import "slices"

// RoleScopes maps each Open Finance regulatory role to the OAuth 2.0 scopes
// a client holding it may register. Source: BRIEF.md §10 (DCR-BR v2.1.0),
// which extends the table of security-dcr-br-1_ID3.md ("Regulatory Roles for
// OpenID and OAuth 2.0 Mappings") with the investment, exchange,
// portability and automatic-payment scopes.
var RoleScopes = map[string][]string{
	"DADOS": {
		"openid", "accounts", "credit-cards-accounts", "consents", "customers",
		"invoice-financings", "financings", "loans", "unarranged-accounts-overdraft",
		"resources", "credit-fixed-incomes", "exchanges", "bank-fixed-incomes",
		"variable-incomes", "treasure-titles", "funds", "credit-portability",
	},
	"PAGTO": {"openid", "payments", "recurring-payments", "nrp-consents"},
	"CONTA": {"openid"},
	"CCORR": {"openid"},
}

// allowedScopes is the union of RoleScopes for roles, in table order
// (DADOS, PAGTO, CONTA, CCORR), without duplicates.
func allowedScopes(roles []string) []string {
	var out []string
	for _, role := range []string{"DADOS", "PAGTO", "CONTA", "CCORR"} {
		if !slices.Contains(roles, role) {
			continue
		}
		for _, s := range RoleScopes[role] {
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	return out
}
