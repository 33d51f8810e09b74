package e2e_test

// The TPP side is connectors/fapi, the receiver client built only from
// golang.org/x/oauth2, go-jose and net/http (mutual TLS); the customer's
// browser is net/http with golang.org/x/net/html. Nothing here comes from
// the server's packages.

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"
	"golang.org/x/oauth2"

	"github.com/ofp-dev/ofp/connectors/fapi"
	"github.com/ofp-dev/ofp/internal/pki"
)

// tpp is the third-party provider: a connectors/fapi client (built only on
// x/oauth2, go-jose and net/http) plus what the negative tests need to
// forge requests (its raw signing key).
type tpp struct {
	t        *testing.T
	e        *env
	c        *fapi.Client
	cfg      fapi.Config
	spec     pki.ClientSpec
	sig      *rsa.PrivateKey
	redirect string
	cert     tls.Certificate
}

const sigKID, encKID = "tpp-sig-1", "tpp-enc-1"

func rsaKey(t *testing.T) *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	return k
}

func (e *env) transport(cert *tls.Certificate) *http.Transport {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: e.b.RootPool()}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
	}
	return &http.Transport{TLSClientConfig: cfg}
}

var bg = context.Background()

// newTPP publishes the TPP's keys, reads discovery and registers through
// DCR with a fresh directory-signed software statement.
func (e *env) newTPP(spec pki.ClientSpec, name string) *tpp {
	t := e.t
	cert, err := e.b.ClientCertificate(spec.Name)
	require.NoError(t, err)
	p := &tpp{t: t, e: e, spec: spec, sig: rsaKey(t), cert: cert, redirect: "https://" + name + ".tpp.example/callback"}
	p.cfg = fapi.Config{Issuer: e.issuer, APIBaseURL: e.base, Certificate: cert, RootCAs: e.b.RootPool(),
		SigningKey: p.sig, SigningKeyID: sigKID, EncryptionKey: rsaKey(t), EncryptionKeyID: encKID,
		JWKSURI: e.ksBase + "/" + spec.OrgID + "/" + name + "/application.jwks", RedirectURI: p.redirect, Logger: quiet}
	p.c, err = fapi.New(bg, p.cfg)
	require.NoError(t, err)
	require.Equal(t, e.issuer, p.c.Discovery().Issuer)
	set, err := p.c.PublicJWKS()
	require.NoError(t, err)
	e.keystore.put(strings.TrimPrefix(p.cfg.JWKSURI, e.ksBase), set)
	reg, err := p.c.Register(bg, p.ssa(), fapi.Metadata{Scope: "openid consents resources accounts"})
	require.NoError(t, err)
	require.NotEmpty(t, reg.ClientID)
	require.Equal(t, "RSA-OAEP", reg.IDTokenEncryptedResponseAlg)
	p.cfg.ClientID = reg.ClientID
	return p
}

// withCert is the same registered client presenting another certificate.
func (p *tpp) withCert(cert tls.Certificate) *fapi.Client {
	cfg := p.cfg
	cfg.Certificate = cert
	c, err := fapi.New(bg, cfg)
	require.NoError(p.t, err)
	return c
}

func (p *tpp) id() string { return p.c.ClientID() }

func (p *tpp) ssa() string {
	signer, err := p.e.b.DirectorySigner()
	require.NoError(p.t, err)
	raw, err := jwt.Signed(signer).Claims(map[string]any{
		"iss": directoryIssuer, "iat": time.Now().Unix(), "jti": uuid.NewString(),
		"software_id": p.spec.SoftwareID, "org_id": p.spec.OrgID, "org_status": "Active",
		"software_client_name": p.spec.OrganizationName + " app", "software_client_uri": "https://tpp.example",
		"software_version": 1.0, "software_jwks_uri": p.cfg.JWKSURI, "software_redirect_uris": []string{p.redirect},
		"software_roles":           []string{"DADOS"},
		"software_statement_roles": []map[string]string{{"role": "DADOS", "authorisation_domain": "Open Banking", "status": "Active"}},
	}).Serialize()
	require.NoError(p.t, err)
	return raw
}

// sign forges a PS256 JWT with any key and kid (negative tests).
func sign(t *testing.T, key *rsa.PrivateKey, kid string, claims any) string {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.PS256, Key: jose.JSONWebKey{Key: key, KeyID: kid}}, nil)
	require.NoError(t, err)
	raw, err := jwt.Signed(signer).Claims(claims).Serialize()
	require.NoError(t, err)
	return raw
}

