package payments

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func debtor() Account {
	return Account{ISPB: "12345678", Issuer: "0001", Number: "123456", AccountType: "CACC"}
}

func creditorAccount() Account {
	return Account{ISPB: "87654321", Issuer: "0002", Number: "654321", AccountType: "CACC"}
}

func consentRequest() Consent {
	today := DateOf(t0)
	return Consent{
		ID: "urn:ofpbank:pay-8c1c7a84-9a43-4c67-9ac1-56f6a4b0e2aa", ClientID: "client-a", OrgID: "org-a",
		LoggedUser: Document{Identification: "11111111111", Rel: "CPF"},
		Creditor:   Creditor{PersonType: "PESSOA_NATURAL", CpfCnpj: "22222222222", Name: "Maria"},
		Payment: ConsentPayment{Type: "PIX", Date: &today, Currency: "BRL", Amount: "100.00",
			Details: Details{LocalInstrument: "DICT", Proxy: "22222222222", CreditorAccount: creditorAccount()}},
	}
}

func validConsent(t *testing.T) Consent {
	t.Helper()
	c, err := NewConsent(consentRequest(), t0)
	require.NoError(t, err)
	return c
}

func requireRule(t *testing.T, err error, code string) {
	t.Helper()
	re, ok := AsRuleError(err)
	require.True(t, ok, "want a *RuleError %s, got %v", code, err)
	require.Equal(t, code, re.Code, re.Detail)
	require.NotEmpty(t, Title(code))
}

func TestNewConsentRules(t *testing.T) {
	c := validConsent(t)
	require.Equal(t, ConsentAwaitingAuthorisation, c.Status)
	require.Equal(t, int64(1), c.Version)

	cases := []struct {
		name string
		mut  func(*Consent)
		code string
	}{
		{"date in the past", func(c *Consent) { d := DateOf(t0).AddDays(-1); c.Payment.Date = &d }, CodeInvalidPaymentDate},
		{"date in the future", func(c *Consent) { d := DateOf(t0).AddDays(1); c.Payment.Date = &d }, CodeInvalidPaymentDate},
		{"date and schedule", func(c *Consent) {
			c.Payment.Schedule = &Schedule{Single: &ScheduleSingle{Date: DateOf(t0).AddDays(3)}}
		}, CodeInvalidParameter},
		{"neither date nor schedule", func(c *Consent) { c.Payment.Date = nil }, CodeMissingParameter},
		{"zero amount", func(c *Consent) { c.Payment.Amount = "0.00" }, CodeInvalidParameter},
		{"currency", func(c *Consent) { c.Payment.Currency = "USD" }, CodeInvalidParameter},
		{"MANU with proxy", func(c *Consent) { c.Payment.Details.LocalInstrument = "MANU" }, CodeInvalidPaymentDetail},
		{"DICT without proxy", func(c *Consent) { c.Payment.Details.Proxy = "" }, CodeInvalidPaymentDetail},
		{"QRES without qrCode", func(c *Consent) { c.Payment.Details.LocalInstrument = "QRES" }, CodeInvalidPaymentDetail},
		{"CACC without issuer", func(c *Consent) { c.Payment.Details.CreditorAccount.Issuer = "" }, CodeMissingParameter},
		{"natural person with CNPJ", func(c *Consent) { c.Creditor.CpfCnpj = "12345678000199" }, CodeInvalidPaymentDetail},
		{"loggedUser not CPF", func(c *Consent) { c.LoggedUser.Rel = "CNH" }, CodeInvalidParameter},
		{"recurring INIC", func(c *Consent) {
			c.Payment.Date = nil
			c.Payment.Schedule = &Schedule{Daily: &ScheduleDaily{StartDate: DateOf(t0).AddDays(1), Quantity: 3}}
			c.Payment.Details.LocalInstrument = "INIC"
		}, CodePaymentMethodInvalid},
		{"schedule today", func(c *Consent) {
			c.Payment.Date = nil
			c.Payment.Schedule = &Schedule{Single: &ScheduleSingle{Date: DateOf(t0)}}
		}, CodeInvalidPaymentDate},
		{"schedule beyond D+730", func(c *Consent) {
			c.Payment.Date = nil
			c.Payment.Schedule = &Schedule{Single: &ScheduleSingle{Date: DateOf(t0).AddDays(731)}}
		}, CodeInvalidPaymentDate},
		{"weekly reaching beyond D+730", func(c *Consent) {
			c.Payment.Date = nil
			c.Payment.Schedule = &Schedule{Weekly: &ScheduleWeekly{DayOfWeek: "SEGUNDA_FEIRA", StartDate: DateOf(t0).AddDays(400), Quantity: 60}}
		}, CodeInvalidPaymentDate},
		{"61 daily payments", func(c *Consent) {
			c.Payment.Date = nil
			c.Payment.Schedule = &Schedule{Daily: &ScheduleDaily{StartDate: DateOf(t0).AddDays(1), Quantity: 61}}
		}, CodeInvalidParameter},
		{"repeated custom dates", func(c *Consent) {
			c.Payment.Date = nil
			d := DateOf(t0).AddDays(2)
			c.Payment.Schedule = &Schedule{Custom: &ScheduleCustom{Dates: []Date{d, d.AddDays(1), d}}}
		}, CodeInvalidParameter},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := consentRequest()
			tc.mut(&c)
			_, err := NewConsent(c, t0)
			requireRule(t, err, tc.code)
		})
	}

	// D+1 and D+730 are the edges that work; late in the Brasília evening
	// "today" is still the Brasília day.
	for _, n := range []int{1, 730} {
		c := consentRequest()
		c.Payment.Date = nil
		c.Payment.Schedule = &Schedule{Single: &ScheduleSingle{Date: DateOf(t0).AddDays(n)}}
		_, err := NewConsent(c, t0)
		require.NoError(t, err, "D+%d", n)
	}
	late := time.Date(2026, 3, 11, 2, 30, 0, 0, time.UTC) // 23:30 on the 10th in Brasília
	c2 := consentRequest()
	_, err := NewConsent(c2, late)
	require.NoError(t, err, "the 10th is still today in Brasília")
}

