package e2e_test

import (
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/ofp-dev/ofp/connectors/fapi"
	"github.com/ofp-dev/ofp/internal/pki"
)

// Each test expects the error the specs name for the mistake.

// tokenRaw posts a ready form (with its client assertion) to the token
// endpoint through c: the TPP's client or the same client over another
// certificate.
func (p *tpp) tokenRaw(c *fapi.Client, form url.Values) (int, map[string]any) {
	body, err := c.TokenRequest(bg, form)
	return oauthAnswer(p.t, http.StatusOK, body, err)
}

func (p *tpp) ccForm(assertion string) url.Values {
	return url.Values{"grant_type": {"client_credentials"}, "scope": {"consents"}, "client_id": {p.id()},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {assertion}}
}

func TestWrongPKCEVerifier(t *testing.T) {
	e := newEnv(t)
	p := e.newTPP(pki.DemoClient, "demo")
	ana := e.demo.TestCredentials()[0]
	r := p.newAuthRequest(p.createConsent(ana.CPF, "", accountPerms...))
	cb := e.approve(p, r, ana)
	wrong := r
	wrong.CodeVerifier = oauth2.GenerateVerifier()
	_, err := p.exchange(cb.Get("code"), wrong)
	require.Equal(t, "invalid_grant", oauthErrorCode(t, err))
}

func TestReusedCodeIsRefusedAndRevokesItsTokens(t *testing.T) {
	e := newEnv(t)
	p := e.newTPP(pki.DemoClient, "demo")
	ana := e.demo.TestCredentials()[0]
	r := p.newAuthRequest(p.createConsent(ana.CPF, "", accountPerms...))
	cb := e.approve(p, r, ana)
	tok, err := p.exchange(cb.Get("code"), r)
	require.NoError(t, err)
	status, _ := p.resource(p.c, tok.AccessToken)
	require.Equal(t, http.StatusOK, status)

	_, err = p.exchange(cb.Get("code"), r)
	require.Equal(t, "invalid_grant", oauthErrorCode(t, err))
	require.Equal(t, false, p.introspect(tok.AccessToken)["active"], "tokens of a replayed code are revoked")
	status, _ = p.resource(p.c, tok.AccessToken)
	require.Equal(t, http.StatusUnauthorized, status)
	_, err = p.refresh(tok.RefreshToken)
	require.Equal(t, "invalid_grant", oauthErrorCode(t, err))
}

func TestAuthorizationWithoutPAR(t *testing.T) {
	e := newEnv(t)
	p := e.newTPP(pki.DemoClient, "demo")
	ana := e.demo.TestCredentials()[0]
	r := p.newAuthRequest(p.createConsent(ana.CPF, "", accountPerms...))
	q := url.Values{"client_id": {p.id()}, "response_type": {"code id_token"}, "redirect_uri": {p.redirect},
		"scope": {"openid consent:" + r.ConsentID}, "state": {r.State}, "nonce": {r.Nonce},
		"code_challenge": {oauth2.S256ChallengeFromVerifier(r.CodeVerifier)}, "code_challenge_method": {"S256"}}
	pg := e.browser(p.redirect).get(p.c.Discovery().AuthorizationEndpoint + "?" + q.Encode())
	require.Equal(t, http.StatusBadRequest, pg.status, pg.body)
	require.Equal(t, "invalid_request", errorCode(t, pg.body))

	// A signed request object by value does not replace PAR either.
	q = url.Values{"client_id": {p.id()}, "request": {sign(t, p.sig, sigKID, p.requestObject(r))}}
	pg = e.browser(p.redirect).get(p.c.Discovery().AuthorizationEndpoint + "?" + q.Encode())
	require.Equal(t, http.StatusBadRequest, pg.status, pg.body)
	require.Equal(t, "invalid_request", errorCode(t, pg.body))
}

