package dcr

import (
	"encoding/json"
	"slices"
	"strings"

	"testing"

	"github.com/stretchr/testify/require"
)

func TestTokenMatches(t *testing.T) {
	token, hash, err := newToken()
	require.NoError(t, err)
	require.Len(t, hash, 32)
	require.True(t, tokenMatches(token, hash))
	require.False(t, tokenMatches(token+"x", hash))
	require.False(t, tokenMatches("", hash))
	require.False(t, tokenMatches(token, hash[:31]))
	other, _, err := newToken()
	require.NoError(t, err)
	require.NotEqual(t, token, other)
}

func TestAllowedScopes(t *testing.T) {
	require.Equal(t, []string{"openid"}, allowedScopes([]string{"CONTA", "CCORR"}))
	require.Equal(t, []string{"openid", "payments", "recurring-payments", "nrp-consents"}, allowedScopes([]string{"PAGTO"}))
	require.Empty(t, allowedScopes([]string{"UNKNOWN"}))
	got := allowedScopes([]string{"PAGTO", "DADOS"})
	require.Equal(t, "openid", got[0])
	require.Contains(t, got, "payments")
	require.Contains(t, got, "credit-portability")
}

func FuzzParseRequest(f *testing.F) {
	seeds := []string{
		`{"software_statement":"a.b.c","redirect_uris":["https://tpp.example/cb"],"scope":"openid accounts"}`,
		`{"redirect_uris":42}`,
		`{"jwks":{"keys":[]},"webhook_uris":["https://x/y/"]}`,
		`[]`, `null`, `{`, ``, `{"grant_types":[null,"implicit"],"response_types":["code id_token"]}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	ssa := SoftwareStatement{
		SoftwareID: "sw", OrgID: "org", SoftwareJWKSURI: "https://k.example/a.jwks",
		SoftwareRedirectURIs: []string{"https://tpp.example/cb"}, SoftwareWebhookURIs: []string{"https://tpp.example/h"},
		SoftwareRoles: []string{"DADOS"},
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := ParseRequest(data)
		if err != nil {
			var e *Error
			require.ErrorAs(t, err, &e)
			require.Equal(t, 400, e.Status)
			return
		}
		md, err := buildMetadata(req, ssa)
		if err != nil {
			var e *Error
			require.ErrorAs(t, err, &e)
			require.Equal(t, 400, e.Status)
			return
		}
		require.Equal(t, ssa.SoftwareJWKSURI, md.JWKSURI)
		require.NotEmpty(t, md.RedirectURIs)
		for _, u := range md.RedirectURIs {
			require.Contains(t, ssa.SoftwareRedirectURIs, u)
		}
	})
}

func FuzzSoftwareStatementClaims(f *testing.F) {
	f.Add([]byte(`{"iss":"x","iat":1620060821,"software_id":"a","org_id":"b","software_version":1.10,"software_statement_roles":[{"role":"dados","status":"Active"}]}`))
	f.Add([]byte(`{"software_version":"1.1","software_roles":["PAGTO"],"iat":"x"}`))
	f.Add([]byte(`{"software_statement_roles":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var ssa SoftwareStatement
		if json.Unmarshal(data, &ssa) != nil {
			return
		}
		_ = ssa.version()
		roles := ssa.ActiveRoles()
		if ssa.SoftwareStatementRoles != nil {
			for _, r := range roles {
				require.Equal(t, strings.ToUpper(r), r)
			}
		}
		for _, s := range allowedScopes(roles) {
			require.Contains(t, append(slices.Clone(RoleScopes["DADOS"]), RoleScopes["PAGTO"]...), s)
		}
	})
}
