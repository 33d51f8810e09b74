package consent

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestTransitionTable covers every (status, event) pair, written out by hand
// so that a change to the state machine must change this table too.
func TestTransitionTable(t *testing.T) {
	const (
		none = StatusNone
		aw   = StatusAwaitingAuthorisation
		au   = StatusAuthorised
		rj   = StatusRejected
		ill  = Status("illegal")
	)
	want := map[Status]map[Event]Status{
		none: {
			EventCreate: aw, EventAuthorise: ill, EventRejectByUser: ill, EventRevokeByUser: ill, EventRevokeByTPP: ill,
			EventExpireAwaiting: ill, EventExpireAuthorised: ill, EventExtend: ill, EventRejectTechnicalIssue: ill, EventRejectSecurity: ill,
		},
		aw: {
			EventCreate: ill, EventAuthorise: au, EventRejectByUser: rj, EventRevokeByUser: ill, EventRevokeByTPP: rj,
			EventExpireAwaiting: rj, EventExpireAuthorised: ill, EventExtend: ill, EventRejectTechnicalIssue: rj, EventRejectSecurity: rj,
		},
		au: {
			EventCreate: ill, EventAuthorise: ill, EventRejectByUser: ill, EventRevokeByUser: rj, EventRevokeByTPP: rj,
			EventExpireAwaiting: ill, EventExpireAuthorised: rj, EventExtend: au, EventRejectTechnicalIssue: rj, EventRejectSecurity: rj,
		},
		rj: {
			EventCreate: ill, EventAuthorise: ill, EventRejectByUser: ill, EventRevokeByUser: ill, EventRevokeByTPP: ill,
			EventExpireAwaiting: ill, EventExpireAuthorised: ill, EventExtend: ill, EventRejectTechnicalIssue: ill, EventRejectSecurity: ill,
		},
	}
	require.Len(t, want, len(Statuses)+1)
	for from, row := range want {
		require.Len(t, row, len(Events), "row %q must list every event", from)
		for _, ev := range Events {
			exp, ok := row[ev]
			require.True(t, ok, "missing %q/%s", from, ev)
			t.Run(fmt.Sprintf("%s/%s", from, ev), func(t *testing.T) {
				got, err := Transition(from, ev)
				if exp == ill {
					var ite *IllegalTransitionError
					require.ErrorAs(t, err, &ite)
					require.Equal(t, from, ite.From)
					require.Equal(t, ev, ite.Event)
					require.Equal(t, from, got, "an illegal move leaves the status unchanged")
					_, _, rejects := RejectionFor(from, ev)
					require.False(t, rejects)
					return
				}
				require.NoError(t, err)
				require.Equal(t, exp, got)
				by, code, rejects := RejectionFor(from, ev)
				require.Equal(t, exp == rj, rejects)
				if rejects {
					require.NotEmpty(t, by)
					require.NotEmpty(t, code)
				}
			})
		}
	}
	_, err := Transition(aw, Event("BOGUS"))
	require.Error(t, err)
	_, err = Transition(Status("BOGUS"), EventAuthorise)
	require.Error(t, err)
}

func TestRejectionRules(t *testing.T) {
	cases := []struct {
		from Status
		ev   Event
		by   RejectedBy
		code ReasonCode
	}{
		{StatusAwaitingAuthorisation, EventRejectByUser, RejectedByUser, ReasonCustomerManuallyRejected},
		{StatusAwaitingAuthorisation, EventRevokeByTPP, RejectedByTPP, ReasonCustomerManuallyRejected},
		{StatusAwaitingAuthorisation, EventExpireAwaiting, RejectedByASPSP, ReasonConsentExpired},
		{StatusAwaitingAuthorisation, EventRejectTechnicalIssue, RejectedByASPSP, ReasonConsentTechnicalIssue},
		{StatusAwaitingAuthorisation, EventRejectSecurity, RejectedByASPSP, ReasonInternalSecurityReason},
		{StatusAuthorised, EventRevokeByUser, RejectedByUser, ReasonCustomerManuallyRevoked},
		{StatusAuthorised, EventRevokeByTPP, RejectedByTPP, ReasonCustomerManuallyRevoked},
		{StatusAuthorised, EventExpireAuthorised, RejectedByASPSP, ReasonConsentMaxDateReached},
		{StatusAuthorised, EventRejectTechnicalIssue, RejectedByASPSP, ReasonConsentTechnicalIssue},
		{StatusAuthorised, EventRejectSecurity, RejectedByASPSP, ReasonInternalSecurityReason},
	}
	for _, c := range cases {
		by, code, ok := RejectionFor(c.from, c.ev)
		require.True(t, ok, "%s/%s", c.from, c.ev)
		require.Equal(t, c.by, by, "%s/%s", c.from, c.ev)
		require.Equal(t, c.code, code, "%s/%s", c.from, c.ev)
	}
}

