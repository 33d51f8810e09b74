package consenthttp

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/consent"
)

var (
	accountsPerms = []string{consent.PermAccountsRead, consent.PermAccountsBalancesRead, consent.PermResourcesRead}
	businessPerms = []string{consent.PermCustomersBusinessIdentificationsRead, consent.PermResourcesRead}
	personalPerms = []string{consent.PermCustomersPersonalIdentificationsRead, consent.PermResourcesRead}
)

// forEngines runs fn against SQLite and the real PostgreSQL.
func forEngines(t *testing.T, fn func(t *testing.T, engine string)) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) { fn(t, engine) })
	}
}

func TestLifecycle(t *testing.T) {
	forEngines(t, func(t *testing.T, engine string) {
		e := newEnv(t, engine, envOptions{})
		exp := e.at(30 * 24 * time.Hour)

		r := e.do(call{method: http.MethodPost, path: consentsPath(""), body: createBody(accountsPerms, exp, false)})
		require.Equal(t, http.StatusCreated, r.status, string(r.raw))
		id := r.consentID()
		require.True(t, consent.ValidID(id))
		require.True(t, strings.HasPrefix(id, "urn:ofpbank:"))
		require.Equal(t, "AWAITING_AUTHORISATION", r.data()["status"])
		require.Equal(t, exp, r.data()["expirationDateTime"])
		require.ElementsMatch(t, accountsPerms, r.data()["permissions"])
		require.Equal(t, e.srv.URL+consentsPath(id), r.body["links"].(map[string]any)["self"])
		require.Equal(t, e.at(0), r.body["meta"].(map[string]any)["requestDateTime"])

		r = e.do(call{method: http.MethodGet, path: consentsPath(id)})
		require.Equal(t, http.StatusOK, r.status)
		require.Equal(t, "AWAITING_AUTHORISATION", r.data()["status"])
		require.NotContains(t, r.data(), "rejection")

		e.authorise(id)
		r = e.do(call{method: http.MethodGet, path: consentsPath(id)})
		require.Equal(t, "AUTHORISED", r.data()["status"])

		r = e.do(call{method: http.MethodDelete, path: consentsPath(id)})
		require.Equal(t, http.StatusNoContent, r.status)
		require.Empty(t, r.raw)

		r = e.do(call{method: http.MethodGet, path: consentsPath(id)})
		require.Equal(t, "REJECTED", r.data()["status"])
		require.Equal(t, map[string]any{"rejectedBy": "TPP", "reason": map[string]any{"code": "CUSTOMER_MANUALLY_REVOKED"}}, r.data()["rejection"])

		r = e.do(call{method: http.MethodDelete, path: consentsPath(id)})
		require.Equal(t, http.StatusUnprocessableEntity, r.status)
		require.Equal(t, "CONSENTIMENTO_EM_STATUS_REJEITADO", r.errorCode())

		// An open-ended consent, revoked before authorisation.
		r = e.do(call{method: http.MethodPost, path: consentsPath(""), body: createBody(personalPerms, "", false)})
		require.Equal(t, http.StatusCreated, r.status, string(r.raw))
		require.NotContains(t, r.data(), "expirationDateTime")
		id2 := r.consentID()
		require.NotEqual(t, id, id2)
		require.Equal(t, http.StatusNoContent, e.do(call{method: http.MethodDelete, path: consentsPath(id2)}).status)
		r = e.do(call{method: http.MethodGet, path: consentsPath(id2)})
		require.Equal(t, map[string]any{"rejectedBy": "TPP", "reason": map[string]any{"code": "CUSTOMER_MANUALLY_REJECTED"}}, r.data()["rejection"])

		hist, err := e.store.History(context.Background(), id)
		require.NoError(t, err)
		require.Len(t, hist, 3)
		require.Equal(t, "client-a", hist[2].ClientID)
	})
}

