package server

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/ofp-dev/ofp/authz/dcr"
	"github.com/ofp-dev/ofp/internal/pki"
)

// maxBody bounds request bodies (request objects and forms are far smaller).
const maxBody = 1 << 20

// clientAuthPaths are the endpoints where the client authenticates with
// private_key_jwt over mutual TLS.
var clientAuthPaths = map[string]bool{"/token": true, "/par": true, "/introspect": true, "/revoke": true}

// checkCertificateOwner refuses a client-authenticated request whose TLS
// certificate was not issued to the client it claims to be: DCR bound the
// client to its certificate's software_id (UID) and org_id
// (organizationIdentifier OFBBR-<org_id>), so a certificate of another
// software is refused with invalid_client before go-oidc sees the request.
// The client id comes from client_id or the (not yet verified) assertion's
// iss; go-oidc then verifies the assertion itself. It returns "" when the
// request may go on.
func (s *Server) checkCertificateOwner(r *http.Request, brandID string, cert *x509.Certificate) string {
	if r.Method != http.MethodPost || r.ParseForm() != nil {
		return ""
	}
	clientID := r.PostForm.Get("client_id")
	if a := r.PostForm.Get("client_assertion"); a != "" {
		if iss, ok := assertionIssuer(a); ok {
			if clientID != "" && clientID != iss {
				return "client_id and the client assertion's iss differ"
			}
			clientID = iss
		}
	}
	if clientID == "" {
		return ""
	}
	c, err := s.opts.Clients.Get(r.Context(), brandID, clientID)
	if errors.Is(err, dcr.ErrNotFound) || err != nil {
		return "" // go-oidc answers invalid_client for unknown clients
	}
	if c.SoftwareID == "" && c.OrgID == "" {
		return ""
	}
	softwareID, orgID, err := pki.ClientSubject(cert)
	if err != nil {
		return fmt.Sprintf("the client certificate has no Open Finance Brasil subject: %v", err)
	}
	if softwareID != c.SoftwareID || orgID != c.OrgID {
		return "the client certificate was not issued to this client's software statement (software_id / org_id differ)"
	}
	return ""
}

func assertionIssuer(raw string) (string, bool) {
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.PS256})
	if err != nil {
		return "", false
	}
	var claims jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&claims); err != nil {
		return "", false
	}
	return claims.Issuer, claims.Issuer != ""
}

// RevokeConsentTokens revokes every grant (refresh token and the access
// tokens issued from it) of consentID, in every brand. consent/consenthttp
// calls it (TokenRevoker) after DELETE and after rejections made through
// the API. Even before it runs, tokens of a consent that is not AUTHORISED
// are refused everywhere (see consentGrants).
func (s *Server) RevokeConsentTokens(ctx context.Context, consentID string) error {
	if consentID == "" {
		return errors.New("server: RevokeConsentTokens needs a consent id")
	}
	var errs []error
	for brand, g := range s.grants {
		if err := g.revokeConsent(ctx, consentID); err != nil {
			errs = append(errs, fmt.Errorf("brand %s: %w", brand, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("server: revoke tokens of consent %s: %w", consentID, err)
	}
	return nil
}
