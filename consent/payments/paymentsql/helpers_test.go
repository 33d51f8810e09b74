package paymentsql

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/consent/payments"
	"github.com/ofp-dev/ofp/internal/sqltest"
)

// backend is one empty database; Open may be called more than once on it.
type backend = sqltest.Backend[*Store, Options]

// forEachEngine runs fn as a subtest per engine, each on a fresh database.
func forEachEngine(t *testing.T, fn func(t *testing.T, b backend)) {
	for name, nb := range sqltest.Backends("paymentsql_test", OpenSQLite, OpenPostgres) {
		t.Run(name, func(t *testing.T) { fn(t, nb(t)) })
	}
}

type testClock struct{ ns atomic.Int64 }

func newClock(t time.Time) *testClock {
	c := &testClock{}
	c.ns.Store(t.UnixNano())
	return c
}

func (c *testClock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *testClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }
func (c *testClock) Set(t time.Time)         { c.ns.Store(t.UnixNano()) }

// t0 is 12:00 UTC = 09:00 Brasília on 2026-03-10.
var t0 = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

var tpp = payments.Actor{Who: "tpp:client-a", ClientID: "client-a", InteractionID: "ia"}

func creditorAccount() payments.Account {
	return payments.Account{ISPB: "87654321", Issuer: "0002", Number: "654321", AccountType: "CACC"}
}

func debtorAccount() payments.Account {
	return payments.Account{ISPB: "12345678", Issuer: "0001", Number: "123456", AccountType: "CACC"}
}

var alice = payments.Customer{CPF: "11111111111"}

// consentReq is an immediate DICT consent for today, or a scheduled one
// when sched is set.
func consentReq(t *testing.T, now time.Time, sched *payments.Schedule) payments.Consent {
	t.Helper()
	id, err := payments.NewConsentID("ofpbank")
	require.NoError(t, err)
	c := payments.Consent{
		ID: id, ClientID: "client-a", OrgID: "org-a",
		LoggedUser: payments.Document{Identification: alice.CPF, Rel: "CPF"},
		Creditor:   payments.Creditor{PersonType: "PESSOA_JURIDICA", CpfCnpj: "12345678000199", Name: "Loja Exemplo"},
		Payment: payments.ConsentPayment{Type: "PIX", Currency: "BRL", Amount: "1234.56", IbgeTownCode: "5300108",
			Details: payments.Details{LocalInstrument: "DICT", Proxy: "loja@example.com", CreditorAccount: creditorAccount()}},
	}
	if sched != nil {
		c.Payment.Schedule = sched
	} else {
		d := payments.DateOf(now)
		c.Payment.Date = &d
	}
	return c
}

func e2e(at time.Time, seq int) string {
	return fmt.Sprintf("E12345678%s%011d", at.UTC().Format("200601021504"), seq)
}

// items are the POST /pix/payments items matching c, one per date of its
// schedule (or one now).
func items(t *testing.T, c payments.Consent, now time.Time, seq int) []payments.Payment {
	t.Helper()
	d := c.Payment.Details
	item := func(at time.Time, n int) payments.Payment {
		return payments.Payment{EndToEndID: e2e(at, n), LocalInstrument: d.LocalInstrument, Amount: c.Payment.Amount,
			Currency: "BRL", CreditorAccount: d.CreditorAccount, Proxy: d.Proxy, CnpjInitiator: "50685362000135",
			RemittanceInformation: "pedido 42"}
	}
	if c.Payment.Schedule == nil {
		return []payments.Payment{item(now, seq)}
	}
	dates, err := c.Payment.Schedule.Dates()
	require.NoError(t, err)
	var out []payments.Payment
	for i, day := range dates {
		out = append(out, item(time.Date(day.Year, day.Month, day.Day, 15, 0, 0, 0, time.UTC), seq*100+i))
	}
	return out
}

// authorisedConsent creates and authorises a consent.
func authorisedConsent(t *testing.T, s *Store, clk *testClock, sched *payments.Schedule) payments.Consent {
	t.Helper()
	ctx := context.Background()
	c, err := s.CreateConsent(ctx, consentReq(t, clk.Now(), sched), nil, tpp)
	require.NoError(t, err)
	c, err = s.Authorise(ctx, c.ID, alice, debtorAccount())
	require.NoError(t, err)
	require.Equal(t, payments.ConsentAuthorised, c.Status)
	return c
}

// threeDailyPayments authorises a consent of three daily payments from
// two days after t0 and creates them (RCVD).
func threeDailyPayments(t *testing.T, s *Store, clk *testClock) (payments.Date, payments.Consent, []payments.Payment) {
	t.Helper()
	start := payments.DateOf(t0).AddDays(2)
	c := authorisedConsent(t, s, clk, &payments.Schedule{Daily: &payments.ScheduleDaily{StartDate: start, Quantity: 3}})
	ps, err := s.CreatePayments(context.Background(), c.ID, "client-a", items(t, c, clk.Now(), 1), nil, tpp)
	require.NoError(t, err)
	return start, c, ps
}

func idemFor(endpoint, key, hash string) *payments.IdempotencyRecord {
	return &payments.IdempotencyRecord{IdempotencyKey: payments.IdempotencyKey{Endpoint: endpoint, OrgID: "org-a", Key: key}, RequestHash: hash}
}
