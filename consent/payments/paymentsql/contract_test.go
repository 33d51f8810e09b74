package paymentsql

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/consent/payments"
)

func TestMigrationsRerunAndRoundTrip(t *testing.T) {
	forEachEngine(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		clk := newClock(t0)
		s := b.Open(t, Options{Now: clk.Now})
		_ = b.Open(t, Options{Now: clk.Now}) // migrations re-run as a no-op

		scheds := []*payments.Schedule{nil,
			{Single: &payments.ScheduleSingle{Date: payments.Date{Year: 2026, Month: 4, Day: 1}}},
			{Daily: &payments.ScheduleDaily{StartDate: payments.Date{Year: 2026, Month: 3, Day: 11}, Quantity: 5}},
			{Weekly: &payments.ScheduleWeekly{DayOfWeek: "SEXTA_FEIRA", StartDate: payments.Date{Year: 2026, Month: 3, Day: 11}, Quantity: 4}},
			{Monthly: &payments.ScheduleMonthly{DayOfMonth: 31, StartDate: payments.Date{Year: 2026, Month: 3, Day: 11}, Quantity: 3}},
			{Custom: &payments.ScheduleCustom{Dates: []payments.Date{{Year: 2026, Month: 5, Day: 2}, {Year: 2026, Month: 4, Day: 1}}, AdditionalInformation: "parcelas"}},
		}
		for _, sc := range scheds {
			req := consentReq(t, clk.Now(), sc)
			req.BusinessEntity = &payments.Document{Identification: "11222333000144", Rel: "CNPJ"}
			d := debtorAccount()
			req.DebtorAccount = &d
			c, err := s.CreateConsent(ctx, req, nil, tpp)
			require.NoError(t, err)
			got, err := s.GetConsent(ctx, c.ID)
			require.NoError(t, err)
			require.Equal(t, c, got)
			require.Equal(t, t0.Add(5*time.Minute), got.ExpirationDateTime)
			h, err := s.ConsentHistory(ctx, c.ID)
			require.NoError(t, err)
			require.Len(t, h, 1)
			require.Equal(t, "CREATE", h[0].Event)
			n, err := s.NoticesOf(ctx, c.ID)
			require.NoError(t, err)
			require.Empty(t, n, "creation notifies nobody")
		}
		_, err := s.GetConsent(ctx, "urn:ofpbank:pay-nope")
		require.ErrorIs(t, err, payments.ErrNotFound)
	})
}