// assertionClaims is a private_key_jwt client assertion (RFC 7523).
func (p *tpp) assertionClaims(lifetime time.Duration) map[string]any {
	claims, err := p.c.AssertionClaims(lifetime)
	require.NoError(p.t, err)
	return claims
}

func (p *tpp) assertion() string {
	a, err := p.c.Assertion()
	require.NoError(p.t, err)
	return a
}

func (p *tpp) clientCredentials(scope string) (*oauth2.Token, error) {
	return p.c.ClientCredentials(bg, scope)
}

func oauthErrorCode(t *testing.T, err error) string {
	t.Helper()
	var oe *fapi.OAuthError
	require.True(t, errors.As(err, &oe), "want an OAuth error, got %v", err)
	return oe.Code
}

// oauthAnswer turns a client call's outcome into the status and body the
// assertions read.
func oauthAnswer(t *testing.T, okStatus int, body map[string]any, err error) (int, map[string]any) {
	t.Helper()
	if err == nil {
		return okStatus, body
	}
	var oe *fapi.OAuthError
	require.True(t, errors.As(err, &oe), "want an OAuth error, got %v", err)
	return oe.StatusCode, map[string]any{"error": oe.Code, "error_description": oe.Description}
}

// createConsent calls POST /consents with a client_credentials token.
func (p *tpp) createConsent(cpf, cnpj string, perms ...string) string {
	tok, err := p.clientCredentials("consents")
	require.NoError(p.t, err)
	req := fapi.ConsentRequest{LoggedUser: fapi.CPF(cpf), Permissions: perms, ExpirationDateTime: time.Now().UTC().Add(180 * 24 * time.Hour)}
	if cnpj != "" {
		req.BusinessEntity = fapi.CNPJ(cnpj)
	}
	created, err := p.c.CreateConsent(bg, tok.AccessToken, req)
	require.NoError(p.t, err)
	require.Equal(p.t, "AWAITING_AUTHORISATION", created.Status)
	return created.ConsentID
}

func (p *tpp) consentStatus(id string) (string, string) {
	tok, err := p.clientCredentials("consents")
	require.NoError(p.t, err)
	got, err := p.c.GetConsent(bg, tok.AccessToken, id)
	require.NoError(p.t, err)
	reason := ""
	if got.Rejection != nil {
		reason = got.Rejection.Reason.Code
	}
	return got.Status, reason
}

func (p *tpp) newAuthRequest(consentID string) fapi.AuthRequest {
	return p.c.NewAuthRequest(consentID, fapi.AuthOptions{Scopes: []string{"accounts", "resources"},
		ACRValues: []string{"urn:brasil:openbanking:loa2", "urn:brasil:openbanking:loa3"}})
}

func (p *tpp) requestObject(r fapi.AuthRequest) map[string]any {
	claims, err := p.c.RequestObjectClaims(r)
	require.NoError(p.t, err)
	return claims
}

// pushRaw posts a request object to the PAR endpoint.
func (p *tpp) pushRaw(requestObject string) (int, map[string]any) {
	uri, expiresIn, err := p.c.PushRequestObject(bg, requestObject)
	return oauthAnswer(p.t, http.StatusCreated, map[string]any{"request_uri": uri, "expires_in": float64(expiresIn)}, err)
}

// push signs the request object and returns the request_uri.
func (p *tpp) push(r fapi.AuthRequest) string {
	pushed, err := p.c.Push(bg, r)
	require.NoError(p.t, err)
	require.NotEmpty(p.t, pushed.RequestURI)
	require.GreaterOrEqual(p.t, time.Until(pushed.ExpiresAt), 59*time.Second, "request_uri lives at least 60 s (FAPI-BR)")
	return pushed.RequestURI
}

func (p *tpp) authorizeURL(requestURI string) string { return p.c.AuthorizeURL(requestURI) }

// idToken decrypts (RSA-OAEP/A256GCM with the TPP's enc key), verifies
// (PS256 against the AS JWKS) and checks an id_token.
func (p *tpp) idToken(raw string, r fapi.AuthRequest, code, state string) map[string]any {
	t := p.t
	idt, err := p.c.ValidateIDToken(bg, raw, r, fapi.IDTokenChecks{Code: code, State: state})
	require.NoError(t, err)
	require.True(t, idt.Encrypted, "the id_token is always encrypted")
	claims := idt.Claims
	require.Equal(t, p.e.issuer, claims["iss"])
	switch aud := claims["aud"].(type) {
	case string:
		require.Equal(t, p.id(), aud)
	case []any:
		require.Contains(t, aud, p.id())
	}
	require.Equal(t, r.Nonce, claims["nonce"])
	require.Contains(t, r.ACRValues, claims["acr"])
	require.NotEmpty(t, claims["sub"])
	require.Greater(t, claims["exp"], float64(time.Now().Unix()))
	if code != "" {
		require.Equal(t, fapi.HalfHash(code), claims["c_hash"])
	}
	if state != "" {
		require.Equal(t, fapi.HalfHash(state), claims["s_hash"])
	}
	return claims
}

