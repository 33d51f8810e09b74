package dcr

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// StatementRole is one entry of the SSA's software_statement_roles.
type StatementRole struct {
	Role                string `json:"role"`
	AuthorisationDomain string `json:"authorisation_domain"`
	Status              string `json:"status"`
}

// SoftwareStatement holds the claims of a directory-signed software
// statement assertion (security-dcr-br-1_ID3.md, "Attributes of the
// Software Statement Assertion") that registration uses.
type SoftwareStatement struct {
	Issuer                 string           `json:"iss"`
	IssuedAt               *jwt.NumericDate `json:"iat"`
	Expiry                 *jwt.NumericDate `json:"exp,omitempty"`
	SoftwareID             string           `json:"software_id"`
	SoftwareClientID       string           `json:"software_client_id,omitempty"`
	SoftwareClientName     string           `json:"software_client_name,omitempty"`
	SoftwareClientURI      string           `json:"software_client_uri,omitempty"`
	SoftwareLogoURI        string           `json:"software_logo_uri,omitempty"`
	SoftwareTOSURI         string           `json:"software_tos_uri,omitempty"`
	SoftwarePolicyURI      string           `json:"software_policy_uri,omitempty"`
	SoftwareVersion        json.RawMessage  `json:"software_version,omitempty"`
	SoftwareRedirectURIs   []string         `json:"software_redirect_uris"`
	SoftwareJWKSURI        string           `json:"software_jwks_uri"`
	SoftwareWebhookURIs    []string         `json:"software_api_webhook_uris,omitempty"`
	SoftwareRoles          []string         `json:"software_roles,omitempty"`
	SoftwareStatementRoles []StatementRole  `json:"software_statement_roles,omitempty"`
	OrgID                  string           `json:"org_id"`
	OrgStatus              string           `json:"org_status,omitempty"`
	OrgName                string           `json:"org_name,omitempty"`
}

// ActiveRoles are the roles the SSA grants now: the software_statement_roles
// with status Active (DCR-BR: "currently listed roles shall be active"), or
// software_roles when the statement has no software_statement_roles claim.
func (s SoftwareStatement) ActiveRoles() []string {
	if s.SoftwareStatementRoles == nil {
		return s.SoftwareRoles
	}
	var out []string
	for _, r := range s.SoftwareStatementRoles {
		if strings.EqualFold(r.Status, "Active") {
			out = append(out, strings.ToUpper(r.Role))
		}
	}
	return out
}

// version renders software_version, which directories send as a string or
// as a number.
func (s SoftwareStatement) version() string {
	var str string
	if json.Unmarshal(s.SoftwareVersion, &str) == nil {
		return str
	}
	var num json.Number
	if json.Unmarshal(s.SoftwareVersion, &num) == nil {
		return num.String()
	}
	return ""
}

// keyRefresher is a KeySource that can refetch early (URLKeys).
type keyRefresher interface {
	Refresh(ctx context.Context) (*jose.JSONWebKeySet, error)
}

// verifyStatement checks the signature (PS256, a directory key), the
// issuer, iat within maxAge (and not beyond leeway in the future), exp when
// present, and that the claims needed for registration are there. Errors
// are *Error values ready for the client.
func verifyStatement(ctx context.Context, keys KeySource, issuer, raw string, now time.Time, maxAge, leeway time.Duration) (SoftwareStatement, error) {
	var ssa SoftwareStatement
	if strings.TrimSpace(raw) == "" {
		return ssa, errInvalidStatement("software_statement is required")
	}
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.PS256})
	if err != nil {
		return ssa, errInvalidStatement("software_statement is not a PS256-signed JWT")
	}
	set, err := keys.Keys(ctx)
	if err != nil {
		return ssa, fmt.Errorf("dcr: directory keys: %w", err)
	}
	candidates := set.Keys
	if kid := tok.Headers[0].KeyID; kid != "" {
		candidates = set.Key(kid)
		if r, ok := keys.(keyRefresher); ok && len(candidates) == 0 {
			if set, err = r.Refresh(ctx); err != nil {
				return ssa, fmt.Errorf("dcr: refresh directory keys: %w", err)
			}
			candidates = set.Key(kid)
		}
	}
	verified := false
	for _, k := range candidates {
		if k.Use == "enc" {
			continue
		}
		if err := tok.Claims(k.Key, &ssa); err == nil {
			verified = true
			break
		}
		ssa = SoftwareStatement{}
	}
	if !verified {
		return ssa, errInvalidStatement("software_statement signature does not verify with a directory key")
	}
	if ssa.Issuer != issuer {
		return ssa, errInvalidStatement(fmt.Sprintf("software_statement issuer %q is not the directory", ssa.Issuer))
	}
	if ssa.IssuedAt == nil {
		return ssa, errInvalidStatement("software_statement has no iat")
	}
	iat := ssa.IssuedAt.Time()
	if now.Sub(iat) > maxAge {
		return ssa, errInvalidStatement(fmt.Sprintf("software_statement was issued more than %s ago: get a fresh one from the directory", maxAge))
	}
	if iat.Sub(now) > leeway {
		return ssa, errInvalidStatement("software_statement iat is in the future")
	}
	if ssa.Expiry != nil && !now.Before(ssa.Expiry.Time().Add(leeway)) {
		return ssa, errInvalidStatement("software_statement has expired")
	}
	switch {
	case ssa.SoftwareID == "":
		return ssa, errInvalidStatement("software_statement has no software_id")
	case ssa.OrgID == "":
		return ssa, errInvalidStatement("software_statement has no org_id")
	case ssa.SoftwareJWKSURI == "":
		return ssa, errInvalidStatement("software_statement has no software_jwks_uri")
	case len(ssa.SoftwareRedirectURIs) == 0:
		return ssa, errInvalidStatement("software_statement has no software_redirect_uris")
	}
	if ssa.OrgStatus != "" && !strings.EqualFold(ssa.OrgStatus, "Active") {
		return ssa, errUnapproved("the organisation in the software_statement is not active")
	}
	if len(allowedScopes(ssa.ActiveRoles())) == 0 {
		return ssa, errUnapproved("the software_statement has no active regulatory role")
	}
	return ssa, nil
}
