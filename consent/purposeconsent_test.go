package consent

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestPurposeTransitionTable(t *testing.T) {
	const ill = PurposeStatus("illegal")
	all := []PurposeEvent{PurposeEventGrant, PurposeEventRenew, PurposeEventRevoke, PurposeEventRevokeLinked, PurposeEventExpire}
	want := map[PurposeStatus][]PurposeStatus{ // in the order of all
		PurposeNone:    {PurposeActive, ill, ill, ill, ill},
		PurposeActive:  {ill, PurposeActive, PurposeRevoked, PurposeRevoked, PurposeExpired},
		PurposeRevoked: {ill, ill, ill, ill, ill},
		PurposeExpired: {ill, ill, ill, ill, ill},
	}
	for from, row := range want {
		for i, ev := range all {
			got, err := PurposeTransition(from, ev)
			if row[i] == ill {
				var pte *PurposeTransitionError
				require.ErrorAs(t, err, &pte, "%q/%s", from, ev)
				require.Equal(t, from, got)
				continue
			}
			require.NoError(t, err)
			require.Equal(t, row[i], got, "%q/%s", from, ev)
		}
	}
}

func TestPurposeConsentRules(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	base := PurposeConsent{ID: "urn:bank:p-1", PurposeID: "marketing", LegalBasis: "CONSENTIMENTO", RevocationRule: LinkKeep,
		Customer: Document{Identification: "76109277673", Rel: "CPF"}}
	p, err := NewPurposeConsent(base, now)
	require.NoError(t, err)
	require.Equal(t, PurposeActive, p.Status)
	require.True(t, p.Active(now))

	for name, mut := range map[string]func(*PurposeConsent){
		"bad id":        func(p *PurposeConsent) { p.ID = "p-1" },
		"no purpose":    func(p *PurposeConsent) { p.PurposeID = " " },
		"bad rule":      func(p *PurposeConsent) { p.RevocationRule = "MAYBE" },
		"no basis":      func(p *PurposeConsent) { p.LegalBasis = "" },
		"no customer":   func(p *PurposeConsent) { p.Customer.Identification = "" },
		"bad perm":      func(p *PurposeConsent) { p.Permissions = []string{"ACCOUNTS_WRITE"} },
		"expires first": func(p *PurposeConsent) { e := now.Add(-time.Second); p.ExpiresAt = &e },
	} {
		c := base
		mut(&c)
		_, err := NewPurposeConsent(c, now)
		require.Error(t, err, name)
	}

	exp := now.Add(time.Hour)
	p.ExpiresAt = &exp
	require.Error(t, ApplyPurpose(&p, PurposeEventExpire, now, ""), "not due")
	require.False(t, p.Active(exp), "past ExpiresAt counts as inactive before the job runs")
	later := now.Add(2 * time.Hour)
	require.Error(t, RenewPurpose(&p, &later, exp), "renewing after the expiry is refused")
	require.NoError(t, RenewPurpose(&p, &later, now))
	require.Equal(t, later, *p.ExpiresAt)
	require.NoError(t, ApplyPurpose(&p, PurposeEventRevoke, now, "asked by the customer"))
	require.Equal(t, PurposeRevoked, p.Status)
	require.Equal(t, "asked by the customer", p.RevocationReason)
	require.False(t, p.Active(now))
}
