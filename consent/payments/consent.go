package payments

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
)

// Consent is a payment consent (payments 4.0.0) as the holder keeps it.
// Times are UTC.
type Consent struct {
	// ID is "urn:<institution>:pay-<uuid>" (NewConsentID).
	ID string
	// ClientID is the OAuth client of the initiator that created it; OrgID
	// its directory organisationId (the iss of its signed requests).
	ClientID string
	OrgID    string
	Status   ConsentStatus
	// LoggedUser is the person logged in at the initiator (CPF).
	LoggedUser Document
	// BusinessEntity is set when the payer is a company (CNPJ).
	BusinessEntity *Document
	Creditor       Creditor
	Payment        ConsentPayment
	// DebtorAccount is the payer's account: sent by the initiator, or chosen
	// by the customer at authorisation. Required once AUTHORISED.
	DebtorAccount        *Account
	CreationDateTime     time.Time
	StatusUpdateDateTime time.Time
	// ExpirationDateTime: creation + 5 min while AWAITING_AUTHORISATION;
	// the multi-level deadline while PARTIALLY_ACCEPTED; statusUpdate + 60 min
	// once AUTHORISED; unchanged afterwards.
	ExpirationDateTime time.Time
	// Rejection is set when Status is REJECTED.
	Rejection *ConsentRejection
	// Version grows by one on every change.
	Version int64
}

// Document identifies a person (Rel "CPF") or company (Rel "CNPJ").
type Document struct {
	Identification string
	Rel            string
}

// Creditor is the payee (Identification in the spec).
type Creditor struct {
	PersonType string // PESSOA_NATURAL | PESSOA_JURIDICA
	CpfCnpj    string
	Name       string
}

// ConsentPayment is the consent's payment object.
type ConsentPayment struct {
	Type string // PIX
	// Date is set for an immediate payment (today, Brasília); Schedule for
	// a scheduled one. Exactly one of them is set.
	Date         *Date
	Schedule     *Schedule
	Currency     string // BRL
	Amount       string // decimal with two places, "100.00"
	IbgeTownCode string
	Details      Details
}

// Details is the consent's payment.details.
type Details struct {
	LocalInstrument string // MANU | DICT | QRDN | QRES | INIC
	QRCode          string
	Proxy           string
	CreditorAccount Account
}

// Account is a Pix account (CreditorAccount, DebtorAccount).
type Account struct {
	ISPB        string
	Issuer      string // branch; required for CACC and SVGS
	Number      string
	AccountType string // CACC | SVGS | TRAN
}

// Customer is who authenticated at the holder to authorise or reject a
// consent (from authz).
type Customer struct {
	CPF  string
	CNPJ string
}

// ConsentRejectionCode is the spec's EnumConsentRejectionReasonType.
type ConsentRejectionCode string

const (
	RejectInvalidAmount          ConsentRejectionCode = "VALOR_INVALIDO"
	RejectNotInformed            ConsentRejectionCode = "NAO_INFORMADO"
	RejectInfrastructure         ConsentRejectionCode = "FALHA_INFRAESTRUTURA"
	RejectAuthorisationExpired   ConsentRejectionCode = "TEMPO_EXPIRADO_AUTORIZACAO"
	RejectConsumptionExpired     ConsentRejectionCode = "TEMPO_EXPIRADO_CONSUMO"
	RejectByUser                 ConsentRejectionCode = "REJEITADO_USUARIO"
	RejectSameAccounts           ConsentRejectionCode = "CONTAS_ORIGEM_DESTINO_IGUAIS"
	RejectAccountDoesNotAllow    ConsentRejectionCode = "CONTA_NAO_PERMITE_PAGAMENTO"
	RejectInsufficientFunds      ConsentRejectionCode = "SALDO_INSUFICIENTE"
	RejectAboveLimit             ConsentRejectionCode = "VALOR_ACIMA_LIMITE"
	RejectInvalidQRCode          ConsentRejectionCode = "QRCODE_INVALIDO"
	maxConsentRejectionDetailLen                      = 2048
)

// ConsentRejectionCodes is the spec's enum.
var ConsentRejectionCodes = []ConsentRejectionCode{RejectInvalidAmount, RejectNotInformed, RejectInfrastructure,
	RejectAuthorisationExpired, RejectConsumptionExpired, RejectByUser, RejectSameAccounts, RejectAccountDoesNotAllow,
	RejectInsufficientFunds, RejectAboveLimit, RejectInvalidQRCode}

