package e2e_test

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/authz/dcr"
	"github.com/ofp-dev/ofp/authz/idp"
	"github.com/ofp-dev/ofp/authz/keys"
	"github.com/ofp-dev/ofp/authz/server"
	"github.com/ofp-dev/ofp/connectors/corebank"
	"github.com/ofp-dev/ofp/consent"
	"github.com/ofp-dev/ofp/consent/consenthttp"
	"github.com/ofp-dev/ofp/consent/consentsql"
	"github.com/ofp-dev/ofp/consent/customerdata"
	"github.com/ofp-dev/ofp/consent/customerdata/databench"
	"github.com/ofp-dev/ofp/consent/resourceshttp"
	"github.com/ofp-dev/ofp/internal/pki"
)

var quiet = slog.New(slog.DiscardHandler)

const (
	directoryIssuer = "Open Banking Open Banking Brasil sandbox SSA issuer"
	password        = "customer-password-1"
	otp             = "424242"
	// publicURL is the published host of links (credit-cards 2.3.1 links
	// must carry a domain name).
	publicURL = "https://api.ofpbank.com.br"
)

var otherTPP = pki.ClientSpec{
	Name: "other-tpp", SoftwareID: "0b9e3a61-3f2f-4c55-8f7e-2a1c7d5e9f10", OrgID: "5e1f2c9a-7b3d-4e8f-a1c6-2d9b0e4f7a35",
	CNPJ: "11222333000181", OrganizationName: "Other TPP",
}

var (
	pkiOnce sync.Once
	pkiB    *pki.Bundle
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

func bundle(t *testing.T) *pki.Bundle {
	t.Helper()
	pkiOnce.Do(func() {
		pkiDir, pkiErr = os.MkdirTemp("", "customerdata-e2e-pki-")
		if pkiErr == nil {
			pkiB, pkiErr = pki.Generate(pkiDir, pki.Options{Clients: []pki.ClientSpec{pki.DemoClient, otherTPP}})
		}
	})
	require.NoError(t, pkiErr)
	return pkiB
}

// coreIdentity logs in the synthetic core's customers (one password for
// all, a fixed code for LoA3) and offers their accounts and cards on the
// consent page: the bank's IAM as authz/idp sees it.
type coreIdentity struct{ core *corebank.Synthetic }

func (c coreIdentity) Authenticate(_ context.Context, cr idp.Credentials, minLoA idp.LoA) (idp.Identity, error) {
	cust, err := c.core.FindByDocument(cr.CPF, cr.CNPJ)
	if err != nil {
		return idp.Identity{}, idp.ErrInvalidCredentials
	}
	got, want := sha256.Sum256([]byte(cr.Password)), sha256.Sum256([]byte(password))
	if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
		return idp.Identity{}, idp.ErrInvalidCredentials
	}
	loa := idp.LoA2
	if cr.OTP == otp {
		loa = idp.LoA3
	}
	if minLoA == idp.LoA3 && loa != idp.LoA3 {
		return idp.Identity{}, idp.ErrSecondFactorRequired
	}
	return idp.Identity{Subject: cust.ID, CPF: cr.CPF, CNPJ: cr.CNPJ, Name: cust.Name, LoA: loa}, nil
}

func (c coreIdentity) Accounts(ctx context.Context, who idp.Identity) ([]idp.Account, error) {
	owner := corebank.Owner{CPF: who.CPF, CNPJ: who.CNPJ}
	accts, err := c.core.Accounts(ctx, owner)
	if err != nil {
		return nil, err
	}
	cards, err := c.core.CreditCardAccounts(ctx, owner)
	if err != nil {
		return nil, err
	}
	var out []idp.Account
	for _, a := range accts {
		out = append(out, idp.Account{ID: a.AccountID, Type: customerdata.ResourceAccount, Label: a.Type + " " + a.Number})
	}
	for _, cc := range cards {
		out = append(out, idp.Account{ID: cc.CreditCardAccountID, Type: customerdata.ResourceCreditCardAccount, Label: cc.Name})
	}
	return out, nil
}

// gate is the ConsentGate over the real consent store, recording the
// resources the customer chose with their types (cmd/ofp has the
// production adapter).
type gate struct {
	store *consentsql.Store
	core  *corebank.Synthetic
}

