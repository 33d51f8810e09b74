package consent

import (
	"fmt"
	"slices"
)

// Permissions of the Consents API 3.3.1 (the spec's permissions enum; the
// misspelling ADITTIONALINFO is the spec's).
const (
	PermAccountsRead                                    = "ACCOUNTS_READ"
	PermAccountsBalancesRead                            = "ACCOUNTS_BALANCES_READ"
	PermAccountsTransactionsRead                        = "ACCOUNTS_TRANSACTIONS_READ"
	PermAccountsOverdraftLimitsRead                     = "ACCOUNTS_OVERDRAFT_LIMITS_READ"
	PermCreditCardsAccountsRead                         = "CREDIT_CARDS_ACCOUNTS_READ"
	PermCreditCardsAccountsBillsRead                    = "CREDIT_CARDS_ACCOUNTS_BILLS_READ"
	PermCreditCardsAccountsBillsTransactionsRead        = "CREDIT_CARDS_ACCOUNTS_BILLS_TRANSACTIONS_READ"
	PermCreditCardsAccountsLimitsRead                   = "CREDIT_CARDS_ACCOUNTS_LIMITS_READ"
	PermCreditCardsAccountsTransactionsRead             = "CREDIT_CARDS_ACCOUNTS_TRANSACTIONS_READ"
	PermCustomersPersonalIdentificationsRead            = "CUSTOMERS_PERSONAL_IDENTIFICATIONS_READ"
	PermCustomersPersonalAdittionalInfoRead             = "CUSTOMERS_PERSONAL_ADITTIONALINFO_READ"
	PermCustomersBusinessIdentificationsRead            = "CUSTOMERS_BUSINESS_IDENTIFICATIONS_READ"
	PermCustomersBusinessAdittionalInfoRead             = "CUSTOMERS_BUSINESS_ADITTIONALINFO_READ"
	PermFinancingsRead                                  = "FINANCINGS_READ"
	PermFinancingsScheduledInstalmentsRead              = "FINANCINGS_SCHEDULED_INSTALMENTS_READ"
	PermFinancingsPaymentsRead                          = "FINANCINGS_PAYMENTS_READ"
	PermFinancingsWarrantiesRead                        = "FINANCINGS_WARRANTIES_READ"
	PermInvoiceFinancingsRead                           = "INVOICE_FINANCINGS_READ"
	PermInvoiceFinancingsScheduledInstalmentsRead       = "INVOICE_FINANCINGS_SCHEDULED_INSTALMENTS_READ"
	PermInvoiceFinancingsPaymentsRead                   = "INVOICE_FINANCINGS_PAYMENTS_READ"
	PermInvoiceFinancingsWarrantiesRead                 = "INVOICE_FINANCINGS_WARRANTIES_READ"
	PermLoansRead                                       = "LOANS_READ"
	PermLoansScheduledInstalmentsRead                   = "LOANS_SCHEDULED_INSTALMENTS_READ"
	PermLoansPaymentsRead                               = "LOANS_PAYMENTS_READ"
	PermLoansWarrantiesRead                             = "LOANS_WARRANTIES_READ"
	PermUnarrangedAccountsOverdraftRead                 = "UNARRANGED_ACCOUNTS_OVERDRAFT_READ"
	PermUnarrangedAccountsOverdraftScheduledInstalments = "UNARRANGED_ACCOUNTS_OVERDRAFT_SCHEDULED_INSTALMENTS_READ"
	PermUnarrangedAccountsOverdraftPaymentsRead         = "UNARRANGED_ACCOUNTS_OVERDRAFT_PAYMENTS_READ"
	PermUnarrangedAccountsOverdraftWarrantiesRead       = "UNARRANGED_ACCOUNTS_OVERDRAFT_WARRANTIES_READ"
	PermResourcesRead                                   = "RESOURCES_READ"
	PermBankFixedIncomesRead                            = "BANK_FIXED_INCOMES_READ"
	PermCreditFixedIncomesRead                          = "CREDIT_FIXED_INCOMES_READ"
	PermFundsRead                                       = "FUNDS_READ"
	PermVariableIncomesRead                             = "VARIABLE_INCOMES_READ"
	PermTreasureTitlesRead                              = "TREASURE_TITLES_READ"
	PermExchangesRead                                   = "EXCHANGES_READ"
)

// AllPermissions is the spec's permissions enum, in the spec's order.
var AllPermissions = []string{
	PermAccountsRead, PermAccountsBalancesRead, PermAccountsTransactionsRead, PermAccountsOverdraftLimitsRead,
	PermCreditCardsAccountsRead, PermCreditCardsAccountsBillsRead, PermCreditCardsAccountsBillsTransactionsRead,
	PermCreditCardsAccountsLimitsRead, PermCreditCardsAccountsTransactionsRead,
	PermCustomersPersonalIdentificationsRead, PermCustomersPersonalAdittionalInfoRead,
	PermCustomersBusinessIdentificationsRead, PermCustomersBusinessAdittionalInfoRead,
	PermFinancingsRead, PermFinancingsScheduledInstalmentsRead, PermFinancingsPaymentsRead, PermFinancingsWarrantiesRead,
	PermInvoiceFinancingsRead, PermInvoiceFinancingsScheduledInstalmentsRead, PermInvoiceFinancingsPaymentsRead, PermInvoiceFinancingsWarrantiesRead,
	PermLoansRead, PermLoansScheduledInstalmentsRead, PermLoansPaymentsRead, PermLoansWarrantiesRead,
	PermUnarrangedAccountsOverdraftRead, PermUnarrangedAccountsOverdraftScheduledInstalments,
	PermUnarrangedAccountsOverdraftPaymentsRead, PermUnarrangedAccountsOverdraftWarrantiesRead,
	PermResourcesRead,
	PermBankFixedIncomesRead, PermCreditFixedIncomesRead, PermFundsRead, PermVariableIncomesRead, PermTreasureTitlesRead,
	PermExchangesRead,
}

