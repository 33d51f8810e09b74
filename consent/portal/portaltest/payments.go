package portaltest

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/consent/payments"
	"github.com/ofp-dev/ofp/consent/payments/paymentsql"
)

// ClientNames names the seeded initiators (portal.ClientNames).
type ClientNames map[string]string

// ClientName implements portal.ClientNames.
func (n ClientNames) ClientName(_ context.Context, clientID string) (string, bool) {
	name, ok := n[clientID]
	return name, ok
}

// Seeded payments: their initiator, payee and amount.
const (
	PaymentInitiator     = "client-pagueja"
	PaymentInitiatorName = "Iniciadora Pague Já"
	PaymentCreditor      = "Loja Exemplo Ltda."
	PaymentAmount        = "1234.56"
)

// SeededPayments are the Pix payments seeded by WithPayments.
type SeededPayments struct {
	// Scheduled are three daily scheduled payments (SCHD) of CustomerCPF
	// under one consent, from two days after the clock's date, soonest
	// first.
	Scheduled []string
	// Other is a scheduled payment of OtherCPF.
	Other string
}

// WithPayments builds an Env as New does, whose portal also shows the Pix
// payments of a real payments store (paymentsql, on the same database as
// the consents) through the adapter cmd/ofp wires, portalpay.Payments;
// Env.Payments is the store and Env.SeededPayments what it holds.
func WithPayments(t testing.TB, engine string, log *slog.Logger) *Env {
	t.Helper()
	return build(t, engine, log, true)
}

func openPayments(t testing.TB, engine, location string, clk *Clock, log *slog.Logger) *paymentsql.Store {
	t.Helper()
	ctx := context.Background()
	opts := paymentsql.Options{Now: clk.Now, Logger: log}
	var (
		s   *paymentsql.Store
		err error
	)
	if engine == "postgres" {
		s, err = paymentsql.OpenPostgres(ctx, location, opts)
	} else {
		s, err = paymentsql.OpenSQLite(ctx, location, opts)
	}
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

// seedPayments authorises a consent of three daily payments for
// CustomerCPF and one payment for OtherCPF, and schedules them all, as an
// initiator's POST /pix/payments and the processor would.
func (e *Env) seedPayments(t testing.TB) {
	t.Helper()
	start := payments.DateOf(e.Clock.Now()).AddDays(2)
	mine := e.scheduled(t, CustomerCPF, &payments.Schedule{Daily: &payments.ScheduleDaily{StartDate: start, Quantity: 3}}, 1)
	other := e.scheduled(t, OtherCPF, &payments.Schedule{Single: &payments.ScheduleSingle{Date: start}}, 2)
	e.SeededPayments = SeededPayments{Scheduled: mine, Other: other[0]}
}

func (e *Env) scheduled(t testing.TB, cpf string, sched *payments.Schedule, seq int) []string {
	t.Helper()
	ctx := context.Background()
	actor := payments.Actor{Who: "tpp:" + PaymentInitiator, ClientID: PaymentInitiator, InteractionID: fmt.Sprintf("seed-%d", seq)}
	creditorAccount := payments.Account{ISPB: "87654321", Issuer: "0002", Number: "654321", AccountType: "CACC"}
	id, err := payments.NewConsentID("ofpbank")
	require.NoError(t, err)
	c, err := e.Payments.CreateConsent(ctx, payments.Consent{
		ID: id, ClientID: PaymentInitiator, OrgID: "org-pagueja",
		LoggedUser: payments.Document{Identification: cpf, Rel: "CPF"},
		Creditor:   payments.Creditor{PersonType: "PESSOA_JURIDICA", CpfCnpj: "12345678000199", Name: PaymentCreditor},
		Payment: payments.ConsentPayment{Type: "PIX", Currency: "BRL", Amount: PaymentAmount, IbgeTownCode: "5300108", Schedule: sched,
			Details: payments.Details{LocalInstrument: "DICT", Proxy: "loja@example.com", CreditorAccount: creditorAccount}},
	}, nil, actor)
	require.NoError(t, err)
	c, err = e.Payments.Authorise(ctx, c.ID, payments.Customer{CPF: cpf},
		payments.Account{ISPB: "12345678", Issuer: "0001", Number: "123456", AccountType: "CACC"})
	require.NoError(t, err)
	dates, err := sched.Dates()
	require.NoError(t, err)
	items := make([]payments.Payment, len(dates))
	for i, day := range dates {
		at := time.Date(day.Year, day.Month, day.Day, 15, 0, 0, 0, time.UTC)
		items[i] = payments.Payment{EndToEndID: fmt.Sprintf("E12345678%s%011d", at.Format("200601021504"), seq*100+i),
			LocalInstrument: "DICT", Amount: PaymentAmount, Currency: "BRL", CreditorAccount: creditorAccount,
			Proxy: "loja@example.com", CnpjInitiator: "50685362000135", RemittanceInformation: "pedido 42"}
	}
	ps, err := e.Payments.CreatePayments(ctx, c.ID, PaymentInitiator, items, nil, actor)
	require.NoError(t, err)
	ids := make([]string, len(ps))
	for i, p := range ps {
		_, err := e.Payments.ApplyPaymentEvent(ctx, p.ID, payments.PaymentRCVD, payments.PaymentEventSchedule, payments.PaymentChange{}, actor)
		require.NoError(t, err)
		ids[i] = p.ID
	}
	return ids
}
