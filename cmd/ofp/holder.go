package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/ofp-dev/ofp/authz/dcr"
	"github.com/ofp-dev/ofp/authz/dcr/dcrsql"
	"github.com/ofp-dev/ofp/authz/idp"
	"github.com/ofp-dev/ofp/authz/idp/idphttp"
	"github.com/ofp-dev/ofp/authz/keys"
	"github.com/ofp-dev/ofp/authz/login"
	"github.com/ofp-dev/ofp/authz/server"
	"github.com/ofp-dev/ofp/authz/store"
	"github.com/ofp-dev/ofp/connectors/corebank"
	"github.com/ofp-dev/ofp/connectors/corebank/corehttp"
	"github.com/ofp-dev/ofp/consent/consenthttp"
	"github.com/ofp-dev/ofp/consent/consentsql"
	"github.com/ofp-dev/ofp/consent/customerdata"
	"github.com/ofp-dev/ofp/consent/lifecycle"
	"github.com/ofp-dev/ofp/consent/partnerapi"
	"github.com/ofp-dev/ofp/consent/payments/paymentsql"
	"github.com/ofp-dev/ofp/consent/portal"
	"github.com/ofp-dev/ofp/consent/portal/portalpay"
	"github.com/ofp-dev/ofp/consent/purposes"
	"github.com/ofp-dev/ofp/consent/resourceshttp"
	"github.com/ofp-dev/ofp/consent/webhooks"
	"github.com/ofp-dev/ofp/ingest/apicalls"
	"github.com/ofp-dev/ofp/internal/backendrpc"
	"github.com/ofp-dev/ofp/internal/bus"
	"github.com/ofp-dev/ofp/internal/config"
	"github.com/ofp-dev/ofp/internal/events"
	"github.com/ofp-dev/ofp/internal/pki"
	"github.com/ofp-dev/ofp/internal/rbac"
	"github.com/ofp-dev/ofp/jobs"
)

// demoOrgID is the organisation id the demo institution reports as (PCM
// serverOrgId) when --org-id is not set.
const demoOrgID = "8d4a3f0c-0f6a-4d8e-9b1a-6f1f5c3e2a10"

// demoISPB is the demo institution's ISPB (the Pix participant code).
const demoISPB = "99999004"

// isISPB reports whether s is an ISPB: 8 digits.
func isISPB(s string) bool {
	if len(s) != 8 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// holder is the regulated interface: the authorization server, the consent
// service and its portal, on a TLS listener of their own.
type holder struct {
	// backend is the institution's back end (--backend-url); nil without.
	backend   *backendrpc.Client
	URL       string // base URL of the TLS listener
	Brands    []keys.Brand
	PKIDir    string // demo: where the generated test PKI is
	Customers []idp.TestCredential
	Operator  [2]string // demo: user, password
	// PartnerKeyFile holds the demo partner's API key (partner "demo-partner").
	PartnerKeyFile string
	Recorder       *apicalls.Recorder

	staff    rbac.Authenticator
	az       *server.Server
	consents *consentsql.Store
	portal   *portal.Portal
	srv      *http.Server
	closers  []func(context.Context) error
	log      *slog.Logger
}

// parseBrands reads "id=Display Name,id2=Other".
func parseBrands(spec, base string) ([]keys.Brand, error) {
	var out []keys.Brand
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		id, name, _ := strings.Cut(part, "=")
		id = strings.TrimSpace(id)
		if name = strings.TrimSpace(name); name == "" {
			name = id
		}
		out = append(out, keys.Brand{ID: id, Issuer: strings.TrimRight(base, "/") + "/" + id, DisplayName: name})
	}
	if len(out) == 0 || len(out) > 5 {
		return nil, fmt.Errorf("--brands: give 1 to 5 brands as id=Display Name (got %d)", len(out))
	}
	return out, nil
}

// secretFile returns the content of <dir>/<name>, creating it with n random
// bytes (hex) the first time. Demo mode only: production passes secrets in.
func secretFile(dir, name string, n int) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	p := filepath.Join(dir, name)
	if b, err := os.ReadFile(p); err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	s, err := randomHex(n)
	if err != nil {
		return "", err
	}
	return s, os.WriteFile(p, []byte(s+"\n"), 0o600)
}

