package portal_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/consent"
	"github.com/ofp-dev/ofp/consent/portal"
	"github.com/ofp-dev/ofp/consent/portal/portaltest"
)

type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// browser is a cookie-keeping client that does not follow redirects.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
	user string // Basic auth user for the console
}

func newBrowser(t *testing.T, e *portaltest.Env) *browser {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &browser{t: t, base: e.Server.URL, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

func (b *browser) do(method, path string, form url.Values) (int, http.Header, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.base+path, body)
	require.NoError(b.t, err)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if b.user != "" {
		req.SetBasicAuth(b.user, portaltest.StaffPassword(b.user))
	}
	res, err := b.c.Do(req)
	require.NoError(b.t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(b.t, err)
	return res.StatusCode, res.Header, string(raw)
}

func (b *browser) get(path string) (int, string) {
	st, _, body := b.do(http.MethodGet, path, nil)
	return st, body
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)

func csrfOf(t *testing.T, page string) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(page)
	require.NotNil(t, m, "no CSRF token in the page")
	return m[1]
}

func (b *browser) login(doc, pass string) {
	b.t.Helper()
	st, h, _ := b.do(http.MethodPost, portal.LoginPath, url.Values{"document": {doc}, "password": {pass}})
	require.Equal(b.t, http.StatusSeeOther, st)
	require.Equal(b.t, portal.PortalPrefix, h.Get("Location"))
}

func TestCustomerPortal(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) { testCustomerPortal(t, engine) })
	}
}

