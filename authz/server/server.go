package server

import (
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/luikyv/go-oidc/pkg/goidc"
	"github.com/luikyv/go-oidc/pkg/provider"

	"github.com/ofp-dev/ofp/authz/idp"
	"github.com/ofp-dev/ofp/authz/keys"
	"github.com/ofp-dev/ofp/authz/login"
)

// FAPI-BR authentication context references (BRIEF.md §9).
const (
	ACRLoA2 goidc.ACR = "urn:brasil:openbanking:loa2"
	ACRLoA3 goidc.ACR = "urn:brasil:openbanking:loa3"
)

// HeaderInteractionID is the FAPI interaction id header.
const HeaderInteractionID = "x-fapi-interaction-id"

// Access-token lifetime bounds (BRIEF.md §9).
const (
	MinAccessTokenLifetime = 300 * time.Second
	MaxAccessTokenLifetime = 900 * time.Second
)

// StaticScopes are the fixed scopes every brand publishes (DCR-BR roles
// DADOS and PAGTO; the well-known must list the mandatory ones).
var StaticScopes = []string{
	"openid", "accounts", "credit-cards-accounts", "consents", "customers",
	"invoice-financings", "financings", "loans", "unarranged-accounts-overdraft",
	"resources", "credit-fixed-incomes", "exchanges", "bank-fixed-incomes",
	"variable-incomes", "treasure-titles", "funds", "credit-portability",
	"payments", "recurring-payments", "nrp-consents",
}

// DynamicScopes are the parameterised scope prefixes (scope "consent"
// matches "consent:<urn>").
var DynamicScopes = []string{"consent", "recurring-consent", "enrollment"}

// Storage holds one brand's go-oidc managers. Every field is required.
// authz/store.Store (ForBrand view) provides all of them; MemoryStorage is
// the single-replica default.
type Storage struct {
	Grants  goidc.GrantManager
	Auth    goidc.AuthManager
	PAR     goidc.PARManager
	Refresh goidc.RefreshTokenManager
	// ConsumeJTI must fail when a client assertion jti was already used.
	ConsumeJTI goidc.ConsumeJTIFunc
}