func newTestConsent(t *testing.T, created time.Time, exp *time.Time) Consent {
	t.Helper()
	id, err := NewID("bancoex")
	require.NoError(t, err)
	c, err := New(Consent{
		ID:                 id,
		Permissions:        []string{PermAccountsRead, PermAccountsBalancesRead, PermResourcesRead},
		LoggedUser:         LoggedUser{Document: Document{Identification: "76109277673", Rel: "CPF"}},
		ClientID:           "client-1",
		ExpirationDateTime: exp,
		CreationDateTime:   created,
	}, created)
	require.NoError(t, err)
	return c
}

func TestApplyGuardsAndRejection(t *testing.T) {
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	exp := t0.Add(24 * time.Hour)
	c := newTestConsent(t, t0, &exp)
	require.Equal(t, StatusAwaitingAuthorisation, c.Status)
	require.Equal(t, int64(1), c.Version)

	// Expiring before the window has passed is refused and leaves c alone.
	before := c
	var pe *PreconditionError
	require.ErrorAs(t, Apply(&c, EventExpireAwaiting, t0.Add(59*time.Minute), ""), &pe)
	require.Equal(t, before, c)

	// Authorising after the window is refused.
	require.ErrorAs(t, Apply(&c, EventAuthorise, t0.Add(AwaitingAuthorisationTTL), ""), &pe)

	require.NoError(t, Apply(&c, EventAuthorise, t0.Add(10*time.Minute), ""))
	require.Equal(t, StatusAuthorised, c.Status)
	require.Equal(t, t0.Add(10*time.Minute), c.StatusUpdateDateTime)
	require.Nil(t, c.Rejection)

	// Not due yet.
	require.ErrorAs(t, Apply(&c, EventExpireAuthorised, exp.Add(-time.Second), ""), &pe)
	// Too long detail.
	long := make([]byte, 141)
	for i := range long {
		long[i] = 'x'
	}
	require.Error(t, Apply(&c, EventExpireAuthorised, exp, string(long)))
	require.Equal(t, StatusAuthorised, c.Status)

	require.NoError(t, Apply(&c, EventExpireAuthorised, exp, "Prazo do consentimento atingido"))
	require.Equal(t, StatusRejected, c.Status)
	require.Equal(t, &Rejection{RejectedBy: RejectedByASPSP, Reason: ReasonConsentMaxDateReached, AdditionalInformation: "Prazo do consentimento atingido"}, c.Rejection)

	var ite *IllegalTransitionError
	require.ErrorAs(t, Apply(&c, EventRevokeByTPP, exp.Add(time.Minute), ""), &ite)
	require.True(t, errors.As(error(ite), &ite))
}

func TestOpenEndedConsentNeverExpires(t *testing.T) {
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	c := newTestConsent(t, t0, nil)
	require.NoError(t, Apply(&c, EventAuthorise, t0.Add(time.Minute), ""))
	_, due := Due(c, t0.Add(100*365*24*time.Hour))
	require.False(t, due)
}

func TestApplyExtension(t *testing.T) {
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	exp := t0.Add(24 * time.Hour)
	c := newTestConsent(t, t0, &exp)
	user := LoggedUser{Document: Document{Identification: "76109277673", Rel: "CPF"}}

	_, err := ApplyExtension(&c, Extension{LoggedUser: user}, t0.Add(time.Minute))
	var ite *IllegalTransitionError
	require.ErrorAs(t, err, &ite, "awaiting consents cannot be extended")

	require.NoError(t, Apply(&c, EventAuthorise, t0.Add(time.Minute), ""))
	newExp := t0.Add(48 * time.Hour)
	ext, err := ApplyExtension(&c, Extension{ExpirationDateTime: &newExp, LoggedUser: user}, t0.Add(2*time.Hour))
	require.NoError(t, err)
	require.Equal(t, &exp, ext.PreviousExpirationDateTime)
	require.Equal(t, &newExp, c.ExpirationDateTime)
	require.Equal(t, t0.Add(2*time.Hour), ext.RequestDateTime)

	// Open-ended renewal.
	ext, err = ApplyExtension(&c, Extension{LoggedUser: user}, t0.Add(3*time.Hour))
	require.NoError(t, err)
	require.Equal(t, &newExp, ext.PreviousExpirationDateTime)
	require.Nil(t, c.ExpirationDateTime)

	// A date in the past is refused.
	past := t0
	var pe *PreconditionError
	_, err = ApplyExtension(&c, Extension{ExpirationDateTime: &past, LoggedUser: user}, t0.Add(4*time.Hour))
	require.ErrorAs(t, err, &pe)
}

