// Package server assembles the FAPI-BR authorization server on top of the
// github.com/luikyv/go-oidc protocol engine (see authz/DESIGN.md): one
// go-oidc provider per brand (issuer), signing and decrypting with the
// brand's authz/keys material, reading clients registered by authz/dcr, and
// the HTTP glue the library leaves to us: routing by issuer path, putting the
// mTLS client certificate into the request context, requiring a client
// certificate and x-fapi-interaction-id on the mTLS endpoints, and echoing
// the interaction id.
//
// It never registers clients (authz/dcr does, mounted per brand at
// /register), never stores keys (authz/keys does), never terminates TLS
// (the caller serves Handler with pki.TLSServerConfig) and never writes
// consent state.
//
// Storage: Options.Storage nil means go-oidc's in-memory managers, which are
// only correct for a single replica (tests and demo mode); the SQL managers
// described in DESIGN.md plug in through the same fields.
package server