// PermissionGroup is one row ("agrupamento") of the spec's permission table.
// A consent request must carry every permission of each group it asks for;
// every group includes RESOURCES_READ.
type PermissionGroup struct {
	Name        string
	Permissions []string
	// Bundled groups (credit operations, investments, exchange) are kept
	// whole even when the holder does not offer every product in them.
	Bundled bool
}

// PermissionGroups is the spec's table (consents 3.3.1 info.description).
var PermissionGroups = []PermissionGroup{
	{Name: "Dados Cadastrais PF", Permissions: []string{PermCustomersPersonalIdentificationsRead, PermResourcesRead}},
	{Name: "Informações complementares PF", Permissions: []string{PermCustomersPersonalAdittionalInfoRead, PermResourcesRead}},
	{Name: "Dados Cadastrais PJ", Permissions: []string{PermCustomersBusinessIdentificationsRead, PermResourcesRead}},
	{Name: "Informações complementares PJ", Permissions: []string{PermCustomersBusinessAdittionalInfoRead, PermResourcesRead}},
	{Name: "Contas - Saldos", Permissions: []string{PermAccountsRead, PermAccountsBalancesRead, PermResourcesRead}},
	{Name: "Contas - Limites", Permissions: []string{PermAccountsRead, PermAccountsOverdraftLimitsRead, PermResourcesRead}},
	{Name: "Contas - Extratos", Permissions: []string{PermAccountsRead, PermAccountsTransactionsRead, PermResourcesRead}},
	{Name: "Cartão de Crédito - Limites", Permissions: []string{PermCreditCardsAccountsRead, PermCreditCardsAccountsLimitsRead, PermResourcesRead}},
	{Name: "Cartão de Crédito - Transações", Permissions: []string{PermCreditCardsAccountsRead, PermCreditCardsAccountsTransactionsRead, PermResourcesRead}},
	{Name: "Cartão de Crédito - Faturas", Permissions: []string{PermCreditCardsAccountsRead, PermCreditCardsAccountsBillsRead, PermCreditCardsAccountsBillsTransactionsRead, PermResourcesRead}},
	{Name: "Operações de Crédito", Bundled: true, Permissions: []string{
		PermLoansRead, PermLoansWarrantiesRead, PermLoansScheduledInstalmentsRead, PermLoansPaymentsRead,
		PermFinancingsRead, PermFinancingsWarrantiesRead, PermFinancingsScheduledInstalmentsRead, PermFinancingsPaymentsRead,
		PermUnarrangedAccountsOverdraftRead, PermUnarrangedAccountsOverdraftWarrantiesRead,
		PermUnarrangedAccountsOverdraftScheduledInstalments, PermUnarrangedAccountsOverdraftPaymentsRead,
		PermInvoiceFinancingsRead, PermInvoiceFinancingsWarrantiesRead, PermInvoiceFinancingsScheduledInstalmentsRead,
		PermInvoiceFinancingsPaymentsRead, PermResourcesRead,
	}},
	{Name: "Investimento", Bundled: true, Permissions: []string{
		PermBankFixedIncomesRead, PermCreditFixedIncomesRead, PermFundsRead, PermVariableIncomesRead, PermTreasureTitlesRead, PermResourcesRead,
	}},
	{Name: "Câmbio", Bundled: true, Permissions: []string{PermExchangesRead, PermResourcesRead}},
}

// UnknownPermissionError: a permission outside the spec's enum (HTTP 400).
type UnknownPermissionError struct{ Permission string }

func (e *UnknownPermissionError) Error() string {
	return fmt.Sprintf("consent: unknown permission %q", e.Permission)
}

// IsKnownPermission reports whether p is in the spec's enum.
func IsKnownPermission(p string) bool { return slices.Contains(AllPermissions, p) }

// ValidatePermissions checks the shape the spec imposes on any stored
// permission list: at least one, every item from the enum (otherwise an
// *UnknownPermissionError), no duplicates. Group completeness is a
// request-time rule, see IncompleteGroups.
func ValidatePermissions(perms []string) error {
	if len(perms) == 0 {
		return fmt.Errorf("consent: at least one permission is required")
	}
	seen := make(map[string]bool, len(perms))
	for _, p := range perms {
		if !IsKnownPermission(p) {
			return &UnknownPermissionError{Permission: p}
		}
		if seen[p] {
			return fmt.Errorf("consent: permission %s is listed twice", p)
		}
		seen[p] = true
	}
	return nil
}

// IncompleteGroups returns the names of the groups that perms touches (holds
// a permission specific to that group) without holding all of it, and
// whether RESOURCES_READ is missing. A request with incomplete groups is
// answered 422 COMBINACAO_PERMISSOES_INCORRETA by the API layer.
func IncompleteGroups(perms []string) (groups []string, missingResources bool) {
	has := make(map[string]bool, len(perms))
	for _, p := range perms {
		has[p] = true
	}
	// A permission is "covered" when some group containing it is complete.
	covered := map[string]bool{}
	for _, g := range PermissionGroups {
		complete := true
		for _, p := range g.Permissions {
			if !has[p] {
				complete = false
				break
			}
		}
		if complete {
			for _, p := range g.Permissions {
				covered[p] = true
			}
		}
	}
	for _, g := range PermissionGroups {
		for _, p := range g.Permissions {
			if p != PermResourcesRead && has[p] && !covered[p] {
				groups = append(groups, g.Name)
				break
			}
		}
	}
	return groups, len(perms) > 0 && !has[PermResourcesRead]
}
