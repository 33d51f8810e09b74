package purposes

import "github.com/ofp-dev/ofp/consent"

// permissionExplanations says, in plain language, what each permission of
// consent.AllPermissions lets the receiver read. Written from the
// permission table of Consents API 3.3.1 and the descriptions of the data
// APIs each permission opens; a test keeps it complete.
var permissionExplanations = map[string]Text{
	consent.PermResourcesRead: {
		PtBR: "Lista dos produtos (contas, cartões, operações de crédito, investimentos, câmbio) que você compartilha, e se cada um está disponível.",
		En:   "The list of products (accounts, cards, credit operations, investments, exchange) you share, and whether each one is available.",
	},
	consent.PermCustomersPersonalIdentificationsRead: {
		PtBR: "Seus dados cadastrais: nome, CPF, data de nascimento, documentos, endereços, telefones e e-mails.",
		En:   "Your registration data: name, CPF, date of birth, documents, addresses, phone numbers and e-mails.",
	},
	consent.PermCustomersPersonalAdittionalInfoRead: {
		PtBR: "Informações complementares sobre você: renda, profissão, patrimônio e seu relacionamento com a instituição (produtos contratados, início do relacionamento).",
		En:   "Complementary information about you: income, occupation, assets and your relationship with the institution (products held, start of the relationship).",
	},
	consent.PermCustomersBusinessIdentificationsRead: {
		PtBR: "Dados cadastrais da empresa: razão social, CNPJ, data de constituição, sócios, endereços e contatos.",
		En:   "The company's registration data: legal name, CNPJ, incorporation date, partners, addresses and contacts.",
	},
	consent.PermCustomersBusinessAdittionalInfoRead: {
		PtBR: "Informações complementares da empresa: faturamento, patrimônio e o relacionamento com a instituição (produtos contratados, procuradores).",
		En:   "Complementary information about the company: revenue, assets and its relationship with the institution (products held, attorneys).",
	},
	consent.PermAccountsRead: {
		PtBR: "Quais contas você tem (corrente, poupança, pagamento pré-paga) e os dados de identificação de cada uma (agência, número, tipo).",
		En:   "Which accounts you hold (checking, savings, prepaid payment) and how each is identified (branch, number, type).",
	},
	consent.PermAccountsBalancesRead: {
		PtBR: "Os saldos das suas contas: disponível, bloqueado e aplicado automaticamente.",
		En:   "Your account balances: available, blocked and automatically invested amounts.",
	},
	consent.PermAccountsTransactionsRead: {
		PtBR: "O extrato das suas contas: entradas e saídas com data, valor, tipo (Pix, TED, boleto...) e contraparte.",
		En:   "Your account statements: credits and debits with date, amount, type (Pix, wire transfer, boleto...) and counterparty.",
	},
	consent.PermAccountsOverdraftLimitsRead: {
		PtBR: "Os limites da sua conta: cheque especial contratado, utilizado e disponível.",
		En:   "Your account limits: overdraft limit granted, used and available.",
	},
	consent.PermCreditCardsAccountsRead: {
		PtBR: "Quais cartões de crédito você tem: bandeira, produto e dados de identificação do cartão (sem o número completo).",
		En:   "Which credit cards you hold: network, product and card identification data (never the full card number).",
	},
	consent.PermCreditCardsAccountsLimitsRead: {
		PtBR: "Os limites dos seus cartões de crédito: total, utilizado e disponível.",
		En:   "Your credit card limits: total, used and available.",
	},
	consent.PermCreditCardsAccountsTransactionsRead: {
		PtBR: "As compras e outros lançamentos dos seus cartões de crédito, inclusive os ainda não faturados.",
		En:   "Purchases and other entries on your credit cards, including those not yet billed.",
	},
	consent.PermCreditCardsAccountsBillsRead: {
		PtBR: "As faturas dos seus cartões de crédito: vencimento, valor total, pagamento mínimo e pagamentos feitos.",
		En:   "Your credit card bills: due date, total amount, minimum payment and payments made.",
	},
	consent.PermCreditCardsAccountsBillsTransactionsRead: {
		PtBR: "Os lançamentos de cada fatura dos seus cartões de crédito.",
		En:   "The entries of each of your credit card bills.",
	},
	consent.PermLoansRead: {
		PtBR: "Seus contratos de empréstimo: valor contratado, taxas de juros, tarifas, encargos e prazos.",
		En:   "Your loan contracts: amount borrowed, interest rates, fees, charges and terms.",
	},
	consent.PermLoansWarrantiesRead: {
		PtBR: "As garantias dadas nos seus contratos de empréstimo.",
		En:   "The collateral given in your loan contracts.",
	},
	consent.PermLoansScheduledInstalmentsRead: {
		PtBR: "O cronograma de parcelas dos seus empréstimos: parcelas pagas, a vencer e vencidas.",
		En:   "The instalment schedule of your loans: paid, upcoming and overdue instalments.",
	},
	consent.PermLoansPaymentsRead: {
		PtBR: "Os pagamentos feitos nos seus empréstimos, inclusive antecipações.",
		En:   "The payments made on your loans, including early repayments.",
	},
	consent.PermFinancingsRead: {
		PtBR: "Seus contratos de financiamento (por exemplo de veículo ou imóvel): valor, taxas de juros, tarifas, encargos e prazos.",
		En:   "Your financing contracts (for example vehicle or real estate): amount, interest rates, fees, charges and terms.",
	},
	consent.PermFinancingsWarrantiesRead: {
		PtBR: "As garantias dadas nos seus contratos de financiamento.",
		En:   "The collateral given in your financing contracts.",
	},
	consent.PermFinancingsScheduledInstalmentsRead: {
		PtBR: "O cronograma de parcelas dos seus financiamentos: parcelas pagas, a vencer e vencidas.",
		En:   "The instalment schedule of your financings: paid, upcoming and overdue instalments.",
	},
	consent.PermFinancingsPaymentsRead: {
		PtBR: "Os pagamentos feitos nos seus financiamentos, inclusive antecipações.",
		En:   "The payments made on your financings, including early repayments.",
	},
	consent.PermUnarrangedAccountsOverdraftRead: {
		PtBR: "Seus contratos de adiantamento a depositante (uso da conta sem limite contratado): valor, taxas, tarifas e encargos.",
		En:   "Your unarranged overdraft contracts (using the account beyond a granted limit): amount, rates, fees and charges.",
	},
	consent.PermUnarrangedAccountsOverdraftWarrantiesRead: {
		PtBR: "As garantias dos seus contratos de adiantamento a depositante.",
		En:   "The collateral of your unarranged overdraft contracts.",
	},
	consent.PermUnarrangedAccountsOverdraftScheduledInstalments: {
		PtBR: "O cronograma de parcelas dos seus adiantamentos a depositante.",
		En:   "The instalment schedule of your unarranged overdrafts.",
	},
	consent.PermUnarrangedAccountsOverdraftPaymentsRead: {
		PtBR: "Os pagamentos feitos nos seus adiantamentos a depositante.",
		En:   "The payments made on your unarranged overdrafts.",
	},
	consent.PermInvoiceFinancingsRead: {
		PtBR: "Seus contratos de antecipação de recebíveis (desconto de duplicatas, cheques, recebíveis de cartão): valor, taxas, tarifas e encargos.",
		En:   "Your invoice financing contracts (discounting of trade bills, cheques, card receivables): amount, rates, fees and charges.",
	},
	consent.PermInvoiceFinancingsWarrantiesRead: {
		PtBR: "As garantias dos seus contratos de antecipação de recebíveis.",
		En:   "The collateral of your invoice financing contracts.",
	},
	consent.PermInvoiceFinancingsScheduledInstalmentsRead: {
		PtBR: "O cronograma de parcelas das suas antecipações de recebíveis.",
		En:   "The instalment schedule of your invoice financings.",
	},
	consent.PermInvoiceFinancingsPaymentsRead: {
		PtBR: "Os pagamentos feitos nas suas antecipações de recebíveis.",
		En:   "The payments made on your invoice financings.",
	},
	consent.PermBankFixedIncomesRead: {
		PtBR: "Seus investimentos em renda fixa bancária (CDB, RDB, LCI, LCA): saldos, rentabilidade e movimentações.",
		En:   "Your bank fixed-income investments (CDB, RDB, LCI, LCA): balances, returns and transactions.",
	},
	consent.PermCreditFixedIncomesRead: {
		PtBR: "Seus investimentos em renda fixa de crédito (debêntures, CRI, CRA): saldos, rentabilidade e movimentações.",
		En:   "Your credit fixed-income investments (debentures, CRI, CRA): balances, returns and transactions.",
	},
	consent.PermFundsRead: {
		PtBR: "Suas cotas de fundos de investimento: saldos, rentabilidade e movimentações.",
		En:   "Your investment fund shares: balances, returns and transactions.",
	},
	consent.PermVariableIncomesRead: {
		PtBR: "Seus investimentos em renda variável (ações, BDRs, ETFs): posições, proventos e movimentações.",
		En:   "Your equity investments (shares, BDRs, ETFs): positions, dividends and transactions.",
	},
	consent.PermTreasureTitlesRead: {
		PtBR: "Seus títulos do Tesouro Direto: saldos, rentabilidade e movimentações.",
		En:   "Your Tesouro Direto government bonds: balances, returns and transactions.",
	},
	consent.PermExchangesRead: {
		PtBR: "Suas operações de câmbio: moedas, valores, taxas, tarifas e situação de cada operação.",
		En:   "Your foreign exchange operations: currencies, amounts, rates, fees and status of each operation.",
	},
}

// groupNamesEn translates the names of consent.PermissionGroups (which are
// the spec's Portuguese names).
var groupNamesEn = map[string]string{
	"Dados Cadastrais PF":            "Registration data (individual)",
	"Informações complementares PF":  "Complementary information (individual)",
	"Dados Cadastrais PJ":            "Registration data (business)",
	"Informações complementares PJ":  "Complementary information (business)",
	"Contas - Saldos":                "Accounts - Balances",
	"Contas - Limites":               "Accounts - Limits",
	"Contas - Extratos":              "Accounts - Statements",
	"Cartão de Crédito - Limites":    "Credit card - Limits",
	"Cartão de Crédito - Transações": "Credit card - Transactions",
	"Cartão de Crédito - Faturas":    "Credit card - Bills",
	"Operações de Crédito":           "Credit operations",
	"Investimento":                   "Investments",
	"Câmbio":                         "Foreign exchange",
}

// Explanation returns the plain-language explanation of a permission.
func Explanation(permission string) (Text, bool) {
	t, ok := permissionExplanations[permission]
	return t, ok
}

// GroupName returns the name of a permission group in both languages.
func GroupName(group string) (Text, bool) {
	en, ok := groupNamesEn[group]
	return Text{PtBR: group, En: en}, ok
}
