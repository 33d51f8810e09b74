package portalpay_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/consent/payments"
	"github.com/ofp-dev/ofp/consent/portal"
	"github.com/ofp-dev/ofp/consent/portal/portalpay"
	"github.com/ofp-dev/ofp/consent/portal/portaltest"
	"github.com/ofp-dev/ofp/internal/sqltest"
)

func TestPaymentsOverTheStore(t *testing.T) {
	for _, engine := range sqltest.Engines {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			e := portaltest.WithPayments(t, engine, nil)
			sp := e.SeededPayments
			pp := portalpay.Payments{Store: e.Payments, Names: portaltest.ClientNames{portaltest.PaymentInitiator: portaltest.PaymentInitiatorName}}

			list, err := pp.PendingPayments(ctx, portaltest.CustomerCPF)
			require.NoError(t, err)
			require.Len(t, list, 3)
			for i, p := range list {
				require.Equal(t, sp.Scheduled[i], p.ID, "soonest first")
				require.Equal(t, portaltest.PaymentAmount, p.Amount)
				require.Equal(t, "BRL", p.Currency)
				require.Equal(t, portaltest.PaymentCreditor, p.Creditor)
				require.Equal(t, "12345678000199", p.CreditorDocument)
				require.Equal(t, portaltest.PaymentInitiatorName, p.Initiator)
				require.True(t, p.Scheduled)
				require.True(t, p.Cancellable)
				require.Equal(t, time.Date(2026, 3, 12+i, 0, 0, 0, 0, p.Date.Location()), p.Date)
			}
			unnamed, err := portalpay.Payments{Store: e.Payments}.PendingPayments(ctx, portaltest.CustomerCPF)
			require.NoError(t, err)
			require.Empty(t, unnamed[0].Initiator, "no names: the portal says who in its own words")

			// Another customer's payment is not found, as a missing one.
			err = pp.CancelPayment(ctx, portaltest.CustomerCPF, sp.Other, portal.Actor{Who: "user:" + portaltest.CustomerCPF})
			require.ErrorIs(t, err, portal.ErrPaymentNotFound)
			require.NoError(t, pp.CancelPayment(ctx, portaltest.CustomerCPF, sp.Scheduled[0], portal.Actor{Who: "user:" + portaltest.CustomerCPF}))
			p, err := e.Payments.GetPayment(ctx, sp.Scheduled[0])
			require.NoError(t, err)
			require.Equal(t, payments.PaymentCANC, p.Status)

			// On the payment's day, the rule's words reach the customer.
			e.Clock.Advance(3 * 24 * time.Hour) // 13 March, 12:00 UTC
			list, err = pp.PendingPayments(ctx, portaltest.CustomerCPF)
			require.NoError(t, err)
			require.Len(t, list, 2)
			require.False(t, list[0].Cancellable, "13 March is today")
			require.True(t, list[1].Cancellable)
			err = pp.CancelPayment(ctx, portaltest.CustomerCPF, sp.Scheduled[1], portal.Actor{Who: "user:" + portaltest.CustomerCPF})
			var nc *portal.NotCancellable
			require.True(t, errors.As(err, &nc), "%v", err)
			require.NotEmpty(t, nc.Reason)
		})
	}
}
