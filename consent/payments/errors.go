package payments

import (
	"errors"
	"fmt"
)

// Codes of the spec's 422 answers (422ResponseErrorCreateConsent,
// EnumErrorsCreatePayment, EnumErrorsCreatePixPayment).
const (
	CodePaymentMethodInvalid   = "FORMA_PAGAMENTO_INVALIDA"
	CodeInvalidPaymentDate     = "DATA_PAGAMENTO_INVALIDA"
	CodeInvalidPaymentDetail   = "DETALHE_PAGAMENTO_INVALIDO"
	CodeMissingParameter       = "PARAMETRO_NAO_INFORMADO"
	CodeInvalidParameter       = "PARAMETRO_INVALIDO"
	CodeIdempotency            = "ERRO_IDEMPOTENCIA"
	CodeNotInformed            = "NAO_INFORMADO"
	CodeInsufficientFunds      = "SALDO_INSUFICIENTE"
	CodeAboveLimit             = "VALOR_ACIMA_LIMITE"
	CodeInvalidAmount          = "VALOR_INVALIDO"
	CodeInvalidCharge          = "COBRANCA_INVALIDA"
	CodeConsentInvalid         = "CONSENTIMENTO_INVALIDO"
	CodePaymentDiverges        = "PAGAMENTO_DIVERGENTE_CONSENTIMENTO"
	CodeRefusedByHolder        = "PAGAMENTO_RECUSADO_DETENTORA"
	CodeRefusedBySPI           = "PAGAMENTO_RECUSADO_SPI"
	CodeConsentPendingApproval = "CONSENTIMENTO_PENDENTE_AUTORIZACAO"
	CodeCancelNotAllowed       = "PAGAMENTO_NAO_PERMITE_CANCELAMENTO"
)

// titles are the spec's titles for each 422 code.
var titles = map[string]string{
	CodePaymentMethodInvalid:   "Forma de pagamento inválida.",
	CodeInvalidPaymentDate:     "Data de pagamento inválida.",
	CodeInvalidPaymentDetail:   "Detalhe do pagamento inválido.",
	CodeMissingParameter:       "Parâmetro não informado.",
	CodeInvalidParameter:       "Parâmetro inválido.",
	CodeIdempotency:            "Erro idempotência.",
	CodeNotInformed:            "Não informado.",
	CodeInsufficientFunds:      "Saldo insuficiente.",
	CodeAboveLimit:             "Acima do limite estabelecido.",
	CodeInvalidAmount:          "Valor inválido.",
	CodeInvalidCharge:          "Cobrança inválida.",
	CodeConsentInvalid:         "Consentimento inválido (em status final).",
	CodePaymentDiverges:        "Divergência entre pagamento e consentimento.",
	CodeRefusedByHolder:        "Pagamento recusado pela detentora de conta.",
	CodeRefusedBySPI:           "Pagamento recusado no Sistema de Pagamentos Instantâneos (SPI).",
	CodeConsentPendingApproval: "Consentimento pendente autorização de múltiplas alçadas.",
	CodeCancelNotAllowed:       "Pagamento não permite cancelamento.",
}

// Title is the spec's title for a 422 code ("" for an unknown code).
func Title(code string) string { return titles[code] }

// IdempotencyDetail is the spec's detail for ERRO_IDEMPOTENCIA.
const IdempotencyDetail = "Conteúdo da mensagem (claim data) diverge do conteúdo associado a esta chave de idempotência (x-idempotency-key)."

// RuleError is a business-rule refusal the API answers with 422 and the
// spec's Code (the answer is a signed JWT like every other body of this
// API). Detail is shown to the initiator.
type RuleError struct {
	Code   string
	Detail string
}

func (e *RuleError) Error() string { return fmt.Sprintf("payments: %s: %s", e.Code, e.Detail) }

func ruleErr(code, detail string) *RuleError { return &RuleError{Code: code, Detail: detail} }

// AsRuleError returns err's *RuleError, if it wraps one.
func AsRuleError(err error) (*RuleError, bool) {
	var re *RuleError
	ok := errors.As(err, &re)
	return re, ok
}

// Errors stores and the service return; check with errors.Is.
var (
	// ErrNotFound: no consent or payment with that ID (HTTP 404).
	ErrNotFound = errors.New("payments: not found")
	// ErrOtherClient: the resource belongs to another client (HTTP 403; authz: ErrConsentOtherClient).
	ErrOtherClient = errors.New("payments: resource of another client")
	// ErrNotPending: the consent is not awaiting authorisation (authz: ErrConsentNotPending).
	ErrNotPending = errors.New("payments: consent is not awaiting authorisation")
	// ErrCustomerMismatch: the authenticated customer is not the consent's
	// loggedUser / businessEntity (authz: ErrCustomerMismatch → access_denied).
	ErrCustomerMismatch = errors.New("payments: customer does not match the consent")
	// ErrAlreadyExists: an ID collided; generate another.
	ErrAlreadyExists = errors.New("payments: already exists")
	// ErrDuplicateEndToEnd: an endToEndId was already used by another payment.
	ErrDuplicateEndToEnd = errors.New("payments: endToEndId already used")
)
