package payments

import (
	"fmt"
	"regexp"
	"time"
)

// Payment is one Pix payment initiation (an item of POST /pix/payments).
type Payment struct {
	// ID is the paymentId (NewPaymentID); never equal to EndToEndID.
	ID        string
	ConsentID string
	// ClientID and OrgID are the initiator's, copied from the consent.
	ClientID string
	OrgID    string
	// BatchID groups the items of one POST /pix/payments.
	BatchID                   string
	EndToEndID                string
	LocalInstrument           string
	Amount                    string
	Currency                  string
	CreditorAccount           Account
	DebtorAccount             Account
	Proxy                     string
	QRCode                    string
	IbgeTownCode              string
	CnpjInitiator             string
	TransactionIdentification string
	RemittanceInformation     string
	AuthorisationFlow         string
	// ScheduledDate is the settlement date of a scheduled payment; nil for
	// an immediate one.
	ScheduledDate        *Date
	Status               PaymentStatus
	Rejection            *PaymentRejection
	Cancellation         *Cancellation
	CreationDateTime     time.Time
	StatusUpdateDateTime time.Time
	Version              int64
}

// PaymentRejectionCode is the spec's EnumRejectionReasonTypeGetPix.
type PaymentRejectionCode string

const (
	PayRejectInsufficientFunds    PaymentRejectionCode = "SALDO_INSUFICIENTE"
	PayRejectAboveLimit           PaymentRejectionCode = "VALOR_ACIMA_LIMITE"
	PayRejectInvalidAmount        PaymentRejectionCode = "VALOR_INVALIDO"
	PayRejectInvalidCharge        PaymentRejectionCode = "COBRANCA_INVALIDA"
	PayRejectNotInformed          PaymentRejectionCode = "NAO_INFORMADO"
	PayRejectDiverges             PaymentRejectionCode = "PAGAMENTO_DIVERGENTE_CONSENTIMENTO"
	PayRejectInvalidDetail        PaymentRejectionCode = "DETALHE_PAGAMENTO_INVALIDO"
	PayRejectRefusedByHolder      PaymentRejectionCode = "PAGAMENTO_RECUSADO_DETENTORA"
	PayRejectRefusedBySPI         PaymentRejectionCode = "PAGAMENTO_RECUSADO_SPI"
	PayRejectInfrastructure       PaymentRejectionCode = "FALHA_INFRAESTRUTURA"
	PayRejectInfrastructureSPI    PaymentRejectionCode = "FALHA_INFRAESTRUTURA_SPI"
	PayRejectInfrastructureDICT   PaymentRejectionCode = "FALHA_INFRAESTRUTURA_DICT"
	PayRejectInfrastructureICP    PaymentRejectionCode = "FALHA_INFRAESTRUTURA_ICP"
	PayRejectInfrastructurePSP    PaymentRejectionCode = "FALHA_INFRAESTRUTURA_PSP_RECEBEDOR"
	PayRejectInfrastructureHolder PaymentRejectionCode = "FALHA_INFRAESTRUTURA_DETENTORA"
	PayRejectSameAccounts         PaymentRejectionCode = "CONTAS_ORIGEM_DESTINO_IGUAIS"
	PayRejectSchedulingFailed     PaymentRejectionCode = "FALHA_AGENDAMENTO_PAGAMENTOS"
)

// PaymentRejectionCodes is the spec's EnumRejectionReasonTypeGetPix.
var PaymentRejectionCodes = []PaymentRejectionCode{PayRejectInsufficientFunds, PayRejectAboveLimit,
	PayRejectInvalidAmount, PayRejectInvalidCharge, PayRejectNotInformed, PayRejectDiverges, PayRejectInvalidDetail,
	PayRejectRefusedByHolder, PayRejectRefusedBySPI, PayRejectInfrastructure, PayRejectInfrastructureSPI,
	PayRejectInfrastructureDICT, PayRejectInfrastructureICP, PayRejectInfrastructurePSP, PayRejectInfrastructureHolder,
	PayRejectSameAccounts, PayRejectSchedulingFailed}

// Valid reports whether c is in EnumRejectionReasonTypeGetPix.
func (c PaymentRejectionCode) Valid() bool {
	for _, v := range PaymentRejectionCodes {
		if c == v {
			return true
		}
	}
	return false
}

// PaymentRejection is the payment's rejectionReason.
type PaymentRejection struct {
	Code   PaymentRejectionCode
	Detail string
}