func TestNewValidates(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	good := Consent{
		ID: "urn:bancoex:C1DD33123", Permissions: []string{PermResourcesRead},
		LoggedUser: LoggedUser{Document: Document{Identification: "1", Rel: "CPF"}}, ClientID: "c",
	}
	_, err := New(good, now)
	require.NoError(t, err)

	bad := good
	bad.ID = "C1DD33123"
	_, err = New(bad, now)
	require.Error(t, err)

	bad = good
	bad.Permissions = []string{"ACCOUNTS_WRITE"}
	_, err = New(bad, now)
	var upe *UnknownPermissionError
	require.ErrorAs(t, err, &upe)

	bad = good
	bad.Permissions = []string{PermResourcesRead, PermResourcesRead}
	_, err = New(bad, now)
	require.Error(t, err)

	bad = good
	bad.Status = StatusAuthorised
	_, err = New(bad, now)
	require.Error(t, err)

	bad = good
	bad.LoggedUser = LoggedUser{}
	_, err = New(bad, now)
	require.Error(t, err)

	past := now.Add(-time.Hour)
	bad = good
	bad.ExpirationDateTime = &past
	_, err = New(bad, now)
	require.Error(t, err)

	_, err = NewID("-bad")
	require.Error(t, err)
	id, err := NewID("bancoex")
	require.NoError(t, err)
	require.True(t, ValidID(id))
}

func TestIncompleteGroups(t *testing.T) {
	g, missing := IncompleteGroups([]string{PermAccountsRead, PermAccountsBalancesRead, PermResourcesRead})
	require.Empty(t, g)
	require.False(t, missing)

	g, missing = IncompleteGroups([]string{PermAccountsBalancesRead, PermResourcesRead})
	require.Equal(t, []string{"Contas - Saldos"}, g)
	require.False(t, missing)

	g, missing = IncompleteGroups([]string{PermExchangesRead})
	require.Equal(t, []string{"Câmbio"}, g, "a group without RESOURCES_READ is incomplete")
	require.True(t, missing)

	g, _ = IncompleteGroups([]string{PermLoansRead, PermResourcesRead})
	require.Equal(t, []string{"Operações de Crédito"}, g)

	for _, grp := range PermissionGroups {
		require.Contains(t, grp.Permissions, PermResourcesRead, grp.Name)
		for _, p := range grp.Permissions {
			require.True(t, IsKnownPermission(p), p)
		}
		g, missing := IncompleteGroups(grp.Permissions)
		require.Empty(t, g, grp.Name)
		require.False(t, missing)
	}
}

// FuzzApply drives a consent through arbitrary event sequences and clock
// jumps: whatever happens, the status stays one of the spec's values, a
// REJECTED consent always carries a rejection and never moves again, and a
// refused event leaves the consent untouched.
func FuzzApply(f *testing.F) {
	f.Add([]byte{1, 0, 7, 4})
	f.Add([]byte{5, 200, 2})
	f.Add([]byte{1, 30, 6, 255, 3, 9})
	f.Fuzz(func(t *testing.T, steps []byte) {
		t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
		exp := t0.Add(2 * time.Hour)
		c := newTestConsent(t, t0, &exp)
		now := t0
		for i := 0; i+1 < len(steps); i += 2 {
			ev := Events[int(steps[i])%len(Events)]
			now = now.Add(time.Duration(steps[i+1]) * time.Minute)
			before := c
			var err error
			if ev == EventExtend {
				_, err = ApplyExtension(&c, Extension{LoggedUser: c.LoggedUser}, now)
			} else {
				err = Apply(&c, ev, now, "")
			}
			if err != nil {
				require.Equal(t, before, c, "a refused %s must not change the consent", ev)
				continue
			}
			require.NotEqual(t, StatusRejected, before.Status, "REJECTED is final")
			require.True(t, c.Status.Valid())
			require.Equal(t, c.Status == StatusRejected, c.Rejection != nil)
		}
	})
}
