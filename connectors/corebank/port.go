package corebank

import (
	"context"
	"errors"
	"time"
)

// Core is the port the institution implements for its core systems: the
// holder APIs (accounts 2.4.2, credit-cards-accounts 2.3.1, customers 2.2.1)
// read every customer datum through it. It is declared here as the contract
// an institution's adapter satisfies; each consumer re-declares the subset of
// methods it calls.
//
// Every method is scoped by an Owner: a resource that exists but belongs to
// someone else is reported exactly like one that does not exist
// (ErrResourceNotFound), so a caller can never probe other customers' ids.
// Values come back already in the spec's shapes (money as decimal strings
// with two decimals, date-times in UTC); lists are in a stable order
// (chronological for transactions and bills, by opening for accounts) so
// that page N is the same page on every call.
type Core interface {
	// LookupCustomer resolves owner to the customer it names:
	// ErrCustomerNotFound for an unknown document, ErrNotRepresentative when
	// owner.CPF does not represent owner.CNPJ.
	LookupCustomer(ctx context.Context, owner Owner) (Customer, error)

	// Accounts lists owner's deposit, savings and prepaid accounts.
	Accounts(ctx context.Context, owner Owner) ([]Account, error)
	Account(ctx context.Context, owner Owner, accountID string) (AccountIdentification, error)
	AccountBalances(ctx context.Context, owner Owner, accountID string) (AccountBalances, error)
	// AccountOverdraftLimits is empty (no fields set) for accounts without
	// an overdraft (savings and prepaid accounts).
	AccountOverdraftLimits(ctx context.Context, owner Owner, accountID string) (AccountOverdraftLimits, error)
	AccountTransactions(ctx context.Context, owner Owner, accountID string, q AccountTransactionQuery) (Page[AccountTransaction], error)

	CreditCardAccounts(ctx context.Context, owner Owner) ([]CreditCardAccount, error)
	CreditCardAccount(ctx context.Context, owner Owner, creditCardAccountID string) (CreditCardAccountIdentification, error)
	CreditCardLimits(ctx context.Context, owner Owner, creditCardAccountID string) ([]CreditCardLimit, error)
	CreditCardBills(ctx context.Context, owner Owner, creditCardAccountID string, q BillQuery) (Page[CreditCardBill], error)
	CreditCardBillTransactions(ctx context.Context, owner Owner, creditCardAccountID, billID string, q CardTransactionQuery) (Page[CreditCardTransaction], error)
	CreditCardTransactions(ctx context.Context, owner Owner, creditCardAccountID string, q CardTransactionQuery) (Page[CreditCardTransaction], error)

	// Personal* answer for a natural person (owner.CNPJ empty); Business*
	// for a company (owner.CNPJ set, owner.CPF its representative).
	// ErrWrongPersonType when the owner is of the other kind.
	PersonalIdentifications(ctx context.Context, owner Owner) ([]PersonalIdentification, error)
	PersonalQualifications(ctx context.Context, owner Owner) (PersonalQualification, error)
	PersonalFinancialRelations(ctx context.Context, owner Owner) (PersonalFinancialRelation, error)
	BusinessIdentifications(ctx context.Context, owner Owner) ([]BusinessIdentification, error)
	BusinessQualifications(ctx context.Context, owner Owner) (BusinessQualification, error)
	BusinessFinancialRelations(ctx context.Context, owner Owner) (BusinessFinancialRelation, error)
}

// Errors of the port. The holder APIs map ErrCustomerNotFound,
// ErrNotRepresentative and ErrResourceNotFound to the spec's 404 (or 403 when
// the consent names a resource the customer no longer holds); ErrBadQuery to
// 422; anything else is the core failing and becomes a 500.
var (
	// ErrCustomerNotFound: no customer has this CPF (or CNPJ).
	ErrCustomerNotFound = errors.New("corebank: customer not found")
	// ErrNotRepresentative: the CPF is not a representative of the CNPJ.
	ErrNotRepresentative = errors.New("corebank: person does not represent the company")
	// ErrResourceNotFound: the account, card account or bill does not exist
	// or does not belong to the owner (deliberately indistinguishable).
	ErrResourceNotFound = errors.New("corebank: resource not found")
	// ErrWrongPersonType: personal data asked of a company or business data
	// of a person.
	ErrWrongPersonType = errors.New("corebank: wrong person type for this data")
	// ErrBadQuery: a query the core cannot answer (From after To, unknown
	// enum value).
	ErrBadQuery = errors.New("corebank: bad query")
)

// Owner names whose data is read, as a consent names it: the person who
// consented (loggedUser CPF) and, for a business consent, the company they
// act for (businessEntity CNPJ). Documents are digits only.
type Owner struct {
	CPF  string
	CNPJ string
}

// Business reports whether owner names a company.
func (o Owner) Business() bool { return o.CNPJ != "" }

// PersonType tells natural persons (PF) from companies (PJ).
type PersonType string

const (
	PF PersonType = "PF"
	PJ PersonType = "PJ"
)

// Customer is what the identity provider and the consent journey need to
// know about a customer.
type Customer struct {
	// ID is stable and opaque: the personalId or businessId of the
	// customers API, and a good OIDC subject.
	ID   string
	Type PersonType
	// CPF is the person's for PF, and the legal representative's (who logs
	// in) for PJ.
	CPF string
	// CNPJ is set for PJ only.
	CNPJ string
	// Name is the civil name (PF) or company name (PJ).
	Name string
	// RepresentativeName is the legal representative's civil name (PJ only).
	RepresentativeName string
	// Businesses lists the CNPJs of the companies this person represents
	// (PF only; they are customers too).
	Businesses []string
}

// Owner returns the Owner that reads this customer's data.
func (c Customer) Owner() Owner { return Owner{CPF: c.CPF, CNPJ: c.CNPJ} }

// DateRange is a range of calendar days in UTC, both ends inclusive. Only
// the date part of From and To counts. A zero From means "from the start of
// the history the core holds", a zero To "up to today": defaulting to the
// spec's "today" when a client sends neither is the API's job.
type DateRange struct {
	From, To time.Time
}

// PageRequest asks for page Page (1-based) of PageSize items. Zero values
// mean page 1 and DefaultPageSize; PageSize is capped at MaxPageSize.
type PageRequest struct {
	Page, PageSize int
}

// Paging limits (the specs' page-size default and maximum).
const (
	DefaultPageSize = 25
	MaxPageSize     = 1000
)

// Page is one page of a list, with what meta and links need.
type Page[T any] struct {
	Items        []T
	Page         int // the page answered, 1-based
	PageSize     int // the page size applied
	TotalRecords int
	TotalPages   int // 0 when TotalRecords is 0
}

// HasNext reports whether a page follows this one.
func (p Page[T]) HasNext() bool { return p.Page < p.TotalPages }

// AccountTransactionQuery selects account transactions by booking date
// (transactionDateTime's UTC date) and, optionally, credit/debit.
type AccountTransactionQuery struct {
	Booking DateRange
	// CreditDebit is "", "CREDITO" or "DEBITO".
	CreditDebit string
	PageRequest
}

// CardTransactionQuery selects credit-card transactions by transaction
// date and, optionally, transaction type and payee MCC.
type CardTransactionQuery struct {
	Transaction DateRange
	// TransactionType is "" or an EnumCreditCardTransactionType value.
	TransactionType string
	// PayeeMCC is 0 for any.
	PayeeMCC int
	PageRequest
}

// BillQuery selects bills by due date.
type BillQuery struct {
	Due DateRange
	PageRequest
}
