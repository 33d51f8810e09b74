package databench

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"
	"golang.org/x/net/html"
	"golang.org/x/oauth2"

	"github.com/ofp-dev/ofp/internal/pki"
)

// FlowOptions say how Authorise obtains a customer-data access token the
// way a receiver does: DCR with a directory-signed software statement,
// a consent through the Consents API, PAR, the customer's login and
// consent pages, and the code exchange with PKCE and private_key_jwt.
type FlowOptions struct {
	// BaseURL is the mTLS listener serving the authorization server, the
	// Consents API and the customer-data APIs ("https://127.0.0.1:8443").
	BaseURL string
	// Issuer is the brand's issuer (usually BaseURL + "/<brand>").
	Issuer string
	// Bundle is the test PKI: Client's transport certificate, the root that
	// signs the listener's certificate and the directory key that signs the
	// software statement. The authorization server must trust its root for
	// the TPP's jwks_uri (server.Options.HTTPClient) and its directory JWKS
	// for DCR.
	Bundle *pki.Bundle
	// Client is the TPP's transport certificate (its Name in Bundle) and
	// software/organisation ids; default pki.DemoClient.
	Client pki.ClientSpec
	// DirectoryIssuer is the iss of software statements DCR expects.
	DirectoryIssuer string
	// CPF, CNPJ (business logins), Password and OTP (LoA3) log the customer
	// in on the login page.
	CPF, CNPJ, Password, OTP string
	// Permissions of the consent; ExpiresIn its lifetime (default 90 days).
	Permissions []string
	ExpiresIn   time.Duration
	// Resources are the ids ticked on the consent page; nil ticks every one
	// offered.
	Resources []string
	// Scopes are asked besides "openid consent:<id>"; default
	// "accounts credit-cards-accounts customers resources".
	Scopes string
}

// Session is an authorised consent and its access token, bound to the
// TPP's transport certificate.
type Session struct {
	ClientID    string
	ConsentID   string
	AccessToken string
	// ClientTLS presents the certificate the token is bound to.
	ClientTLS *tls.Config

	o        FlowOptions
	tpp      *tpp
	keystore *http.Server
}

// Close stops the TPP's JWKS server.
func (s *Session) Close() {
	if s.keystore != nil {
		_ = s.keystore.Close()
	}
}

// RevokeConsent deletes the consent through the Consents API (the
// receiver's revocation), which also revokes its tokens.
func (s *Session) RevokeConsent(ctx context.Context) error {
	tok, err := s.tpp.clientCredentials(ctx, "consents")
	if err != nil {
		return err
	}
	status, body, err := s.tpp.do(ctx, http.MethodDelete, s.o.BaseURL+"/open-banking/consents/v3/consents/"+s.ConsentID, "", nil, tok)
	if err != nil {
		return err
	}
	if status != http.StatusNoContent {
		return fmt.Errorf("databench: DELETE consent answered %d: %s", status, body)
	}
	return nil
}

// NewConsent creates another consent of the same TPP for the same
// customer and authorises it, returning its session (sharing the TPP).
func (s *Session) NewConsent(ctx context.Context, perms []string, resources []string) (*Session, error) {
	o := s.o
	o.Permissions, o.Resources = perms, resources
	return s.tpp.authorise(ctx, o)
}

// Authorise runs the receiver's whole journey and returns the session.
// The caller closes it.
func Authorise(ctx context.Context, o FlowOptions) (*Session, error) {
	if o.BaseURL == "" || o.Issuer == "" || o.Bundle == nil || o.DirectoryIssuer == "" {
		return nil, errors.New("databench: FlowOptions needs BaseURL, Issuer, Bundle and DirectoryIssuer")
	}
	if o.Client.Name == "" {
		o.Client = pki.DemoClient
	}
	if o.Scopes == "" {
		o.Scopes = "accounts credit-cards-accounts customers resources"
	}
	if o.ExpiresIn <= 0 {
		o.ExpiresIn = 90 * 24 * time.Hour
	}
	cert, err := o.Bundle.ClientCertificate(o.Client.Name)
	if err != nil {
		return nil, fmt.Errorf("databench: client certificate: %w", err)
	}
	p := &tpp{o: o, redirect: "https://tpp.example/callback",
		tlsCfg: &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: o.Bundle.RootPool(), Certificates: []tls.Certificate{cert}}}
	p.client = &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{TLSClientConfig: p.tlsCfg},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if p.sig, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		return nil, err
	}
	if p.enc, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		return nil, err
	}
	ks, jwksURI, err := p.serveJWKS()
	if err != nil {
		return nil, err
	}
	p.jwksURI = jwksURI
	fail := func(err error) (*Session, error) {
		_ = ks.Close()
		return nil, err
	}
	if err := p.discover(ctx); err != nil {
		return fail(err)
	}
	if err := p.register(ctx); err != nil {
		return fail(err)
	}
	s, err := p.authorise(ctx, o)
	if err != nil {
		return fail(err)
	}
	s.keystore = ks
	return s, nil
}

