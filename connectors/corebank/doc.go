// Package corebank is the core-banking port the holder APIs read customer
// data through, and the built-in synthetic core that implements it.
//
// It owns:
//   - Core, the contract an institution's adapter implements (corehttp
//     carries it over HTTP to the institution's systems; declared here
//     for implementers; each consumer re-declares the methods it calls):
//     customer lookup by document, accounts (list, identification,
//     balances, overdraft limits, transactions), credit-card accounts
//     (list, identification, limits, bills, bill transactions,
//     transactions) and customers' identification, qualification and
//     financial relations, PF and PJ. Every call is scoped by an Owner
//     (the consent's loggedUser CPF and, for a business consent, the
//     businessEntity CNPJ); a resource of someone else is ErrResourceNotFound,
//     exactly like one that does not exist. Lists that grow (transactions,
//     bills) are paged by the core (Page, PageRequest) in a stable,
//     chronological order; short lists (accounts, cards, limits) come whole.
//   - the data types, which are the specs' data objects field for field
//     (accounts 2.4.2, credit-cards-accounts 2.3.1, customers 2.2.1) with
//     their JSON names: money is a decimal string with two decimals and a
//     currency, date-times are UTC. A holder API wraps them in
//     {data, links, meta} as they are.
//   - Synthetic, a deterministic bank of Options.Customers customers
//     (default 10,000, 20 % companies) reproducible from Options.Seed.
//     Nothing is materialised: every datum is derived on demand from
//     splitmix64 hashes of (seed, customer index, account ordinal, day,
//     transaction ordinal), so memory is constant, a page of 25
//     transactions over a year costs tens of microseconds and listing
//     accounts about a microsecond (BenchmarkTransactionsPage25,
//     BenchmarkAccountsList). CPFs and CNPJs carry valid check digits and
//     map to customer indexes through modular bijections, so
//     FindByDocument is O(1) without an index; Customer(i) enumerates
//     customers for the identity provider, the demo and benchmarks. Every
//     company's legal representative is one of the PF customers (who lists
//     it in Customer.Businesses), so one CPF logs in both as a person and
//     for the company.
//
// What the synthetic data holds: deposit, savings and prepaid accounts
// (accounts 2.4.2 types and subtypes); 12 months of transactions per
// account ending today (the data of a calendar day never changes, only the
// window slides), including monthly salary, payroll, service package, loan
// instalments, overdraft interest and savings yield on their calendar days,
// with counterparties (valid CPF/CNPJ, COMPE code, branch, account) where
// the spec asks for them; today's transactions later than now are
// LANCAMENTO_FUTURO; balances and overdraft limits (they change daily but
// are not the running sum of the transactions); credit-card accounts with
// one to three cards, limits, monthly bills whose total is exactly the sum
// of their transactions plus IOF on international purchases, payments of
// past bills, and transactions of every EnumCreditCardTransactionType with
// the fields their type requires (instalments, fees, MCC, foreign
// currency); customers' identification, qualification and financial
// relations consistent with their accounts.
//
// It never does HTTP, pagination links or permission checks (the holder
// APIs do), never stores anything, and never reads the clock except
// through Options.Now.
package corebank
