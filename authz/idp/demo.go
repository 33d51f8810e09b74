package idp

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"

	"github.com/google/uuid"
)

// TestCredential is one synthetic customer's login, for demo mode and tests.
// These are test secrets printed on purpose (ofp demo); a real Provider has
// nothing like it.
type TestCredential struct {
	Name string
	// Kind is "PF" (personal) or "PJ" (logs in for the business CNPJ).
	Kind     string
	CPF      string
	CNPJ     string
	Password string
	// OTP is the fixed one-time code that gives LoA3.
	OTP string
}

type demoBusiness struct {
	cnpj     string
	name     string
	accounts []Account
}

type demoCustomer struct {
	name       string
	cpf        string
	password   [sha256.Size]byte
	otp        [sha256.Size]byte
	cred       TestCredential
	accounts   []Account
	businesses []demoBusiness
}

// Demo is the built-in identity provider: fixed synthetic customers with
// deterministic documents, passwords, one-time codes, subjects and
// resources. It implements Provider and AccountLister.
type Demo struct {
	customers map[string]*demoCustomer
	order     []string
	dummy     [sha256.Size]byte
}

var (
	_ Provider      = (*Demo)(nil)
	_ AccountLister = (*Demo)(nil)
)

// demoNamespace derives the stable subjects and resource ids.
var demoNamespace = uuid.MustParse("6f0b8c2e-4d1a-4c7e-9a55-0f3e2d1c9b80")

func demoID(parts ...string) string {
	key := ""
	for _, p := range parts {
		key += p + "\x00"
	}
	return uuid.NewSHA1(demoNamespace, []byte(key)).String()
}

// NewDemo returns the demo provider with its three customers: two personal
// (PF) and one who also represents a company (PJ).
func NewDemo() *Demo {
	d := &Demo{customers: map[string]*demoCustomer{}, dummy: sha256.Sum256([]byte("ofp-demo-dummy"))}
	ana := completeCPF("529982247")
	bruno := completeCPF("111444777")
	carla := completeCPF("390533447")
	mendes := completeCNPJ("112223330001")
	d.add(&demoCustomer{name: "Ana Beatriz Souza", cpf: ana, cred: TestCredential{Password: "ana-demo-4821", OTP: "246810"},
		accounts: []Account{
			{ID: demoID(ana, "checking"), Type: "ACCOUNT", Label: "Conta corrente 0001 12345-6"},
			{ID: demoID(ana, "savings"), Type: "ACCOUNT", Label: "Conta poupança 0001 65432-1"},
			{ID: demoID(ana, "card"), Type: "CREDIT_CARD_ACCOUNT", Label: "Cartão Platinum final 4321"},
			{ID: demoID(ana, "loan"), Type: "LOAN", Label: "Empréstimo pessoal 2024/0815"},
			{ID: demoID(ana, "cdb"), Type: "BANK_FIXED_INCOME", Label: "CDB 110% CDI"},
		}})
	d.add(&demoCustomer{name: "Bruno Carvalho Lima", cpf: bruno, cred: TestCredential{Password: "bruno-demo-7359", OTP: "135790"},
		accounts: []Account{
			{ID: demoID(bruno, "checking"), Type: "ACCOUNT", Label: "Conta corrente 0002 22334-5"},
			{ID: demoID(bruno, "card"), Type: "CREDIT_CARD_ACCOUNT", Label: "Cartão Gold final 8765"},
		}})
	d.add(&demoCustomer{name: "Carla Mendes", cpf: carla, cred: TestCredential{Password: "carla-demo-6042", OTP: "975310"},
		accounts: []Account{
			{ID: demoID(carla, "checking"), Type: "ACCOUNT", Label: "Conta corrente 0003 99887-1"},
		},
		businesses: []demoBusiness{{cnpj: mendes, name: "Mendes Comércio Ltda", accounts: []Account{
			{ID: demoID(mendes, "checking"), Type: "ACCOUNT", Label: "Conta empresarial 0003 55667-8"},
			{ID: demoID(mendes, "card"), Type: "CREDIT_CARD_ACCOUNT", Label: "Cartão empresarial final 1122"},
			{ID: demoID(mendes, "invoice"), Type: "INVOICE_FINANCING", Label: "Antecipação de recebíveis 2025/0042"},
		}}}})
	return d
}

func (d *Demo) add(c *demoCustomer) {
	c.cred.Name, c.cred.Kind, c.cred.CPF = c.name, "PF", c.cpf
	c.password = sha256.Sum256([]byte(c.cred.Password))
	c.otp = sha256.Sum256([]byte(c.cred.OTP))
	d.customers[c.cpf] = c
	d.order = append(d.order, c.cpf)
}

// TestCredentials lists every synthetic login, in a fixed order: one "PF"
// entry per customer, then one "PJ" entry per company a customer represents.
func (d *Demo) TestCredentials() []TestCredential {
	var out, pj []TestCredential
	for _, cpf := range d.order {
		c := d.customers[cpf]
		out = append(out, c.cred)
		for _, b := range c.businesses {
			cred := c.cred
			cred.Kind, cred.CNPJ, cred.Name = "PJ", b.cnpj, c.name+" ("+b.name+")"
			pj = append(pj, cred)
		}
	}
	return append(out, pj...)
}

// Authenticate checks the demo credentials (see Provider).
func (d *Demo) Authenticate(_ context.Context, cr Credentials, minLoA LoA) (Identity, error) {
	pw := sha256.Sum256([]byte(cr.Password))
	c, ok := d.customers[cr.CPF]
	want := d.dummy
	if ok {
		want = c.password
	}
	// Compare even for unknown customers so timing does not tell which CPFs exist.
	if subtle.ConstantTimeCompare(pw[:], want[:]) != 1 || !ok {
		return Identity{}, ErrInvalidCredentials
	}
	id := Identity{Subject: demoID("sub", c.cpf), CPF: c.cpf, Name: c.name, LoA: LoA2}
	if cr.CNPJ != "" {
		found := false
		for _, b := range c.businesses {
			if b.cnpj == cr.CNPJ {
				found = true
			}
		}
		if !found {
			return Identity{}, ErrInvalidCredentials
		}
		id.CNPJ = cr.CNPJ
	}
	if cr.OTP != "" {
		otp := sha256.Sum256([]byte(cr.OTP))
		if subtle.ConstantTimeCompare(otp[:], c.otp[:]) != 1 {
			return Identity{}, ErrInvalidCredentials
		}
		id.LoA = LoA3
	}
	if id.LoA < minLoA {
		return Identity{}, ErrSecondFactorRequired
	}
	return id, nil
}

// Accounts lists the personal resources of a PF login, or the company's for
// a PJ login.
func (d *Demo) Accounts(_ context.Context, who Identity) ([]Account, error) {
	c, ok := d.customers[who.CPF]
	if !ok {
		return nil, fmt.Errorf("idp: demo has no customer with that CPF")
	}
	if who.CNPJ == "" {
		return append([]Account(nil), c.accounts...), nil
	}
	for _, b := range c.businesses {
		if b.cnpj == who.CNPJ {
			return append([]Account(nil), b.accounts...), nil
		}
	}
	return nil, fmt.Errorf("idp: demo customer does not represent that CNPJ")
}
