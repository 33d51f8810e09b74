package corehttp

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/ofp-dev/ofp/connectors/corebank"
	"github.com/ofp-dev/ofp/internal/backendrpc"
)

// Prefix is where the contract's endpoints live under the back end's base
// URL: POST <base>/core/v1/<method>.
const Prefix = "/core/v1/"

// Methods of the contract (the path after Prefix), one per corebank.Core
// method.
const (
	MethodLookupCustomer             = "lookup-customer"
	MethodAccounts                   = "accounts"
	MethodAccount                    = "account"
	MethodAccountBalances            = "account-balances"
	MethodAccountOverdraftLimits     = "account-overdraft-limits"
	MethodAccountTransactions        = "account-transactions"
	MethodCreditCardAccounts         = "credit-card-accounts"
	MethodCreditCardAccount          = "credit-card-account"
	MethodCreditCardLimits           = "credit-card-limits"
	MethodCreditCardBills            = "credit-card-bills"
	MethodCreditCardBillTransactions = "credit-card-bill-transactions"
	MethodCreditCardTransactions     = "credit-card-transactions"
	MethodPersonalIdentifications    = "personal-identifications"
	MethodPersonalQualifications     = "personal-qualifications"
	MethodPersonalFinancialRelations = "personal-financial-relations"
	MethodBusinessIdentifications    = "business-identifications"
	MethodBusinessQualifications     = "business-qualifications"
	MethodBusinessFinancialRelations = "business-financial-relations"
)

// Error codes of the contract and the port errors they stand for.
var codes = []struct {
	code   string
	status int
	err    error
}{
	{"CUSTOMER_NOT_FOUND", http.StatusNotFound, corebank.ErrCustomerNotFound},
	{"NOT_REPRESENTATIVE", http.StatusNotFound, corebank.ErrNotRepresentative},
	{"RESOURCE_NOT_FOUND", http.StatusNotFound, corebank.ErrResourceNotFound},
	{"WRONG_PERSON_TYPE", http.StatusUnprocessableEntity, corebank.ErrWrongPersonType},
	{"BAD_QUERY", http.StatusUnprocessableEntity, corebank.ErrBadQuery},
}

// Request is the body of every call. Owner scopes it; ID names the
// account or credit-card account (methods on one resource), BillID the
// bill; Query carries the filters and page of the list methods.
type Request struct {
	Owner  Owner  `json:"owner"`
	ID     string `json:"id,omitempty"`
	BillID string `json:"bill_id,omitempty"`
	Query  *Query `json:"query,omitempty"`
}

// Owner is corebank.Owner on the wire: digits only; cnpj empty for a
// person.
type Owner struct {
	CPF  string `json:"cpf"`
	CNPJ string `json:"cnpj,omitempty"`
}

// Query is the filters and page of a list call. Dates are UTC calendar
// days (YYYY-MM-DD), both ends inclusive; empty means unbounded on that
// side. From/To filter by booking date (account transactions), by
// transaction date (card transactions) or by due date (bills).
type Query struct {
	From            string `json:"from,omitempty"`
	To              string `json:"to,omitempty"`
	CreditDebit     string `json:"credit_debit,omitempty"`
	TransactionType string `json:"transaction_type,omitempty"`
	PayeeMCC        int    `json:"payee_mcc,omitempty"`
	Page            int    `json:"page,omitempty"`
	PageSize        int    `json:"page_size,omitempty"`
}

// Page is corebank.Page on the wire.
type Page[T any] struct {
	Items        []T `json:"items"`
	Page         int `json:"page"`
	PageSize     int `json:"page_size"`
	TotalRecords int `json:"total_records"`
	TotalPages   int `json:"total_pages"`
}

// Customer is corebank.Customer on the wire.
type Customer struct {
	ID                 string   `json:"id"`
	Type               string   `json:"type"`
	CPF                string   `json:"cpf"`
	CNPJ               string   `json:"cnpj,omitempty"`
	Name               string   `json:"name"`
	RepresentativeName string   `json:"representative_name,omitempty"`
	Businesses         []string `json:"businesses,omitempty"`
}

const day = "2006-01-02"

func dayString(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(day)
}

func parseDay(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(day, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: date %q is not YYYY-MM-DD", corebank.ErrBadQuery, s)
	}
	return t, nil
}

func (q *Query) dates() (corebank.DateRange, error) {
	if q == nil {
		return corebank.DateRange{}, nil
	}
	from, err := parseDay(q.From)
	if err != nil {
		return corebank.DateRange{}, err
	}
	to, err := parseDay(q.To)
	if err != nil {
		return corebank.DateRange{}, err
	}
	return corebank.DateRange{From: from, To: to}, nil
}

func (q *Query) page() corebank.PageRequest {
	if q == nil {
		return corebank.PageRequest{}
	}
	return corebank.PageRequest{Page: q.Page, PageSize: q.PageSize}
}

func toPage[T any](p corebank.Page[T]) Page[T] {
	items := p.Items
	if items == nil {
		items = []T{}
	}
	return Page[T]{Items: items, Page: p.Page, PageSize: p.PageSize, TotalRecords: p.TotalRecords, TotalPages: p.TotalPages}
}

func fromPage[T any](p Page[T]) corebank.Page[T] {
	return corebank.Page[T]{Items: p.Items, Page: p.Page, PageSize: p.PageSize, TotalRecords: p.TotalRecords, TotalPages: p.TotalPages}
}

func toCustomer(c corebank.Customer) Customer {
	return Customer{ID: c.ID, Type: string(c.Type), CPF: c.CPF, CNPJ: c.CNPJ, Name: c.Name,
		RepresentativeName: c.RepresentativeName, Businesses: c.Businesses}
}

func fromCustomer(c Customer) corebank.Customer {
	return corebank.Customer{ID: c.ID, Type: corebank.PersonType(c.Type), CPF: c.CPF, CNPJ: c.CNPJ, Name: c.Name,
		RepresentativeName: c.RepresentativeName, Businesses: c.Businesses}
}

func owner(o corebank.Owner) Owner   { return Owner{CPF: o.CPF, CNPJ: o.CNPJ} }
func (o Owner) port() corebank.Owner { return corebank.Owner{CPF: o.CPF, CNPJ: o.CNPJ} }

// portError turns a contract error into the port's error it stands for
// (errors.Is works on it); an unknown code is the back end failing.
func portError(err error) error {
	var be *backendrpc.Error
	if !errors.As(err, &be) {
		return err
	}
	for _, c := range codes {
		if c.code == be.Code {
			return fmt.Errorf("%w (%s)", c.err, be.Error())
		}
	}
	return fmt.Errorf("%w: %s (not a code of the core contract)", backendrpc.ErrUnavailable, be.Error())
}

// classify is the server side of portError.
func classify(err error) (int, string) {
	for _, c := range codes {
		if errors.Is(err, c.err) {
			return c.status, c.code
		}
	}
	return 0, ""
}