func testCustomerPortal(t *testing.T, engine string) {
	var logs logBuf
	e := portaltest.New(t, engine, slog.New(slog.NewJSONHandler(&logs, nil)))
	s := e.Seeded
	ctx := context.Background()
	b := newBrowser(t, e)

	// Not logged in: pages send to the login form.
	st, h, _ := b.do(http.MethodGet, portal.PortalPrefix, nil)
	require.Equal(t, http.StatusSeeOther, st)
	require.Equal(t, portal.LoginPath, h.Get("Location"))
	st, page := b.get(portal.LoginPath)
	require.Equal(t, http.StatusOK, st)
	require.Contains(t, page, `name="password"`)

	st, _, page = b.do(http.MethodPost, portal.LoginPath, url.Values{"document": {portaltest.CustomerCPF}, "password": {"wrong"}})
	require.Equal(t, http.StatusUnauthorized, st)
	require.Contains(t, page, "CPF/CNPJ ou senha inválidos")
	require.NotContains(t, logs.String(), "wrong", "passwords are never logged")

	b.login("761.092.776-73", portaltest.CustomerPassword) // punctuation is accepted
	st, page = b.get(portal.PortalPrefix)
	require.Equal(t, http.StatusOK, st)
	for _, want := range []string{
		"Dados enviados para Fintech Boa", "Dados trazidos de Banco Distante S.A.", "Dados enviados para Outra Receptora",
		"Os saldos das suas contas", // plain-language permission
		"Conta ag0001-cc12345", "Cartão de crédito cartao-9876",
		"Ativo", "Aguardando autorização", "Válido até 06/09/2026 09:00 (horário de Brasília)", "Sem prazo de validade",
		"Ofertas personalizadas", "Compartilhamento com parceiro", "Estudos internos", "Histórico",
		s.Held, s.Received,
	} {
		require.Contains(t, page, want)
	}
	require.NotContains(t, page, s.Other, "another customer's consent is not listed")

	// Another customer's consent: 403, logged.
	st, page = b.get("/portal/consents/" + s.Other + "/revoke")
	require.Equal(t, http.StatusForbidden, st)
	require.Contains(t, page, "não é seu")
	require.Contains(t, logs.String(), `"reason":"another customer's consent"`)

	// Revoke the held consent: the confirmation lists what happens to the linked consents.
	st, page = b.get("/portal/consents/" + s.Held + "/revoke")
	require.Equal(t, http.StatusOK, st)
	require.Contains(t, page, "Fintech Boa deixará de receber seus dados")
	require.Contains(t, page, "O uso “Estudos internos” ligado a ele também será revogado")
	require.Contains(t, page, `value="`+s.PartnerAsk+`"`, "ASK_CUSTOMER is a checkbox")
	token := csrfOf(t, page)
	st, _, _ = b.do(http.MethodPost, "/portal/consents/"+s.Held+"/revoke", url.Values{"csrf": {"bad"}})
	require.Equal(t, http.StatusForbidden, st, "a post without the page's token is refused")
	c, err := e.Store.Get(ctx, s.Held)
	require.NoError(t, err)
	require.Equal(t, consent.StatusAuthorised, c.Status)

	st, h, _ = b.do(http.MethodPost, "/portal/consents/"+s.Held+"/revoke", url.Values{"csrf": {token}, "also": {s.PartnerAsk}})
	require.Equal(t, http.StatusSeeOther, st)
	require.Equal(t, "/portal/?msg=revoked", h.Get("Location"))
	c, err = e.Store.Get(ctx, s.Held)
	require.NoError(t, err)
	require.Equal(t, consent.StatusRejected, c.Status)
	require.Equal(t, &consent.Rejection{RejectedBy: consent.RejectedByUser, Reason: consent.ReasonCustomerManuallyRevoked}, c.Rejection)
	require.Equal(t, []string{s.Held}, e.Tokens.IDs())
	for id, want := range map[string]consent.PurposeStatus{s.PartnerAsk: consent.PurposeRevoked, s.AnalyticsRevoke: consent.PurposeRevoked, s.Marketing: consent.PurposeActive} {
		pc, err := e.Store.GetPurpose(ctx, id)
		require.NoError(t, err)
		require.Equal(t, want, pc.Status, id)
	}
	st, page = b.get("/portal/?msg=revoked")
	require.Equal(t, http.StatusOK, st)
	require.Contains(t, page, "a autorização foi revogada")
	require.Contains(t, page, "Encerrado por você: o compartilhamento foi revogado")

	// Renew the purpose consent for marketing (max 730 days).
	st, page = b.get("/portal/purposes/" + s.Marketing + "/renew")
	require.Equal(t, http.StatusOK, st)
	require.Contains(t, page, "730 dias (o máximo)")
	require.NotContains(t, page, "Sem prazo de validade</option>")
	st, _, _ = b.do(http.MethodPost, "/portal/purposes/"+s.Marketing+"/renew", url.Values{"csrf": {csrfOf(t, page)}, "duration": {"open"}})
	require.Equal(t, http.StatusBadRequest, st, "open-ended is not allowed by the purpose")
	st, _, _ = b.do(http.MethodPost, "/portal/purposes/"+s.Marketing+"/renew", url.Values{"csrf": {csrfOf(t, page)}, "duration": {"730"}})
	require.Equal(t, http.StatusSeeOther, st)
	pc, err := e.Store.GetPurpose(ctx, s.Marketing)
	require.NoError(t, err)
	require.Equal(t, e.Clock.Now().AddDate(0, 0, 730).Unix(), pc.ExpiresAt.Unix())

	// A received consent cannot be renewed here; revoking it is recorded as TPP revocation.
	st, _ = b.get("/portal/consents/" + s.Received + "/renew")
	require.Equal(t, http.StatusConflict, st)
	st, page = b.get("/portal/consents/" + s.Received + "/revoke")
	require.Equal(t, http.StatusOK, st)
	require.Contains(t, page, "Vamos pedir a Banco Distante S.A.")
	st, _, _ = b.do(http.MethodPost, "/portal/consents/"+s.Received+"/revoke", url.Values{"csrf": {csrfOf(t, page)}})
	require.Equal(t, http.StatusSeeOther, st)
	c, err = e.Store.Get(ctx, s.Received)
	require.NoError(t, err)
	require.Equal(t, consent.RejectedByTPP, c.Rejection.RejectedBy)
	require.Equal(t, []string{s.Held}, e.Tokens.IDs(), "no token of ours exists for a received consent")

	// Logout ends the session.
	st, page = b.get(portal.PortalPrefix)
	require.Equal(t, http.StatusOK, st)
	st, _, _ = b.do(http.MethodPost, "/portal/logout", url.Values{"csrf": {csrfOf(t, page)}})
	require.Equal(t, http.StatusSeeOther, st)
	st, _ = b.get(portal.PortalPrefix)
	require.Equal(t, http.StatusSeeOther, st)
}