func TestConsentLifecycleAndAuthorisationHooks(t *testing.T) {
	forEachEngine(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		clk := newClock(t0)
		s := b.Open(t, Options{Now: clk.Now})

		c, err := s.CreateConsent(ctx, consentReq(t, clk.Now(), nil), nil, tpp)
		require.NoError(t, err)
		_, err = s.CheckPending(ctx, "client-b", c.ID)
		require.ErrorIs(t, err, payments.ErrOtherClient)
		_, err = s.CheckPending(ctx, "client-a", "urn:ofpbank:pay-x")
		require.ErrorIs(t, err, payments.ErrNotFound)
		pend, err := s.CheckPending(ctx, "client-a", c.ID)
		require.NoError(t, err)
		require.Equal(t, c.ID, pend.ID)
		ok, err := s.Authorised(ctx, c.ID)
		require.NoError(t, err)
		require.False(t, ok)

		_, err = s.Authorise(ctx, c.ID, payments.Customer{CPF: "99999999999"}, debtorAccount())
		require.ErrorIs(t, err, payments.ErrCustomerMismatch)
		_, err = s.Reject(ctx, c.ID, payments.Customer{CPF: "99999999999"})
		require.ErrorIs(t, err, payments.ErrCustomerMismatch)

		clk.Advance(time.Minute)
		got, err := s.Authorise(ctx, c.ID, alice, debtorAccount())
		require.NoError(t, err)
		require.Equal(t, payments.ConsentAuthorised, got.Status)
		require.Equal(t, clk.Now().Add(time.Hour), got.ExpirationDateTime)
		require.Equal(t, debtorAccount(), *got.DebtorAccount)
		ok, err = s.Authorised(ctx, c.ID)
		require.NoError(t, err)
		require.True(t, ok)
		_, err = s.CheckPending(ctx, "client-a", c.ID)
		require.ErrorIs(t, err, payments.ErrNotPending)
		notices, err := s.NoticesOf(ctx, c.ID)
		require.NoError(t, err)
		require.Len(t, notices, 1, "AUTHORISED is notified")

		// 60 minutes later it can no longer be consumed: read shows REJECTED.
		clk.Advance(time.Hour)
		ok, err = s.Authorised(ctx, c.ID)
		require.NoError(t, err)
		require.False(t, ok)
		read, err := s.ReadConsent(ctx, c.ID, "client-a", tpp)
		require.NoError(t, err)
		require.Equal(t, payments.ConsentRejected, read.Status)
		require.Equal(t, payments.RejectConsumptionExpired, read.Rejection.Code)
		_, err = s.ReadConsent(ctx, c.ID, "client-b", tpp)
		require.ErrorIs(t, err, payments.ErrOtherClient)

		// Not authorised within 5 minutes: expired on the authorisation attempt.
		late, err := s.CreateConsent(ctx, consentReq(t, clk.Now(), nil), nil, tpp)
		require.NoError(t, err)
		clk.Advance(5 * time.Minute)
		_, err = s.Authorise(ctx, late.ID, alice, debtorAccount())
		require.ErrorIs(t, err, payments.ErrNotPending)
		stored, err := s.GetConsent(ctx, late.ID)
		require.NoError(t, err)
		require.Equal(t, payments.ConsentRejected, stored.Status)
		require.Equal(t, payments.RejectAuthorisationExpired, stored.Rejection.Code)

		// Paying the creditor from its own account rejects the consent, and that sticks.
		same, err := s.CreateConsent(ctx, consentReq(t, clk.Now(), nil), nil, tpp)
		require.NoError(t, err)
		_, err = s.Authorise(ctx, same.ID, alice, creditorAccount())
		require.ErrorIs(t, err, payments.ErrRefusedAtAuthorisation)
		stored, err = s.GetConsent(ctx, same.ID)
		require.NoError(t, err)
		require.Equal(t, payments.RejectSameAccounts, stored.Rejection.Code)

		refused, err := s.CreateConsent(ctx, consentReq(t, clk.Now(), nil), nil, tpp)
		require.NoError(t, err)
		got, err = s.Reject(ctx, refused.ID, alice)
		require.NoError(t, err)
		require.Equal(t, payments.RejectByUser, got.Rejection.Code)
		h, err := s.ConsentHistory(ctx, refused.ID)
		require.NoError(t, err)
		require.Equal(t, []string{"CREATE", "REJECT"}, []string{h[0].Event, h[1].Event})
		require.Equal(t, "REJEITADO_USUARIO", h[1].Detail)
	})
}

