package fapi_test

// The holder under test: the real authorization server (authz/server over
// authz/store on SQLite, authz/dcr) and the real Consents API
// (consent/consenthttp over consent/consentsql on SQLite) on one mTLS
// listener with the test PKI, the way cmd/ofp wires them. Only the tests
// import authz: the package itself never does.

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"

	"github.com/ofp-dev/ofp/authz/dcr"
	"github.com/ofp-dev/ofp/authz/idp"
	"github.com/ofp-dev/ofp/authz/keys"
	"github.com/ofp-dev/ofp/authz/server"
	"github.com/ofp-dev/ofp/authz/store"
	"github.com/ofp-dev/ofp/connectors/fapi"
	"github.com/ofp-dev/ofp/consent"
	"github.com/ofp-dev/ofp/consent/consenthttp"
	"github.com/ofp-dev/ofp/consent/consentsql"
	"github.com/ofp-dev/ofp/consent/payments"
	"github.com/ofp-dev/ofp/consent/payments/jwtbody"
	"github.com/ofp-dev/ofp/consent/payments/paymentshttp"
	"github.com/ofp-dev/ofp/consent/payments/paymentsql"
	"github.com/ofp-dev/ofp/internal/pki"
	"github.com/ofp-dev/ofp/sim/spi"
)

var quiet = slog.New(slog.DiscardHandler)

const directoryIssuer = "Open Banking Open Banking Brasil sandbox SSA issuer"

var (
	pkiOnce sync.Once
	bundle  *pki.Bundle
	pkiErr  error
	pkiDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if pkiDir != "" {
		os.RemoveAll(pkiDir)
	}
	os.Exit(code)
}

func testPKI(t *testing.T) *pki.Bundle {
	t.Helper()
	pkiOnce.Do(func() {
		if pkiDir, pkiErr = os.MkdirTemp("", "fapi-pki-"); pkiErr == nil {
			bundle, pkiErr = pki.Generate(pkiDir, pki.Options{Clients: []pki.ClientSpec{pki.DemoClient}})
		}
	})
	require.NoError(t, pkiErr)
	return bundle
}

// jwksHost serves TPP JWK Sets over TLS (the directory keystore's role).
type jwksHost struct {
	mu   sync.Mutex
	sets map[string][]byte
	url  string
}

func (k *jwksHost) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	k.mu.Lock()
	set, ok := k.sets[r.URL.Path]
	k.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(set)
}

func (k *jwksHost) put(path string, set []byte) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.sets[path] = set
}

type holder struct {
	t        *testing.T
	b        *pki.Bundle
	base     string
	issuer   string
	jwks     *jwksHost
	consents *consentsql.Store
	payments *paymentsql.Store
	demo     *idp.Demo
}

// holderOrg is the holder's organisationId (iss of its signed payment
// answers).
const holderOrg = "c2a4f5c6-0d6e-4f3b-9a55-7b1f0e3d9a01"

const resourcesPath = "/open-banking/resources/v3/resources"

