package server

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/luikyv/go-oidc/pkg/goidc"
	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/authz/dcr"
	"github.com/ofp-dev/ofp/authz/keys"
	"github.com/ofp-dev/ofp/internal/pki"
)

var quiet = slog.New(slog.DiscardHandler)

type fixture struct {
	bundle  *pki.Bundle
	keys    *keys.Manager
	clients *dcr.MemoryStore
	srv     *Server
	base    string
	mtls    *http.Client // presents the demo TPP certificate
	plain   *http.Client // trusts the server, presents no certificate
}

// newFixture serves two brands over the FAPI TLS configuration of a
// generated test PKI.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	bundle, err := pki.Generate(t.TempDir(), pki.DefaultOptions())
	require.NoError(t, err)

	ts := httptest.NewUnstartedServer(nil)
	t.Cleanup(ts.Close)
	base := "https://" + ts.Listener.Addr().String()

	store, err := keys.NewFileStore(t.TempDir())
	require.NoError(t, err)
	km, err := keys.NewManager(context.Background(), store, []keys.Brand{
		{ID: "brand-a", Issuer: base + "/brand-a", DisplayName: "Brand A"},
		{ID: "brand-b", Issuer: base + "/brand-b", DisplayName: "Brand B"},
	}, keys.Options{Logger: quiet})
	require.NoError(t, err)

	clients := dcr.NewMemoryStore()
	srv, err := New(Options{Keys: km, Clients: clients, Logger: quiet})
	require.NoError(t, err)

	ts.Config.Handler = srv.Handler()
	ts.TLS, err = pki.TLSServerConfig(bundle, nil, tls.VerifyClientCertIfGiven)
	require.NoError(t, err)
	ts.StartTLS()

	mtlsCfg, err := pki.TLSClientConfig(bundle, pki.DemoClient.Name)
	require.NoError(t, err)
	plainCfg, err := pki.TLSClientConfig(bundle, "")
	require.NoError(t, err)
	return &fixture{
		bundle: bundle, keys: km, clients: clients, srv: srv, base: base,
		mtls:  &http.Client{Transport: &http.Transport{TLSClientConfig: mtlsCfg}, Timeout: 10 * time.Second},
		plain: &http.Client{Transport: &http.Transport{TLSClientConfig: plainCfg}, Timeout: 10 * time.Second},
	}
}

func getJSON(t *testing.T, c *http.Client, url, interactionID string, out any) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	if interactionID != "" {
		req.Header.Set(HeaderInteractionID, interactionID)
	}
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "GET %s", url)
	require.NoError(t, json.NewDecoder(resp.Body).Decode(out))
	return resp
}

type discovery struct {
	Issuer                string   `json:"issuer"`
	JWKSURI               string   `json:"jwks_uri"`
	TokenEndpoint         string   `json:"token_endpoint"`
	PAREndpoint           string   `json:"pushed_authorization_request_endpoint"`
	PARRequired           bool     `json:"require_pushed_authorization_requests"`
	ResponseTypes         []string `json:"response_types_supported"`
	Scopes                []string `json:"scopes_supported"`
	IDTokenSigAlgs        []string `json:"id_token_signing_alg_values_supported"`
	IDTokenEncAlgs        []string `json:"id_token_encryption_alg_values_supported"`
	IDTokenEncEncs        []string `json:"id_token_encryption_enc_values_supported"`
	TokenAuthMethods      []string `json:"token_endpoint_auth_methods_supported"`
	TokenAuthSigAlgs      []string `json:"token_endpoint_auth_signing_alg_values_supported"`
	RequestObjectAlgs     []string `json:"request_object_signing_alg_values_supported"`
	RequestObjectEncAlgs  []string `json:"request_object_encryption_alg_values_supported"`
	CertBoundAccessTokens bool     `json:"tls_client_certificate_bound_access_tokens"`
	ACRs                  []string `json:"acr_values_supported"`
	CodeChallengeMethods  []string `json:"code_challenge_methods_supported"`
	IntrospectionEndpoint string   `json:"introspection_endpoint"`
	RevocationEndpoint    string   `json:"revocation_endpoint"`
	RegistrationEndpoint  string   `json:"registration_endpoint"`
	MTLSEndpointAliases   struct {
		Token         string `json:"token_endpoint"`
		PAR           string `json:"pushed_authorization_request_endpoint"`
		UserInfo      string `json:"userinfo_endpoint"`
		Registration  string `json:"registration_endpoint"`
		Introspection string `json:"introspection_endpoint"`
		Revocation    string `json:"revocation_endpoint"`
	} `json:"mtls_endpoint_aliases"`
}

