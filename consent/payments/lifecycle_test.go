package payments

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// t0 is 12:00 UTC = 09:00 Brasília on 2026-03-10.
var t0 = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

func TestConsentTransitionTable(t *testing.T) {
	legal := map[ConsentStatus]map[ConsentEvent]ConsentStatus{
		ConsentNone:                  {ConsentEventCreate: ConsentAwaitingAuthorisation},
		ConsentAwaitingAuthorisation: {ConsentEventAuthorise: ConsentAuthorised, ConsentEventAcceptPartially: ConsentPartiallyAccepted, ConsentEventReject: ConsentRejected, ConsentEventExpireAuthorise: ConsentRejected},
		ConsentPartiallyAccepted:     {ConsentEventAuthorise: ConsentAuthorised, ConsentEventReject: ConsentRejected, ConsentEventExpireAuthorise: ConsentRejected},
		ConsentAuthorised:            {ConsentEventConsume: ConsentConsumed, ConsentEventExpireConsumption: ConsentRejected, ConsentEventReject: ConsentRejected},
	}
	for _, from := range append([]ConsentStatus{ConsentNone}, ConsentStatuses...) {
		for _, ev := range ConsentEvents {
			to, err := ConsentTransition(from, ev)
			want, ok := legal[from][ev]
			if ok {
				require.NoError(t, err, "%s on %s", ev, from)
				require.Equal(t, want, to)
				continue
			}
			var ite *IllegalTransitionError
			require.ErrorAs(t, err, &ite, "%s on %s must be illegal", ev, from)
			require.Equal(t, from, to)
		}
	}
	require.True(t, ConsentConsumed.Final())
	require.True(t, ConsentRejected.Final())
	require.False(t, ConsentAuthorised.Final())
}

func TestPaymentTransitionTable(t *testing.T) {
	legal := map[PaymentStatus]map[PaymentEvent]PaymentStatus{
		PaymentNone: {PaymentEventCreate: PaymentRCVD},
		PaymentRCVD: {PaymentEventAccept: PaymentACCP, PaymentEventSchedule: PaymentSCHD, PaymentEventHold: PaymentPDNG, PaymentEventReject: PaymentRJCT},
		PaymentPDNG: {PaymentEventAccept: PaymentACCP, PaymentEventReject: PaymentRJCT, PaymentEventCancel: PaymentCANC},
		PaymentSCHD: {PaymentEventAccept: PaymentACCP, PaymentEventHold: PaymentPDNG, PaymentEventReject: PaymentRJCT, PaymentEventCancel: PaymentCANC},
		PaymentACCP: {PaymentEventSubmit: PaymentACPD, PaymentEventReject: PaymentRJCT},
		PaymentACPD: {PaymentEventSettle: PaymentACSC, PaymentEventReject: PaymentRJCT},
	}
	for _, from := range append([]PaymentStatus{PaymentNone}, PaymentStatuses...) {
		for _, ev := range PaymentEvents {
			to, err := PaymentTransition(from, ev)
			if want, ok := legal[from][ev]; ok {
				require.NoError(t, err)
				require.Equal(t, want, to)
				continue
			}
			var ite *IllegalTransitionError
			require.ErrorAs(t, err, &ite, "%s on %s must be illegal", ev, from)
		}
	}
	for _, s := range []PaymentStatus{PaymentACSC, PaymentRJCT, PaymentCANC} {
		require.True(t, s.Final())
		require.Empty(t, paymentTransitions[s])
	}
}

func TestConsentExpiryTimes(t *testing.T) {
	c := validConsent(t)
	require.Equal(t, t0.Add(5*time.Minute), c.ExpirationDateTime)

	// Not due yet: expiring early is refused, authorising works.
	early := c
	var pe *PreconditionError
	require.ErrorAs(t, ApplyConsent(&early, ConsentEventExpireAuthorise, t0.Add(4*time.Minute), nil), &pe)
	require.Equal(t, ConsentAwaitingAuthorisation, early.Status, "untouched on error")

	// At 5 minutes it is due: no authorisation any more, expiry works.
	late := c
	require.ErrorAs(t, Authorise(&late, Customer{CPF: "11111111111"}, debtor(), t0.Add(5*time.Minute)), &pe)
	require.NoError(t, ApplyConsent(&late, ConsentEventExpireAuthorise, t0.Add(5*time.Minute), nil))
	require.Equal(t, ConsentRejected, late.Status)
	require.Equal(t, RejectAuthorisationExpired, late.Rejection.Code)

	// Authorised at +2 min: 60 minutes to consume from then.
	ok := c
	require.NoError(t, Authorise(&ok, Customer{CPF: "11111111111"}, debtor(), t0.Add(2*time.Minute)))
	require.Equal(t, ConsentAuthorised, ok.Status)
	require.Equal(t, t0.Add(62*time.Minute), ok.ExpirationDateTime)
	require.Equal(t, debtor(), *ok.DebtorAccount)
	ev, due := ConsentDue(ok, t0.Add(61*time.Minute))
	require.False(t, due, ev)
	consumeLate := ok
	require.ErrorAs(t, ApplyConsent(&consumeLate, ConsentEventConsume, t0.Add(62*time.Minute), nil), &pe)
	require.NoError(t, ApplyConsent(&consumeLate, ConsentEventExpireConsumption, t0.Add(62*time.Minute), nil))
	require.Equal(t, RejectConsumptionExpired, consumeLate.Rejection.Code)

	consumed := ok
	require.NoError(t, ApplyConsent(&consumed, ConsentEventConsume, t0.Add(30*time.Minute), nil))
	require.Equal(t, ConsentConsumed, consumed.Status)
	require.Nil(t, consumed.Rejection)
	var ite *IllegalTransitionError
	require.ErrorAs(t, ApplyConsent(&consumed, ConsentEventExpireConsumption, t0.Add(2*time.Hour), nil), &ite)
}

