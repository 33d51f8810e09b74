package customerdata

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/connectors/corebank"
	"github.com/ofp-dev/ofp/consent"
)

var (
	personalPerms = []string{consent.PermCustomersPersonalIdentificationsRead, consent.PermCustomersPersonalAdittionalInfoRead, consent.PermResourcesRead}
	businessPerms = []string{consent.PermCustomersBusinessIdentificationsRead, consent.PermCustomersBusinessAdittionalInfoRead, consent.PermResourcesRead}
)

func ofType(typ corebank.PersonType) func(corebank.Customer, []corebank.Account, []corebank.CreditCardAccount) bool {
	return func(c corebank.Customer, _ []corebank.Account, _ []corebank.CreditCardAccount) bool {
		return c.Type == typ
	}
}

func TestCustomersPersonal(t *testing.T) {
	e := newEnv(t, envOptions{})
	pf, _, _ := e.customer(ofType(corebank.PF))
	id := e.grant("client-a", pf, personalPerms, nil)

	r := e.do(call{path: CustomersBasePath + "/personal/identifications", consent: id})
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	require.Len(t, r.list(), 1)
	ident := r.list()[0].(map[string]any)
	require.Equal(t, pf.ID, ident["personalId"])
	require.Equal(t, pf.CPF, ident["documents"].(map[string]any)["cpfNumber"])
	require.Equal(t, []string{"requestDateTime"}, keys(r.meta()), "customers' Meta is requestDateTime alone")
	require.Equal(t, CustomersVersion, r.header.Get("x-v"))

	for _, p := range []string{"/personal/qualifications", "/personal/financial-relations"} {
		r = e.do(call{path: CustomersBasePath + p, consent: id})
		require.Equal(t, http.StatusOK, r.status, string(r.raw))
		require.NotEmpty(t, r.object())
	}
	// A PF consent cannot grant business permissions: 403 on business data.
	for _, p := range []string{"/business/identifications", "/business/qualifications", "/business/financial-relations"} {
		r = e.do(call{path: CustomersBasePath + p, consent: id})
		require.Equal(t, http.StatusForbidden, r.status, string(r.raw))
		require.Equal(t, CodeForbidden, r.errorCode())
	}

	// Registration data only: the complementary info is refused.
	idOnly := e.grant("client-a", pf, []string{consent.PermCustomersPersonalIdentificationsRead, consent.PermResourcesRead}, nil)
	r = e.do(call{path: CustomersBasePath + "/personal/qualifications", consent: idOnly})
	require.Equal(t, http.StatusForbidden, r.status)
	r = e.do(call{path: CustomersBasePath + "/personal/identifications?page-size=1001", consent: idOnly})
	require.Equal(t, http.StatusUnprocessableEntity, r.status)
	r = e.do(call{path: CustomersBasePath + "/personal/identifications?page=2", consent: idOnly})
	require.Equal(t, http.StatusUnprocessableEntity, r.status, "identifications may not be empty: a page past the end is refused")

	e.revoke(id)
	r = e.do(call{path: CustomersBasePath + "/personal/identifications", consent: id})
	require.Equal(t, http.StatusUnauthorized, r.status)
	r = e.do(call{path: CustomersBasePath + "/nowhere", consent: idOnly, noVerify: true})
	require.Equal(t, http.StatusNotFound, r.status)
	require.NotContains(t, r.meta(), "totalRecords", "customers' errors carry Meta without totals")
}

func TestCustomersBusiness(t *testing.T) {
	e := newEnv(t, envOptions{})
	pj, _, _ := e.customer(ofType(corebank.PJ))
	id := e.grant("client-a", pj, businessPerms, nil)

	r := e.do(call{path: CustomersBasePath + "/business/identifications", consent: id})
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	require.Len(t, r.list(), 1)
	require.Equal(t, pj.CNPJ, r.list()[0].(map[string]any)["cnpjNumber"])
	for _, p := range []string{"/business/qualifications", "/business/financial-relations"} {
		r = e.do(call{path: CustomersBasePath + p, consent: id})
		require.Equal(t, http.StatusOK, r.status, string(r.raw))
	}
	r = e.do(call{path: CustomersBasePath + "/personal/identifications", consent: id})
	require.Equal(t, http.StatusForbidden, r.status)
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
