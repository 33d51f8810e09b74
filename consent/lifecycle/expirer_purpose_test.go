package lifecycle

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/consent"
	"github.com/ofp-dev/ofp/consent/consentsql"
)

type tokenLog struct {
	mu  sync.Mutex
	ids []string
}

func (l *tokenLog) RevokeConsentTokens(_ context.Context, id string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ids = append(l.ids, id)
	return nil
}

func TestExpirerRevokesTokensAndExpiresPurposeConsents(t *testing.T) {
	ctx := context.Background()
	clk := newTestClock(t0)
	s := openStore(t, "", consentsql.Options{Now: clk.Now})
	held := createConsent(t, s, ptr(t0.Add(time.Hour)))
	authorise(t, s, held.ID)
	rc := createReceived(t, s, ptr(t0.Add(time.Hour)))
	linked := grantPurpose(t, s, held.ID, consent.LinkRevoke, nil)
	short := grantPurpose(t, s, "", consent.LinkKeep, ptr(t0.Add(30*time.Minute)))
	long := grantPurpose(t, s, "", consent.LinkKeep, ptr(t0.Add(3*time.Hour)))

	clk.Advance(2 * time.Hour)
	tokens := &tokenLog{}
	res, err := NewExpirer(s, ExpirerOptions{Now: clk.Now, Tokens: tokens}).Expire(ctx)
	require.NoError(t, err)
	require.Equal(t, ExpiryResult{Applied: 2, PurposesExpired: 1}, res)
	require.Equal(t, []string{held.ID}, tokens.ids, "tokens exist only for consents we hold")

	for id, want := range map[string]consent.PurposeStatus{
		linked.ID: consent.PurposeRevoked, // the regulated expiry ends the link (REVOKE_LINKED)
		short.ID:  consent.PurposeExpired,
		long.ID:   consent.PurposeActive,
	} {
		p, err := s.GetPurpose(ctx, id)
		require.NoError(t, err)
		require.Equal(t, want, p.Status, id)
	}
	c, err := s.Get(ctx, rc.ID)
	require.NoError(t, err)
	require.Equal(t, consent.StatusRejected, c.Status, "the receiver must drop expired consents too")
}

func createReceived(t *testing.T, s *consentsql.Store, exp *time.Time) consent.Consent {
	t.Helper()
	id, err := consent.NewID("outro")
	require.NoError(t, err)
	c, err := s.Create(context.Background(), consent.Consent{
		ID: id, Permissions: []string{consent.PermAccountsRead, consent.PermAccountsBalancesRead, consent.PermResourcesRead},
		LoggedUser: consent.LoggedUser{Document: consent.Document{Identification: "76109277673", Rel: "CPF"}},
		ClientID:   "our-client", ExpirationDateTime: exp, Role: consent.RoleReceiver, Counterparty: "Banco Outro",
	}, consent.AuditActor{Who: "system:connector"})
	require.NoError(t, err)
	authorise(t, s, c.ID)
	return c
}

func grantPurpose(t *testing.T, s *consentsql.Store, linked string, rule consent.LinkRule, exp *time.Time) consent.PurposeConsent {
	t.Helper()
	id, err := consent.NewID("bancoex")
	require.NoError(t, err)
	p, err := s.GrantPurpose(context.Background(), consent.PurposeConsent{
		ID: id, PurposeID: "marketing", LegalBasis: "CONSENTIMENTO", RevocationRule: rule,
		Customer: consent.Document{Identification: "76109277673", Rel: "CPF"}, LinkedConsentID: linked, ExpiresAt: exp,
	}, consent.AuditActor{Who: "user:76109277673"})
	require.NoError(t, err)
	return p
}
