package fapi

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Config configures a Client. Issuer, Certificate, SigningKey,
// SigningKeyID and RedirectURI are required; JWKSURI is required to
// Register.
type Config struct {
	// Issuer is the holder's authorization server issuer; discovery is read
	// from Issuer + "/.well-known/openid-configuration" and its "issuer"
	// must equal it exactly.
	Issuer string
	// APIBaseURL is where the holder serves the regulated APIs (the
	// directory's ApiResources base). The Consents API is at
	// APIBaseURL + "/open-banking/consents/v3/consents". Needed by the
	// consent calls only.
	APIBaseURL string

	// Certificate is the transport (BRCAC) certificate presented on every
	// mTLS connection.
	Certificate tls.Certificate
	// RootCAs verifies the holder's server certificates; nil means the
	// system pool.
	RootCAs *x509.CertPool

	// SigningKey (RSA, e.g. an *rsa.PrivateKey or an HSM-backed
	// crypto.Signer) signs client assertions and request objects with
	// PS256; SigningKeyID is its kid in the published JWKS.
	SigningKey   crypto.Signer
	SigningKeyID string
	// EncryptionKey (RSA) decrypts id_tokens (RSA-OAEP / A256GCM);
	// EncryptionKeyID is its kid. When set, id_tokens must be encrypted and
	// Register asks for encryption; when nil, an encrypted id_token is
	// refused.
	EncryptionKey   crypto.Decrypter
	EncryptionKeyID string

	// JWKSURI is where the client's public keys are published (the
	// software statement's software_jwks_uri).
	JWKSURI string
	// RedirectURI is the default redirect URI of authorization requests.
	RedirectURI string
	// ClientID of a previous registration; Register sets it otherwise.
	ClientID string

	// OrganisationID is the client's organisation in the directory (the
	// software statement's org_id): the iss of signed payment request
	// bodies and the aud the holder's signed answers must carry. Needed by
	// the payments calls only.
	OrganisationID string
	// HolderOrganisationID, when set, is the iss the holder's signed
	// payment answers must carry (its organisationId in the directory).
	HolderOrganisationID string

	// HTTPClient replaces the client built from Certificate and RootCAs
	// (its transport must present the certificate). Redirects are never
	// followed either way.
	HTTPClient *http.Client
	// Timeout bounds each HTTP exchange (default 30 s) when HTTPClient is nil.
	Timeout time.Duration
	// ClockSkew is the leeway for token times (default 60 s).
	ClockSkew time.Duration
	// Now is the clock (default time.Now).
	Now    func() time.Time
	Logger *slog.Logger
}

// Discovery is the part of the holder's OpenID Provider metadata the client
// uses.
type Discovery struct {
	Issuer                string `json:"issuer"`
	AuthorizationEndpoint string `json:"authorization_endpoint"`
	TokenEndpoint         string `json:"token_endpoint"`
	PAREndpoint           string `json:"pushed_authorization_request_endpoint"`
	RegistrationEndpoint  string `json:"registration_endpoint"`
	IntrospectionEndpoint string `json:"introspection_endpoint"`
	RevocationEndpoint    string `json:"revocation_endpoint"`
	UserInfoEndpoint      string `json:"userinfo_endpoint"`
	JWKSURI               string `json:"jwks_uri"`
	MTLS                  struct {
		Token         string `json:"token_endpoint"`
		PAR           string `json:"pushed_authorization_request_endpoint"`
		Registration  string `json:"registration_endpoint"`
		Introspection string `json:"introspection_endpoint"`
		Revocation    string `json:"revocation_endpoint"`
		UserInfo      string `json:"userinfo_endpoint"`
	} `json:"mtls_endpoint_aliases"`
	ACRValuesSupported          []string `json:"acr_values_supported"`
	RequestObjectEncryptionAlgs []string `json:"request_object_encryption_alg_values_supported"`
	RequestObjectEncryptionEncs []string `json:"request_object_encryption_enc_values_supported"`
}

func alias(mtls, plain string) string {
	if mtls != "" {
		return mtls
	}
	return plain
}

// Endpoints used by the client: the mTLS alias when the server publishes one.
func (d Discovery) tokenURL() string { return alias(d.MTLS.Token, d.TokenEndpoint) }
func (d Discovery) parURL() string   { return alias(d.MTLS.PAR, d.PAREndpoint) }
func (d Discovery) registrationURL() string {
	return alias(d.MTLS.Registration, d.RegistrationEndpoint)
}
func (d Discovery) introspectionURL() string {
	return alias(d.MTLS.Introspection, d.IntrospectionEndpoint)
}
func (d Discovery) revocationURL() string { return alias(d.MTLS.Revocation, d.RevocationEndpoint) }