// randomHex is n random bytes in hex: a test secret.
func randomHex(n int) (string, error) {
	buf := make([]byte, n)
	if _, err := rand.Read(buf); err != nil {
		return "", err
	}
	return hex.EncodeToString(buf), nil
}

// holderHooks change how the regulated interface runs, for `ofp bench`.
type holderHooks struct {
	// serve, when set, serves the regulated handler on ln instead of the
	// holder's own http.Server.
	serve func(ln net.Listener, cfg *tls.Config, h http.Handler) error
	// limit replaces the per-client rate limit of the customer-data APIs.
	limit *customerdata.LimitOptions
}

// startHolder builds and starts the regulated interface. With demo set
// it generates what production passes in: the test PKI, keys, the demo
// operator and customers.
func startHolder(ctx context.Context, cfg config.Config, log *slog.Logger, p *platform, sched *jobs.Scheduler, demo bool, hooks holderHooks) (h *holder, err error) {
	hk := hooks
	h = &holder{log: log.With("component", "holder")}
	defer func() {
		if err != nil {
			h.close(context.Background())
			h = nil
		}
	}()
	secrets := cfg.Path("secrets")

	// Listener first: the issuers need its address.
	ln, err := net.Listen("tcp", cfg.HolderListen)
	if err != nil {
		return h, fmt.Errorf("--holder-listen %s: %w", cfg.HolderListen, err)
	}
	h.closers = append(h.closers, func(context.Context) error { _ = ln.Close(); return nil })
	h.URL = cfg.HolderURL
	if h.URL == "" {
		h.URL = "https://" + hostPort(ln.Addr().String())
	}
	if h.Brands, err = parseBrands(cfg.Brands, h.URL); err != nil {
		return h, err
	}
	lifetime, err := time.ParseDuration(cfg.AccessTokenLifetime)
	if err != nil || lifetime < server.MinAccessTokenLifetime || lifetime > server.MaxAccessTokenLifetime {
		return h, fmt.Errorf("--access-token-lifetime %q: give a duration from 300s to 900s", cfg.AccessTokenLifetime)
	}
	orgID := cfg.OrgID
	if orgID == "" && demo {
		orgID = demoOrgID
	}
	if orgID == "" {
		return h, errors.New("--org-id is required with the regulated interface (your organisation id in the directory)")
	}

	// Trust anchors: configuration in production, a generated test PKI in demo.
	var tlsCfg *tls.Config
	var dirKeys dcr.KeySource
	var jwksClient, hookClient *http.Client
	if cfg.TLSCert == "" {
		if !demo {
			return h, errors.New("--tls-cert, --tls-key and --client-ca are required for the regulated interface")
		}
		h.PKIDir = cfg.Path("pki")
		own := demoTransport(orgID)
		b, err := pki.Generate(h.PKIDir, pki.Options{Clients: []pki.ClientSpec{pki.DemoClient, own}})
		if err != nil {
			return h, fmt.Errorf("generate the demo PKI in %s (delete the folder to start over): %w", h.PKIDir, err)
		}
		transport, err := b.ClientCertificate(own.Name)
		if err != nil {
			return h, err
		}
		if tlsCfg, err = pki.TLSServerConfig(b, nil, tls.VerifyClientCertIfGiven); err != nil {
			return h, err
		}
		jwks, err := b.DirectoryJWKS()
		if err != nil {
			return h, err
		}
		if err := os.WriteFile(filepath.Join(h.PKIDir, "directory.jwks"), jwks, 0o644); err != nil {
			return h, err
		}
		if dirKeys, err = dcr.NewStaticKeys(jwks); err != nil {
			return h, err
		}
		// Clients' jwks_uri and webhook endpoints in the demo are served over the test PKI.
		roots := systemPlus(b.RootPool())
		jwksClient = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
			MinVersion: tls.VersionTLS12, RootCAs: roots,
		}}}
		hookClient = outboundMTLS(roots, transport)
	} else {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return h, fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
		pem, err := os.ReadFile(cfg.ClientCA)
		if err != nil {
			return h, fmt.Errorf("--client-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return h, fmt.Errorf("--client-ca %s holds no PEM certificate", cfg.ClientCA)
		}
		if tlsCfg, err = pki.ServerTLS(cert, pool, tls.VerifyClientCertIfGiven); err != nil {
			return h, err
		}
		roots, err := x509.SystemCertPool()
		if err != nil || roots == nil {
			roots = x509.NewCertPool()
		}
		if cfg.JWKSTrust != "" {
			pem, err := os.ReadFile(cfg.JWKSTrust)
			if err != nil {
				return h, fmt.Errorf("--jwks-trust: %w", err)
			}
			if !roots.AppendCertsFromPEM(pem) {
				return h, fmt.Errorf("--jwks-trust %s holds no PEM certificate", cfg.JWKSTrust)
			}
		}
		jwksClient = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
			MinVersion: tls.VersionTLS12, RootCAs: roots,
		}}, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		if cfg.TransportCert == "" || cfg.TransportKey == "" {
			return h, errors.New("--transport-cert and --transport-key are required for the regulated interface: " +
				"webhooks to clients are mTLS with this institution's transport (BRCAC) certificate")
		}
		transport, err := tls.LoadX509KeyPair(cfg.TransportCert, cfg.TransportKey)
		if err != nil {
			return h, fmt.Errorf("--transport-cert/--transport-key: %w", err)
		}
		hookClient = outboundMTLS(roots, transport)
		switch {
		case strings.HasPrefix(cfg.DirectoryJWKS, "https://"):
			dirKeys = dcr.NewURLKeys(cfg.DirectoryJWKS, dcr.URLKeysOptions{})
		case cfg.DirectoryJWKS != "":
			if dirKeys, err = dcr.NewFileKeys(cfg.DirectoryJWKS); err != nil {
				return h, fmt.Errorf("--directory-jwks: %w", err)
			}
		default:
			return h, errors.New("--directory-jwks is required: the directory's SSA signing keys (https URL or JWKS file)")
		}
	}

	// Stores: PostgreSQL with --database-url, SQLite files in the data dir otherwise.
	sealHex, err := h.sealKey(cfg, secrets, demo)
	if err != nil {
		return h, err
	}
	pg := cfg.DatabaseURL
	clients, err := openStore(h, pg, func() (*dcrsql.Store, error) { return dcrsql.OpenPostgres(ctx, pg) },
		func() (*dcrsql.Store, error) { return dcrsql.OpenSQLite(ctx, cfg.Path("authz-clients.db")) })
	if err != nil {
		return h, err
	}
	azOpts := store.Options{SealKey: sealHex, PreviousSealKeys: previousSealKeys(cfg), Logger: log}
	azStore, err := openStore(h, pg, func() (*store.Store, error) { return store.OpenPostgres(ctx, pg, azOpts) },
		func() (*store.Store, error) { return store.OpenSQLite(ctx, cfg.Path("authz.db"), azOpts) })
	if err != nil {
		return h, err
	}
	csOpts := consentsql.Options{Logger: log}
	if h.consents, err = openStore(h, pg, func() (*consentsql.Store, error) { return consentsql.OpenPostgres(ctx, pg, csOpts) },
		func() (*consentsql.Store, error) { return consentsql.OpenSQLite(ctx, cfg.Path("consent.db"), csOpts) }); err != nil {
		return h, err
	}
	psOpts := purposes.Options{Logger: log}
	ps, err := openStore(h, pg, func() (*purposes.Store, error) { return purposes.OpenPostgres(ctx, pg, psOpts) },
		func() (*purposes.Store, error) { return purposes.OpenSQLite(ctx, cfg.Path("purposes.db"), psOpts) })
	if err != nil {
		return h, err
	}
	webhookRecords, err := openStore(h, pg, func() (*webhooks.Store, error) { return webhooks.OpenPostgres(ctx, pg) },
		func() (*webhooks.Store, error) { return webhooks.OpenSQLite(ctx, cfg.Path("webhooks.db")) })
	if err != nil {
		return h, err
	}
	payOpts := paymentsql.Options{Logger: log}
	pay, err := openStore(h, pg, func() (*paymentsql.Store, error) { return paymentsql.OpenPostgres(ctx, pg, payOpts) },
		func() (*paymentsql.Store, error) { return paymentsql.OpenSQLite(ctx, cfg.Path("payments.db"), payOpts) })
	if err != nil {
		return h, err
	}

	// Keys live in the authz store, shared by every replica; those an
	// earlier version kept in <data-dir>/keys move in once.
	keyStore := azStore.Keys()
	if err := moveFileKeys(ctx, cfg.Path("keys"), keyStore, h.Brands, log); err != nil {
		return h, err
	}
	keyMgr, err := keys.NewManager(ctx, keyStore, h.Brands, keys.Options{Logger: log, PublishAhead: keyPublishAhead, ReloadInterval: keyReloadInterval})
	if err != nil {
		return h, err
	}
	keysCtx, stopKeys := context.WithCancel(context.Background())
	keysDone := make(chan struct{})
	go func() { keyMgr.Run(keysCtx); close(keysDone) }()
	h.closers = append(h.closers, func(context.Context) error { stopKeys(); <-keysDone; return nil })

	// Customers and their data: the institution's back end when one is
	// configured, else the synthetic core (whose customers log in with the
	// demo's secrets, in demo mode only).
	var (
		core     corebank.Core
		identity *customerIdentity
		backend  *backendrpc.Client // nil: no back end
		ispb     = demoISPB
	)
	if cfg.BackendURL != "" {
		if !isISPB(cfg.ISPB) {
			return h, fmt.Errorf("--%s %q: with --%s, set this institution's ISPB, its 8-digit Pix participant code", config.FlagISPB, cfg.ISPB, config.FlagBackendURL)
		}
		ispb = cfg.ISPB
		hc, err := backendrpc.HTTPClient(cfg.BackendCA, cfg.BackendCert, cfg.BackendKey)
		if err != nil {
			return h, fmt.Errorf("back-end TLS settings (--%s, --%s, --%s): %w", config.FlagBackendCA, config.FlagBackendCert, config.FlagBackendKey, err)
		}
		if backend, err = backendrpc.NewClient(backendrpc.Options{BaseURL: cfg.BackendURL, Token: cfg.BackendToken, HTTPClient: hc,
			Logger: log.With("component", "backend")}); err != nil {
			return h, fmt.Errorf("--%s: %w", config.FlagBackendURL, err)
		}
		h.backend = backend
		core = corehttp.New(backend)
		identity = &customerIdentity{Provider: idphttp.New(backend), core: core}
		log.Info("customers and their data come from the back end", "url", cfg.BackendURL)
	} else {
		syn, err := corebank.NewSynthetic(corebank.DefaultOptions())
		if err != nil {
			return h, err
		}
		core = syn
		if demo {
			pw, err := secretFile(secrets, "customer-password", 6)
			if err != nil {
				return h, err
			}
			otp, err := secretFile(secrets, "customer-otp", 3)
			if err != nil {
				return h, err
			}
			d := newDemoIdentity(syn, pw, otp)
			identity = &customerIdentity{Provider: d, core: syn}
			h.Customers = d.testCredentials()
		} else {
			log.Warn("no --" + config.FlagBackendURL + ": the customer-data APIs serve the SYNTHETIC core and no customer can log in; " +
				"point it at the institution's back end (try `ofp sim backend`)")
		}
	}

	registration := map[string]http.Handler{}
	pages := map[string]login.Brand{}
	for _, b := range h.Brands {
		dh, err := dcr.New(dcr.Options{Issuer: cfg.DirectoryIssuer, Keys: dirKeys, Store: clients, Brand: b.ID,
			RegistrationURL: b.Issuer + "/register", Logger: log.With("component", "dcr", "brand", b.ID)})
		if err != nil {
			return h, err
		}
		registration[b.ID] = dh
		pages[b.ID] = login.Brand{Name: b.DisplayName, Colour: login.DefaultColour}
	}
	gate := consentGate{store: h.consents}
	payGate := paymentGate{store: pay, debtors: coreDebtors(core, ispb)}
	opts := server.Options{
		Keys: keyMgr, Clients: clients, Registration: registration, AccessTokenLifetime: lifetime,
		StorageFor: func(brand string) *server.Storage {
			v := azStore.ForBrand(brand)
			return &server.Storage{Grants: v, Auth: v, PAR: v, Refresh: v, ConsumeJTI: v.ConsumeJTI}
		},
		Consent: routedGate{data: &gate, pay: payGate}, Pages: pages, HTTPClient: jwksClient, Logger: log.With("component", "authz"),
		// Failed logins count in the store, whichever replica they reach.
		LoginLimiter: azStore.LoginLimiter(login.LimiterOptions{}),
	}
	if identity != nil {
		opts.Identity = identity
		gate.resources = identity.resolveResources
	}
	if h.az, err = server.New(opts); err != nil {
		return h, err
	}

	// Consents API behind the authorization server.
	consentAPI := consenthttp.New(h.consents, consenthttp.Options{
		Institution: "ofp", Clients: tokenClients{}, Tokens: h.az, PublicURL: h.URL, Logger: log.With("component", "consents"),
	})
	cc := h.az.Protect(server.Requirement{Scopes: []string{"consents"}, GrantType: "client_credentials"})(consentAPI)
	ac := h.az.Protect(server.Requirement{Scopes: []string{"consent"}, GrantType: "authorization_code"})(consentAPI)
	regulated := http.NewServeMux()
	const base = "/open-banking/consents/v3/consents"
	regulated.Handle("POST "+base, cc)
	regulated.Handle("GET "+base+"/{consentId}", cc)
	regulated.Handle("DELETE "+base+"/{consentId}", cc)
	regulated.Handle("POST "+base+"/{consentId}/extends", ac)
	regulated.Handle("GET "+base+"/{consentId}/extensions", ac)
	regulated.Handle(purposes.PublicPrefix, purposes.NewPublicHandler(ps, purposes.PublicOptions{Logger: log}))
	regulated.Handle(purposes.PublicPrefix+"/", purposes.NewPublicHandler(ps, purposes.PublicOptions{Logger: log}))
	// Customer data (accounts, credit cards, customers) and resources, read
	// from the core through its port; each route checks its own token
	// requirement, consent, permission and resource.
	limit := customerdata.DefaultLimitOptions()
	if cfg.ClientRateLimit != "" {
		if limit, err = customerdata.ParseLimit(cfg.ClientRateLimit); err != nil {
			return h, fmt.Errorf("--%s: %w", config.FlagClientRateLimit, err)
		}
	}
	if hk.limit != nil {
		limit = *hk.limit
	}
	local, err := customerdata.NewLimiter(limit)
	if err != nil {
		return h, err
	}
	// On PostgreSQL the replicas share each receiver's budget; the
	// per-process limiter counts while the database cannot be reached.
	var lim customerdata.RateLimiter = local
	if pg != "" {
		if lim, err = azStore.ClientRateLimiter(store.ClientRateOptions{PerSecond: limit.PerSecond, Burst: limit.Burst, Fallback: local}); err != nil {
			return h, err
		}
	}
	pagSecret := sha256.Sum256(append([]byte("ofp pagination\x00"), sealHex...))
	cdOpts := customerdata.Options{
		Consents: h.consents, Limiter: lim, PublicURL: h.URL, PaginationKeySecret: pagSecret[:], Logger: log.With("component", "customer-data"),
		Guard: func(req customerdata.Requirement) func(http.Handler) http.Handler {
			return h.az.Protect(server.Requirement{Scopes: req.Scopes, GrantType: req.GrantType})
		},
		Caller: func(r *http.Request) (customerdata.Identity, error) {
			ti, ok := server.TokenFrom(r.Context())
			if !ok {
				return customerdata.Identity{}, errors.New("no verified access token")
			}
			return customerdata.Identity{ClientID: ti.ClientID, ConsentID: ti.ConsentID}, nil
		},
	}
	accountsAPI, err := customerdata.NewAccounts(core, cdOpts)
	if err != nil {
		return h, err
	}
	cardsAPI, err := customerdata.NewCreditCards(core, cdOpts)
	if err != nil {
		return h, err
	}
	customersAPI, err := customerdata.NewCustomers(core, cdOpts)
	if err != nil {
		return h, err
	}
	resourcesAPI, err := resourceshttp.New(core, cdOpts)
	if err != nil {
		return h, err
	}
	regulated.Handle(customerdata.AccountsBasePath+"/", accountsAPI)
	regulated.Handle(customerdata.CreditCardsBasePath+"/", cardsAPI)
	regulated.Handle(customerdata.CustomersBasePath+"/", customersAPI)
	regulated.Handle(resourceshttp.BasePath+"/", resourcesAPI)

	// Partners read shared data under an active purpose consent (LGPD).
	if demo {
		key, err := secretFile(secrets, "partner-demo-partner.key", 32)
		if err != nil {
			return h, err
		}
		partners, err := partnerapi.NewKeyAuthenticator(map[string]string{"demo-partner": partnerapi.HashKey(key)})
		if err != nil {
			return h, err
		}
		pa, err := partnerapi.New(partnerapi.Options{Store: h.consents, Partners: partners, Data: coreSharedData{core}, Logger: log.With("component", "partner-api")})
		if err != nil {
			return h, err
		}
		regulated.Handle(partnerapi.Prefix, pa)
		h.PartnerKeyFile = filepath.Join(secrets, "partner-demo-partner.key")
	}

	if err := h.startPayments(ctx, regulated, pay, keyMgr, clients, jwksClient, hookClient, webhookRecords, secrets, orgID, backend, demo, sched); err != nil {
		return h, err
	}
	authzHandler := h.az.Handler()
	for _, b := range h.Brands {
		regulated.Handle("/"+b.ID+"/", authzHandler)
	}

	// Every regulated call is recorded (PCM-shaped) on ofp.apicalls.
	if err := bus.EnsureTopics(ctx, p.producer, bus.DefaultPartitions, events.TopicAPICalls, events.TopicConsentEvents); err != nil {
		return h, err
	}
	if h.Recorder, err = apicalls.New(p.producer, apicalls.Options{ServerOrgID: orgID, Logger: log}); err != nil {
		return h, err
	}

	// Lifecycle: outbox → Kafka, expiry, near-expiry notices, webhooks.
	pub := lifecycle.NewPublisher(h.consents, p.producer, lifecycle.PublisherOptions{ResumeDelay: 30 * time.Second, Logger: log})
	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	go func() { _ = pub.Run(runCtx); done <- struct{}{} }()
	deliverer, err := webhooks.New(hookClient, registeredClients{clients, h.Brands}, webhookRecords, mustSigner(secrets), webhooks.Options{Logger: log})
	if err != nil {
		cancel()
		return h, err
	}
	brokers := p.cfg.Brokers()
	if p.kafka != nil { // embedded cluster
		brokers = p.kafka.Brokers()
	}
	hookConsumer, err := bus.NewClient(bus.Config{Brokers: brokers, ClientID: "ofp-webhooks"}, webhooks.ClientOpts("ofp-webhooks")...)
	if err != nil {
		cancel()
		return h, err
	}
	go func() { _ = deliverer.Run(runCtx, hookConsumer); done <- struct{}{} }()
	h.closers = append(h.closers, func(context.Context) error {
		cancel()
		<-done
		<-done
		hookConsumer.CloseAllowingRebalance()
		return nil
	})
	if err := lifecycle.NewExpirer(h.consents, lifecycle.ExpirerOptions{Tokens: h.az, Logger: log}).Register(sched, "@every 1m"); err != nil {
		return h, err
	}
	if err := lifecycle.NewNotifier(h.consents, lifecycle.NotifierOptions{Logger: log}).Register(sched, "@hourly"); err != nil {
		return h, err
	}
	if err := sched.Register("authz-keys-prune", "@hourly", keyMgr.Prune); err != nil {
		return h, err
	}
	if err := sched.Register("authz-cleanup", "@every 10m", func(ctx context.Context) error {
		n, err := azStore.DeleteExpired(ctx, time.Now())
		log.Debug("authz cleanup", "deleted", n)
		return err
	}); err != nil {
		return h, err
	}

	// Portal and console (internal listener), RBAC over the users file.
	users, err := h.users(cfg, secrets, demo)
	if err != nil {
		return h, err
	}
	staff, err := rbac.NewBasicAuthenticator(users)
	if err != nil {
		return h, err
	}
	h.staff = staff
	sessionKey := []byte(cfg.SessionKey)
	if len(sessionKey) == 0 && demo {
		s, err := secretFile(secrets, "session.key", 32)
		if err != nil {
			return h, err
		}
		sessionKey = []byte(s)
	}
	var customerPayments portal.Payments // the payments API is on: customers see and cancel theirs
	if backend != nil || demo {
		customerPayments = portalpay.Payments{Store: pay, Names: registeredClients{clients, h.Brands}}
	}
	var customers portal.CustomerAuthenticator = noCustomers{}
	if identity != nil {
		customers = identity
	}
	if h.portal, err = portal.New(portal.Options{
		Store: h.consents, Purposes: ps, Institution: "ofp", Customers: customers, Staff: staff, Tokens: h.az,
		ClientNames: registeredClients{clients, h.Brands}, SessionKey: sessionKey, InsecureCookies: demo, Logger: log.With("component", "portal"),
		Payments: customerPayments,
	}); err != nil {
		return h, err
	}

	if hk.serve != nil {
		return h, hk.serve(ln, tlsCfg, h.Recorder.Middleware(regulated))
	}
	h.srv = &http.Server{Handler: h.Recorder.Middleware(regulated), TLSConfig: tlsCfg, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug)}
	go func() {
		if err := h.srv.ServeTLS(ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("regulated listener stopped", "err", err)
		}
	}()
	return h, nil
}