// tpp is the receiver: only net/http, go-jose, x/oauth2 (PKCE helpers) and
// x/net/html; nothing of the server's packages.
type tpp struct {
	o        FlowOptions
	sig, enc *rsa.PrivateKey
	tlsCfg   *tls.Config
	client   *http.Client
	jwksURI  string
	redirect string
	id       string
	disc     struct {
		Issuer                string `json:"issuer"`
		AuthorizationEndpoint string `json:"authorization_endpoint"`
		MTLS                  struct {
			Token        string `json:"token_endpoint"`
			PAR          string `json:"pushed_authorization_request_endpoint"`
			Registration string `json:"registration_endpoint"`
		} `json:"mtls_endpoint_aliases"`
	}
}

const sigKID, encKID = "databench-sig", "databench-enc"

// serveJWKS publishes the TPP's public keys over TLS (the directory
// keystore's role for software_jwks_uri).
func (p *tpp) serveJWKS() (*http.Server, string, error) {
	set, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: &p.sig.PublicKey, KeyID: sigKID, Algorithm: string(jose.PS256), Use: "sig"},
		{Key: &p.enc.PublicKey, KeyID: encKID, Algorithm: string(jose.RSA_OAEP), Use: "enc"},
	}})
	if err != nil {
		return nil, "", err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(set)
	}), TLSConfig: &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{p.o.Bundle.ServerCertificate()}}}
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	return srv, "https://" + ln.Addr().String() + "/" + p.o.Client.OrgID + "/databench/application.jwks", nil
}

func (p *tpp) do(ctx context.Context, method, u, contentType string, body []byte, bearer string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("x-fapi-interaction-id", uuid.NewString())
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, out, err
}

func (p *tpp) discover(ctx context.Context) error {
	status, body, err := p.do(ctx, http.MethodGet, p.o.Issuer+"/.well-known/openid-configuration", "", nil, "")
	if err != nil {
		return fmt.Errorf("databench: discovery: %w", err)
	}
	if status != http.StatusOK {
		return fmt.Errorf("databench: discovery answered %d", status)
	}
	return json.Unmarshal(body, &p.disc)
}

func (p *tpp) sign(claims any) (string, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.PS256, Key: jose.JSONWebKey{Key: p.sig, KeyID: sigKID}}, nil)
	if err != nil {
		return "", err
	}
	return jwt.Signed(signer).Claims(claims).Serialize()
}

func (p *tpp) register(ctx context.Context) error {
	signer, err := p.o.Bundle.DirectorySigner()
	if err != nil {
		return err
	}
	spec := p.o.Client
	ssa, err := jwt.Signed(signer).Claims(map[string]any{
		"iss": p.o.DirectoryIssuer, "iat": time.Now().Unix(), "jti": uuid.NewString(),
		"software_id": spec.SoftwareID, "org_id": spec.OrgID, "org_status": "Active",
		"software_client_name": spec.OrganizationName + " bench", "software_client_uri": "https://tpp.example",
		"software_version": 1.0, "software_jwks_uri": p.jwksURI, "software_redirect_uris": []string{p.redirect},
		"software_roles":           []string{"DADOS"},
		"software_statement_roles": []map[string]string{{"role": "DADOS", "authorisation_domain": "Open Banking", "status": "Active"}},
	}).Serialize()
	if err != nil {
		return err
	}
	body, err := json.Marshal(map[string]any{
		"software_statement": ssa, "redirect_uris": []string{p.redirect}, "jwks_uri": p.jwksURI,
		"token_endpoint_auth_method": "private_key_jwt", "response_types": []string{"code id_token"},
		"grant_types":                     []string{"authorization_code", "client_credentials", "refresh_token"},
		"scope":                           "openid consents " + p.o.Scopes,
		"id_token_encrypted_response_alg": "RSA-OAEP", "id_token_encrypted_response_enc": "A256GCM",
	})
	if err != nil {
		return err
	}
	status, out, err := p.do(ctx, http.MethodPost, p.disc.MTLS.Registration, "application/json", body, "")
	if err != nil {
		return fmt.Errorf("databench: register: %w", err)
	}
	if status != http.StatusCreated {
		return fmt.Errorf("databench: register answered %d: %s", status, out)
	}
	var reg struct {
		ClientID string `json:"client_id"`
	}
	if err := json.Unmarshal(out, &reg); err != nil || reg.ClientID == "" {
		return fmt.Errorf("databench: register: no client_id in %s", out)
	}
	p.id = reg.ClientID
	return nil
}