func TestInteractionIDRequiredAndEchoed(t *testing.T) {
	e := newEnv(t, "sqlite", envOptions{})
	r := e.do(call{method: http.MethodPost, path: consentsPath(""), body: createBody(accountsPerms, "", false)})
	require.Equal(t, http.StatusCreated, r.status)
	id := r.consentID()
	for _, v := range []string{"", "not-a-uuid", "d78fc4e5-37ca-4da3-adf2-9b082bf9228"} {
		for _, c := range []call{
			{method: http.MethodPost, path: consentsPath(""), body: createBody(accountsPerms, "", false)},
			{method: http.MethodGet, path: consentsPath(id)},
			{method: http.MethodDelete, path: consentsPath(id)},
			{method: http.MethodGet, path: consentsPath(id, "/extensions")},
		} {
			c.headers = map[string]string{"x-fapi-interaction-id": v}
			r := e.do(c) // do() checks a generated UUID is answered
			require.Equal(t, http.StatusBadRequest, r.status, "%s %s with %q", c.method, c.path, v)
		}
	}
	// Nothing was revoked by the refused DELETEs.
	r = e.do(call{method: http.MethodGet, path: consentsPath(id)})
	require.Equal(t, "AWAITING_AUTHORISATION", r.data()["status"])
}

func TestCreateRules(t *testing.T) {
	e := newEnv(t, "sqlite", envOptions{})
	type tc struct {
		name   string
		body   any
		status int
		code   string
	}
	cases := []tc{
		{"unknown permission", createBody([]string{"ACCOUNTS_READ", "ACCOUNTS_BALANCES_READ", "RESOURCES_READ", "PAYMENTS_READ"}, "", false), 400, codeInvalidParameter},
		{"duplicated permission", createBody([]string{"ACCOUNTS_READ", "ACCOUNTS_BALANCES_READ", "RESOURCES_READ", "RESOURCES_READ"}, "", false), 400, codeInvalidParameter},
		{"no permissions", createBody([]string{}, "", false), 400, codeInvalidParameter},
		{"malformed JSON", `{"data":{"permissions":[`, 400, codeInvalidParameter},
		{"not an object", `[]`, 400, codeInvalidParameter},
		{"two values", `{"data":{}} {}`, 400, codeInvalidParameter},
		{"wrong type", `{"data":{"permissions":"ACCOUNTS_READ"}}`, 400, codeInvalidParameter},
		{"empty body", ``, 400, codeInvalidParameter},
		{"missing data", `{}`, 400, codeInvalidParameter},
		{"missing loggedUser", map[string]any{"data": map[string]any{"permissions": accountsPerms}}, 400, codeInvalidParameter},
		{"bad CPF", map[string]any{"data": map[string]any{"permissions": accountsPerms,
			"loggedUser": map[string]any{"document": map[string]any{"identification": "123", "rel": "CPF"}}}}, 400, codeInvalidParameter},
		{"malformed expiration", createBody(accountsPerms, "2030-01-01T00:00:00+03:00", false), 400, codeInvalidParameter},
		{"impossible date", createBody(accountsPerms, "2030-02-30T00:00:00Z", false), 400, codeInvalidParameter},
		{"incomplete group", createBody([]string{"ACCOUNTS_READ", "RESOURCES_READ"}, "", false), 422, codeBadCombination},
		{"incomplete bundled group", createBody([]string{"LOANS_READ", "LOANS_WARRANTIES_READ", "RESOURCES_READ"}, "", false), 422, codeBadCombination},
		{"missing RESOURCES_READ", createBody([]string{"ACCOUNTS_READ", "ACCOUNTS_BALANCES_READ"}, "", false), 422, codeBadCombination},
		{"PF and PJ together", createBody(append(append([]string{}, personalPerms...), consent.PermCustomersBusinessIdentificationsRead), "", true), 422, codePFPJTogether},
		{"PJ without businessEntity", createBody(businessPerms, "", false), 422, codePJInfoMissing},
		{"businessEntity with PF permissions", createBody(personalPerms, "", true), 422, codePJPermissions},
		{"expiration in the past", createBody(accountsPerms, e.at(-time.Minute), false), 422, codeInvalidExpiration},
		{"expiration now", createBody(accountsPerms, e.at(0), false), 422, codeInvalidExpiration},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.do(call{method: http.MethodPost, path: consentsPath(""), body: c.body})
			require.Equal(t, c.status, r.status, string(r.raw))
			require.Equal(t, c.code, r.errorCode())
		})
	}

	t.Run("wrong content type", func(t *testing.T) {
		r := e.do(call{method: http.MethodPost, path: consentsPath(""), body: createBody(accountsPerms, "", false),
			headers: map[string]string{"Content-Type": "text/plain"}})
		require.Equal(t, http.StatusUnsupportedMediaType, r.status)
	})
	t.Run("not acceptable", func(t *testing.T) {
		r := e.do(call{method: http.MethodPost, path: consentsPath(""), body: createBody(accountsPerms, "", false),
			headers: map[string]string{"Accept": "application/xml"}})
		require.Equal(t, http.StatusNotAcceptable, r.status)
	})
	t.Run("unidentified client", func(t *testing.T) {
		r := e.do(call{method: http.MethodPost, path: consentsPath(""), body: createBody(accountsPerms, "", false),
			headers: map[string]string{"X-Test-Client": ""}})
		require.Equal(t, http.StatusUnauthorized, r.status)
	})
	t.Run("PJ consent", func(t *testing.T) {
		r := e.do(call{method: http.MethodPost, path: consentsPath(""), body: createBody(businessPerms, e.at(time.Hour), true)})
		require.Equal(t, http.StatusCreated, r.status, string(r.raw))
		c, err := e.store.Get(context.Background(), r.consentID())
		require.NoError(t, err)
		require.Equal(t, "50685362006773", c.BusinessEntity.Document.Identification)
	})
	t.Run("several groups and a bundled one", func(t *testing.T) {
		perms := append(append([]string{}, accountsPerms...), consent.PermAccountsTransactionsRead,
			consent.PermBankFixedIncomesRead, consent.PermCreditFixedIncomesRead, consent.PermFundsRead,
			consent.PermVariableIncomesRead, consent.PermTreasureTitlesRead)
		r := e.do(call{method: http.MethodPost, path: consentsPath(""), body: createBody(perms, "", false)})
		require.Equal(t, http.StatusCreated, r.status, string(r.raw))
		require.ElementsMatch(t, perms, r.data()["permissions"])
	})

	t.Run("max expiration", func(t *testing.T) {
		e := newEnv(t, "sqlite", envOptions{maxExp: 365 * 24 * time.Hour})
		r := e.do(call{method: http.MethodPost, path: consentsPath(""), body: createBody(accountsPerms, e.at(366*24*time.Hour), false)})
		require.Equal(t, http.StatusUnprocessableEntity, r.status)
		require.Equal(t, codeInvalidExpiration, r.errorCode())
		r = e.do(call{method: http.MethodPost, path: consentsPath(""), body: createBody(accountsPerms, e.at(364*24*time.Hour), false)})
		require.Equal(t, http.StatusCreated, r.status)
		r = e.do(call{method: http.MethodPost, path: consentsPath(""), body: createBody(accountsPerms, "", false)})
		require.Equal(t, http.StatusCreated, r.status, "open-ended consents are always allowed")
	})
}

