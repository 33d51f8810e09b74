package dcr_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/authz/dcr"
	"github.com/ofp-dev/ofp/internal/pki"
)

const directoryIssuer = "Open Banking Open Banking Brasil sandbox SSA issuer"

// otherClient has the demo TPP's org but another software_id.
var otherClient = pki.ClientSpec{
	Name:             "other-tpp",
	SoftwareID:       "0b9e3a61-3f2f-4c55-8f7e-2a1c7d5e9f10",
	OrgID:            pki.DemoClient.OrgID,
	CNPJ:             pki.DemoClient.CNPJ,
	OrganizationName: pki.DemoClient.OrganizationName,
}

var (
	pkiOnce   sync.Once
	pkiBundle *pki.Bundle
	pkiErr    error
)

// bundle generates the test PKI once per test binary (RSA keys are slow).
func bundle(t *testing.T) *pki.Bundle {
	t.Helper()
	pkiOnce.Do(func() {
		dir, err := mkdirTemp()
		if err != nil {
			pkiErr = err
			return
		}
		pkiBundle, pkiErr = pki.Generate(dir, pki.Options{Clients: []pki.ClientSpec{pki.DemoClient, otherClient}})
	})
	require.NoError(t, pkiErr)
	return pkiBundle
}

type env struct {
	t      *testing.T
	b      *pki.Bundle
	srv    *httptest.Server
	store  *dcr.MemoryStore
	demo   *http.Client
	other  *http.Client
	regURL string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	b := bundle(t)
	jwks, err := b.DirectoryJWKS()
	require.NoError(t, err)
	keys, err := dcr.NewStaticKeys(jwks)
	require.NoError(t, err)

	store := dcr.NewMemoryStore()
	srv := httptest.NewUnstartedServer(nil)
	regURL := "https://" + srv.Listener.Addr().String() + "/register"
	h, err := dcr.New(dcr.Options{Issuer: directoryIssuer, Keys: keys, Store: store, Brand: testBrand, RegistrationURL: regURL})
	require.NoError(t, err)
	srv.Config.Handler = h
	srv.TLS, err = pki.TLSServerConfig(b, nil, tls.RequireAndVerifyClientCert)
	require.NoError(t, err)
	srv.StartTLS()
	t.Cleanup(srv.Close)

	return &env{t: t, b: b, srv: srv, store: store, regURL: regURL,
		demo: httpClient(t, b, pki.DemoClient.Name), other: httpClient(t, b, otherClient.Name)}
}

func httpClient(t *testing.T, b *pki.Bundle, name string) *http.Client {
	cfg, err := pki.TLSClientConfig(b, name)
	require.NoError(t, err)
	return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}, Timeout: 10 * time.Second}
}

const (
	jwksURI    = "https://keystore.sandbox.example/d7384bd0/bc97b8f0/application.jwks"
	redirect1  = "https://tpp.example/cb"
	redirect2  = "https://tpp.example/cb2"
	webhookURI = "https://tpp.example/webhooks"
)

// claims is a valid SSA for the demo TPP with the DADOS and PAGTO roles.
func claims() map[string]any {
	return map[string]any{
		"iss":                       directoryIssuer,
		"iat":                       time.Now().Unix(),
		"software_id":               pki.DemoClient.SoftwareID,
		"org_id":                    pki.DemoClient.OrgID,
		"org_status":                "Active",
		"software_client_name":      "Demo TPP",
		"software_client_uri":       "https://tpp.example",
		"software_version":          1.1,
		"software_jwks_uri":         jwksURI,
		"software_redirect_uris":    []string{redirect1, redirect2},
		"software_api_webhook_uris": []string{webhookURI},
		"software_roles":            []string{"DADOS", "PAGTO"},
		"software_statement_roles": []map[string]string{
			{"role": "DADOS", "authorisation_domain": "Open Banking", "status": "Active"},
			{"role": "PAGTO", "authorisation_domain": "Open Banking", "status": "Active"},
		},
	}
}

func (e *env) sign(c map[string]any) string {
	signer, err := e.b.DirectorySigner()
	require.NoError(e.t, err)
	return signWith(e.t, signer, c)
}

func signWith(t *testing.T, signer jose.Signer, c map[string]any) string {
	raw, err := jwt.Signed(signer).Claims(c).Serialize()
	require.NoError(t, err)
	return raw
}

