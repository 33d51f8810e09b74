package portal

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/ofp-dev/ofp/internal/brtext"
	"github.com/ofp-dev/ofp/internal/rbac"
)

// Payments is what the customer portal needs of the Pix payments the
// institution holds (cmd/ofp adapts consent/payments/paymentsql). Optional:
// without it the portal shows no payments.
type Payments interface {
	// PendingPayments lists the customer's payments still to be made
	// (scheduled or pending), soonest first.
	PendingPayments(ctx context.Context, document string) ([]Payment, error)
	// CancelPayment cancels one of them at the holder, on the customer's
	// behalf; by says who acted (the customer, or an operator and why),
	// for the payment's history. It returns ErrPaymentNotFound when the
	// payment is not the customer's (or does not exist), and a
	// *NotCancellable saying why when it can no longer be cancelled.
	CancelPayment(ctx context.Context, document, id string, by Actor) error
}

// Payment is a payment still to be made, as the portal shows it.
type Payment struct {
	ID string
	// Initiator is who initiated it (the initiator's client name).
	Initiator string
	// Amount is a decimal with two places ("1234.56"); Currency its ISO code.
	Amount, Currency string
	// Creditor and CreditorDocument (CPF or CNPJ digits) are the payee.
	Creditor, CreditorDocument string
	// Date is the day the payment is made (Brasília), zero when unknown.
	Date time.Time
	// Scheduled is true for a scheduled payment, false for a pending one.
	Scheduled bool
	// Cancellable: the customer may still cancel it here (a scheduled
	// payment up to the day before its date).
	Cancellable bool
}

// Actor is who cancels a payment: Who is "user:<document>" or
// "operator:<name>"; Reason is an operator's.
type Actor struct{ Who, Reason string }

// ErrPaymentNotFound: the payment is not the customer's, or does not exist.
var ErrPaymentNotFound = errors.New("portal: payment not found")

// NotCancellable is a payment that can no longer be cancelled; Reason says
// why, in words for the customer.
type NotCancellable struct{ Reason string }

func (e *NotCancellable) Error() string { return "portal: payment cannot be cancelled: " + e.Reason }

// tooLate is why a scheduled payment on its day cannot be cancelled.
const tooLate = "Um pagamento agendado só pode ser cancelado até as 23:59 (horário de Brasília) do dia anterior à data dele."

// paymentView is a Payment as the home page prints it.
type paymentView struct {
	ID, Initiator, Amount, Creditor, Document, Date, State string
	Cancellable                                            bool
}

func viewPayment(p Payment) paymentView {
	v := paymentView{ID: p.ID, Initiator: or(p.Initiator, "Uma iniciadora de pagamentos"), Amount: brtext.Money(p.Amount, p.Currency),
		Creditor: p.Creditor, Document: brtext.Document(p.CreditorDocument), Cancellable: p.Cancellable, State: "Pendente"}
	if !p.Date.IsZero() {
		v.Date = p.Date.Format("02/01/2006")
	}
	if p.Scheduled {
		v.State = "Agendado"
	}
	return v
}

func (p *Portal) pendingPayments(ctx context.Context, doc string) ([]paymentView, error) {
	if p.o.Payments == nil {
		return nil, nil
	}
	ps, err := p.o.Payments.PendingPayments(ctx, doc)
	if err != nil {
		return nil, err
	}
	out := make([]paymentView, len(ps))
	for i, pay := range ps {
		out[i] = viewPayment(pay)
	}
	return out, nil
}

// paymentIDPattern is the shape of a paymentId (a UUID) in a portal path.
var paymentIDPattern = regexp.MustCompile(`^[0-9a-fA-F-]{36}$`)

// customerPayment serves /portal/payments/<id>/cancel: a confirmation page
// (GET), then the cancellation (POST).
func (p *Portal) customerPayment(w http.ResponseWriter, r *http.Request, base page, doc, rest string) {
	id, ok := strings.CutSuffix(rest, "/cancel")
	if !ok || !paymentIDPattern.MatchString(id) || p.o.Payments == nil {
		p.message(w, r, http.StatusNotFound, base, "Página não encontrada", "Esta página não existe.", PortalPrefix)
		return
	}
	pay, ok := p.pendingPayment(w, r, base, doc, id, PortalPrefix, true)
	if !ok {
		return
	}
	v := viewPayment(pay)
	if r.Method == http.MethodPost {
		p.cancelPayment(w, r, base, doc, id, Actor{Who: "user:" + doc}, PortalPrefix, true)
		return
	}
	if !pay.Cancellable {
		p.message(w, r, http.StatusConflict, base, "Não é possível cancelar", tooLate, PortalPrefix)
		return
	}
	subject := "Pagamento Pix de " + v.Amount + " para " + v.Creditor
	if v.Date != "" {
		subject += ", agendado para " + v.Date
	}
	base.Data = confirmation{Question: "Cancelar este pagamento?", Subject: subject + ".", Action: r.URL.Path,
		CSRF: p.sessions.csrf(r), Button: "Sim, cancelar o pagamento", ButtonClass: "danger", Back: PortalPrefix,
		Notes: []string{v.Initiator + ", que iniciou o pagamento, será avisada do cancelamento. O dinheiro não sairá da sua conta."}}
	p.render(w, r, http.StatusOK, "confirm", base)
}