// Options configures New.
type Options struct {
	// Keys holds the brands and their keys. Required.
	Keys *keys.Manager
	// Clients reads clients registered by authz/dcr (dcr.Store satisfies
	// it). Required.
	Clients ClientSource
	// Registration maps a brand id to its authz/dcr handler (built with
	// dcr.Options.Brand set to that id), mounted at <issuer>/register. A
	// brand without one answers 404 there.
	Registration map[string]http.Handler
	// MTLSBaseURL gives the base URL of a brand's mtls_endpoint_aliases.
	// It must keep the issuer's path. Default: the issuer itself (one
	// listener serving both, with tls.VerifyClientCertIfGiven).
	MTLSBaseURL func(keys.Brand) string
	// AccessTokenLifetime must be within 300–900 s; default 300 s.
	AccessTokenLifetime time.Duration
	// StorageFor returns the storage of a brand (called once per brand by
	// New). nil means a MemoryStorage per brand: single replica only.
	StorageFor func(brandID string) *Storage
	// Consent is the consent service (consent:<urn> scopes). Without it
	// authorization requests are refused; client_credentials still works.
	Consent ConsentGate
	// Identity authenticates customers on the login page. Without it
	// authorization requests are refused.
	Identity idp.Provider
	// Accounts lists what the customer may share; nil means Identity when
	// it implements idp.AccountLister, else no resource choice is offered.
	Accounts idp.AccountLister
	// Pages styles each brand's pages (by brand id). Missing brands use the
	// brand's DisplayName and login.DefaultColour.
	Pages map[string]login.Brand
	// LoginLimiter counts failed logins per CPF and per client address. nil:
	// an in-process login.Limiter with LoginLimits, right for one replica;
	// replicas share authz/store's (Store.LoginLimiter), or each would
	// allow its own quota.
	LoginLimiter LoginLimiter
	// LoginLimits configures the in-process limiter (LoginLimiter nil).
	LoginLimits login.LimiterOptions
	// ClientAddr names the customer's address for the login limiter.
	// Default: the host of r.RemoteAddr. Behind a reverse proxy, return the
	// address the proxy vouches for (e.g. its X-Forwarded-For entry), or
	// every customer shares the proxy's address and its limit.
	ClientAddr func(r *http.Request) string
	// HTTPClient fetches clients' jwks_uri; its TLS RootCAs are the trust
	// store for those fetches. nil: system roots, 10 s timeout, TLS 1.2+,
	// no redirects.
	HTTPClient *http.Client
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// LoginLimiter counts failed logins per customer (CPF) and per client
// address (Options.LoginLimiter). When Allow fails the login is refused
// for now (the customer is asked to retry shortly): the limit is never
// skipped. Failure and Success errors are logged.
type LoginLimiter interface {
	Allow(ctx context.Context, user, addr string) (ok bool, wait time.Duration, err error)
	Failure(ctx context.Context, user, addr string) error
	Success(ctx context.Context, user string) error
}

// memoryLimiter is a login.Limiter as a LoginLimiter.
type memoryLimiter struct{ l *login.Limiter }

func (m memoryLimiter) Allow(_ context.Context, user, addr string) (bool, time.Duration, error) {
	ok, wait := m.l.Allow(user, addr)
	return ok, wait, nil
}

func (m memoryLimiter) Failure(_ context.Context, user, addr string) error {
	m.l.Failure(user, addr)
	return nil
}

func (m memoryLimiter) Success(_ context.Context, user string) error {
	m.l.Success(user)
	return nil
}

// Server serves every brand's provider behind one http.Handler.
type Server struct {
	opts      Options
	mux       *http.ServeMux
	providers map[string]*provider.Provider
	issuers   map[string]string // issuer URL -> brand id
	grants    map[string]*consentGrants
	pages     *login.Pages
	limiter   LoginLimiter
	accounts  idp.AccountLister
	jwks      sync.Map // brand id -> *cachedJWKS
}

// cachedJWKS is a brand's decoded public key set and the fingerprint of
// the key records it was built from.
type cachedJWKS struct {
	fingerprint string
	set         goidc.JSONWebKeySet
}

// parLifetimeSecs is the request_uri lifetime (FAPI-BR: at least 60 s).
const parLifetimeSecs = 90

// mtlsPaths are the endpoints (relative to the issuer) that require a
// client certificate and an x-fapi-interaction-id.
var mtlsPaths = []string{"/token", "/par", "/userinfo", "/introspect", "/revoke", "/register"}

// New builds one provider per brand of opts.Keys.
func New(opts Options) (*Server, error) {
	if opts.Keys == nil {
		return nil, errors.New("server: Options.Keys is required (build it with keys.NewManager)")
	}
	if opts.Clients == nil {
		return nil, errors.New("server: Options.Clients is required (pass the authz/dcr store)")
	}
	if opts.AccessTokenLifetime == 0 {
		opts.AccessTokenLifetime = MinAccessTokenLifetime
	}
	if opts.AccessTokenLifetime < MinAccessTokenLifetime || opts.AccessTokenLifetime > MaxAccessTokenLifetime {
		return nil, fmt.Errorf("server: AccessTokenLifetime %s must be within %d and %d seconds (FAPI-BR)", opts.AccessTokenLifetime,
			int(MinAccessTokenLifetime/time.Second), int(MaxAccessTokenLifetime/time.Second))
	}
	if opts.MTLSBaseURL == nil {
		opts.MTLSBaseURL = func(b keys.Brand) string { return b.Issuer }
	}
	if opts.StorageFor == nil {
		opts.StorageFor = func(string) *Storage { return NewMemoryStorage().Storage() }
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.ClientAddr == nil {
		opts.ClientAddr = clientAddr
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 10 * time.Second,
			Transport:     &http.Transport{TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12}, TLSHandshakeTimeout: 5 * time.Second, ResponseHeaderTimeout: 5 * time.Second},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	// Clients' key sets are cached for a minute (see jwksCache).
	hc := *opts.HTTPClient
	hc.Transport = newJWKSCache(hc.Transport, time.Minute)
	opts.HTTPClient = &hc
	pages, err := login.NewPages()
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	accounts := opts.Accounts
	if accounts == nil {
		accounts, _ = opts.Identity.(idp.AccountLister)
	}

	s := &Server{opts: opts, mux: http.NewServeMux(), providers: map[string]*provider.Provider{}, issuers: map[string]string{},
		grants: map[string]*consentGrants{}, pages: pages, limiter: opts.LoginLimiter, accounts: accounts}
	if s.limiter == nil {
		s.limiter = memoryLimiter{login.NewLimiter(opts.LoginLimits)}
	}
	brands := opts.Keys.Brands()
	prefixes := map[string]string{}
	for _, b := range brands {
		prefix, err := issuerPath(b.Issuer)
		if err != nil {
			return nil, fmt.Errorf("server: brand %s: %w", b.ID, err)
		}
		if other, dup := prefixes[prefix]; dup {
			return nil, fmt.Errorf("server: brands %s and %s share the issuer path %q: give each issuer its own path", other, b.ID, prefix)
		}
		if prefix == "" && len(brands) > 1 {
			return nil, fmt.Errorf("server: brand %s: with several brands every issuer needs a path, e.g. %s/%s", b.ID, b.Issuer, b.ID)
		}
		mtlsBase := strings.TrimSuffix(opts.MTLSBaseURL(b), "/")
		mtlsPrefix, err := issuerPath(mtlsBase)
		if err != nil || mtlsPrefix != prefix {
			return nil, fmt.Errorf("server: brand %s: MTLSBaseURL %q must be an https URL with the issuer path %q", b.ID, mtlsBase, prefix)
		}
		prefixes[prefix] = b.ID

		op, err := s.newProvider(b, mtlsBase)
		if err != nil {
			return nil, fmt.Errorf("server: brand %s: %w", b.ID, err)
		}
		s.providers[b.ID] = op
		s.issuers[b.Issuer] = b.ID

		inner := http.NewServeMux()
		reg := opts.Registration[b.ID]
		if reg == nil {
			reg = http.NotFoundHandler()
		}
		inner.Handle("/register", reg)
		inner.Handle("/register/", reg)
		inner.Handle("/", op.Handler())
		h := s.guard(b.ID, inner)
		if prefix == "" {
			s.mux.Handle("/", h)
		} else {
			s.mux.Handle(prefix+"/", stripPrefix(prefix, h))
		}
	}
	return s, nil
}

// Handler serves every brand. Serve it over pki.TLSServerConfig.
func (s *Server) Handler() http.Handler { return s.mux }

func (s *Server) newProvider(b keys.Brand, mtlsBase string) (*provider.Provider, error) {
	brandID := b.ID
	scopes := make([]goidc.Scope, 0, len(StaticScopes)+len(DynamicScopes))
	for _, sc := range StaticScopes {
		scopes = append(scopes, goidc.NewScope(sc))
	}
	for _, sc := range DynamicScopes {
		prefix := sc + ":"
		scopes = append(scopes, goidc.NewDynamicScope(sc, func(requested string) bool {
			return strings.HasPrefix(requested, prefix) && len(requested) > len(prefix)
		}))
	}
	lifetime := int(s.opts.AccessTokenLifetime / time.Second)
	st := s.opts.StorageFor(brandID)
	if st == nil || st.Grants == nil || st.Auth == nil || st.PAR == nil || st.Refresh == nil {
		return nil, errors.New("StorageFor must give Grants, Auth, PAR and Refresh managers (use authz/store or NewMemoryStorage)")
	}
	consume := st.ConsumeJTI
	if consume == nil {
		consume = newMemoryJTI(time.Now).consume
	}
	grants := newConsentGrants(st, s.opts.Consent, s.opts.Logger, brandID)
	s.grants[brandID] = grants
	style := s.opts.Pages[brandID]
	if style.Name == "" {
		style.Name = b.DisplayName
	}
	if style.Colour == "" {
		style.Colour = login.DefaultColour
	}
	if err := style.Validate(); err != nil {
		return nil, err
	}
	flow := &brandFlow{s: s, brand: b, style: style}
	return provider.New(b.Issuer, grants, s.jwksFunc(brandID),
		provider.WithProfile(goidc.ProfileFAPI1),
		provider.WithProfileValidation(),
		provider.WithScopes(scopes...),
		provider.WithOpenIDScopeRequired(),
		provider.WithSigner(s.signerFunc(brandID)),
		provider.WithDecrypter(s.decrypterFunc(brandID)),
		provider.WithIDTokenSignatureAlgs(goidc.PS256),
		provider.WithIDTokenEncryption(goidc.RSA_OAEP),
		provider.WithIDTokenContentEncryptionAlgs(goidc.A256GCM),
		provider.WithUserInfoSignatureAlgs(goidc.PS256),
		provider.WithMTLS(mtlsBase, clientCertFromContext),
		provider.WithTLSTokenBindingRequired(),
		provider.WithPrivateKeyJWTAuthn(goidc.PS256),
		provider.WithJTIConsumer(consume),
		provider.WithPARRequired(st.PAR),
		provider.WithPARLifetime(parLifetimeSecs),
		provider.WithPARSessionHandler(flow.pushedRequest),
		provider.WithJARRequired(goidc.PS256),
		provider.WithJAREncryption(goidc.RSA_OAEP),
		provider.WithJARContentEncryptionAlgs(goidc.A256GCM),
		provider.WithPKCERequired(goidc.CodeChallengeMethodSHA256),
		provider.WithAuthCodeGrant(st.Auth, goidc.ResponseTypeCodeAndIDToken),
		provider.WithRefreshTokenGrant(grants),
		provider.WithPolicies(flow.policy()),
		provider.WithIDTokenClaims(idTokenClaims),
		provider.WithGrantHandler(handleGrant),
		provider.WithTokenHandler(s.handleToken),
		provider.WithErrorRenderer(flow.renderError),
		provider.WithClientCredentialsGrant(),
		provider.WithACRs(ACRLoA2, ACRLoA3),
		provider.WithClaimsParameter(),
		provider.WithTokenOptions(func(context.Context, *goidc.Grant, *goidc.Client) goidc.TokenOptions {
			return goidc.NewJWTTokenOptions(goidc.PS256, lifetime)
		}),
		// Resource servers introspect in process (Provider.Introspect); over
		// HTTP a client may only introspect and revoke its own tokens (the
		// library checks ownership on revocation).
		provider.WithTokenIntrospection(func(_ context.Context, c *goidc.Client, info goidc.TokenInfo) bool {
			return c != nil && info.ClientID == c.ID
		}),
		provider.WithTokenRevocation(func(context.Context, *goidc.Client) bool { return true }),
		// Access tokens are JWTs: revoking one revokes its grant (and the
		// refresh token), otherwise revocation of an access token is a no-op.
		provider.WithTokenRevocationRevokeGrantOnAccessToken(),
		provider.WithHTTPClientFunc(func(context.Context) *http.Client { return s.opts.HTTPClient }),
		provider.WithDCR(clientManager{src: s.opts.Clients, brand: brandID}),
		provider.WithErrorHandler(func(ctx context.Context, err error) {
			s.opts.Logger.InfoContext(ctx, "authorization server request failed", "brand", brandID, "err", err)
		}),
	)
}

// checkPushedRequest applies the FAPI-BR rules go-oidc's fapi1 profile does
// not: response_type "code id_token" with response_mode fragment only, and
// no id_token_hint.
func checkPushedRequest(_ context.Context, as *goidc.AuthnSession, _ *goidc.Client) error {
	if as.IDTokenHint != "" {
		return goidc.NewError(goidc.ErrorCodeInvalidRequest, "id_token_hint is not accepted (FAPI-BR)")
	}
	if as.ResponseType != goidc.ResponseTypeCodeAndIDToken {
		return goidc.NewError(goidc.ErrorCodeInvalidRequest, "response_type must be \"code id_token\" (FAPI-BR)")
	}
	if as.ResponseMode != "" && as.ResponseMode != goidc.ResponseModeFragment {
		return goidc.NewError(goidc.ErrorCodeInvalidRequest, "response_mode must be fragment (FAPI-BR)")
	}
	return nil
}

// jwksFunc publishes the brand's public keys, read live so that rotation
// shows up without restarting. The decoded set is reused while the
// brand's published key records are unchanged: go-oidc asks for it on
// every token introspection, and encoding and decoding it each time was a
// quarter of the cost of a protected resource call.
func (s *Server) jwksFunc(brandID string) goidc.JWKSFunc {
	return func(context.Context) (goidc.JSONWebKeySet, error) {
		records, err := s.opts.Keys.Keys(brandID)
		if err != nil {
			return goidc.JSONWebKeySet{}, fmt.Errorf("server: public jwks of brand %s: %w", brandID, err)
		}
		var fp strings.Builder
		for _, r := range records {
			fp.WriteString(r.KID)
			fp.WriteByte('/')
			fp.WriteString(r.RetiredAt.UTC().Format(time.RFC3339Nano))
			fp.WriteByte(';')
		}
		if c, ok := s.jwks.Load(brandID); ok && c.(*cachedJWKS).fingerprint == fp.String() {
			return c.(*cachedJWKS).set, nil
		}
		raw, err := s.opts.Keys.PublicJWKS(brandID)
		if err != nil {
			return goidc.JSONWebKeySet{}, fmt.Errorf("server: public jwks of brand %s: %w", brandID, err)
		}
		var set goidc.JSONWebKeySet
		if err := json.Unmarshal(raw, &set); err != nil {
			return goidc.JSONWebKeySet{}, fmt.Errorf("server: decode public jwks of brand %s: %w", brandID, err)
		}
		s.jwks.Store(brandID, &cachedJWKS{fingerprint: fp.String(), set: set})
		return set, nil
	}
}

func (s *Server) signerFunc(brandID string) goidc.SignerFunc {
	return func(_ context.Context, alg goidc.SignatureAlgorithm) (string, crypto.Signer, error) {
		if alg != goidc.PS256 {
			return "", nil, fmt.Errorf("server: signing algorithm %s is not allowed (FAPI-BR uses PS256)", alg)
		}
		rec, err := s.findKey(brandID, func(r keys.Record) bool { return r.Use == keys.UseSig && r.Active() })
		if err != nil {
			return "", nil, err
		}
		return rec.KID, rec.Key, nil
	}
}

func (s *Server) decrypterFunc(brandID string) goidc.DecrypterFunc {
	return func(_ context.Context, kid string, alg goidc.KeyEncryptionAlgorithm) (crypto.Decrypter, error) {
		if alg != goidc.RSA_OAEP {
			return nil, fmt.Errorf("server: key encryption algorithm %s is not allowed (FAPI-BR uses RSA-OAEP)", alg)
		}
		rec, err := s.findKey(brandID, func(r keys.Record) bool { return r.Use == keys.UseEnc && r.KID == kid })
		if err != nil {
			return nil, err
		}
		return rec.Key, nil
	}
}

func (s *Server) findKey(brandID string, match func(keys.Record) bool) (keys.Record, error) {
	records, err := s.opts.Keys.Keys(brandID)
	if err != nil {
		return keys.Record{}, fmt.Errorf("server: keys of brand %s: %w", brandID, err)
	}
	for _, r := range records {
		if match(r) {
			return r, nil
		}
	}
	return keys.Record{}, fmt.Errorf("server: brand %s has no matching published key", brandID)
}

// guard puts the client certificate into the context, requires it and a
// valid x-fapi-interaction-id on the mTLS endpoints, and echoes the id.
func (s *Server) guard(brandID string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(HeaderInteractionID)
		valid := id != "" && uuid.Validate(id) == nil
		if isMTLSPath(r.URL.Path) {
			if !valid {
				w.Header().Set(HeaderInteractionID, uuid.NewString())
				writeOAuthError(w, http.StatusBadRequest, "invalid_request", "send an x-fapi-interaction-id header holding a UUID (RFC 4122)")
				return
			}
			if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
				w.Header().Set(HeaderInteractionID, id)
				writeOAuthError(w, http.StatusUnauthorized, "invalid_client", "this endpoint requires mutual TLS with the client's transport certificate")
				return
			}
			if clientAuthPaths[r.URL.Path] {
				r.Body = http.MaxBytesReader(w, r.Body, maxBody)
				if problem := s.checkCertificateOwner(r, brandID, r.TLS.PeerCertificates[0]); problem != "" {
					w.Header().Set(HeaderInteractionID, id)
					writeOAuthError(w, http.StatusUnauthorized, "invalid_client", problem)
					return
				}
			}
		}
		if r.Body != nil && r.ContentLength != 0 && !clientAuthPaths[r.URL.Path] {
			r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		}
		if !valid {
			id = uuid.NewString()
		}
		w.Header().Set(HeaderInteractionID, id)
		if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
			r = r.WithContext(context.WithValue(r.Context(), clientCertKey{}, r.TLS.PeerCertificates[0]))
		}
		next.ServeHTTP(w, r)
	})
}

