package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"
	"github.com/luikyv/go-oidc/pkg/goidc"

	"github.com/ofp-dev/ofp/internal/httpx"
)

// Requirement is what a protected resource needs from the access token.
type Requirement struct {
	// Scopes must all be granted. "consent" means any consent:<urn> scope.
	Scopes []string
	// Brand, when set, accepts only tokens issued by that brand.
	Brand string
	// GrantType, when set, accepts only tokens of that grant:
	// "client_credentials" (e.g. the Consents API) or "authorization_code"
	// (customer data, which always carries a consent).
	GrantType string
}

// TokenInfo describes the access token of a request that passed Protect.
type TokenInfo struct {
	ClientID string
	// Subject is the customer's sub, or the client id for client_credentials.
	Subject string
	// ConsentID is the <urn> of the consent:<urn> scope, "" if none.
	ConsentID string
	Scopes    []string
	Brand     string
	// GrantType is "client_credentials" or "authorization_code" (tokens
	// obtained by refresh keep the grant they came from).
	GrantType string
	ExpiresAt time.Time
}

type tokenInfoKey struct{}

// TokenFrom returns the TokenInfo Protect put in the request context.
func TokenFrom(ctx context.Context) (TokenInfo, bool) {
	ti, ok := ctx.Value(tokenInfoKey{}).(TokenInfo)
	return ti, ok
}

// Protect returns middleware for resource endpoints. A request passes when
// it comes over mutual TLS, carries "Authorization: Bearer <token>" with an
// access token this server issued (any brand, or req.Brand), introspected
// in process as active (for consent:<urn> tokens this includes the consent
// being AUTHORISED now), whose cnf.x5t#S256 is the SHA-256 thumbprint of
// the presented client certificate — otherwise 401 — and that has
// req.Scopes and req.GrantType — otherwise 403. Errors are Open Finance
// ResponseError bodies; the x-fapi-interaction-id is echoed (or generated)
// on them.
func (s *Server) Protect(req Requirement) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ti, status, detail := s.authorizeResource(r, req)
			if status != 0 {
				id := r.Header.Get(HeaderInteractionID)
				if uuid.Validate(id) != nil {
					id = uuid.NewString()
				}
				w.Header().Set(HeaderInteractionID, id)
				if status == http.StatusUnauthorized {
					w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
				}
				code := "UNAUTHORIZED"
				switch status {
				case http.StatusForbidden:
					code = "FORBIDDEN"
				case http.StatusServiceUnavailable:
					code = "SERVICE_UNAVAILABLE"
				}
				httpx.WriteError(w, status, httpx.ErrorDetail{Code: code, Detail: detail})
				return
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), tokenInfoKey{}, ti)))
		})
	}
}

func (s *Server) authorizeResource(r *http.Request, req Requirement) (TokenInfo, int, string) {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return TokenInfo{}, http.StatusUnauthorized, "this resource requires mutual TLS with the client's transport certificate"
	}
	raw, ok := bearer(r)
	if !ok {
		return TokenInfo{}, http.StatusUnauthorized, "send the access token as Authorization: Bearer <token>"
	}
	brandID, ok := s.tokenBrand(raw)
	if !ok || (req.Brand != "" && brandID != req.Brand) {
		return TokenInfo{}, http.StatusUnauthorized, "the access token was not issued by this server"
	}
	info, err := s.providers[brandID].Introspect(r.Context(), raw)
	if err != nil {
		s.opts.Logger.ErrorContext(r.Context(), "introspect access token", "brand", brandID, "err", err)
		return TokenInfo{}, http.StatusServiceUnavailable, "the token could not be checked now; try again"
	}
	if !info.IsActive || info.ClientID == "" {
		return TokenInfo{}, http.StatusUnauthorized, "the access token is not active (expired, revoked, or its consent is not AUTHORISED)"
	}
	sum := sha256.Sum256(r.TLS.PeerCertificates[0].Raw)
	want := base64.RawURLEncoding.EncodeToString(sum[:])
	if info.Confirmation == nil || subtle.ConstantTimeCompare([]byte(info.Confirmation.CertThumbprint), []byte(want)) != 1 {
		return TokenInfo{}, http.StatusUnauthorized, "the access token is bound to another client certificate (cnf.x5t#S256)"
	}
	ti := TokenInfo{ClientID: info.ClientID, Subject: info.Subject, Scopes: strings.Fields(info.Scopes), Brand: brandID,
		ConsentID: ConsentIDOf(info.Scopes), GrantType: string(goidc.GrantAuthorizationCode)}
	if info.Subject == info.ClientID {
		ti.GrantType = string(goidc.GrantClientCredentials)
	}
	if info.ExpiresAt != 0 {
		ti.ExpiresAt = time.Unix(int64(info.ExpiresAt), 0).UTC()
	}
	for _, sc := range req.Scopes {
		has := slices.Contains(ti.Scopes, sc)
		if sc == "consent" {
			has = ti.ConsentID != ""
		}
		if !has {
			return TokenInfo{}, http.StatusForbidden, "the access token lacks the scope " + sc
		}
	}
	if req.GrantType != "" && req.GrantType != ti.GrantType {
		return TokenInfo{}, http.StatusForbidden, "this resource needs a token from the " + req.GrantType + " grant"
	}
	return ti, 0, ""
}

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if len(h) < 7 || !strings.EqualFold(h[:7], "Bearer ") {
		return "", false
	}
	tok := strings.TrimSpace(h[7:])
	return tok, tok != ""
}

// tokenBrand finds the brand whose issuer is the token's iss. The token is
// only parsed here; Introspect verifies it.
func (s *Server) tokenBrand(raw string) (string, bool) {
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.PS256})
	if err != nil {
		return "", false
	}
	var claims jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&claims); err != nil {
		return "", false
	}
	id, ok := s.issuers[claims.Issuer]
	return id, ok
}