func newHolder(t *testing.T) *holder {
	t.Helper()
	ctx := context.Background()
	b := testPKI(t)

	jh := &jwksHost{sets: map[string][]byte{}}
	js := httptest.NewUnstartedServer(jh)
	js.TLS = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{b.ServerCertificate()}}
	js.StartTLS()
	t.Cleanup(js.Close)
	jh.url = js.URL

	ts := httptest.NewUnstartedServer(nil)
	t.Cleanup(ts.Close)
	base := "https://" + ts.Listener.Addr().String()
	issuer := base + "/bank"

	keyStore, err := keys.NewFileStore(t.TempDir())
	require.NoError(t, err)
	km, err := keys.NewManager(ctx, keyStore, []keys.Brand{{ID: "bank", Issuer: issuer, DisplayName: "Banco Exemplo"}}, keys.Options{Logger: quiet})
	require.NoError(t, err)
	dirJWKS, err := b.DirectoryJWKS()
	require.NoError(t, err)
	dirKeys, err := dcr.NewStaticKeys(dirJWKS)
	require.NoError(t, err)
	clients := dcr.NewMemoryStore()
	reg, err := dcr.New(dcr.Options{Issuer: directoryIssuer, Keys: dirKeys, Store: clients, Brand: "bank", RegistrationURL: issuer + "/register", Logger: quiet})
	require.NoError(t, err)

	consents, err := consentsql.OpenSQLite(ctx, filepath.Join(t.TempDir(), "consents.db"), consentsql.Options{Logger: quiet})
	require.NoError(t, err)
	t.Cleanup(func() { consents.Close() })
	az, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "authz.db"), store.Options{Logger: quiet})
	require.NoError(t, err)
	t.Cleanup(func() { az.Close() })

	pay, err := paymentsql.OpenSQLite(ctx, filepath.Join(t.TempDir(), "payments.db"), paymentsql.Options{Logger: quiet})
	require.NoError(t, err)
	t.Cleanup(func() { pay.Close() })

	demo := idp.NewDemo()
	srv, err := server.New(server.Options{
		Keys: km, Clients: clients, Registration: map[string]http.Handler{"bank": reg},
		StorageFor: func(brand string) *server.Storage {
			v := az.ForBrand(brand)
			return &server.Storage{Grants: v, Auth: v, PAR: v, Refresh: v, ConsumeJTI: v.ConsumeJTI}
		},
		Consent: gate{consents, payGate{pay}}, Identity: demo,
		HTTPClient: &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: b.RootPool()}}},
		Logger:     quiet,
	})
	require.NoError(t, err)
	consentAPI, err := consenthttp.NewHandler(consents, consenthttp.Options{Institution: "bank", Clients: tokenClients{}, Tokens: srv, Logger: quiet})
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/bank/", srv.Handler())
	mux.Handle(consenthttp.BasePath+"/", srv.Protect(server.Requirement{Scopes: []string{"consents"}, GrantType: "client_credentials"})(consentAPI))
	mux.Handle(resourcesPath, srv.Protect(server.Requirement{Scopes: []string{"resources", "consent"}, GrantType: "authorization_code"})(http.HandlerFunc(resources)))
	mux.Handle(paymentshttp.BasePath+"/", srv.Protect(server.Requirement{Scopes: []string{"payments"}})(
		paymentsAPI(t, base, pay, km, clients, b)))
	ts.Config.Handler = mux
	ts.TLS, err = pki.TLSServerConfig(b, nil, tls.VerifyClientCertIfGiven)
	require.NoError(t, err)
	ts.StartTLS()
	return &holder{t: t, b: b, base: base, issuer: issuer, jwks: jh, consents: consents, payments: pay, demo: demo}
}

func resources(w http.ResponseWriter, r *http.Request) {
	ti, _ := server.TokenFrom(r.Context())
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"consentId": ti.ConsentID, "clientId": ti.ClientID, "sub": ti.Subject})
}

type tokenClients struct{}

func (tokenClients) ClientID(r *http.Request) (string, error) {
	ti, ok := server.TokenFrom(r.Context())
	if !ok {
		return "", errors.New("no token")
	}
	return ti.ClientID, nil
}

// paymentsAPI is the real Payments API 4.0.0 the way cmd/ofp wires it:
// client keys from the registration's jwks_uri, the caller from the
// verified token, answers signed with the brand's key, payments settled by
// the simulated SPI in about 100 ms.
func paymentsAPI(t *testing.T, base string, pay *paymentsql.Store, km *keys.Manager, clients *dcr.MemoryStore, b *pki.Bundle) http.Handler {
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: b.RootPool()}}}
	verifier, err := jwtbody.NewVerifier(clientKeys{clients, hc}, pay, nil)
	require.NoError(t, err)
	signer, err := jwtbody.NewSigner(km, "bank", holderOrg, nil)
	require.NoError(t, err)
	eng := spi.New(spi.Options{CheckDelay: 20 * time.Millisecond, SettleDelay: 100 * time.Millisecond})
	proc, err := payments.NewProcessor(pay, eng, eng, payments.ProcessorOptions{Logger: quiet})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, run := range []func(context.Context) error{func(ctx context.Context) error { return eng.Run(ctx, proc.Complete) }, proc.Run} {
		wg.Add(1)
		go func() { defer wg.Done(); _ = run(ctx) }()
	}
	t.Cleanup(func() { cancel(); wg.Wait() })
	api, err := paymentshttp.New(pay, paymentshttp.Options{Institution: "bank", PublicURL: base, Verifier: verifier, Signer: signer,
		PaymentsCreated: proc.Kick, Logger: quiet,
		Caller: func(r *http.Request) (paymentshttp.Caller, error) {
			ti, ok := server.TokenFrom(r.Context())
			if !ok {
				return paymentshttp.Caller{}, errors.New("no token")
			}
			cl, err := clients.Get(r.Context(), "bank", ti.ClientID)
			if err != nil {
				return paymentshttp.Caller{}, err
			}
			return paymentshttp.Caller{ClientID: ti.ClientID, OrgID: cl.OrgID, ConsentID: ti.ConsentID, GrantType: ti.GrantType, Scopes: ti.Scopes}, nil
		}})
	require.NoError(t, err)
	return api
}

