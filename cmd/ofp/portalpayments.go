package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/ofp-dev/ofp/consent/payments"
	"github.com/ofp-dev/ofp/consent/payments/paymentsql"
	"github.com/ofp-dev/ofp/consent/portal"
)

// portalPayments is the customer portal's view of the Pix payments the
// holder keeps (portal.Payments): a customer sees the payments still to be
// made under the consents they authorised, and may cancel a scheduled one
// at the holder (cancelledFrom DETENTORA).
type portalPayments struct {
	store *paymentsql.Store
	names portal.ClientNames
}

var _ portal.Payments = portalPayments{}

func customerDocument(cpf string) payments.Document {
	return payments.Document{Identification: cpf, Rel: "CPF"}
}

func (pp portalPayments) PendingPayments(ctx context.Context, document string) ([]portal.Payment, error) {
	list, err := pp.store.CustomerPayments(ctx, customerDocument(document))
	if err != nil {
		return nil, err
	}
	now := pp.store.Now()
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
		if pp.names != nil {
			v.Initiator, _ = pp.names.ClientName(ctx, p.ClientID)
		}
		out = append(out, v)
	}
	return out, nil
}

func (pp portalPayments) CancelPayment(ctx context.Context, document, id string, by portal.Actor) error {
	actor := payments.Actor{Who: by.Who, Reason: by.Reason, InteractionID: uuid.NewString()}
	_, err := pp.store.CancelForCustomer(ctx, id, customerDocument(document), actor)
	if re, ok := payments.AsRuleError(err); ok {
		return &portal.NotCancellable{Reason: re.Detail}
	}
	if errors.Is(err, payments.ErrNotFound) {
		return fmt.Errorf("%w: %s", portal.ErrPaymentNotFound, id)
	}
	return err
}