func TestScheduleExpansion(t *testing.T) {
	start := Date{2026, 1, 31}
	dates, err := Schedule{Monthly: &ScheduleMonthly{DayOfMonth: 31, StartDate: start, Quantity: 4}}.Dates()
	require.NoError(t, err)
	require.Equal(t, []string{"2026-01-31", "2026-03-01", "2026-03-31", "2026-05-01"}, strs(dates),
		"a day the month lacks falls on the next day")

	dates, err = Schedule{Monthly: &ScheduleMonthly{DayOfMonth: 5, StartDate: Date{2026, 11, 20}, Quantity: 3}}.Dates()
	require.NoError(t, err)
	require.Equal(t, []string{"2026-12-05", "2027-01-05", "2027-02-05"}, strs(dates), "starts the month after when the day has passed")

	// 2026-03-10 is a Tuesday.
	dates, err = Schedule{Weekly: &ScheduleWeekly{DayOfWeek: "SEGUNDA_FEIRA", StartDate: Date{2026, 3, 10}, Quantity: 3}}.Dates()
	require.NoError(t, err)
	require.Equal(t, []string{"2026-03-16", "2026-03-23", "2026-03-30"}, strs(dates))
	dates, err = Schedule{Weekly: &ScheduleWeekly{DayOfWeek: "TERCA_FEIRA", StartDate: Date{2026, 3, 10}, Quantity: 2}}.Dates()
	require.NoError(t, err)
	require.Equal(t, []string{"2026-03-10", "2026-03-17"}, strs(dates))

	dates, err = Schedule{Daily: &ScheduleDaily{StartDate: Date{2026, 2, 27}, Quantity: 3}}.Dates()
	require.NoError(t, err)
	require.Equal(t, []string{"2026-02-27", "2026-02-28", "2026-03-01"}, strs(dates))

	dates, err = Schedule{Custom: &ScheduleCustom{Dates: []Date{{2026, 5, 2}, {2026, 4, 1}}}}.Dates()
	require.NoError(t, err)
	require.Equal(t, []string{"2026-04-01", "2026-05-02"}, strs(dates), "sorted")

	sixty := Schedule{Daily: &ScheduleDaily{StartDate: Date{2026, 4, 1}, Quantity: 60}}
	dates, err = sixty.Dates()
	require.NoError(t, err)
	require.Len(t, dates, MaxScheduledPayments)

	_, err = Schedule{}.Dates()
	requireRule(t, err, CodeInvalidParameter)
	_, err = Schedule{Daily: &ScheduleDaily{StartDate: start, Quantity: 2}, Custom: &ScheduleCustom{}}.Dates()
	requireRule(t, err, CodeInvalidParameter)

	_, err = ParseDate("2026-02-30")
	require.Error(t, err)
	d, err := ParseDate("2026-2-3")
	require.NoError(t, err)
	require.Equal(t, "2026-02-03", d.String())
}

