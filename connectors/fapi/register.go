package fapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// Metadata is the client metadata of a DCR request (dcr-dcm-2.0.1
// ClientRegistrationRequest). Register fills what is left empty with the
// FAPI-BR values and the Config (jwks_uri, redirect URI).
type Metadata struct {
	RedirectURIs                []string `json:"redirect_uris,omitempty"`
	WebhookURIs                 []string `json:"webhook_uris,omitempty"`
	GrantTypes                  []string `json:"grant_types,omitempty"`
	ResponseTypes               []string `json:"response_types,omitempty"`
	TokenEndpointAuthMethod     string   `json:"token_endpoint_auth_method,omitempty"`
	Scope                       string   `json:"scope,omitempty"`
	JWKSURI                     string   `json:"jwks_uri,omitempty"`
	ClientName                  string   `json:"client_name,omitempty"`
	IDTokenSignedResponseAlg    string   `json:"id_token_signed_response_alg,omitempty"`
	IDTokenEncryptedResponseAlg string   `json:"id_token_encrypted_response_alg,omitempty"`
	IDTokenEncryptedResponseEnc string   `json:"id_token_encrypted_response_enc,omitempty"`
	RequestObjectSigningAlg     string   `json:"request_object_signing_alg,omitempty"`
	RequestObjectEncryptionAlg  string   `json:"request_object_encryption_alg,omitempty"`
	RequestObjectEncryptionEnc  string   `json:"request_object_encryption_enc,omitempty"`
	TLSClientCertBoundTokens    bool     `json:"tls_client_certificate_bound_access_tokens,omitempty"`
}

// Registration is the holder's answer to a registration, read or update:
// keep ClientID and RegistrationAccessToken (a secret: it manages the
// registration) for DCM.
type Registration struct {
	ClientID                string `json:"client_id"`
	ClientIDIssuedAt        int64  `json:"client_id_issued_at"`
	RegistrationAccessToken string `json:"registration_access_token"`
	RegistrationClientURI   string `json:"registration_client_uri"`
	SoftwareID              string `json:"software_id"`
	Metadata
	// Raw is the whole answer.
	Raw json.RawMessage `json:"-"`
}

// String never prints the registration access token.
func (r Registration) String() string {
	return fmt.Sprintf("Registration{client_id %s, software_id %s, uri %s}", r.ClientID, r.SoftwareID, r.RegistrationClientURI)
}

// fill completes md with the profile defaults and the Config.
func (c *Client) fill(md Metadata) Metadata {
	if len(md.RedirectURIs) == 0 {
		md.RedirectURIs = []string{c.cfg.RedirectURI}
	}
	if md.JWKSURI == "" {
		md.JWKSURI = c.cfg.JWKSURI
	}
	if len(md.GrantTypes) == 0 {
		md.GrantTypes = []string{"authorization_code", "client_credentials", "refresh_token"}
	}
	if len(md.ResponseTypes) == 0 {
		md.ResponseTypes = []string{ResponseType}
	}
	if md.TokenEndpointAuthMethod == "" {
		md.TokenEndpointAuthMethod = "private_key_jwt"
	}
	if md.IDTokenSignedResponseAlg == "" {
		md.IDTokenSignedResponseAlg = "PS256"
	}
	if md.RequestObjectSigningAlg == "" {
		md.RequestObjectSigningAlg = "PS256"
	}
	if c.cfg.EncryptionKey != nil && md.IDTokenEncryptedResponseAlg == "" {
		md.IDTokenEncryptedResponseAlg, md.IDTokenEncryptedResponseEnc = "RSA-OAEP", "A256GCM"
	}
	md.TLSClientCertBoundTokens = true
	return md
}

func (c *Client) registrationBody(ssa string, md Metadata, clientID string) ([]byte, error) {
	md = c.fill(md)
	if md.JWKSURI == "" {
		return nil, fmt.Errorf("%w: JWKSURI is required to register", ErrConfig)
	}
	raw, err := json.Marshal(md)
	if err != nil {
		return nil, err
	}
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		return nil, err
	}
	body["software_statement"] = ssa
	if clientID != "" {
		body["client_id"] = clientID
	}
	return json.Marshal(body)
}

// Register registers the client at the holder (RFC 7591 with DCR-BR) over
// mTLS with a software statement freshly issued by the directory (at most
// 5 minutes old) and sets the Client's client_id. Errors are *OAuthError
// (endpoint "registration") with the spec's codes (invalid_software_statement,
// invalid_redirect_uri, invalid_client_metadata, ...).
func (c *Client) Register(ctx context.Context, ssa string, md Metadata) (Registration, error) {
	u := c.disc.registrationURL()
	if u == "" {
		return Registration{}, fmt.Errorf("%w: the holder publishes no registration endpoint", ErrDiscovery)
	}
	body, err := c.registrationBody(ssa, md, "")
	if err != nil {
		return Registration{}, err
	}
	reg, err := c.registrationCall(ctx, http.MethodPost, u, body, "", http.StatusCreated)
	if err != nil {
		return Registration{}, err
	}
	c.setClientID(reg.ClientID)
	c.log.InfoContext(ctx, "registered at the holder", "client_id", reg.ClientID)
	return reg, nil
}

// GetRegistration reads the registration (RFC 7592 §2.1).
func (c *Client) GetRegistration(ctx context.Context, reg Registration) (Registration, error) {
	return c.registrationCall(ctx, http.MethodGet, c.manageURL(reg), nil, reg.RegistrationAccessToken, http.StatusOK)
}

// UpdateRegistration replaces the registration's metadata (RFC 7592 §2.2)
// with a fresh software statement.
func (c *Client) UpdateRegistration(ctx context.Context, reg Registration, ssa string, md Metadata) (Registration, error) {
	body, err := c.registrationBody(ssa, md, reg.ClientID)
	if err != nil {
		return Registration{}, err
	}
	return c.registrationCall(ctx, http.MethodPut, c.manageURL(reg), body, reg.RegistrationAccessToken, http.StatusOK)
}

// DeleteRegistration deletes the registration (RFC 7592 §2.3).
func (c *Client) DeleteRegistration(ctx context.Context, reg Registration) error {
	resp, err := c.send(ctx, http.MethodDelete, c.manageURL(reg), "", nil, reg.RegistrationAccessToken, nil)
	if err != nil {
		return fmt.Errorf("fapi: registration endpoint: %w", err)
	}
	if resp.StatusCode != http.StatusNoContent {
		return oauthError("registration", resp)
	}
	return nil
}

// manageURL is the registration_client_uri, or the registration endpoint
// plus the client_id when the holder gave none.
func (c *Client) manageURL(reg Registration) string {
	if reg.RegistrationClientURI != "" {
		return reg.RegistrationClientURI
	}
	return strings.TrimRight(c.disc.registrationURL(), "/") + "/" + reg.ClientID
}

func (c *Client) registrationCall(ctx context.Context, method, u string, body []byte, token string, want int) (Registration, error) {
	ct := ""
	if body != nil {
		ct = "application/json"
	}
	resp, err := c.send(ctx, method, u, ct, body, token, nil)
	if err != nil {
		return Registration{}, fmt.Errorf("fapi: registration endpoint: %w", err)
	}
	if resp.StatusCode != want {
		return Registration{}, oauthError("registration", resp)
	}
	var reg Registration
	if err := json.Unmarshal(resp.Body, &reg); err != nil || reg.ClientID == "" {
		return Registration{}, fmt.Errorf("%w: registration answer without client_id (HTTP %d)", ErrUnexpectedResponse, resp.StatusCode)
	}
	reg.Raw = resp.Body
	return reg, nil
}
