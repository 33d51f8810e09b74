package e2e_test

// The TPP side, built only from golang.org/x/oauth2, go-jose, net/http
// (mutual TLS) and golang.org/x/net/html: nothing here comes from the
// server's packages.

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
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
	"golang.org/x/oauth2/clientcredentials"

	"github.com/ofp-dev/ofp/internal/pki"
)

type discovery struct {
	Issuer                string `json:"issuer"`
	AuthorizationEndpoint string `json:"authorization_endpoint"`
	JWKSURI               string `json:"jwks_uri"`
	MTLS                  struct {
		Token         string `json:"token_endpoint"`
		PAR           string `json:"pushed_authorization_request_endpoint"`
		Introspection string `json:"introspection_endpoint"`
		Revocation    string `json:"revocation_endpoint"`
		Registration  string `json:"registration_endpoint"`
	} `json:"mtls_endpoint_aliases"`
}

type tpp struct {
	t        *testing.T
	e        *env
	spec     pki.ClientSpec
	sig, enc *rsa.PrivateKey
	jwksURI  string
	redirect string
	disc     discovery
	id       string
	cert     tls.Certificate
	mtls     *http.Client
}

const sigKID, encKID = "tpp-sig-1", "tpp-enc-1"

func rsaKey(t *testing.T) *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	return k
}

func mtlsClient(roots *http.Transport) *http.Client {
	return &http.Client{Transport: roots, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (e *env) transport(cert *tls.Certificate) *http.Transport {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: e.b.RootPool()}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
	}
	return &http.Transport{TLSClientConfig: cfg}
}

// newTPP publishes the TPP's keys, reads discovery and registers through
// DCR with a fresh directory-signed software statement.
func (e *env) newTPP(spec pki.ClientSpec, name string) *tpp {
	t := e.t
	cert, err := e.b.ClientCertificate(spec.Name)
	require.NoError(t, err)
	p := &tpp{t: t, e: e, spec: spec, sig: rsaKey(t), enc: rsaKey(t), cert: cert,
		jwksURI: e.ksBase + "/" + spec.OrgID + "/" + name + "/application.jwks", redirect: "https://" + name + ".tpp.example/callback"}
	p.mtls = mtlsClient(e.transport(&cert))
	set, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: &p.sig.PublicKey, KeyID: sigKID, Algorithm: string(jose.PS256), Use: "sig"},
		{Key: &p.enc.PublicKey, KeyID: encKID, Algorithm: string(jose.RSA_OAEP), Use: "enc"},
	}})
	require.NoError(t, err)
	e.keystore.put(strings.TrimPrefix(p.jwksURI, e.ksBase), set)

	resp, body := p.do(http.MethodGet, e.issuer+"/.well-known/openid-configuration", "", nil, "")
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	require.NoError(t, json.Unmarshal([]byte(body), &p.disc))
	require.Equal(t, e.issuer, p.disc.Issuer)
	p.register()
	return p
}

func (p *tpp) ssa() string {
	signer, err := p.e.b.DirectorySigner()
	require.NoError(p.t, err)
	raw, err := jwt.Signed(signer).Claims(map[string]any{
		"iss": directoryIssuer, "iat": time.Now().Unix(), "jti": uuid.NewString(),
		"software_id": p.spec.SoftwareID, "org_id": p.spec.OrgID, "org_status": "Active",
		"software_client_name": p.spec.OrganizationName + " app", "software_client_uri": "https://tpp.example",
		"software_version": 1.0, "software_jwks_uri": p.jwksURI, "software_redirect_uris": []string{p.redirect},
		"software_roles":           []string{"DADOS"},
		"software_statement_roles": []map[string]string{{"role": "DADOS", "authorisation_domain": "Open Banking", "status": "Active"}},
	}).Serialize()
	require.NoError(p.t, err)
	return raw
}