// Client is a FAPI-BR data receiver's client of one holder's authorization
// server and APIs. It is safe for concurrent use once registered.
type Client struct {
	cfg    Config
	disc   Discovery
	http   *http.Client // mTLS, interaction ids, no redirects
	token  *http.Client // http + client assertions on token requests (for x/oauth2)
	signer *signer
	keys   *keyCache // the holder's JWKS
	log    *slog.Logger

	mu       sync.RWMutex
	clientID string
}

const (
	defaultTimeout   = 30 * time.Second
	defaultClockSkew = 60 * time.Second
	maxBody          = 4 << 20 // bytes read from any response
	// HeaderInteractionID is the FAPI correlation header.
	HeaderInteractionID = "x-fapi-interaction-id"
)

// New checks cfg, reads the holder's discovery document and returns a
// Client. ctx bounds the discovery request only.
func New(ctx context.Context, cfg Config) (*Client, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = defaultTimeout
	}
	if cfg.ClockSkew <= 0 {
		cfg.ClockSkew = defaultClockSkew
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	c := &Client{cfg: cfg, log: cfg.Logger.With("component", "fapi", "issuer", cfg.Issuer), clientID: cfg.ClientID}
	var err error
	if c.signer, err = newSigner(cfg.SigningKey, cfg.SigningKeyID); err != nil {
		return nil, err
	}
	base := cfg.HTTPClient
	if base == nil {
		base = &http.Client{Timeout: cfg.Timeout, Transport: &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			TLSClientConfig:     &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: cfg.RootCAs, Certificates: []tls.Certificate{cfg.Certificate}},
			ForceAttemptHTTP2:   true,
			MaxIdleConnsPerHost: 16,
			IdleConnTimeout:     90 * time.Second,
		}}
	}
	rt := base.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	noRedirect := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	it := interactionTransport{base: rt}
	c.http = &http.Client{Transport: it, Timeout: base.Timeout, Jar: nil, CheckRedirect: noRedirect}
	c.token = &http.Client{Transport: &assertionTransport{c: c, base: it}, Timeout: base.Timeout, CheckRedirect: noRedirect}
	if err := c.discover(ctx); err != nil {
		return nil, err
	}
	c.keys = &keyCache{c: c}
	return c, nil
}

func (cfg Config) validate() error {
	var problems []string
	if u, err := url.Parse(cfg.Issuer); err != nil || u.Scheme != "https" || u.Host == "" {
		problems = append(problems, "Issuer must be an https URL")
	}
	if len(cfg.Certificate.Certificate) == 0 && cfg.HTTPClient == nil {
		problems = append(problems, "Certificate (the mTLS transport certificate) is required")
	}
	if cfg.SigningKey == nil || cfg.SigningKeyID == "" {
		problems = append(problems, "SigningKey and SigningKeyID are required")
	} else if _, ok := cfg.SigningKey.Public().(*rsa.PublicKey); !ok {
		problems = append(problems, "SigningKey must be an RSA key (PS256)")
	}
	if cfg.EncryptionKey != nil {
		if _, ok := cfg.EncryptionKey.Public().(*rsa.PublicKey); !ok {
			problems = append(problems, "EncryptionKey must be an RSA key (RSA-OAEP)")
		}
		if cfg.EncryptionKeyID == "" {
			problems = append(problems, "EncryptionKeyID is required with EncryptionKey")
		}
	}
	if u, err := url.Parse(cfg.RedirectURI); err != nil || u.Scheme != "https" || u.Host == "" || u.Fragment != "" {
		problems = append(problems, "RedirectURI must be an https URL without a fragment")
	}
	if cfg.JWKSURI != "" {
		if u, err := url.Parse(cfg.JWKSURI); err != nil || u.Scheme != "https" {
			problems = append(problems, "JWKSURI must be an https URL")
		}
	}
	if cfg.APIBaseURL != "" {
		if u, err := url.Parse(cfg.APIBaseURL); err != nil || u.Scheme != "https" || u.Host == "" {
			problems = append(problems, "APIBaseURL must be an https URL")
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", ErrConfig, strings.Join(problems, "; "))
	}
	return nil
}

func (c *Client) discover(ctx context.Context) error {
	u := strings.TrimRight(c.cfg.Issuer, "/") + "/.well-known/openid-configuration"
	resp, err := c.send(ctx, http.MethodGet, u, "", nil, "", nil)
	if err != nil {
		return fmt.Errorf("%w: GET %s: %w", ErrDiscovery, u, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%w: GET %s: HTTP %d", ErrDiscovery, u, resp.StatusCode)
	}
	if err := json.Unmarshal(resp.Body, &c.disc); err != nil {
		return fmt.Errorf("%w: %s is not a JSON discovery document: %w", ErrDiscovery, u, err)
	}
	d := c.disc
	if d.Issuer != c.cfg.Issuer {
		return fmt.Errorf("%w: discovery names issuer %q, not %q", ErrDiscovery, d.Issuer, c.cfg.Issuer)
	}
	for name, v := range map[string]string{"authorization_endpoint": d.AuthorizationEndpoint, "token_endpoint": d.tokenURL(),
		"pushed_authorization_request_endpoint": d.parURL(), "jwks_uri": d.JWKSURI} {
		if pu, err := url.Parse(v); v == "" || err != nil || pu.Scheme != "https" {
			return fmt.Errorf("%w: discovery has no https %s", ErrDiscovery, name)
		}
	}
	return nil
}

// Discovery returns the holder's metadata read by New.
func (c *Client) Discovery() Discovery { return c.disc }

// ClientID is the registered client_id ("" before Register).
func (c *Client) ClientID() string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.clientID
}

func (c *Client) setClientID(id string) {
	c.mu.Lock()
	c.clientID = id
	c.mu.Unlock()
}

func (c *Client) registeredID() (string, error) {
	id := c.ClientID()
	if id == "" {
		return "", ErrNotRegistered
	}
	return id, nil
}

// interactionKey carries a caller-chosen x-fapi-interaction-id.
type interactionKey struct{}

// WithInteractionID makes the requests sent under ctx carry id as
// x-fapi-interaction-id instead of a fresh UUID (to correlate with the
// caller's own records).
func WithInteractionID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, interactionKey{}, id)
}

