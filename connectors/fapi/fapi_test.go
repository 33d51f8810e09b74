package fapi_test

import (
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/ofp-dev/ofp/connectors/fapi"
	"github.com/ofp-dev/ofp/internal/pki"
)

func oauthCode(t *testing.T, err error) string {
	t.Helper()
	var oe *fapi.OAuthError
	require.ErrorAs(t, err, &oe)
	return oe.Code
}

// TestFlowAgainstTheHolder runs the whole receiver journey against the
// real authorization server and Consents API.
func TestFlowAgainstTheHolder(t *testing.T) {
	ctx := context.Background()
	h := newHolder(t)
	c, reg := h.registered(tppOptions{})
	require.NotEmpty(t, reg.ClientID)
	require.Equal(t, reg.ClientID, c.ClientID())
	require.NotEmpty(t, reg.RegistrationAccessToken)
	require.Equal(t, "RSA-OAEP", reg.IDTokenEncryptedResponseAlg, "an encryption key asks for encrypted id_tokens")
	require.NotContains(t, reg.String(), reg.RegistrationAccessToken)

	ana := h.demo.TestCredentials()[0]
	cc, err := c.ClientCredentials(ctx, "consents")
	require.NoError(t, err)
	created, err := c.CreateConsent(ctx, cc.AccessToken, fapi.ConsentRequest{LoggedUser: fapi.CPF(ana.CPF), Permissions: accountPerms,
		ExpirationDateTime: time.Now().Add(30 * 24 * time.Hour)})
	require.NoError(t, err)
	require.Equal(t, fapi.ConsentAwaitingAuthorisation, created.Status)
	require.Equal(t, accountPerms, created.Permissions)
	require.NotNil(t, created.ExpirationDateTime)
	require.False(t, created.CreationDateTime.IsZero())

	r, err := c.PushAuthorization(ctx, created.ConsentID, fapi.AuthOptions{Scopes: []string{"accounts", "resources"}})
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(r.RequestURI, "urn:"), r.RequestURI)
	require.GreaterOrEqual(t, time.Until(r.ExpiresAt), 55*time.Second, "request_uri lives at least 60 s (FAPI-BR)")
	require.Equal(t, "openid accounts resources consent:"+created.ConsentID, r.Scope)

	cb, err := c.HandleCallback(ctx, h.authorize(c, r, ana, true), r)
	require.NoError(t, err)
	require.True(t, cb.IDToken.Encrypted)
	require.Equal(t, fapi.ACRLoA2, cb.IDToken.ACR)
	require.NotEmpty(t, cb.IDToken.Subject)

	tok, err := c.Exchange(ctx, cb.Code, r)
	require.NoError(t, err)
	require.Equal(t, cb.IDToken.Subject, tok.IDToken.Subject)
	require.True(t, tok.IDToken.Encrypted)
	require.NotEmpty(t, tok.RefreshToken)

	in, err := c.Introspect(ctx, tok.AccessToken)
	require.NoError(t, err)
	require.True(t, in.Active)
	require.Equal(t, c.ClientID(), in.ClientID)
	require.Contains(t, in.Scope, "consent:"+created.ConsentID)
	cert, err := h.b.ClientCertificate(pki.DemoClient.Name)
	require.NoError(t, err)
	sum := sha256.Sum256(cert.Leaf.Raw)
	require.Equal(t, base64.RawURLEncoding.EncodeToString(sum[:]), in.CertThumbprint, "certificate-bound")

	var res map[string]string
	require.NoError(t, c.GetJSON(ctx, tok.AccessToken, h.base+resourcesPath, &res))
	require.Equal(t, created.ConsentID, res["consentId"])
	resp, err := c.Get(fapi.WithInteractionID(ctx, "3b7d7e4f-6c1e-4f63-9e55-0d3c3f2b1a77"), tok.AccessToken, h.base+resourcesPath)
	require.NoError(t, err)
	require.Equal(t, "3b7d7e4f-6c1e-4f63-9e55-0d3c3f2b1a77", resp.InteractionID, "the holder echoes the caller's id")

	got, err := c.GetConsent(ctx, cc.AccessToken, created.ConsentID)
	require.NoError(t, err)
	require.Equal(t, fapi.ConsentAuthorised, got.Status)

	refreshed, err := c.Refresh(ctx, tok.RefreshToken)
	require.NoError(t, err)
	require.NotEqual(t, tok.AccessToken, refreshed.AccessToken)
	_, err = c.Get(ctx, refreshed.AccessToken, h.base+resourcesPath)
	require.NoError(t, err)

	// An expired token is refreshed by the TokenSource with a fresh assertion.
	expired := *tok.Token
	expired.Expiry = time.Now().Add(-time.Minute)
	fresh, err := c.TokenSource(ctx, &expired).Token()
	require.NoError(t, err)
	require.NotEqual(t, tok.AccessToken, fresh.AccessToken)

	// The customer's consent revoked by the receiver: every token dies.
	require.NoError(t, c.DeleteConsent(ctx, cc.AccessToken, created.ConsentID))
	got, err = c.GetConsent(ctx, cc.AccessToken, created.ConsentID)
	require.NoError(t, err)
	require.Equal(t, fapi.ConsentRejected, got.Status)
	require.NotNil(t, got.Rejection)
	require.Equal(t, "CUSTOMER_MANUALLY_REVOKED", got.Rejection.Reason.Code)
	in, err = c.Introspect(ctx, refreshed.AccessToken)
	require.NoError(t, err)
	require.False(t, in.Active)
	resp, err = c.Get(ctx, refreshed.AccessToken, h.base+resourcesPath)
	var apiErr *fapi.APIError
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, http.StatusUnauthorized, apiErr.StatusCode)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	require.NotEmpty(t, apiErr.Errors, "an Open Finance ResponseError")
	require.NotEmpty(t, apiErr.InteractionID)
	_, err = c.Refresh(ctx, tok.RefreshToken)
	require.Equal(t, "invalid_grant", oauthCode(t, err))
}

