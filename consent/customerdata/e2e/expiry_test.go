package e2e_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/consent/customerdata"
	"github.com/ofp-dev/ofp/consent/customerdata/databench"
	"github.com/ofp-dev/ofp/consent/resourceshttp"
)

// reissue returns the session's access token as the authorization server
// would have issued it shift earlier: the same header (kid, typ) and
// claims (grant, scopes, cnf, jti) with iat, nbf and exp moved back,
// signed with the brand's active signing key from the server's own key
// manager.
//
// Why not wait: access tokens live at least 300 s (FAPI-BR, authz/server
// MinAccessTokenLifetime), they are JWTs whose exp go-oidc checks against
// the wall clock (go-jose's default time.Now, no clock option in go-oidc
// v0.23.0 nor in authz/server Options), and the grant's stored expiry
// plays no part in a JWT's introspection, so neither a fake clock nor an
// UPDATE of the authz store can expire one. Re-signing with the issuer's
// key is exactly the token the server issued shift ago; the control (the
// same claims re-signed without a shift) must still pass, so a refusal is
// caused by the times alone.
func (e *env) reissue(t *testing.T, token string, shift time.Duration) string {
	t.Helper()
	parsed, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.PS256})
	require.NoError(t, err)
	require.Len(t, parsed.Headers, 1)
	var claims map[string]any
	require.NoError(t, parsed.UnsafeClaimsWithoutVerification(&claims))
	for _, k := range []string{"iat", "nbf", "exp"} {
		if v, ok := claims[k].(float64); ok {
			claims[k] = int64(v) - int64(shift/time.Second)
		}
	}
	require.Contains(t, claims, "exp")
	opts := &jose.SignerOptions{}
	if typ, ok := parsed.Headers[0].ExtraHeaders[jose.HeaderType].(string); ok {
		opts = opts.WithType(jose.ContentType(typ))
	}
	signer, kid, err := e.keys.ActiveSigner("bank", opts)
	require.NoError(t, err)
	require.Equal(t, parsed.Headers[0].KeyID, kid, "the token was signed with the brand's active key")
	raw, err := jwt.Signed(signer).Claims(claims).Serialize()
	require.NoError(t, err)
	return raw
}

// TestExpiredToken: a certificate-bound access token past its exp is
// refused by every API family with 401 in its spec's error shape
// (accounts and cards with Meta totals), introspection calls it inactive,
// and the receiver recovers with its refresh token.
func TestExpiredToken(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	sess, err := databench.Authorise(ctx, e.flow(e.customer(), everyPerm))
	require.NoError(t, err)
	defer sess.Close()
	r := e.reader(t, sess)

	accts := r.get(customerdata.AccountsBasePath + "/accounts")
	require.Equal(t, http.StatusOK, accts.status, string(accts.raw))
	acct := accts.list()[0].(map[string]any)["accountId"].(string)
	cards := r.get(customerdata.CreditCardsBasePath + "/accounts")
	require.Equal(t, http.StatusOK, cards.status, string(cards.raw))
	card := cards.list()[0].(map[string]any)["creditCardAccountId"].(string)
	paths := []string{
		resourceshttp.Path,
		customerdata.AccountsBasePath + "/accounts",
		customerdata.AccountsBasePath + "/accounts/" + acct + "/balances",
		customerdata.AccountsBasePath + "/accounts/" + acct + "/transactions",
		customerdata.CreditCardsBasePath + "/accounts",
		customerdata.CreditCardsBasePath + "/accounts/" + card + "/bills",
		customerdata.CustomersBasePath + "/personal/identifications",
	}

	// Control: the token re-signed with its own times is the server's.
	control := *r
	control.token = e.reissue(t, sess.AccessToken, 0)
	for _, p := range paths {
		a := control.get(p)
		require.Equal(t, http.StatusOK, a.status, "%s with the re-signed token: %s", p, a.raw)
	}
	in, err := sess.Client().Introspect(ctx, control.token)
	require.NoError(t, err)
	require.True(t, in.Active)

	// The same token issued an hour earlier: its exp is 55 min past.
	expired := *r
	expired.token = e.reissue(t, sess.AccessToken, time.Hour)
	for _, p := range paths {
		a := expired.get(p)
		require.Equal(t, http.StatusUnauthorized, a.status, "%s with an expired token: %s", p, a.raw)
		require.Equal(t, "UNAUTHORIZED", a.code(), p)
		require.Contains(t, a.header.Get("WWW-Authenticate"), `error="invalid_token"`, p)
	}
	a := expired.get(customerdata.AccountsBasePath + "/accounts")
	require.EqualValues(t, 1, a.body["meta"].(map[string]any)["totalPages"], "the accounts list's 401 carries Meta with totals")
	in, err = sess.Client().Introspect(ctx, expired.token)
	require.NoError(t, err)
	require.False(t, in.Active, "an expired token is inactive")

	// The grant outlives the access token: refresh gives a working one.
	fresh, err := sess.Client().Refresh(ctx, sess.RefreshToken)
	require.NoError(t, err)
	require.NotEqual(t, sess.AccessToken, fresh.AccessToken)
	renewed := *r
	renewed.token = fresh.AccessToken
	a = renewed.get(customerdata.AccountsBasePath + "/accounts/" + acct + "/transactions")
	require.Equal(t, http.StatusOK, a.status, string(a.raw))
}