// interactionTransport sets x-fapi-interaction-id on every request and
// refuses a response that echoes a different one.
type interactionTransport struct{ base http.RoundTripper }

func (t interactionTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	id := r.Header.Get(HeaderInteractionID)
	if id == "" {
		id, _ = r.Context().Value(interactionKey{}).(string)
		if id == "" {
			id = uuid.NewString()
		}
		r = r.Clone(r.Context())
		r.Header.Set(HeaderInteractionID, id)
	}
	resp, err := t.base.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	if got := resp.Header.Get(HeaderInteractionID); got != "" && got != id {
		resp.Body.Close()
		return nil, fmt.Errorf("%w: sent %s, got %s", ErrInteractionIDMismatch, id, clip(got, 64))
	}
	if resp.Header.Get(HeaderInteractionID) == "" {
		resp.Header.Set(HeaderInteractionID, id) // the id this exchange ran under, for the caller's records
	}
	return resp, nil
}

// Response is a raw answer of the holder.
type Response struct {
	StatusCode    int
	Header        http.Header
	Body          []byte
	InteractionID string
}

// send performs one request over the mTLS client and reads at most maxBody
// bytes of the answer.
func (c *Client) send(ctx context.Context, method, u, contentType string, body []byte, bearer string, header http.Header) (*Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("fapi: build %s %s: %w", method, u, err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("fapi: %s %s: read the response: %w", method, u, err)
	}
	if len(out) > maxBody {
		return nil, fmt.Errorf("fapi: %s %s: response larger than %d bytes", method, u, maxBody)
	}
	return &Response{StatusCode: resp.StatusCode, Header: resp.Header, Body: out, InteractionID: resp.Header.Get(HeaderInteractionID)}, nil
}

// oauthPost posts a form to an authorization-server endpoint and turns a
// non-2xx answer into an *OAuthError.
func (c *Client) oauthPost(ctx context.Context, endpoint, u string, form url.Values) (*Response, error) {
	resp, err := c.send(ctx, http.MethodPost, u, "application/x-www-form-urlencoded", []byte(form.Encode()), "", nil)
	if err != nil {
		return nil, fmt.Errorf("fapi: %s endpoint: %w", endpoint, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, oauthError(endpoint, resp)
	}
	return resp, nil
}

func oauthError(endpoint string, resp *Response) *OAuthError {
	e := &OAuthError{Endpoint: endpoint, StatusCode: resp.StatusCode, InteractionID: resp.InteractionID}
	var body struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if json.Unmarshal(resp.Body, &body) == nil {
		e.Code, e.Description = body.Error, body.Description
	}
	return e
}

// apiError builds the *APIError of a non-2xx API answer.
func apiError(method, u string, resp *Response) *APIError {
	e := &APIError{Method: method, URL: u, StatusCode: resp.StatusCode, InteractionID: resp.InteractionID, Header: resp.Header}
	e.Body = resp.Body
	if len(e.Body) > 4096 {
		e.Body = e.Body[:4096]
	}
	var body struct {
		Errors []ErrorDetail `json:"errors"`
	}
	if json.Unmarshal(resp.Body, &body) == nil {
		e.Errors = body.Errors
	}
	return e
}

func isJSON(h http.Header) bool {
	mt, _, err := mime.ParseMediaType(h.Get("Content-Type"))
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

var errNoJSON = errors.New("the body is not JSON")