func TestEncryptedRequestObjectAndRevocation(t *testing.T) {
	ctx := context.Background()
	h := newHolder(t)
	c, _ := h.registered(tppOptions{})
	ana := h.demo.TestCredentials()[0]
	r, err := c.PushAuthorization(ctx, h.consent(c, ana.CPF), fapi.AuthOptions{Scopes: []string{"accounts"}, Encrypt: true})
	require.NoError(t, err, "the holder decrypts a request object encrypted to its key")
	cb, err := c.HandleCallback(ctx, h.authorize(c, r, ana, true), r)
	require.NoError(t, err)
	tok, err := c.Exchange(ctx, cb.Code, r)
	require.NoError(t, err)

	_, err = c.Exchange(ctx, cb.Code, r)
	require.Equal(t, "invalid_grant", oauthCode(t, err), "a code is single use")
	in, err := c.Introspect(ctx, tok.AccessToken)
	require.NoError(t, err)
	require.False(t, in.Active, "a replayed code revokes its tokens")

	r2, err := c.PushAuthorization(ctx, h.consent(c, ana.CPF), fapi.AuthOptions{})
	require.NoError(t, err)
	cb, err = c.HandleCallback(ctx, h.authorize(c, r2, ana, true), r2)
	require.NoError(t, err)
	tok, err = c.Exchange(ctx, cb.Code, r2)
	require.NoError(t, err)
	require.NoError(t, c.Revoke(ctx, tok.RefreshToken))
	in, err = c.Introspect(ctx, tok.AccessToken)
	require.NoError(t, err)
	require.False(t, in.Active, "revoking the refresh token ends the grant")
}