func TestRejectReasons(t *testing.T) {
	c := validConsent(t)
	rej := c
	require.NoError(t, ApplyConsent(&rej, ConsentEventReject, t0.Add(time.Minute), nil))
	require.Equal(t, RejectByUser, rej.Rejection.Code, "a plain REJECT is the user's")
	bad := c
	require.Error(t, ApplyConsent(&bad, ConsentEventReject, t0, &ConsentRejection{Code: "CONSENT_EXPIRED"}),
		"only the payments enum is accepted")
	require.Equal(t, ConsentAwaitingAuthorisation, bad.Status)
	for _, code := range ConsentRejectionCodes {
		x := c
		require.NoError(t, ApplyConsent(&x, ConsentEventReject, t0, &ConsentRejection{Code: code}))
		require.Equal(t, code, x.Rejection.Code)
		require.NotEmpty(t, x.Rejection.Detail)
	}
}

func TestAuthoriseChecksCustomerAndAccounts(t *testing.T) {
	c := validConsent(t)
	at := t0.Add(time.Minute)
	x := c
	require.ErrorIs(t, Authorise(&x, Customer{CPF: "22222222222"}, debtor(), at), ErrCustomerMismatch)
	require.Equal(t, ConsentAwaitingAuthorisation, x.Status)

	// A business consent needs the CNPJ too.
	b := c
	b.BusinessEntity = &Document{Identification: "12345678000199", Rel: "CNPJ"}
	require.ErrorIs(t, Authorise(&b, Customer{CPF: "11111111111"}, debtor(), at), ErrCustomerMismatch)
	require.NoError(t, Authorise(&b, Customer{CPF: "11111111111", CNPJ: "12345678000199"}, debtor(), at))

	// Paying from the creditor's own account rejects the consent.
	same := c
	err := Authorise(&same, Customer{CPF: "11111111111"}, c.Payment.Details.CreditorAccount, at)
	require.ErrorIs(t, err, ErrRefusedAtAuthorisation)
	require.Equal(t, ConsentRejected, same.Status)
	require.Equal(t, RejectSameAccounts, same.Rejection.Code)

	// The initiator's debtorAccount wins; another one is a mismatch.
	withDebtor := c
	d := debtor()
	withDebtor.DebtorAccount = &d
	other := debtor()
	other.Number = "999"
	require.ErrorIs(t, Authorise(&withDebtor, Customer{CPF: "11111111111"}, other, at), ErrDebtorMismatch)
	require.NoError(t, Authorise(&withDebtor, Customer{CPF: "11111111111"}, Account{}, at))
	require.Equal(t, d, *withDebtor.DebtorAccount)

	// Not pending any more.
	require.ErrorIs(t, Authorise(&withDebtor, Customer{CPF: "11111111111"}, Account{}, at), ErrNotPending)
}

func TestCancellableOnlyFromPDNGOrSCHDBeforeTheDay(t *testing.T) {
	day := Date{2026, 3, 12}
	p := Payment{Status: PaymentSCHD, ScheduledDate: &day}
	// 23:59 Brasília on the 11th = 02:59 UTC on the 12th.
	require.True(t, Cancellable(p, time.Date(2026, 3, 12, 2, 59, 59, 0, time.UTC)))
	require.False(t, Cancellable(p, time.Date(2026, 3, 12, 3, 0, 0, 0, time.UTC)), "from 00:00 Brasília of the day it is too late")
	require.True(t, Cancellable(Payment{Status: PaymentPDNG}, t0))
	for _, s := range []PaymentStatus{PaymentRCVD, PaymentACCP, PaymentACPD, PaymentACSC, PaymentRJCT, PaymentCANC} {
		require.False(t, Cancellable(Payment{Status: s, ScheduledDate: &day}, t0), s)
	}

	q := p
	require.NoError(t, ApplyPayment(&q, PaymentEventCancel, t0, PaymentChange{CancelledFrom: CancelledFromInitiator,
		CancelledBy: Document{Identification: "11111111111", Rel: "CPF"}}))
	require.Equal(t, PaymentCANC, q.Status)
	require.Equal(t, CancelledScheduled, q.Cancellation.Reason)
	held := Payment{Status: PaymentPDNG}
	require.NoError(t, ApplyPayment(&held, PaymentEventCancel, t0, PaymentChange{CancelledFrom: CancelledFromHolder}))
	require.Equal(t, CancelledPending, held.Cancellation.Reason)

	late := p
	var pe *PreconditionError
	require.ErrorAs(t, ApplyPayment(&late, PaymentEventCancel, day.Start(), PaymentChange{CancelledFrom: CancelledFromInitiator}), &pe)
	require.Equal(t, PaymentSCHD, late.Status)
	acsc := Payment{Status: PaymentACSC}
	var ite *IllegalTransitionError
	require.ErrorAs(t, ApplyPayment(&acsc, PaymentEventCancel, t0, PaymentChange{CancelledFrom: CancelledFromInitiator}), &ite)

	r := Payment{Status: PaymentACPD}
	require.Error(t, ApplyPayment(&r, PaymentEventReject, t0, PaymentChange{}), "a rejection needs a code")
	require.NoError(t, ApplyPayment(&r, PaymentEventReject, t0, PaymentChange{Rejection: &PaymentRejection{Code: PayRejectRefusedBySPI}}))
	require.Equal(t, PaymentRJCT, r.Status)
}