type jwks struct {
	Keys []map[string]any `json:"keys"`
}

func TestDiscoveryAndJWKSPerBrandOverMTLS(t *testing.T) {
	f := newFixture(t)
	for _, brandID := range []string{"brand-a", "brand-b"} {
		issuer := f.base + "/" + brandID
		id := uuid.NewString()
		var d discovery
		resp := getJSON(t, f.mtls, issuer+"/.well-known/openid-configuration", id, &d)
		require.Equal(t, id, resp.Header.Get(HeaderInteractionID), "interaction id echoed")
		require.NotNil(t, resp.TLS)
		require.NotEmpty(t, resp.TLS.PeerCertificates)

		require.Equal(t, issuer, d.Issuer)
		require.Equal(t, issuer+"/jwks", d.JWKSURI)
		require.Equal(t, issuer+"/par", d.PAREndpoint)
		require.True(t, d.PARRequired)
		require.Equal(t, issuer+"/token", d.MTLSEndpointAliases.Token)
		require.Equal(t, issuer+"/par", d.MTLSEndpointAliases.PAR)
		require.Equal(t, issuer+"/userinfo", d.MTLSEndpointAliases.UserInfo)
		require.Equal(t, issuer+"/register", d.MTLSEndpointAliases.Registration)
		require.Equal(t, issuer+"/introspect", d.MTLSEndpointAliases.Introspection)
		require.Equal(t, issuer+"/revoke", d.MTLSEndpointAliases.Revocation)
		require.True(t, d.CertBoundAccessTokens)
		require.Equal(t, []string{"private_key_jwt"}, d.TokenAuthMethods)
		require.Equal(t, []string{"PS256"}, d.TokenAuthSigAlgs)
		require.Equal(t, []string{"PS256"}, d.IDTokenSigAlgs)
		require.Equal(t, []string{"RSA-OAEP"}, d.IDTokenEncAlgs)
		require.Equal(t, []string{"A256GCM"}, d.IDTokenEncEncs)
		require.Equal(t, []string{"PS256"}, d.RequestObjectAlgs)
		require.Equal(t, []string{"RSA-OAEP"}, d.RequestObjectEncAlgs)
		require.Equal(t, []string{"S256"}, d.CodeChallengeMethods)
		require.ElementsMatch(t, []string{string(ACRLoA2), string(ACRLoA3)}, d.ACRs)
		require.Contains(t, d.ResponseTypes, "code id_token")
		require.Subset(t, d.Scopes, []string{"openid", "consents", "consent", "loans", "financings", "invoice-financings",
			"unarranged-accounts-overdraft", "bank-fixed-incomes", "credit-fixed-incomes", "variable-incomes",
			"treasure-titles", "funds", "exchanges"})

		var set jwks
		getJSON(t, f.mtls, d.JWKSURI, "", &set)
		records, err := f.keys.Keys(brandID)
		require.NoError(t, err)
		var want, got []string
		for _, r := range records {
			want = append(want, r.KID)
		}
		uses := map[string]string{}
		for _, k := range set.Keys {
			got = append(got, k["kid"].(string))
			uses[k["use"].(string)] = k["alg"].(string)
			require.NotContains(t, k, "d", "jwks must not publish private key material")
		}
		require.ElementsMatch(t, want, got)
		require.Equal(t, map[string]string{"sig": "PS256", "enc": "RSA-OAEP"}, uses)
	}
}

