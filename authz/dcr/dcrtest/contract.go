// Package dcrtest holds the contract tests every dcr.Store implementation
// must pass. It only serves tests; production code never imports it.
package dcrtest

import (
	"context"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/authz/dcr"
)

// RunStoreContract runs the Store contract against fresh, empty stores made
// by newStore.
func RunStoreContract(t *testing.T, newStore func(t *testing.T) dcr.Store) {
	ctx := context.Background()

	t.Run("create get update delete", func(t *testing.T) {
		s := newStore(t)
		c := sample("statement-1")
		require.NoError(t, s.Create(ctx, c))

		got, err := s.Get(ctx, c.Brand, c.ID)
		require.NoError(t, err)
		require.Equal(t, c, got)

		upd := got
		upd.IssuedAt = got.IssuedAt.Add(time.Hour) // must be ignored
		upd.UpdatedAt = got.UpdatedAt.Add(time.Minute)
		upd.StatementHash = hash("statement-2")
		upd.Metadata.Scope = "openid payments"
		upd.Metadata.RedirectURIs = []string{"https://tpp.example/cb2"}
		upd.Metadata.WebhookURIs = nil
		require.NoError(t, s.Update(ctx, upd))

		got, err = s.Get(ctx, c.Brand, c.ID)
		require.NoError(t, err)
		want := upd
		want.IssuedAt = c.IssuedAt
		require.Equal(t, want, got)

		require.NoError(t, s.Delete(ctx, c.Brand, c.ID))
		_, err = s.Get(ctx, c.Brand, c.ID)
		require.ErrorIs(t, err, dcr.ErrNotFound)
	})

	t.Run("not found", func(t *testing.T) {
		s := newStore(t)
		id := uuid.NewString()
		_, err := s.Get(ctx, brandA, id)
		require.ErrorIs(t, err, dcr.ErrNotFound)
		c := sample("x")
		c.ID = id
		require.ErrorIs(t, s.Update(ctx, c), dcr.ErrNotFound)
		require.ErrorIs(t, s.Delete(ctx, brandA, id), dcr.ErrNotFound)
	})

	t.Run("clients exist only at their brand", func(t *testing.T) {
		s := newStore(t)
		a := sample("statement-brand-a")
		require.NoError(t, s.Create(ctx, a))

		_, err := s.Get(ctx, brandB, a.ID)
		require.ErrorIs(t, err, dcr.ErrNotFound, "a brand-a client is unknown at brand-b")
		_, err = s.Get(ctx, "", a.ID)
		require.ErrorIs(t, err, dcr.ErrNotFound)

		other := a
		other.Brand = brandB
		other.Metadata.Scope = "openid payments"
		require.ErrorIs(t, s.Update(ctx, other), dcr.ErrNotFound, "brand-b cannot update a brand-a client")
		require.ErrorIs(t, s.Delete(ctx, brandB, a.ID), dcr.ErrNotFound, "brand-b cannot delete a brand-a client")

		got, err := s.Get(ctx, brandA, a.ID)
		require.NoError(t, err)
		require.Equal(t, a, got, "untouched by brand-b")

		// Ids and software statements are unique across brands.
		sameID := sample("statement-brand-b")
		sameID.ID, sameID.Brand = a.ID, brandB
		require.ErrorIs(t, s.Create(ctx, sameID), dcr.ErrDuplicate)
		sameStatement := sample("statement-brand-a")
		sameStatement.Brand = brandB
		require.ErrorIs(t, s.Create(ctx, sameStatement), dcr.ErrDuplicate)

		b := sample("statement-brand-b")
		b.Brand = brandB
		require.NoError(t, s.Create(ctx, b))
		got, err = s.Get(ctx, brandB, b.ID)
		require.NoError(t, err)
		require.Equal(t, brandB, got.Brand)
	})

	t.Run("duplicates", func(t *testing.T) {
		s := newStore(t)
		a := sample("statement-a")
		require.NoError(t, s.Create(ctx, a))

		sameID := sample("statement-other")
		sameID.ID = a.ID
		require.ErrorIs(t, s.Create(ctx, sameID), dcr.ErrDuplicate)

		sameStatement := sample("statement-a")
		require.ErrorIs(t, s.Create(ctx, sameStatement), dcr.ErrDuplicate)

		b := sample("statement-b")
		require.NoError(t, s.Create(ctx, b))
		b.StatementHash = a.StatementHash
		require.ErrorIs(t, s.Update(ctx, b), dcr.ErrDuplicate)

		// Updating a client with its own statement hash is fine.
		require.NoError(t, s.Update(ctx, a))
	})

	t.Run("stored values are copies", func(t *testing.T) {
		s := newStore(t)
		c := sample("statement-copy")
		require.NoError(t, s.Create(ctx, c))
		c.Metadata.RedirectURIs[0] = "https://evil.example/cb"
		c.TokenHash[0] ^= 0xff
		got, err := s.Get(ctx, c.Brand, c.ID)
		require.NoError(t, err)
		require.Equal(t, "https://tpp.example/cb", got.Metadata.RedirectURIs[0])
		require.NotEqual(t, c.TokenHash, got.TokenHash)
	})
}

// Brands the contract registers clients at.
const (
	brandA = "brand-a"
	brandB = "brand-b"
)

func hash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func sample(statement string) dcr.Client {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	return dcr.Client{
		ID:            uuid.NewString(),
		Brand:         brandA,
		SoftwareID:    "bc97b8f0-cae0-4f2f-9978-d93f0e56a833",
		OrgID:         "d7384bd0-842f-43c5-be02-9d2b2d5efc2c",
		TokenHash:     hash("token-" + statement),
		StatementHash: hash(statement),
		IssuedAt:      now,
		UpdatedAt:     now,
		Metadata: dcr.Metadata{
			RedirectURIs:                       []string{"https://tpp.example/cb"},
			WebhookURIs:                        []string{"https://tpp.example/hooks"},
			GrantTypes:                         []string{"authorization_code", "client_credentials", "refresh_token"},
			ResponseTypes:                      []string{"code id_token"},
			TokenEndpointAuthMethod:            "private_key_jwt",
			Scope:                              "openid accounts consents",
			JWKSURI:                            "https://keystore.example/org/sw/application.jwks",
			ClientName:                         "TPP",
			ApplicationType:                    "web",
			SubjectType:                        "public",
			IDTokenSignedResponseAlg:           "PS256",
			IDTokenEncryptedResponseAlg:        "RSA-OAEP",
			IDTokenEncryptedResponseEnc:        "A256GCM",
			RequestObjectSigningAlg:            "PS256",
			RequireSignedRequestObject:         true,
			RequirePushedAuthorizationRequests: true,
			TLSClientCertificateBoundTokens:    true,
			SoftwareID:                         "bc97b8f0-cae0-4f2f-9978-d93f0e56a833",
			SoftwareStatement:                  "eyJ.statement." + statement,
		},
	}
}