func TestSessionExpiresAndForgedCookiesFail(t *testing.T) {
	e := portaltest.New(t, "sqlite", nil)
	b := newBrowser(t, e)
	b.login(portaltest.CustomerCPF, portaltest.CustomerPassword)
	u, _ := url.Parse(e.Server.URL + portal.PortalPrefix)
	cookies := b.c.Jar.Cookies(u)
	require.Len(t, cookies, 1)
	require.Equal(t, portal.SessionCookie, cookies[0].Name)

	// Swap the document inside the payload: the signature no longer matches.
	other := newBrowser(t, e)
	payload, sig, _ := strings.Cut(cookies[0].Value, ".")
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	require.NoError(t, err)
	require.Contains(t, string(raw), portaltest.CustomerCPF)
	swapped := strings.Replace(string(raw), portaltest.CustomerCPF, portaltest.OtherCPF, 1)
	forged := base64.RawURLEncoding.EncodeToString([]byte(swapped)) + "." + sig
	other.c.Jar.SetCookies(u, []*http.Cookie{{Name: portal.SessionCookie, Value: forged, Path: portal.PortalPrefix}})
	st, _, _ := other.do(http.MethodGet, portal.PortalPrefix, nil)
	require.Equal(t, http.StatusSeeOther, st)

	e.Clock.Advance(16 * 60 * 1e9)
	st, _, _ = b.do(http.MethodGet, portal.PortalPrefix, nil)
	require.Equal(t, http.StatusSeeOther, st, "the session lasts 15 minutes")
}