func body(ssa string) map[string]any {
	return map[string]any{
		"software_statement":         ssa,
		"redirect_uris":              []string{redirect1},
		"webhook_uris":               []string{webhookURI},
		"jwks_uri":                   jwksURI,
		"token_endpoint_auth_method": "private_key_jwt",
		"grant_types":                []string{"authorization_code", "client_credentials", "refresh_token"},
		"response_types":             []string{"code id_token"},
		"scope":                      "openid accounts consents resources",
	}
}

func (e *env) do(c *http.Client, method, url, token string, v any) (int, []byte) {
	e.t.Helper()
	var rd io.Reader
	switch b := v.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(v)
		require.NoError(e.t, err)
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, url, rd)
	require.NoError(e.t, err)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(e.t, err)
	return resp.StatusCode, out
}

func decode[T any](t *testing.T, data []byte) T {
	t.Helper()
	var v T
	require.NoError(t, json.Unmarshal(data, &v), string(data))
	return v
}

func requireError(t *testing.T, status int, data []byte, wantStatus int, wantCode string) {
	t.Helper()
	require.Equal(t, wantStatus, status, string(data))
	e := decode[map[string]string](t, data)
	require.Equal(t, wantCode, e["error"], string(data))
	require.NotEmpty(t, e["error_description"])
}

func TestRegisterReadUpdateDelete(t *testing.T) {
	e := newEnv(t)

	status, data := e.do(e.demo, http.MethodPost, e.srv.URL+"/register", "", body(e.sign(claims())))
	require.Equal(t, http.StatusCreated, status, string(data))
	reg := decode[dcr.Response](t, data)
	require.NotEmpty(t, reg.ClientID)
	require.Len(t, reg.RegistrationAccessToken, 43) // 32 bytes base64url
	require.Equal(t, e.regURL+"/"+reg.ClientID, reg.RegistrationClientURI)
	require.Equal(t, []string{redirect1}, reg.RedirectURIs)
	require.Equal(t, []string{webhookURI}, reg.WebhookURIs)
	require.Equal(t, "openid accounts consents resources", reg.Scope)
	require.Equal(t, jwksURI, reg.JWKSURI)
	require.Equal(t, "private_key_jwt", reg.TokenEndpointAuthMethod)
	require.Equal(t, "Demo TPP", reg.ClientName)
	require.Equal(t, "1.1", reg.SoftwareVersion)
	require.Equal(t, pki.DemoClient.SoftwareID, reg.SoftwareID)
	require.True(t, reg.TLSClientCertificateBoundTokens)
	require.True(t, reg.RequirePushedAuthorizationRequests)

	// Only the hash of the registration access token is stored.
	stored, err := e.store.Get(t.Context(), testBrand, reg.ClientID)
	require.NoError(t, err)
	require.Len(t, stored.TokenHash, 32)
	require.NotContains(t, string(stored.TokenHash), reg.RegistrationAccessToken)

	// Read, by path and by query; the token does not rotate.
	status, data = e.do(e.demo, http.MethodGet, reg.RegistrationClientURI, reg.RegistrationAccessToken, nil)
	require.Equal(t, http.StatusOK, status, string(data))
	got := decode[dcr.Response](t, data)
	require.Equal(t, reg, got)
	status, data = e.do(e.demo, http.MethodGet, e.srv.URL+"/register?client_id="+reg.ClientID, reg.RegistrationAccessToken, nil)
	require.Equal(t, http.StatusOK, status, string(data))
	require.Equal(t, reg, decode[dcr.Response](t, data))

	// Update with a fresh SSA; no scope means everything the roles allow.
	upd := body(e.sign(claims()))
	upd["client_id"] = reg.ClientID
	upd["redirect_uris"] = []string{redirect1, redirect2}
	delete(upd, "scope")
	delete(upd, "webhook_uris")
	status, data = e.do(e.demo, http.MethodPut, reg.RegistrationClientURI, reg.RegistrationAccessToken, upd)
	require.Equal(t, http.StatusOK, status, string(data))
	updated := decode[dcr.Response](t, data)
	require.Equal(t, reg.ClientID, updated.ClientID)
	require.Equal(t, reg.RegistrationAccessToken, updated.RegistrationAccessToken)
	require.Equal(t, []string{redirect1, redirect2}, updated.RedirectURIs)
	require.Empty(t, updated.WebhookURIs)
	require.Contains(t, updated.Scope, "credit-portability")
	require.Contains(t, updated.Scope, "recurring-payments")

	status, data = e.do(e.demo, http.MethodGet, reg.RegistrationClientURI, reg.RegistrationAccessToken, nil)
	require.Equal(t, http.StatusOK, status, string(data))
	require.Equal(t, updated, decode[dcr.Response](t, data))

	// Another software's certificate cannot manage the client, even with the token.
	status, data = e.do(e.other, http.MethodGet, reg.RegistrationClientURI, reg.RegistrationAccessToken, nil)
	requireError(t, status, data, http.StatusForbidden, dcr.CodeAccessDenied)

	status, data = e.do(e.demo, http.MethodDelete, reg.RegistrationClientURI, reg.RegistrationAccessToken, nil)
	require.Equal(t, http.StatusNoContent, status, string(data))
	_, err = e.store.Get(t.Context(), testBrand, reg.ClientID)
	require.ErrorIs(t, err, dcr.ErrNotFound)
	status, data = e.do(e.demo, http.MethodGet, reg.RegistrationClientURI, reg.RegistrationAccessToken, nil)
	requireError(t, status, data, http.StatusUnauthorized, dcr.CodeInvalidToken)
}