func (p *tpp) assertion() (string, error) {
	now := time.Now()
	return p.sign(map[string]any{"iss": p.id, "sub": p.id, "aud": p.o.Issuer, "jti": uuid.NewString(),
		"iat": now.Unix(), "exp": now.Add(time.Minute).Unix()})
}

// token posts form to the token endpoint with a client assertion.
func (p *tpp) token(ctx context.Context, form url.Values) (string, error) {
	a, err := p.assertion()
	if err != nil {
		return "", err
	}
	form.Set("client_id", p.id)
	form.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
	form.Set("client_assertion", a)
	status, out, err := p.do(ctx, http.MethodPost, p.disc.MTLS.Token, "application/x-www-form-urlencoded", []byte(form.Encode()), "")
	if err != nil {
		return "", fmt.Errorf("databench: token: %w", err)
	}
	if status != http.StatusOK {
		return "", fmt.Errorf("databench: token endpoint answered %d: %s", status, out)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(out, &tok); err != nil || tok.AccessToken == "" {
		return "", fmt.Errorf("databench: no access_token in %s", out)
	}
	return tok.AccessToken, nil
}

func (p *tpp) clientCredentials(ctx context.Context, scope string) (string, error) {
	return p.token(ctx, url.Values{"grant_type": {"client_credentials"}, "scope": {scope}})
}

// authorise creates a consent and runs PAR, login, consent and the code
// exchange for it.
func (p *tpp) authorise(ctx context.Context, o FlowOptions) (*Session, error) {
	cc, err := p.clientCredentials(ctx, "consents")
	if err != nil {
		return nil, err
	}
	data := map[string]any{
		"loggedUser":         map[string]any{"document": map[string]string{"identification": o.CPF, "rel": "CPF"}},
		"permissions":        o.Permissions,
		"expirationDateTime": time.Now().UTC().Add(o.ExpiresIn).Format("2006-01-02T15:04:05Z"),
	}
	if o.CNPJ != "" {
		data["businessEntity"] = map[string]any{"document": map[string]string{"identification": o.CNPJ, "rel": "CNPJ"}}
	}
	body, err := json.Marshal(map[string]any{"data": data})
	if err != nil {
		return nil, err
	}
	status, out, err := p.do(ctx, http.MethodPost, o.BaseURL+"/open-banking/consents/v3/consents", "application/json", body, cc)
	if err != nil {
		return nil, fmt.Errorf("databench: create consent: %w", err)
	}
	if status != http.StatusCreated {
		return nil, fmt.Errorf("databench: create consent answered %d: %s", status, out)
	}
	var created struct {
		Data struct {
			ConsentID string `json:"consentId"`
		} `json:"data"`
	}
	if err := json.Unmarshal(out, &created); err != nil || created.Data.ConsentID == "" {
		return nil, fmt.Errorf("databench: create consent: no consentId in %s", out)
	}
	consentID := created.Data.ConsentID

	verifier := oauth2.GenerateVerifier()
	now := time.Now()
	ro, err := p.sign(map[string]any{
		"iss": p.id, "aud": o.Issuer, "client_id": p.id, "jti": uuid.NewString(),
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
		"response_type": "code id_token", "redirect_uri": p.redirect,
		"scope": "openid " + o.Scopes + " consent:" + consentID,
		"state": uuid.NewString(), "nonce": uuid.NewString(),
		"code_challenge": oauth2.S256ChallengeFromVerifier(verifier), "code_challenge_method": "S256",
		"claims": map[string]any{"id_token": map[string]any{"acr": map[string]any{"essential": true,
			"values": []string{"urn:brasil:openbanking:loa2", "urn:brasil:openbanking:loa3"}}}},
	})
	if err != nil {
		return nil, err
	}
	a, err := p.assertion()
	if err != nil {
		return nil, err
	}
	form := url.Values{"client_id": {p.id}, "request": {ro},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {a}}
	status, out, err = p.do(ctx, http.MethodPost, p.disc.MTLS.PAR, "application/x-www-form-urlencoded", []byte(form.Encode()), "")
	if err != nil {
		return nil, fmt.Errorf("databench: PAR: %w", err)
	}
	if status != http.StatusCreated {
		return nil, fmt.Errorf("databench: PAR answered %d: %s", status, out)
	}
	var par struct {
		RequestURI string `json:"request_uri"`
	}
	if err := json.Unmarshal(out, &par); err != nil || par.RequestURI == "" {
		return nil, fmt.Errorf("databench: PAR: no request_uri in %s", out)
	}

	code, err := p.customer(ctx, o, par.RequestURI)
	if err != nil {
		return nil, err
	}
	access, err := p.token(ctx, url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {p.redirect}, "code_verifier": {verifier}})
	if err != nil {
		return nil, err
	}
	return &Session{ClientID: p.id, ConsentID: consentID, AccessToken: access, ClientTLS: p.tlsCfg.Clone(), o: o, tpp: p}, nil
}