func TestOperatorConsole(t *testing.T) {
	var logs logBuf
	e := portaltest.New(t, "sqlite", slog.New(slog.NewJSONHandler(&logs, nil)))
	s := e.Seeded
	ctx := context.Background()
	anon := newBrowser(t, e)
	st, h, _ := anon.do(http.MethodGet, portal.ConsolePrefix, nil)
	require.Equal(t, http.StatusUnauthorized, st)
	require.Contains(t, h.Get("WWW-Authenticate"), "Basic")

	viewer := newBrowser(t, e)
	viewer.user = portaltest.Viewer
	st, page := viewer.get(portal.ConsolePrefix + "?document=" + portaltest.CustomerCPF + "&status=AUTHORISED")
	require.Equal(t, http.StatusOK, st)
	require.Contains(t, page, s.Held)
	require.Contains(t, page, s.Received)
	require.NotContains(t, page, s.HeldAwaiting)
	require.Contains(t, page, "2 consentimento(s)")
	st, page = viewer.get(portal.ConsolePrefix + "?client=client-fintech&role=HOLDER&from=2026-03-10&to=2026-03-10")
	require.Equal(t, http.StatusOK, st)
	require.Contains(t, page, s.Held)
	require.Contains(t, page, s.Other)
	st, page = viewer.get(portal.ConsolePrefix + "?from=2026-03-11")
	require.Equal(t, http.StatusOK, st)
	require.Contains(t, page, "0 consentimento(s)")
	st, _ = viewer.get(portal.ConsolePrefix + "?status=REVOKED")
	require.Equal(t, http.StatusBadRequest, st)
	st, page = viewer.get(portal.ConsolePrefix + "consents/" + s.Held)
	require.Equal(t, http.StatusOK, st)
	require.NotContains(t, page, "Revogar com motivo", "viewers see no revoke action")
	st, _ = viewer.get(portal.ConsolePrefix + "consents/" + s.Held + "/revoke")
	require.Equal(t, http.StatusForbidden, st)
	require.Contains(t, logs.String(), `"user":"vera"`)
	st, _ = viewer.get(portal.ConsolePrefix + "customers/" + portaltest.CustomerCPF + "/payments/0b3d7a52-4a52-4f8e-9d4b-7d35a1c0b6a1/cancel")
	require.Equal(t, http.StatusForbidden, st, "cancelling a customer's payment needs an operator")
	st, page = viewer.get(portal.ConsolePrefix + "customers/" + portaltest.CustomerCPF)
	require.Equal(t, http.StatusOK, st)
	require.Contains(t, page, s.PartnerAsk)

	op := newBrowser(t, e)
	op.user = portaltest.Operator
	st, page = op.get(portal.ConsolePrefix + "consents/" + s.Held + "/revoke")
	require.Equal(t, http.StatusOK, st)
	token := csrfOf(t, page)
	st, _, _ = op.do(http.MethodPost, portal.ConsolePrefix+"consents/"+s.Held+"/revoke", url.Values{"kind": {"SECURITY"}, "reason": {"fraude"}})
	require.Equal(t, http.StatusForbidden, st, "no CSRF token")
	st, _, _ = op.do(http.MethodPost, portal.ConsolePrefix+"consents/"+s.Held+"/revoke", url.Values{"csrf": {token}, "kind": {"SECURITY"}, "reason": {"  "}})
	require.Equal(t, http.StatusBadRequest, st, "a reason is required")
	st, h, _ = op.do(http.MethodPost, portal.ConsolePrefix+"consents/"+s.Held+"/revoke",
		url.Values{"csrf": {token}, "kind": {"SECURITY"}, "reason": {"Suspeita de fraude no dispositivo"}})
	require.Equal(t, http.StatusSeeOther, st)
	require.Equal(t, portal.ConsolePrefix+"consents/"+s.Held+"?msg=revoked", h.Get("Location"))
	c, err := e.Store.Get(ctx, s.Held)
	require.NoError(t, err)
	require.Equal(t, &consent.Rejection{RejectedBy: consent.RejectedByASPSP, Reason: consent.ReasonInternalSecurityReason}, c.Rejection)
	hist, err := e.Store.History(ctx, s.Held)
	require.NoError(t, err)
	last := hist[len(hist)-1]
	require.Equal(t, "operator:otto", last.Who)
	require.Equal(t, "SECURITY: Suspeita de fraude no dispositivo", last.Reason)
	require.Equal(t, []string{s.Held}, e.Tokens.IDs())
	pc, err := e.Store.GetPurpose(ctx, s.AnalyticsRevoke)
	require.NoError(t, err)
	require.Equal(t, consent.PurposeRevoked, pc.Status, "REVOKE_LINKED follows")
	pc, err = e.Store.GetPurpose(ctx, s.PartnerAsk)
	require.NoError(t, err)
	require.Equal(t, consent.PurposeActive, pc.Status, "ASK_CUSTOMER stays without the customer")

	// A purpose consent revoked from the console.
	st, page = op.get(portal.ConsolePrefix + "purposes/" + s.PartnerAsk + "/revoke")
	require.Equal(t, http.StatusOK, st)
	st, _, _ = op.do(http.MethodPost, portal.ConsolePrefix+"purposes/"+s.PartnerAsk+"/revoke",
		url.Values{"csrf": {csrfOf(t, page)}, "kind": {"CUSTOMER_REQUEST"}, "reason": {"Cliente ligou pedindo"}})
	require.Equal(t, http.StatusSeeOther, st)
	pc, err = e.Store.GetPurpose(ctx, s.PartnerAsk)
	require.NoError(t, err)
	require.Equal(t, consent.PurposeRevoked, pc.Status)
}