func (p *tpp) register() {
	body, err := json.Marshal(map[string]any{
		"software_statement": p.ssa(), "redirect_uris": []string{p.redirect}, "jwks_uri": p.jwksURI,
		"token_endpoint_auth_method": "private_key_jwt", "response_types": []string{"code id_token"},
		"grant_types":                     []string{"authorization_code", "client_credentials", "refresh_token"},
		"scope":                           "openid consents resources accounts",
		"id_token_encrypted_response_alg": "RSA-OAEP", "id_token_encrypted_response_enc": "A256GCM",
	})
	require.NoError(p.t, err)
	resp, out := p.do(http.MethodPost, p.disc.MTLS.Registration, "application/json", body, "")
	require.Equal(p.t, http.StatusCreated, resp.StatusCode, out)
	var reg struct {
		ClientID string `json:"client_id"`
	}
	require.NoError(p.t, json.Unmarshal([]byte(out), &reg))
	require.NotEmpty(p.t, reg.ClientID)
	p.id = reg.ClientID
}

// do sends a request over the TPP's mTLS client with an interaction id.
func (p *tpp) do(method, u, contentType string, body []byte, bearer string) (*http.Response, string) {
	return doWith(p.t, p.mtls, method, u, contentType, body, bearer)
}

func doWith(t *testing.T, c *http.Client, method, u, contentType string, body []byte, bearer string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("x-fapi-interaction-id", uuid.NewString())
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(out)
}

func sign(t *testing.T, key *rsa.PrivateKey, kid string, claims any) string {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.PS256, Key: jose.JSONWebKey{Key: key, KeyID: kid}}, nil)
	require.NoError(t, err)
	raw, err := jwt.Signed(signer).Claims(claims).Serialize()
	require.NoError(t, err)
	return raw
}

// assertionClaims is a private_key_jwt client assertion (RFC 7523).
func (p *tpp) assertionClaims(lifetime time.Duration) map[string]any {
	now := time.Now()
	return map[string]any{"iss": p.id, "sub": p.id, "aud": p.e.issuer, "jti": uuid.NewString(),
		"iat": now.Unix(), "exp": now.Add(lifetime).Unix()}
}

func (p *tpp) assertion() string { return sign(p.t, p.sig, sigKID, p.assertionClaims(time.Minute)) }

// assertingTransport adds a fresh client assertion to every token request
// x/oauth2 sends, and an interaction id to every request.
type assertingTransport struct {
	p        *tpp
	base     http.RoundTripper
	tokenURL string
}

func (a assertingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r2 := r.Clone(r.Context())
	r2.Header.Set("x-fapi-interaction-id", uuid.NewString())
	if r.Method == http.MethodPost && r.URL.String() == a.tokenURL && r.Body != nil {
		body, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			return nil, err
		}
		v, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, err
		}
		v.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
		v.Set("client_assertion", a.p.assertion())
		enc := v.Encode()
		r2.Body = io.NopCloser(strings.NewReader(enc))
		r2.ContentLength = int64(len(enc))
		r2.GetBody = nil
	}
	return a.base.RoundTrip(r2)
}

func (p *tpp) ctx() context.Context {
	return p.ctxWith(p.mtls.Transport)
}

func (p *tpp) ctxWith(base http.RoundTripper) context.Context {
	return context.WithValue(context.Background(), oauth2.HTTPClient, &http.Client{Timeout: 10 * time.Second,
		Transport: assertingTransport{p: p, base: base, tokenURL: p.disc.MTLS.Token}})
}

func (p *tpp) oauth() *oauth2.Config {
	return &oauth2.Config{ClientID: p.id, RedirectURL: p.redirect,
		Endpoint: oauth2.Endpoint{AuthURL: p.disc.AuthorizationEndpoint, TokenURL: p.disc.MTLS.Token, AuthStyle: oauth2.AuthStyleInParams}}
}

func (p *tpp) clientCredentials(scope string) (*oauth2.Token, error) {
	cc := clientcredentials.Config{ClientID: p.id, TokenURL: p.disc.MTLS.Token, Scopes: []string{scope}, AuthStyle: oauth2.AuthStyleInParams}
	return cc.Token(p.ctx())
}

