package server

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/luikyv/go-oidc/pkg/goidc"
)

// checkEncryptionKey refuses, at PAR, a client whose jwks_uri publishes no
// RSA key for RSA-OAEP encryption: FAPI-BR always encrypts the id_token, so
// without one the flow could only fail after the customer logged in.
func (s *Server) checkEncryptionKey(ctx context.Context, c *goidc.Client) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.JWKSURI, nil)
	if err != nil {
		return goidc.NewError(goidc.ErrorCodeInvalidRequest, "the client's registered jwks_uri is not a valid URL")
	}
	resp, err := s.opts.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("server: fetch the jwks_uri of client %s: %w", c.ID, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return goidc.NewError(goidc.ErrorCodeInvalidRequest, fmt.Sprintf("the client's jwks_uri answered %d: publish the key set there", resp.StatusCode))
	}
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(io.LimitReader(resp.Body, jwksMaxBody)).Decode(&set); err != nil {
		return goidc.NewError(goidc.ErrorCodeInvalidRequest, "the client's jwks_uri does not hold a JSON Web Key Set")
	}
	for _, k := range set.Keys {
		if _, ok := k.Key.(*rsa.PublicKey); !ok {
			continue
		}
		if k.Use == "enc" && (k.Algorithm == "" || k.Algorithm == string(jose.RSA_OAEP)) {
			return nil
		}
	}
	return goidc.NewError(goidc.ErrorCodeInvalidRequest,
		"the client's jwks_uri has no RSA key with use \"enc\" (RSA-OAEP): FAPI-BR always encrypts the id_token, so publish one and try again")
}
