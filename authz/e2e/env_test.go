package e2e_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/luikyv/go-oidc/pkg/goidc"
	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/authz/dcr"
	"github.com/ofp-dev/ofp/authz/idp"
	"github.com/ofp-dev/ofp/authz/keys"
	"github.com/ofp-dev/ofp/authz/login"
	"github.com/ofp-dev/ofp/authz/server"
	"github.com/ofp-dev/ofp/authz/store"
	"github.com/ofp-dev/ofp/consent"
	"github.com/ofp-dev/ofp/consent/consenthttp"
	"github.com/ofp-dev/ofp/consent/consentsql"
	"github.com/ofp-dev/ofp/internal/pki"
)

var quiet = slog.New(slog.DiscardHandler)

const directoryIssuer = "Open Banking Open Banking Brasil sandbox SSA issuer"

// otherTPP is a second participant (its own software and organisation).
var otherTPP = pki.ClientSpec{
	Name:             "other-tpp",
	SoftwareID:       "0b9e3a61-3f2f-4c55-8f7e-2a1c7d5e9f10",
	OrgID:            "5e1f2c9a-7b3d-4e8f-a1c6-2d9b0e4f7a35",
	CNPJ:             "11222333000181",
	OrganizationName: "Other TPP",
}

var (
	pkiOnce    sync.Once
	pkiMain    *pki.Bundle // the AS trusts its root
	pkiForeign *pki.Bundle // another CA, not trusted
	pkiErr     error
	pkiDirs    []string
)

func TestMain(m *testing.M) {
	code := m.Run()
	for _, d := range pkiDirs {
		os.RemoveAll(d)
	}
	os.Exit(code)
}

// bundles generates both test PKIs once per test binary (RSA keys are slow).
func bundles(t *testing.T) (*pki.Bundle, *pki.Bundle) {
	t.Helper()
	pkiOnce.Do(func() {
		gen := func(clients ...pki.ClientSpec) *pki.Bundle {
			dir, err := os.MkdirTemp("", "authz-e2e-pki-")
			if err != nil {
				pkiErr = err
				return nil
			}
			pkiDirs = append(pkiDirs, dir)
			b, err := pki.Generate(dir, pki.Options{Clients: clients})
			if err != nil {
				pkiErr = err
			}
			return b
		}
		pkiMain = gen(pki.DemoClient, otherTPP)
		if pkiErr == nil {
			pkiForeign = gen(pki.DemoClient)
		}
	})
	require.NoError(t, pkiErr)
	return pkiMain, pkiForeign
}

// keystore serves TPP JWK Sets (the directory keystore's role for
// software_jwks_uri) over TLS.
type keystore struct {
	mu   sync.Mutex
	sets map[string][]byte
}

func (k *keystore) ServeHTTP(w http.ResponseWriter, r *http.Request) {
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

func (k *keystore) put(path string, set []byte) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.sets[path] = set
}

// agedPAR ages pushed requests on demand: with expire set, every request_uri
// looks as if its 90 s had passed. It wraps the real storage and changes
// only the stored expiry, the way a clock 90 s ahead would.
type agedPAR struct {
	goidc.PARManager
	expire atomic.Bool
}

func (a *agedPAR) SessionByPushedAuthReqID(ctx context.Context, id string) (*goidc.AuthnSession, error) {
	as, err := a.PARManager.SessionByPushedAuthReqID(ctx, id)
	if err == nil && a.expire.Load() {
		as.ExpiresAt = int(time.Now().Unix()) - 1
	}
	return as, err
}

// gate is the test's ConsentGate over the real consent store (cmd/ofp has
// the production adapter).
type gate struct{ store *consentsql.Store }

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

func (g gate) Authorise(ctx context.Context, id string, who server.Customer, _ []string) error {
	c, err := g.get(ctx, id)
	if err != nil {
		return err
	}
	if err := server.MatchCustomer(info(c), who); err != nil {
		return err
	}
	_, err = g.store.ApplyEvent(ctx, id, consent.EventAuthorise, consent.AuditActor{Who: "user:" + who.Subject, Reason: "authorised at the holder"})
	var illegal *consent.IllegalTransitionError
	if errors.As(err, &illegal) {
		return server.ErrConsentNotPending
	}
	return err
}