func TestCustomerDenialAndCallbackChecks(t *testing.T) {
	ctx := context.Background()
	h := newHolder(t)
	c, _ := h.registered(tppOptions{})
	ana := h.demo.TestCredentials()[0]
	consentID := h.consent(c, ana.CPF)
	r, err := c.PushAuthorization(ctx, consentID, fapi.AuthOptions{})
	require.NoError(t, err)
	loc := h.authorize(c, r, ana, false)

	forged := r
	forged.State = "another"
	_, err = c.HandleCallback(ctx, loc, forged)
	require.ErrorIs(t, err, fapi.ErrInvalidCallback, "state mismatch")
	other := r
	other.RedirectURI = "https://elsewhere.example/cb"
	_, err = c.HandleCallback(ctx, loc, other)
	require.ErrorIs(t, err, fapi.ErrInvalidCallback, "redirect URI mismatch")

	_, err = c.HandleCallback(ctx, loc, r)
	require.Equal(t, "access_denied", oauthCode(t, err))
	// An error may come in the query; a code may not.
	_, err = c.HandleCallback(ctx, r.RedirectURI+"?error=server_error&state="+r.State, r)
	require.Equal(t, "server_error", oauthCode(t, err))
	_, err = c.HandleCallback(ctx, r.RedirectURI+"?code=abc&state="+r.State, r)
	require.ErrorIs(t, err, fapi.ErrInvalidCallback)
	_, err = c.HandleCallback(ctx, r.RedirectURI+"#code=abc&state="+r.State, r)
	require.ErrorIs(t, err, fapi.ErrInvalidCallback, "no id_token in the hybrid response")
	cc, err := c.ClientCredentials(ctx, "consents")
	require.NoError(t, err)
	got, err := c.GetConsent(ctx, cc.AccessToken, consentID)
	require.NoError(t, err)
	require.Equal(t, fapi.ConsentRejected, got.Status)
	require.Equal(t, "CUSTOMER_MANUALLY_REJECTED", got.Rejection.Reason.Code)
}