func TestRequestObjectUnsignedOrSignedWithForeignKey(t *testing.T) {
	e := newEnv(t)
	p := e.newTPP(pki.DemoClient, "demo")
	ana := e.demo.TestCredentials()[0]
	r := p.newAuthRequest(p.createConsent(ana.CPF, "", accountPerms...))

	payload, err := json.Marshal(p.requestObject(r))
	require.NoError(t, err)
	b64 := base64.RawURLEncoding.EncodeToString
	unsigned := b64([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + b64(payload) + "."
	status, body := p.pushRaw(unsigned)
	require.Equal(t, http.StatusBadRequest, status, body)
	require.Equal(t, "invalid_request_object", body["error"])

	foreign := sign(t, rsaKey(t), sigKID, p.requestObject(r))
	status, body = p.pushRaw(foreign)
	require.Equal(t, http.StatusBadRequest, status, body)
	require.Equal(t, "invalid_request_object", body["error"])

	rs256 := p.requestObject(r)
	status, body = p.pushRaw(sign(t, p.sig, "unknown-kid", rs256))
	require.Equal(t, http.StatusBadRequest, status, body)
	require.Equal(t, "invalid_request_object", body["error"])
}

func TestClientAssertionExpiredOrReplayed(t *testing.T) {
	e := newEnv(t)
	p := e.newTPP(pki.DemoClient, "demo")

	expired := p.assertionClaims(time.Minute)
	expired["iat"] = time.Now().Add(-10 * time.Minute).Unix()
	expired["exp"] = time.Now().Add(-5 * time.Minute).Unix()
	status, body := p.tokenRaw(p.c, p.ccForm(sign(t, p.sig, sigKID, expired)))
	require.Equal(t, http.StatusUnauthorized, status, body)
	require.Equal(t, "invalid_client", body["error"])

	once := p.assertion()
	status, body = p.tokenRaw(p.c, p.ccForm(once))
	require.Equal(t, http.StatusOK, status, body)
	status, body = p.tokenRaw(p.c, p.ccForm(once))
	require.Equal(t, http.StatusUnauthorized, status, body)
	require.Equal(t, "invalid_client", body["error"], "a replayed jti is refused")
}

func TestTokenRequestOverAnotherClientsCertificate(t *testing.T) {
	e := newEnv(t)
	p := e.newTPP(pki.DemoClient, "demo")
	ana := e.demo.TestCredentials()[0]
	otherCert, err := e.b.ClientCertificate(otherTPP.Name)
	require.NoError(t, err)
	other := p.withCert(otherCert)

	status, body := p.tokenRaw(other, p.ccForm(p.assertion()))
	require.Equal(t, http.StatusUnauthorized, status, body)
	require.Equal(t, "invalid_client", body["error"])

	r := p.newAuthRequest(p.createConsent(ana.CPF, "", accountPerms...))
	cb := e.approve(p, r, ana)
	_, err = other.Exchange(bg, cb.Get("code"), r)
	require.Equal(t, "invalid_client", oauthErrorCode(t, err))
	tok, err := p.exchange(cb.Get("code"), r)
	require.NoError(t, err, "the refused attempt neither redeemed nor revoked the code")
	require.NotEmpty(t, tok.AccessToken)
}

func TestUntrustedCA(t *testing.T) {
	e := newEnv(t)
	p := e.newTPP(pki.DemoClient, "demo")
	foreignCert, err := e.foreign.ClientCertificate(pki.DemoClient.Name)
	require.NoError(t, err)
	cfg := p.cfg
	cfg.Certificate = foreignCert
	_, err = fapi.New(bg, cfg)
	require.Error(t, err, "the TLS handshake refuses a certificate from an untrusted CA")
	require.ErrorIs(t, err, fapi.ErrDiscovery)
	require.Contains(t, err.Error(), "certificate")
	// The same refusal on the token endpoint itself, with a raw request.
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: e.b.RootPool(),
		Certificates: []tls.Certificate{foreignCert}}}}
	req, err := http.NewRequest(http.MethodPost, p.c.Discovery().MTLS.Token, nil)
	require.NoError(t, err)
	req.Header.Set("x-fapi-interaction-id", uuid.NewString())
	resp, err := c.Do(req)
	if err == nil {
		resp.Body.Close()
	}
	require.Error(t, err, "the TLS handshake refuses a certificate from an untrusted CA")
	require.Contains(t, err.Error(), "certificate")
}

func TestRedirectURINotRegistered(t *testing.T) {
	e := newEnv(t)
	p := e.newTPP(pki.DemoClient, "demo")
	ana := e.demo.TestCredentials()[0]
	r := p.newAuthRequest(p.createConsent(ana.CPF, "", accountPerms...))
	r.RedirectURI = "https://attacker.example/callback"
	status, body := p.pushRaw(sign(t, p.sig, sigKID, p.requestObject(r)))
	require.Equal(t, http.StatusBadRequest, status, body)
	require.Equal(t, "invalid_request", body["error"])
	require.Contains(t, body["error_description"], "redirect_uri")
}