func info(c consent.Consent) server.ConsentInfo {
	ci := server.ConsentInfo{ID: c.ID, ClientID: c.ClientID, Status: string(c.Status), Permissions: c.Permissions,
		LoggedUserDocument: c.LoggedUser.Document.Identification, LoggedUserRel: c.LoggedUser.Document.Rel}
	if c.BusinessEntity != nil {
		ci.BusinessDocument, ci.BusinessRel = c.BusinessEntity.Document.Identification, c.BusinessEntity.Document.Rel
	}
	if c.ExpirationDateTime != nil {
		ci.ExpiresAt = *c.ExpirationDateTime
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
	c, err := g.get(ctx, id)
	if err != nil {
		return server.ConsentInfo{}, err
	}
	if c.ClientID != clientID {
		return server.ConsentInfo{}, server.ErrConsentOtherClient
	}
	if _, due := consent.Due(c, time.Now()); due || c.Status != consent.StatusAwaitingAuthorisation {
		return server.ConsentInfo{}, server.ErrConsentNotPending
	}
	return info(c), nil
}

func (g gate) Authorise(ctx context.Context, id string, who server.Customer, resourceIDs []string) error {
	c, err := g.get(ctx, id)
	if err != nil {
		return err
	}
	if err := server.MatchCustomer(info(c), who); err != nil {
		return err
	}
	offered, err := coreIdentity{g.core}.Accounts(ctx, idp.Identity{CPF: who.CPF, CNPJ: who.CNPJ})
	if err != nil {
		return err
	}
	var rs []consent.Resource
	for _, id := range resourceIDs {
		for _, a := range offered {
			if a.ID == id {
				rs = append(rs, consent.Resource{ID: id, Type: a.Type, Status: "AVAILABLE"})
			}
		}
	}
	_, err = g.store.Authorise(ctx, id, rs, consent.AuditActor{Who: "user:" + who.Subject, Reason: "authorised at the holder"})
	var illegal *consent.IllegalTransitionError
	if errors.As(err, &illegal) {
		return server.ErrConsentNotPending
	}
	return err
}

func (g gate) Reject(ctx context.Context, id string, who server.Customer) error {
	_, err := g.store.ApplyEvent(ctx, id, consent.EventRejectByUser, consent.AuditActor{Who: "user:" + who.Subject})
	return err
}

func (g gate) Authorised(ctx context.Context, id string) (bool, error) {
	c, err := g.get(ctx, id)
	if errors.Is(err, server.ErrConsentNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	_, due := consent.Due(c, time.Now())
	return c.Status == consent.StatusAuthorised && !due, nil
}

type tokenClients struct{}

func (tokenClients) ClientID(r *http.Request) (string, error) {
	ti, ok := server.TokenFrom(r.Context())
	if !ok {
		return "", errors.New("no token")
	}
	return ti.ClientID, nil
}

// caller is the customer-data APIs' Caller over authz's TokenInfo.
func caller(r *http.Request) (customerdata.Identity, error) {
	ti, ok := server.TokenFrom(r.Context())
	if !ok {
		return customerdata.Identity{}, errors.New("no token info: the guard did not run")
	}
	return customerdata.Identity{ClientID: ti.ClientID, ConsentID: ti.ConsentID}, nil
}

// env is the holder's regulated listener: authorization server, Consents
// API, Accounts, Credit cards, Customers and Resources, one mTLS listener.
type env struct {
	t      *testing.T
	b      *pki.Bundle
	core   *corebank.Synthetic
	store  *consentsql.Store
	keys   *keys.Manager
	bench  *databench.Server
	base   string
	issuer string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	b := bundle(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	base := "https://" + ln.Addr().String()
	issuer := base + "/bank"

	keyStore, err := keys.NewFileStore(t.TempDir())
	require.NoError(t, err)
	km, err := keys.NewManager(ctx, keyStore, []keys.Brand{{ID: "bank", Issuer: issuer, DisplayName: "Banco OFP"}}, keys.Options{Logger: quiet})
	require.NoError(t, err)
	dirJWKS, err := b.DirectoryJWKS()
	require.NoError(t, err)
	dirKeys, err := dcr.NewStaticKeys(dirJWKS)
	require.NoError(t, err)
	clients := dcr.NewMemoryStore()
	reg, err := dcr.New(dcr.Options{Issuer: directoryIssuer, Keys: dirKeys, Store: clients, Brand: "bank", RegistrationURL: issuer + "/register", Logger: quiet})
	require.NoError(t, err)

	store, err := consentsql.OpenSQLite(ctx, filepath.Join(t.TempDir(), "consents.db"), consentsql.Options{Logger: quiet})
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	core, err := corebank.NewSynthetic(corebank.Options{Seed: 11})
	require.NoError(t, err)

	srv, err := server.New(server.Options{
		Keys: km, Clients: clients, Registration: map[string]http.Handler{"bank": reg},
		Consent: gate{store: store, core: core}, Identity: coreIdentity{core},
		HTTPClient: &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: b.RootPool()}}},
		Logger:     quiet,
	})
	require.NoError(t, err)

	consentAPI, err := consenthttp.NewHandler(store, consenthttp.Options{Institution: "ofpbank", Clients: tokenClients{}, Tokens: srv, Logger: quiet})
	require.NoError(t, err)
	guard := func(req customerdata.Requirement) func(http.Handler) http.Handler {
		return srv.Protect(server.Requirement{Scopes: req.Scopes, GrantType: req.GrantType})
	}
	lim, err := customerdata.NewLimiter(customerdata.LimitOptions{PerSecond: 1e6, Burst: 1e6})
	require.NoError(t, err)
	opts := customerdata.Options{Consents: store, Caller: caller, Guard: guard, Limiter: lim, PublicURL: publicURL, Logger: quiet}
	accounts, err := customerdata.NewAccounts(core, opts)
	require.NoError(t, err)
	cards, err := customerdata.NewCreditCards(core, opts)
	require.NoError(t, err)
	customers, err := customerdata.NewCustomers(core, opts)
	require.NoError(t, err)
	resources, err := resourceshttp.New(core, opts)
	require.NoError(t, err)

	mux := http.NewServeMux()
	mux.Handle("/bank/", srv.Handler())
	mux.Handle(consenthttp.BasePath+"/", srv.Protect(server.Requirement{Scopes: []string{"consents"}, GrantType: "client_credentials"})(consentAPI))
	mux.Handle(customerdata.AccountsBasePath+"/", accounts)
	mux.Handle(customerdata.CreditCardsBasePath+"/", cards)
	mux.Handle(customerdata.CustomersBasePath+"/", customers)
	mux.Handle(resourceshttp.BasePath+"/", resources)

	tlsCfg, err := pki.TLSServerConfig(b, nil, tls.VerifyClientCertIfGiven)
	require.NoError(t, err)
	bs, err := databench.Start(ln, tlsCfg, mux)
	require.NoError(t, err)
	t.Cleanup(func() { bs.Close() })
	return &env{t: t, b: b, core: core, store: store, keys: km, bench: bs, base: base, issuer: issuer}
}

// flow is the receiver's journey for customer cust with perms.
func (e *env) flow(cust corebank.Customer, perms []string) databench.FlowOptions {
	o := databench.FlowOptions{BaseURL: e.base, Issuer: e.issuer, Bundle: e.b, DirectoryIssuer: directoryIssuer,
		CPF: cust.CPF, Password: password, OTP: otp, Permissions: perms}
	if cust.Type == corebank.PJ {
		o.CNPJ = cust.CNPJ
	}
	return o
}

// customer finds a PF customer with accounts and a card.
func (e *env) customer() corebank.Customer {
	ctx := context.Background()
	for i := 0; i < e.core.Len(); i++ {
		c := e.core.Customer(i)
		if c.Type != corebank.PF {
			continue
		}
		a, err := e.core.Accounts(ctx, c.Owner())
		require.NoError(e.t, err)
		cc, err := e.core.CreditCardAccounts(ctx, c.Owner())
		require.NoError(e.t, err)
		if len(a) >= 2 && len(cc) >= 1 {
			return c
		}
	}
	e.t.Fatal("no customer with accounts and a card")
	return corebank.Customer{}
}