func TestOfferedProducts(t *testing.T) {
	e := newEnv(t, "sqlite", envOptions{offered: []consent.Product{consent.ProductAccounts, consent.ProductCreditOperations}})
	perms := append(append([]string{}, accountsPerms...), consent.PermExchangesRead,
		consent.PermCreditCardsAccountsRead, consent.PermCreditCardsAccountsLimitsRead)
	r := e.do(call{method: http.MethodPost, path: consentsPath(""), body: createBody(perms, "", false)})
	require.Equal(t, http.StatusCreated, r.status, string(r.raw))
	require.ElementsMatch(t, accountsPerms, r.data()["permissions"], "exchange and credit-card permissions are dropped")

	var credit []string
	for _, g := range consent.PermissionGroups {
		if g.Name == "Operações de Crédito" {
			credit = g.Permissions
		}
	}
	r = e.do(call{method: http.MethodPost, path: consentsPath(""), body: createBody(credit, "", false)})
	require.Equal(t, http.StatusCreated, r.status, string(r.raw))
	require.ElementsMatch(t, credit, r.data()["permissions"], "a bundled group is kept whole")

	r = e.do(call{method: http.MethodPost, path: consentsPath(""), body: createBody([]string{consent.PermExchangesRead, consent.PermResourcesRead}, "", false)})
	require.Equal(t, http.StatusUnprocessableEntity, r.status)
	require.Equal(t, codeNoFunctional, r.errorCode())
}