func isMTLSPath(p string) bool {
	for _, m := range mtlsPaths {
		if p == m || strings.HasPrefix(p, m+"/") {
			return true
		}
	}
	return false
}

type clientCertKey struct{}

func clientCertFromContext(ctx context.Context) (*x509.Certificate, error) {
	cert, ok := ctx.Value(clientCertKey{}).(*x509.Certificate)
	if !ok {
		return nil, errors.New("server: no client certificate on this connection: call the mtls_endpoint_aliases endpoint with the transport certificate")
	}
	return cert, nil
}

func writeOAuthError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}

// issuerPath returns the issuer URL's path without a trailing slash.
func issuerPath(issuer string) (string, error) {
	u, err := url.Parse(issuer)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return "", fmt.Errorf("issuer %q must be an https URL", issuer)
	}
	return strings.TrimSuffix(u.Path, "/"), nil
}

// stripPrefix is http.StripPrefix that also rewrites RequestURI, which
// go-oidc uses to compute the request URL (client assertion audiences).
func stripPrefix(prefix string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := strings.TrimPrefix(r.URL.Path, prefix)
		if len(p) == len(r.URL.Path) {
			http.NotFound(w, r)
			return
		}
		r2 := r.Clone(r.Context())
		r2.URL.Path = p
		r2.URL.RawPath = ""
		r2.RequestURI = strings.TrimPrefix(r.RequestURI, prefix)
		next.ServeHTTP(w, r2)
	})
}

// memoryJTI remembers client assertion ids for a bounded time; it is only
// correct for a single replica.
type memoryJTI struct {
	mu   sync.Mutex
	now  func() time.Time
	seen map[string]time.Time
}

// jtiWindow covers the longest client assertion lifetime go-oidc accepts.
const jtiWindow = 10 * time.Minute

func newMemoryJTI(now func() time.Time) *memoryJTI {
	return &memoryJTI{now: now, seen: map[string]time.Time{}}
}

func (m *memoryJTI) consume(_ context.Context, jti string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	for k, exp := range m.seen {
		if now.After(exp) {
			delete(m.seen, k)
		}
	}
	if _, dup := m.seen[jti]; dup {
		return fmt.Errorf("server: client assertion jti %q was already used: sign a new assertion with a fresh jti", jti)
	}
	m.seen[jti] = now.Add(jtiWindow)
	return nil
}
