package portal

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/ofp-dev/ofp/consent"
	"github.com/ofp-dev/ofp/consent/consentsql"
	"github.com/ofp-dev/ofp/consent/purposes"
	"github.com/ofp-dev/ofp/internal/rbac"
)

// Store is what the portal, the console and the admin API need from the
// consent store; *consentsql.Store satisfies it.
type Store interface {
	Get(ctx context.Context, id string) (consent.Consent, error)
	History(ctx context.Context, id string) ([]consent.AuditEntry, error)
	Extensions(ctx context.Context, id string) ([]consent.Extension, error)
	Resources(ctx context.Context, id string) ([]consent.Resource, error)
	Search(ctx context.Context, f consentsql.Filter) (consentsql.Page, error)
	CustomerConsents(ctx context.Context, document string) (consentsql.CustomerConsents, error)
	ApplyEventCascade(ctx context.Context, id string, ev consent.Event, actor consent.AuditActor, opts consentsql.LinkedOptions) (consent.Consent, consentsql.Cascade, error)
	Extend(ctx context.Context, id string, ext consent.Extension, actor consent.AuditActor) (consent.Consent, consent.Extension, error)
	GrantPurpose(ctx context.Context, p consent.PurposeConsent, actor consent.AuditActor) (consent.PurposeConsent, error)
	GetPurpose(ctx context.Context, id string) (consent.PurposeConsent, error)
	PurposeHistory(ctx context.Context, id string) ([]consent.PurposeAuditEntry, error)
	LinkedPurposes(ctx context.Context, id string) ([]consent.PurposeConsent, error)
	RevokePurpose(ctx context.Context, id string, actor consent.AuditActor, opts consentsql.LinkedOptions) (consent.PurposeConsent, consentsql.Cascade, error)
	RenewPurpose(ctx context.Context, id string, expiresAt *time.Time, actor consent.AuditActor) (consent.PurposeConsent, error)
}

var _ Store = (*consentsql.Store)(nil)

// CustomerAuthenticator checks a customer's login on the portal. The lead
// plugs in the identity provider of authz; tests use a small one.
type CustomerAuthenticator interface {
	// AuthenticateCustomer returns the customer's document (CPF, 11 digits,
	// or CNPJ, 14 digits) when password is right for document, and
	// ErrBadCustomerCredentials (possibly wrapped) when it is not. Any
	// other error is a failure of the provider.
	AuthenticateCustomer(ctx context.Context, document, password string) (string, error)
}

// ErrBadCustomerCredentials: unknown document or wrong password.
var ErrBadCustomerCredentials = errors.New("portal: invalid customer credentials")

// TokenRevoker revokes the tokens of a consent (authz/server's
// (*Server).RevokeConsentTokens satisfies it).
type TokenRevoker interface {
	RevokeConsentTokens(ctx context.Context, consentID string) error
}

// ClientNames names the receivers' OAuth clients for people (the DCR
// client store's client_name); optional.
type ClientNames interface {
	ClientName(ctx context.Context, clientID string) (string, bool)
}

// Options configures the portal. Store, Purposes, Customers, Staff and a
// SessionKey of at least 32 bytes are required.
type Options struct {
	Store    Store
	Purposes *purposes.Store
	// Institution is the URN namespace of purpose consent IDs
	// ("urn:<Institution>:<uuid>"); default "ofp".
	Institution string
	// Customers checks portal logins (document + password).
	Customers CustomerAuthenticator
	// Staff authenticates operators of the console and the admin APIs
	// (rbac.NewBasicAuthenticator over the users file).
	Staff rbac.Authenticator
	// Tokens revokes the tokens of HOLDER consents rejected through the
	// portal, console or admin API (and of those rejected by a cascade).
	// Optional: nil revokes nothing (tests, local runs).
	Tokens TokenRevoker
	// ClientNames names receivers on the customer's pages; optional.
	ClientNames ClientNames
	// Payments lists the customer's Pix payments still to be made and
	// cancels them (cancelledFrom DETENTORA); optional.
	Payments Payments
	// SessionKey signs customer session cookies and CSRF tokens (HMAC-SHA256);
	// at least 32 random bytes, the same on every replica.
	SessionKey []byte
	// SessionTTL is how long a customer session lasts; default 15 minutes.
	SessionTTL time.Duration
	// InsecureCookies drops the Secure flag of the session cookie, for
	// plain-HTTP local runs and tests only.
	InsecureCookies bool
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Portal serves the customer portal, the operator console and the consent
// admin API.
type Portal struct {
	o         Options
	pages     *template.Template
	staff     *rbac.Guard
	customers *rbac.Guard
	sessions  sessions
}

// New validates opts and builds the portal.
func New(opts Options) (*Portal, error) {
	switch {
	case opts.Store == nil:
		return nil, errors.New("portal: Options.Store is required")
	case opts.Purposes == nil:
		return nil, errors.New("portal: Options.Purposes is required")
	case opts.Customers == nil:
		return nil, errors.New("portal: Options.Customers is required (a CustomerAuthenticator)")
	case opts.Staff == nil:
		return nil, errors.New("portal: Options.Staff is required (an rbac.Authenticator)")
	case len(opts.SessionKey) < 32:
		return nil, errors.New("portal: Options.SessionKey must have at least 32 bytes")
	}
	if opts.Institution == "" {
		opts.Institution = "ofp"
	}
	if _, err := consent.NewID(opts.Institution); err != nil {
		return nil, fmt.Errorf("portal: Options.Institution: %w", err)
	}
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = 15 * time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	p := &Portal{o: opts, pages: pages}
	p.sessions = sessions{key: append([]byte(nil), opts.SessionKey...), ttl: opts.SessionTTL, now: opts.Now, secure: !opts.InsecureCookies}
	p.staff = rbac.NewGuard(opts.Staff, rbac.GuardOptions{Realm: "ofp-console", Logger: opts.Logger, Now: opts.Now})
	p.customers = rbac.NewGuard(p.sessions, rbac.GuardOptions{
		Realm: "ofp-portal", Logger: opts.Logger, Now: opts.Now,
		Unauthenticated: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, LoginPath, http.StatusSeeOther)
		}),
		Forbidden: http.HandlerFunc(p.forbiddenPage),
	})
	return p, nil
}