func TestJWKSFollowsKeyRotation(t *testing.T) {
	f := newFixture(t)
	before, err := f.keys.Keys("brand-a")
	require.NoError(t, err)
	newKID, err := f.keys.Rotate(context.Background(), "brand-a")
	require.NoError(t, err)

	var set jwks
	getJSON(t, f.plain, f.base+"/brand-a/jwks", "", &set)
	var got []string
	for _, k := range set.Keys {
		got = append(got, k["kid"].(string))
	}
	require.Contains(t, got, newKID)
	for _, r := range before {
		require.Contains(t, got, r.KID, "retired key stays published")
	}
	kid, signer, err := f.srv.signerFunc("brand-a")(context.Background(), goidc.PS256)
	require.NoError(t, err)
	require.Equal(t, newKID, kid, "new tokens are signed with the rotated key")
	require.NotNil(t, signer)
	_, _, err = f.srv.signerFunc("brand-a")(context.Background(), goidc.RS256)
	require.Error(t, err, "only PS256 may sign")
}

func post(t *testing.T, c *http.Client, url, interactionID string) (*http.Response, map[string]string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader("client_id=nobody"))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if interactionID != "" {
		req.Header.Set(HeaderInteractionID, interactionID)
	}
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body := map[string]string{}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp, body
}

func TestMTLSEndpointsRequireCertificateAndInteractionID(t *testing.T) {
	f := newFixture(t)
	for _, path := range []string{"/par", "/token", "/introspect", "/revoke"} {
		url := f.base + "/brand-a" + path

		resp, body := post(t, f.mtls, url, "")
		require.Equal(t, http.StatusBadRequest, resp.StatusCode, path)
		require.Equal(t, "invalid_request", body["error"])
		require.NotEmpty(t, resp.Header.Get(HeaderInteractionID))

		id := uuid.NewString()
		resp, body = post(t, f.plain, url, id)
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode, path)
		require.Equal(t, "invalid_client", body["error"])
		require.Contains(t, body["error_description"], "mutual TLS")
		require.Equal(t, id, resp.Header.Get(HeaderInteractionID))

		// With certificate and id the request reaches go-oidc, which rejects
		// the unauthenticated client by itself.
		resp, body = post(t, f.mtls, url, id)
		require.Equal(t, id, resp.Header.Get(HeaderInteractionID))
		require.GreaterOrEqual(t, resp.StatusCode, 400, path)
		require.NotContains(t, body["error_description"], "mutual TLS", path)
	}
	// /register without a handler for the brand is 404, never go-oidc's DCR.
	resp, _ := post(t, f.mtls, f.base+"/brand-a/register", uuid.NewString())
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
}

func TestClientsComeFromDCRStoreWithFAPIBRSettings(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	require.NoError(t, f.clients.Create(ctx, dcr.Client{
		ID: "client-1", Brand: "brand-b", SoftwareID: "sw", OrgID: "org", StatementHash: []byte("h1"),
		Metadata: dcr.Metadata{
			RedirectURIs:  []string{"https://tpp.example/cb"},
			GrantTypes:    []string{"authorization_code", "refresh_token", "client_credentials"},
			ResponseTypes: []string{"code id_token"},
			Scope:         "openid accounts consents",
			JWKSURI:       "https://tpp.example/jwks",
		},
	}))
	op := f.srv.providers["brand-b"]
	c, err := op.Client(ctx, "client-1")
	require.NoError(t, err)
	require.Equal(t, "client-1", c.ID)
	require.Equal(t, goidc.AuthnMethodPrivateKeyJWT, c.TokenAuthnMethod)
	require.Equal(t, goidc.RSA_OAEP, c.IDTokenKeyEncAlg, "id_token is always encrypted")
	require.Equal(t, goidc.A256GCM, c.IDTokenContentEncAlg)
	require.True(t, c.TLSTokenBindingIsRequired)
	require.True(t, c.PARIsRequired)
	require.True(t, c.JARIsRequired)
	require.Equal(t, "openid accounts consents consent", c.ScopeIDs)
	require.Equal(t, []goidc.ResponseType{goidc.ResponseTypeCodeAndIDToken}, c.ResponseTypes)

	_, err = op.Client(ctx, "missing")
	require.ErrorIs(t, err, goidc.ErrNotFound)
	// Clients exist only at the brand that registered them.
	_, err = f.srv.providers["brand-a"].Client(ctx, "client-1")
	require.ErrorIs(t, err, goidc.ErrNotFound, "a brand-b client is unknown at brand-a")
	require.ErrorIs(t, clientManager{src: f.clients}.SaveClient(ctx, c), errClientsReadOnly)
}