func TestExpiryIsAppliedOnRead(t *testing.T) {
	forEngines(t, func(t *testing.T, engine string) {
		e := newEnv(t, engine, envOptions{})
		r := e.do(call{method: http.MethodPost, path: consentsPath(""), body: createBody(accountsPerms, "", false)})
		awaiting := r.consentID()
		r = e.do(call{method: http.MethodPost, path: consentsPath(""), body: createBody(accountsPerms, e.at(2*time.Hour), false)})
		authorised := r.consentID()
		e.authorise(authorised)

		e.clock.Advance(59 * time.Minute)
		r = e.do(call{method: http.MethodGet, path: consentsPath(awaiting)})
		require.Equal(t, "AWAITING_AUTHORISATION", r.data()["status"])

		e.clock.Advance(time.Minute)
		r = e.do(call{method: http.MethodGet, path: consentsPath(awaiting)})
		require.Equal(t, "REJECTED", r.data()["status"])
		require.Equal(t, map[string]any{"rejectedBy": "ASPSP", "reason": map[string]any{"code": "CONSENT_EXPIRED"}}, r.data()["rejection"])
		require.Equal(t, e.at(0), r.data()["statusUpdateDateTime"])
		r = e.do(call{method: http.MethodDelete, path: consentsPath(awaiting)})
		require.Equal(t, http.StatusUnprocessableEntity, r.status)
		require.Equal(t, codeAlreadyRejected, r.errorCode())

		r = e.do(call{method: http.MethodGet, path: consentsPath(authorised)})
		require.Equal(t, "AUTHORISED", r.data()["status"])
		e.clock.Advance(time.Hour)
		// DELETE sees the expiry first: the consent is already REJECTED.
		r = e.do(call{method: http.MethodDelete, path: consentsPath(authorised)})
		require.Equal(t, http.StatusUnprocessableEntity, r.status)
		r = e.do(call{method: http.MethodGet, path: consentsPath(authorised)})
		require.Equal(t, map[string]any{"rejectedBy": "ASPSP", "reason": map[string]any{"code": "CONSENT_MAX_DATE_REACHED"}}, r.data()["rejection"])
	})
}

func TestExtend(t *testing.T) {
	forEngines(t, func(t *testing.T, engine string) {
		e := newEnv(t, engine, envOptions{})
		exp30 := e.at(30 * 24 * time.Hour)
		r := e.do(call{method: http.MethodPost, path: consentsPath(""), body: createBody(accountsPerms, exp30, false)})
		id := r.consentID()
		extends := consentsPath(id, "/extends")
		const cpf = "76109277673"

		r = e.do(call{method: http.MethodPost, path: extends, body: extendBody(cpf, e.at(60*24*time.Hour), ""), headers: extendHeaders})
		require.Equal(t, http.StatusUnprocessableEntity, r.status, "AWAITING_AUTHORISATION cannot be renewed")
		require.Equal(t, codeInvalidConsentState, r.errorCode())
		e.authorise(id)

		without := func(h string) map[string]string {
			m := map[string]string{}
			for k, v := range extendHeaders {
				m[k] = v
			}
			m[h] = ""
			return m
		}
		for _, h := range []string{"x-fapi-customer-ip-address", "x-customer-user-agent"} {
			r = e.do(call{method: http.MethodPost, path: extends, body: extendBody(cpf, e.at(60*24*time.Hour), ""), headers: without(h)})
			require.Equal(t, http.StatusBadRequest, r.status, h)
		}
		bad := []struct {
			name   string
			body   any
			status int
			code   string
		}{
			{"malformed", `{"data":`, 400, codeInvalidParameter},
			{"no loggedUser", `{"data":{}}`, 400, codeInvalidParameter},
			{"another user of a PF consent", extendBody("11111111111", e.at(60*24*time.Hour), ""), 403, codeForbidden},
			{"businessEntity on a PF consent", extendBody(cpf, e.at(60*24*time.Hour), "50685362006773"), 403, codeForbidden},
			{"in the past", extendBody(cpf, e.at(-time.Hour), ""), 422, codeInvalidExpiration},
			{"earlier than the current expiry", extendBody(cpf, e.at(10*24*time.Hour), ""), 422, codeInvalidExpiration},
			{"equal to the current expiry", extendBody(cpf, exp30, ""), 422, codeInvalidExpiration},
		}
		for _, b := range bad {
			r = e.do(call{method: http.MethodPost, path: extends, body: b.body, headers: extendHeaders})
			require.Equal(t, b.status, r.status, "%s: %s", b.name, r.raw)
			require.Equal(t, b.code, r.errorCode(), b.name)
		}

		exp60 := e.at(60 * 24 * time.Hour)
		r = e.do(call{method: http.MethodPost, path: extends, body: extendBody(cpf, exp60, ""), headers: extendHeaders})
		require.Equal(t, http.StatusCreated, r.status, string(r.raw))
		require.Equal(t, exp60, r.data()["expirationDateTime"])
		require.Equal(t, "AUTHORISED", r.data()["status"])
		r = e.do(call{method: http.MethodGet, path: consentsPath(id)})
		require.Equal(t, exp60, r.data()["expirationDateTime"])

		e.clock.Advance(time.Minute)
		firstAt := e.at(-time.Minute)
		r = e.do(call{method: http.MethodPost, path: extends, body: extendBody(cpf, "", ""), headers: extendHeaders})
		require.Equal(t, http.StatusCreated, r.status, string(r.raw))
		require.NotContains(t, r.data(), "expirationDateTime", "renewed as open-ended")
		r = e.do(call{method: http.MethodPost, path: extends, body: extendBody(cpf, e.at(400*24*time.Hour), ""), headers: extendHeaders})
		require.Equal(t, http.StatusUnprocessableEntity, r.status, "an open-ended consent cannot be renewed to a fixed date")
		require.Equal(t, codeInvalidExpiration, r.errorCode())

		r = e.do(call{method: http.MethodGet, path: consentsPath(id, "/extensions")})
		require.Equal(t, http.StatusOK, r.status)
		data := r.body["data"].([]any)
		require.Len(t, data, 2)
		newest, oldest := data[0].(map[string]any), data[1].(map[string]any)
		require.NotContains(t, newest, "expirationDateTime")
		require.Equal(t, exp60, newest["previousExpirationDateTime"])
		require.Equal(t, e.at(0), newest["requestDateTime"])
		require.Equal(t, exp60, oldest["expirationDateTime"])
		require.Equal(t, exp30, oldest["previousExpirationDateTime"])
		require.Equal(t, firstAt, oldest["requestDateTime"])
		require.Equal(t, "172.217.22.14", oldest["xFapiCustomerIpAddress"])
		require.Equal(t, extendHeaders["x-customer-user-agent"], oldest["xCustomerUserAgent"])
		require.Equal(t, map[string]any{"document": map[string]any{"identification": cpf, "rel": "CPF"}}, oldest["loggedUser"])
		m := r.body["meta"].(map[string]any)
		require.EqualValues(t, 2, m["totalRecords"])
		require.EqualValues(t, 1, m["totalPages"])

		// A REJECTED consent cannot be renewed.
		require.Equal(t, http.StatusNoContent, e.do(call{method: http.MethodDelete, path: consentsPath(id)}).status)
		r = e.do(call{method: http.MethodPost, path: extends, body: extendBody(cpf, "", ""), headers: extendHeaders})
		require.Equal(t, http.StatusUnprocessableEntity, r.status)
		require.Equal(t, codeInvalidConsentState, r.errorCode())
	})
}

