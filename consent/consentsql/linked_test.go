package consentsql

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/consent"
)

// TestLinkedContract is the contract of roles, resources, purpose consents
// and their cascades, on every engine.
func TestLinkedContract(t *testing.T) {
	for name, nb := range engines() {
		t.Run(name, func(t *testing.T) { testLinkedContract(t, nb) })
	}
}

func newPurposeConsent(t *testing.T, doc string, rule consent.LinkRule, linked string) consent.PurposeConsent {
	t.Helper()
	id, err := consent.NewID("bancoex")
	require.NoError(t, err)
	return consent.PurposeConsent{
		ID: id, PurposeID: "partner-sharing", LegalBasis: "CONSENTIMENTO", RevocationRule: rule,
		Customer: consent.Document{Identification: doc, Rel: "CPF"}, PartnerID: "partner-1", LinkedConsentID: linked,
		Permissions: []string{consent.PermAccountsRead, consent.PermAccountsBalancesRead, consent.PermResourcesRead},
	}
}

var customerActor = consent.AuditActor{Who: "user:111", Reason: "portal"}

// outboxOf drains the outbox and returns the events of the given type.
func outboxOf(t *testing.T, s *Store, typ string) []consent.OutboxEvent {
	t.Helper()
	evs, err := s.ClaimOutbox(context.Background(), 1000)
	require.NoError(t, err)
	var ids []string
	var out []consent.OutboxEvent
	for _, e := range evs {
		ids = append(ids, e.ID)
		if e.Type == typ {
			out = append(out, e)
		}
	}
	require.NoError(t, s.MarkPublished(context.Background(), ids))
	return out
}

