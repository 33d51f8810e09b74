package server

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/luikyv/go-oidc/pkg/goidc"
	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/authz/idp"
	"github.com/ofp-dev/ofp/internal/httpx"
	"github.com/ofp-dev/ofp/internal/pki"
)

func TestMatchCustomer(t *testing.T) {
	pf := ConsentInfo{LoggedUserDocument: "52998224725", LoggedUserRel: "CPF"}
	pj := ConsentInfo{LoggedUserDocument: "52998224725", BusinessDocument: "11222333000181"}
	require.NoError(t, MatchCustomer(pf, Customer{CPF: "52998224725"}))
	require.ErrorIs(t, MatchCustomer(pf, Customer{CPF: "11144477735"}), ErrCustomerMismatch)
	require.ErrorIs(t, MatchCustomer(pf, Customer{CPF: "52998224725", CNPJ: "11222333000181"}), ErrCustomerMismatch,
		"a business login cannot authorise a personal consent")
	require.NoError(t, MatchCustomer(pj, Customer{CPF: "52998224725", CNPJ: "11222333000181"}))
	require.ErrorIs(t, MatchCustomer(pj, Customer{CPF: "52998224725"}), ErrCustomerMismatch)
	require.ErrorIs(t, MatchCustomer(pj, Customer{CPF: "52998224725", CNPJ: "43142666000197"}), ErrCustomerMismatch)
	require.ErrorIs(t, MatchCustomer(ConsentInfo{}, Customer{}), ErrCustomerMismatch)
}

func TestRequiredLoA(t *testing.T) {
	session := func(acr goidc.ClaimObjectInfo, acrValues string) *goidc.AuthnSession {
		as := &goidc.AuthnSession{}
		as.ACRValues = acrValues
		if acr.IsEssential || acr.Value != "" || acr.Values != nil {
			as.Claims = &goidc.ClaimsObject{IDToken: map[string]goidc.ClaimObjectInfo{goidc.ClaimACR: acr}}
		}
		return as
	}
	for name, tc := range map[string]struct {
		as   *goidc.AuthnSession
		want idp.LoA
		err  bool
	}{
		"nothing asked":      {session(goidc.ClaimObjectInfo{}, ""), idp.LoA2, false},
		"loa2 or loa3":       {session(goidc.ClaimObjectInfo{IsEssential: true, Values: []string{string(ACRLoA2), string(ACRLoA3)}}, ""), idp.LoA2, false},
		"loa3 only":          {session(goidc.ClaimObjectInfo{IsEssential: true, Value: string(ACRLoA3)}, ""), idp.LoA3, false},
		"acr_values loa3":    {session(goidc.ClaimObjectInfo{}, string(ACRLoA3)), idp.LoA3, false},
		"unknown, essential": {session(goidc.ClaimObjectInfo{IsEssential: true, Values: []string{"urn:other"}}, ""), 0, true},
		"unknown, voluntary": {session(goidc.ClaimObjectInfo{Values: []string{"urn:other"}}, ""), idp.LoA2, false},
	} {
		got, err := requiredLoA(tc.as)
		if tc.err {
			var oe goidc.Error
			require.ErrorAs(t, err, &oe, name)
			require.Equal(t, goidc.ErrorCodeInvalidRequest, oe.Code, name)
			continue
		}
		require.NoError(t, err, name)
		require.Equal(t, tc.want, got, name)
	}
}

// fakeGate is a scripted ConsentGate (a narrow interface; the e2e tests
// use the real consent store).
type fakeGate struct {
	authoriseErr error
	authorised   bool
	calls        []string
	who          Customer
	resources    []string
}

func (g *fakeGate) CheckPending(context.Context, string, string) (ConsentInfo, error) {
	return ConsentInfo{}, nil
}
func (g *fakeGate) Authorise(_ context.Context, id string, who Customer, res []string) error {
	g.calls = append(g.calls, "authorise "+id)
	g.who, g.resources = who, res
	return g.authoriseErr
}
func (g *fakeGate) Reject(context.Context, string, Customer) error { return nil }
func (g *fakeGate) Authorised(context.Context, string) (bool, error) {
	return g.authorised, nil
}

