package login

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/consent"
)

func TestEveryConsentPermissionHasPlainLanguage(t *testing.T) {
	for _, p := range consent.AllPermissions {
		require.True(t, Known(p), "permission %s has no label", p)
	}
	require.True(t, Known(PaymentsInitiate))
	require.Len(t, labels, len(consent.AllPermissions)+1, "no label for a permission the spec does not have")
	groups := Describe(consent.AllPermissions)
	require.Len(t, groups, len(categories)-1, "every category but payments")
	for _, g := range groups {
		require.NotEmpty(t, g.Items)
	}
	other := Describe([]string{"ACCOUNTS_READ", "SOMETHING_NEW", "ACCOUNTS_READ"})
	require.Len(t, other, 2, "unknown permissions are shown, never dropped")
	require.Len(t, other[0].Items, 1, "duplicates collapse")
	require.Equal(t, "Outros", other[1].PT)
}

func TestPaymentConsentPicksOneAccount(t *testing.T) {
	require.Equal(t, []string{"ACCOUNT"}, ResourceTypes([]string{PaymentsInitiate}))
	require.True(t, SingleResource([]string{PaymentsInitiate}))
	require.False(t, SingleResource([]string{"ACCOUNTS_READ", "RESOURCES_READ"}))
	g := Describe([]string{PaymentsInitiate})
	require.Len(t, g, 1)
	require.Equal(t, "Pagamento", g[0].PT)

	p, err := NewPages()
	require.NoError(t, err)
	render := func(single bool) string {
		rec := httptest.NewRecorder()
		require.NoError(t, p.Consent(rec, 200, ConsentPage{Brand: Brand{Name: "Banco"}, Action: "/x", CSRF: "c", Groups: g,
			Accounts: []AccountChoice{{ID: "a1", Label: "Conta 1"}, {ID: "a2", Label: "Conta 2"}}, NeedAccounts: true, SingleAccount: single}))
		return rec.Body.String()
	}
	page := render(true)
	require.Equal(t, 2, strings.Count(page, `type="radio" name="resource"`), page)
	require.NotContains(t, page, `type="checkbox"`)
	require.Contains(t, page, "Choose the account to pay from")
	require.Equal(t, 2, strings.Count(render(false), `type="checkbox" name="resource"`))
}

func TestResourceTypes(t *testing.T) {
	require.Equal(t, []string{"ACCOUNT"}, ResourceTypes([]string{"ACCOUNTS_READ", "ACCOUNTS_BALANCES_READ", "RESOURCES_READ"}))
	require.Empty(t, ResourceTypes([]string{"CUSTOMERS_PERSONAL_IDENTIFICATIONS_READ", "RESOURCES_READ"}))
	require.Equal(t, []string{"CREDIT_CARD_ACCOUNT", "LOAN", "FINANCING", "UNARRANGED_ACCOUNT_OVERDRAFT", "INVOICE_FINANCING"},
		ResourceTypes([]string{"CREDIT_CARDS_ACCOUNTS_READ", "LOANS_READ"}))
}

func TestPagesRenderWithoutScriptAndWithBrand(t *testing.T) {
	p, err := NewPages()
	require.NoError(t, err)
	brand := Brand{Name: "Banco <Exemplo>", Colour: "#aa3300"}
	require.NoError(t, brand.Validate())
	require.Error(t, Brand{Name: "x", Colour: "red;}"}.Validate())

	rec := httptest.NewRecorder()
	require.NoError(t, p.Login(rec, 401, LoginPage{Brand: brand, Action: "https://as/brand/authorize/abc", CSRF: "tok\"en",
		ClientName: "TPP <b>", CPF: "52998224725", NeedOTP: true, Error: "Dados inválidos"}))
	body := rec.Body.String()
	require.Equal(t, 401, rec.Code)
	require.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
	require.Contains(t, rec.Header().Get("Content-Security-Policy"), "default-src 'none'")
	require.NotContains(t, strings.ToLower(body), "<script")
	require.Contains(t, body, "#aa3300")
	require.Contains(t, body, "Banco &lt;Exemplo&gt;")
	require.Contains(t, body, "TPP &lt;b&gt;")
	require.Contains(t, body, `name="otp"`)
	require.Contains(t, body, `value="tok&#34;en"`)
	require.Contains(t, body, `action="https://as/brand/authorize/abc"`)

	rec = httptest.NewRecorder()
	require.NoError(t, p.Consent(rec, 200, ConsentPage{Brand: brand, Action: "/a", CSRF: "c", ClientName: "TPP", CustomerName: "Ana",
		Groups:   Describe([]string{"ACCOUNTS_READ", "ACCOUNTS_BALANCES_READ", "RESOURCES_READ"}),
		Accounts: []AccountChoice{{ID: "acc-1", Label: "Conta 1"}}, NeedAccounts: true,
		Expires: time.Date(2027, 1, 2, 3, 4, 0, 0, time.UTC)}))
	body = rec.Body.String()
	require.Contains(t, body, "Saldos das contas")
	require.Contains(t, body, "Account balances")
	require.Contains(t, body, `name="resource" value="acc-1"`)
	require.Contains(t, body, `name="decision" value="approve"`)
	require.Contains(t, body, `name="decision" value="deny"`)
	require.Contains(t, body, "Válido até 02/01/2027 00:04 (horário de Brasília)")
	require.Contains(t, body, "Valid until 02/01/2027 00:04 (Brasília time)")
	require.NotContains(t, strings.ToLower(body), "<script")

	rec = httptest.NewRecorder()
	require.NoError(t, p.Error(rec, 429, ErrorPage{Brand: brand, Code: "too_many_attempts", Message: "Aguarde", RetryAfter: 1500 * time.Millisecond}))
	require.Equal(t, 429, rec.Code)
	require.Equal(t, "2", rec.Header().Get("Retry-After"))
	require.Contains(t, rec.Body.String(), `data-error="too_many_attempts"`)
}