// Valid reports whether c is in the spec's enum.
func (c ConsentRejectionCode) Valid() bool {
	for _, v := range ConsentRejectionCodes {
		if c == v {
			return true
		}
	}
	return false
}

// ConsentRejection is the consent's rejectionReason.
type ConsentRejection struct {
	Code   ConsentRejectionCode
	Detail string
}

var (
	namespacePattern = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9-]{0,31}$`)
	urnPattern       = regexp.MustCompile(`^urn:[a-zA-Z0-9][a-zA-Z0-9-]{0,31}:[a-zA-Z0-9()+,\-.:=@;$_!*'%\/?#]+$`)
	paymentConsentID = regexp.MustCompile(`^urn:[a-zA-Z0-9][a-zA-Z0-9-]{0,31}:pay-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	paymentIDPattern = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9\-]{0,99}$`)
	digits11         = regexp.MustCompile(`^\d{11}$`)
	digits14         = regexp.MustCompile(`^\d{14}$`)
)

// NewConsentID returns a fresh payment consent ID "urn:<institution>:pay-<uuid>".
// The "pay-" marker lets a router tell payment consents from data-sharing
// consents of the same institution (IsConsentID).
func NewConsentID(institution string) (string, error) {
	if !namespacePattern.MatchString(institution) {
		return "", fmt.Errorf("payments: institution %q is not a valid URN namespace (1-32 of [a-zA-Z0-9-], starting alphanumeric)", institution)
	}
	return "urn:" + institution + ":pay-" + uuid.NewString(), nil
}

// IsConsentID reports whether id has the shape NewConsentID gives, i.e. is a
// payment consent of this package (authz routes consent:<id> scopes by it).
func IsConsentID(id string) bool { return paymentConsentID.MatchString(id) }

// ValidConsentID reports whether id matches the spec's consentId pattern.
func ValidConsentID(id string) bool { return len(id) <= 256 && urnPattern.MatchString(id) }

// ValidPaymentID reports whether id matches the spec's paymentId pattern.
func ValidPaymentID(id string) bool { return paymentIDPattern.MatchString(id) }

// NewPaymentID returns a fresh paymentId (a UUID: never an endToEndId).
func NewPaymentID() string { return uuid.NewString() }

// ParseAmount reads a spec amount ("^\d{1,16}\.\d{2}$").
func ParseAmount(s string) (decimal.Decimal, error) {
	i := strings.IndexByte(s, '.')
	if i < 1 || i > 16 || len(s)-i != 3 {
		return decimal.Decimal{}, fmt.Errorf("payments: amount %q is not digits with two decimals", s)
	}
	for j, r := range s {
		if j != i && (r < '0' || r > '9') {
			return decimal.Decimal{}, fmt.Errorf("payments: amount %q is not digits with two decimals", s)
		}
	}
	return decimal.NewFromString(s)
}

// localInstruments the holder accepts.
var localInstruments = map[string]bool{"MANU": true, "DICT": true, "QRDN": true, "QRES": true, "INIC": true}

// NewConsent validates the business rules of a consent request whose shape
// already matches the spec's CreatePaymentConsent schema, and returns it as
// created at now: AWAITING_AUTHORISATION, expiring at now + 5 min, version 1.
// A refusal is a *RuleError with the spec's 422 code.
func NewConsent(c Consent, now time.Time) (Consent, error) {
	if _, err := ConsentTransition(ConsentNone, ConsentEventCreate); err != nil {
		return Consent{}, err
	}
	if !ValidConsentID(c.ID) {
		return Consent{}, fmt.Errorf("payments: consent id %q is not a URN; build it with NewConsentID", c.ID)
	}
	if c.ClientID == "" {
		return Consent{}, errors.New("payments: consent without clientID")
	}
	if err := checkConsentRules(c, now); err != nil {
		return Consent{}, err
	}
	now = now.UTC()
	c.Status = ConsentAwaitingAuthorisation
	c.CreationDateTime = now
	c.StatusUpdateDateTime = now
	c.ExpirationDateTime = now.Add(AuthorisationTTL)
	c.Rejection = nil
	c.Version = 1
	return c, nil
}