// customer is the customer's browser (cookies, no client certificate): it
// opens the authorization URL, logs in, ticks the resources and approves,
// and returns the code of the redirect to the TPP.
func (p *tpp) customer(ctx context.Context, o FlowOptions, requestURI string) (string, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return "", err
	}
	b := &http.Client{Jar: jar, Timeout: 15 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: o.Bundle.RootPool()}},
		CheckRedirect: func(req *http.Request, _ []*http.Request) error {
			if strings.HasPrefix(req.URL.String(), p.redirect) {
				return http.ErrUseLastResponse
			}
			return nil
		}}
	page := func(req *http.Request) (*http.Response, string, error) {
		resp, err := b.Do(req.WithContext(ctx))
		if err != nil {
			return nil, "", err
		}
		defer resp.Body.Close()
		out, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return resp, string(out), err
	}
	authURL := p.disc.AuthorizationEndpoint + "?" + url.Values{"client_id": {p.id}, "request_uri": {requestURI}}.Encode()
	req, err := http.NewRequest(http.MethodGet, authURL, nil)
	if err != nil {
		return "", err
	}
	_, body, err := page(req)
	if err != nil {
		return "", fmt.Errorf("databench: authorization page: %w", err)
	}
	lf, ok := findForm(body, "login")
	if !ok {
		return "", fmt.Errorf("databench: no login form on the authorization page")
	}
	lf.fields.Set("cpf", o.CPF)
	lf.fields.Set("password", o.Password)
	if o.CNPJ != "" {
		lf.fields.Set("cnpj", o.CNPJ)
	}
	if o.OTP != "" {
		lf.fields.Set("otp", o.OTP)
	}
	resp, body, err := page(lf.post(lf.fields))
	if err != nil {
		return "", fmt.Errorf("databench: login: %w", err)
	}
	cf, ok := findForm(body, "consent")
	if !ok {
		return "", fmt.Errorf("databench: login did not lead to the consent page (%d)", resp.StatusCode)
	}
	v := cf.fields
	v.Set("decision", "approve")
	chosen := o.Resources
	if chosen == nil {
		chosen = cf.checkboxes["resource"]
	}
	v["resource"] = chosen
	resp, body, err = page(cf.post(v))
	if err != nil {
		return "", fmt.Errorf("databench: consent: %w", err)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(loc.String(), p.redirect) {
		return "", fmt.Errorf("databench: the consent page did not redirect to the TPP (%d): %.300s", resp.StatusCode, body)
	}
	cb, err := url.ParseQuery(loc.Fragment)
	if err != nil {
		return "", err
	}
	if e := cb.Get("error"); e != "" {
		return "", fmt.Errorf("databench: authorization refused: %s %s", e, cb.Get("error_description"))
	}
	if cb.Get("code") == "" {
		return "", errors.New("databench: no code in the authorization response")
	}
	return cb.Get("code"), nil
}

// form is a parsed HTML form: hidden and text fields, checkbox options.
type form struct {
	action     string
	fields     url.Values
	checkboxes map[string][]string
}

func (f form) post(v url.Values) *http.Request {
	req, _ := http.NewRequest(http.MethodPost, f.action, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// findForm parses the form with id; ok is false when the page has none.
func findForm(body, id string) (form, bool) {
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		return form{}, false
	}
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
	f := form{action: attr(found, "action"), fields: url.Values{}, checkboxes: map[string][]string{}}
	var inputs func(*html.Node)
	inputs = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "input" {
			name := attr(n, "name")
			switch attr(n, "type") {
			case "checkbox":
				f.checkboxes[name] = append(f.checkboxes[name], attr(n, "value"))
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
