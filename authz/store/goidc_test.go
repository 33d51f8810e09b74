package store_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/luikyv/go-oidc/pkg/goidc"
	"github.com/luikyv/go-oidc/pkg/provider"
	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/authz/store"
	"github.com/ofp-dev/ofp/authz/store/storetest"
)

// These tests drive the real go-oidc endpoints, one provider per replica,
// each replica with its own Store on one shared database: the flow hops
// between replicas and the library's own checks meet the store's.

const (
	testIssuer   = "https://as.example"
	testClientID = "client-1"
	testSecret   = "secret-of-client-1"
	testRedirect = "https://tpp.example/cb"
)

var (
	keyOnce sync.Once
	testKey *rsa.PrivateKey
)

func signingKey(t *testing.T) *rsa.PrivateKey {
	keyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		require.NoError(t, err)
		testKey = k
	})
	return testKey
}

type replica struct {
	op *provider.Provider
	h  http.Handler
	st *store.Store
}

func newReplica(t *testing.T, st *store.Store) replica {
	t.Helper()
	jwks := goidc.JSONWebKeySet{Keys: []goidc.JSONWebKey{{Key: signingKey(t), KeyID: "sig-1", Algorithm: string(goidc.RS256), Use: "sig"}}}
	client := &goidc.Client{ID: testClientID, Secret: testSecret, ClientMeta: goidc.ClientMeta{
		RedirectURIs:     []string{testRedirect},
		GrantTypes:       []goidc.GrantType{goidc.GrantAuthorizationCode, goidc.GrantRefreshToken},
		ResponseTypes:    []goidc.ResponseType{goidc.ResponseTypeCode},
		ScopeIDs:         "openid consent",
		TokenAuthnMethod: goidc.AuthnMethodSecretPost,
	}}
	// The login page: the first visit shows the page (pending), the
	// callback logs the user in.
	policy := goidc.NewPolicy("login", func(*http.Request, *goidc.AuthnSession, *goidc.Client) bool { return true },
		func(w http.ResponseWriter, _ *http.Request, as *goidc.AuthnSession, _ *goidc.Client) (goidc.Status, error) {
			if as.Store["shown"] == nil {
				as.Store["shown"] = true
				fmt.Fprint(w, as.ID)
				return goidc.StatusPending, nil
			}
			as.Subject = "user-1"
			as.GrantedScopes = as.Scopes
			return goidc.StatusSuccess, nil
		})
	op, err := provider.New(testIssuer, st, func(context.Context) (goidc.JSONWebKeySet, error) { return jwks, nil },
		provider.WithScopes(goidc.ScopeOpenID, goidc.NewDynamicScope("consent", func(s string) bool { return strings.HasPrefix(s, "consent:") })),
		provider.WithIDTokenSignatureAlgs(goidc.RS256),
		provider.WithSecretPostAuthn(),
		provider.WithJTIConsumer(st.ConsumeJTI),
		provider.WithPARRequired(st),
		provider.WithAuthCodeGrant(st, goidc.ResponseTypeCode),
		provider.WithRefreshTokenGrant(st),
		provider.WithStaticClients(client),
		provider.WithPolicies(policy),
		provider.WithTokenOptions(func(context.Context, *goidc.Grant, *goidc.Client) goidc.TokenOptions {
			return goidc.NewJWTTokenOptions(goidc.RS256, 300)
		}),
	)
	require.NoError(t, err)
	return replica{op: op, h: op.Handler(), st: st}
}

func (r replica) do(t *testing.T, method, path string, form url.Values) *httptest.ResponseRecorder {
	t.Helper()
	var req *http.Request
	if method == http.MethodGet {
		req = httptest.NewRequest(method, testIssuer+path+"?"+form.Encode(), nil)
	} else {
		req = httptest.NewRequest(method, testIssuer+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	rec := httptest.NewRecorder()
	r.h.ServeHTTP(rec, req)
	return rec
}

// authorize runs PAR on a, /authorize on b, the callback on c and returns
// the code.
func authorize(t *testing.T, a, b, c replica, scope string) string {
	t.Helper()
	rec := a.do(t, http.MethodPost, "/par", url.Values{
		"client_id": {testClientID}, "client_secret": {testSecret}, "response_type": {"code"},
		"redirect_uri": {testRedirect}, "scope": {scope}, "state": {"st"},
	})
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	var par struct {
		RequestURI string `json:"request_uri"`
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &par))

	rec = b.do(t, http.MethodGet, "/authorize", url.Values{"client_id": {testClientID}, "request_uri": {par.RequestURI}})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	sessionID := rec.Body.String()

	// The request_uri is one-time use, on any replica.
	rec = c.do(t, http.MethodGet, "/authorize", url.Values{"client_id": {testClientID}, "request_uri": {par.RequestURI}})
	require.NotEqual(t, http.StatusOK, rec.Code)
	require.NotContains(t, rec.Header().Get("Location"), "code=")

	rec = c.do(t, http.MethodPost, "/authorize/"+sessionID, url.Values{})
	require.Contains(t, []int{http.StatusFound, http.StatusSeeOther}, rec.Code, rec.Body.String())
	loc, err := url.Parse(rec.Header().Get("Location"))
	require.NoError(t, err)
	code := loc.Query().Get("code")
	require.NotEmpty(t, code, loc.String())

	// The finished login cannot be replayed for a second code.
	rec = a.do(t, http.MethodPost, "/authorize/"+sessionID, url.Values{})
	require.NotContains(t, rec.Header().Get("Location"), "code=", "callback replay")
	return code
}

type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	Error        string `json:"error"`
}