func TestRegisterRejects(t *testing.T) {
	e := newEnv(t)
	foreignKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	kid, err := e.b.DirectoryKID()
	require.NoError(t, err)
	foreign, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.PS256, Key: jose.JSONWebKey{Key: foreignKey, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	require.NoError(t, err)

	with := func(mut func(c map[string]any)) string {
		c := claims()
		mut(c)
		return e.sign(c)
	}
	cases := []struct {
		name   string
		client *http.Client
		body   func() any
		code   string
	}{
		{"expired SSA", nil, func() any {
			return body(with(func(c map[string]any) { c["iat"] = time.Now().Add(-6 * time.Minute).Unix() }))
		}, dcr.CodeInvalidSoftwareStatement},
		{"SSA from the future", nil, func() any {
			return body(with(func(c map[string]any) { c["iat"] = time.Now().Add(5 * time.Minute).Unix() }))
		}, dcr.CodeInvalidSoftwareStatement},
		{"SSA without iat", nil, func() any { return body(with(func(c map[string]any) { delete(c, "iat") })) }, dcr.CodeInvalidSoftwareStatement},
		{"SSA signed by a foreign key", nil, func() any { return body(signWith(t, foreign, claims())) }, dcr.CodeInvalidSoftwareStatement},
		{"SSA from another issuer", nil, func() any {
			return body(with(func(c map[string]any) { c["iss"] = "someone else" }))
		}, dcr.CodeInvalidSoftwareStatement},
		{"SSA not a JWT", nil, func() any { return body("not-a-jwt") }, dcr.CodeInvalidSoftwareStatement},
		{"no SSA", nil, func() any { b := body(""); delete(b, "software_statement"); return b }, dcr.CodeInvalidSoftwareStatement},
		{"jwks_uri mismatch", nil, func() any {
			b := body(e.sign(claims()))
			b["jwks_uri"] = "https://evil.example/jwks"
			return b
		}, dcr.CodeInvalidClientMetadata},
		{"jwks by value", nil, func() any {
			b := body(e.sign(claims()))
			b["jwks"] = map[string]any{"keys": []any{}}
			return b
		}, dcr.CodeInvalidClientMetadata},
		{"redirect URI not in the SSA", nil, func() any {
			b := body(e.sign(claims()))
			b["redirect_uris"] = []string{redirect1, "https://evil.example/cb"}
			return b
		}, dcr.CodeInvalidRedirectURI},
		{"no redirect URIs", nil, func() any {
			b := body(e.sign(claims()))
			delete(b, "redirect_uris")
			return b
		}, dcr.CodeInvalidRedirectURI},
		{"webhook URI not in the SSA", nil, func() any {
			b := body(e.sign(claims()))
			b["webhook_uris"] = []string{"https://evil.example/hooks"}
			return b
		}, dcr.CodeInvalidWebhookURIs},
		{"scope beyond the roles", nil, func() any {
			b := body(with(func(c map[string]any) {
				c["software_statement_roles"] = []map[string]string{{"role": "DADOS", "status": "Active"}}
			}))
			b["scope"] = "openid accounts payments"
			return b
		}, dcr.CodeInvalidClientMetadata},
		{"inactive role only", nil, func() any {
			return body(with(func(c map[string]any) {
				c["software_statement_roles"] = []map[string]string{{"role": "DADOS", "status": "Inactive"}}
			}))
		}, dcr.CodeUnapprovedSoftwareStatement},
		{"tls_client_auth", nil, func() any {
			b := body(e.sign(claims()))
			b["token_endpoint_auth_method"] = "tls_client_auth"
			return b
		}, dcr.CodeInvalidClientMetadata},
		{"implicit grant", nil, func() any {
			b := body(e.sign(claims()))
			b["grant_types"] = []string{"implicit"}
			return b
		}, dcr.CodeInvalidClientMetadata},
		{"response type code", nil, func() any {
			b := body(e.sign(claims()))
			b["response_types"] = []string{"code"}
			return b
		}, dcr.CodeInvalidClientMetadata},
		{"client_id on a new registration", nil, func() any {
			b := body(e.sign(claims()))
			b["client_id"] = "chosen"
			return b
		}, dcr.CodeInvalidClientMetadata},
		{"wrong member type", nil, func() any {
			b := body(e.sign(claims()))
			b["redirect_uris"] = 42
			return b
		}, dcr.CodeInvalidClientMetadata},
		{"not JSON", nil, func() any { return []byte("software_statement=x") }, dcr.CodeInvalidClientMetadata},
		{"certificate of another software", e.other, func() any { return body(e.sign(claims())) }, dcr.CodeUnapprovedSoftwareStatement},
		{"certificate of another org", nil, func() any {
			return body(with(func(c map[string]any) { c["org_id"] = "5f9d1f7e-0000-4000-8000-000000000000" }))
		}, dcr.CodeUnapprovedSoftwareStatement},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.client
			if c == nil {
				c = e.demo
			}
			status, data := e.do(c, http.MethodPost, e.srv.URL+"/register", "", tc.body())
			requireError(t, status, data, http.StatusBadRequest, tc.code)
		})
	}
}

