package dcr

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors of a Store.
var (
	// ErrNotFound means no client has the id; the handler answers 401
	// (RFC 7592 §2: an unknown client is an invalid token).
	ErrNotFound = errors.New("dcr: client not found")
	// ErrDuplicate means a client with the same id or the same software
	// statement already exists; the caller must not retry with the same
	// software statement (DCR-BR: one registration per statement).
	ErrDuplicate = errors.New("dcr: client or software statement already registered")
)

// Metadata is the client metadata the server registered (RFC 7591 §2 plus
// the OpenID and FAPI-BR fields). It is the JSON the handler returns, minus
// the per-response fields (client_id, registration_*).
type Metadata struct {
	RedirectURIs                       []string `json:"redirect_uris"`
	WebhookURIs                        []string `json:"webhook_uris,omitempty"`
	GrantTypes                         []string `json:"grant_types"`
	ResponseTypes                      []string `json:"response_types"`
	TokenEndpointAuthMethod            string   `json:"token_endpoint_auth_method"`
	Scope                              string   `json:"scope"`
	JWKSURI                            string   `json:"jwks_uri"`
	ClientName                         string   `json:"client_name,omitempty"`
	ClientURI                          string   `json:"client_uri,omitempty"`
	LogoURI                            string   `json:"logo_uri,omitempty"`
	TOSURI                             string   `json:"tos_uri,omitempty"`
	PolicyURI                          string   `json:"policy_uri,omitempty"`
	ApplicationType                    string   `json:"application_type"`
	SubjectType                        string   `json:"subject_type"`
	IDTokenSignedResponseAlg           string   `json:"id_token_signed_response_alg"`
	IDTokenEncryptedResponseAlg        string   `json:"id_token_encrypted_response_alg"`
	IDTokenEncryptedResponseEnc        string   `json:"id_token_encrypted_response_enc"`
	RequestObjectSigningAlg            string   `json:"request_object_signing_alg"`
	RequestObjectEncryptionAlg         string   `json:"request_object_encryption_alg,omitempty"`
	RequestObjectEncryptionEnc         string   `json:"request_object_encryption_enc,omitempty"`
	RequireSignedRequestObject         bool     `json:"require_signed_request_object"`
	RequirePushedAuthorizationRequests bool     `json:"require_pushed_authorization_requests"`
	TLSClientCertificateBoundTokens    bool     `json:"tls_client_certificate_bound_access_tokens"`
	SoftwareID                         string   `json:"software_id"`
	SoftwareVersion                    string   `json:"software_version,omitempty"`
	SoftwareStatement                  string   `json:"software_statement"`
}

// Client is one registered client.
type Client struct {
	ID string
	// Brand is the id of the brand (authz/keys) whose registration endpoint
	// created the client. A client exists only at its brand: every Store
	// lookup is scoped by brand, so a client registered at brand A is
	// unknown at brand B.
	Brand      string
	SoftwareID string
	OrgID      string
	// TokenHash is the SHA-256 of the registration access token.
	TokenHash []byte
	// StatementHash is the SHA-256 of the software statement JWT last used
	// to register or update the client; unique across clients.
	StatementHash []byte
	IssuedAt      time.Time
	UpdatedAt     time.Time
	Metadata      Metadata
}

// Store keeps registered clients. Implementations: MemoryStore and
// dcrsql.Store; dcrtest.RunStoreContract checks both behave the same.
//
// Lookups are scoped by brand: a client of another brand is ErrNotFound.
// Client ids and statement hashes are unique across all brands (one
// software statement registers one client, wherever).
type Store interface {
	// Create fails with ErrDuplicate when the id or StatementHash exists
	// (at any brand).
	Create(ctx context.Context, c Client) error
	// Get fails with ErrNotFound when no client of brand has the id.
	Get(ctx context.Context, brand, id string) (Client, error)
	// Update replaces everything but ID, Brand and IssuedAt of the client
	// with c.ID at c.Brand; ErrNotFound when that client is gone (or
	// belongs to another brand), ErrDuplicate when StatementHash belongs to
	// another client.
	Update(ctx context.Context, c Client) error
	// Delete fails with ErrNotFound when no client of brand has the id.
	Delete(ctx context.Context, brand, id string) error
}
