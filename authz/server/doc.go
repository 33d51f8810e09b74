// Package server assembles the FAPI-BR authorization server on top of the
// github.com/luikyv/go-oidc protocol engine (see authz/DESIGN.md): one
// go-oidc provider per brand (issuer), signing and decrypting with the
// brand's authz/keys material, reading clients registered by authz/dcr, and
// what the library leaves to us:
//
//   - HTTP glue: routing by issuer path, the mTLS client certificate in the
//     request context, a client certificate and x-fapi-interaction-id
//     required on the mTLS endpoints (echoed everywhere), and on the
//     client-authenticated endpoints a check that the certificate belongs
//     to the client (DCR software_id/org_id).
//   - Consent binding through ConsentGate (declared here, implemented over
//     the consent store by cmd/ofp): the PAR hook checks the consent:<urn>
//     scope, the login policy checks the customer, the approval authorises
//     the consent only after the grant holding the code is stored
//     (consentGrants), and tokens of a consent that is not AUTHORISED are
//     refused at the token endpoint, introspect inactive and fail Protect.
//     RevokeConsentTokens satisfies consent/consenthttp.TokenRevoker.
//     A gate that is also a ResourceNarrower narrows the resources the
//     consent page offers (a payment consent that names its debtor account
//     offers that account only); ConsentInfo.Payment is what the page
//     shows of a payment.
//   - The login-and-consent policy per brand: authz/login pages and forms,
//     customers authenticated by an authz/idp Provider, failed logins
//     limited, acr loa2/loa3 and auth_time in id_tokens.
//   - Protect, the resource-server middleware (mTLS, bound Bearer token,
//     scopes, grant type, consent) and TokenFrom.
//
// It never registers clients (authz/dcr does, mounted per brand at
// /register), never stores keys (authz/keys does), never terminates TLS
// (the caller serves Handler with pki.TLSServerConfig), never writes
// consent state except the customer's two decisions through ConsentGate
// (Authorise, Reject), and never logs form values, tokens or documents.
//
// Storage: Options.StorageFor gives each brand its go-oidc managers
// (authz/store in production). nil means a MemoryStorage per brand, only
// correct for a single replica (tests); likewise Options.LoginLimiter
// (authz/store's shared limiter in cmd/ofp, an in-process login.Limiter
// when nil) and the keys (authz/keys on authz/store's key store).
package server