func testLinkedContract(t *testing.T, nb newBackend) {
	ctx := context.Background()

	t.Run("roles and counterparty", func(t *testing.T) {
		clk := newTestClock(t0)
		s := nb(t).Open(t, clk.opts())
		held, err := s.Create(ctx, newConsent(t, "111", "client-1", time.Time{}, ptr(t0.Add(48*time.Hour))), tpp)
		require.NoError(t, err)
		require.Equal(t, consent.RoleHolder, held.Role, "HOLDER by default")

		rc := newConsent(t, "111", "our-client-at-other-bank", time.Time{}, ptr(t0.Add(48*time.Hour)))
		rc.Role = consent.RoleReceiver
		_, err = s.Create(ctx, rc, tpp)
		require.Error(t, err, "a RECEIVER consent names its holder")
		rc.Counterparty = "Banco Outro S.A."
		received, err := s.Create(ctx, rc, tpp)
		require.NoError(t, err)
		got, err := s.Get(ctx, rc.ID)
		require.NoError(t, err)
		require.Equal(t, received, got)
		require.Equal(t, consent.RoleReceiver, got.Role)
		require.Equal(t, "Banco Outro S.A.", got.Counterparty)

		p, err := s.Search(ctx, Filter{Role: consent.RoleReceiver})
		require.NoError(t, err)
		require.Equal(t, []string{rc.ID}, consentIDs(p.Consents))
		p, err = s.Search(ctx, Filter{Role: consent.RoleHolder, Document: "111"})
		require.NoError(t, err)
		require.Equal(t, []string{held.ID}, consentIDs(p.Consents))

		for _, id := range []string{held.ID, rc.ID} {
			_, err := s.ApplyEvent(ctx, id, consent.EventAuthorise, customerActor)
			require.NoError(t, err)
		}
		near, err := s.ListNearExpiry(ctx, clk.Now(), 72*time.Hour, 10)
		require.NoError(t, err)
		require.Equal(t, []string{held.ID}, consentIDs(near), "no webhook notice for consents we obtained as receiver")

		evs := outboxOf(t, s, consent.OutboxEventType)
		roles := map[string]consent.Role{}
		for _, e := range evs {
			var le consent.LifecycleEvent
			require.NoError(t, json.Unmarshal(e.Payload, &le))
			roles[le.ConsentID] = le.Role
		}
		require.Equal(t, map[string]consent.Role{held.ID: consent.RoleHolder, rc.ID: consent.RoleReceiver}, roles)
	})

	t.Run("authorise stores the chosen resources", func(t *testing.T) {
		clk := newTestClock(t0)
		s := nb(t).Open(t, clk.opts())
		c, err := s.Create(ctx, newConsent(t, "111", "client-1", time.Time{}, nil), tpp)
		require.NoError(t, err)
		_, err = s.Authorise(ctx, c.ID, []consent.Resource{{ID: "acc-1", Type: "SAVINGS", Status: "AVAILABLE"}}, customerActor)
		require.Error(t, err, "unknown resource type")
		res := []consent.Resource{
			{ID: "card-9", Type: "CREDIT_CARD_ACCOUNT", Status: "AVAILABLE"},
			{ID: "acc-1", Type: "ACCOUNT", Status: "AVAILABLE"},
			{ID: "acc-2", Type: "ACCOUNT", Status: "PENDING_AUTHORISATION"},
		}
		clk.Advance(time.Minute)
		got, err := s.Authorise(ctx, c.ID, res, customerActor)
		require.NoError(t, err)
		require.Equal(t, consent.StatusAuthorised, got.Status)
		list, err := s.Resources(ctx, c.ID)
		require.NoError(t, err)
		require.Equal(t, []consent.Resource{res[1], res[2], res[0]}, list)
		_, err = s.Authorise(ctx, c.ID, nil, customerActor)
		var ite *consent.IllegalTransitionError
		require.ErrorAs(t, err, &ite)
		list, err = s.Resources(ctx, c.ID)
		require.NoError(t, err)
		require.Len(t, list, 3, "a refused authorisation writes nothing")

		late, err := s.Create(ctx, newConsent(t, "111", "client-1", t0.Add(-2*time.Hour), nil), tpp)
		require.NoError(t, err)
		_, err = s.Authorise(ctx, late.ID, res, customerActor)
		var pe *consent.PreconditionError
		require.ErrorAs(t, err, &pe, "after the 60-minute window")
	})

	t.Run("grant validates the link", func(t *testing.T) {
		clk := newTestClock(t0)
		s := nb(t).Open(t, clk.opts())
		c, err := s.Create(ctx, newConsent(t, "111", "client-1", time.Time{}, nil), tpp)
		require.NoError(t, err)

		_, err = s.GrantPurpose(ctx, newPurposeConsent(t, "111", consent.LinkRevoke, "urn:bancoex:missing"), customerActor)
		require.ErrorIs(t, err, consent.ErrPurposeLink)
		_, err = s.GrantPurpose(ctx, newPurposeConsent(t, "222", consent.LinkRevoke, c.ID), customerActor)
		require.ErrorIs(t, err, consent.ErrPurposeLink, "another customer's consent")
		bad := newPurposeConsent(t, "111", "SOMETIMES", c.ID)
		_, err = s.GrantPurpose(ctx, bad, customerActor)
		require.Error(t, err)

		exp := t0.Add(30 * 24 * time.Hour)
		pc := newPurposeConsent(t, "111", consent.LinkRevoke, c.ID)
		pc.ExpiresAt = &exp
		granted, err := s.GrantPurpose(ctx, pc, customerActor)
		require.NoError(t, err)
		require.Equal(t, consent.PurposeActive, granted.Status)
		require.Equal(t, t0, granted.GrantedAt)
		require.Equal(t, int64(1), granted.Version)
		got, err := s.GetPurpose(ctx, pc.ID)
		require.NoError(t, err)
		require.Equal(t, granted, got)
		_, err = s.GrantPurpose(ctx, pc, customerActor)
		require.ErrorIs(t, err, consent.ErrAlreadyExists)

		unlinked := newPurposeConsent(t, "111", consent.LinkKeep, "")
		unlinked.PartnerID, unlinked.Permissions = "", nil
		u, err := s.GrantPurpose(ctx, unlinked, customerActor)
		require.NoError(t, err)
		got, err = s.GetPurpose(ctx, u.ID)
		require.NoError(t, err)
		require.Equal(t, u, got)

		_, err = s.ApplyEvent(ctx, c.ID, consent.EventRevokeByTPP, tpp)
		require.NoError(t, err)
		_, err = s.GrantPurpose(ctx, newPurposeConsent(t, "111", consent.LinkRevoke, c.ID), customerActor)
		require.ErrorIs(t, err, consent.ErrPurposeLink, "a REJECTED consent takes no new link")

		_, err = s.GetPurpose(ctx, "urn:bancoex:none")
		require.ErrorIs(t, err, consent.ErrNotFound)
	})

	t.Run("rejecting a regulated consent revokes linked purpose consents by rule", func(t *testing.T) {
		clk := newTestClock(t0)
		s := nb(t).Open(t, clk.opts())
		c, err := s.Create(ctx, newConsent(t, "111", "client-1", time.Time{}, nil), tpp)
		require.NoError(t, err)
		_, err = s.ApplyEvent(ctx, c.ID, consent.EventAuthorise, customerActor)
		require.NoError(t, err)
		grant := func(rule consent.LinkRule) consent.PurposeConsent {
			p, err := s.GrantPurpose(ctx, newPurposeConsent(t, "111", rule, c.ID), customerActor)
			require.NoError(t, err)
			return p
		}
		revoke, keep, askNo, askYes := grant(consent.LinkRevoke), grant(consent.LinkKeep), grant(consent.LinkAsk), grant(consent.LinkAsk)
		_ = outboxOf(t, s, "")

		clk.Advance(time.Hour)
		got, cas, err := s.ApplyEventCascade(ctx, c.ID, consent.EventRevokeByTPP, tpp, LinkedOptions{AlsoRevoke: []string{askYes.ID, keep.ID}})
		require.NoError(t, err)
		require.Equal(t, consent.StatusRejected, got.Status)
		require.Empty(t, cas.Rejected)
		require.ElementsMatch(t, []string{revoke.ID, askYes.ID}, purposeIDs(cas.Revoked))

		want := map[string]consent.PurposeStatus{revoke.ID: consent.PurposeRevoked, keep.ID: consent.PurposeActive,
			askNo.ID: consent.PurposeActive, askYes.ID: consent.PurposeRevoked}
		for id, st := range want {
			p, err := s.GetPurpose(ctx, id)
			require.NoError(t, err)
			require.Equal(t, st, p.Status, id)
			if st == consent.PurposeRevoked {
				require.Equal(t, t0.Add(time.Hour), p.StatusUpdateDateTime)
				require.Contains(t, p.RevocationReason, c.ID)
				h, err := s.PurposeHistory(ctx, id)
				require.NoError(t, err)
				require.Len(t, h, 2)
				require.Equal(t, consent.PurposeEventRevokeLinked, h[1].Event)
				require.Equal(t, tpp.Who, h[1].Who)
			}
		}
		evs := outboxOf(t, s, consent.PurposeOutboxEventType)
		require.Len(t, evs, 2, "one purpose event per cascaded revocation, same transaction")
		linked, err := s.LinkedPurposes(ctx, c.ID)
		require.NoError(t, err)
		require.Len(t, linked, 4)
	})

	t.Run("revoking a purpose consent rejects its regulated consent by rule", func(t *testing.T) {
		clk := newTestClock(t0)
		s := nb(t).Open(t, clk.opts())
		held, err := s.Create(ctx, newConsent(t, "111", "client-1", time.Time{}, nil), tpp)
		require.NoError(t, err)
		_, err = s.ApplyEvent(ctx, held.ID, consent.EventAuthorise, customerActor)
		require.NoError(t, err)
		trigger, err := s.GrantPurpose(ctx, newPurposeConsent(t, "111", consent.LinkRevoke, held.ID), customerActor)
		require.NoError(t, err)
		sibling, err := s.GrantPurpose(ctx, newPurposeConsent(t, "111", consent.LinkRevoke, held.ID), customerActor)
		require.NoError(t, err)
		kept, err := s.GrantPurpose(ctx, newPurposeConsent(t, "111", consent.LinkKeep, held.ID), customerActor)
		require.NoError(t, err)

		clk.Advance(time.Minute)
		p, cas, err := s.RevokePurpose(ctx, trigger.ID, consent.AuditActor{Who: "user:111", Reason: "no longer wanted"}, LinkedOptions{})
		require.NoError(t, err)
		require.Equal(t, consent.PurposeRevoked, p.Status)
		require.Equal(t, "no longer wanted", p.RevocationReason)
		require.Equal(t, []string{held.ID}, consentIDs(cas.Rejected))
		require.Equal(t, []string{sibling.ID}, purposeIDs(cas.Revoked))
		c, err := s.Get(ctx, held.ID)
		require.NoError(t, err)
		require.Equal(t, consent.StatusRejected, c.Status)
		require.Equal(t, &consent.Rejection{RejectedBy: consent.RejectedByUser, Reason: consent.ReasonCustomerManuallyRevoked}, c.Rejection)
		h, err := s.History(ctx, held.ID)
		require.NoError(t, err)
		require.Contains(t, h[len(h)-1].Reason, trigger.ID)
		k, err := s.GetPurpose(ctx, kept.ID)
		require.NoError(t, err)
		require.Equal(t, consent.PurposeActive, k.Status)

		_, _, err = s.RevokePurpose(ctx, trigger.ID, customerActor, LinkedOptions{})
		var pte *consent.PurposeTransitionError
		require.ErrorAs(t, err, &pte, "REVOKED is final")
		_, _, err = s.RevokePurpose(ctx, "urn:bancoex:none", customerActor, LinkedOptions{})
		require.ErrorIs(t, err, consent.ErrNotFound)

		// ASK_CUSTOMER follows only the customer's choice; a RECEIVER consent is revoked as TPP.
		rc := newConsent(t, "111", "our-client", time.Time{}, nil)
		rc.Role, rc.Counterparty = consent.RoleReceiver, "Banco Outro"
		rcv, err := s.Create(ctx, rc, tpp)
		require.NoError(t, err)
		ask1, err := s.GrantPurpose(ctx, newPurposeConsent(t, "111", consent.LinkAsk, rcv.ID), customerActor)
		require.NoError(t, err)
		ask2, err := s.GrantPurpose(ctx, newPurposeConsent(t, "111", consent.LinkAsk, rcv.ID), customerActor)
		require.NoError(t, err)
		_, cas, err = s.RevokePurpose(ctx, ask1.ID, customerActor, LinkedOptions{})
		require.NoError(t, err)
		require.Empty(t, cas.Rejected)
		c, err = s.Get(ctx, rcv.ID)
		require.NoError(t, err)
		require.Equal(t, consent.StatusAwaitingAuthorisation, c.Status)
		_ = outboxOf(t, s, "")
		_, cas, err = s.RevokePurpose(ctx, ask2.ID, customerActor, LinkedOptions{RevokeLinkedConsent: true})
		require.NoError(t, err)
		require.Equal(t, []string{rcv.ID}, consentIDs(cas.Rejected))
		require.Equal(t, &consent.Rejection{RejectedBy: consent.RejectedByTPP, Reason: consent.ReasonCustomerManuallyRejected}, cas.Rejected[0].Rejection)
		evs := outboxOf(t, s, consent.OutboxEventType)
		require.Len(t, evs, 1)
		var le consent.LifecycleEvent
		require.NoError(t, json.Unmarshal(evs[0].Payload, &le))
		require.Equal(t, consent.RoleReceiver, le.Role, "the receiver connector revokes it at the holder from this event")
		require.Equal(t, consent.EventRevokeByTPP, le.Event)
	})

	t.Run("expiry, renewal and the customer view", func(t *testing.T) {
		clk := newTestClock(t0)
		s := nb(t).Open(t, clk.opts())
		exp := t0.Add(2 * time.Hour)
		c := newConsent(t, "111", "client-1", time.Time{}, &exp)
		c.BusinessEntity = &consent.BusinessEntity{Document: consent.Document{Identification: "50685362000135", Rel: "CNPJ"}}
		held, err := s.Create(ctx, c, tpp)
		require.NoError(t, err)
		_, err = s.Authorise(ctx, held.ID, []consent.Resource{{ID: "acc-1", Type: "ACCOUNT", Status: "AVAILABLE"}}, customerActor)
		require.NoError(t, err)
		linked, err := s.GrantPurpose(ctx, newPurposeConsent(t, "111", consent.LinkRevoke, held.ID), customerActor)
		require.NoError(t, err)
		pexp := t0.Add(time.Hour)
		short := newPurposeConsent(t, "111", consent.LinkKeep, "")
		short.ExpiresAt = &pexp
		short, err = s.GrantPurpose(ctx, short, customerActor)
		require.NoError(t, err)
		rc := newConsent(t, "111", "our-client", time.Time{}, nil)
		rc.Role, rc.Counterparty = consent.RoleReceiver, "Banco Outro"
		_, err = s.Create(ctx, rc, tpp)
		require.NoError(t, err)
		_, err = s.Create(ctx, newConsent(t, "999", "client-1", time.Time{}, nil), tpp)
		require.NoError(t, err)

		// Renewal of a purpose consent.
		renewTo := t0.Add(90 * time.Minute)
		r, err := s.RenewPurpose(ctx, short.ID, &renewTo, customerActor)
		require.NoError(t, err)
		require.Equal(t, renewTo, *r.ExpiresAt)
		_, err = s.RenewPurpose(ctx, short.ID, ptr(t0.Add(-time.Hour)), customerActor)
		var pe *consent.PreconditionError
		require.ErrorAs(t, err, &pe)

		clk.Advance(100 * time.Minute)
		due, err := s.ListDuePurposes(ctx, clk.Now(), 10)
		require.NoError(t, err)
		require.Equal(t, []string{short.ID}, due)
		e, err := s.ExpirePurpose(ctx, short.ID, consent.AuditActor{Who: "system:expiry"})
		require.NoError(t, err)
		require.Equal(t, consent.PurposeExpired, e.Status)
		_, err = s.ExpirePurpose(ctx, linked.ID, consent.AuditActor{Who: "system:expiry"})
		require.ErrorAs(t, err, &pe, "open-ended purpose consents never expire")

		// Expiry of the regulated consent is the end of the link too.
		clk.Advance(time.Hour)
		_, cas, err := s.ApplyEventCascade(ctx, held.ID, consent.EventExpireAuthorised, consent.AuditActor{Who: "system:expiry"}, LinkedOptions{})
		require.NoError(t, err)
		require.Equal(t, []string{linked.ID}, purposeIDs(cas.Revoked))

		view, err := s.CustomerConsents(ctx, "111")
		require.NoError(t, err)
		require.Equal(t, "111", view.Document)
		require.Len(t, view.Consents, 2, "held and received, not the other customer's")
		roles := map[consent.Role]ConsentRecord{}
		for _, r := range view.Consents {
			roles[r.Consent.Role] = r
		}
		h := roles[consent.RoleHolder]
		require.Equal(t, held.ID, h.Consent.ID)
		require.Equal(t, []consent.Event{consent.EventCreate, consent.EventAuthorise, consent.EventExpireAuthorised}, events(h.History))
		require.Equal(t, []consent.Resource{{ID: "acc-1", Type: "ACCOUNT", Status: "AVAILABLE"}}, h.Resources)
		require.Equal(t, []string{linked.ID}, h.Linked)
		require.Equal(t, "Banco Outro", roles[consent.RoleReceiver].Consent.Counterparty)
		require.Len(t, view.Purposes, 2)
		for _, p := range view.Purposes {
			require.NotEqual(t, consent.PurposeActive, p.Consent.Status)
			require.GreaterOrEqual(t, len(p.History), 2)
			require.Equal(t, consent.PurposeEventGrant, p.History[0].Event)
		}
		biz, err := s.CustomerConsents(ctx, "50685362000135")
		require.NoError(t, err)
		require.Len(t, biz.Consents, 1, "the business entity sees its consent")
		require.Empty(t, biz.Purposes)
		none, err := s.CustomerConsents(ctx, "")
		require.NoError(t, err)
		require.Empty(t, none.Consents)
	})

	t.Run("concurrent revocations of both sides never deadlock nor leave a link half revoked", func(t *testing.T) {
		s := nb(t).Open(t, Options{})
		const pairs = 25
		type pair struct {
			c       consent.Consent
			a, b, k consent.PurposeConsent
		}
		ps := make([]pair, pairs)
		for i := range ps {
			c, err := s.Create(ctx, newConsent(t, "111", "client-1", time.Time{}, nil), tpp)
			require.NoError(t, err)
			_, err = s.ApplyEvent(ctx, c.ID, consent.EventAuthorise, customerActor)
			require.NoError(t, err)
			ps[i].c = c
			for _, slot := range []*consent.PurposeConsent{&ps[i].a, &ps[i].b} {
				*slot, err = s.GrantPurpose(ctx, newPurposeConsent(t, "111", consent.LinkRevoke, c.ID), customerActor)
				require.NoError(t, err)
			}
			ps[i].k, err = s.GrantPurpose(ctx, newPurposeConsent(t, "111", consent.LinkKeep, c.ID), customerActor)
			require.NoError(t, err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, pairs*4)
		ok := func(err error) bool {
			var ite *consent.IllegalTransitionError
			var pte *consent.PurposeTransitionError
			return err == nil || errors.As(err, &ite) || errors.As(err, &pte)
		}
		for _, p := range ps {
			wg.Add(4)
			go func() {
				defer wg.Done()
				_, err := s.ApplyEvent(ctx, p.c.ID, consent.EventRevokeByTPP, tpp)
				if !ok(err) {
					errs <- err
				}
			}()
			for _, id := range []string{p.a.ID, p.b.ID, p.k.ID} {
				go func() {
					defer wg.Done()
					_, _, err := s.RevokePurpose(ctx, id, customerActor, LinkedOptions{})
					if !ok(err) {
						errs <- err
					}
				}()
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		for _, p := range ps {
			c, err := s.Get(ctx, p.c.ID)
			require.NoError(t, err)
			require.Equal(t, consent.StatusRejected, c.Status)
			h, err := s.History(ctx, p.c.ID)
			require.NoError(t, err)
			require.Len(t, h, 3, "rejected exactly once")
			for _, pc := range []consent.PurposeConsent{p.a, p.b, p.k} {
				got, err := s.GetPurpose(ctx, pc.ID)
				require.NoError(t, err)
				require.Equal(t, consent.PurposeRevoked, got.Status)
				ph, err := s.PurposeHistory(ctx, pc.ID)
				require.NoError(t, err)
				require.Len(t, ph, 2, "revoked exactly once")
			}
		}
	})
}

func purposeIDs(ps []consent.PurposeConsent) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.ID
	}
	return out
}

func events(h []consent.AuditEntry) []consent.Event {
	out := make([]consent.Event, len(h))
	for i, e := range h {
		out[i] = e.Event
	}
	return out
}
