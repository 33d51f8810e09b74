package server

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/luikyv/go-oidc/pkg/goidc"

	"github.com/ofp-dev/ofp/authz/dcr"
)

// ClientSource reads registered clients; dcr.Store satisfies it.
type ClientSource interface {
	// Get fails with dcr.ErrNotFound when brand has no client with the id
	// (a client registered at another brand does not exist here).
	Get(ctx context.Context, brand, id string) (dcr.Client, error)
}

// errClientsReadOnly is returned if go-oidc ever tries to write a client:
// registration belongs to authz/dcr, mounted in front of go-oidc's routes.
var errClientsReadOnly = errors.New("server: clients are registered and managed only through authz/dcr")

// clientManager adapts ClientSource to goidc.DCRManager. go-oidc resolves
// non-static clients only through its DCR manager, so DCR is enabled in the
// provider but its /register routes are shadowed by authz/dcr. It sees
// only the clients registered at its brand.
type clientManager struct {
	src   ClientSource
	brand string
}

func (m clientManager) Client(ctx context.Context, id string) (*goidc.Client, error) {
	c, err := m.src.Get(ctx, m.brand, id)
	if errors.Is(err, dcr.ErrNotFound) {
		return nil, goidc.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("server: load client %s: %w", id, err)
	}
	return toGoidcClient(c), nil
}

func (clientManager) SaveClient(context.Context, *goidc.Client) error { return errClientsReadOnly }

func (clientManager) DeleteClient(context.Context, string) error { return errClientsReadOnly }

// dynamicScopeGrants says which registered scope lets a client ask for a
// parameterised scope: consent:<urn> needs consents or payments,
// recurring-consent:<urn> needs recurring-payments, enrollment:<urn> needs
// payments.
var dynamicScopeGrants = map[string][]string{
	"consents":           {"consent"},
	"payments":           {"consent", "enrollment"},
	"recurring-payments": {"recurring-consent"},
}

// toGoidcClient maps a DCR registration onto go-oidc's client, forcing the
// FAPI-BR settings the profile makes mandatory whatever was registered:
// private_key_jwt PS256, PS256 request objects, PAR, certificate-bound
// tokens and an id_token always encrypted with RSA-OAEP/A256GCM.
func toGoidcClient(c dcr.Client) *goidc.Client {
	md := c.Metadata
	scopes := strings.Fields(md.Scope)
	seen := map[string]bool{}
	for _, s := range scopes {
		seen[s] = true
	}
	for _, s := range strings.Fields(md.Scope) {
		for _, d := range dynamicScopeGrants[s] {
			if !seen[d] {
				seen[d] = true
				scopes = append(scopes, d)
			}
		}
	}
	grantTypes := make([]goidc.GrantType, 0, len(md.GrantTypes))
	for _, g := range md.GrantTypes {
		grantTypes = append(grantTypes, goidc.GrantType(g))
	}
	responseTypes := make([]goidc.ResponseType, 0, len(md.ResponseTypes))
	for _, rt := range md.ResponseTypes {
		responseTypes = append(responseTypes, goidc.ResponseType(rt))
		// "code id_token" returns the id_token from the authorization
		// endpoint, which go-oidc (like OIDC registration) treats as the
		// implicit grant; DCR-BR clients register the hybrid response type
		// without listing "implicit", so it follows from the response type.
		if goidc.ResponseType(rt).IsImplicit() && !slices.Contains(grantTypes, goidc.GrantImplicit) {
			grantTypes = append(grantTypes, goidc.GrantImplicit)
		}
	}
	jarKeyEnc := goidc.KeyEncryptionAlgorithm(md.RequestObjectEncryptionAlg)
	jarContentEnc := goidc.ContentEncryptionAlgorithm(md.RequestObjectEncryptionEnc)
	return &goidc.Client{
		ID: c.ID,
		ClientMeta: goidc.ClientMeta{
			Name:                      md.ClientName,
			LogoURI:                   md.LogoURI,
			PolicyURI:                 md.PolicyURI,
			TermsOfServiceURI:         md.TOSURI,
			RedirectURIs:              md.RedirectURIs,
			GrantTypes:                grantTypes,
			ResponseTypes:             responseTypes,
			JWKSURI:                   md.JWKSURI,
			ScopeIDs:                  strings.Join(scopes, " "),
			SubIdentifierType:         goidc.SubIdentifierPublic,
			IDTokenSigAlg:             goidc.PS256,
			IDTokenKeyEncAlg:          goidc.RSA_OAEP,
			IDTokenContentEncAlg:      goidc.A256GCM,
			UserInfoSigAlg:            goidc.PS256,
			JARIsRequired:             true,
			JARSigAlg:                 goidc.PS256,
			JARKeyEncAlg:              jarKeyEnc,
			JARContentEncAlg:          jarContentEnc,
			TokenAuthnMethod:          goidc.AuthnMethodPrivateKeyJWT,
			TokenAuthnSigAlg:          goidc.PS256,
			TLSTokenBindingIsRequired: true,
			PARIsRequired:             true,
		},
	}
}