func TestExpiredRequestURI(t *testing.T) {
	e := newEnv(t)
	p := e.newTPP(pki.DemoClient, "demo")
	ana := e.demo.TestCredentials()[0]
	r := p.newAuthRequest(p.createConsent(ana.CPF, "", accountPerms...))
	uri := p.push(r)
	e.aged.expire.Store(true)
	t.Cleanup(func() { e.aged.expire.Store(false) })
	pg := e.browser(p.redirect).get(p.authorizeURL(uri))
	require.Equal(t, http.StatusBadRequest, pg.status, pg.body)
	require.Equal(t, "invalid_request", errorCode(t, pg.body))
}

func TestConsentMustBePendingAndOfTheSameClient(t *testing.T) {
	e := newEnv(t)
	p := e.newTPP(pki.DemoClient, "demo")
	other := e.newTPP(otherTPP, "other")
	ana := e.demo.TestCredentials()[0]

	theirs := other.createConsent(ana.CPF, "", accountPerms...)
	status, body := p.pushRaw(sign(t, p.sig, sigKID, p.requestObject(p.newAuthRequest(theirs))))
	require.Equal(t, http.StatusBadRequest, status, body)
	require.Equal(t, "invalid_scope", body["error"])
	require.Contains(t, body["error_description"], "another client")

	status, body = p.pushRaw(sign(t, p.sig, sigKID, p.requestObject(p.newAuthRequest("urn:bank:"+uuid.NewString()))))
	require.Equal(t, http.StatusBadRequest, status, body)
	require.Equal(t, "invalid_scope", body["error"])

	r := p.newAuthRequest(p.createConsent(ana.CPF, "", accountPerms...))
	e.approve(p, r, ana)
	status, body = p.pushRaw(sign(t, p.sig, sigKID, p.requestObject(p.newAuthRequest(r.ConsentID))))
	require.Equal(t, http.StatusBadRequest, status, body)
	require.Equal(t, "invalid_scope", body["error"], "an authorised consent cannot be authorised again")

	noConsent := p.requestObject(p.newAuthRequest(r.ConsentID))
	noConsent["scope"] = "openid accounts"
	status, body = p.pushRaw(sign(t, p.sig, sigKID, noConsent))
	require.Equal(t, http.StatusBadRequest, status, body)
	require.Equal(t, "invalid_scope", body["error"])
}

func TestCustomerWhoIsNotTheLoggedUser(t *testing.T) {
	e := newEnv(t)
	p := e.newTPP(pki.DemoClient, "demo")
	creds := e.demo.TestCredentials()
	ana, bruno := creds[0], creds[1]
	consentID := p.createConsent(bruno.CPF, "", accountPerms...)
	r := p.newAuthRequest(consentID)
	b := e.browser(p.redirect)
	cb := callback(t, e.loginPage(p, b, p.push(r), ana, nil), p.redirect)
	require.Equal(t, "access_denied", cb.Get("error"))
	require.Equal(t, r.State, cb.Get("state"))
	require.Empty(t, cb.Get("code"))
	status, _ := p.consentStatus(consentID)
	require.Equal(t, "AWAITING_AUTHORISATION", status, "the right customer may still authorise it")

	// A business login for a personal consent is refused as well.
	carlaPF, carlaPJ := creds[2], creds[3]
	personal := p.newAuthRequest(p.createConsent(carlaPF.CPF, "", accountPerms...))
	cb = callback(t, e.loginPage(p, e.browser(p.redirect), p.push(personal), carlaPJ, nil), p.redirect)
	require.Equal(t, "access_denied", cb.Get("error"))
}

// TestClientWithoutEncryptionKeyIsRefusedAtPAR: the id_token is always
// encrypted (FAPI-BR), so a client whose jwks_uri has no enc key is told at
// PAR, before a customer logs in for nothing.
func TestClientWithoutEncryptionKeyIsRefusedAtPAR(t *testing.T) {
	e := newEnv(t)
	p := e.newTPP(pki.DemoClient, "demo")
	sigOnly, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: &p.sig.PublicKey, KeyID: sigKID, Algorithm: string(jose.PS256), Use: "sig"}}})
	require.NoError(t, err)
	// Before the server first reads the key set (it caches it for a minute).
	e.keystore.put(strings.TrimPrefix(p.cfg.JWKSURI, e.ksBase), sigOnly)
	ana := e.demo.TestCredentials()[0]
	consentID := p.createConsent(ana.CPF, "", accountPerms...)
	_, err = p.c.PushAuthorization(bg, consentID, fapi.AuthOptions{})
	var oe *fapi.OAuthError
	require.ErrorAs(t, err, &oe)
	require.Equal(t, "invalid_request", oe.Code)
	require.Contains(t, oe.Description, "enc")
}