func (g gate) Reject(ctx context.Context, id string, who server.Customer) error {
	_, err := g.store.ApplyEvent(ctx, id, consent.EventRejectByUser, consent.AuditActor{Who: "user:" + who.Subject, Reason: "refused at the holder"})
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

// tokenClients names the caller of the Consents API from the token Protect checked.
type tokenClients struct{}

func (tokenClients) ClientID(r *http.Request) (string, error) {
	ti, ok := server.TokenFrom(r.Context())
	if !ok {
		return "", errors.New("no token")
	}
	return ti.ClientID, nil
}

// resources answers with what Protect put in the context.
func resources(w http.ResponseWriter, r *http.Request) {
	ti, _ := server.TokenFrom(r.Context())
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"consentId": ti.ConsentID, "clientId": ti.ClientID, "sub": ti.Subject, "grant": ti.GrantType})
}

const resourcesPath = "/open-banking/resources/v3/resources"

type env struct {
	t        *testing.T
	b        *pki.Bundle
	foreign  *pki.Bundle
	srv      *server.Server
	store    *consentsql.Store
	base     string
	issuer   string
	keystore *keystore
	ksBase   string
	aged     *agedPAR
	demo     *idp.Demo
}

func newEnv(t *testing.T) *env { return newEnvOn(t, false) }

// newEnvOn builds the environment; withSQL keeps the authorization server's
// sessions, grants and JWT ids in authz/store on SQLite instead of memory.
func newEnvOn(t *testing.T, withSQL bool) *env {
	t.Helper()
	ctx := context.Background()
	b, foreign := bundles(t)

	ks := &keystore{sets: map[string][]byte{}}
	ksSrv := httptest.NewUnstartedServer(ks)
	ksSrv.TLS = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{b.ServerCertificate()}}
	ksSrv.StartTLS()
	t.Cleanup(ksSrv.Close)

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

	memory := server.NewMemoryStorage()
	aged := &agedPAR{PARManager: memory}
	storageFor := func(string) *server.Storage {
		st := memory.Storage()
		st.PAR = aged
		return st
	}
	var sqlStore *store.Store
	if withSQL {
		var err error
		sqlStore, err = store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "authz.db"), store.Options{Logger: quiet})
		require.NoError(t, err)
		t.Cleanup(func() { sqlStore.Close() })
		storageFor = func(brand string) *server.Storage {
			v := sqlStore.ForBrand(brand)
			aged.PARManager = v
			return &server.Storage{Grants: v, Auth: v, PAR: aged, Refresh: v, ConsumeJTI: v.ConsumeJTI}
		}
	}
	var limiter server.LoginLimiter
	if withSQL {
		limiter = sqlStore.LoginLimiter(login.LimiterOptions{MaxUserFailures: 3})
	}
	demo := idp.NewDemo()
	srv, err := server.New(server.Options{
		LoginLimiter: limiter,
		Keys:         km, Clients: clients, Registration: map[string]http.Handler{"bank": reg},
		StorageFor: storageFor,
		Consent:    gate{consents}, Identity: demo,
		Pages:       map[string]login.Brand{"bank": {Name: "Banco Exemplo", Colour: "#7a1f5c"}},
		LoginLimits: login.LimiterOptions{MaxUserFailures: 3},
		HTTPClient:  &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: b.RootPool()}}},
		Logger:      quiet,
	})
	require.NoError(t, err)

	consentAPI, err := consenthttp.NewHandler(consents, consenthttp.Options{Institution: "bank", Clients: tokenClients{}, Tokens: srv, Logger: quiet})
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/bank/", srv.Handler())
	mux.Handle(consenthttp.BasePath+"/", srv.Protect(server.Requirement{Scopes: []string{"consents"}, GrantType: "client_credentials"})(consentAPI))
	mux.Handle(resourcesPath, srv.Protect(server.Requirement{Scopes: []string{"resources", "consent"}, GrantType: "authorization_code"})(http.HandlerFunc(resources)))
	ts.Config.Handler = mux
	ts.TLS, err = pki.TLSServerConfig(b, nil, tls.VerifyClientCertIfGiven)
	require.NoError(t, err)
	ts.StartTLS()

	return &env{t: t, b: b, foreign: foreign, srv: srv, store: consents, base: base, issuer: issuer,
		keystore: ks, ksBase: ksSrv.URL, aged: aged, demo: demo}
}
