package store

import (
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/luikyv/go-oidc/pkg/goidc"
	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/authz/keys"
	"github.com/ofp-dev/ofp/authz/login"
)

// dump returns every stored value of every row of the store's tables.
func dump(t *testing.T, s *Store) string {
	t.Helper()
	var b strings.Builder
	for _, table := range []string{"authz_sessions", "authz_grants", "authz_jti", "authz_keys", "authz_login_failures"} {
		rows, err := s.db.Query(`SELECT * FROM ` + table)
		require.NoError(t, err)
		cols, err := rows.Columns()
		require.NoError(t, err)
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			require.NoError(t, rows.Scan(ptrs...))
			for i, v := range vals {
				if bs, ok := v.([]byte); ok {
					v = string(bs)
				}
				fmt.Fprintf(&b, "%s.%s=%v\n", table, cols[i], v)
			}
		}
		require.NoError(t, rows.Err())
		rows.Close()
	}
	return b.String()
}

func TestSecretsAreStoredAsHashes(t *testing.T) {
	ctx := context.Background()
	for name, key := range map[string][]byte{"no seal key": nil, "seal key": []byte(strings.Repeat("k", 32))} {
		t.Run(name, func(t *testing.T) {
			s, err := OpenSQLite(ctx, filepath.Join(t.TempDir(), "a.db"), Options{SealKey: key, Logger: slog.New(slog.DiscardHandler)})
			require.NoError(t, err)
			defer s.Close()
			code, rt := "code-0123456789abcdef", "refresh-0123456789abcdef"
			g := &goidc.Grant{ID: "g1", ClientID: "c", Scopes: "openid", AuthCode: code,
				AuthCodeExpiresAt: int(time.Now().Unix()) + 60, RefreshToken: rt}
			require.NoError(t, s.SaveGrant(ctx, g))

			before := dump(t, s)
			require.NotContains(t, before, code, "the code is only a hash")
			require.Contains(t, before, digest(code))
			require.Contains(t, before, digest(rt))
			if key == nil {
				// Kept for the token response, in its own column only.
				require.Equal(t, 1, strings.Count(before, rt), before)
				require.Contains(t, before, "pending_refresh_token=p:"+rt)
			} else {
				require.NotContains(t, before, rt, "sealed")
			}

			got, err := s.GrantByAuthCode(ctx, code)
			require.NoError(t, err)
			got.AuthCodeConsumedAt = int(time.Now().Unix())
			require.NoError(t, s.SaveGrant(ctx, got))
			after := dump(t, s)
			require.NotContains(t, after, code)
			require.NotContains(t, after, rt, "after redemption only the hash is left")
			require.Contains(t, after, digest(rt))
		})
	}
}

func TestKeysAreSealedAndTheLimiterKeepsNoCPF(t *testing.T) {
	ctx := context.Background()
	s, err := OpenSQLite(ctx, filepath.Join(t.TempDir(), "a.db"), Options{SealKey: []byte(strings.Repeat("k", 32)), Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	defer s.Close()
	m, err := keys.NewManager(ctx, s.Keys(), []keys.Brand{{ID: "ofp", Issuer: "https://localhost/ofp", DisplayName: "OFP"}},
		keys.Options{Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	records, err := m.Keys("ofp")
	require.NoError(t, err)
	lim := s.LoginLimiter(login.LimiterOptions{})
	require.NoError(t, lim.Failure(ctx, "12345678909", "203.0.113.7"))

	stored := dump(t, s)
	require.Contains(t, stored, "authz_keys.doc=s:", "sealed")
	for _, r := range records {
		d := base64.RawURLEncoding.EncodeToString(r.Key.D.Bytes())
		require.NotContains(t, stored, d, "no private exponent in the clear")
	}
	require.NotContains(t, stored, `"d":`)
	require.NotContains(t, stored, "12345678909", "the CPF is kept only as an HMAC")
	require.NotContains(t, stored, "203.0.113.7", "so is the address")
	require.Equal(t, 2, strings.Count(stored, "authz_login_failures.key_hash="))
}