// TestIDTokenChecks feeds a genuine front-channel id_token to checks it
// must fail.
func TestIDTokenChecks(t *testing.T) {
	ctx := context.Background()
	h := newHolder(t)
	c, _ := h.registered(tppOptions{})
	ana := h.demo.TestCredentials()[0]
	r, err := c.PushAuthorization(ctx, h.consent(c, ana.CPF), fapi.AuthOptions{})
	require.NoError(t, err)
	loc := h.authorize(c, r, ana, true)
	cb, err := c.HandleCallback(ctx, loc, r)
	require.NoError(t, err)
	raw := fragment(t, loc, "id_token")
	checks := fapi.IDTokenChecks{Code: cb.Code, State: r.State}

	check := func(err error) string {
		t.Helper()
		require.ErrorIs(t, err, fapi.ErrInvalidIDToken)
		var ie *fapi.IDTokenError
		require.ErrorAs(t, err, &ie)
		return ie.Check
	}
	_, err = c.ValidateIDToken(ctx, raw, r, checks)
	require.NoError(t, err)

	bad := r
	bad.Nonce = "replayed"
	_, err = c.ValidateIDToken(ctx, raw, bad, checks)
	require.Equal(t, "nonce", check(err))
	bad = r
	bad.ACRValues = []string{fapi.ACRLoA3}
	_, err = c.ValidateIDToken(ctx, raw, bad, checks)
	require.Equal(t, "acr", check(err))
	_, err = c.ValidateIDToken(ctx, raw, r, fapi.IDTokenChecks{Code: "another-code", State: r.State})
	require.Equal(t, "c_hash", check(err))
	_, err = c.ValidateIDToken(ctx, raw, r, fapi.IDTokenChecks{Code: cb.Code, State: "another-state"})
	require.Equal(t, "s_hash", check(err))

	// Decrypted by the right key, the inner JWS alone is refused by a client
	// that expects encryption, and accepted by one that does not.
	inner, err := c.ValidateIDToken(ctx, raw, r, checks)
	require.NoError(t, err)
	_, err = c.ValidateIDToken(ctx, inner.Raw, r, checks)
	require.Equal(t, "decrypt", check(err))
	cfg := configOf(t, h, c)
	noKey, err := fapi.New(ctx, cfg)
	require.NoError(t, err)
	plain, err := noKey.ValidateIDToken(ctx, inner.Raw, r, checks)
	require.NoError(t, err)
	require.False(t, plain.Encrypted)
	_, err = noKey.ValidateIDToken(ctx, raw, r, checks)
	require.Equal(t, "decrypt", check(err), "an encrypted id_token needs the client's key")
	cfg.EncryptionKey, cfg.EncryptionKeyID = rsaKey(t), "enc-app"
	wrongKey, err := fapi.New(ctx, cfg)
	require.NoError(t, err)
	_, err = wrongKey.ValidateIDToken(ctx, raw, r, checks)
	require.Equal(t, "decrypt", check(err))

	// A client whose clock is past exp refuses it; another client_id too.
	cfg = configOf(t, h, c)
	cfg.Now = func() time.Time { return time.Now().Add(time.Hour) }
	late, err := fapi.New(ctx, cfg)
	require.NoError(t, err)
	_, err = late.ValidateIDToken(ctx, inner.Raw, r, checks)
	require.Equal(t, "exp", check(err))
	cfg = configOf(t, h, c)
	cfg.ClientID = "someone-else"
	stranger, err := fapi.New(ctx, cfg)
	require.NoError(t, err)
	_, err = stranger.ValidateIDToken(ctx, inner.Raw, r, checks)
	require.Equal(t, "aud", check(err))

	// Forged tokens: signed by another key under the holder's kid, unsigned,
	// or carrying their own key.
	claims := inner.Claims
	kid := inner.Header.KeyID
	forger, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.PS256, Key: jose.JSONWebKey{Key: rsaKey(t), KeyID: kid}}, nil)
	require.NoError(t, err)
	forged, err := jwt.Signed(forger).Claims(claims).Serialize()
	require.NoError(t, err)
	_, err = noKey.ValidateIDToken(ctx, forged, r, checks)
	require.Equal(t, "signature", check(err))
	withJWK, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.PS256, Key: jose.JSONWebKey{Key: rsaKey(t), KeyID: kid}}, (&jose.SignerOptions{EmbedJWK: true}))
	require.NoError(t, err)
	embedded, err := jwt.Signed(withJWK).Claims(claims).Serialize()
	require.NoError(t, err)
	_, err = noKey.ValidateIDToken(ctx, embedded, r, checks)
	require.Equal(t, "signature", check(err))
	parts := strings.Split(inner.Raw, ".")
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","kid":"`+kid+`"}`)) + "." + parts[1] + "."
	_, err = noKey.ValidateIDToken(ctx, none, r, checks)
	require.Equal(t, "signature", check(err))
}

func fragment(t *testing.T, loc, key string) string {
	_, frag, ok := strings.Cut(loc, "#")
	require.True(t, ok, loc)
	for _, kv := range strings.Split(frag, "&") {
		k, v, _ := strings.Cut(kv, "=")
		if k == key {
			return v
		}
	}
	t.Fatalf("no %s in %s", key, loc)
	return ""
}

// configOf rebuilds a Config like c's (same certificate and client id).
func configOf(t *testing.T, h *holder, c *fapi.Client) fapi.Config {
	cert, err := h.b.ClientCertificate(pki.DemoClient.Name)
	require.NoError(t, err)
	return fapi.Config{Issuer: h.issuer, APIBaseURL: h.base, Certificate: cert, RootCAs: h.b.RootPool(),
		SigningKey: rsaKey(t), SigningKeyID: "sig-x", RedirectURI: "https://app.tpp.example/cb", ClientID: c.ClientID(), Logger: quiet,
		OrganisationID: pki.DemoClient.OrgID, HolderOrganisationID: holderOrg}
}