func TestAdminAPI(t *testing.T) {
	e := portaltest.New(t, "sqlite", nil)
	s := e.Seeded
	call := func(user, method, path, body string) (int, map[string]any) {
		t.Helper()
		req, err := http.NewRequest(method, e.Server.URL+path, strings.NewReader(body))
		require.NoError(t, err)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if user != "" {
			req.SetBasicAuth(user, portaltest.StaffPassword(user))
		}
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		var out map[string]any
		require.NoError(t, json.NewDecoder(res.Body).Decode(&out))
		return res.StatusCode, out
	}
	st, _ := call("", http.MethodGet, portal.AdminConsents, "")
	require.Equal(t, http.StatusUnauthorized, st)
	st, out := call(portaltest.Viewer, http.MethodGet, portal.AdminConsents+"?document="+portaltest.CustomerCPF, "")
	require.Equal(t, http.StatusOK, st)
	require.EqualValues(t, 3, out["meta"].(map[string]any)["totalRecords"])

	st, out = call(portaltest.Viewer, http.MethodGet, portal.AdminCustomer+portaltest.CustomerCPF+"/consents", "")
	require.Equal(t, http.StatusOK, st)
	data := out["data"].(map[string]any)
	require.Len(t, data["consents"], 3)
	require.Len(t, data["purposeConsents"], 3)
	roles := map[string]bool{}
	for _, c := range data["consents"].([]any) {
		cm := c.(map[string]any)
		roles[cm["role"].(string)] = true
		require.NotEmpty(t, cm["history"])
	}
	require.Equal(t, map[string]bool{"HOLDER": true, "RECEIVER": true}, roles)

	st, _ = call(portaltest.Viewer, http.MethodPost, portal.AdminConsents+"/"+s.Held+"/revoke", `{"kind":"SECURITY","reason":"x"}`)
	require.Equal(t, http.StatusForbidden, st)
	st, _ = call(portaltest.Operator, http.MethodPost, portal.AdminPurposeC,
		`{"purposeId":"marketing","customer":{"identification":"`+portaltest.CustomerCPF+`","rel":"CPF"},"durationDays":900}`)
	require.Equal(t, http.StatusUnprocessableEntity, st, "beyond the purpose's maximum")
	st, _ = call(portaltest.Operator, http.MethodPost, portal.AdminPurposeC,
		`{"purposeId":"analytics","customer":{"identification":"`+portaltest.OtherCPF+`","rel":"CPF"},"linkedConsentId":"`+s.Held+`"}`)
	require.Equal(t, http.StatusUnprocessableEntity, st, "linked to another customer's consent")
	st, out = call(portaltest.Operator, http.MethodPost, portal.AdminPurposeC,
		`{"purposeId":"analytics","customer":{"identification":"`+portaltest.CustomerCPF+`","rel":"CPF"},"linkedConsentId":"`+s.Held+`"}`)
	require.Equal(t, http.StatusCreated, st)
	newID := out["data"].(map[string]any)["purposeConsentId"].(string)
	require.Equal(t, "REVOKE_LINKED", out["data"].(map[string]any)["revocationRule"])

	st, out = call(portaltest.Operator, http.MethodPost, portal.AdminPurposeC+"/"+newID+"/revoke", `{"kind":"CUSTOMER_REQUEST","reason":"pedido por telefone"}`)
	require.Equal(t, http.StatusOK, st)
	require.Equal(t, []any{s.Held}, out["data"].(map[string]any)["rejectedConsentIds"], "REVOKE_LINKED rejects the regulated consent too")
	require.Equal(t, []string{s.Held}, e.Tokens.IDs())
	st, _ = call(portaltest.Operator, http.MethodPost, portal.AdminPurposeC+"/"+newID+"/revoke", `{"kind":"CUSTOMER_REQUEST","reason":"de novo"}`)
	require.Equal(t, http.StatusConflict, st)
	st, out = call(portaltest.Viewer, http.MethodGet, portal.AdminPurposeC+"/"+newID, "")
	require.Equal(t, http.StatusOK, st)
	require.Len(t, out["data"].(map[string]any)["history"], 2)

	// The purposes registry admin API is mounted and guarded too.
	st, _ = call(portaltest.Viewer, http.MethodGet, "/admin/v1/purposes", "")
	require.Equal(t, http.StatusOK, st)
	st, _ = call(portaltest.Operator, http.MethodDelete, "/admin/v1/purposes/marketing", "")
	require.Equal(t, http.StatusForbidden, st)
}
