package login

import "slices"

// Category groups permissions on the consent page.
type Category struct {
	PT, EN string
	// ResourceType is the Resources API type the customer picks resources of
	// for this category ("" when nothing is picked, e.g. registration data).
	ResourceTypes []string
	// Single: the customer picks exactly one resource (the account a
	// payment is debited from).
	Single bool
}

type label struct {
	category int
	PT, EN   string
}

// categories, in page order.
var categories = []Category{
	{PT: "Dados cadastrais", EN: "Registration data"},
	{PT: "Contas", EN: "Accounts", ResourceTypes: []string{"ACCOUNT"}},
	{PT: "Cartão de crédito", EN: "Credit cards", ResourceTypes: []string{"CREDIT_CARD_ACCOUNT"}},
	{PT: "Operações de crédito", EN: "Credit operations", ResourceTypes: []string{"LOAN", "FINANCING", "UNARRANGED_ACCOUNT_OVERDRAFT", "INVOICE_FINANCING"}},
	{PT: "Investimentos", EN: "Investments", ResourceTypes: []string{"BANK_FIXED_INCOME", "CREDIT_FIXED_INCOME", "VARIABLE_INCOME", "TREASURE_TITLE", "FUND"}},
	{PT: "Câmbio", EN: "Foreign exchange", ResourceTypes: []string{"EXCHANGE"}},
	{PT: "Lista de produtos", EN: "List of products"},
	{PT: "Pagamento", EN: "Payment", ResourceTypes: []string{"ACCOUNT"}, Single: true},
}

const (
	catCustomers = iota
	catAccounts
	catCards
	catCredit
	catInvestments
	catExchange
	catResources
	catPayments
)

// PaymentsInitiate is the permission the payments service reports for a
// payment consent (Payments 4.0.0 has no permission enum): the customer
// chooses the one account the payment is debited from.
const PaymentsInitiate = "PAYMENTS_INITIATE"

// labels holds the plain-language text of every permission of the Consents
// API 3.3.1 enum (a test checks none is missing) and of PaymentsInitiate.
var labels = map[string]label{
	"CUSTOMERS_PERSONAL_IDENTIFICATIONS_READ": {catCustomers, "Seus dados de identificação (nome, CPF, documentos, endereço e contatos)", "Your identification data (name, CPF, documents, address and contacts)"},
	"CUSTOMERS_PERSONAL_ADITTIONALINFO_READ":  {catCustomers, "Informações complementares (profissão, renda, patrimônio e relacionamento com a instituição)", "Additional information (occupation, income, assets and relationship with the institution)"},
	"CUSTOMERS_BUSINESS_IDENTIFICATIONS_READ": {catCustomers, "Dados de identificação da empresa (razão social, CNPJ, sócios, endereço e contatos)", "Company identification data (legal name, CNPJ, partners, address and contacts)"},
	"CUSTOMERS_BUSINESS_ADITTIONALINFO_READ":  {catCustomers, "Informações complementares da empresa (faturamento e relacionamento com a instituição)", "Company additional information (revenue and relationship with the institution)"},

	"ACCOUNTS_READ":                  {catAccounts, "Quais contas você tem (tipo, agência e número)", "Which accounts you have (type, branch and number)"},
	"ACCOUNTS_BALANCES_READ":         {catAccounts, "Saldos das contas", "Account balances"},
	"ACCOUNTS_TRANSACTIONS_READ":     {catAccounts, "Extrato: entradas e saídas das contas", "Statements: money in and out of the accounts"},
	"ACCOUNTS_OVERDRAFT_LIMITS_READ": {catAccounts, "Limites do cheque especial", "Overdraft limits"},

	"CREDIT_CARDS_ACCOUNTS_READ":                    {catCards, "Quais cartões de crédito você tem", "Which credit cards you have"},
	"CREDIT_CARDS_ACCOUNTS_LIMITS_READ":             {catCards, "Limites dos cartões", "Card limits"},
	"CREDIT_CARDS_ACCOUNTS_TRANSACTIONS_READ":       {catCards, "Compras e lançamentos dos cartões", "Card purchases and transactions"},
	"CREDIT_CARDS_ACCOUNTS_BILLS_READ":              {catCards, "Faturas dos cartões", "Card bills"},
	"CREDIT_CARDS_ACCOUNTS_BILLS_TRANSACTIONS_READ": {catCards, "Lançamentos de cada fatura", "Transactions of each bill"},

	"LOANS_READ":                                               {catCredit, "Empréstimos contratados", "Loans you took"},
	"LOANS_WARRANTIES_READ":                                    {catCredit, "Garantias dos empréstimos", "Loan guarantees"},
	"LOANS_SCHEDULED_INSTALMENTS_READ":                         {catCredit, "Parcelas previstas dos empréstimos", "Scheduled loan instalments"},
	"LOANS_PAYMENTS_READ":                                      {catCredit, "Pagamentos dos empréstimos", "Loan payments"},
	"FINANCINGS_READ":                                          {catCredit, "Financiamentos contratados", "Financings you took"},
	"FINANCINGS_WARRANTIES_READ":                               {catCredit, "Garantias dos financiamentos", "Financing guarantees"},
	"FINANCINGS_SCHEDULED_INSTALMENTS_READ":                    {catCredit, "Parcelas previstas dos financiamentos", "Scheduled financing instalments"},
	"FINANCINGS_PAYMENTS_READ":                                 {catCredit, "Pagamentos dos financiamentos", "Financing payments"},
	"UNARRANGED_ACCOUNTS_OVERDRAFT_READ":                       {catCredit, "Adiantamentos a depositante", "Unarranged overdrafts"},
	"UNARRANGED_ACCOUNTS_OVERDRAFT_WARRANTIES_READ":            {catCredit, "Garantias dos adiantamentos a depositante", "Unarranged overdraft guarantees"},
	"UNARRANGED_ACCOUNTS_OVERDRAFT_SCHEDULED_INSTALMENTS_READ": {catCredit, "Parcelas previstas dos adiantamentos a depositante", "Scheduled unarranged overdraft instalments"},
	"UNARRANGED_ACCOUNTS_OVERDRAFT_PAYMENTS_READ":              {catCredit, "Pagamentos dos adiantamentos a depositante", "Unarranged overdraft payments"},
	"INVOICE_FINANCINGS_READ":                                  {catCredit, "Antecipações de recebíveis (direitos creditórios descontados)", "Invoice financings (discounted receivables)"},
	"INVOICE_FINANCINGS_WARRANTIES_READ":                       {catCredit, "Garantias das antecipações de recebíveis", "Invoice financing guarantees"},
	"INVOICE_FINANCINGS_SCHEDULED_INSTALMENTS_READ":            {catCredit, "Parcelas previstas das antecipações de recebíveis", "Scheduled invoice financing instalments"},
	"INVOICE_FINANCINGS_PAYMENTS_READ":                         {catCredit, "Pagamentos das antecipações de recebíveis", "Invoice financing payments"},

	"BANK_FIXED_INCOMES_READ":   {catInvestments, "Renda fixa bancária (CDB, RDB, LCI, LCA)", "Bank fixed income (CDB, RDB, LCI, LCA)"},
	"CREDIT_FIXED_INCOMES_READ": {catInvestments, "Renda fixa de crédito (debêntures, CRI, CRA)", "Credit fixed income (debentures, CRI, CRA)"},
	"VARIABLE_INCOMES_READ":     {catInvestments, "Renda variável (ações e outros)", "Variable income (shares and others)"},
	"TREASURE_TITLES_READ":      {catInvestments, "Títulos do Tesouro Direto", "Treasury bonds"},
	"FUNDS_READ":                {catInvestments, "Fundos de investimento", "Investment funds"},

	"EXCHANGES_READ": {catExchange, "Operações de câmbio", "Foreign exchange operations"},

	"RESOURCES_READ": {catResources, "A lista dos produtos que você escolher compartilhar", "The list of products you choose to share"},

	PaymentsInitiate: {catPayments, "Iniciar um pagamento Pix, debitado da conta que você escolher", "Initiate a Pix payment, debited from the account you choose"},
}

