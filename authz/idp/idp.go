package idp

import (
	"context"
	"errors"
)

// LoA is the level of assurance an authentication reached (FAPI-BR acr
// urn:brasil:openbanking:loa2 / loa3).
type LoA int

const (
	// LoA2: one factor (password).
	LoA2 LoA = 2
	// LoA3: two factors (password and one-time code).
	LoA3 LoA = 3
)

// Credentials is what the customer typed on the login page. CPF and CNPJ
// are digits only (see NormaliseDocument).
type Credentials struct {
	CPF string
	// CNPJ is set when the customer logs in on behalf of a business.
	CNPJ     string
	Password string
	// OTP is the one-time code of the second factor; empty for LoA2.
	OTP string
}

// Identity is an authenticated customer.
type Identity struct {
	// Subject is the stable, opaque sub of the customer: the same for every
	// consent and client of the institution (FAPI-BR), never a document number.
	Subject string
	CPF     string
	// CNPJ is the business the customer acts for, empty for personal logins.
	CNPJ string
	// Name is shown on the consent page.
	Name string
	// LoA is what this authentication reached.
	LoA LoA
}

// Account is a resource the customer may share (Resources API resourceId and type).
type Account struct {
	ID string
	// Type is the Resources API type: ACCOUNT, CREDIT_CARD_ACCOUNT, LOAN,
	// FINANCING, UNARRANGED_ACCOUNT_OVERDRAFT, INVOICE_FINANCING,
	// BANK_FIXED_INCOME, CREDIT_FIXED_INCOME, VARIABLE_INCOME,
	// TREASURE_TITLE, FUND, EXCHANGE.
	Type string
	// Label is what the customer sees ("Conta corrente 0001 12345-6").
	Label string
}

// Errors of a Provider.
var (
	// ErrInvalidCredentials: unknown customer, wrong password or one-time
	// code, or a CNPJ the customer does not represent. The login page shows
	// one generic message and counts a failure for rate limiting.
	ErrInvalidCredentials = errors.New("idp: invalid credentials")
	// ErrSecondFactorRequired: the password was right but the request needs
	// LoA3 and no valid one-time code was given; the page asks for it.
	ErrSecondFactorRequired = errors.New("idp: a one-time code is required")
)

// Provider authenticates customers against the institution's IAM.
type Provider interface {
	// Authenticate checks the credentials. minLoA is the level the
	// authorization request needs: with LoA3 a missing or wrong OTP fails
	// (ErrSecondFactorRequired or ErrInvalidCredentials). Other errors mean
	// the IAM is unavailable.
	Authenticate(ctx context.Context, c Credentials, minLoA LoA) (Identity, error)
}

// AccountLister lists the resources an authenticated customer may share.
type AccountLister interface {
	Accounts(ctx context.Context, who Identity) ([]Account, error)
}