// Paths the portal answers under.
const (
	PortalPrefix  = "/portal/"
	LoginPath     = "/portal/login"
	ConsolePrefix = "/console/"
	AdminConsents = "/admin/v1/consents"
	AdminCustomer = "/admin/v1/customers/"
	AdminPurposeC = "/admin/v1/purpose-consents"
)

// Mount registers every consent page and internal API on mux, each behind
// internal/rbac:
//
//	/portal/...                 customer portal (login form; then the customer scope)
//	/console/...                operator console (viewer reads; operator revokes)
//	/admin/v1/consents...       consent search, detail, revoke (viewer; operator for POST)
//	/admin/v1/customers/{doc}/consents  every consent of a customer, both ecosystems (viewer)
//	/admin/v1/purpose-consents...       grant, detail, revoke purpose consents (viewer; operator for POST)
//	/admin/v1/purposes...       purposes registry admin API (viewer reads; admin writes)
//
// Mount these on the internal listener only.
func (p *Portal) Mount(mux *http.ServeMux) {
	mux.Handle(LoginPath, http.HandlerFunc(p.login))
	mux.Handle(PortalPrefix, p.customers.Require(rbac.RoleCustomer)(http.HandlerFunc(p.customerRoutes)))
	mux.Handle(ConsolePrefix, p.staff.RequireFunc(operatorFor)(http.HandlerFunc(p.consoleRoutes)))
	api := p.staff.RequireFunc(operatorFor)(http.HandlerFunc(p.adminRoutes))
	mux.Handle(AdminConsents, api)
	mux.Handle(AdminConsents+"/", api)
	mux.Handle(AdminCustomer, api)
	mux.Handle(AdminPurposeC, api)
	mux.Handle(AdminPurposeC+"/", api)
	admin := p.staff.RequireMethods(rbac.RoleViewer, rbac.RoleAdmin)(purposes.NewAdminHandler(p.o.Purposes, purposes.AdminOptions{
		Now: p.o.Now, Logger: p.o.Logger, Actor: rbac.Actor,
	}))
	mux.Handle(purposes.AdminPrefix, admin)
	mux.Handle(purposes.AdminPrefix+"/", admin)
}

// Handler is Mount on a fresh mux, for a listener of its own.
func (p *Portal) Handler() http.Handler {
	mux := http.NewServeMux()
	p.Mount(mux)
	return mux
}

// operatorFor: reading needs viewer; any write, and the revoke pages, operator.
func operatorFor(r *http.Request) rbac.Role {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return rbac.RoleOperator
	}
	if strings.HasSuffix(r.URL.Path, "/revoke") || strings.HasSuffix(r.URL.Path, "/cancel") {
		return rbac.RoleOperator
	}
	return rbac.RoleViewer
}

// RevokeKind is why an operator revokes.
type RevokeKind string

const (
	// KindCustomerRequest: the customer asked (call centre, branch):
	// recorded as the customer's revocation (rejectedBy USER).
	KindCustomerRequest RevokeKind = "CUSTOMER_REQUEST"
	// KindSecurity: the institution's security policy (rejectedBy ASPSP,
	// INTERNAL_SECURITY_REASON).
	KindSecurity RevokeKind = "SECURITY"
)