// clientKeys finds a client's request-signing keys at its registered jwks_uri.
type clientKeys struct {
	clients *dcr.MemoryStore
	hc      *http.Client
}

func (k clientKeys) ClientJWKS(ctx context.Context, clientID string) (*jose.JSONWebKeySet, error) {
	cl, err := k.clients.Get(ctx, "bank", clientID)
	if err != nil {
		return nil, err
	}
	return dcr.NewURLKeys(cl.Metadata.JWKSURI, dcr.URLKeysOptions{Client: k.hc}).Keys(ctx)
}

// debtorAccount is the account every approval in these tests pays from.
var debtorAccount = payments.Account{ISPB: "99999004", Issuer: "0001", Number: "1234567", AccountType: "CACC"}

// payGate is authz's view of payment consents (cmd/ofp's paymentGate,
// with a fixed debtor account).
type payGate struct{ store *paymentsql.Store }

func payErr(err error) error {
	switch {
	case errors.Is(err, payments.ErrNotFound):
		return server.ErrConsentNotFound
	case errors.Is(err, payments.ErrNotPending):
		return server.ErrConsentNotPending
	case errors.Is(err, payments.ErrOtherClient):
		return server.ErrConsentOtherClient
	case errors.Is(err, payments.ErrCustomerMismatch), errors.Is(err, payments.ErrRefusedAtAuthorisation):
		return server.ErrCustomerMismatch
	}
	return err
}

func (g payGate) CheckPending(ctx context.Context, clientID, id string) (server.ConsentInfo, error) {
	c, err := g.store.CheckPending(ctx, clientID, id)
	if err != nil {
		return server.ConsentInfo{}, payErr(err)
	}
	return server.ConsentInfo{ID: c.ID, ClientID: c.ClientID, Status: string(c.Status), Permissions: []string{"PAYMENTS_INITIATE"},
		LoggedUserDocument: c.LoggedUser.Identification, LoggedUserRel: c.LoggedUser.Rel, ExpiresAt: c.ExpirationDateTime}, nil
}

func (g payGate) Authorise(ctx context.Context, id string, who server.Customer, res []string) error {
	if len(res) != 1 {
		return server.ErrCustomerMismatch
	}
	_, err := g.store.Authorise(ctx, id, payments.Customer{CPF: who.CPF, CNPJ: who.CNPJ}, debtorAccount)
	return payErr(err)
}

func (g payGate) Reject(ctx context.Context, id string, who server.Customer) error {
	_, err := g.store.Reject(ctx, id, payments.Customer{CPF: who.CPF, CNPJ: who.CNPJ})
	return payErr(err)
}

func (g payGate) Authorised(ctx context.Context, id string) (bool, error) {
	return g.store.Authorised(ctx, id)
}

// gate is the test's ConsentGate over the real consent store; payment
// consents go to pay.
type gate struct {
	store *consentsql.Store
	pay   payGate
}

func info(c consent.Consent) server.ConsentInfo {
	ci := server.ConsentInfo{ID: c.ID, ClientID: c.ClientID, Status: string(c.Status), Permissions: c.Permissions,
		LoggedUserDocument: c.LoggedUser.Document.Identification, LoggedUserRel: c.LoggedUser.Document.Rel}
	if c.BusinessEntity != nil {
		ci.BusinessDocument, ci.BusinessRel = c.BusinessEntity.Document.Identification, c.BusinessEntity.Document.Rel
	}
	return ci
}

func (g gate) get(ctx context.Context, id string) (consent.Consent, error) {
	c, err := g.store.Get(ctx, id)
	if errors.Is(err, consent.ErrNotFound) {
		return consent.Consent{}, server.ErrConsentNotFound
	}
	return c, err
}

func (g gate) CheckPending(ctx context.Context, clientID, id string) (server.ConsentInfo, error) {
	if payments.IsConsentID(id) {
		return g.pay.CheckPending(ctx, clientID, id)
	}
	c, err := g.get(ctx, id)
	if err != nil {
		return server.ConsentInfo{}, err
	}
	if c.ClientID != clientID {
		return server.ConsentInfo{}, server.ErrConsentOtherClient
	}
	if c.Status != consent.StatusAwaitingAuthorisation {
		return server.ConsentInfo{}, server.ErrConsentNotPending
	}
	return info(c), nil
}