func strs(ds []Date) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.String()
	}
	return out
}

func e2e(at time.Time, seq int) string {
	return fmt.Sprintf("E12345678%s%011d", at.UTC().Format("200601021504"), seq)
}

func authorised(t *testing.T, c Consent) Consent {
	t.Helper()
	require.NoError(t, Authorise(&c, Customer{CPF: c.LoggedUser.Identification, CNPJ: "12345678000199"}, debtor(), t0.Add(time.Minute)))
	return c
}

func itemFor(c Consent, at time.Time, seq int) Payment {
	d := c.Payment.Details
	return Payment{EndToEndID: e2e(at, seq), LocalInstrument: d.LocalInstrument, Amount: c.Payment.Amount, Currency: "BRL",
		CreditorAccount: d.CreditorAccount, Proxy: d.Proxy, QRCode: d.QRCode, CnpjInitiator: "50685362000135"}
}

func TestNewPaymentsRules(t *testing.T) {
	c := authorised(t, validConsent(t))
	now := t0.Add(2 * time.Minute)
	ids := 0
	newID := func() string { ids++; return fmt.Sprintf("pay-%d", ids) }

	ps, err := NewPayments(c, []Payment{itemFor(c, now, 1)}, now, "b1", newID)
	require.NoError(t, err)
	require.Len(t, ps, 1)
	require.Equal(t, PaymentRCVD, ps[0].Status)
	require.Equal(t, c.ID, ps[0].ConsentID)
	require.Equal(t, debtor(), ps[0].DebtorAccount)
	require.Nil(t, ps[0].ScheduledDate)

	cases := []struct {
		name  string
		items func() []Payment
		code  string
	}{
		{"amount differs", func() []Payment { p := itemFor(c, now, 1); p.Amount = "100.01"; return []Payment{p} }, CodePaymentDiverges},
		{"creditor differs", func() []Payment { p := itemFor(c, now, 1); p.CreditorAccount.Number = "1"; return []Payment{p} }, CodePaymentDiverges},
		{"proxy differs", func() []Payment { p := itemFor(c, now, 1); p.Proxy = "33333333333"; return []Payment{p} }, CodePaymentDiverges},
		{"two items for an immediate consent", func() []Payment { return []Payment{itemFor(c, now, 1), itemFor(c, now, 2)} }, CodePaymentDiverges},
		{"endToEndId a day old", func() []Payment { return []Payment{itemFor(c, now.Add(-24*time.Hour), 1)} }, CodeInvalidParameter},
		{"txid for DICT", func() []Payment { p := itemFor(c, now, 1); p.TransactionIdentification = "abc"; return []Payment{p} }, CodeInvalidPaymentDetail},
		{"other consentId", func() []Payment { p := itemFor(c, now, 1); p.ConsentID = "urn:x:y"; return []Payment{p} }, CodePaymentDiverges},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewPayments(c, tc.items(), now, "b", newID)
			requireRule(t, err, tc.code)
		})
	}

	consumed := c
	require.NoError(t, ApplyConsent(&consumed, ConsentEventConsume, now, nil))
	_, err = NewPayments(consumed, []Payment{itemFor(c, now, 1)}, now, "b", newID)
	requireRule(t, err, CodeConsentInvalid)
	partial := validConsent(t)
	require.NoError(t, ApplyConsent(&partial, ConsentEventAcceptPartially, t0.Add(time.Minute), nil))
	_, err = NewPayments(partial, []Payment{itemFor(c, now, 1)}, now, "b", newID)
	requireRule(t, err, CodeConsentPendingApproval)
	_, err = NewPayments(c, []Payment{itemFor(c, now, 1)}, t0.Add(61*time.Minute+time.Second), "b", newID)
	requireRule(t, err, CodeConsentInvalid)
}