func checkConsentRules(c Consent, now time.Time) error {
	if c.LoggedUser.Rel != "CPF" || !digits11.MatchString(c.LoggedUser.Identification) {
		return ruleErr(CodeInvalidParameter, "Parâmetro loggedUser.document não obedece às regras de formatação esperadas (CPF).")
	}
	if c.BusinessEntity != nil && (c.BusinessEntity.Rel != "CNPJ" || !digits14.MatchString(c.BusinessEntity.Identification)) {
		return ruleErr(CodeInvalidParameter, "Parâmetro businessEntity.document não obedece às regras de formatação esperadas (CNPJ).")
	}
	switch c.Creditor.PersonType {
	case "PESSOA_NATURAL":
		if !digits11.MatchString(c.Creditor.CpfCnpj) {
			return ruleErr(CodeInvalidPaymentDetail, "Parâmetro creditor.cpfCnpj não obedece às regras de negócio (PESSOA_NATURAL exige CPF).")
		}
	case "PESSOA_JURIDICA":
		if !digits14.MatchString(c.Creditor.CpfCnpj) {
			return ruleErr(CodeInvalidPaymentDetail, "Parâmetro creditor.cpfCnpj não obedece às regras de negócio (PESSOA_JURIDICA exige CNPJ).")
		}
	default:
		return ruleErr(CodeInvalidParameter, "Parâmetro creditor.personType não obedece às regras de formatação esperadas.")
	}
	p := c.Payment
	if p.Type != "PIX" {
		return ruleErr(CodePaymentMethodInvalid, fmt.Sprintf("Forma de pagamento [%s] não suportada.", p.Type))
	}
	if p.Currency != "BRL" {
		return ruleErr(CodeInvalidParameter, "Parâmetro payment.currency não obedece às regras de formatação esperadas (BRL).")
	}
	amount, err := ParseAmount(p.Amount)
	if err != nil || !amount.IsPositive() {
		return ruleErr(CodeInvalidParameter, "Parâmetro payment.amount não obedece às regras de formatação esperadas.")
	}
	switch {
	case p.Date != nil && p.Schedule != nil:
		return ruleErr(CodeInvalidParameter, "Parâmetros payment.date e payment.schedule são mutuamente excludentes.")
	case p.Date == nil && p.Schedule == nil:
		return ruleErr(CodeMissingParameter, "Parâmetro payment.date ou payment.schedule obrigatório não informado.")
	case p.Date != nil:
		if *p.Date != DateOf(now) {
			return ruleErr(CodeInvalidPaymentDate, "Data de pagamento inválida para a forma de pagamento selecionada: um pagamento imediato deve ser para hoje.")
		}
	default:
		dates, err := p.Schedule.Dates()
		if err != nil {
			return err
		}
		if err := CheckScheduleWindow(dates, now); err != nil {
			return err
		}
	}
	d := p.Details
	if !localInstruments[d.LocalInstrument] {
		return ruleErr(CodePaymentMethodInvalid, fmt.Sprintf("Forma de pagamento [%s] não suportada.", d.LocalInstrument))
	}
	if p.Schedule != nil && p.Schedule.Single == nil {
		switch d.LocalInstrument {
		case "MANU", "DICT", "QRES":
		default:
			return ruleErr(CodePaymentMethodInvalid, fmt.Sprintf("Forma de pagamento [%s] não suportada para agendamento recorrente.", d.LocalInstrument))
		}
	}
	if err := checkInstrument(d.LocalInstrument, d.Proxy, d.QRCode, "payment.details."); err != nil {
		return err
	}
	if err := checkAccount(d.CreditorAccount, "payment.details.creditorAccount"); err != nil {
		return err
	}
	if c.DebtorAccount != nil {
		if err := checkAccount(*c.DebtorAccount, "debtorAccount"); err != nil {
			return err
		}
	}
	return nil
}