// Mount adds the portal, the console and the admin APIs to the internal mux.
func (h *holder) Mount(mux *http.ServeMux) { h.portal.Mount(mux) }

// shutdown stops the regulated listener, then flushes the api-call record
// so that no call served is lost.
func (h *holder) shutdown(ctx context.Context) {
	if h.srv != nil {
		_ = h.srv.Shutdown(ctx)
	}
	if h.Recorder != nil {
		if err := h.Recorder.Flush(ctx); err != nil {
			h.log.Warn("api-call events not flushed", "err", err, "pending", h.Recorder.Stats().Pending)
		}
	}
}

func (h *holder) close(ctx context.Context) {
	for i := len(h.closers) - 1; i >= 0; i-- {
		if err := h.closers[i](ctx); err != nil {
			h.log.Warn("close", "err", err)
		}
	}
	h.closers = nil
}

// sealKey is the 32-byte key that seals refresh tokens between
// authorisation and code redemption: derived from the session key in
// production, generated in demo.
func (h *holder) sealKey(cfg config.Config, secrets string, demo bool) ([]byte, error) {
	src := cfg.SessionKey
	if src == "" {
		if !demo {
			return nil, errors.New("--session-key is required (≥ 32 bytes, the same on every replica; prefer OFP_SESSION_KEY)")
		}
		s, err := secretFile(secrets, "seal.key", 32)
		if err != nil {
			return nil, err
		}
		src = s
	} else if len(src) < 32 {
		return nil, errors.New("--session-key must be at least 32 bytes")
	}
	return sealKeyFrom(src), nil
}

