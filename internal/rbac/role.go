package rbac

import (
	"context"
	"net/http"
	"slices"
)

// Role is what a user may do. Staff roles form a hierarchy,
// admin ⊃ operator ⊃ viewer; customer is a separate scope (self-service on
// the customer's own data) that no staff role includes.
type Role string

const (
	// RoleViewer reads: registries, consents, dashboards.
	RoleViewer Role = "viewer"
	// RoleOperator does what a viewer does and runs operations (reprocess,
	// retry, revoke on a customer's behalf).
	RoleOperator Role = "operator"
	// RoleAdmin does everything, including changing configuration such as
	// the purposes registry.
	RoleAdmin Role = "admin"
	// RoleCustomer acts only on the data of Principal.CustomerDocument.
	RoleCustomer Role = "customer"
)

// Roles lists every role.
var Roles = []Role{RoleViewer, RoleOperator, RoleAdmin, RoleCustomer}

// rank orders the staff hierarchy; customer has no rank.
var rank = map[Role]int{RoleViewer: 1, RoleOperator: 2, RoleAdmin: 3}

// Valid reports whether r is one of Roles.
func (r Role) Valid() bool { return slices.Contains(Roles, r) }

// Grants reports whether holding r is enough for an action that needs
// required: a staff role grants itself and the staff roles below it;
// customer grants only customer.
func (r Role) Grants(required Role) bool {
	if r == RoleCustomer || required == RoleCustomer {
		return r == required
	}
	have, ok1 := rank[r]
	need, ok2 := rank[required]
	return ok1 && ok2 && have >= need
}

// Principal is an authenticated user.
type Principal struct {
	Username string
	Roles    []Role
	// CustomerDocument is the CPF or CNPJ a customer-scoped user acts for;
	// empty for staff.
	CustomerDocument string
}

// Has reports whether any of the principal's roles grants required.
func (p Principal) Has(required Role) bool {
	for _, r := range p.Roles {
		if r.Grants(required) {
			return true
		}
	}
	return false
}

type principalKey struct{}

// WithPrincipal returns a context carrying p (Guard does this).
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal a Guard authenticated for the request.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// Actor returns the username of the request's principal, or "" (for logs
// and audit fields).
func Actor(r *http.Request) string {
	p, _ := PrincipalFrom(r.Context())
	return p.Username
}