// PermissionItem is one permission as the customer reads it.
type PermissionItem struct {
	Permission string
	PT, EN     string
}

// PermissionGroup is a category with the requested permissions in it.
type PermissionGroup struct {
	PT, EN string
	Items  []PermissionItem
}

// Describe groups permissions by category, in page order, with their plain
// language text. An unknown permission is shown as its code under "Outros"
// (the consent service rejects unknown permissions at creation, so this is a
// safety net, never silently dropped).
func Describe(perms []string) []PermissionGroup {
	groups := make([]PermissionGroup, len(categories))
	for i, c := range categories {
		groups[i] = PermissionGroup{PT: c.PT, EN: c.EN}
	}
	other := PermissionGroup{PT: "Outros", EN: "Other"}
	seen := map[string]bool{}
	for _, p := range perms {
		if seen[p] {
			continue
		}
		seen[p] = true
		l, ok := labels[p]
		if !ok {
			other.Items = append(other.Items, PermissionItem{Permission: p, PT: p, EN: p})
			continue
		}
		groups[l.category].Items = append(groups[l.category].Items, PermissionItem{Permission: p, PT: l.PT, EN: l.EN})
	}
	out := make([]PermissionGroup, 0, len(groups)+1)
	for _, g := range groups {
		if len(g.Items) > 0 {
			out = append(out, g)
		}
	}
	if len(other.Items) > 0 {
		out = append(out, other)
	}
	return out
}

// ResourceTypes lists the Resources API types the customer must pick
// resources of for these permissions (accounts for ACCOUNTS_*, cards for
// CREDIT_CARDS_*, ...), in page order.
func ResourceTypes(perms []string) []string {
	var out []string
	for _, p := range perms {
		l, ok := labels[p]
		if !ok {
			continue
		}
		for _, t := range categories[l.category].ResourceTypes {
			if !slices.Contains(out, t) {
				out = append(out, t)
			}
		}
	}
	return out
}

// SingleResource reports whether these permissions need the customer to
// pick exactly one resource (a payment's debtor account) instead of any
// number of them.
func SingleResource(perms []string) bool {
	for _, p := range perms {
		if l, ok := labels[p]; ok && categories[l.category].Single {
			return true
		}
	}
	return false
}

// Known reports whether p has a plain-language label.
func Known(p string) bool { _, ok := labels[p]; return ok }