func oauthErrorCode(t *testing.T, err error) string {
	t.Helper()
	var re *oauth2.RetrieveError
	require.True(t, errors.As(err, &re), "want an OAuth error, got %v", err)
	return re.ErrorCode
}

// createConsent calls POST /consents with a client_credentials token.
func (p *tpp) createConsent(cpf, cnpj string, perms ...string) string {
	tok, err := p.clientCredentials("consents")
	require.NoError(p.t, err)
	data := map[string]any{
		"loggedUser":         map[string]any{"document": map[string]string{"identification": cpf, "rel": "CPF"}},
		"permissions":        perms,
		"expirationDateTime": time.Now().UTC().Add(180 * 24 * time.Hour).Format("2006-01-02T15:04:05Z"),
	}
	if cnpj != "" {
		data["businessEntity"] = map[string]any{"document": map[string]string{"identification": cnpj, "rel": "CNPJ"}}
	}
	body, err := json.Marshal(map[string]any{"data": data})
	require.NoError(p.t, err)
	resp, out := p.do(http.MethodPost, p.e.base+"/open-banking/consents/v3/consents", "application/json", body, tok.AccessToken)
	require.Equal(p.t, http.StatusCreated, resp.StatusCode, out)
	var created struct {
		Data struct {
			ConsentID string `json:"consentId"`
			Status    string `json:"status"`
		} `json:"data"`
	}
	require.NoError(p.t, json.Unmarshal([]byte(out), &created))
	require.Equal(p.t, "AWAITING_AUTHORISATION", created.Data.Status)
	return created.Data.ConsentID
}

func (p *tpp) consentStatus(id string) (string, string) {
	tok, err := p.clientCredentials("consents")
	require.NoError(p.t, err)
	resp, out := p.do(http.MethodGet, p.e.base+"/open-banking/consents/v3/consents/"+id, "", nil, tok.AccessToken)
	require.Equal(p.t, http.StatusOK, resp.StatusCode, out)
	var got struct {
		Data struct {
			Status    string `json:"status"`
			Rejection *struct {
				Reason struct {
					Code string `json:"code"`
				} `json:"reason"`
			} `json:"rejection"`
		} `json:"data"`
	}
	require.NoError(p.t, json.Unmarshal([]byte(out), &got))
	reason := ""
	if got.Data.Rejection != nil {
		reason = got.Data.Rejection.Reason.Code
	}
	return got.Data.Status, reason
}

// authRequest is what the TPP pushes.
type authRequest struct {
	consentID, state, nonce, verifier string
	redirect                          string
	acr                               []string
}

func (p *tpp) newAuthRequest(consentID string) authRequest {
	return authRequest{consentID: consentID, state: uuid.NewString(), nonce: uuid.NewString(), verifier: oauth2.GenerateVerifier(),
		redirect: p.redirect, acr: []string{"urn:brasil:openbanking:loa2", "urn:brasil:openbanking:loa3"}}
}

func (p *tpp) requestObject(r authRequest) map[string]any {
	now := time.Now()
	return map[string]any{
		"iss": p.id, "aud": p.e.issuer, "client_id": p.id, "jti": uuid.NewString(),
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
		"response_type": "code id_token", "redirect_uri": r.redirect,
		"scope": "openid accounts resources consent:" + r.consentID,
		"state": r.state, "nonce": r.nonce,
		"code_challenge": oauth2.S256ChallengeFromVerifier(r.verifier), "code_challenge_method": "S256",
		"claims": map[string]any{"id_token": map[string]any{"acr": map[string]any{"essential": true, "values": r.acr}}},
	}
}

// pushRaw posts a request object to the PAR endpoint.
func (p *tpp) pushRaw(requestObject string) (int, map[string]any) {
	form := url.Values{"client_id": {p.id}, "request": {requestObject},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {p.assertion()}}
	resp, out := p.do(http.MethodPost, p.disc.MTLS.PAR, "application/x-www-form-urlencoded", []byte(form.Encode()), "")
	var body map[string]any
	require.NoError(p.t, json.Unmarshal([]byte(out), &body), out)
	return resp.StatusCode, body
}