// sealKeyFrom derives the authz store's seal key from the session key.
func sealKeyFrom(src string) []byte {
	k := sha256.Sum256([]byte("ofp authz seal\x00" + src))
	return k[:]
}

// previousSealKeys derives the seal keys of --previous-session-keys.
func previousSealKeys(cfg config.Config) [][]byte {
	var out [][]byte
	for _, k := range strings.Split(cfg.PreviousSessionKeys, ",") {
		if k = strings.TrimSpace(k); k != "" {
			out = append(out, sealKeyFrom(k))
		}
	}
	return out
}

// users loads the operators file, or in demo writes one with an admin
// whose password is kept in <data-dir>/secrets.
func (h *holder) users(cfg config.Config, secrets string, demo bool) (rbac.Config, error) {
	if cfg.UsersFile != "" {
		return rbac.LoadConfig(cfg.UsersFile)
	}
	if !demo {
		return rbac.Config{}, errors.New("--users-file is required: operators and their roles (see `ofp serve --help`)")
	}
	pw, err := secretFile(secrets, "admin-password", 9)
	if err != nil {
		return rbac.Config{}, err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(pw), rbac.MinBcryptCost)
	if err != nil {
		return rbac.Config{}, err
	}
	h.Operator = [2]string{"admin", pw}
	c := rbac.Config{Users: []rbac.User{{Username: "admin", PasswordHash: string(hash), Roles: []rbac.Role{rbac.RoleAdmin}}}}
	b, _ := json.MarshalIndent(c, "", "  ")
	_ = os.WriteFile(filepath.Join(secrets, "users.json"), b, 0o600)
	return c, c.Validate()
}

