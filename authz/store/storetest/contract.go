// Package storetest holds the contract every authz/store database engine
// must pass. Several Stores opened on one database stand for several
// replicas. It only serves tests; production code never imports it.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/luikyv/go-oidc/pkg/goidc"
	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/authz/store"
)

// Open opens a Store on the database under test. Each call opens another
// Store (its own connection pool, as another replica would) on the same
// database.
type Open func(t *testing.T, opts store.Options) *store.Store

// Clock is a settable clock for Options.Now.
type Clock struct{ ns atomic.Int64 }

// NewClock starts at t.
func NewClock(t time.Time) *Clock {
	c := &Clock{}
	c.ns.Store(t.UnixNano())
	return c
}

// Now is the current time of the clock.
func (c *Clock) Now() time.Time { return time.Unix(0, c.ns.Load()).UTC() }

// Advance moves the clock.
func (c *Clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// Run runs the contract; newDatabase gives each subtest a fresh, empty
// database.
func Run(t *testing.T, newDatabase func(t *testing.T) Open) {
	ctx := context.Background()
	start := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

	t.Run("PAR, login and code redemption continue on any replica", func(t *testing.T) {
		open := newDatabase(t)
		clock := NewClock(start)
		opts := store.Options{Now: clock.Now}
		a, b, c, d := open(t, opts), open(t, opts), open(t, opts), open(t, opts)
		now := int(clock.Now().Unix())

		// Replica A answers /par.
		par := &goidc.AuthnSession{
			ID: uuid.NewString(), Status: goidc.StatusPending, PushedAuthReqID: random(), ClientID: "client-1",
			CreatedAt: now, ExpiresAt: now + 90, Store: map[string]any{"k": "v"},
			AuthorizationParameters: goidc.AuthorizationParameters{
				RedirectURI: "https://tpp.example/cb", Scopes: "openid consent:urn:bank:c1", State: "st", Nonce: "n",
				ResponseType: goidc.ResponseTypeCodeAndIDToken, CodeChallenge: "cc", CodeChallengeMethod: goidc.CodeChallengeMethodSHA256,
			},
		}
		require.NoError(t, a.SaveSession(ctx, par))

		// Replica B answers /authorize?request_uri=...: the request_uri is
		// claimed once, whichever replica asks again.
		got, err := b.SessionByPushedAuthReqID(ctx, par.PushedAuthReqID)
		require.NoError(t, err)
		require.Equal(t, par, got)
		_, err = c.SessionByPushedAuthReqID(ctx, par.PushedAuthReqID)
		require.ErrorIs(t, err, goidc.ErrNotFound, "request_uri is one-time use")
		_, err = b.SessionByPushedAuthReqID(ctx, par.PushedAuthReqID)
		require.ErrorIs(t, err, goidc.ErrNotFound)
		got.PolicyID = "login"
		got.ExpiresAt = now + 600
		got.Store["csrf"] = "token-1"
		require.NoError(t, b.SaveSession(ctx, got))

		// Replica C serves the login page callback /authorize/{id}.
		cb, err := c.Session(ctx, par.ID)
		require.NoError(t, err)
		require.Equal(t, got, cb)
		cb.Subject = "user-1"
		cb.GrantedScopes = cb.Scopes
		cb.Status = goidc.StatusSuccess
		require.NoError(t, c.SaveSession(ctx, cb))

		// The finished session cannot be resumed or finished again.
		_, err = d.Session(ctx, par.ID)
		require.ErrorIs(t, err, goidc.ErrNotFound, "a finished session is not resumable")
		again := *cb
		require.ErrorIs(t, d.SaveSession(ctx, &again), store.ErrSessionFinished)

		// C issues the grant and the code (hybrid flow).
		code, rt := random(), random()
		grant := &goidc.Grant{
			ID: uuid.NewString(), CreatedAt: now, Subject: cb.Subject, ClientID: cb.ClientID, Scopes: cb.GrantedScopes,
			AuthCode: code, AuthCodeExpiresAt: now + 60, RefreshToken: rt, AuthParams: cb.AuthorizationParameters,
			Store: cb.Store,
		}
		require.NoError(t, c.SaveGrant(ctx, grant))

		// Replica D answers /token with the code.
		byCode, err := d.GrantByAuthCode(ctx, code)
		require.NoError(t, err)
		require.Equal(t, grant.ID, byCode.ID)
		require.Equal(t, code, byCode.AuthCode)
		require.Equal(t, rt, byCode.RefreshToken, "the token response needs the refresh token")
		require.Zero(t, byCode.AuthCodeConsumedAt)
		require.Equal(t, grant.AuthParams, byCode.AuthParams)
		require.Equal(t, "token-1", byCode.Store["csrf"])
		_, err = d.GrantByRefreshToken(ctx, rt)
		require.ErrorIs(t, err, goidc.ErrNotFound, "no refresh before the code is redeemed")

		byCode.CertThumbprint = "thumb"
		byCode.AuthCodeConsumedAt = now + 1
		require.NoError(t, d.SaveGrant(ctx, byCode))
		require.Equal(t, true, byCode.Store[store.RedeemedMarker])

		// After redemption the refresh token is only a hash.
		byID, err := a.Grant(ctx, grant.ID)
		require.NoError(t, err)
		require.Empty(t, byID.RefreshToken, "plain refresh token dropped once the code is redeemed")
		require.Empty(t, byID.AuthCode, "the code is never stored")
		require.Equal(t, now+1, byID.AuthCodeConsumedAt)
		require.Equal(t, "thumb", byID.CertThumbprint)

		// Replica A answers grant_type=refresh_token.
		byRT, err := a.GrantByRefreshToken(ctx, rt)
		require.NoError(t, err)
		require.Equal(t, grant.ID, byRT.ID)
		require.Equal(t, rt, byRT.RefreshToken)
		require.Zero(t, byRT.RevokedAt)
		// Saving a redeemed grant again (refresh) is fine, on any replica.
		require.NoError(t, a.SaveGrant(ctx, byRT))
		require.NoError(t, b.SaveGrant(ctx, byID))

		// Rotation: the new token replaces the old one.
		rt2 := random()
		byRT.RefreshToken = rt2
		require.NoError(t, a.SaveGrant(ctx, byRT))
		_, err = b.GrantByRefreshToken(ctx, rt)
		require.ErrorIs(t, err, goidc.ErrNotFound)
		rotated, err := b.GrantByRefreshToken(ctx, rt2)
		require.NoError(t, err)
		require.Equal(t, grant.ID, rotated.ID)
		require.Equal(t, map[string]any{"k": "v", "csrf": "token-1", store.RedeemedMarker: true}, rotated.Store,
			"the session's data, and the marker of a redeemed code")
	})

	t.Run("two replicas redeem one code concurrently: exactly one wins", func(t *testing.T) {
		open := newDatabase(t)
		replicas := []*store.Store{open(t, store.Options{}), open(t, store.Options{})}
		for round := range 5 {
			code, rt := random(), random()
			now := int(time.Now().Unix())
			g := &goidc.Grant{ID: uuid.NewString(), ClientID: "client-1", Subject: "user-1", Scopes: "openid accounts",
				AuthCode: code, AuthCodeExpiresAt: now + 60, RefreshToken: rt}
			require.NoError(t, replicas[0].SaveGrant(ctx, g))

			const racers = 6
			loaded := make([]*goidc.Grant, racers)
			for i := range racers {
				// Every racer reads the grant before anyone redeems it,
				// as go-oidc does (read, check, save).
				gg, err := replicas[i%2].GrantByAuthCode(ctx, code)
				require.NoError(t, err)
				require.Zero(t, gg.AuthCodeConsumedAt)
				loaded[i] = gg
			}
			errs := make([]error, racers)
			var wg sync.WaitGroup
			gate := make(chan struct{})
			for i := range racers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-gate
					loaded[i].AuthCodeConsumedAt = now
					errs[i] = replicas[i%2].SaveGrant(ctx, loaded[i])
				}()
			}
			close(gate)
			wg.Wait()
			wins := 0
			for i, err := range errs {
				if err == nil {
					wins++
					continue
				}
				require.ErrorIs(t, err, store.ErrCodeRedeemed, "round %d racer %d", round, i)
				var oe goidc.Error
				require.True(t, errors.As(err, &oe), "a goidc error so the client gets invalid_grant")
				require.Equal(t, goidc.ErrorCodeInvalidGrant, oe.Code)
			}
			require.Equal(t, 1, wins, "round %d: exactly one redemption wins", round)

			// go-oidc then revokes the grant from the losing request: the
			// winner's refresh token (and access tokens) stop working.
			for i, err := range errs {
				if err != nil {
					loaded[i].RevokedAt = now
					require.NoError(t, replicas[i%2].SaveGrant(ctx, loaded[i]))
					break
				}
			}
			for _, r := range replicas {
				got, err := r.Grant(ctx, g.ID)
				require.NoError(t, err)
				require.NotZero(t, got.RevokedAt, "reused code revokes the grant")
				byRT, err := r.GrantByRefreshToken(ctx, rt)
				require.NoError(t, err)
				require.NotZero(t, byRT.RevokedAt)
			}
		}
	})

	t.Run("a replayed code revokes the tokens of its first redemption", func(t *testing.T) {
		open := newDatabase(t)
		a, b := open(t, store.Options{}), open(t, store.Options{})
		code, rt := random(), random()
		now := int(time.Now().Unix())
		g := &goidc.Grant{ID: uuid.NewString(), ClientID: "client-1", Subject: "user-1", Scopes: "openid",
			AuthCode: code, AuthCodeExpiresAt: now + 60, RefreshToken: rt}
		require.NoError(t, a.SaveGrant(ctx, g))
		first, err := a.GrantByAuthCode(ctx, code)
		require.NoError(t, err)
		first.AuthCodeConsumedAt = now
		require.NoError(t, a.SaveGrant(ctx, first))

		// A refresh flow on A reads the grant before the replay...
		stale, err := a.GrantByRefreshToken(ctx, rt)
		require.NoError(t, err)

		// ...the replay on B finds the code redeemed, and go-oidc revokes.
		replay, err := b.GrantByAuthCode(ctx, code)
		require.NoError(t, err)
		require.NotZero(t, replay.AuthCodeConsumedAt, "go-oidc refuses a redeemed code")
		replay.RevokedAt = now
		require.NoError(t, b.SaveGrant(ctx, replay))

		// The stale save from the refresh flow does not undo the revocation.
		require.NoError(t, a.SaveGrant(ctx, stale))
		got, err := a.GrantByRefreshToken(ctx, rt)
		require.NoError(t, err)
		require.NotZero(t, got.RevokedAt)
		got, err = b.Grant(ctx, g.ID)
		require.NoError(t, err)
		require.NotZero(t, got.RevokedAt)
	})

	t.Run("a jti is accepted once across replicas", func(t *testing.T) {
		open := newDatabase(t)
		clock := NewClock(start)
		opts := store.Options{Now: clock.Now, JTIWindow: 10 * time.Minute}
		a, b := open(t, opts), open(t, opts)
		jti := uuid.NewString()
		require.NoError(t, a.ConsumeJTI(ctx, jti))
		require.ErrorIs(t, b.ConsumeJTI(ctx, jti), store.ErrJTIReplayed)
		require.ErrorIs(t, a.ConsumeJTI(ctx, jti), store.ErrJTIReplayed)
		require.NoError(t, a.ForBrand("brand-b").ConsumeJTI(ctx, jti), "brands keep their own ids")
		require.Error(t, a.ConsumeJTI(ctx, ""))

		// Concurrent first uses: exactly one wins.
		raced := uuid.NewString()
		var ok atomic.Int32
		var wg sync.WaitGroup
		gate := make(chan struct{})
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-gate
				err := []*store.Store{a, b}[i%2].ConsumeJTI(ctx, raced)
				if err == nil {
					ok.Add(1)
					return
				}
				if !errors.Is(err, store.ErrJTIReplayed) {
					t.Errorf("racer %d: %v", i, err)
				}
			}()
		}
		close(gate)
		wg.Wait()
		require.Equal(t, int32(1), ok.Load())

		// After the window the id may be used again (the JWT expired long ago).
		clock.Advance(11 * time.Minute)
		require.NoError(t, b.ConsumeJTI(ctx, jti))
		require.ErrorIs(t, a.ConsumeJTI(ctx, jti), store.ErrJTIReplayed)
	})

	t.Run("revoking a consent revokes its grants on every replica", func(t *testing.T) {
		open := newDatabase(t)
		a, b := open(t, store.Options{}), open(t, store.Options{})
		now := int(time.Now().Unix())
		mk := func(scopes string) (*goidc.Grant, string) {
			rt := random()
			g := &goidc.Grant{ID: uuid.NewString(), ClientID: "client-1", Subject: "user-1", Scopes: scopes, RefreshToken: rt, CreatedAt: now}
			require.NoError(t, a.SaveGrant(ctx, g))
			return g, rt
		}
		g1, rt1 := mk("openid accounts consent:urn:bank:c1")
		g2, _ := mk("openid recurring-consent:urn:bank:c1 recurring-payments")
		g3, rt3 := mk("openid consent:urn:bank:c2")
		g4, _ := mk("openid accounts")
		require.NoError(t, a.ForBrand("brand-b").SaveGrant(ctx, &goidc.Grant{ID: uuid.NewString(), ClientID: "client-2", Scopes: "consent:urn:bank:c1"}))
		require.Equal(t, "urn:bank:c1", store.ConsentID(g1.Scopes))
		require.Equal(t, "urn:bank:c1", store.ConsentID(g2.Scopes))
		require.Empty(t, store.ConsentID(g4.Scopes))

		stale, err := b.GrantByRefreshToken(ctx, rt1)
		require.NoError(t, err)

		n, err := b.RevokeGrantsByConsent(ctx, "urn:bank:c1")
		require.NoError(t, err)
		require.Equal(t, 3, n, "both grants of the consent, at every brand")
		n, err = a.RevokeGrantsByConsent(ctx, "urn:bank:c1")
		require.NoError(t, err)
		require.Zero(t, n, "already revoked")
		_, err = a.RevokeGrantsByConsent(ctx, "")
		require.Error(t, err)

		require.NoError(t, a.SaveGrant(ctx, stale), "a stale save after the revocation")
		for _, g := range []*goidc.Grant{g1, g2} {
			got, err := a.Grant(ctx, g.ID)
			require.NoError(t, err)
			require.NotZero(t, got.RevokedAt, g.Scopes)
		}
		got, err := a.GrantByRefreshToken(ctx, rt1)
		require.NoError(t, err)
		require.NotZero(t, got.RevokedAt)
		for _, g := range []*goidc.Grant{g3, g4} {
			got, err := b.Grant(ctx, g.ID)
			require.NoError(t, err)
			require.Zero(t, got.RevokedAt, g.Scopes)
		}
		got, err = b.GrantByRefreshToken(ctx, rt3)
		require.NoError(t, err)
		require.Zero(t, got.RevokedAt)
	})

	t.Run("expired rows are deleted", func(t *testing.T) {
		open := newDatabase(t)
		clock := NewClock(start)
		s := open(t, store.Options{Now: clock.Now, GrantTail: 15 * time.Minute, JTIWindow: 10 * time.Minute})
		now := int(clock.Now().Unix())

		shortSession := &goidc.AuthnSession{ID: uuid.NewString(), Status: goidc.StatusPending, PushedAuthReqID: random(), ExpiresAt: now + 90}
		longSession := &goidc.AuthnSession{ID: uuid.NewString(), Status: goidc.StatusPending, ExpiresAt: now + 7200}
		require.NoError(t, s.SaveSession(ctx, shortSession))
		require.NoError(t, s.SaveSession(ctx, longSession))
		require.NoError(t, s.ConsumeJTI(ctx, "jti-1"))

		// client_credentials: no code, no refresh token: kept GrantTail.
		cc := &goidc.Grant{ID: uuid.NewString(), ClientID: "client-1", Subject: "client-1", CreatedAt: now}
		// A code never redeemed: kept until the code expired + GrantTail.
		unredeemed := &goidc.Grant{ID: uuid.NewString(), ClientID: "client-1", AuthCode: random(), AuthCodeExpiresAt: now + 60, RefreshToken: random()}
		// Refresh tokens: one for 2 hours, one without expiry.
		rtShort, rtForever := random(), random()
		shortRT := &goidc.Grant{ID: uuid.NewString(), ClientID: "client-1", RefreshToken: rtShort, RefreshTokenExpiresAt: now + 7200}
		forever := &goidc.Grant{ID: uuid.NewString(), ClientID: "client-1", RefreshToken: rtForever}
		for _, g := range []*goidc.Grant{cc, unredeemed, shortRT, forever} {
			require.NoError(t, s.SaveGrant(ctx, g))
		}

		n, err := s.DeleteExpired(ctx, clock.Now())
		require.NoError(t, err)
		require.Zero(t, n)

		// 20 minutes later: the PAR session, the jti, the client_credentials
		// grant and the unredeemed code are gone.
		clock.Advance(20 * time.Minute)
		n, err = s.DeleteExpired(ctx, clock.Now())
		require.NoError(t, err)
		require.Equal(t, 4, n)
		_, err = s.SessionByPushedAuthReqID(ctx, shortSession.PushedAuthReqID)
		require.ErrorIs(t, err, goidc.ErrNotFound)
		_, err = s.Session(ctx, longSession.ID)
		require.NoError(t, err)
		require.NoError(t, s.ConsumeJTI(ctx, "jti-1"), "jti row gone")
		for _, g := range []*goidc.Grant{cc, unredeemed} {
			_, err = s.Grant(ctx, g.ID)
			require.ErrorIs(t, err, goidc.ErrNotFound)
		}

		// 3 hours later: only the refresh token without expiry remains.
		clock.Advance(3 * time.Hour)
		n, err = s.DeleteExpired(ctx, clock.Now())
		require.NoError(t, err)
		require.Equal(t, 3, n, "long session, short refresh grant, second jti")
		_, err = s.GrantByRefreshToken(ctx, rtShort)
		require.ErrorIs(t, err, goidc.ErrNotFound)
		got, err := s.GrantByRefreshToken(ctx, rtForever)
		require.NoError(t, err)
		require.Equal(t, forever.ID, got.ID)

		// A revoked grant goes GrantTail after its revocation.
		got.RevokedAt = int(clock.Now().Unix())
		require.NoError(t, s.SaveGrant(ctx, got))
		clock.Advance(16 * time.Minute)
		n, err = s.DeleteExpired(ctx, clock.Now())
		require.NoError(t, err)
		require.Equal(t, 1, n)
		_, err = s.Grant(ctx, forever.ID)
		require.ErrorIs(t, err, goidc.ErrNotFound)
	})

	t.Run("brands do not see each other's rows", func(t *testing.T) {
		open := newDatabase(t)
		root := open(t, store.Options{})
		a, b := root.ForBrand("brand-a"), root.ForBrand("brand-b")
		now := int(time.Now().Unix())
		as := &goidc.AuthnSession{ID: uuid.NewString(), Status: goidc.StatusPending, PushedAuthReqID: random(), ExpiresAt: now + 90}
		require.NoError(t, a.SaveSession(ctx, as))
		code, rt := random(), random()
		g := &goidc.Grant{ID: uuid.NewString(), ClientID: "c", AuthCode: code, AuthCodeExpiresAt: now + 60, RefreshToken: rt}
		require.NoError(t, a.SaveGrant(ctx, g))

		_, err := b.SessionByPushedAuthReqID(ctx, as.PushedAuthReqID)
		require.ErrorIs(t, err, goidc.ErrNotFound)
		_, err = b.Session(ctx, as.ID)
		require.ErrorIs(t, err, goidc.ErrNotFound)
		_, err = b.Grant(ctx, g.ID)
		require.ErrorIs(t, err, goidc.ErrNotFound)
		_, err = b.GrantByAuthCode(ctx, code)
		require.ErrorIs(t, err, goidc.ErrNotFound)
		require.Error(t, b.SaveGrant(ctx, g), "another brand cannot take over the grant id")

		_, err = a.SessionByPushedAuthReqID(ctx, as.PushedAuthReqID)
		require.NoError(t, err, "the brand-b lookups did not claim it")
		_, err = a.GrantByAuthCode(ctx, code)
		require.NoError(t, err)
	})

	t.Run("Store maps are never nil", func(t *testing.T) {
		s := newDatabase(t)(t, store.Options{})
		now := int(time.Now().Unix())
		as := &goidc.AuthnSession{ID: uuid.NewString(), Status: goidc.StatusPending, PushedAuthReqID: random(), ExpiresAt: now + 90,
			Store: map[string]any{}}
		require.NoError(t, s.SaveSession(ctx, as))
		got, err := s.SessionByPushedAuthReqID(ctx, as.PushedAuthReqID)
		require.NoError(t, err)
		require.NotNil(t, got.Store, "a policy writes into it")
		got, err = s.Session(ctx, as.ID)
		require.NoError(t, err)
		require.NotNil(t, got.Store)
		g := &goidc.Grant{ID: uuid.NewString(), ClientID: "c"}
		require.NoError(t, s.SaveGrant(ctx, g))
		gg, err := s.Grant(ctx, g.ID)
		require.NoError(t, err)
		require.NotNil(t, gg.Store)
	})

	t.Run("unknown keys are goidc.ErrNotFound", func(t *testing.T) {
		s := newDatabase(t)(t, store.Options{})
		for name, f := range map[string]func() error{
			"session":    func() error { _, err := s.Session(ctx, "nope"); return err },
			"par":        func() error { _, err := s.SessionByPushedAuthReqID(ctx, "nope"); return err },
			"par empty":  func() error { _, err := s.SessionByPushedAuthReqID(ctx, ""); return err },
			"grant":      func() error { _, err := s.Grant(ctx, "nope"); return err },
			"code":       func() error { _, err := s.GrantByAuthCode(ctx, "nope"); return err },
			"code empty": func() error { _, err := s.GrantByAuthCode(ctx, ""); return err },
			"refresh":    func() error { _, err := s.GrantByRefreshToken(ctx, "nope"); return err },
		} {
			require.ErrorIs(t, f(), goidc.ErrNotFound, name)
		}
	})

	t.Run("a sealed pending refresh token needs the key", func(t *testing.T) {
		open := newDatabase(t)
		key := make([]byte, 32)
		_, _ = rand.Read(key)
		sealed := open(t, store.Options{SealKey: key})
		code, rt := random(), random()
		g := &goidc.Grant{ID: uuid.NewString(), ClientID: "c", AuthCode: code, AuthCodeExpiresAt: int(time.Now().Unix()) + 60, RefreshToken: rt}
		require.NoError(t, sealed.SaveGrant(ctx, g))
		got, err := open(t, store.Options{SealKey: key}).GrantByAuthCode(ctx, code)
		require.NoError(t, err)
		require.Equal(t, rt, got.RefreshToken)

		other := make([]byte, 32)
		_, _ = rand.Read(other)
		_, err = open(t, store.Options{SealKey: other}).GrantByAuthCode(ctx, code)
		require.ErrorContains(t, err, "SealKey")
		_, err = open(t, store.Options{}).GrantByAuthCode(ctx, code)
		require.ErrorContains(t, err, "SealKey")

		// The seal key rotates: the old one as a previous key opens the
		// token, ResealGrants moves it under the new key, then the old key
		// is no longer needed (and no longer opens it).
		rotated := open(t, store.Options{SealKey: other, PreviousSealKeys: [][]byte{key}})
		got, err = rotated.GrantByAuthCode(ctx, code)
		require.NoError(t, err)
		require.Equal(t, rt, got.RefreshToken)
		n, err := rotated.ResealGrants(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		got, err = open(t, store.Options{SealKey: other}).GrantByAuthCode(ctx, code)
		require.NoError(t, err)
		require.Equal(t, rt, got.RefreshToken)
		_, err = open(t, store.Options{SealKey: key}).GrantByAuthCode(ctx, code)
		require.ErrorContains(t, err, "previous key")
	})

	runKeys(t, newDatabase)
	runLoginLimiter(t, newDatabase)
	runClientRateLimit(t, newDatabase)
}

func random() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