func TestIdempotencyRecords(t *testing.T) {
	forEachEngine(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		clk := newClock(t0)
		s := b.Open(t, Options{Now: clk.Now})
		idem := idemFor("POST /consents", "k1", "h1")
		c, err := s.CreateConsent(ctx, consentReq(t, clk.Now(), nil), idem, tpp)
		require.NoError(t, err)
		rec, ok, err := s.LookupIdempotency(ctx, idem.IdempotencyKey)
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, 201, rec.StatusCode)
		require.Equal(t, []string{c.ID}, rec.ResourceIDs)
		require.Equal(t, "h1", rec.RequestHash)
		require.Nil(t, rec.Error)

		// The key is taken: a second create stores nothing.
		_, err = s.CreateConsent(ctx, consentReq(t, clk.Now(), nil), idemFor("POST /consents", "k1", "h1"), tpp)
		require.ErrorIs(t, err, payments.ErrIdempotencyRace)
		// Scoped per endpoint and per organisation.
		other := idemFor("POST /pix/payments", "k1", "h1")
		require.NoError(t, s.RecordIdempotent(ctx, &payments.IdempotencyRecord{IdempotencyKey: other.IdempotencyKey, RequestHash: "h", StatusCode: 422,
			Error: &payments.RuleError{Code: payments.CodeInvalidParameter, Detail: "x"}}))
		orgB := idemFor("POST /consents", "k1", "h9")
		orgB.OrgID = "org-b"
		_, err = s.CreateConsent(ctx, consentReq(t, clk.Now(), nil), orgB, tpp)
		require.NoError(t, err)

		// A rule refusal is recorded as 422 with its code.
		bad := consentReq(t, clk.Now(), nil)
		bad.Payment.Amount = "0.00"
		_, err = s.CreateConsent(ctx, bad, idemFor("POST /consents", "k2", "h2"), tpp)
		re, isRule := payments.AsRuleError(err)
		require.True(t, isRule, "%v", err)
		rec, ok, err = s.LookupIdempotency(ctx, payments.IdempotencyKey{Endpoint: "POST /consents", OrgID: "org-a", Key: "k2"})
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, 422, rec.StatusCode)
		require.Equal(t, re, rec.Error)

		// After 24 hours the key is forgotten and can be used again.
		clk.Advance(24 * time.Hour)
		_, ok, err = s.LookupIdempotency(ctx, idem.IdempotencyKey)
		require.NoError(t, err)
		require.False(t, ok)
		_, err = s.CreateConsent(ctx, consentReq(t, clk.Now(), nil), idemFor("POST /consents", "k1", "h-new"), tpp)
		require.NoError(t, err)
		keys, _, err := s.PurgeExpired(ctx)
		require.NoError(t, err)
		require.Equal(t, int64(3), keys, "k2, the org-b key and the pix key; k1 was renewed")
	})
}

func TestJTIsAreSingleUseFor24Hours(t *testing.T) {
	forEachEngine(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		clk := newClock(t0)
		s := b.Open(t, Options{Now: clk.Now})
		until := clk.Now().Add(24 * time.Hour)
		fresh, err := s.UseJTI(ctx, "client-a", "j1", until)
		require.NoError(t, err)
		require.True(t, fresh)
		fresh, err = s.UseJTI(ctx, "client-a", "j1", until)
		require.NoError(t, err)
		require.False(t, fresh, "replayed")
		fresh, err = s.UseJTI(ctx, "client-b", "j1", until)
		require.NoError(t, err)
		require.True(t, fresh, "per client")
		clk.Advance(24 * time.Hour)
		fresh, err = s.UseJTI(ctx, "client-a", "j1", clk.Now().Add(24*time.Hour))
		require.NoError(t, err)
		require.True(t, fresh, "forgotten after 24 h")
		_, jtis, err := s.PurgeExpired(ctx)
		require.NoError(t, err)
		require.Equal(t, int64(1), jtis, "client-b's")
	})
}