// tokenClients identifies the Consents API caller from the access token
// Protect verified.
type tokenClients struct{}

func (tokenClients) ClientID(r *http.Request) (string, error) {
	ti, ok := server.TokenFrom(r.Context())
	if !ok {
		return "", errors.New("no verified access token")
	}
	if id := r.PathValue("consentId"); id != "" && ti.ConsentID != "" && ti.ConsentID != id {
		return "", fmt.Errorf("the access token is for consent %s, not %s", ti.ConsentID, id)
	}
	return ti.ClientID, nil
}

// registeredClients finds a DCR client by id at whichever brand
// registered it (client ids are unique across brands).
type registeredClients struct {
	clients *dcrsql.Store
	brands  []keys.Brand
}

// find returns the client; ok is false when no brand has it.
func (rc registeredClients) find(ctx context.Context, clientID string) (c dcr.Client, ok bool, err error) {
	for _, b := range rc.brands {
		c, err := rc.clients.Get(ctx, b.ID, clientID)
		if errors.Is(err, dcr.ErrNotFound) {
			continue
		}
		return c, err == nil, err
	}
	return dcr.Client{}, false, nil
}

// demoTransport is the demo holder's own transport (BRCAC) certificate in
// the test PKI: what it presents on outbound mTLS (webhooks).
func demoTransport(orgID string) pki.ClientSpec {
	return pki.ClientSpec{Name: "demo-holder-transport", SoftwareID: "5f0c2a1e-8b7d-4c3a-9e61-0d2b4a6c8e10", OrgID: orgID,
		CNPJ: "00000000000191", OrganizationName: "OFP Demo Holder", CommonName: "transport.holder.localhost"}
}