func (g gate) Authorise(ctx context.Context, id string, who server.Customer, res []string) error {
	if payments.IsConsentID(id) {
		return g.pay.Authorise(ctx, id, who, res)
	}
	c, err := g.get(ctx, id)
	if err != nil {
		return err
	}
	if err := server.MatchCustomer(info(c), who); err != nil {
		return err
	}
	_, err = g.store.ApplyEvent(ctx, id, consent.EventAuthorise, consent.AuditActor{Who: "user:" + who.Subject})
	return err
}

func (g gate) Reject(ctx context.Context, id string, who server.Customer) error {
	if payments.IsConsentID(id) {
		return g.pay.Reject(ctx, id, who)
	}
	_, err := g.store.ApplyEvent(ctx, id, consent.EventRejectByUser, consent.AuditActor{Who: "user:" + who.Subject})
	return err
}

func (g gate) Authorised(ctx context.Context, id string) (bool, error) {
	if payments.IsConsentID(id) {
		return g.pay.Authorised(ctx, id)
	}
	c, err := g.get(ctx, id)
	if errors.Is(err, server.ErrConsentNotFound) {
		return false, nil
	}
	return err == nil && c.Status == consent.StatusAuthorised, err
}

// --- the TPP side -----------------------------------------------------------

func rsaKey(t *testing.T) *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	return k
}

type tppOptions struct {
	noEncryption bool
	name         string
	payments     bool // PAGTO role in the SSA, payments scope registered
}

// tpp builds a fapi.Client for the demo TPP, publishes its JWKS and
// returns it unregistered together with the SSA claims to register with.
func (h *holder) tpp(opts tppOptions) (*fapi.Client, map[string]any) {
	t := h.t
	if opts.name == "" {
		opts.name = "app"
	}
	cert, err := h.b.ClientCertificate(pki.DemoClient.Name)
	require.NoError(t, err)
	cfg := fapi.Config{Issuer: h.issuer, APIBaseURL: h.base, Certificate: cert, RootCAs: h.b.RootPool(),
		SigningKey: rsaKey(t), SigningKeyID: "sig-" + opts.name,
		JWKSURI: h.jwks.url + "/" + opts.name + "/application.jwks", RedirectURI: "https://" + opts.name + ".tpp.example/cb", Logger: quiet,
		OrganisationID: pki.DemoClient.OrgID, HolderOrganisationID: holderOrg}
	if !opts.noEncryption {
		cfg.EncryptionKey, cfg.EncryptionKeyID = rsaKey(t), "enc-"+opts.name
	}
	c, err := fapi.New(context.Background(), cfg)
	require.NoError(t, err)
	set, err := c.PublicJWKS()
	require.NoError(t, err)
	h.jwks.put("/"+opts.name+"/application.jwks", set)
	claims := h.ssaClaims(cfg)
	if opts.payments {
		claims["software_roles"] = []string{"DADOS", "PAGTO"}
		claims["software_statement_roles"] = []map[string]string{
			{"role": "DADOS", "authorisation_domain": "Open Banking", "status": "Active"},
			{"role": "PAGTO", "authorisation_domain": "Open Banking", "status": "Active"}}
	}
	return c, claims
}

func (h *holder) ssaClaims(cfg fapi.Config) map[string]any {
	s := pki.DemoClient
	return map[string]any{
		"iss": directoryIssuer, "iat": time.Now().Unix(), "jti": uuid.NewString(),
		"software_id": s.SoftwareID, "org_id": s.OrgID, "org_status": "Active",
		"software_client_name": s.OrganizationName + " app", "software_client_uri": "https://tpp.example",
		"software_version": 1.0, "software_jwks_uri": cfg.JWKSURI, "software_redirect_uris": []string{cfg.RedirectURI},
		"software_roles":           []string{"DADOS"},
		"software_statement_roles": []map[string]string{{"role": "DADOS", "authorisation_domain": "Open Banking", "status": "Active"}},
	}
}

func (h *holder) ssa(claims map[string]any) string {
	signer, err := h.b.DirectorySigner()
	require.NoError(h.t, err)
	raw, err := jwt.Signed(signer).Claims(claims).Serialize()
	require.NoError(h.t, err)
	return raw
}

var scopes = fapi.Metadata{Scope: "openid consents resources accounts"}