func TestCreatePaymentsConsumesTheConsent(t *testing.T) {
	forEachEngine(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		clk := newClock(t0)
		s := b.Open(t, Options{Now: clk.Now})
		c := authorisedConsent(t, s, clk, nil)
		clk.Advance(time.Minute)

		_, err := s.CreatePayments(ctx, c.ID, "client-b", items(t, c, clk.Now(), 1), nil, tpp)
		require.ErrorIs(t, err, payments.ErrOtherClient)
		_, err = s.CreatePayments(ctx, "urn:ofpbank:pay-none", "client-a", items(t, c, clk.Now(), 1), nil, tpp)
		require.ErrorIs(t, err, payments.ErrNotFound)

		idem := idemFor("POST /pix/payments", "p1", "h")
		ps, err := s.CreatePayments(ctx, c.ID, "client-a", items(t, c, clk.Now(), 1), idem, tpp)
		require.NoError(t, err)
		require.Len(t, ps, 1)
		p := ps[0]
		require.Equal(t, payments.PaymentRCVD, p.Status)
		require.Equal(t, []string{p.ID}, idem.ResourceIDs)
		got, err := s.GetPayment(ctx, p.ID)
		require.NoError(t, err)
		require.Equal(t, p, got)
		stored, err := s.GetConsent(ctx, c.ID)
		require.NoError(t, err)
		require.Equal(t, payments.ConsentConsumed, stored.Status)
		ok, err := s.Authorised(ctx, c.ID)
		require.NoError(t, err)
		require.True(t, ok, "a CONSUMED consent's token still reaches the API (replays, 422)")

		// Consumed: a second initiation is refused, and recorded under its key.
		_, err = s.CreatePayments(ctx, c.ID, "client-a", items(t, c, clk.Now(), 2), idemFor("POST /pix/payments", "p2", "h2"), tpp)
		re, isRule := payments.AsRuleError(err)
		require.True(t, isRule, "%v", err)
		require.Equal(t, payments.CodeConsentInvalid, re.Code)

		// Reusing an endToEndId of another payment is refused.
		c2 := authorisedConsent(t, s, clk, nil)
		reused := items(t, c2, clk.Now(), 1)
		reused[0].EndToEndID = p.EndToEndID
		_, err = s.CreatePayments(ctx, c2.ID, "client-a", reused, nil, tpp)
		re, isRule = payments.AsRuleError(err)
		require.True(t, isRule, "%v", err)
		require.Equal(t, payments.CodeInvalidParameter, re.Code)
		stored, err = s.GetConsent(ctx, c2.ID)
		require.NoError(t, err)
		require.Equal(t, payments.ConsentAuthorised, stored.Status, "a refused initiation does not consume")

		// 60 minutes after authorisation the consent can no longer be consumed.
		clk.Advance(time.Hour)
		_, err = s.CreatePayments(ctx, c2.ID, "client-a", items(t, c2, clk.Now(), 3), idemFor("POST /pix/payments", "p3", "h3"), tpp)
		re, isRule = payments.AsRuleError(err)
		require.True(t, isRule, "%v", err)
		require.Equal(t, payments.CodeConsentInvalid, re.Code)
		stored, err = s.GetConsent(ctx, c2.ID)
		require.NoError(t, err)
		require.Equal(t, payments.ConsentRejected, stored.Status, "the expiry found on the way is committed")
		require.Equal(t, payments.RejectConsumptionExpired, stored.Rejection.Code)
	})
}