func approvedGrant(t *testing.T, id string) *goidc.Grant {
	ap, err := json.Marshal(approval{ConsentID: "urn:bank:c1", Subject: "sub-1", CPF: "52998224725", Resources: []string{"acc-1"}})
	require.NoError(t, err)
	return &goidc.Grant{ID: id, ClientID: "client-1", Subject: "sub-1", Scopes: "openid consent:urn:bank:c1", AuthCode: "code-" + id,
		CreatedAt: int(time.Now().Unix()), Store: map[string]any{keyApproval: string(ap), keyACR: string(ACRLoA2)}}
}

func TestApprovalAuthorisesTheConsentOnlyAfterTheCodeIsStored(t *testing.T) {
	ctx := context.Background()
	mem := NewMemoryStorage()
	gate := &fakeGate{authorised: true}
	g := newConsentGrants(mem.Storage(), gate, quiet, "bank")

	require.NoError(t, g.SaveGrant(ctx, approvedGrant(t, "g1")))
	require.Equal(t, []string{"authorise urn:bank:c1"}, gate.calls)
	require.Equal(t, Customer{Subject: "sub-1", CPF: "52998224725"}, gate.who)
	require.Equal(t, []string{"acc-1"}, gate.resources)
	stored, err := mem.GrantByAuthCode(ctx, "code-g1")
	require.NoError(t, err, "the code was stored")
	require.Zero(t, stored.RevokedAt)
	require.NotContains(t, stored.Store, keyApproval, "the customer's documents are not kept in the grant")
	require.Equal(t, string(ACRLoA2), stored.Store[keyACR])

	// Saving the grant again (code redemption) authorises nothing more.
	stored.AuthCodeConsumedAt = int(time.Now().Unix())
	require.NoError(t, g.SaveGrant(ctx, stored))
	require.Len(t, gate.calls, 1)

	// The consent service fails: the code dies, the consent is untouched.
	gate.authoriseErr, gate.authorised = errors.New("consent service down"), false
	require.Error(t, g.SaveGrant(ctx, approvedGrant(t, "g2")))
	dead, err := mem.GrantByAuthCode(ctx, "code-g2")
	require.NoError(t, err)
	require.NotZero(t, dead.RevokedAt, "a code whose consent could not be authorised is revoked")

	// The answer was lost but the consent service did authorise: keep the code.
	gate.authorised = true
	require.NoError(t, g.SaveGrant(ctx, approvedGrant(t, "g3")))
	kept, err := mem.GrantByAuthCode(ctx, "code-g3")
	require.NoError(t, err)
	require.Zero(t, kept.RevokedAt)

	// A refusal of the consent service (not pending any more) always kills the code.
	gate.authoriseErr = ErrConsentNotPending
	require.ErrorIs(t, g.SaveGrant(ctx, approvedGrant(t, "g4")), ErrConsentNotPending)
	dead, err = mem.GrantByAuthCode(ctx, "code-g4")
	require.NoError(t, err)
	require.NotZero(t, dead.RevokedAt)
}

func TestGrantsOfInactiveConsentsReadAsRevoked(t *testing.T) {
	ctx := context.Background()
	mem := NewMemoryStorage()
	gate := &fakeGate{authorised: true}
	g := newConsentGrants(mem.Storage(), gate, quiet, "bank")
	grant := &goidc.Grant{ID: "g1", Scopes: "openid consent:urn:bank:c1", RefreshToken: "rt-1", CreatedAt: 1}
	require.NoError(t, g.SaveGrant(ctx, grant))
	cc := &goidc.Grant{ID: "g2", Scopes: "consents", CreatedAt: 1}
	require.NoError(t, g.SaveGrant(ctx, cc))

	got, err := g.Grant(ctx, "g1")
	require.NoError(t, err)
	require.Zero(t, got.RevokedAt)
	gate.authorised = false
	got, err = g.Grant(ctx, "g1")
	require.NoError(t, err)
	require.NotZero(t, got.RevokedAt)
	got, err = g.GrantByRefreshToken(ctx, "rt-1")
	require.NoError(t, err)
	require.NotZero(t, got.RevokedAt)
	got, err = g.Grant(ctx, "g2")
	require.NoError(t, err)
	require.Zero(t, got.RevokedAt, "grants without a consent do not ask the consent service")
}

