package customerdata

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/ofp-dev/ofp/consent"
	"github.com/ofp-dev/ofp/consent/consentsql"
)

// Base paths of the three APIs (the specs' servers).
const (
	AccountsBasePath    = "/open-banking/accounts/v2"
	CreditCardsBasePath = "/open-banking/credit-cards-accounts/v2"
	CustomersBasePath   = "/open-banking/customers/v2"
)

// Versions answered in the x-v header.
const (
	AccountsVersion    = "2.4.2"
	CreditCardsVersion = "2.3.1"
	CustomersVersion   = "2.2.1"
)

// Identity is who called: the receiver's OAuth client and the consent its
// access token carries (consent:<urn>). OrgID and SoftwareStatementID are
// optional; when set they go into the API-call record (clientOrgId).
type Identity struct {
	ClientID            string
	ConsentID           string
	OrgID               string
	SoftwareStatementID string
}

// Caller names the caller of r. It runs after the token guard (Options.Guard,
// or whatever the lead puts in front) and only reads what the guard put in
// the request: with authz/server, server.TokenFrom(r.Context()). An error,
// or an empty ClientID or ConsentID, is answered 401.
type Caller func(r *http.Request) (Identity, error)

// Consents is what the APIs read from the consent store; *consentsql.Store
// satisfies it. Nothing here writes consent state.
type Consents interface {
	Get(ctx context.Context, id string) (consent.Consent, error)
	Resources(ctx context.Context, id string) ([]consent.Resource, error)
}

var _ Consents = (*consentsql.Store)(nil)

// Requirement is what an endpoint needs from the access token, for the
// token guard: every scope in Scopes ("consent" meaning any consent:<urn>
// scope, as authz/server.Requirement has it) and a token of GrantType.
type Requirement struct {
	Scopes    []string
	GrantType string
}

// Route is one endpoint: its Go 1.22 ServeMux pattern (method and full
// path), what the token must carry, and the consent permission it needs.
type Route struct {
	Method string
	// Pattern is the full path with {wildcards}, e.g.
	// "/open-banking/accounts/v2/accounts/{accountId}/balances".
	Pattern     string
	Requirement Requirement
	// Permission is the consent permission the endpoint checks (the spec's
	// info.description table).
	Permission string
}

// Guard wraps one endpoint with the token check for its Requirement; with
// authz/server it is
//
//	func(req customerdata.Requirement) func(http.Handler) http.Handler {
//		return srv.Protect(server.Requirement{Scopes: req.Scopes, GrantType: req.GrantType})
//	}
//
// It is applied inside the API's ServeMux, per route, so the matched
// pattern is known to the API-call record even when the guard refuses.
type Guard func(Requirement) func(http.Handler) http.Handler

// Options configure every API of this package (and consent/resourceshttp).
// Consents and Caller are required.
type Options struct {
	Consents Consents
	Caller   Caller
	// Guard, when set, wraps every endpoint (see Guard). Without it the
	// caller must protect the handler as a whole; Caller then trusts
	// whatever identifies the client.
	Guard Guard
	// Limiter limits calls per client id (429 above it): a Limiter per
	// process, or authz/store.ClientRateLimiter shared by the replicas.
	// Share one between the APIs so a client's budget is global. nil: no
	// limit.
	Limiter RateLimiter
	// PublicURL is the scheme and host of links ("https://api.bank.com.br"),
	// the host the directory publishes. Set it in production: credit-cards
	// 2.3.1 links must match a pattern that wants a domain name with a TLD,
	// which a bare IP or "localhost" is not. Empty: derived from the request.
	PublicURL string
	// PaginationKeySecret signs the pagination-key of links (HMAC-SHA256).
	// Replicas must share it for keys to survive a hop to another replica;
	// empty: a random secret per process.
	PaginationKeySecret []byte
	// PaginationKeyTTL is how long a pagination-key stays valid; default 1 h.
	PaginationKeyTTL time.Duration
	// Now is the clock (requestDateTime, "today" of date filters, consent
	// expiry); default time.Now. Times are used in UTC.
	Now func() time.Time
	// Logger defaults to slog.Default(). Nothing per request is logged
	// except failures of the store or the core.
	Logger *slog.Logger
}

// TokenRequirement is the requirement every customer-data endpoint has:
// an authorization_code token with openid, the API's scope and a consent.
func TokenRequirement(scope string) Requirement {
	return Requirement{Scopes: []string{"openid", scope, "consent"}, GrantType: "authorization_code"}
}

// validate fills defaults and checks required options.
func (o Options) validate() (Options, error) {
	if o.Consents == nil {
		return o, errors.New("customerdata: Options.Consents is required")
	}
	if o.Caller == nil {
		return o, errors.New("customerdata: Options.Caller is required")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.PaginationKeyTTL <= 0 {
		o.PaginationKeyTTL = time.Hour
	}
	if len(o.PaginationKeySecret) == 0 {
		o.PaginationKeySecret = make([]byte, 32)
		if _, err := rand.Read(o.PaginationKeySecret); err != nil {
			return o, fmt.Errorf("customerdata: pagination key secret: %w", err)
		}
	}
	return o, nil
}

// API is one customer-data API: an http.Handler with its routes registered
// as Go 1.22 ServeMux patterns ("GET /open-banking/accounts/v2/accounts/{accountId}"),
// so apicalls.TemplateOf gives the templated endpoint.
type API struct {
	mux    *http.ServeMux
	routes []Route
}

// ServeHTTP serves the API.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

// Routes returns the endpoints with their token requirement and permission.
func (a *API) Routes() []Route { return append([]Route(nil), a.routes...) }