func TestPaymentTransitionsAndDueSelection(t *testing.T) {
	forEachEngine(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		clk := newClock(t0)
		s := b.Open(t, Options{Now: clk.Now})
		c := authorisedConsent(t, s, clk, nil)
		ps, err := s.CreatePayments(ctx, c.ID, "client-a", items(t, c, clk.Now(), 1), nil, tpp)
		require.NoError(t, err)
		p := ps[0]
		due, err := s.DuePayments(ctx, payments.DueQuery{Today: payments.DateOf(clk.Now()), HeldBefore: clk.Now(), SubmittedBefore: clk.Now()})
		require.NoError(t, err)
		require.Len(t, due, 1)

		_, err = s.ApplyPaymentEvent(ctx, p.ID, payments.PaymentACCP, payments.PaymentEventSubmit, payments.PaymentChange{}, tpp)
		var ite *payments.IllegalTransitionError
		require.ErrorAs(t, err, &ite, "stale expectation")
		p, err = s.ApplyPaymentEvent(ctx, p.ID, payments.PaymentRCVD, payments.PaymentEventAccept, payments.PaymentChange{}, tpp)
		require.NoError(t, err)
		p, err = s.ApplyPaymentEvent(ctx, p.ID, payments.PaymentACCP, payments.PaymentEventSubmit, payments.PaymentChange{}, tpp)
		require.NoError(t, err)
		due, err = s.DuePayments(ctx, payments.DueQuery{Today: payments.DateOf(clk.Now()), HeldBefore: clk.Now(), SubmittedBefore: clk.Now()})
		require.NoError(t, err)
		require.Empty(t, due, "ACPD is not overdue yet")
		clk.Advance(time.Minute)
		due, err = s.DuePayments(ctx, payments.DueQuery{Today: payments.DateOf(clk.Now()), HeldBefore: clk.Now(), SubmittedBefore: clk.Now()})
		require.NoError(t, err)
		require.Len(t, due, 1, "ACPD with an overdue outcome")
		rej := &payments.PaymentRejection{Code: payments.PayRejectRefusedBySPI, Detail: "AC03"}
		p, err = s.ApplyPaymentEvent(ctx, p.ID, payments.PaymentACPD, payments.PaymentEventReject, payments.PaymentChange{Rejection: rej}, tpp)
		require.NoError(t, err)
		got, err := s.GetPayment(ctx, p.ID)
		require.NoError(t, err)
		require.Equal(t, *rej, *got.Rejection)
		h, err := s.PaymentHistory(ctx, p.ID)
		require.NoError(t, err)
		var path []string
		for _, e := range h {
			path = append(path, e.To)
		}
		require.Equal(t, []string{"RCVD", "ACCP", "ACPD", "RJCT"}, path)
		n, err := s.NoticesOf(ctx, p.ID)
		require.NoError(t, err)
		require.Len(t, n, 3, "one webhook per status change after creation")
	})
}

func TestCancellationRules(t *testing.T) {
	forEachEngine(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		clk := newClock(t0)
		s := b.Open(t, Options{Now: clk.Now})
		start, c, ps := threeDailyPayments(t, s, clk)
		require.Len(t, ps, 3)
		by := payments.Document{Identification: alice.CPF, Rel: "CPF"}

		// RCVD cannot be cancelled.
		_, err := s.CancelPayment(ctx, ps[0].ID, "client-a", by, payments.CancelledFromInitiator, tpp)
		re, ok := payments.AsRuleError(err)
		require.True(t, ok, "%v", err)
		require.Equal(t, payments.CodeCancelNotAllowed, re.Code)
		for _, p := range ps {
			_, err := s.ApplyPaymentEvent(ctx, p.ID, payments.PaymentRCVD, payments.PaymentEventSchedule, payments.PaymentChange{}, tpp)
			require.NoError(t, err)
		}
		_, err = s.CancelPayment(ctx, ps[0].ID, "client-b", by, payments.CancelledFromInitiator, tpp)
		require.ErrorIs(t, err, payments.ErrOtherClient)
		one, err := s.CancelPayment(ctx, ps[0].ID, "client-a", by, payments.CancelledFromInitiator, tpp)
		require.NoError(t, err)
		require.Equal(t, payments.PaymentCANC, one.Status)
		require.Equal(t, payments.CancelledScheduled, one.Cancellation.Reason)
		require.Equal(t, by, one.Cancellation.By)
		stored, err := s.GetPayment(ctx, one.ID)
		require.NoError(t, err)
		require.Equal(t, one, stored)

		// On the second payment's day it is too late for it; the third goes.
		clk.Set(start.AddDays(1).Start().Add(time.Hour))
		idem := idemFor("PATCH /pix/payments/consents", "c1", "h")
		cancelled, err := s.CancelConsentPayments(ctx, c.ID, "client-a", by, payments.CancelledFromInitiator, idem, tpp)
		require.NoError(t, err)
		require.Len(t, cancelled, 1)
		require.Equal(t, ps[2].ID, cancelled[0].ID)
		require.Equal(t, 200, idem.StatusCode)
		second, err := s.GetPayment(ctx, ps[1].ID)
		require.NoError(t, err)
		require.Equal(t, payments.PaymentSCHD, second.Status)

		_, err = s.CancelConsentPayments(ctx, c.ID, "client-a", by, payments.CancelledFromInitiator, idemFor("PATCH /pix/payments/consents", "c2", "h"), tpp)
		re, ok = payments.AsRuleError(err)
		require.True(t, ok, "%v", err)
		require.Equal(t, payments.CodeCancelNotAllowed, re.Code)
		_, err = s.CancelConsentPayments(ctx, "urn:ofpbank:pay-x", "client-a", by, payments.CancelledFromInitiator, nil, tpp)
		require.ErrorIs(t, err, payments.ErrNotFound)

		// A batch that could not be scheduled is rejected as a whole.
		moved, err := s.RejectBatch(ctx, ps[1].BatchID, payments.PaymentRejection{Code: payments.PayRejectSchedulingFailed}, tpp)
		require.NoError(t, err)
		require.Len(t, moved, 1, "only the one not final yet")
		require.Equal(t, payments.PaymentRJCT, moved[0].Status)
	})
}

