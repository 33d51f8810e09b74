package dcr

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// Request is a registration or update request body (ClientRegistrationRequest
// in dcr-dcm-2.0.1.yaml). Unknown members are ignored (RFC 7591 §2).
type Request struct {
	SoftwareStatement               string          `json:"software_statement"`
	ClientID                        string          `json:"client_id"`
	RedirectURIs                    []string        `json:"redirect_uris"`
	WebhookURIs                     []string        `json:"webhook_uris"`
	GrantTypes                      []string        `json:"grant_types"`
	ResponseTypes                   []string        `json:"response_types"`
	TokenEndpointAuthMethod         string          `json:"token_endpoint_auth_method"`
	IntrospectionEndpointAuthMethod string          `json:"introspection_endpoint_auth_method"`
	RevocationEndpointAuthMethod    string          `json:"revocation_endpoint_auth_method"`
	Scope                           string          `json:"scope"`
	JWKSURI                         string          `json:"jwks_uri"`
	JWKS                            json.RawMessage `json:"jwks"`
	ClientName                      string          `json:"client_name"`
	ClientURI                       string          `json:"client_uri"`
	ApplicationType                 string          `json:"application_type"`
	SubjectType                     string          `json:"subject_type"`
	IDTokenSignedResponseAlg        string          `json:"id_token_signed_response_alg"`
	IDTokenEncryptedResponseAlg     string          `json:"id_token_encrypted_response_alg"`
	IDTokenEncryptedResponseEnc     string          `json:"id_token_encrypted_response_enc"`
	RequestObjectSigningAlg         string          `json:"request_object_signing_alg"`
	RequestObjectEncryptionAlg      string          `json:"request_object_encryption_alg"`
	RequestObjectEncryptionEnc      string          `json:"request_object_encryption_enc"`
}

// Profile values (dcr-dcm-2.0.1.yaml enums, BRIEF.md §9).
var (
	grantTypes    = []string{"authorization_code", "client_credentials", "refresh_token"}
	responseTypes = []string{"code id_token"}
	// The spec's token_endpoint_auth_method enum has only private_key_jwt;
	// tls_client_auth is no longer accepted by the FAPI-BR single profile.
	authMethods = []string{"private_key_jwt"}
)

const maxURILength = 255

var webhookPattern = regexp.MustCompile(`^(https://[^\s/?#]+(?:/[^\s/?#]+)*)$`)

// ParseRequest decodes a registration body. It fails with an
// invalid_client_metadata *Error on anything that is not a JSON object of
// the right member types.
func ParseRequest(body []byte) (Request, error) {
	var req Request
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return req, errMetadata("the body must be a JSON object")
	}
	if err := json.Unmarshal(trimmed, &req); err != nil {
		return Request{}, errMetadata("the body is not valid client metadata JSON: " + jsonProblem(err))
	}
	return req, nil
}

func jsonProblem(err error) string {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		return fmt.Sprintf("member %q has the wrong type", clip(typeErr.Field))
	}
	return "malformed JSON"
}