func TestNewRejectsUnsafeOptions(t *testing.T) {
	store, err := keys.NewFileStore(t.TempDir())
	require.NoError(t, err)
	ctx := context.Background()
	one, err := keys.NewManager(ctx, store, []keys.Brand{{ID: "a", Issuer: "https://as.example/a", DisplayName: "A"}}, keys.Options{Logger: quiet})
	require.NoError(t, err)

	_, err = New(Options{Keys: one, Clients: dcr.NewMemoryStore(), AccessTokenLifetime: 100 * time.Second})
	require.ErrorContains(t, err, "300")
	_, err = New(Options{Keys: one, Clients: dcr.NewMemoryStore(), AccessTokenLifetime: 901 * time.Second})
	require.ErrorContains(t, err, "900")
	_, err = New(Options{Keys: one})
	require.ErrorContains(t, err, "Clients")
	_, err = New(Options{Keys: one, Clients: dcr.NewMemoryStore(),
		MTLSBaseURL: func(keys.Brand) string { return "https://matls.as.example/other" }})
	require.ErrorContains(t, err, "issuer path")

	two, err := keys.NewManager(ctx, store, []keys.Brand{
		{ID: "a", Issuer: "https://a.example", DisplayName: "A"},
		{ID: "b", Issuer: "https://b.example", DisplayName: "B"},
	}, keys.Options{Logger: quiet})
	require.NoError(t, err)
	_, err = New(Options{Keys: two, Clients: dcr.NewMemoryStore()})
	require.ErrorContains(t, err, "path")
}

func TestMemoryJTIRejectsReplayWithinWindow(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	m := newMemoryJTI(func() time.Time { return now })
	ctx := context.Background()
	require.NoError(t, m.consume(ctx, "jti-1"))
	require.Error(t, m.consume(ctx, "jti-1"))
	require.NoError(t, m.consume(ctx, "jti-2"))
	now = now.Add(jtiWindow + time.Second)
	require.NoError(t, m.consume(ctx, "jti-1"), "expired entries are forgotten")
}

func TestPushedRequestFAPIBRRules(t *testing.T) {
	ok := func() *goidc.AuthnSession {
		as := &goidc.AuthnSession{}
		as.ResponseType = goidc.ResponseTypeCodeAndIDToken
		return as
	}
	ctx := context.Background()
	require.NoError(t, checkPushedRequest(ctx, ok(), nil))

	frag := ok()
	frag.ResponseMode = goidc.ResponseModeFragment
	require.NoError(t, checkPushedRequest(ctx, frag, nil))

	hint := ok()
	hint.IDTokenHint = "eyJ..."
	require.ErrorContains(t, checkPushedRequest(ctx, hint, nil), "id_token_hint")

	code := ok()
	code.ResponseType = goidc.ResponseTypeCode
	require.ErrorContains(t, checkPushedRequest(ctx, code, nil), "response_type")

	jwt := ok()
	jwt.ResponseMode = goidc.ResponseModeJWT
	require.ErrorContains(t, checkPushedRequest(ctx, jwt, nil), "response_mode")
}
