package consentsql

import (
	"context"
	"encoding/json"
	"io/fs"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/consent"
)

// TestStoreContract runs the one contract suite against every engine.
func TestStoreContract(t *testing.T) {
	for name, nb := range engines() {
		t.Run(name, func(t *testing.T) { testStoreContract(t, nb) })
	}
}

// t0 has sub-second digits on purpose: stores must keep them.
var t0 = time.Date(2025, 3, 1, 12, 0, 0, 123456000, time.UTC)

func newConsent(t *testing.T, doc, client string, created time.Time, exp *time.Time) consent.Consent {
	t.Helper()
	id, err := consent.NewID("bancoex")
	require.NoError(t, err)
	return consent.Consent{
		ID:                 id,
		Permissions:        []string{consent.PermAccountsRead, consent.PermAccountsBalancesRead, consent.PermResourcesRead},
		LoggedUser:         consent.LoggedUser{Document: consent.Document{Identification: doc, Rel: "CPF"}},
		ClientID:           client,
		ExpirationDateTime: exp,
		CreationDateTime:   created,
	}
}

func ptr(t time.Time) *time.Time { return &t }

var tpp = consent.AuditActor{Who: "tpp:client-1", ClientID: "client-1", InteractionID: "b7c1a8a8-0b1c-4d5e-9f00-000000000001"}