func TestCustomerListsAndCancelsScheduledPaymentsAtTheHolder(t *testing.T) {
	forEachEngine(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		clk := newClock(t0)
		s := b.Open(t, Options{Now: clk.Now})
		start, _, ps := threeDailyPayments(t, s, clk)
		for _, p := range ps {
			_, err := s.ApplyPaymentEvent(ctx, p.ID, payments.PaymentRCVD, payments.PaymentEventSchedule, payments.PaymentChange{}, tpp)
			require.NoError(t, err)
		}
		// Another customer's immediate payment is never listed for alice.
		other := consentReq(t, clk.Now(), nil)
		other.LoggedUser = payments.Document{Identification: "22222222222", Rel: "CPF"}
		oc, err := s.CreateConsent(ctx, other, nil, tpp)
		require.NoError(t, err)
		_, err = s.Authorise(ctx, oc.ID, payments.Customer{CPF: "22222222222"}, debtorAccount())
		require.NoError(t, err)
		ops, err := s.CreatePayments(ctx, oc.ID, "client-a", items(t, oc, clk.Now(), 2), nil, tpp)
		require.NoError(t, err)

		aliceDoc := payments.Document{Identification: alice.CPF, Rel: "CPF"}
		list, err := s.CustomerPayments(ctx, aliceDoc)
		require.NoError(t, err)
		require.Len(t, list, 3, "alice's three scheduled payments, nobody else's")
		for i, cp := range list {
			require.Equal(t, ps[i].ID, cp.Payment.ID, "soonest first")
			require.Equal(t, payments.PaymentSCHD, cp.Payment.Status)
			require.Equal(t, "Loja Exemplo", cp.Consent.Creditor.Name)
		}
		none, err := s.CustomerPayments(ctx, payments.Document{Identification: "33333333333", Rel: "CPF"})
		require.NoError(t, err)
		require.Empty(t, none)

		holder := payments.Actor{Who: "user:" + alice.CPF, InteractionID: "portal"}
		// Another customer's payment is not found, exactly like a missing one.
		_, err = s.CancelForCustomer(ctx, ops[0].ID, aliceDoc, holder)
		require.ErrorIs(t, err, payments.ErrNotFound)
		_, err = s.CancelForCustomer(ctx, "pay-missing", aliceDoc, holder)
		require.ErrorIs(t, err, payments.ErrNotFound)

		one, err := s.CancelForCustomer(ctx, ps[0].ID, aliceDoc, holder)
		require.NoError(t, err)
		require.Equal(t, payments.PaymentCANC, one.Status)
		require.Equal(t, payments.CancelledFromHolder, one.Cancellation.From, "cancelledFrom DETENTORA")
		require.Equal(t, aliceDoc, one.Cancellation.By)
		notices, err := s.NoticesOf(ctx, one.ID)
		require.NoError(t, err)
		require.NotEmpty(t, notices, "the initiator is notified")
		list, err = s.CustomerPayments(ctx, aliceDoc)
		require.NoError(t, err)
		require.Len(t, list, 2)
		// An operator acting for the customer is recorded with the reason.
		op := payments.Actor{Who: "operator:carla", InteractionID: "console", Reason: "CUSTOMER_REQUEST: ligou para cancelar"}
		two, err := s.CancelForCustomer(ctx, ps[2].ID, aliceDoc, op)
		require.NoError(t, err)
		require.Equal(t, aliceDoc, two.Cancellation.By, "cancelledBy is the customer, whoever acted")
		hist, err := s.PaymentHistory(ctx, two.ID)
		require.NoError(t, err)
		last := hist[len(hist)-1]
		require.Equal(t, "operator:carla", last.Who)
		require.Equal(t, "CUSTOMER_REQUEST: ligou para cancelar", last.Detail)
		require.Equal(t, "CANC", last.To)

		// On a payment's day it is too late to cancel it.
		clk.Set(start.AddDays(1).Start().Add(time.Hour))
		_, err = s.CancelForCustomer(ctx, ps[1].ID, aliceDoc, holder)
		re, ok := payments.AsRuleError(err)
		require.True(t, ok, "%v", err)
		require.Equal(t, payments.CodeCancelNotAllowed, re.Code)
		// Twice is refused too.
		_, err = s.CancelForCustomer(ctx, ps[0].ID, aliceDoc, holder)
		re, ok = payments.AsRuleError(err)
		require.True(t, ok, "%v", err)
		require.Equal(t, payments.CodeCancelNotAllowed, re.Code)
	})
}