func token(t *testing.T, r replica, form url.Values) (int, tokenResponse) {
	t.Helper()
	status, resp, err := tokenCall(r, form)
	require.NoError(t, err)
	return status, resp
}

// tokenCall is safe to run off the test goroutine.
func tokenCall(r replica, form url.Values) (int, tokenResponse, error) {
	form.Set("client_id", testClientID)
	form.Set("client_secret", testSecret)
	req := httptest.NewRequest(http.MethodPost, testIssuer+"/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	r.h.ServeHTTP(rec, req)
	var resp tokenResponse
	if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
		return rec.Code, resp, fmt.Errorf("token response %d %q: %w", rec.Code, rec.Body.String(), err)
	}
	return rec.Code, resp, nil
}

func redeemForm(code string) url.Values {
	return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {testRedirect}}
}

func redeem(t *testing.T, r replica, code string) (int, tokenResponse) {
	return token(t, r, redeemForm(code))
}

func refresh(t *testing.T, r replica, rt string) (int, tokenResponse) {
	return token(t, r, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
}

func active(t *testing.T, r replica, accessToken string) bool {
	t.Helper()
	info, err := r.op.Introspect(context.Background(), accessToken)
	require.NoError(t, err)
	return info.IsActive
}

func replicas(t *testing.T, open storetest.Open, n int) []replica {
	out := make([]replica, n)
	for i := range out {
		out[i] = newReplica(t, open(t, store.Options{}))
	}
	return out
}

func TestGoOIDCFlowsAcrossReplicas(t *testing.T) {
	t.Parallel()
	for name, newDB := range map[string]func(*testing.T) storetest.Open{"sqlite": database("sqlite"), "postgres": database("postgres")} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			t.Run("code, refresh, consent revocation", func(t *testing.T) {
				r := replicas(t, newDB(t), 4)
				code := authorize(t, r[0], r[1], r[2], "openid consent:urn:bank:c1")
				status, tok := redeem(t, r[3], code)
				require.Equal(t, http.StatusOK, status, tok.Error)
				require.NotEmpty(t, tok.RefreshToken)
				require.True(t, active(t, r[0], tok.AccessToken))

				status, ref := refresh(t, r[1], tok.RefreshToken)
				require.Equal(t, http.StatusOK, status, ref.Error)
				require.True(t, active(t, r[2], ref.AccessToken))

				n, err := r[2].st.RevokeGrantsByConsent(context.Background(), "urn:bank:c1")
				require.NoError(t, err)
				require.Equal(t, 1, n)
				require.False(t, active(t, r[0], tok.AccessToken), "revoked with the consent")
				require.False(t, active(t, r[3], ref.AccessToken))
				status, ref = refresh(t, r[0], tok.RefreshToken)
				require.Equal(t, http.StatusBadRequest, status)
				require.Equal(t, "invalid_grant", ref.Error)
			})

			t.Run("a replayed code revokes the first redemption's tokens", func(t *testing.T) {
				r := replicas(t, newDB(t), 2)
				code := authorize(t, r[0], r[1], r[0], "openid")
				status, tok := redeem(t, r[0], code)
				require.Equal(t, http.StatusOK, status, tok.Error)
				require.True(t, active(t, r[1], tok.AccessToken))

				status, replay := redeem(t, r[1], code)
				require.Equal(t, http.StatusBadRequest, status)
				require.Equal(t, "invalid_grant", replay.Error)
				require.False(t, active(t, r[0], tok.AccessToken), "tokens of the reused code are revoked")
				status, ref := refresh(t, r[0], tok.RefreshToken)
				require.Equal(t, http.StatusBadRequest, status)
				require.Equal(t, "invalid_grant", ref.Error)
			})

			t.Run("concurrent redemptions on two replicas: exactly one token response", func(t *testing.T) {
				r := replicas(t, newDB(t), 2)
				for range 3 {
					code := authorize(t, r[0], r[1], r[0], "openid")
					var wg sync.WaitGroup
					statuses := make([]int, 4)
					toks := make([]tokenResponse, 4)
					errs := make([]error, 4)
					gate := make(chan struct{})
					for i := range statuses {
						wg.Add(1)
						go func() {
							defer wg.Done()
							<-gate
							statuses[i], toks[i], errs[i] = tokenCall(r[i%2], redeemForm(code))
						}()
					}
					close(gate)
					wg.Wait()
					for _, err := range errs {
						require.NoError(t, err)
					}
					ok := 0
					for i, s := range statuses {
						if s == http.StatusOK {
							ok++
							// A reuse of its code revoked the grant.
							require.False(t, active(t, r[0], toks[i].AccessToken))
							continue
						}
						require.Equal(t, http.StatusBadRequest, s)
						// invalid_grant for a redeemed code; go-oidc says
						// expired_token once the reuse revoked the grant.
						require.Contains(t, []string{"invalid_grant", "expired_token"}, toks[i].Error)
					}
					require.Equal(t, 1, ok, "one token response for one code, whatever the interleaving")
				}
			})
		})
	}
}