// checkInstrument applies the localInstrument restrictions on proxy and
// qrCode (Details and CreatePixPayment descriptions).
func checkInstrument(li, proxy, qr, prefix string) error {
	switch li {
	case "MANU":
		if proxy != "" {
			return ruleErr(CodeInvalidPaymentDetail, "Parâmetro "+prefix+"proxy não obedece às regras de negócio: não deve ser informado para MANU.")
		}
		if qr != "" {
			return ruleErr(CodeInvalidPaymentDetail, "Parâmetro "+prefix+"qrCode não obedece às regras de negócio: não deve ser informado para MANU.")
		}
	case "DICT", "INIC":
		if proxy == "" {
			return ruleErr(CodeInvalidPaymentDetail, "Parâmetro "+prefix+"proxy não obedece às regras de negócio: obrigatório para "+li+".")
		}
		if qr != "" {
			return ruleErr(CodeInvalidPaymentDetail, "Parâmetro "+prefix+"qrCode não obedece às regras de negócio: não deve ser informado para "+li+".")
		}
	case "QRES", "QRDN":
		if proxy == "" {
			return ruleErr(CodeInvalidPaymentDetail, "Parâmetro "+prefix+"proxy não obedece às regras de negócio: obrigatório para "+li+".")
		}
		if qr == "" {
			return ruleErr(CodeInvalidPaymentDetail, "Parâmetro "+prefix+"qrCode não obedece às regras de negócio: obrigatório para "+li+".")
		}
	}
	return nil
}

func checkAccount(a Account, name string) error {
	if (a.AccountType == "CACC" || a.AccountType == "SVGS") && a.Issuer == "" {
		return ruleErr(CodeMissingParameter, "Parâmetro "+name+".issuer obrigatório não informado (CACC e SVGS).")
	}
	return nil
}

// ErrDebtorMismatch: the account chosen at authorisation differs from the
// debtorAccount the initiator sent in the consent.
var ErrDebtorMismatch = errors.New("payments: debtor account differs from the one in the consent")

// ErrRefusedAtAuthorisation: the consent could not be authorised and was
// REJECTED instead (its rejection says why: CONTAS_ORIGEM_DESTINO_IGUAIS,
// CONTA_NAO_PERMITE_PAGAMENTO). The change is stored; authz answers
// access_denied.
var ErrRefusedAtAuthorisation = errors.New("payments: consent rejected during authorisation")

// Matches reports whether cust is the consent's customer: the loggedUser's
// CPF and, for a business consent, the businessEntity's CNPJ.
func (c Consent) Matches(cust Customer) bool {
	if cust.CPF == "" || cust.CPF != c.LoggedUser.Identification {
		return false
	}
	if c.BusinessEntity != nil {
		return cust.CNPJ != "" && cust.CNPJ == c.BusinessEntity.Identification
	}
	return true
}

// Authorise is the customer's approval at now with debtor as the paying
// account (ignored when the initiator sent a debtorAccount, which must then
// be the same when given). It returns ErrNotPending, ErrCustomerMismatch,
// ErrDebtorMismatch or an expiry *PreconditionError without touching c. When
// the approval itself breaks a rule (same debtor and creditor account) c is
// moved to REJECTED and ErrRefusedAtAuthorisation is returned: store the
// change.
func Authorise(c *Consent, cust Customer, debtor Account, now time.Time) error {
	if c.Status != ConsentAwaitingAuthorisation && c.Status != ConsentPartiallyAccepted {
		return fmt.Errorf("%w (status %s)", ErrNotPending, c.Status)
	}
	if _, due := ConsentDue(*c, now); due {
		return &PreconditionError{Event: string(ConsentEventAuthorise), Reason: "the consent has expired"}
	}
	if !c.Matches(cust) {
		return ErrCustomerMismatch
	}
	chosen := debtor
	if c.DebtorAccount != nil {
		if debtor != (Account{}) && debtor != *c.DebtorAccount {
			return ErrDebtorMismatch
		}
		chosen = *c.DebtorAccount
	}
	if chosen.ISPB == "" || chosen.Number == "" || chosen.AccountType == "" {
		return fmt.Errorf("payments: authorisation needs the debtor account (ispb, number, accountType)")
	}
	next := *c
	next.DebtorAccount = &chosen
	if sameAccount(chosen, c.Payment.Details.CreditorAccount) {
		if err := ApplyConsent(&next, ConsentEventReject, now, &ConsentRejection{Code: RejectSameAccounts,
			Detail: "A conta selecionada é igual à conta destino e não permite realizar esse pagamento."}); err != nil {
			return err
		}
		*c = next
		return ErrRefusedAtAuthorisation
	}
	if err := ApplyConsent(&next, ConsentEventAuthorise, now, nil); err != nil {
		return err
	}
	*c = next
	return nil
}

func sameAccount(a, b Account) bool {
	return a.ISPB == b.ISPB && a.Number == b.Number && a.AccountType == b.AccountType &&
		strings.TrimLeft(a.Issuer, "0") == strings.TrimLeft(b.Issuer, "0")
}
