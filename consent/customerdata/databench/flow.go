package databench

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"
	"golang.org/x/net/html"

	"github.com/ofp-dev/ofp/connectors/fapi"
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
	// Logger receives connectors/fapi's records; default: discarded.
	Logger *slog.Logger
}

// Session is an authorised consent and its tokens, bound to the TPP's
// transport certificate.
type Session struct {
	ClientID     string
	ConsentID    string
	AccessToken  string
	RefreshToken string
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

// Client is the registered receiver client (connectors/fapi) the session
// was obtained with; sessions from NewConsent share it.
func (s *Session) Client() *fapi.Client { return s.tpp.c }

// Config is the configuration of Client with its client_id: change the
// transport (Certificate, HTTPClient) and pass it to fapi.New for the same
// registered client over another connection.
func (s *Session) Config() fapi.Config {
	cfg := s.tpp.cfg
	cfg.ClientID = s.ClientID
	return cfg
}

// RevokeConsent deletes the consent through the Consents API (the
// receiver's revocation), which also revokes its tokens.
func (s *Session) RevokeConsent(ctx context.Context) error {
	tok, err := s.tpp.c.ClientCredentials(ctx, "consents")
	if err != nil {
		return fmt.Errorf("databench: consents token: %w", err)
	}
	if err := s.tpp.c.DeleteConsent(ctx, tok.AccessToken, s.ConsentID); err != nil {
		return fmt.Errorf("databench: revoke the consent: %w", err)
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

// redirectURI is the TPP's registered redirect URI; the customer's browser
// stops there and the Location is handed to the client.
const redirectURI = "https://tpp.example/callback"

// Authorise runs the receiver's whole journey with connectors/fapi and
// returns the session. The caller closes it.
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
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	cert, err := o.Bundle.ClientCertificate(o.Client.Name)
	if err != nil {
		return nil, fmt.Errorf("databench: client certificate: %w", err)
	}
	sig, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	enc, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	// The key store listens first: its address is the jwks_uri.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &tpp{o: o, tlsCfg: &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: o.Bundle.RootPool(), Certificates: []tls.Certificate{cert}}}
	p.cfg = fapi.Config{Issuer: o.Issuer, APIBaseURL: o.BaseURL, Certificate: cert, RootCAs: o.Bundle.RootPool(),
		SigningKey: sig, SigningKeyID: "databench-sig", EncryptionKey: enc, EncryptionKeyID: "databench-enc",
		JWKSURI:     "https://" + ln.Addr().String() + "/" + o.Client.OrgID + "/databench/application.jwks",
		RedirectURI: redirectURI, Timeout: 15 * time.Second, Logger: o.Logger}
	if p.c, err = fapi.New(ctx, p.cfg); err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("databench: %w", err)
	}
	ks, err := p.serveJWKS(ln)
	if err != nil {
		_ = ln.Close()
		return nil, err
	}
	fail := func(err error) (*Session, error) {
		_ = ks.Close()
		return nil, err
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

// tpp is the receiver: a connectors/fapi client (x/oauth2, go-jose,
// net/http; nothing of the server's packages).
type tpp struct {
	o      FlowOptions
	cfg    fapi.Config
	c      *fapi.Client
	tlsCfg *tls.Config
}

// serveJWKS publishes the TPP's public keys over TLS on ln (the directory
// keystore's role for software_jwks_uri).
func (p *tpp) serveJWKS(ln net.Listener) (*http.Server, error) {
	set, err := p.c.PublicJWKS()
	if err != nil {
		return nil, err
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(set)
	}), TLSConfig: &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{p.o.Bundle.ServerCertificate()}}}
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	return srv, nil
}

// register signs a software statement with the test directory's key (the
// directory's role) and registers through DCR.
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
		"software_version": 1.0, "software_jwks_uri": p.cfg.JWKSURI, "software_redirect_uris": []string{p.cfg.RedirectURI},
		"software_roles":           []string{"DADOS"},
		"software_statement_roles": []map[string]string{{"role": "DADOS", "authorisation_domain": "Open Banking", "status": "Active"}},
	}).Serialize()
	if err != nil {
		return err
	}
	if _, err := p.c.Register(ctx, ssa, fapi.Metadata{Scope: "openid consents " + p.o.Scopes}); err != nil {
		return fmt.Errorf("databench: register: %w", err)
	}
	return nil
}

// authorise creates a consent and runs PAR, login, consent, the callback
// and the code exchange for it.
func (p *tpp) authorise(ctx context.Context, o FlowOptions) (*Session, error) {
	cc, err := p.c.ClientCredentials(ctx, "consents")
	if err != nil {
		return nil, fmt.Errorf("databench: consents token: %w", err)
	}
	req := fapi.ConsentRequest{LoggedUser: fapi.CPF(o.CPF), Permissions: o.Permissions, ExpirationDateTime: time.Now().UTC().Add(o.ExpiresIn)}
	if o.CNPJ != "" {
		req.BusinessEntity = fapi.CNPJ(o.CNPJ)
	}
	created, err := p.c.CreateConsent(ctx, cc.AccessToken, req)
	if err != nil {
		return nil, fmt.Errorf("databench: create consent: %w", err)
	}
	r, err := p.c.PushAuthorization(ctx, created.ConsentID, fapi.AuthOptions{Scopes: strings.Fields(o.Scopes)})
	if err != nil {
		return nil, fmt.Errorf("databench: PAR: %w", err)
	}
	loc, err := p.customer(ctx, o, p.c.AuthorizeURL(r.RequestURI))
	if err != nil {
		return nil, err
	}
	cb, err := p.c.HandleCallback(ctx, loc, r)
	if err != nil {
		return nil, fmt.Errorf("databench: authorization response: %w", err)
	}
	tok, err := p.c.Exchange(ctx, cb.Code, r)
	if err != nil {
		return nil, fmt.Errorf("databench: code exchange: %w", err)
	}
	return &Session{ClientID: p.c.ClientID(), ConsentID: created.ConsentID, AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken,
		ClientTLS: p.tlsCfg.Clone(), o: o, tpp: p}, nil
}

// customer is the customer's browser (cookies, no client certificate): it
// opens the authorization URL, logs in, ticks the resources and approves,
// and returns where the holder redirected it (the TPP's redirect URI with
// the authorization response), for fapi.Client.HandleCallback.
func (p *tpp) customer(ctx context.Context, o FlowOptions, authURL string) (string, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return "", err
	}
	redirect := p.cfg.RedirectURI
	b := &http.Client{Jar: jar, Timeout: 15 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: o.Bundle.RootPool()}},
		CheckRedirect: func(req *http.Request, _ []*http.Request) error {
			if strings.HasPrefix(req.URL.String(), redirect) {
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
	loc := resp.Header.Get("Location")
	if !strings.HasPrefix(loc, redirect) {
		return "", fmt.Errorf("databench: the consent page did not redirect to the TPP (%d): %.300s", resp.StatusCode, body)
	}
	return loc, nil
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