// registered is a registered TPP.
func (h *holder) registered(opts tppOptions) (*fapi.Client, fapi.Registration) {
	c, claims := h.tpp(opts)
	md := scopes
	if opts.payments {
		md = fapi.Metadata{Scope: scopes.Scope + " payments"}
	}
	reg, err := c.Register(context.Background(), h.ssa(claims), md)
	require.NoError(h.t, err)
	return c, reg
}

var accountPerms = []string{"ACCOUNTS_READ", "ACCOUNTS_BALANCES_READ", "RESOURCES_READ"}

func (h *holder) consent(c *fapi.Client, cpf string) string {
	ctx := context.Background()
	tok, err := c.ClientCredentials(ctx, "consents")
	require.NoError(h.t, err)
	got, err := c.CreateConsent(ctx, tok.AccessToken, fapi.ConsentRequest{LoggedUser: fapi.CPF(cpf), Permissions: accountPerms,
		ExpirationDateTime: time.Now().Add(90 * 24 * time.Hour)})
	require.NoError(h.t, err)
	require.Equal(h.t, fapi.ConsentAwaitingAuthorisation, got.Status)
	return got.ConsentID
}

// --- the customer's browser -------------------------------------------------

type browser struct {
	t *testing.T
	c *http.Client
}

func (h *holder) browser(redirect string) *browser {
	jar, err := cookiejar.New(nil)
	require.NoError(h.t, err)
	return &browser{t: h.t, c: &http.Client{Jar: jar, Timeout: 10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: h.b.RootPool()}},
		CheckRedirect: func(req *http.Request, _ []*http.Request) error {
			if strings.HasPrefix(req.URL.String(), redirect) {
				return http.ErrUseLastResponse
			}
			return nil
		}}}
}

type page struct {
	status int
	body   string
	header http.Header
}

func (b *browser) do(req *http.Request) page {
	resp, err := b.c.Do(req)
	require.NoError(b.t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(b.t, err)
	return page{status: resp.StatusCode, body: string(out), header: resp.Header}
}

func (b *browser) get(u string) page {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	require.NoError(b.t, err)
	return b.do(req)
}

// submit fills the form with the given id on p and posts it; checkboxes
// named in values are set from values only.
func (b *browser) submit(p page, id string, values url.Values) page {
	action, fields, _ := parseForm(b.t, p.body, id)
	for k, vs := range values {
		fields[k] = vs
	}
	req, err := http.NewRequest(http.MethodPost, action, strings.NewReader(fields.Encode()))
	require.NoError(b.t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// parseForm returns the action, the non-choice fields and the checkbox or
// radio options of the form with the given id.
func parseForm(t *testing.T, body, id string) (string, url.Values, map[string][]string) {
	doc, err := html.Parse(strings.NewReader(body))
	require.NoError(t, err)
	var form *html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "form" && attr(n, "id") == id {
			form = n
		}
		for c := n.FirstChild; c != nil && form == nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	require.NotNil(t, form, "no form %q in: %s", id, body)
	fields, options := url.Values{}, map[string][]string{}
	var inputs func(*html.Node)
	inputs = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "input" {
			if typ := attr(n, "type"); typ == "checkbox" || typ == "radio" {
				options[attr(n, "name")] = append(options[attr(n, "name")], attr(n, "value"))
			} else if name := attr(n, "name"); name != "" {
				fields.Set(name, attr(n, "value"))
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			inputs(c)
		}
	}
	inputs(form)
	return attr(form, "action"), fields, options
}

// authorize runs the customer's side for a pushed request: login, choose
// the first account, approve (or deny); it returns the redirect URL the
// holder sent the browser to.
func (h *holder) authorize(c *fapi.Client, r fapi.AuthRequest, cred idp.TestCredential, approve bool) string {
	t := h.t
	b := h.browser(r.RedirectURI)
	pg := b.get(c.AuthorizeURL(r.RequestURI))
	require.Equal(t, http.StatusOK, pg.status, pg.body)
	pg = b.submit(pg, "login", url.Values{"cpf": {cred.CPF}, "password": {cred.Password}})
	require.Equal(t, http.StatusOK, pg.status, pg.body)
	_, _, options := parseForm(t, pg.body, "consent")
	v := url.Values{"decision": {"deny"}}
	if approve {
		require.NotEmpty(t, options["resource"])
		v = url.Values{"decision": {"approve"}, "resource": options["resource"][:1]}
	}
	pg = b.submit(pg, "consent", v)
	require.Contains(t, []int{http.StatusFound, http.StatusSeeOther}, pg.status, pg.body)
	return pg.header.Get("Location")
}