// grantsOnly hides MemoryStorage's RevokeGrantsByConsent, like a store
// that cannot revoke by consent.
type grantsOnly struct{ m *MemoryStorage }

func (g grantsOnly) SaveGrant(ctx context.Context, gr *goidc.Grant) error {
	return g.m.SaveGrant(ctx, gr)
}
func (g grantsOnly) Grant(ctx context.Context, id string) (*goidc.Grant, error) {
	return g.m.Grant(ctx, id)
}

func TestRevokeConsentWithAndWithoutStorageSupport(t *testing.T) {
	ctx := context.Background()
	for name, wrap := range map[string]func(*MemoryStorage) *Storage{
		"storage revokes by consent": func(m *MemoryStorage) *Storage { return m.Storage() },
		"in-memory index": func(m *MemoryStorage) *Storage {
			st := m.Storage()
			st.Grants = grantsOnly{m}
			return st
		},
	} {
		mem := NewMemoryStorage()
		g := newConsentGrants(wrap(mem), &fakeGate{authorised: true}, quiet, "bank")
		for _, gr := range []*goidc.Grant{
			{ID: "a", Scopes: "openid consent:urn:bank:c1", CreatedAt: 1},
			{ID: "b", Scopes: "openid consent:urn:bank:c1", CreatedAt: 2},
			{ID: "c", Scopes: "openid consent:urn:bank:c2", CreatedAt: 3},
		} {
			require.NoError(t, g.SaveGrant(ctx, gr), name)
		}
		require.NoError(t, g.revokeConsent(ctx, "urn:bank:c1"), name)
		for id, revoked := range map[string]bool{"a": true, "b": true, "c": false} {
			gr, err := mem.Grant(ctx, id)
			require.NoError(t, err)
			require.Equal(t, revoked, gr.RevokedAt != 0, "%s: grant %s", name, id)
		}
	}
}

func TestProtectRefusesWithResponseErrors(t *testing.T) {
	f := newFixture(t)
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	ts := httptest.NewUnstartedServer(f.srv.Protect(Requirement{Scopes: []string{"consents"}})(ok))
	var err error
	ts.TLS, err = pki.TLSServerConfig(f.bundle, nil, tls.VerifyClientCertIfGiven)
	require.NoError(t, err)
	ts.StartTLS()
	t.Cleanup(ts.Close)

	for name, tc := range map[string]struct {
		c      *http.Client
		header string
	}{
		"no client certificate": {f.plain, "Bearer abc"},
		"no bearer token":       {f.mtls, ""},
		"not a JWT":             {f.mtls, "Bearer not-a-jwt"},
		"unknown issuer":        {f.mtls, "Bearer eyJhbGciOiJQUzI1NiIsImtpZCI6IngifQ.eyJpc3MiOiJodHRwczovL2V2aWwifQ.c2ln"},
		"basic auth":            {f.mtls, "Basic dXNlcjpwYXNz"},
	} {
		req, err := http.NewRequest(http.MethodGet, ts.URL, nil)
		require.NoError(t, err)
		if tc.header != "" {
			req.Header.Set("Authorization", tc.header)
		}
		id := "0b8b5c1e-6f0e-4f51-9a59-2f3f4c1f1a10"
		req.Header.Set(HeaderInteractionID, id)
		resp, err := tc.c.Do(req)
		require.NoError(t, err, name)
		var body httpx.ErrorResponse
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&body), name)
		resp.Body.Close()
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode, name)
		require.Equal(t, id, resp.Header.Get(HeaderInteractionID), name)
		require.Contains(t, resp.Header.Get("WWW-Authenticate"), "Bearer", name)
		require.Len(t, body.Errors, 1, name)
		require.Equal(t, "UNAUTHORIZED", body.Errors[0].Code, name)
		require.NotEmpty(t, body.Meta.RequestDateTime, name)
	}
	_, ok2 := TokenFrom(context.Background())
	require.False(t, ok2)
}