// outboundMTLS is the client of calls the profile requires mTLS for
// (webhooks: BRIEF §10): TLS 1.2+, the given roots, this institution's
// transport certificate, no redirects, a 10 s timeout.
func outboundMTLS(roots *x509.CertPool, transport tls.Certificate) *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
		MinVersion: tls.VersionTLS12, RootCAs: roots, Certificates: []tls.Certificate{transport},
	}}, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// WebhookURI finds a client's webhook URI in its registration (webhooks.Endpoints).
func (rc registeredClients) WebhookURI(ctx context.Context, clientID string) (string, bool, error) {
	c, ok, err := rc.find(ctx, clientID)
	if !ok || len(c.Metadata.WebhookURIs) == 0 {
		return "", false, err
	}
	return c.Metadata.WebhookURIs[0], true, nil
}

// ClientName names receivers on the portal by their registered client_name.
func (rc registeredClients) ClientName(ctx context.Context, clientID string) (string, bool) {
	c, ok, _ := rc.find(ctx, clientID)
	return c.Metadata.ClientName, ok && c.Metadata.ClientName != ""
}

// noCustomers refuses every portal login: production plugs the
// institution's IAM in here.
type noCustomers struct{}

func (noCustomers) AuthenticateCustomer(context.Context, string, string) (string, error) {
	return "", portal.ErrBadCustomerCredentials
}

func mustSigner(secrets string) *webhooks.Signer {
	k, err := secretFile(secrets, "webhook-records.key", 32)
	if err != nil {
		panic(err) // the data dir was writable a moment ago
	}
	s, err := webhooks.NewSigner("ofp-1", []byte(k))
	if err != nil {
		panic(err)
	}
	return s
}

func systemPlus(extra *x509.CertPool) *x509.CertPool {
	if extra != nil {
		return extra
	}
	p, _ := x509.SystemCertPool()
	return p
}

func hostPort(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if host == "127.0.0.1" || host == "::1" || host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

// openStore opens one store on PostgreSQL when pg is set, else on SQLite,
// and closes it with the holder.
func openStore[S interface{ Close() error }](h *holder, pg string, postgres, sqlite func() (S, error)) (S, error) {
	open := sqlite
	if pg != "" {
		open = postgres
	}
	st, err := open()
	if err != nil {
		return st, fmt.Errorf("open the regulated-interface stores: %w", err)
	}
	h.closers = append(h.closers, func(context.Context) error { return st.Close() })
	return st, nil
}
