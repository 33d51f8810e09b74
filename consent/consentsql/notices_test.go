package consentsql

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/consent"
)

// TestNearExpiryContract extends the store contract with the near-expiry
// notice methods (migration 0002) on both engines.
func TestNearExpiryContract(t *testing.T) {
	for name, nb := range engines() {
		t.Run(name, func(t *testing.T) { testNearExpiryContract(t, nb) })
	}
}

const noticeType = "test.near_expiry"

func testNearExpiryContract(t *testing.T, nb newBackend) {
	ctx := context.Background()
	user := consent.LoggedUser{Document: consent.Document{Identification: "1", Rel: "CPF"}}
	authorised := func(t *testing.T, s *Store, exp *time.Time) consent.Consent {
		t.Helper()
		c, err := s.Create(ctx, newConsent(t, "1", "client-1", time.Time{}, exp), tpp)
		require.NoError(t, err)
		c, err = s.ApplyEvent(ctx, c.ID, consent.EventAuthorise, consent.AuditActor{Who: "user:1"})
		require.NoError(t, err)
		return c
	}

	t.Run("list, record once, renewal re-arms", func(t *testing.T) {
		clk := newTestClock(t0)
		s := nb(t).Open(t, clk.opts())
		soon := authorised(t, s, ptr(t0.Add(48*time.Hour)))
		// Not noticed: outside the lead time, open-ended, still awaiting.
		_ = authorised(t, s, ptr(t0.Add(10*24*time.Hour)))
		_ = authorised(t, s, nil)
		_, err := s.Create(ctx, newConsent(t, "1", "client-1", time.Time{}, ptr(t0.Add(24*time.Hour))), tpp)
		require.NoError(t, err)
		revoked := authorised(t, s, ptr(t0.Add(24*time.Hour)))
		_, err = s.ApplyEvent(ctx, revoked.ID, consent.EventRevokeByUser, consent.AuditActor{Who: "user:1"})
		require.NoError(t, err)

		lead := 72 * time.Hour
		got, err := s.ListNearExpiry(ctx, clk.Now(), lead, 10)
		require.NoError(t, err)
		require.Equal(t, []string{soon.ID}, consentIDs(got))
		require.Equal(t, *soon.ExpirationDateTime, *got[0].ExpirationDateTime)

		pending, err := s.PendingOutbox(ctx)
		require.NoError(t, err)
		ok, err := s.RecordNearExpiryNotice(ctx, soon.ID, *soon.ExpirationDateTime, noticeType, json.RawMessage(`{"n":1}`))
		require.NoError(t, err)
		require.True(t, ok)
		after, err := s.PendingOutbox(ctx)
		require.NoError(t, err)
		require.Equal(t, pending+1, after, "the notice goes through the outbox")

		ok, err = s.RecordNearExpiryNotice(ctx, soon.ID, *soon.ExpirationDateTime, noticeType, json.RawMessage(`{"n":2}`))
		require.NoError(t, err)
		require.False(t, ok, "a second notice for the same expiry writes nothing")
		got, err = s.ListNearExpiry(ctx, clk.Now(), lead, 10)
		require.NoError(t, err)
		require.Empty(t, got)

		ok, err = s.RecordNearExpiryNotice(ctx, revoked.ID, *revoked.ExpirationDateTime, noticeType, json.RawMessage(`{}`))
		require.NoError(t, err)
		require.False(t, ok, "a revoked consent gets no notice")
		_, err = s.RecordNearExpiryNotice(ctx, "urn:bancoex:missing", t0, noticeType, json.RawMessage(`{}`))
		require.ErrorIs(t, err, consent.ErrNotFound)

		evs, err := s.ClaimOutbox(ctx, 100)
		require.NoError(t, err)
		var notices []consent.OutboxEvent
		for _, e := range evs {
			if e.Type == noticeType {
				notices = append(notices, e)
			}
		}
		require.Len(t, notices, 1)
		require.Equal(t, soon.ID, notices[0].ConsentID)
		require.JSONEq(t, `{"n":1}`, string(notices[0].Payload))
		require.Equal(t, t0, notices[0].CreatedAt)

		clk.Advance(time.Hour)
		newExp := t0.Add(60 * time.Hour)
		_, _, err = s.Extend(ctx, soon.ID, consent.Extension{ExpirationDateTime: &newExp, LoggedUser: user,
			CustomerIPAddress: "10.0.0.1", CustomerUserAgent: "ua"}, tpp)
		require.NoError(t, err)
		got, err = s.ListNearExpiry(ctx, clk.Now(), lead, 10)
		require.NoError(t, err)
		require.Equal(t, []string{soon.ID}, consentIDs(got), "a renewal re-arms the notice")
		ok, err = s.RecordNearExpiryNotice(ctx, soon.ID, t0.Add(48*time.Hour), noticeType, json.RawMessage(`{}`))
		require.NoError(t, err)
		require.False(t, ok, "a notice for the superseded expiry writes nothing")
		ok, err = s.RecordNearExpiryNotice(ctx, soon.ID, newExp, noticeType, json.RawMessage(`{}`))
		require.NoError(t, err)
		require.True(t, ok)

		clk.Set(newExp)
		got, err = s.ListNearExpiry(ctx, clk.Now(), lead, 10)
		require.NoError(t, err)
		require.Empty(t, got, "expired consents belong to the expiry job")
	})

	t.Run("concurrent recorders write one notice", func(t *testing.T) {
		clk := newTestClock(t0)
		s := nb(t).Open(t, clk.opts())
		c := authorised(t, s, ptr(t0.Add(time.Hour)))
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			wins int
			errs []error
		)
		for range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := s.RecordNearExpiryNotice(ctx, c.ID, *c.ExpirationDateTime, noticeType, json.RawMessage(`{}`))
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, err)
				}
				if ok {
					wins++
				}
			}()
		}
		wg.Wait()
		require.Empty(t, errs)
		require.Equal(t, 1, wins)
	})
}
