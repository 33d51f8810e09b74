package portalpay

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/ofp-dev/ofp/consent/payments"
	"github.com/ofp-dev/ofp/consent/payments/paymentsql"
	"github.com/ofp-dev/ofp/consent/portal"
)

// Payments implements portal.Payments over a payments store. Names, when
// set, gives each payment's initiator its registered client name.
type Payments struct {
	Store *paymentsql.Store
	Names portal.ClientNames
}

var _ portal.Payments = Payments{}

// customerDocument is the logged user of a payment consent: the portal's
// customers log in with their CPF.
func customerDocument(cpf string) payments.Document {
	return payments.Document{Identification: cpf, Rel: "CPF"}
}

// PendingPayments implements portal.Payments.
func (pp Payments) PendingPayments(ctx context.Context, document string) ([]portal.Payment, error) {
	list, err := pp.Store.CustomerPayments(ctx, customerDocument(document))
	if err != nil {
		return nil, err
	}
	now := pp.Store.Now()
	out := make([]portal.Payment, 0, len(list))
	for _, cp := range list {
		p, c := cp.Payment, cp.Consent
		v := portal.Payment{ID: p.ID, Amount: p.Amount, Currency: p.Currency, Creditor: c.Creditor.Name,
			CreditorDocument: c.Creditor.CpfCnpj, Scheduled: p.Status == payments.PaymentSCHD,
			Cancellable: payments.Cancellable(p, now)}
		if p.ScheduledDate != nil {
			v.Date = p.ScheduledDate.Start()
		} else if c.Payment.Date != nil {
			v.Date = c.Payment.Date.Start()
		}
		if pp.Names != nil {
			v.Initiator, _ = pp.Names.ClientName(ctx, p.ClientID)
		}
		out = append(out, v)
	}
	return out, nil
}

// CancelPayment implements portal.Payments: a payment rule that refuses
// the cancellation becomes a *portal.NotCancellable with its detail, a
// payment that is not the customer's portal.ErrPaymentNotFound.
func (pp Payments) CancelPayment(ctx context.Context, document, id string, by portal.Actor) error {
	actor := payments.Actor{Who: by.Who, Reason: by.Reason, InteractionID: uuid.NewString()}
	_, err := pp.Store.CancelForCustomer(ctx, id, customerDocument(document), actor)
	if re, ok := payments.AsRuleError(err); ok {
		return &portal.NotCancellable{Reason: re.Detail}
	}
	if errors.Is(err, payments.ErrNotFound) {
		return fmt.Errorf("%w: %s", portal.ErrPaymentNotFound, id)
	}
	return err
}
