package consent

import "slices"

// Product is a family of products a holder may or may not offer; it decides
// which requested permissions survive consent creation ("the holder drops the
// permissions of products it does not offer"). Grouped products (credit
// operations, investments, exchange) are one Product each, so their
// permissions are kept or dropped as a whole, as the spec demands.
type Product string

const (
	ProductCustomersPersonal Product = "CUSTOMERS_PERSONAL"
	ProductCustomersBusiness Product = "CUSTOMERS_BUSINESS"
	ProductAccounts          Product = "ACCOUNTS"
	ProductCreditCards       Product = "CREDIT_CARDS_ACCOUNTS"
	ProductCreditOperations  Product = "CREDIT_OPERATIONS"
	ProductInvestments       Product = "INVESTMENTS"
	ProductExchanges         Product = "EXCHANGES"
)

// Products lists every Product.
var Products = []Product{
	ProductCustomersPersonal, ProductCustomersBusiness, ProductAccounts, ProductCreditCards,
	ProductCreditOperations, ProductInvestments, ProductExchanges,
}

// productOf maps each functional permission to its product. RESOURCES_READ
// belongs to every group and to no product.
var productOf = map[string]Product{
	PermCustomersPersonalIdentificationsRead: ProductCustomersPersonal,
	PermCustomersPersonalAdittionalInfoRead:  ProductCustomersPersonal,
	PermCustomersBusinessIdentificationsRead: ProductCustomersBusiness,
	PermCustomersBusinessAdittionalInfoRead:  ProductCustomersBusiness,

	PermAccountsRead: ProductAccounts, PermAccountsBalancesRead: ProductAccounts,
	PermAccountsTransactionsRead: ProductAccounts, PermAccountsOverdraftLimitsRead: ProductAccounts,

	PermCreditCardsAccountsRead: ProductCreditCards, PermCreditCardsAccountsBillsRead: ProductCreditCards,
	PermCreditCardsAccountsBillsTransactionsRead: ProductCreditCards, PermCreditCardsAccountsLimitsRead: ProductCreditCards,
	PermCreditCardsAccountsTransactionsRead: ProductCreditCards,

	PermFinancingsRead: ProductCreditOperations, PermFinancingsScheduledInstalmentsRead: ProductCreditOperations,
	PermFinancingsPaymentsRead: ProductCreditOperations, PermFinancingsWarrantiesRead: ProductCreditOperations,
	PermInvoiceFinancingsRead: ProductCreditOperations, PermInvoiceFinancingsScheduledInstalmentsRead: ProductCreditOperations,
	PermInvoiceFinancingsPaymentsRead: ProductCreditOperations, PermInvoiceFinancingsWarrantiesRead: ProductCreditOperations,
	PermLoansRead: ProductCreditOperations, PermLoansScheduledInstalmentsRead: ProductCreditOperations,
	PermLoansPaymentsRead: ProductCreditOperations, PermLoansWarrantiesRead: ProductCreditOperations,
	PermUnarrangedAccountsOverdraftRead: ProductCreditOperations, PermUnarrangedAccountsOverdraftScheduledInstalments: ProductCreditOperations,
	PermUnarrangedAccountsOverdraftPaymentsRead: ProductCreditOperations, PermUnarrangedAccountsOverdraftWarrantiesRead: ProductCreditOperations,

	PermBankFixedIncomesRead: ProductInvestments, PermCreditFixedIncomesRead: ProductInvestments,
	PermFundsRead: ProductInvestments, PermVariableIncomesRead: ProductInvestments, PermTreasureTitlesRead: ProductInvestments,

	PermExchangesRead: ProductExchanges,
}

// ProductOf returns the product of a functional permission; ok is false for
// RESOURCES_READ and for unknown permissions.
func ProductOf(perm string) (Product, bool) {
	p, ok := productOf[perm]
	return p, ok
}

// KeepOffered returns perms without the permissions of products missing from
// offered, in the original order, and whether any functional permission (one
// other than RESOURCES_READ) is left. RESOURCES_READ is kept only when a
// functional permission is. A nil offered means every product is offered.
func KeepOffered(perms []string, offered []Product) (kept []string, functional bool) {
	for _, p := range perms {
		if p == PermResourcesRead {
			continue
		}
		prod, ok := productOf[p]
		if ok && (offered == nil || slices.Contains(offered, prod)) {
			kept = append(kept, p)
			functional = true
		}
	}
	if !functional {
		return nil, false
	}
	if slices.Contains(perms, PermResourcesRead) {
		// keep RESOURCES_READ where the receiver put it
		out := make([]string, 0, len(kept)+1)
		for _, p := range perms {
			if p == PermResourcesRead || slices.Contains(kept, p) {
				out = append(out, p)
			}
		}
		kept = out
	}
	return kept, true
}