func TestNoticeClaimsRetriesAndLeases(t *testing.T) {
	forEachEngine(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		clk := newClock(t0)
		s := b.Open(t, Options{Now: clk.Now, NoticeLease: time.Minute})
		c := authorisedConsent(t, s, clk, nil)
		got, err := s.ClaimNotices(ctx, 10)
		require.NoError(t, err)
		require.Len(t, got, 1)
		n := got[0]
		require.Equal(t, payments.NoticeConsent, n.Kind)
		require.Equal(t, c.ID, n.ResourceID)
		require.Equal(t, "client-a", n.ClientID)
		require.Equal(t, "v4", n.APIVersion)
		require.Equal(t, 0, n.Attempts)

		again, err := s.ClaimNotices(ctx, 10)
		require.NoError(t, err)
		require.Empty(t, again, "leased")
		clk.Advance(time.Minute)
		again, err = s.ClaimNotices(ctx, 10)
		require.NoError(t, err)
		require.Len(t, again, 1, "the lease ran out: handed out again")

		first := clk.Now()
		require.NoError(t, s.RetryNotice(ctx, n.ID, 1, first, first.Add(30*time.Second)))
		again, err = s.ClaimNotices(ctx, 10)
		require.NoError(t, err)
		require.Empty(t, again, "not due yet")
		clk.Advance(30 * time.Second)
		again, err = s.ClaimNotices(ctx, 10)
		require.NoError(t, err)
		require.Len(t, again, 1)
		require.Equal(t, 1, again[0].Attempts)
		require.Equal(t, first, *again[0].FirstAttemptAt)
		require.NoError(t, s.FinishNotice(ctx, n.ID, 2, "delivered"))
		clk.Advance(time.Hour)
		again, err = s.ClaimNotices(ctx, 10)
		require.NoError(t, err)
		require.Empty(t, again)
		states, err := s.NoticesOf(ctx, c.ID)
		require.NoError(t, err)
		require.True(t, states[0].Done)
		require.Equal(t, "delivered", states[0].Result)
	})
}

func TestErrorsWrap(t *testing.T) {
	require.True(t, errors.Is(commitRule{payments.ErrNotPending}.err, payments.ErrNotPending))
}
