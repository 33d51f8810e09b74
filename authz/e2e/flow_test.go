package e2e_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/authz/idp"
	"github.com/ofp-dev/ofp/connectors/fapi"
	"github.com/ofp-dev/ofp/internal/pki"
)

var accountPerms = []string{"ACCOUNTS_READ", "ACCOUNTS_BALANCES_READ", "RESOURCES_READ"}

// loginPage opens the authorization URL and posts the login form.
func (e *env) loginPage(p *tpp, b *browser, uri string, cred idp.TestCredential, extra url.Values) page {
	t := e.t
	pg := b.get(p.authorizeURL(uri))
	require.Equal(t, http.StatusOK, pg.status, pg.body)
	require.NotContains(t, strings.ToLower(pg.body), "<script", "pages work without JavaScript")
	require.Contains(t, pg.body, "Banco Exemplo")
	require.Contains(t, pg.body, "#7a1f5c")
	lf, ok := findForm(t, pg.body, "login")
	require.True(t, ok, pg.body)
	v := url.Values{"cpf": {cred.CPF}, "password": {cred.Password}}
	if cred.CNPJ != "" {
		v.Set("cnpj", cred.CNPJ)
	}
	for k, vs := range extra {
		v[k] = vs
	}
	return b.submit(lf, v)
}

// approve runs the customer's side: login, pick the first resources, approve.
func (e *env) approve(p *tpp, r fapi.AuthRequest, cred idp.TestCredential) url.Values {
	t := e.t
	b := e.browser(p.redirect)
	pg := e.loginPage(p, b, p.push(r), cred, nil)
	require.Equal(t, http.StatusOK, pg.status, pg.body)
	cf, ok := findForm(t, pg.body, "consent")
	require.True(t, ok, pg.body)
	res := cf.options["resource"]
	require.NotEmpty(t, res, "the customer picks accounts to share")
	pg = b.submit(cf, url.Values{"decision": {"approve"}, "resource": res[:1]})
	cb := callback(t, pg, p.redirect)
	require.Empty(t, cb.Get("error"), cb.Encode())
	require.Equal(t, r.State, cb.Get("state"))
	return cb
}

func unverifiedClaims(t *testing.T, raw string) map[string]any {
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.PS256})
	require.NoError(t, err)
	var c map[string]any
	require.NoError(t, tok.UnsafeClaimsWithoutVerification(&c))
	return c
}

func TestFAPIFlowEndToEnd(t *testing.T) {
	start := time.Now()
	fullFlow(t, newEnv(t))
	t.Logf("end-to-end flow took %s", time.Since(start))
}

// TestFAPIFlowEndToEndOnSQLStore runs the same flow with the server's
// state in authz/store (SQLite), as cmd/ofp wires it.
func TestFAPIFlowEndToEndOnSQLStore(t *testing.T) {
	e := newEnvOn(t, true)
	fullFlow(t, e)
	p := e.newTPP(pki.DemoClient, "again")
	ana := e.demo.TestCredentials()[0]
	r := p.newAuthRequest(p.createConsent(ana.CPF, "", accountPerms...))
	cb := e.approve(p, r, ana)
	tok, err := p.exchange(cb.Get("code"), r)
	require.NoError(t, err)
	_, err = p.exchange(cb.Get("code"), r)
	require.Equal(t, "invalid_grant", oauthErrorCode(t, err))
	require.Equal(t, false, p.introspect(tok.AccessToken)["active"], "a replayed code revokes its tokens")
}

