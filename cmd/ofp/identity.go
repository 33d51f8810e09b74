package main

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"

	"github.com/ofp-dev/ofp/authz/idp"
	"github.com/ofp-dev/ofp/authz/server"
	"github.com/ofp-dev/ofp/connectors/corebank"
	"github.com/ofp-dev/ofp/consent"
	"github.com/ofp-dev/ofp/consent/portal"
)

// customerIdentity is the customers' side of the holder: logins through
// an idp.Provider (the demo's, or the institution's IAM over the back-end
// contract), and the resources a customer may share read from the core.
type customerIdentity struct {
	idp.Provider
	core interface {
		Accounts(ctx context.Context, owner corebank.Owner) ([]corebank.Account, error)
		CreditCardAccounts(ctx context.Context, owner corebank.Owner) ([]corebank.CreditCardAccount, error)
	}
}

var (
	_ idp.AccountLister            = (*customerIdentity)(nil)
	_ portal.CustomerAuthenticator = (*customerIdentity)(nil)
)

// demoIdentity is the demo's identity provider: the customers of the
// synthetic core, all with the same demo password and one-time code (kept
// in <data-dir>/secrets and printed by `ofp demo`). An institution plugs its
// own IAM in behind idp.Provider instead (--backend-url).
type demoIdentity struct {
	core     *corebank.Synthetic
	password [32]byte // SHA-256 of the demo password
	otp      [32]byte // SHA-256 of the demo one-time code
	pwPlain  string
	otpPlain string
}

func newDemoIdentity(core *corebank.Synthetic, password, otp string) *demoIdentity {
	return &demoIdentity{core: core, password: sha256.Sum256([]byte(password)), otp: sha256.Sum256([]byte(otp)),
		pwPlain: password, otpPlain: otp}
}

var _ idp.Provider = (*demoIdentity)(nil)

func (d *demoIdentity) Authenticate(_ context.Context, cr idp.Credentials, minLoA idp.LoA) (idp.Identity, error) {
	pw := sha256.Sum256([]byte(cr.Password))
	c, err := d.core.FindByDocument(cr.CPF, cr.CNPJ)
	// Compare first, whatever the lookup said, so timing does not tell which CPFs exist.
	if subtle.ConstantTimeCompare(pw[:], d.password[:]) != 1 || err != nil {
		return idp.Identity{}, idp.ErrInvalidCredentials
	}
	id := idp.Identity{Subject: c.ID, CPF: c.CPF, CNPJ: c.CNPJ, Name: c.Name, LoA: idp.LoA2}
	if c.Type == "PJ" && c.RepresentativeName != "" {
		id.Name = c.RepresentativeName + " (" + c.Name + ")"
	}
	if cr.OTP != "" {
		otp := sha256.Sum256([]byte(cr.OTP))
		if subtle.ConstantTimeCompare(otp[:], d.otp[:]) != 1 {
			return idp.Identity{}, idp.ErrInvalidCredentials
		}
		id.LoA = idp.LoA3
	}
	if id.LoA < minLoA {
		return idp.Identity{}, idp.ErrSecondFactorRequired
	}
	return id, nil
}

// Accounts lists the accounts and credit-card accounts the customer may
// share: the same ids the customer-data APIs serve.
func (d *customerIdentity) Accounts(ctx context.Context, who idp.Identity) ([]idp.Account, error) {
	owner := corebank.Owner{CPF: who.CPF, CNPJ: who.CNPJ}
	accts, err := d.core.Accounts(ctx, owner)
	if err != nil {
		return nil, err
	}
	cards, err := d.core.CreditCardAccounts(ctx, owner)
	if err != nil {
		return nil, err
	}
	out := make([]idp.Account, 0, len(accts)+len(cards))
	for _, a := range accts {
		out = append(out, idp.Account{ID: a.AccountID, Type: "ACCOUNT", Label: accountChoiceLabel(a)})
	}
	for _, c := range cards {
		out = append(out, idp.Account{ID: c.CreditCardAccountID, Type: "CREDIT_CARD_ACCOUNT", Label: fmt.Sprintf("Cartão %s %s", c.Name, c.ProductType)})
	}
	return out, nil
}

// accountChoiceLabel is how the consent page names an account:
// "Conta corrente · agência 3001 · 1000000000-8" (a prepaid account has
// no branch).
func accountChoiceLabel(a corebank.Account) string {
	parts := []string{accountLabel(a.Type)}
	if a.BranchCode != "" {
		parts = append(parts, "agência "+a.BranchCode)
	}
	number := a.Number
	if a.CheckDigit != "" {
		number += "-" + a.CheckDigit
	}
	return strings.Join(append(parts, number), " · ")
}

func accountLabel(t string) string {
	switch t {
	case corebank.AccountChecking:
		return "Conta corrente"
	case corebank.AccountSavings:
		return "Conta poupança"
	case corebank.AccountPrepaid:
		return "Conta de pagamento"
	}
	return "Conta"
}

// AuthenticateCustomer is the portal's login: the document is a CPF (the
// customer's own consents) or a CNPJ the person represents is not asked
// for there; the portal shows the CPF's consents.
func (d *customerIdentity) AuthenticateCustomer(ctx context.Context, document, password string) (string, error) {
	doc := idp.NormaliseDocument(document)
	id, err := d.Authenticate(ctx, idp.Credentials{CPF: doc, Password: password}, idp.LoA2)
	if errors.Is(err, idp.ErrInvalidCredentials) || errors.Is(err, idp.ErrSecondFactorRequired) {
		return "", portal.ErrBadCustomerCredentials
	}
	if err != nil {
		return "", err
	}
	return id.CPF, nil
}

// resolveResources turns the ids a customer ticked on the consent page into
// consent resources, refusing any id that is not theirs.
func (d *customerIdentity) resolveResources(ctx context.Context, c server.Customer, ids []string) ([]consent.Resource, error) {
	accts, err := d.Accounts(ctx, idp.Identity{CPF: c.CPF, CNPJ: c.CNPJ})
	if err != nil {
		return nil, err
	}
	byID := make(map[string]string, len(accts))
	for _, a := range accts {
		byID[a.ID] = a.Type
	}
	out := make([]consent.Resource, 0, len(ids))
	for _, id := range ids {
		typ, ok := byID[id]
		if !ok {
			return nil, fmt.Errorf("%w: resource %s is not the customer's", server.ErrCustomerMismatch, id)
		}
		out = append(out, consent.Resource{ID: id, Type: typ, Status: "AVAILABLE"})
	}
	return out, nil
}

// testCredentials lists a few customers to try, for the banner.
func (d *demoIdentity) testCredentials() []idp.TestCredential {
	var out []idp.TestCredential
	var pf, pj bool
	for i := 0; i < d.core.Len() && !(pf && pj); i++ {
		c := d.core.Customer(i)
		if (c.Type == "PJ" && pj) || (c.Type != "PJ" && pf) {
			continue
		}
		kind := "PF"
		if c.Type == "PJ" {
			kind, pj = "PJ", true
		} else {
			pf = true
		}
		out = append(out, idp.TestCredential{Name: c.Name, Kind: kind, CPF: c.CPF, CNPJ: c.CNPJ, Password: d.pwPlain, OTP: d.otpPlain})
	}
	return out
}