func TestExtendBusinessConsent(t *testing.T) {
	e := newEnv(t, "sqlite", envOptions{maxExp: 365 * 24 * time.Hour})
	r := e.do(call{method: http.MethodPost, path: consentsPath(""), body: createBody(businessPerms, e.at(24*time.Hour), true)})
	require.Equal(t, http.StatusCreated, r.status)
	id := r.consentID()
	e.authorise(id)
	extends := consentsPath(id, "/extends")

	r = e.do(call{method: http.MethodPost, path: extends, body: extendBody("11111111111", e.at(48*time.Hour), ""), headers: extendHeaders})
	require.Equal(t, http.StatusForbidden, r.status, "the businessEntity is required to check a PJ renewal")
	r = e.do(call{method: http.MethodPost, path: extends, body: extendBody("11111111111", e.at(48*time.Hour), "11111111111111"), headers: extendHeaders})
	require.Equal(t, http.StatusForbidden, r.status)
	r = e.do(call{method: http.MethodPost, path: extends, body: extendBody("11111111111", e.at(400*24*time.Hour), "50685362006773"), headers: extendHeaders})
	require.Equal(t, http.StatusUnprocessableEntity, r.status, "beyond MaxExpiration")
	require.Equal(t, codeInvalidExpiration, r.errorCode())
	r = e.do(call{method: http.MethodPost, path: extends, body: extendBody("11111111111", e.at(48*time.Hour), "50685362006773"), headers: extendHeaders})
	require.Equal(t, http.StatusCreated, r.status, "any user of the business may renew: %s", r.raw)
}