func TestRegistrationManagementAndErrors(t *testing.T) {
	ctx := context.Background()
	h := newHolder(t)
	c, claims := h.tpp(tppOptions{})
	_, err := c.ClientCredentials(ctx, "consents")
	require.ErrorIs(t, err, fapi.ErrNotRegistered)

	stale := map[string]any{}
	for k, v := range claims {
		stale[k] = v
	}
	stale["iat"] = time.Now().Add(-10 * time.Minute).Unix()
	_, err = c.Register(ctx, h.ssa(stale), scopes)
	require.Equal(t, "invalid_software_statement", oauthCode(t, err))
	_, err = c.Register(ctx, h.ssa(claims), fapi.Metadata{Scope: "openid consents", RedirectURIs: []string{"https://attacker.example/cb"}})
	require.Equal(t, "invalid_redirect_uri", oauthCode(t, err))
	var oe *fapi.OAuthError
	require.ErrorAs(t, err, &oe)
	require.Equal(t, http.StatusBadRequest, oe.StatusCode)
	require.Equal(t, "registration", oe.Endpoint)
	require.Empty(t, c.ClientID(), "a refused registration leaves the client unregistered")

	claims["jti"] = "fresh-" + time.Now().String()
	reg, err := c.Register(ctx, h.ssa(claims), scopes)
	require.NoError(t, err)
	read, err := c.GetRegistration(ctx, reg)
	require.NoError(t, err)
	require.Equal(t, reg.ClientID, read.ClientID)
	require.Contains(t, read.Scope, "consents")

	claims["jti"] = "update-" + time.Now().String()
	claims["iat"] = time.Now().Unix()
	updated, err := c.UpdateRegistration(ctx, reg, h.ssa(claims), fapi.Metadata{Scope: "openid consents"})
	require.NoError(t, err)
	require.NotContains(t, updated.Scope, "accounts")

	forged := reg
	forged.RegistrationAccessToken = "forged"
	_, err = c.GetRegistration(ctx, forged)
	require.ErrorAs(t, err, &oe)
	require.Equal(t, http.StatusUnauthorized, oe.StatusCode)

	require.NoError(t, c.DeleteRegistration(ctx, reg))
	_, err = c.ClientCredentials(ctx, "consents")
	require.Equal(t, "invalid_client", oauthCode(t, err), "a deleted client cannot authenticate")
}

// hsmKey is a crypto.Signer that is not an *rsa.PrivateKey (as an HSM's).
type hsmKey struct{ crypto.Signer }

func TestOpaqueSignerAndAssertionErrors(t *testing.T) {
	ctx := context.Background()
	h := newHolder(t)
	cert, err := h.b.ClientCertificate(pki.DemoClient.Name)
	require.NoError(t, err)
	cfg := fapi.Config{Issuer: h.issuer, APIBaseURL: h.base, Certificate: cert, RootCAs: h.b.RootPool(),
		SigningKey: hsmKey{rsaKey(t)}, SigningKeyID: "hsm-1", EncryptionKey: hsmDecrypter{rsaKey(t)}, EncryptionKeyID: "hsm-enc",
		JWKSURI: h.jwks.url + "/hsm/application.jwks", RedirectURI: "https://hsm.tpp.example/cb", Logger: quiet}
	c, err := fapi.New(ctx, cfg)
	require.NoError(t, err)
	set, err := c.PublicJWKS()
	require.NoError(t, err)
	h.jwks.put("/hsm/application.jwks", set)
	_, err = c.Register(ctx, h.ssa(h.ssaClaims(cfg)), scopes)
	require.NoError(t, err)
	ana := h.demo.TestCredentials()[0]
	r, err := c.PushAuthorization(ctx, h.consent(c, ana.CPF), fapi.AuthOptions{})
	require.NoError(t, err)
	cb, err := c.HandleCallback(ctx, h.authorize(c, r, ana, true), r)
	require.NoError(t, err, "id_token decrypted through crypto.Decrypter")
	_, err = c.Exchange(ctx, cb.Code, r)
	require.NoError(t, err)

	// A replayed assertion and a wrong PKCE verifier get the spec's errors.
	a, err := c.Assertion()
	require.NoError(t, err)
	form := map[string][]string{"grant_type": {"client_credentials"}, "scope": {"consents"}, "client_assertion_type": {fapi.AssertionType}, "client_assertion": {a}}
	out, err := c.TokenRequest(ctx, form)
	require.NoError(t, err)
	require.NotEmpty(t, out["access_token"])
	_, err = c.TokenRequest(ctx, form)
	require.Equal(t, "invalid_client", oauthCode(t, err))

	r, err = c.PushAuthorization(ctx, h.consent(c, ana.CPF), fapi.AuthOptions{})
	require.NoError(t, err)
	cb, err = c.HandleCallback(ctx, h.authorize(c, r, ana, true), r)
	require.NoError(t, err)
	wrong := r
	wrong.CodeVerifier = oauth2.GenerateVerifier()
	_, err = c.Exchange(ctx, cb.Code, wrong)
	require.Equal(t, "invalid_grant", oauthCode(t, err))
	var oe *fapi.OAuthError
	require.ErrorAs(t, err, &oe)
	require.Equal(t, "token", oe.Endpoint)
	require.Equal(t, http.StatusBadRequest, oe.StatusCode)
	require.NotEmpty(t, oe.InteractionID)
}

