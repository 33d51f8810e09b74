package consenthttp

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/consent"
)

// FuzzCreateConsentBody feeds arbitrary bytes to the POST /consents body
// parser and to the creation rules: they must never panic, and whatever the
// parser accepts must satisfy the spec's schema constraints the rest of the
// package relies on. The seeds run under plain go test.
func FuzzCreateConsentBody(f *testing.F) {
	seeds := []string{
		`{"data":{"loggedUser":{"document":{"identification":"76109277673","rel":"CPF"}},"permissions":["ACCOUNTS_READ","ACCOUNTS_BALANCES_READ","RESOURCES_READ"],"expirationDateTime":"2027-05-21T08:30:00Z"}}`,
		`{"data":{"loggedUser":{"document":{"identification":"76109277673","rel":"CPF"}},"businessEntity":{"document":{"identification":"50685362006773","rel":"CNPJ"}},"permissions":["CUSTOMERS_BUSINESS_IDENTIFICATIONS_READ","RESOURCES_READ"]}}`,
		`{"data":{"loggedUser":{"document":{"identification":"76109277673","rel":"CPF"}},"permissions":["EXCHANGES_READ","RESOURCES_READ"],"expirationDateTime":"2027-1-2T08:30:00Z","isLinked":true}}`,
		`{"data":{"loggedUser":{"document":{"identification":"76109277673","rel":"CPF"}},"permissions":["ACCOUNTS_READ","ACCOUNTS_READ"]}}`,
		`{"data":{"permissions":["PAYMENTS_READ"]}}`,
		`{"data":{"loggedUser":null,"permissions":null}}`,
		`{"data":{"loggedUser":{"document":{"identification":7,"rel":"CPF"}}}}`,
		`{"data":{"loggedUser":{"document":{"identification":"76109277673","rel":"CPF"}},"permissions":["RESOURCES_READ"],"expirationDateTime":"2027-02-30T00:00:00Z"}}`,
		`{"data":{}} {}`,
		`{"data":`,
		`[]`,
		`null`,
		``,
		"\xff\xfe",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	at := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	h := &Handler{now: func() time.Time { return at }, offered: []consent.Product{consent.ProductAccounts, consent.ProductCreditOperations}}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := parseCreateConsent(body)
		if err != nil {
			var be *bodyError
			require.ErrorAs(t, err, &be)
			require.NotEmpty(t, be.Error())
			require.True(t, json.Valid([]byte(`"`+jsonEscape(be.Error())+`"`)))
			return
		}
		require.NotEmpty(t, req.Permissions)
		require.NoError(t, consent.ValidatePermissions(req.Permissions))
		require.Regexp(t, cpfPattern, req.LoggedUser.Document.Identification)
		if req.BusinessEntity != nil {
			require.Regexp(t, cnpjPattern, req.BusinessEntity.Document.Identification)
		}
		if req.Expiration != nil {
			require.Equal(t, time.UTC, req.Expiration.Location())
		}
		perms, apiErr := h.checkCreate(&request{at: at}, req)
		if apiErr != nil {
			require.Equal(t, 422, apiErr.Status)
			return
		}
		require.NoError(t, consent.ValidatePermissions(perms))
		groups, missing := consent.IncompleteGroups(perms)
		require.Empty(t, groups)
		require.False(t, missing)
	})
}

func jsonEscape(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}
