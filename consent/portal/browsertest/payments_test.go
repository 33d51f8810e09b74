package browsertest

import (
	"context"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/consent/payments"
	"github.com/ofp-dev/ofp/consent/portal/portaltest"
)

// The seeded payments are on 12, 13 and 14 March 2026 (the clock is 10
// March), R$ 1.234,56 each to Loja Exemplo Ltda.
func TestCustomerCancelsAScheduledPaymentWithConfirmation(t *testing.T) {
	ctx := browser(t)
	e := portaltest.WithPayments(t, "sqlite", nil)
	sp := e.SeededPayments
	require.Len(t, sp.Scheduled, 3)
	base := e.Server.URL
	card := func(id string) string { return byID("pay-" + id) }

	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(base+"/portal/login"),
		chromedp.WaitVisible(css("#document")),
		chromedp.SendKeys(css("#document"), portaltest.CustomerCPF),
		chromedp.SendKeys(css("#password"), portaltest.CustomerPassword),
		submit("#login", card(sp.Scheduled[0])),
	))
	txt := bodyText(t, ctx)
	for _, want := range []string{"Pagamentos Pix agendados", "R$ 1.234,56 para Loja Exemplo Ltda.", "Agendado",
		"Data: 12/03/2026", "Data: 13/03/2026", "Data: 14/03/2026", "12.345.678/0001-99", "Iniciado por Iniciadora Pague Já"} {
		require.Contains(t, txt, want)
	}
	cards, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll(".card.payment").length`))
	require.NoError(t, err)
	require.Equal(t, 3, cards, "the customer's three payments, not the other customer's")
	shot(t, ctx, "08-payments")

	// Cancel the first one: a confirmation page first.
	require.NoError(t, chromedp.Do(ctx, submit(card(sp.Scheduled[0])+" a.danger", "#confirm")))
	txt = bodyText(t, ctx)
	require.Contains(t, txt, "Cancelar este pagamento?")
	require.Contains(t, txt, "Pagamento Pix de R$ 1.234,56 para Loja Exemplo Ltda., agendado para 12/03/2026.")
	require.Contains(t, txt, "Iniciadora Pague Já, que iniciou o pagamento, será avisada do cancelamento.")
	shot(t, ctx, "09-confirm-cancel-payment")
	p, err := e.Payments.GetPayment(context.Background(), sp.Scheduled[0])
	require.NoError(t, err)
	require.Equal(t, payments.PaymentSCHD, p.Status, "nothing happens before the confirmation")

	require.NoError(t, chromedp.Do(ctx, submit("#confirm", "#flash")))
	txt = bodyText(t, ctx)
	require.Contains(t, txt, "Pronto: o pagamento foi cancelado e não será feito.")
	require.NotContains(t, txt, "Data: 12/03/2026")
	cards, err = chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll(".card.payment").length`))
	require.NoError(t, err)
	require.Equal(t, 2, cards)
	shot(t, ctx, "10-payment-cancelled")

	p, err = e.Payments.GetPayment(context.Background(), sp.Scheduled[0])
	require.NoError(t, err)
	require.Equal(t, payments.PaymentCANC, p.Status)
	require.Equal(t, payments.CancelledFromHolder, p.Cancellation.From, "cancelledFrom DETENTORA")
	require.Equal(t, portaltest.CustomerCPF, p.Cancellation.By.Identification)
	hist, err := e.Payments.PaymentHistory(context.Background(), p.ID)
	require.NoError(t, err)
	require.Equal(t, "user:"+portaltest.CustomerCPF, hist[len(hist)-1].Who)
	notices, err := e.Payments.NoticesOf(context.Background(), p.ID)
	require.NoError(t, err)
	require.NotEmpty(t, notices, "the initiator is notified")

	// Another customer's payment has no page here: 404, and it stays scheduled.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(base+"/portal/payments/"+sp.Other+"/cancel"),
		chromedp.WaitVisible(css("body")),
	))
	require.Contains(t, bodyText(t, ctx), "Esse pagamento não está entre os seus pagamentos a realizar.")
	o, err := e.Payments.GetPayment(context.Background(), sp.Other)
	require.NoError(t, err)
	require.Equal(t, payments.PaymentSCHD, o.Status)
}

func TestOperatorCancelsACustomersPaymentWithReason(t *testing.T) {
	ctx := browser(t)
	e := portaltest.WithPayments(t, "sqlite", nil)
	sp := e.SeededPayments
	base := e.Server.URL
	signInAs(t, ctx, portaltest.Operator)

	cancel := "/console/customers/" + portaltest.CustomerCPF + "/payments/" + sp.Scheduled[1] + "/cancel"
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(base+"/console/customers/"+portaltest.CustomerCPF),
		chromedp.WaitVisible(css("#customer-payments")),
	))
	txt := bodyText(t, ctx)
	require.Contains(t, txt, "Loja Exemplo Ltda.")
	require.Contains(t, txt, "Iniciadora Pague Já")
	shot(t, ctx, "11-console-payments")

	require.NoError(t, chromedp.Do(ctx, submit(`a[href="`+cancel+`"]`, "#reason")))
	require.Contains(t, bodyText(t, ctx), "cancelledFrom DETENTORA")
	shot(t, ctx, "12-console-cancel-payment")
	const reason = "Cliente ligou: compra desfeita"
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SetValue(css("#kind"), "CUSTOMER_REQUEST"),
		chromedp.SendKeys(css("#reason"), reason),
		submit("#confirm", "#flash"),
	))
	require.Contains(t, bodyText(t, ctx), "Pronto: o pagamento foi cancelado e não será feito.")

	p, err := e.Payments.GetPayment(context.Background(), sp.Scheduled[1])
	require.NoError(t, err)
	require.Equal(t, payments.PaymentCANC, p.Status)
	require.Equal(t, portaltest.CustomerCPF, p.Cancellation.By.Identification, "cancelledBy is the customer, whoever acted")
	hist, err := e.Payments.PaymentHistory(context.Background(), p.ID)
	require.NoError(t, err)
	last := hist[len(hist)-1]
	require.Equal(t, "operator:"+portaltest.Operator, last.Who)
	require.Equal(t, "CUSTOMER_REQUEST: "+reason, last.Detail)
}