func fullFlow(t *testing.T, e *env) {
	p := e.newTPP(pki.DemoClient, "demo")
	ana := e.demo.TestCredentials()[0]

	consentID := p.createConsent(ana.CPF, "", accountPerms...)
	r := p.newAuthRequest(consentID)
	b := e.browser(p.redirect)
	pg := e.loginPage(p, b, p.push(r), ana, url.Values{"cpf": {"529.982.247-25"}})
	require.Equal(t, http.StatusOK, pg.status, pg.body)
	require.Contains(t, pg.body, "Saldos das contas", "permissions in plain Portuguese")
	require.Contains(t, pg.body, "Account balances", "and English")
	cf, ok := findForm(t, pg.body, "consent")
	require.True(t, ok)
	require.Len(t, cf.options["resource"], 2, "Ana's two accounts, not her card, loan or investment")
	pg = b.submit(cf, url.Values{"decision": {"approve"}, "resource": cf.options["resource"][:1]})
	cb := callback(t, pg, p.redirect)
	require.Equal(t, r.State, cb.Get("state"))
	code, frontIDToken := cb.Get("code"), cb.Get("id_token")
	require.NotEmpty(t, code)
	front := p.idToken(frontIDToken, r, code, r.State)
	require.Equal(t, "urn:brasil:openbanking:loa2", front["acr"])
	status, _ := p.consentStatus(consentID)
	require.Equal(t, "AUTHORISED", status)

	tok, err := p.exchange(code, r)
	require.NoError(t, err)
	require.NotEmpty(t, tok.RefreshToken)
	require.Equal(t, "Bearer", tok.TokenType)
	back := p.idToken(tok.Extra("id_token").(string), r, "", "")
	require.Equal(t, front["sub"], back["sub"])
	at := unverifiedClaims(t, tok.AccessToken)
	sum := sha256.Sum256(p.cert.Leaf.Raw)
	require.Equal(t, base64.RawURLEncoding.EncodeToString(sum[:]), at["cnf"].(map[string]any)["x5t#S256"], "certificate-bound token")
	require.Contains(t, at["scope"], "consent:"+consentID)
	lifetime := int64(at["exp"].(float64) - at["iat"].(float64))
	require.GreaterOrEqual(t, lifetime, int64(300))
	require.LessOrEqual(t, lifetime, int64(900))

	code200, out := p.resource(p.c, tok.AccessToken)
	require.Equal(t, http.StatusOK, code200, out)
	var res map[string]string
	require.NoError(t, json.Unmarshal([]byte(out), &res))
	require.Equal(t, consentID, res["consentId"])
	require.Equal(t, "authorization_code", res["grant"])
	require.Equal(t, front["sub"], res["sub"])

	otherCert, err := e.b.ClientCertificate(otherTPP.Name)
	require.NoError(t, err)
	status401, out := p.resource(p.withCert(otherCert), tok.AccessToken)
	require.Equal(t, http.StatusUnauthorized, status401, "token used over another certificate")
	require.Contains(t, out, "x5t#S256")
	cc, err := p.clientCredentials("consents")
	require.NoError(t, err)
	status403, _ := p.resource(p.c, cc.AccessToken)
	require.Equal(t, http.StatusForbidden, status403, "a client_credentials token carries no consent")

	require.Equal(t, true, p.introspect(tok.AccessToken)["active"])

	refreshed, err := p.refresh(tok.RefreshToken)
	require.NoError(t, err)
	require.NotEqual(t, tok.AccessToken, refreshed.AccessToken)
	require.Equal(t, tok.RefreshToken, refreshed.RefreshToken, "no refresh token rotation")
	code200, _ = p.resource(p.c, refreshed.AccessToken)
	require.Equal(t, http.StatusOK, code200)

	p.revoke(tok.RefreshToken)
	_, err = p.refresh(tok.RefreshToken)
	require.Equal(t, "invalid_grant", oauthErrorCode(t, err))
	require.Equal(t, false, p.introspect(refreshed.AccessToken)["active"])
	status401, _ = p.resource(p.c, refreshed.AccessToken)
	require.Equal(t, http.StatusUnauthorized, status401)
}

func TestRevokedConsentKillsTokens(t *testing.T) {
	t.Run("memory", func(t *testing.T) { revokedConsentKillsTokens(t, newEnvOn(t, false)) })
	t.Run("sqlite", func(t *testing.T) { revokedConsentKillsTokens(t, newEnvOn(t, true)) })
}

func revokedConsentKillsTokens(t *testing.T, e *env) {
	p := e.newTPP(pki.DemoClient, "demo")
	ana := e.demo.TestCredentials()[0]
	consentID := p.createConsent(ana.CPF, "", accountPerms...)
	r := p.newAuthRequest(consentID)
	cb := e.approve(p, r, ana)
	tok, err := p.exchange(cb.Get("code"), r)
	require.NoError(t, err)
	require.Equal(t, true, p.introspect(tok.AccessToken)["active"])

	cc, err := p.clientCredentials("consents")
	require.NoError(t, err)
	require.NoError(t, p.c.DeleteConsent(bg, cc.AccessToken, consentID), "204 No Content")

	require.Equal(t, false, p.introspect(tok.AccessToken)["active"])
	status, _ := p.resource(p.c, tok.AccessToken)
	require.Equal(t, http.StatusUnauthorized, status)
	_, err = p.refresh(tok.RefreshToken)
	require.Equal(t, "invalid_grant", oauthErrorCode(t, err))
}