// push signs the request object and returns the request_uri.
func (p *tpp) push(r authRequest) string {
	status, body := p.pushRaw(sign(p.t, p.sig, sigKID, p.requestObject(r)))
	require.Equal(p.t, http.StatusCreated, status, body)
	uri, _ := body["request_uri"].(string)
	require.NotEmpty(p.t, uri)
	require.GreaterOrEqual(p.t, body["expires_in"], float64(60), "request_uri lives at least 60 s (FAPI-BR)")
	return uri
}

func (p *tpp) authorizeURL(requestURI string) string {
	return p.disc.AuthorizationEndpoint + "?" + url.Values{"client_id": {p.id}, "request_uri": {requestURI}}.Encode()
}

func halfHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}

// idToken decrypts (RSA-OAEP/A256GCM with the TPP's enc key), verifies
// (PS256 against the AS JWKS) and checks an id_token.
func (p *tpp) idToken(raw string, r authRequest, code, state string) map[string]any {
	t := p.t
	enc, err := jose.ParseEncrypted(raw, []jose.KeyAlgorithm{jose.RSA_OAEP}, []jose.ContentEncryption{jose.A256GCM})
	require.NoError(t, err, "the id_token is always encrypted")
	require.Equal(t, encKID, enc.Header.KeyID)
	inner, err := enc.Decrypt(p.enc)
	require.NoError(t, err)
	jws, err := jose.ParseSigned(string(inner), []jose.SignatureAlgorithm{jose.PS256})
	require.NoError(t, err)
	resp, out := p.do(http.MethodGet, p.disc.JWKSURI, "", nil, "")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var set jose.JSONWebKeySet
	require.NoError(t, json.Unmarshal([]byte(out), &set))
	keys := set.Key(jws.Signatures[0].Header.KeyID)
	require.Len(t, keys, 1)
	payload, err := jws.Verify(keys[0])
	require.NoError(t, err)
	var claims map[string]any
	require.NoError(t, json.Unmarshal(payload, &claims))
	require.Equal(t, p.e.issuer, claims["iss"])
	switch aud := claims["aud"].(type) {
	case string:
		require.Equal(t, p.id, aud)
	case []any:
		require.Contains(t, aud, p.id)
	}
	require.Equal(t, r.nonce, claims["nonce"])
	require.Contains(t, r.acr, claims["acr"])
	require.NotEmpty(t, claims["sub"])
	require.Greater(t, claims["exp"], float64(time.Now().Unix()))
	if code != "" {
		require.Equal(t, halfHash(code), claims["c_hash"])
	}
	if state != "" {
		require.Equal(t, halfHash(state), claims["s_hash"])
	}
	return claims
}

func (p *tpp) introspect(token string) map[string]any {
	form := url.Values{"token": {token}, "client_id": {p.id},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {p.assertion()}}
	resp, out := p.do(http.MethodPost, p.disc.MTLS.Introspection, "application/x-www-form-urlencoded", []byte(form.Encode()), "")
	require.Equal(p.t, http.StatusOK, resp.StatusCode, out)
	var body map[string]any
	require.NoError(p.t, json.Unmarshal([]byte(out), &body))
	return body
}

func (p *tpp) revoke(token string) {
	form := url.Values{"token": {token}, "client_id": {p.id},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {p.assertion()}}
	resp, out := p.do(http.MethodPost, p.disc.MTLS.Revocation, "application/x-www-form-urlencoded", []byte(form.Encode()), "")
	require.Equal(p.t, http.StatusOK, resp.StatusCode, out)
}

// resource calls the protected resource endpoint.
func (p *tpp) resource(c *http.Client, token string) (int, string) {
	resp, out := doWith(p.t, c, http.MethodGet, p.e.base+resourcesPath, "", nil, token)
	return resp.StatusCode, out
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