func (p *tpp) introspect(token string) map[string]any {
	in, err := p.c.Introspect(bg, token)
	require.NoError(p.t, err)
	return in.Claims
}

func (p *tpp) revoke(token string) {
	require.NoError(p.t, p.c.Revoke(bg, token))
}

func (p *tpp) exchange(code string, r fapi.AuthRequest) (*fapi.Tokens, error) {
	return p.c.Exchange(bg, code, r)
}

func (p *tpp) refresh(refreshToken string) (*oauth2.Token, error) {
	return p.c.Refresh(bg, refreshToken)
}

// resource calls the protected resource endpoint with c (the TPP's client,
// or the same client over another certificate).
func (p *tpp) resource(c *fapi.Client, token string) (int, string) {
	resp, err := c.Get(bg, token, p.e.base+resourcesPath)
	if resp == nil {
		require.NoError(p.t, err)
	}
	return resp.StatusCode, string(resp.Body)
}

// browser is the customer's user agent: cookies, no client certificate,
// stops at the TPP's redirect URI.
type browser struct {
	t *testing.T
	c *http.Client
}

func (e *env) browser(redirectPrefix string) *browser {
	jar, err := cookiejar.New(nil)
	require.NoError(e.t, err)
	return &browser{t: e.t, c: &http.Client{Jar: jar, Timeout: 10 * time.Second, Transport: e.transport(nil),
		CheckRedirect: func(req *http.Request, _ []*http.Request) error {
			if strings.HasPrefix(req.URL.String(), redirectPrefix) {
				return http.ErrUseLastResponse
			}
			return nil
		}}}
}

type page struct {
	status int
	url    *url.URL
	body   string
	header http.Header
}

func (b *browser) send(req *http.Request) page {
	resp, err := b.c.Do(req)
	require.NoError(b.t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(b.t, err)
	return page{status: resp.StatusCode, url: resp.Request.URL, body: string(out), header: resp.Header}
}

func (b *browser) get(u string) page {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	require.NoError(b.t, err)
	return b.send(req)
}

// form is a parsed HTML form.
type form struct {
	action string
	fields url.Values
	// options are the values of each checkbox group.
	options map[string][]string
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// findForm parses the form with the given id; ok is false when the page has none.
func findForm(t *testing.T, body, id string) (form, bool) {
	doc, err := html.Parse(strings.NewReader(body))
	require.NoError(t, err)
	var found *html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "form" && attr(n, "id") == id {
			found = n
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if found == nil {
		return form{}, false
	}
	f := form{action: attr(found, "action"), fields: url.Values{}, options: map[string][]string{}}
	var inputs func(*html.Node)
	inputs = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "input" {
			name := attr(n, "name")
			switch attr(n, "type") {
			case "checkbox":
				f.options[name] = append(f.options[name], attr(n, "value"))
			default:
				if name != "" {
					f.fields.Set(name, attr(n, "value"))
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			inputs(c)
		}
	}
	inputs(found)
	return f, true
}

func (b *browser) submit(f form, values url.Values) page {
	v := url.Values{}
	for k, vs := range f.fields {
		v[k] = append([]string(nil), vs...)
	}
	for k, vs := range values {
		v[k] = vs
	}
	req, err := http.NewRequest(http.MethodPost, f.action, strings.NewReader(v.Encode()))
	require.NoError(b.t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.send(req)
}

// callback reads the authorization response from the redirect to the TPP.
func callback(t *testing.T, p page, redirect string) url.Values {
	t.Helper()
	require.Contains(t, []int{http.StatusFound, http.StatusSeeOther}, p.status, "want a redirect to the client, got %d: %s", p.status, p.body)
	loc, err := url.Parse(p.header.Get("Location"))
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(loc.String(), redirect), loc.String())
	require.Empty(t, loc.RawQuery, "response_mode is fragment")
	v, err := url.ParseQuery(loc.Fragment)
	require.NoError(t, err)
	return v
}

// errorCode reads the OAuth error of an HTML error page.
func errorCode(t *testing.T, body string) string {
	doc, err := html.Parse(strings.NewReader(body))
	require.NoError(t, err)
	code := ""
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && attr(n, "id") == "error" {
			code = attr(n, "data-error")
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return code
}
