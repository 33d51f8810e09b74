// Package fapi is the data receiver's client of a holder under the Open
// Finance Brasil security profile (FAPI-BR): the base of the receiver
// connectors. It is built only on golang.org/x/oauth2, go-jose and
// net/http, and never on ofp's own authorization server (authz/**), so
// that testing one against the other proves interoperability.
//
// A Client is configured with the holder's issuer (New reads discovery and
// checks its issuer), the transport certificate presented on every mTLS
// connection, the PS256 signing key and, optionally, the RSA-OAEP
// encryption key (crypto.Signer / crypto.Decrypter, so HSM keys fit), and
// the redirect and jwks URIs. It owns:
//
//   - DCR/DCM: Register with a directory-signed software statement,
//     GetRegistration, UpdateRegistration, DeleteRegistration;
//   - client authentication: private_key_jwt (PS256, fresh jti, 1-minute
//     assertions) on token, PAR, introspection and revocation calls — also
//     for x/oauth2's own requests (a transport adds the assertion), so
//     TokenSource refreshes work;
//   - ClientCredentials, Exchange (PKCE S256), Refresh, TokenSource,
//     Introspect, Revoke;
//   - the authorization request: NewAuthRequest (state, nonce, PKCE
//     verifier, essential acr loa2/loa3), the PS256 request object
//     (optionally encrypted RSA-OAEP/A256GCM to the holder's enc key),
//     PushAuthorization / PushRequestObject (PAR), AuthorizeURL;
//   - the response: HandleCallback (fragment response mode, redirect URI,
//     state, front-channel id_token with c_hash and s_hash) and
//     ValidateIDToken (decryption when the client has an encryption key —
//     then encryption is mandatory —, PS256 signature by the holder's JWKS,
//     refetched on an unknown kid, no embedded keys, iss, aud/azp, exp, iat,
//     nonce, acr, at_hash);
//   - the Consents API 3.3.1 (CreateConsent, GetConsent, DeleteConsent) and
//     resource calls (Get, GetJSON, Do) with certificate-bound tokens;
//   - payment initiation, Payments API 4.0.0 with Pix (CreatePaymentConsent,
//     GetPaymentConsent, InitiatePixPayments, GetPixPayment,
//     CancelPixPayment, CancelConsentPixPayments; DoSigned for any call):
//     request bodies signed as JWTs (SignBody: PS256 with the signing key,
//     iss = Config.OrganisationID, aud = the endpoint URL, fresh jti, iat),
//     x-idempotency-key from the caller (kept across retries), and every
//     signed answer verified (VerifySignedAnswer: PS256 by a kid of the
//     holder's JWKS from discovery's jwks_uri, aud = the client's
//     organisation, iss = Config.HolderOrganisationID when set, iat, jti)
//     before it is decoded — 422s included, which come back as *APIError
//     with Signed set. PushAuthorization with Scopes {"payments"} asks
//     "openid payments consent:<urn>" for a payment consent;
//   - x-fapi-interaction-id on every request (fresh UUID or
//     WithInteractionID) and the refusal of an answer echoing another one.
//
// Errors are typed: *OAuthError (authorization-server error responses,
// including the authorization endpoint's error redirects), *APIError (Open
// Finance ResponseError of the APIs), *IDTokenError (which id_token check
// failed), and sentinels (ErrConfig, ErrDiscovery, ErrNotRegistered,
// ErrInvalidIDToken, ErrInvalidCallback, ErrInteractionIDMismatch,
// ErrUnexpectedResponse, ErrInvalidSignedResponse). Secrets (tokens, registration access token, keys)
// are never logged.
//
// It never drives the customer's browser (the caller redirects and
// receives the callback), never stores tokens or registrations (the caller
// persists them), never publishes its own JWKS (PublicJWKS gives the set
// to publish at jwks_uri, which the directory hosts), never signs software
// statements (the directory does), and writes nothing to Kafka or the
// warehouse (connectors return typed data).
package fapi