func TestCustomerRefusesConsent(t *testing.T) {
	e := newEnv(t)
	p := e.newTPP(pki.DemoClient, "demo")
	ana := e.demo.TestCredentials()[0]
	consentID := p.createConsent(ana.CPF, "", accountPerms...)
	r := p.newAuthRequest(consentID)
	b := e.browser(p.redirect)
	pg := e.loginPage(p, b, p.push(r), ana, nil)
	cf, ok := findForm(t, pg.body, "consent")
	require.True(t, ok)
	cb := callback(t, b.submit(cf, url.Values{"decision": {"deny"}}), p.redirect)
	require.Equal(t, "access_denied", cb.Get("error"))
	require.Equal(t, r.State, cb.Get("state"))
	require.Empty(t, cb.Get("code"))
	status, reason := p.consentStatus(consentID)
	require.Equal(t, "REJECTED", status)
	require.Equal(t, "CUSTOMER_MANUALLY_REJECTED", reason)
}

func TestBusinessLoginWithLoA3(t *testing.T) {
	e := newEnv(t)
	p := e.newTPP(pki.DemoClient, "demo")
	creds := e.demo.TestCredentials()
	carlaPJ := creds[len(creds)-1]
	require.Equal(t, "PJ", carlaPJ.Kind)
	consentID := p.createConsent(carlaPJ.CPF, carlaPJ.CNPJ, accountPerms...)
	r := p.newAuthRequest(consentID)
	r.ACRValues = []string{"urn:brasil:openbanking:loa3"}
	b := e.browser(p.redirect)
	uri := p.push(r)
	pg := b.get(p.authorizeURL(uri))
	require.Contains(t, pg.body, `name="otp"`, "LoA3 asks for the second factor")
	pg = e.loginPage(p, b, uri, carlaPJ, url.Values{"otp": {"000000"}})
	require.Equal(t, http.StatusUnauthorized, pg.status, "wrong one-time code")
	lf, _ := findForm(t, pg.body, "login")
	pg = b.submit(lf, url.Values{"cpf": {carlaPJ.CPF}, "cnpj": {carlaPJ.CNPJ}, "password": {carlaPJ.Password}, "otp": {carlaPJ.OTP}})
	require.Equal(t, http.StatusOK, pg.status, pg.body)
	cf, ok := findForm(t, pg.body, "consent")
	require.True(t, ok, pg.body)
	require.Len(t, cf.options["resource"], 1, "the company's one account")
	cb := callback(t, b.submit(cf, url.Values{"decision": {"approve"}, "resource": cf.options["resource"]}), p.redirect)
	claims := p.idToken(cb.Get("id_token"), r, cb.Get("code"), r.State)
	require.Equal(t, "urn:brasil:openbanking:loa3", claims["acr"])
}

func TestLoginAttemptsAreRateLimited(t *testing.T) {
	for name, withSQL := range map[string]bool{"in process": false, "shared store": true} {
		t.Run(name, func(t *testing.T) { loginAttemptsAreRateLimited(t, newEnvOn(t, withSQL)) })
	}
}

func loginAttemptsAreRateLimited(t *testing.T, e *env) {
	p := e.newTPP(pki.DemoClient, "demo")
	ana := e.demo.TestCredentials()[0]
	r := p.newAuthRequest(p.createConsent(ana.CPF, "", accountPerms...))
	b := e.browser(p.redirect)
	uri := p.push(r)
	pg := e.loginPage(p, b, uri, ana, url.Values{"password": {"wrong"}})
	for range 2 {
		require.Equal(t, http.StatusUnauthorized, pg.status)
		lf, _ := findForm(t, pg.body, "login")
		pg = b.submit(lf, url.Values{"cpf": {ana.CPF}, "password": {"wrong"}})
	}
	require.Equal(t, http.StatusUnauthorized, pg.status)
	lf, _ := findForm(t, pg.body, "login")
	pg = b.submit(lf, url.Values{"cpf": {ana.CPF}, "password": {ana.Password}})
	require.Equal(t, http.StatusTooManyRequests, pg.status, "even the right password waits after 3 failures")
	require.NotEmpty(t, pg.header.Get("Retry-After"))
	require.Equal(t, "too_many_attempts", errorCode(t, pg.body))
}

func TestForgedFormIsRefused(t *testing.T) {
	e := newEnv(t)
	p := e.newTPP(pki.DemoClient, "demo")
	ana := e.demo.TestCredentials()[0]
	r := p.newAuthRequest(p.createConsent(ana.CPF, "", accountPerms...))
	b := e.browser(p.redirect)
	pg := b.get(p.authorizeURL(p.push(r)))
	lf, _ := findForm(t, pg.body, "login")
	pg = b.submit(lf, url.Values{"csrf_token": {"forged"}, "cpf": {ana.CPF}, "password": {ana.Password}})
	require.Equal(t, http.StatusForbidden, pg.status, "a form without the session's CSRF token is refused")
	_, isConsent := findForm(t, pg.body, "consent")
	require.False(t, isConsent)
}