// CancellationReason is the spec's EnumPaymentCancellationReasonType.
type CancellationReason string

const (
	CancelledPending    CancellationReason = "CANCELADO_PENDENCIA"
	CancelledScheduled  CancellationReason = "CANCELADO_AGENDAMENTO"
	CancelledMultiLevel CancellationReason = "CANCELADO_MULTIPLAS_ALCADAS"
)

// CancelledFrom is the spec's EnumPaymentCancellationFromType.
type CancelledFrom string

const (
	CancelledFromInitiator CancelledFrom = "INICIADORA"
	CancelledFromHolder    CancelledFrom = "DETENTORA"
)

// Cancellation is the payment's cancellation object.
type Cancellation struct {
	Reason CancellationReason
	From   CancelledFrom
	At     time.Time
	By     Document
}

var endToEndPattern = regexp.MustCompile(`^E([0-9]{8})([0-9]{4})(0[1-9]|1[0-2])(0[1-9]|[1-2][0-9]|3[0-1])(2[0-3]|[01][0-9])([0-5][0-9])([a-zA-Z0-9]{11})$`)

// EndToEndTime is the UTC minute an endToEndId carries (yyyyMMddHHmm).
func EndToEndTime(e2e string) (time.Time, error) {
	m := endToEndPattern.FindStringSubmatch(e2e)
	if m == nil {
		return time.Time{}, fmt.Errorf("payments: endToEndId %q does not match E<ispb><yyyyMMddHHmm><11 alphanumerics>", e2e)
	}
	t, err := time.Parse("200601021504", m[2]+m[3]+m[4]+m[5]+m[6])
	if err != nil {
		return time.Time{}, fmt.Errorf("payments: endToEndId %q carries no valid date: %w", e2e, err)
	}
	return t.UTC(), nil
}

// EndToEndTolerance is how far an immediate payment's endToEndId time may
// be from the moment it is received (the Pix rule: 12 hours either way).
const EndToEndTolerance = 12 * time.Hour