func TestNewPaymentsScheduled(t *testing.T) {
	req := consentRequest()
	req.Payment.Date = nil
	start := DateOf(t0).AddDays(1)
	req.Payment.Schedule = &Schedule{Daily: &ScheduleDaily{StartDate: start, Quantity: 3}}
	c, err := NewConsent(req, t0)
	require.NoError(t, err)
	c = authorised(t, c)
	now := t0.Add(2 * time.Minute)
	at := func(d Date) time.Time { return time.Date(d.Year, d.Month, d.Day, 15, 0, 0, 0, time.UTC) }
	items := []Payment{itemFor(c, at(start), 1), itemFor(c, at(start.AddDays(1)), 2), itemFor(c, at(start.AddDays(2)), 3)}
	n := 0
	ps, err := NewPayments(c, items, now, "b", func() string { n++; return fmt.Sprintf("p%d", n) })
	require.NoError(t, err)
	for i, p := range ps {
		require.Equal(t, start.AddDays(i), *p.ScheduledDate)
	}

	// A date outside the schedule, a repeated date, or a time other than 15:00 UTC.
	bad := [][]Payment{
		{items[0], items[1], itemFor(c, at(start.AddDays(5)), 3)},
		{items[0], items[1], itemFor(c, at(start), 4)},
		{items[0], items[1], itemFor(c, at(start.AddDays(2)).Add(time.Hour), 3)},
	}
	for _, b := range bad {
		_, err := NewPayments(c, b, now, "b", func() string { n++; return fmt.Sprintf("p%d", n) })
		requireRule(t, err, CodeInvalidParameter)
	}
	_, err = NewPayments(c, items[:2], now, "b", func() string { n++; return fmt.Sprintf("p%d", n) })
	requireRule(t, err, CodePaymentDiverges)
}

func TestConsentIDs(t *testing.T) {
	id, err := NewConsentID("ofpbank")
	require.NoError(t, err)
	require.True(t, IsConsentID(id))
	require.True(t, ValidConsentID(id))
	require.False(t, IsConsentID("urn:ofpbank:8c1c7a84-9a43-4c67-9ac1-56f6a4b0e2aa"), "a data-sharing consent id")
	_, err = NewConsentID("-bad")
	require.Error(t, err)
	require.True(t, ValidPaymentID(NewPaymentID()))
	_, err = EndToEndTime("E1234567820260230150000000000001")
	require.Error(t, err, "30 February")
}

func TestMultiLevelDeadline(t *testing.T) {
	c := validConsent(t)
	// Immediate: 23:59:59 Brasília on the creation day = 02:59:59 UTC next day.
	require.Equal(t, time.Date(2026, 3, 11, 2, 59, 59, 0, time.UTC), MultiLevelDeadline(c))
	req := consentRequest()
	req.Payment.Date = nil
	req.Payment.Schedule = &Schedule{Single: &ScheduleSingle{Date: Date{2026, 3, 20}}}
	s, err := NewConsent(req, t0)
	require.NoError(t, err)
	require.Equal(t, time.Date(2026, 3, 20, 2, 59, 59, 0, time.UTC), MultiLevelDeadline(s), "the day before the first date")
}
