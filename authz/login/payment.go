package login

import (
	"strings"
	"time"

	"github.com/ofp-dev/ofp/internal/brtext"
)

// Payment is what a payment consent asks the customer to pay: the consent
// page shows it above the choice of the account to pay from, so that the
// customer checks the amount, the payee and the date at the institution
// that moves the money, not only at the initiator (Open Finance Brasil's
// customer experience guide asks for the same items).
type Payment struct {
	// Amount is the consent's decimal amount with two places ("1234.56");
	// Currency its ISO code (BRL).
	Amount, Currency string
	// CreditorName and CreditorDocument (CPF, 11 digits, or CNPJ, 14)
	// are the payee. A payee's CPF is shown masked, as Pix apps do.
	CreditorName, CreditorDocument string
	// Proxy is the payee's Pix key (DICT, QRDN, QRES); empty for MANU/INIC.
	Proxy string
	// LocalInstrument is the spec's MANU | DICT | QRDN | QRES | INIC.
	LocalInstrument string
	// CreditorAccount is the payee's account.
	CreditorAccount PaymentAccount
	// DebtorAccount is set when the initiator named the account to pay
	// from: the page shows it, and offers only that account.
	DebtorAccount *PaymentAccount
	// Dates are the days (Brasília) the payment is made: one for an
	// immediate payment or a single scheduled one, several for a
	// recurring schedule.
	Dates []time.Time
	// Scheduled is true for a scheduled payment (payment.schedule), false
	// for an immediate one (payment.date).
	Scheduled bool
	// Note is the schedule's additionalInformation, when any.
	Note string
}

// PaymentAccount is a Pix account as the spec gives it.
type PaymentAccount struct {
	ISPB, Branch, Number, Type string
}

// String is how the page names the account:
// "ISPB 12345678 · agência 0001 · conta 9876543 (conta corrente)".
func (a PaymentAccount) String() string {
	var parts []string
	if a.ISPB != "" {
		parts = append(parts, "ISPB "+a.ISPB)
	}
	if a.Branch != "" {
		parts = append(parts, "agência "+a.Branch)
	}
	if a.Number != "" {
		parts = append(parts, "conta "+a.Number)
	}
	s := strings.Join(parts, " · ")
	if t := accountTypes[a.Type]; t != "" && s != "" {
		s += " (" + t + ")"
	}
	return s
}

// paymentView is Payment as the template prints it.
type paymentView struct {
	Amount      string // "R$ 1.234,56"
	RawAmount   string // the consent's amount, for data-amount
	Creditor    string
	Document    string // "CPF ***.982.247-**" or "CNPJ 12.345.678/0001-90"
	ProxyLabel  string // "Chave Pix / Pix key", "QR Code" ...
	Proxy       string
	Account     string // "ISPB 12345678 · agência 0001 · conta 9876543 (conta corrente)"
	Debtor      string // the account named by the initiator, "" when none
	DateLabelPT string
	DateLabelEN string
	Dates       []string // "26/11/2026"
	Note        string
}

func (p *Payment) view() *paymentView {
	if p == nil {
		return nil
	}
	v := &paymentView{Amount: brtext.Money(p.Amount, p.Currency), RawAmount: p.Amount, Creditor: p.CreditorName,
		Document: brtext.Document(p.CreditorDocument), Proxy: p.Proxy, Note: p.Note}
	switch p.LocalInstrument {
	case "QRDN", "QRES":
		v.ProxyLabel = "Chave Pix do QR Code / QR code's Pix key"
	default:
		v.ProxyLabel = "Chave Pix / Pix key"
	}
	v.Account = p.CreditorAccount.String()
	if p.DebtorAccount != nil {
		v.Debtor = p.DebtorAccount.String()
	}
	for _, d := range p.Dates {
		v.Dates = append(v.Dates, d.Format("02/01/2006"))
	}
	switch {
	case !p.Scheduled:
		v.DateLabelPT, v.DateLabelEN = "Data", "Date"
	case len(p.Dates) == 1:
		v.DateLabelPT, v.DateLabelEN = "Agendado para", "Scheduled for"
	default:
		v.DateLabelPT, v.DateLabelEN = "Agendados para", "Scheduled for"
	}
	return v
}

var accountTypes = map[string]string{"CACC": "conta corrente", "SVGS": "poupança", "TRAN": "conta de pagamento"}