// revokeEvent picks the regulated event that revokes c for kind.
func revokeEvent(c consent.Consent, kind RevokeKind) consent.Event {
	switch {
	case kind == KindSecurity && c.Role == consent.RoleHolder:
		return consent.EventRejectSecurity
	case c.Role == consent.RoleReceiver:
		// We are the TPP: the receiver connector DELETEs it at the holder
		// from the lifecycle event.
		return consent.EventRevokeByTPP
	case c.Status == consent.StatusAwaitingAuthorisation:
		return consent.EventRejectByUser
	}
	return consent.EventRevokeByUser
}

// revokeConsent rejects a regulated consent and its linked consents as the
// rules say, then revokes the tokens of every HOLDER consent it rejected.
func (p *Portal) revokeConsent(ctx context.Context, c consent.Consent, kind RevokeKind, actor consent.AuditActor, opts consentsql.LinkedOptions) (consent.Consent, consentsql.Cascade, error) {
	got, cas, err := p.o.Store.ApplyEventCascade(ctx, c.ID, revokeEvent(c, kind), actor, opts)
	if err != nil {
		return consent.Consent{}, consentsql.Cascade{}, err
	}
	p.revokeTokens(ctx, append([]consent.Consent{got}, cas.Rejected...))
	return got, cas, nil
}

func (p *Portal) revokePurpose(ctx context.Context, id string, actor consent.AuditActor, opts consentsql.LinkedOptions) (consent.PurposeConsent, consentsql.Cascade, error) {
	got, cas, err := p.o.Store.RevokePurpose(ctx, id, actor, opts)
	if err != nil {
		return consent.PurposeConsent{}, consentsql.Cascade{}, err
	}
	p.revokeTokens(ctx, cas.Rejected)
	return got, cas, nil
}

func (p *Portal) revokeTokens(ctx context.Context, cs []consent.Consent) {
	if p.o.Tokens == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	for _, c := range cs {
		if c.Role == consent.RoleReceiver || c.Status != consent.StatusRejected {
			continue
		}
		if err := p.o.Tokens.RevokeConsentTokens(ctx, c.ID); err != nil {
			p.o.Logger.Error("portal: revoke tokens of a rejected consent", "consent_id", c.ID, "err", err)
		}
	}
}

// GrantRequest asks for a purpose consent on the customer's behalf.
type GrantRequest struct {
	PurposeID string
	Customer  consent.Document
	PartnerID string
	// LinkedConsentID optionally ties it to a regulated consent of the customer.
	LinkedConsentID string
	// DurationDays: 0 takes the purpose's default (open-ended when it has
	// none); it may not exceed the purpose's maximum.
	DurationDays int
}

// ErrGrant: the request does not fit the purpose (unknown purpose,
// duration beyond the maximum). The message says why.
var ErrGrant = errors.New("portal: purpose consent request refused")

// GrantPurpose grants a purpose consent with what the registry says about
// the purpose: its permissions, legal basis, revocation rule (copied into
// the consent) and duration limits.
func (p *Portal) GrantPurpose(ctx context.Context, req GrantRequest, actor consent.AuditActor) (consent.PurposeConsent, error) {
	pur, err := p.o.Purposes.Get(ctx, req.PurposeID)
	if errors.Is(err, purposes.ErrNotFound) {
		return consent.PurposeConsent{}, fmt.Errorf("%w: purpose %q is not registered", ErrGrant, req.PurposeID)
	}
	if err != nil {
		return consent.PurposeConsent{}, err
	}
	days := req.DurationDays
	if days < 0 {
		return consent.PurposeConsent{}, fmt.Errorf("%w: durationDays must not be negative", ErrGrant)
	}
	if days == 0 && pur.DefaultDurationDays != nil {
		days = *pur.DefaultDurationDays
	}
	if pur.MaxDurationDays != nil && (days == 0 || days > *pur.MaxDurationDays) {
		return consent.PurposeConsent{}, fmt.Errorf("%w: purpose %s allows at most %d days", ErrGrant, pur.ID, *pur.MaxDurationDays)
	}
	id, err := consent.NewID(p.o.Institution)
	if err != nil {
		return consent.PurposeConsent{}, err
	}
	pc := consent.PurposeConsent{
		ID: id, PurposeID: pur.ID, LegalBasis: string(pur.LegalBasis), RevocationRule: consent.LinkRule(pur.RevocationRule),
		Customer: req.Customer, PartnerID: req.PartnerID, LinkedConsentID: req.LinkedConsentID, Permissions: pur.Permissions(),
	}
	if days > 0 {
		exp := p.o.Now().UTC().Add(time.Duration(days) * 24 * time.Hour)
		pc.ExpiresAt = &exp
	}
	if _, err := consent.NewPurposeConsent(pc, p.o.Now()); err != nil {
		return consent.PurposeConsent{}, fmt.Errorf("%w: %v", ErrGrant, err)
	}
	return p.o.Store.GrantPurpose(ctx, pc, actor)
}