type hsmDecrypter struct{ crypto.Decrypter }

func TestConfigAndDiscoveryErrors(t *testing.T) {
	ctx := context.Background()
	_, err := fapi.New(ctx, fapi.Config{Issuer: "http://bank.example", RedirectURI: "https://x.example/cb#frag"})
	require.ErrorIs(t, err, fapi.ErrConfig)
	for _, want := range []string{"Issuer must be an https URL", "Certificate", "SigningKey", "RedirectURI"} {
		require.Contains(t, err.Error(), want)
	}

	h := newHolder(t)
	cfg := configOf(t, h, &fapi.Client{})
	cfg.Issuer = h.base + "/nobank"
	_, err = fapi.New(ctx, cfg)
	require.ErrorIs(t, err, fapi.ErrDiscovery)

	// A server that publishes another issuer is refused (OIDC Discovery §4.3).
	mix := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"issuer":"` + h.issuer + `"}`))
	}))
	defer mix.Close()
	cfg.Issuer = mix.URL
	cfg.HTTPClient = mix.Client()
	_, err = fapi.New(ctx, cfg)
	require.ErrorIs(t, err, fapi.ErrDiscovery)
	require.Contains(t, err.Error(), "names issuer")
}

// TestInteractionIDMismatchIsRefused: an answer that echoes another id
// cannot be correlated and is refused.
func TestInteractionIDMismatchIsRefused(t *testing.T) {
	var srvURL string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/.well-known/openid-configuration" {
			w.Header().Set(fapi.HeaderInteractionID, r.Header.Get(fapi.HeaderInteractionID))
			_, _ = w.Write([]byte(`{"issuer":"` + srvURL + `","authorization_endpoint":"` + srvURL + `/authorize","token_endpoint":"` + srvURL +
				`/token","pushed_authorization_request_endpoint":"` + srvURL + `/par","jwks_uri":"` + srvURL + `/jwks"}`))
			return
		}
		w.Header().Set(fapi.HeaderInteractionID, "someone-elses")
		_, _ = w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	srvURL = srv.URL
	c, err := fapi.New(context.Background(), fapi.Config{Issuer: srv.URL, HTTPClient: srv.Client(), SigningKey: rsaKey(t), SigningKeyID: "k",
		RedirectURI: "https://app.example/cb", APIBaseURL: srv.URL, Logger: quiet})
	require.NoError(t, err)
	_, err = c.Get(context.Background(), "token", srv.URL+"/open-banking/x")
	require.ErrorIs(t, err, fapi.ErrInteractionIDMismatch)
	require.True(t, errors.Is(err, fapi.ErrInteractionIDMismatch))
}
