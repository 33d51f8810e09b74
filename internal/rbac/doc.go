// Package rbac owns who may call the operator-facing HTTP APIs: the roles
// (viewer ⊂ operator ⊂ admin, plus the separate customer scope for
// self-service), the users-and-roles configuration file (JSON, validated by
// ParseConfig), the Authenticator interface with an HTTP Basic
// implementation over bcrypt hashes, and the Guard middleware that answers
// 401 (with WWW-Authenticate) or 403 in the Open Finance error shape and
// logs every denial.
//
// Typical wiring (cmd/ofp):
//
//	cfg, err := rbac.LoadConfig(path)
//	auth, err := rbac.NewBasicAuthenticator(cfg)
//	guard := rbac.NewGuard(auth, rbac.GuardOptions{Logger: log})
//	mux.Handle("/admin/v1/purposes/", guard.RequireMethods(rbac.RoleViewer, rbac.RoleAdmin)(admin))
//
// Browser pages set GuardOptions.Unauthenticated (a login redirect) and
// Forbidden (an HTML 403) instead of the JSON answers; handlers that refuse
// within their own scope (a customer asking for another customer's data)
// log the refusal with Guard.Deny, in the same form as the Guard's own.
//
// It never logs or returns passwords, password hashes or Authorization
// headers (User redacts its hash in String, GoString and LogValue); it
// never stores users (the file is the source of truth, reload means
// restart); and it knows nothing about the handlers it guards: what a
// customer may see of its own data is decided by the handler, from
// PrincipalFrom(ctx).CustomerDocument.
package rbac