// pendingPayment finds payment id among doc's pending payments; when it is
// not there (another customer's, or no longer to be made: the same answer)
// it answers 404 and returns false. On the customer's own portal
// (customer) the miss is also logged as a denial.
func (p *Portal) pendingPayment(w http.ResponseWriter, r *http.Request, base page, doc, id, back string, customer bool) (Payment, bool) {
	ps, err := p.o.Payments.PendingPayments(r.Context(), doc)
	if err != nil {
		p.o.Logger.Error("portal: customer payments", "err", err)
		p.message(w, r, http.StatusInternalServerError, base, "Indisponível", "Não foi possível carregar os pagamentos agora.", back)
		return Payment{}, false
	}
	for _, pay := range ps {
		if pay.ID == id {
			return pay, true
		}
	}
	p.paymentNotFound(w, r, base, back, customer)
	return Payment{}, false
}

func (p *Portal) paymentNotFound(w http.ResponseWriter, r *http.Request, base page, back string, customer bool) {
	msg := "Esse pagamento não está entre os pagamentos a realizar deste cliente."
	if customer {
		p.customers.Deny(r, rbac.RoleCustomer, "a payment that is not the customer's pending one")
		msg = "Esse pagamento não está entre os seus pagamentos a realizar."
	}
	p.message(w, r, http.StatusNotFound, base, "Não encontrado", msg, back)
}

// cancelPayment cancels doc's payment id as by and answers: back with a
// flash, or why it could not be done (customer: on the customer's portal).
func (p *Portal) cancelPayment(w http.ResponseWriter, r *http.Request, base page, doc, id string, by Actor, back string, customer bool) {
	err := p.o.Payments.CancelPayment(r.Context(), doc, id, by)
	var nc *NotCancellable
	switch {
	case err == nil:
		p.o.Logger.Info("portal: payment cancelled at the holder", "payment_id", id, "by", by.Who)
		http.Redirect(w, r, back+"?msg=payment-cancelled", http.StatusSeeOther)
	case errors.As(err, &nc):
		p.message(w, r, http.StatusConflict, base, "Não é possível cancelar", nc.Reason, back)
	case errors.Is(err, ErrPaymentNotFound):
		p.paymentNotFound(w, r, base, back, customer)
	default:
		p.o.Logger.Error("portal: cancel payment", "payment_id", id, "err", err)
		p.message(w, r, http.StatusInternalServerError, base, "Indisponível", "Não foi possível cancelar agora. Tente de novo em instantes.", back)
	}
}

// consolePayment serves /console/customers/<doc>/payments/<id>/cancel for
// operators: a confirmation asking the reason (GET), then the
// cancellation on the customer's behalf (POST), recorded with the
// operator's name and reason in the payment's history.
func (p *Portal) consolePayment(w http.ResponseWriter, r *http.Request, base page, prin rbac.Principal, doc, id string) {
	back := ConsolePrefix + "customers/" + doc
	if p.o.Payments == nil || !paymentIDPattern.MatchString(id) {
		p.message(w, r, http.StatusNotFound, base, "Não encontrado", "Esta página não existe.", ConsolePrefix)
		return
	}
	pay, ok := p.pendingPayment(w, r, base, doc, id, back, false)
	if !ok {
		return
	}
	if r.Method == http.MethodPost {
		kind, reason, ok := revokeReason(r)
		if !ok {
			p.message(w, r, http.StatusBadRequest, base, "Motivo obrigatório", "Escolha o tipo e descreva o motivo (até 500 caracteres).", r.URL.Path)
			return
		}
		p.cancelPayment(w, r, base, doc, id, Actor{Who: "operator:" + prin.Username, Reason: string(kind) + ": " + reason}, back, false)
		return
	}
	if !pay.Cancellable {
		p.message(w, r, http.StatusConflict, base, "Não é possível cancelar", tooLate, back)
		return
	}
	v := viewPayment(pay)
	base.Data = confirmation{Question: "Cancelar o pagamento " + id + "?",
		Subject: "Cliente " + doc + " · " + v.Amount + " para " + v.Creditor + " · " + v.Date + " · iniciado por " + v.Initiator,
		Notes:   []string{"O pagamento é cancelado em nome do cliente (cancelledFrom DETENTORA); a iniciadora é avisada."},
		Action:  r.URL.Path, CSRF: p.consoleCSRF(prin.Username), Button: "Cancelar o pagamento", ButtonClass: "danger", Back: back, AskReason: true}
	p.render(w, r, http.StatusOK, "confirm", base)
}