// buildMetadata checks req against ssa and the profile and returns the
// metadata to register. SSA values win over request values.
func buildMetadata(req Request, ssa SoftwareStatement) (Metadata, error) {
	if len(req.JWKS) > 0 && string(req.JWKS) != "null" {
		return Metadata{}, errMetadata("jwks by value is not allowed: use jwks_uri")
	}
	if req.JWKSURI != "" && req.JWKSURI != ssa.SoftwareJWKSURI {
		return Metadata{}, errMetadata("jwks_uri must equal the software_statement's software_jwks_uri")
	}
	if len(req.RedirectURIs) == 0 {
		return Metadata{}, errRedirect("redirect_uris is required")
	}
	for _, u := range req.RedirectURIs {
		if !slices.Contains(ssa.SoftwareRedirectURIs, u) {
			return Metadata{}, errRedirect(fmt.Sprintf("redirect URI %q is not in the software_statement's software_redirect_uris", clip(u)))
		}
		if len(u) > maxURILength {
			return Metadata{}, errRedirect("a redirect URI is longer than 255 characters")
		}
	}
	for _, u := range req.WebhookURIs {
		if len(u) > maxURILength || !webhookPattern.MatchString(u) {
			return Metadata{}, errWebhook(fmt.Sprintf("webhook URI %q must be an https base URL without a trailing '/' or query", clip(u)))
		}
		if !slices.Contains(ssa.SoftwareWebhookURIs, u) {
			return Metadata{}, errWebhook(fmt.Sprintf("webhook URI %q is not in the software_statement's software_api_webhook_uris", clip(u)))
		}
	}
	scope, err := grantScopes(req.Scope, ssa.ActiveRoles())
	if err != nil {
		return Metadata{}, err
	}
	md := Metadata{
		RedirectURIs:                       dedupe(req.RedirectURIs),
		WebhookURIs:                        dedupe(req.WebhookURIs),
		Scope:                              scope,
		JWKSURI:                            ssa.SoftwareJWKSURI,
		ClientName:                         firstNonEmpty(ssa.SoftwareClientName, req.ClientName),
		ClientURI:                          firstNonEmpty(ssa.SoftwareClientURI, req.ClientURI),
		LogoURI:                            ssa.SoftwareLogoURI,
		TOSURI:                             ssa.SoftwareTOSURI,
		PolicyURI:                          ssa.SoftwarePolicyURI,
		SoftwareID:                         ssa.SoftwareID,
		SoftwareVersion:                    ssa.version(),
		RequireSignedRequestObject:         true,
		RequirePushedAuthorizationRequests: true,
		TLSClientCertificateBoundTokens:    true,
	}
	checks := []struct {
		name, value, def string
		allowed          []string
		out              *string
	}{
		{"token_endpoint_auth_method", req.TokenEndpointAuthMethod, "private_key_jwt", authMethods, &md.TokenEndpointAuthMethod},
		{"introspection_endpoint_auth_method", req.IntrospectionEndpointAuthMethod, "", authMethods, nil},
		{"revocation_endpoint_auth_method", req.RevocationEndpointAuthMethod, "", authMethods, nil},
		{"application_type", req.ApplicationType, "web", []string{"web", "native"}, &md.ApplicationType},
		{"subject_type", req.SubjectType, "public", []string{"public"}, &md.SubjectType},
		{"id_token_signed_response_alg", req.IDTokenSignedResponseAlg, "PS256", []string{"PS256"}, &md.IDTokenSignedResponseAlg},
		{"id_token_encrypted_response_alg", req.IDTokenEncryptedResponseAlg, "RSA-OAEP", []string{"RSA-OAEP"}, &md.IDTokenEncryptedResponseAlg},
		{"id_token_encrypted_response_enc", req.IDTokenEncryptedResponseEnc, "A256GCM", []string{"A256GCM"}, &md.IDTokenEncryptedResponseEnc},
		{"request_object_signing_alg", req.RequestObjectSigningAlg, "PS256", []string{"PS256"}, &md.RequestObjectSigningAlg},
		{"request_object_encryption_alg", req.RequestObjectEncryptionAlg, "", []string{"RSA-OAEP"}, &md.RequestObjectEncryptionAlg},
		{"request_object_encryption_enc", req.RequestObjectEncryptionEnc, "", []string{"A256GCM"}, &md.RequestObjectEncryptionEnc},
	}
	for _, c := range checks {
		v := c.value
		if v == "" {
			v = c.def
		} else if !slices.Contains(c.allowed, v) {
			return Metadata{}, errMetadata(fmt.Sprintf("%s %q is not supported: use one of %v", c.name, clip(v), c.allowed))
		}
		if c.out != nil {
			*c.out = v
		}
	}
	md.GrantTypes = dedupe(req.GrantTypes)
	if len(md.GrantTypes) == 0 {
		md.GrantTypes = slices.Clone(grantTypes)
	}
	for _, g := range md.GrantTypes {
		if !slices.Contains(grantTypes, g) {
			return Metadata{}, errMetadata(fmt.Sprintf("grant type %q is not supported: use %v", clip(g), grantTypes))
		}
	}
	md.ResponseTypes = dedupe(req.ResponseTypes)
	if len(md.ResponseTypes) == 0 {
		md.ResponseTypes = slices.Clone(responseTypes)
	}
	for _, rt := range md.ResponseTypes {
		if !slices.Contains(responseTypes, rt) {
			return Metadata{}, errMetadata(fmt.Sprintf("response type %q is not supported: use %v", clip(rt), responseTypes))
		}
	}
	if md.ClientURI != "" {
		if u, err := url.Parse(md.ClientURI); err != nil || u.Scheme != "https" {
			return Metadata{}, errMetadata("client_uri must be an https URL")
		}
	}
	return md, nil
}

// grantScopes checks the requested space-separated scopes against the
// roles; no scope means every scope the roles allow (DCR-BR server defaults).
func grantScopes(requested string, roles []string) (string, error) {
	allowed := allowedScopes(roles)
	want := dedupe(strings.Fields(requested))
	if len(want) == 0 {
		return strings.Join(allowed, " "), nil
	}
	for _, s := range want {
		if !slices.Contains(allowed, s) {
			return "", errMetadata(fmt.Sprintf("scope %q is not allowed by the software_statement's active roles %v", clip(s), roles))
		}
	}
	return strings.Join(want, " "), nil
}

func dedupe(in []string) []string {
	var out []string
	for _, s := range in {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// clip bounds client-supplied text echoed in error descriptions.
func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