func TestParseLogin(t *testing.T) {
	ok := url.Values{FieldCSRF: {"c"}, FieldCPF: {"529.982.247-25"}, FieldPassword: {"pw"}}
	f, err := ParseLogin(ok)
	require.NoError(t, err)
	require.Equal(t, "52998224725", f.CPF)
	require.Empty(t, f.CNPJ)

	withCNPJ := url.Values{FieldCSRF: {"c"}, FieldCPF: {"52998224725"}, FieldCNPJ: {"11.222.333/0001-81"}, FieldPassword: {"pw"}, FieldOTP: {"123456"}}
	f, err = ParseLogin(withCNPJ)
	require.NoError(t, err)
	require.Equal(t, "11222333000181", f.CNPJ)
	require.Equal(t, "123456", f.OTP)

	for name, v := range map[string]url.Values{
		"bad cpf":       {FieldCPF: {"52998224726"}, FieldPassword: {"pw"}},
		"bad cnpj":      {FieldCPF: {"52998224725"}, FieldCNPJ: {"11222333000182"}, FieldPassword: {"pw"}},
		"no password":   {FieldCPF: {"52998224725"}},
		"long password": {FieldCPF: {"52998224725"}, FieldPassword: {strings.Repeat("x", 129)}},
		"bad otp":       {FieldCPF: {"52998224725"}, FieldPassword: {"pw"}, FieldOTP: {"12a456"}},
		"repeated cpf":  {FieldCPF: {"52998224725", "11144477735"}, FieldPassword: {"pw"}},
		"repeated csrf": {FieldCSRF: {"a", "b"}, FieldCPF: {"52998224725"}, FieldPassword: {"pw"}},
	} {
		_, err := ParseLogin(v)
		var fe *FormError
		require.ErrorAs(t, err, &fe, name)
	}
}

func TestParseConsent(t *testing.T) {
	f, err := ParseConsent(url.Values{FieldCSRF: {"c"}, FieldDecision: {DecisionApprove}, FieldResource: {"a-1", "b-2", "a-1"}})
	require.NoError(t, err)
	require.True(t, f.Approve)
	require.Equal(t, []string{"a-1", "b-2"}, f.Resources)
	f, err = ParseConsent(url.Values{FieldDecision: {DecisionDeny}})
	require.NoError(t, err)
	require.False(t, f.Approve)
	for name, v := range map[string]url.Values{
		"no decision":    {},
		"odd decision":   {FieldDecision: {"maybe"}},
		"two decisions":  {FieldDecision: {DecisionApprove, DecisionDeny}},
		"bad resource":   {FieldDecision: {DecisionApprove}, FieldResource: {"<x>"}},
		"empty resource": {FieldDecision: {DecisionApprove}, FieldResource: {""}},
	} {
		_, err := ParseConsent(v)
		require.Error(t, err, name)
	}
	require.Equal(t, StepLogin, Step(url.Values{FieldStep: {"login"}}))
	require.Empty(t, Step(url.Values{FieldStep: {"other"}}))
	require.Empty(t, Step(url.Values{FieldStep: {"login", "consent"}}))
	require.Empty(t, CSRFToken(url.Values{FieldCSRF: {strings.Repeat("x", 200)}}))
}

func TestLimiter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := NewLimiter(LimiterOptions{MaxUserFailures: 3, MaxAddressFailures: 5, Window: time.Minute, Now: func() time.Time { return now }})
	for i := range 3 {
		ok, _ := l.Allow("ana", "10.0.0.1")
		require.True(t, ok, "attempt %d", i)
		l.Failure("ana", "10.0.0.1")
		now = now.Add(time.Second)
	}
	ok, wait := l.Allow("ana", "10.0.0.2")
	require.False(t, ok, "user blocked from any address")
	require.Equal(t, 57*time.Second, wait)
	ok, _ = l.Allow("bruno", "10.0.0.1")
	require.True(t, ok, "other user from the same address still allowed")
	l.Failure("bruno", "10.0.0.1")
	l.Failure("carla", "10.0.0.1")
	ok, _ = l.Allow("dora", "10.0.0.1")
	require.False(t, ok, "address blocked after 5 failures")
	now = now.Add(time.Minute)
	ok, _ = l.Allow("ana", "10.0.0.1")
	require.True(t, ok, "window slid")
	l.Failure("ana", "10.0.0.3")
	l.Success("ana")
	ok, _ = l.Allow("ana", "10.0.0.3")
	require.True(t, ok)

	small := NewLimiter(LimiterOptions{MaxKeys: 4, Now: func() time.Time { return now }})
	for i := range 50 {
		small.Failure(strings.Repeat("u", i+1), "a")
	}
	require.LessOrEqual(t, len(small.keys), 52, "memory stays bounded by eviction")
}