// testStoreContract is the behaviour every Store engine must have.
func testStoreContract(t *testing.T, nb newBackend) {
	ctx := context.Background()

	t.Run("create and get round-trip every field", func(t *testing.T) {
		clk := newTestClock(t0)
		s := nb(t).Open(t, clk.opts())
		c := newConsent(t, "76109277673", "client-1", time.Time{}, ptr(t0.Add(365*24*time.Hour+987654321)))
		c.BusinessEntity = &consent.BusinessEntity{Document: consent.Document{Identification: "50685362000135", Rel: "CNPJ"}}
		created, err := s.Create(ctx, c, tpp)
		require.NoError(t, err)
		require.Equal(t, consent.StatusAwaitingAuthorisation, created.Status)
		require.Equal(t, t0, created.CreationDateTime, "creation time comes from the store clock")
		require.Equal(t, int64(1), created.Version)
		require.Equal(t, t0.Add(365*24*time.Hour+987654000), *created.ExpirationDateTime, "kept to the microsecond")

		got, err := s.Get(ctx, c.ID)
		require.NoError(t, err)
		require.Equal(t, created, got)
		require.Equal(t, time.UTC, got.CreationDateTime.Location())

		_, err = s.Create(ctx, c, tpp)
		require.ErrorIs(t, err, consent.ErrAlreadyExists)

		_, err = s.Get(ctx, "urn:bancoex:nope")
		require.ErrorIs(t, err, consent.ErrNotFound)

		bad := newConsent(t, "1", "client-1", time.Time{}, nil)
		bad.Permissions = []string{"ACCOUNTS_WRITE"}
		_, err = s.Create(ctx, bad, tpp)
		var upe *consent.UnknownPermissionError
		require.ErrorAs(t, err, &upe)

		h, err := s.History(ctx, c.ID)
		require.NoError(t, err)
		require.Equal(t, []consent.AuditEntry{{At: t0, From: consent.StatusNone, To: consent.StatusAwaitingAuthorisation,
			Event: consent.EventCreate, Who: tpp.Who, ClientID: tpp.ClientID, InteractionID: tpp.InteractionID}}, h)
	})

	t.Run("open-ended consent keeps no expiration", func(t *testing.T) {
		clk := newTestClock(t0)
		s := nb(t).Open(t, clk.opts())
		c, err := s.Create(ctx, newConsent(t, "1", "client-1", time.Time{}, nil), tpp)
		require.NoError(t, err)
		got, err := s.Get(ctx, c.ID)
		require.NoError(t, err)
		require.Nil(t, got.ExpirationDateTime)
		require.Nil(t, got.BusinessEntity)
	})

	t.Run("lifecycle with rejection, illegal moves write nothing", func(t *testing.T) {
		clk := newTestClock(t0)
		s := nb(t).Open(t, clk.opts())
		c, err := s.Create(ctx, newConsent(t, "1", "client-1", time.Time{}, nil), tpp)
		require.NoError(t, err)

		clk.Advance(90 * time.Second)
		user := consent.AuditActor{Who: "user:1", Reason: "confirmed at holder"}
		got, err := s.ApplyEvent(ctx, c.ID, consent.EventAuthorise, user)
		require.NoError(t, err)
		require.Equal(t, consent.StatusAuthorised, got.Status)
		require.Equal(t, t0.Add(90*time.Second), got.StatusUpdateDateTime)
		require.Equal(t, int64(2), got.Version)

		clk.Advance(time.Hour)
		del := tpp
		del.Detail = "Revogado pelo cliente na receptora"
		got, err = s.ApplyEvent(ctx, c.ID, consent.EventRevokeByTPP, del)
		require.NoError(t, err)
		require.Equal(t, consent.StatusRejected, got.Status)
		require.Equal(t, &consent.Rejection{RejectedBy: consent.RejectedByTPP, Reason: consent.ReasonCustomerManuallyRevoked,
			AdditionalInformation: "Revogado pelo cliente na receptora"}, got.Rejection)
		stored, err := s.Get(ctx, c.ID)
		require.NoError(t, err)
		require.Equal(t, got, stored)

		// DELETE on a REJECTED consent: typed error, nothing written.
		_, err = s.ApplyEvent(ctx, c.ID, consent.EventRevokeByTPP, tpp)
		var ite *consent.IllegalTransitionError
		require.ErrorAs(t, err, &ite)
		require.Equal(t, consent.StatusRejected, ite.From)
		after, err := s.Get(ctx, c.ID)
		require.NoError(t, err)
		require.Equal(t, stored, after)

		h, err := s.History(ctx, c.ID)
		require.NoError(t, err)
		require.Len(t, h, 3)
		require.Equal(t, consent.EventAuthorise, h[1].Event)
		require.Equal(t, "confirmed at holder", h[1].Reason)
		require.Equal(t, consent.StatusAuthorised, h[2].From)
		require.Equal(t, consent.StatusRejected, h[2].To)
		require.Equal(t, t0.Add(90*time.Second+time.Hour), h[2].At)

		n, err := s.PendingOutbox(ctx)
		require.NoError(t, err)
		require.Equal(t, 3, n)

		_, err = s.ApplyEvent(ctx, "urn:bancoex:missing", consent.EventAuthorise, tpp)
		require.ErrorIs(t, err, consent.ErrNotFound)
	})

	t.Run("extend and list extensions", func(t *testing.T) {
		clk := newTestClock(t0)
		s := nb(t).Open(t, clk.opts())
		exp := t0.Add(24 * time.Hour)
		c, err := s.Create(ctx, newConsent(t, "1", "client-1", time.Time{}, &exp), tpp)
		require.NoError(t, err)
		user := consent.LoggedUser{Document: consent.Document{Identification: "1", Rel: "CPF"}}

		_, _, err = s.Extend(ctx, c.ID, consent.Extension{LoggedUser: user}, tpp)
		var ite *consent.IllegalTransitionError
		require.ErrorAs(t, err, &ite, "only AUTHORISED consents can be extended")

		_, err = s.ApplyEvent(ctx, c.ID, consent.EventAuthorise, consent.AuditActor{Who: "user:1"})
		require.NoError(t, err)
		clk.Advance(time.Hour)
		newExp := t0.Add(48*time.Hour + 500*time.Millisecond)
		got, ext, err := s.Extend(ctx, c.ID, consent.Extension{ExpirationDateTime: &newExp, LoggedUser: user,
			CustomerIPAddress: "172.217.22.14", CustomerUserAgent: "Mozilla/5.0"}, tpp)
		require.NoError(t, err)
		require.Equal(t, newExp, *got.ExpirationDateTime)
		require.Equal(t, exp, *ext.PreviousExpirationDateTime)
		require.Equal(t, consent.StatusAuthorised, got.Status)

		clk.Advance(time.Hour)
		_, _, err = s.Extend(ctx, c.ID, consent.Extension{LoggedUser: user, CustomerIPAddress: "10.0.0.1", CustomerUserAgent: "ua"}, tpp)
		require.NoError(t, err)

		exts, err := s.Extensions(ctx, c.ID)
		require.NoError(t, err)
		require.Len(t, exts, 2)
		require.Nil(t, exts[0].ExpirationDateTime, "newest first: the open-ended renewal")
		require.Equal(t, newExp, *exts[0].PreviousExpirationDateTime)
		require.Equal(t, t0.Add(2*time.Hour), exts[0].RequestDateTime)
		require.Equal(t, newExp, *exts[1].ExpirationDateTime)
		require.Equal(t, "172.217.22.14", exts[1].CustomerIPAddress)

		got, err = s.Get(ctx, c.ID)
		require.NoError(t, err)
		require.Nil(t, got.ExpirationDateTime)
		h, err := s.History(ctx, c.ID)
		require.NoError(t, err)
		require.Len(t, h, 4)
		require.Equal(t, consent.EventExtend, h[3].Event)
		require.Equal(t, consent.StatusAuthorised, h[3].From)
		require.Equal(t, consent.StatusAuthorised, h[3].To)
	})

	t.Run("list due and expire", func(t *testing.T) {
		clk := newTestClock(t0)
		s := nb(t).Open(t, clk.opts())
		old, err := s.Create(ctx, newConsent(t, "1", "c", t0.Add(-61*time.Minute), nil), tpp)
		require.NoError(t, err)
		fresh, err := s.Create(ctx, newConsent(t, "1", "c", t0.Add(-59*time.Minute), nil), tpp)
		require.NoError(t, err)
		expiring, err := s.Create(ctx, newConsent(t, "1", "c", t0.Add(-30*time.Minute), ptr(t0.Add(time.Hour))), tpp)
		require.NoError(t, err)
		openEnded, err := s.Create(ctx, newConsent(t, "1", "c", t0.Add(-30*time.Minute), nil), tpp)
		require.NoError(t, err)
		for _, id := range []string{expiring.ID, openEnded.ID} {
			_, err = s.ApplyEvent(ctx, id, consent.EventAuthorise, consent.AuditActor{Who: "user:1"})
			require.NoError(t, err)
		}
		// Authorising after the 60-minute window is refused.
		_, err = s.ApplyEvent(ctx, old.ID, consent.EventAuthorise, consent.AuditActor{Who: "user:1"})
		var pe *consent.PreconditionError
		require.ErrorAs(t, err, &pe)

		due, err := s.ListDue(ctx, clk.Now(), 100)
		require.NoError(t, err)
		require.Equal(t, []DueTransition{{ConsentID: old.ID, Event: consent.EventExpireAwaiting}}, due)
		_, err = s.ApplyEvent(ctx, fresh.ID, consent.EventExpireAwaiting, consent.AuditActor{Who: "system:expiry"})
		require.ErrorAs(t, err, &pe, "not due yet")

		clk.Advance(time.Hour)
		due, err = s.ListDue(ctx, clk.Now(), 100)
		require.NoError(t, err)
		require.ElementsMatch(t, []DueTransition{
			{ConsentID: old.ID, Event: consent.EventExpireAwaiting},
			{ConsentID: fresh.ID, Event: consent.EventExpireAwaiting},
			{ConsentID: expiring.ID, Event: consent.EventExpireAuthorised},
		}, due)
		limited, err := s.ListDue(ctx, clk.Now(), 2)
		require.NoError(t, err)
		require.Len(t, limited, 2)

		for _, d := range due {
			_, err := s.ApplyEvent(ctx, d.ConsentID, d.Event, consent.AuditActor{Who: "system:expiry"})
			require.NoError(t, err)
		}
		got, err := s.Get(ctx, old.ID)
		require.NoError(t, err)
		require.Equal(t, &consent.Rejection{RejectedBy: consent.RejectedByASPSP, Reason: consent.ReasonConsentExpired}, got.Rejection)
		got, err = s.Get(ctx, expiring.ID)
		require.NoError(t, err)
		require.Equal(t, &consent.Rejection{RejectedBy: consent.RejectedByASPSP, Reason: consent.ReasonConsentMaxDateReached}, got.Rejection)

		due, err = s.ListDue(ctx, clk.Now().Add(1000*time.Hour), 100)
		require.NoError(t, err)
		require.Empty(t, due, "open-ended authorised consents never fall due")
	})

	t.Run("search filters and pages", func(t *testing.T) {
		clk := newTestClock(t0)
		s := nb(t).Open(t, clk.opts())
		var ids []string
		for i := range 7 {
			doc, client := "111", "client-a"
			if i%2 == 1 {
				doc, client = "222", "client-b"
			}
			c := newConsent(t, doc, client, t0.Add(time.Duration(i)*time.Minute), nil)
			if i == 6 {
				c.BusinessEntity = &consent.BusinessEntity{Document: consent.Document{Identification: "999", Rel: "CNPJ"}}
			}
			created, err := s.Create(ctx, c, tpp)
			require.NoError(t, err)
			ids = append(ids, created.ID)
		}
		_, err := s.ApplyEvent(ctx, ids[0], consent.EventAuthorise, tpp)
		require.NoError(t, err)

		p, err := s.Search(ctx, Filter{Document: "111", PageSize: 2})
		require.NoError(t, err)
		require.Equal(t, 4, p.TotalRecords)
		require.Equal(t, 2, p.TotalPages)
		require.Equal(t, []string{ids[6], ids[4]}, consentIDs(p.Consents), "newest first")
		p, err = s.Search(ctx, Filter{Document: "111", PageSize: 2, Page: 2})
		require.NoError(t, err)
		require.Equal(t, []string{ids[2], ids[0]}, consentIDs(p.Consents))

		p, err = s.Search(ctx, Filter{Document: "999"})
		require.NoError(t, err)
		require.Equal(t, []string{ids[6]}, consentIDs(p.Consents), "business entity document matches")

		p, err = s.Search(ctx, Filter{ClientID: "client-b"})
		require.NoError(t, err)
		require.Equal(t, []string{ids[5], ids[3], ids[1]}, consentIDs(p.Consents))
		require.Equal(t, 25, p.PageSize)

		p, err = s.Search(ctx, Filter{Status: consent.StatusAuthorised})
		require.NoError(t, err)
		require.Equal(t, []string{ids[0]}, consentIDs(p.Consents))

		p, err = s.Search(ctx, Filter{CreatedFrom: t0.Add(2 * time.Minute), CreatedTo: t0.Add(4 * time.Minute)})
		require.NoError(t, err)
		require.Equal(t, []string{ids[3], ids[2]}, consentIDs(p.Consents), "from inclusive, to exclusive")

		p, err = s.Search(ctx, Filter{ClientID: "nobody"})
		require.NoError(t, err)
		require.Equal(t, 0, p.TotalRecords)
		require.Equal(t, 0, p.TotalPages)
		require.Empty(t, p.Consents)
	})

	t.Run("outbox claim, lease and publish", func(t *testing.T) {
		clk := newTestClock(t0)
		s := nb(t).Open(t, clk.optsLease(time.Minute))
		c, err := s.Create(ctx, newConsent(t, "1", "client-1", time.Time{}, nil), tpp)
		require.NoError(t, err)
		_, err = s.ApplyEvent(ctx, c.ID, consent.EventAuthorise, consent.AuditActor{Who: "user:1", InteractionID: "i-2"})
		require.NoError(t, err)

		evs, err := s.ClaimOutbox(ctx, 10)
		require.NoError(t, err)
		require.Len(t, evs, 2)
		var first, second consent.LifecycleEvent
		require.NoError(t, json.Unmarshal(evs[0].Payload, &first))
		require.NoError(t, json.Unmarshal(evs[1].Payload, &second))
		require.Equal(t, consent.EventCreate, first.Event)
		require.Equal(t, consent.EventAuthorise, second.Event)
		require.Equal(t, consent.StatusAwaitingAuthorisation, second.From)
		require.Equal(t, consent.StatusAuthorised, second.To)
		require.Equal(t, int64(2), second.Version)
		require.Equal(t, "client-1", second.ClientID)
		require.Equal(t, "i-2", second.InteractionID)
		require.Equal(t, consent.OutboxEventType, evs[0].Type)
		require.Equal(t, c.ID, evs[0].ConsentID)
		require.Equal(t, t0, evs[0].CreatedAt)

		again, err := s.ClaimOutbox(ctx, 10)
		require.NoError(t, err)
		require.Empty(t, again, "claimed events are hidden during the lease")

		require.NoError(t, s.MarkPublished(ctx, []string{evs[0].ID}))
		clk.Advance(time.Minute)
		again, err = s.ClaimOutbox(ctx, 10)
		require.NoError(t, err)
		require.Equal(t, []string{evs[1].ID}, outboxIDs(again), "an unpublished event comes back after the lease")
		require.NoError(t, s.MarkPublished(ctx, []string{evs[1].ID, "unknown"}))
		clk.Advance(time.Hour)
		again, err = s.ClaimOutbox(ctx, 10)
		require.NoError(t, err)
		require.Empty(t, again)
		n, err := s.PendingOutbox(ctx)
		require.NoError(t, err)
		require.Zero(t, n)
	})

	t.Run("concurrent claimers never share an event", func(t *testing.T) {
		s := nb(t).Open(t, Options{ClaimLease: time.Hour})
		for range 40 {
			_, err := s.Create(ctx, newConsent(t, "1", "client-1", time.Time{}, nil), tpp)
			require.NoError(t, err)
		}
		var (
			mu   sync.Mutex
			seen = map[string]int{}
			wg   sync.WaitGroup
			errs = make(chan error, 4)
		)
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					evs, err := s.ClaimOutbox(ctx, 3)
					if err != nil {
						errs <- err
						return
					}
					if len(evs) == 0 {
						return
					}
					mu.Lock()
					for _, e := range evs {
						seen[e.ID]++
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		require.Len(t, seen, 40)
		for id, n := range seen {
			require.Equal(t, 1, n, "event %s claimed %d times", id, n)
		}
	})

	t.Run("migrations re-run idempotently", func(t *testing.T) {
		b := nb(t)
		s1 := b.Open(t, Options{})
		c, err := s1.Create(ctx, newConsent(t, "1", "client-1", time.Time{}, nil), tpp)
		require.NoError(t, err)
		require.NoError(t, s1.Close())
		s2 := b.Open(t, Options{})
		s3 := b.Open(t, Options{})
		for _, s := range []*Store{s2, s3} {
			v, err := s.AppliedMigrations(ctx)
			require.NoError(t, err)
			want, err := fs.ReadDir(migrationFiles, "migrations/"+s.Dialect()) // every embedded migration
			require.NoError(t, err)
			require.Len(t, v, len(want))
			require.Equal(t, 1, v[0])
			got, err := s.Get(ctx, c.ID)
			require.NoError(t, err)
			require.Equal(t, c.ID, got.ID)
		}
	})

	t.Run("concurrent random operations keep a valid history", func(t *testing.T) {
		testConcurrentHistory(t, nb(t))
	})
}

func consentIDs(cs []consent.Consent) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

func outboxIDs(evs []consent.OutboxEvent) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.ID
	}
	return out
}