// NewPayments validates the items of a POST /pix/payments against the
// consent they consume and returns them created at now: status RCVD, the
// consent's debtor account, a scheduled date for each item of a scheduled
// consent, one BatchID. items carry the request fields; IDs come from
// newID. A refusal is a *RuleError with the spec's 422 code. It does not
// change the consent (the store consumes it in the same transaction).
func NewPayments(c Consent, items []Payment, now time.Time, batchID string, newID func() string) ([]Payment, error) {
	switch c.Status {
	case ConsentAuthorised:
	case ConsentPartiallyAccepted:
		return nil, ruleErr(CodeConsentPendingApproval, "Consentimento pendente autorização de múltiplas alçadas (status “PARTIALLY_ACCEPTED”).")
	default:
		return nil, ruleErr(CodeConsentInvalid, fmt.Sprintf("Consentimento inválido (status %s).", c.Status))
	}
	if _, due := ConsentDue(c, now); due {
		return nil, ruleErr(CodeConsentInvalid, "Consentimento inválido (tempo para consumo expirado).")
	}
	if c.DebtorAccount == nil {
		return nil, fmt.Errorf("payments: authorised consent %s has no debtor account", c.ID)
	}
	if len(items) == 0 {
		return nil, ruleErr(CodeMissingParameter, "Parâmetro data obrigatório não informado.")
	}
	var dates []Date
	if c.Payment.Schedule != nil {
		var err error
		if dates, err = c.Payment.Schedule.Dates(); err != nil {
			return nil, err
		}
	}
	want := max(1, len(dates))
	if len(items) != want {
		return nil, ruleErr(CodePaymentDiverges, fmt.Sprintf("Dados do pagamento divergentes dos dados do consentimento: esperados %d pagamentos, recebidos %d.", want, len(items)))
	}
	scheduled := map[Date]bool{}
	for _, d := range dates {
		scheduled[d] = true
	}
	used := map[Date]bool{}
	seenE2E := map[string]bool{}
	out := make([]Payment, len(items))
	for i, it := range items {
		if it.ConsentID != "" && it.ConsentID != c.ID {
			return nil, ruleErr(CodePaymentDiverges, "Dados do pagamento divergentes dos dados do consentimento: consentId.")
		}
		if err := matchConsent(c, it); err != nil {
			return nil, err
		}
		if err := checkInstrument(it.LocalInstrument, it.Proxy, it.QRCode, "data."); err != nil {
			return nil, err
		}
		if err := checkTxID(it.LocalInstrument, it.TransactionIdentification); err != nil {
			return nil, err
		}
		if err := checkAccount(it.CreditorAccount, "data.creditorAccount"); err != nil {
			return nil, err
		}
		if seenE2E[it.EndToEndID] {
			return nil, ruleErr(CodeInvalidParameter, "endToEndId repetido na mesma requisição.")
		}
		seenE2E[it.EndToEndID] = true
		e2eAt, err := EndToEndTime(it.EndToEndID)
		if err != nil {
			return nil, ruleErr(CodeInvalidParameter, "endToEndId")
		}
		p := it
		if len(dates) > 0 {
			day := Date{Year: e2eAt.Year(), Month: e2eAt.Month(), Day: e2eAt.Day()}
			if !scheduled[day] || used[day] || e2eAt.Hour() != 15 || e2eAt.Minute() != 0 {
				return nil, ruleErr(CodeInvalidParameter, "Data de liquidação inválida")
			}
			used[day] = true
			p.ScheduledDate = &day
		} else {
			if diff := e2eAt.Sub(now); diff > EndToEndTolerance || diff < -EndToEndTolerance {
				return nil, ruleErr(CodeInvalidParameter, "endToEndId")
			}
		}
		p.ID = newID()
		if p.ID == p.EndToEndID || !ValidPaymentID(p.ID) {
			return nil, fmt.Errorf("payments: generated paymentId %q is not valid", p.ID)
		}
		p.ConsentID = c.ID
		p.ClientID = c.ClientID
		p.OrgID = c.OrgID
		p.BatchID = batchID
		p.DebtorAccount = *c.DebtorAccount
		p.IbgeTownCode = firstNonEmpty(it.IbgeTownCode, c.Payment.IbgeTownCode)
		p.Status = PaymentRCVD
		p.Rejection = nil
		p.Cancellation = nil
		p.CreationDateTime = now.UTC()
		p.StatusUpdateDateTime = now.UTC()
		p.Version = 1
		out[i] = p
	}
	return out, nil
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// matchConsent checks that a payment item is what the consent allows.
func matchConsent(c Consent, it Payment) error {
	diverges := func(field string) error {
		return ruleErr(CodePaymentDiverges, "Dados do pagamento divergentes dos dados do consentimento: "+field+".")
	}
	want, err := ParseAmount(c.Payment.Amount)
	if err != nil {
		return fmt.Errorf("payments: consent %s has a bad amount: %w", c.ID, err)
	}
	got, err := ParseAmount(it.Amount)
	if err != nil {
		return ruleErr(CodeInvalidParameter, "Parâmetro payment.amount não obedece às regras de formatação esperadas.")
	}
	if !got.Equal(want) {
		return diverges("payment.amount")
	}
	if it.Currency != c.Payment.Currency {
		return diverges("payment.currency")
	}
	d := c.Payment.Details
	if it.LocalInstrument != d.LocalInstrument {
		return diverges("localInstrument")
	}
	if it.Proxy != d.Proxy {
		return diverges("proxy")
	}
	if it.QRCode != d.QRCode {
		return diverges("qrCode")
	}
	if !sameAccount(it.CreditorAccount, d.CreditorAccount) {
		return diverges("creditorAccount")
	}
	return nil
}

var txidPattern = regexp.MustCompile(`^[a-zA-Z0-9]+$`)

// checkTxID applies the transactionIdentification rule of each localInstrument.
func checkTxID(li, txid string) error {
	bad := func(why string) error {
		return ruleErr(CodeInvalidPaymentDetail, "Parâmetro transactionIdentification não obedece às regras de negócio: "+why+".")
	}
	if txid != "" && !txidPattern.MatchString(txid) {
		return bad("somente caracteres alfanuméricos")
	}
	switch li {
	case "MANU", "DICT":
		if txid != "" {
			return bad("não deve ser preenchido para " + li)
		}
	case "INIC":
		if txid == "" || len(txid) > 25 {
			return bad("obrigatório com até 25 caracteres para INIC")
		}
	case "QRES":
		if len(txid) > 25 {
			return bad("até 25 caracteres para QRES")
		}
	case "QRDN":
		if len(txid) < 26 || len(txid) > 35 {
			return bad("obrigatório com 26 a 35 caracteres para QRDN")
		}
	}
	return nil
}