func TestOneRegistrationPerStatement(t *testing.T) {
	e := newEnv(t)
	ssa := e.sign(claims())
	status, data := e.do(e.demo, http.MethodPost, e.srv.URL+"/register", "", body(ssa))
	require.Equal(t, http.StatusCreated, status, string(data))
	status, data = e.do(e.demo, http.MethodPost, e.srv.URL+"/register", "", body(ssa))
	requireError(t, status, data, http.StatusBadRequest, dcr.CodeInvalidSoftwareStatement)
}

func TestManagementNeedsTheRegistrationToken(t *testing.T) {
	e := newEnv(t)
	status, data := e.do(e.demo, http.MethodPost, e.srv.URL+"/register", "", body(e.sign(claims())))
	require.Equal(t, http.StatusCreated, status, string(data))
	reg := decode[dcr.Response](t, data)

	// A token of the same length that differs in the last character.
	last := reg.RegistrationAccessToken[len(reg.RegistrationAccessToken)-1]
	swap := byte('A')
	if last == 'A' {
		swap = 'B'
	}
	wrong := reg.RegistrationAccessToken[:len(reg.RegistrationAccessToken)-1] + string(swap)

	for _, method := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
		for name, token := range map[string]string{"wrong token": wrong, "missing token": ""} {
			t.Run(method+" "+name, func(t *testing.T) {
				var b any
				if method == http.MethodPut {
					b = body(e.sign(claims()))
				}
				status, data := e.do(e.demo, method, reg.RegistrationClientURI, token, b)
				requireError(t, status, data, http.StatusUnauthorized, dcr.CodeInvalidToken)
			})
		}
		t.Run(method+" unknown client", func(t *testing.T) {
			status, data := e.do(e.demo, method, e.srv.URL+"/register/6d1f6a8e-1111-4222-8333-444455556666", reg.RegistrationAccessToken, nil)
			requireError(t, status, data, http.StatusUnauthorized, dcr.CodeInvalidToken)
		})
	}
	// The client is untouched.
	_, err := e.store.Get(t.Context(), testBrand, reg.ClientID)
	require.NoError(t, err)
}

func TestUpdateRejectsAnotherSoftwaresStatement(t *testing.T) {
	e := newEnv(t)
	status, data := e.do(e.demo, http.MethodPost, e.srv.URL+"/register", "", body(e.sign(claims())))
	require.Equal(t, http.StatusCreated, status, string(data))
	reg := decode[dcr.Response](t, data)

	upd := body(e.sign(claims()))
	upd["client_id"] = "someone-else"
	status, data = e.do(e.demo, http.MethodPut, reg.RegistrationClientURI, reg.RegistrationAccessToken, upd)
	requireError(t, status, data, http.StatusBadRequest, dcr.CodeInvalidClientMetadata)

	stale := claims()
	stale["iat"] = time.Now().Add(-10 * time.Minute).Unix()
	status, data = e.do(e.demo, http.MethodPut, reg.RegistrationClientURI, reg.RegistrationAccessToken, body(e.sign(stale)))
	requireError(t, status, data, http.StatusBadRequest, dcr.CodeInvalidSoftwareStatement)
}