func TestExtensionsPagination(t *testing.T) {
	e := newEnv(t, "sqlite", envOptions{})
	r := e.do(call{method: http.MethodPost, path: consentsPath(""), body: createBody(accountsPerms, e.at(time.Hour), false)})
	id := r.consentID()
	e.authorise(id)
	for i := range 27 {
		exp := e.clock.Now().Add(time.Duration(i+2) * time.Hour)
		_, _, err := e.store.Extend(context.Background(), id, consent.Extension{
			ExpirationDateTime: &exp, LoggedUser: consent.LoggedUser{Document: consent.Document{Identification: "76109277673", Rel: "CPF"}},
			CustomerIPAddress: "10.0.0.1", CustomerUserAgent: "test",
		}, consent.AuditActor{Who: "test"})
		require.NoError(t, err)
		e.clock.Advance(time.Second)
	}
	path := consentsPath(id, "/extensions")
	r = e.do(call{method: http.MethodGet, path: path, query: "page-size=1", specLenient: true})
	require.Equal(t, http.StatusOK, r.status)
	require.Len(t, r.body["data"].([]any), 25, "page-size below 25 counts as 25")
	l := r.body["links"].(map[string]any)
	require.Equal(t, e.srv.URL+path+"?page=2&page-size=25", l["next"])
	require.Equal(t, e.srv.URL+path+"?page=2&page-size=25", l["last"])
	require.NotContains(t, l, "prev")
	m := r.body["meta"].(map[string]any)
	require.EqualValues(t, 27, m["totalRecords"])
	require.EqualValues(t, 2, m["totalPages"])

	r = e.do(call{method: http.MethodGet, path: path, query: "page=2"})
	require.Len(t, r.body["data"].([]any), 2)
	l = r.body["links"].(map[string]any)
	require.Equal(t, e.srv.URL+path+"?page=1&page-size=25", l["first"])
	require.Equal(t, e.srv.URL+path+"?page=1&page-size=25", l["prev"])
	require.NotContains(t, l, "next")
	first := r.body["data"].([]any)[1].(map[string]any)
	require.Equal(t, fmtTime(time.Date(2026, 3, 10, 14, 0, 0, 0, time.UTC)), first["expirationDateTime"], "oldest renewal is last")

	for _, q := range []string{"page=0", "page=x", "page-size=1001", "page-size=abc"} {
		r = e.do(call{method: http.MethodGet, path: path, query: q})
		require.Equal(t, http.StatusBadRequest, r.status, q)
	}
}

func TestAnotherClientsConsent(t *testing.T) {
	forEngines(t, func(t *testing.T, engine string) {
		e := newEnv(t, engine, envOptions{})
		r := e.do(call{method: http.MethodPost, path: consentsPath(""), body: createBody(accountsPerms, e.at(time.Hour), false)})
		id := r.consentID()
		e.authorise(id)
		for _, c := range []call{
			{method: http.MethodGet, path: consentsPath(id)},
			{method: http.MethodDelete, path: consentsPath(id)},
			{method: http.MethodPost, path: consentsPath(id, "/extends"), body: extendBody("76109277673", "", ""), headers: extendHeaders},
			{method: http.MethodGet, path: consentsPath(id, "/extensions")},
		} {
			c.client = "client-b"
			r := e.do(c)
			require.Equal(t, http.StatusForbidden, r.status, "%s %s", c.method, c.path)
			require.Equal(t, codeForbidden, r.errorCode())
		}
		r = e.do(call{method: http.MethodGet, path: consentsPath(id)})
		require.Equal(t, "AUTHORISED", r.data()["status"], "the other client changed nothing")

		r = e.do(call{method: http.MethodGet, path: consentsPath("urn:ofpbank:does-not-exist")})
		require.Equal(t, http.StatusNotFound, r.status)
		r = e.do(call{method: http.MethodDelete, path: consentsPath("not-a-urn")})
		require.Equal(t, http.StatusBadRequest, r.status)
	})
}

func TestMethodNotAllowed(t *testing.T) {
	e := newEnv(t, "sqlite", envOptions{})
	res := e.raw(http.MethodPut, consentsPath("urn:ofpbank:x"))
	require.Equal(t, http.StatusMethodNotAllowed, res.StatusCode)
	require.Contains(t, res.Header.Get("Allow"), http.MethodGet)
	res = e.raw(http.MethodGet, "/open-banking/consents/v3/other")
	require.Equal(t, http.StatusNotFound, res.StatusCode)
	require.NotEmpty(t, res.Header.Get("x-fapi-interaction-id"))
}
