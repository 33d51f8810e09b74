package rbac

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/ofp-dev/ofp/internal/httpx"
)

// Error codes of the bodies Guard answers.
const (
	CodeUnauthenticated = "NAO_AUTENTICADO"
	CodeForbidden       = "ACESSO_NEGADO"
	CodeInternal        = "ERRO_INTERNO"
)

// GuardOptions configures a Guard. The zero value is usable.
type GuardOptions struct {
	// Realm is the Basic realm announced in WWW-Authenticate; default "ofp".
	Realm string
	// Logger receives one Warn record per denied request; default slog.Default().
	Logger *slog.Logger
	// Now is the clock for meta.requestDateTime; default time.Now.
	Now func() time.Time
	// Unauthenticated, when set, answers requests without valid
	// credentials instead of the 401 JSON body (browser pages: a redirect
	// to a login form). The denial is logged either way.
	Unauthenticated http.Handler
	// Forbidden, when set, answers requests whose principal lacks the role
	// instead of the 403 JSON body (browser pages: an HTML page). It must
	// answer 403; the principal is in the request context.
	Forbidden http.Handler
}

// Guard turns an Authenticator into HTTP middleware that enforces roles.
type Guard struct {
	auth      Authenticator
	realm     string
	log       *slog.Logger
	now       func() time.Time
	unauth    http.Handler
	forbidden http.Handler
}

// NewGuard returns a Guard that authenticates with auth.
func NewGuard(auth Authenticator, opts GuardOptions) *Guard {
	g := &Guard{auth: auth, realm: opts.Realm, log: opts.Logger, now: opts.Now, unauth: opts.Unauthenticated, forbidden: opts.Forbidden}
	if g.realm == "" {
		g.realm = "ofp"
	}
	if g.log == nil {
		g.log = slog.Default()
	}
	if g.now == nil {
		g.now = time.Now
	}
	return g
}

// Require lets a request through only if its principal has a role that
// grants role (see Role.Grants). Otherwise it answers 401 with
// WWW-Authenticate (no or wrong credentials) or 403 (authenticated, role
// insufficient), in the Open Finance error shape, and logs the denial
// without credentials. The principal is in the context of the wrapped
// handler (PrincipalFrom).
func (g *Guard) Require(role Role) func(http.Handler) http.Handler {
	return g.RequireFunc(func(*http.Request) Role { return role })
}

// RequireMethods is Require with read for GET, HEAD and OPTIONS and write
// for every other method.
func (g *Guard) RequireMethods(read, write Role) func(http.Handler) http.Handler {
	return g.RequireFunc(func(r *http.Request) Role {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			return read
		}
		return write
	})
}

// RequireFunc is Require with the needed role chosen per request.
func (g *Guard) RequireFunc(roleFor func(*http.Request) Role) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			need := roleFor(r)
			p, err := g.auth.Authenticate(r)
			switch {
			case errors.Is(err, ErrNoCredentials), errors.Is(err, ErrBadCredentials):
				reason := "no credentials"
				if errors.Is(err, ErrBadCredentials) {
					reason = "invalid credentials"
				}
				g.deny(r, need, "", nil, reason)
				if g.unauth != nil {
					g.unauth.ServeHTTP(w, r)
					return
				}
				w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Basic realm=%q, charset="UTF-8"`, g.realm))
				g.write(w, http.StatusUnauthorized, CodeUnauthenticated, "Authentication required",
					"send valid credentials (HTTP Basic) to use this endpoint")
				return
			case err != nil:
				g.log.Error("rbac: authenticator failed", "method", r.Method, "path", r.URL.Path, "err", err)
				g.write(w, http.StatusInternalServerError, CodeInternal, "Internal error", "authentication is unavailable; try again later")
				return
			}
			if !p.Has(need) {
				g.deny(r, need, p.Username, p.Roles, "role insufficient")
				if g.forbidden != nil {
					g.forbidden.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
					return
				}
				g.write(w, http.StatusForbidden, CodeForbidden, "Access denied",
					fmt.Sprintf("this operation needs the %s role", need))
				return
			}
			next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
		})
	}
}

// Deny logs a refusal that a guarded handler decides itself (for example a
// customer asking for another customer's consent), in the same form as the
// Guard's own denials; the handler answers 403. The principal comes from
// the request context.
func (g *Guard) Deny(r *http.Request, need Role, reason string) {
	p, _ := PrincipalFrom(r.Context())
	g.deny(r, need, p.Username, p.Roles, reason)
}

// deny logs a denied request. It never logs the Authorization header, the
// password or the attempted username of a failed login (users sometimes
// type their password there).
func (g *Guard) deny(r *http.Request, need Role, user string, roles []Role, reason string) {
	rs := make([]string, len(roles))
	for i, x := range roles {
		rs[i] = string(x)
	}
	g.log.Warn("rbac: access denied", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr,
		"required_role", string(need), "user", user, "roles", strings.Join(rs, ","), "reason", reason)
}

func (g *Guard) write(w http.ResponseWriter, status int, code, title, detail string) {
	httpx.WriteErrorAt(w, status, g.now(), httpx.ErrorDetail{Code: code, Title: title, Detail: detail})
}
