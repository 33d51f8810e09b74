package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"

	"github.com/ofp-dev/ofp/connectors/fapi"
	"github.com/ofp-dev/ofp/consent/payments"
	"github.com/ofp-dev/ofp/consent/payments/paymentshttp"
	"github.com/ofp-dev/ofp/internal/brtext"
	"github.com/ofp-dev/ofp/internal/config"
	"github.com/ofp-dev/ofp/internal/pki"
)

// TestDemoHolderInitiatesAPixPaymentForAnOutsideClient drives the demo's
// Payments API 4.0.0 the way an initiator not written by us would
// (connectors/fapi, the demo PKI, its directory key): DCR with the PAGTO
// role, a signed payment consent, PAR, the customer choosing the account
// to pay from, the Pix initiation settled by the demo's simulated SPI,
// the consent consumed, idempotency, another client's refusals and a bad
// signature. Every answer is checked against the official spec.
func TestDemoHolderInitiatesAPixPaymentForAnOutsideClient(t *testing.T) {
	ctx := context.Background()
	env := startPaymentsDemo(t)
	d, info, b, customer, host, hooks := env.demo, env.info, env.bundle, env.customer, env.host, env.hooks
	spec := newPaymentsSpec(t, info.HolderURL)
	alice := newPaymentsTPP(t, b, info.HolderURL, host, "alice", hooks.url)
	bob := newPaymentsTPP(t, b, info.HolderURL, host, "bob", "")

	cc, err := alice.ClientCredentials(ctx, "payments")
	require.NoError(t, err)
	consentKey := uuid.NewString()
	req := demoPixConsent(customer.CPF, "0.42")
	created, err := alice.CreatePaymentConsent(ctx, cc.AccessToken, consentKey, req)
	require.NoError(t, err)
	spec.answer(t, http.MethodPost, "/consents", created.Answer)
	require.True(t, payments.IsConsentID(created.ConsentID), created.ConsentID)
	require.Equal(t, fapi.PaymentConsentAwaitingAuthorisation, created.Status)
	require.Equal(t, "0.42", created.Payment.Amount)
	require.Equal(t, req.Creditor, created.Creditor)
	require.Equal(t, demoCreditorAccount, created.Payment.Details.CreditorAccount)
	require.Equal(t, demoOrgID, created.Answer.Issuer, "answers are signed by the holder's organisation")

	// The customer approves at the holder, paying from the account they pick.
	r, err := alice.PushAuthorization(ctx, created.ConsentID, fapi.AuthOptions{Scopes: []string{"payments"}})
	require.NoError(t, err)
	require.Equal(t, "openid payments consent:"+created.ConsentID, r.Scope)
	loc, chosen := payApprove(t, b, alice.AuthorizeURL(r.RequestURI), r.RedirectURI, customer.CPF, customer.Password, "0.42", payments.DateOf(time.Now()))
	cb, err := alice.HandleCallback(ctx, loc, r)
	require.NoError(t, err)
	tok, err := alice.Exchange(ctx, cb.Code, r)
	require.NoError(t, err)

	got, err := alice.GetPaymentConsent(ctx, cc.AccessToken, created.ConsentID)
	require.NoError(t, err)
	spec.answer(t, http.MethodGet, "/consents/"+created.ConsentID, got.Answer)
	require.Equal(t, fapi.PaymentConsentAuthorised, got.Status)
	require.NotNil(t, got.DebtorAccount, "the chosen account is the debtor")
	require.Equal(t, demoISPB, got.DebtorAccount.ISPB)
	require.NotEqual(t, demoCreditorAccount, *got.DebtorAccount)
	t.Logf("customer paid from resource %s = account %+v", chosen, *got.DebtorAccount)
	debtor := *got.DebtorAccount

	// Initiation with the consent's authorization_code token.
	payKey := uuid.NewString()
	item := demoPixItem(created.ConsentID, "0.42")
	ps, err := alice.InitiatePixPayments(ctx, tok.AccessToken, payKey, []fapi.PixPaymentRequest{item})
	require.NoError(t, err)
	spec.answer(t, http.MethodPost, "/pix/payments", ps[0].Answer)
	require.Len(t, ps, 1)
	p := ps[0]
	require.Equal(t, created.ConsentID, p.ConsentID)
	require.Equal(t, item.EndToEndID, p.EndToEndID)
	require.Equal(t, *got.DebtorAccount, p.DebtorAccount)

	// The demo SPI settles in about 2 s; the consent is consumed.
	start := time.Now()
	var seen []string
	settled := waitFor(t, 15*time.Second, func() (fapi.PixPayment, bool) {
		cur, err := alice.GetPixPayment(ctx, cc.AccessToken, p.PaymentID)
		require.NoError(t, err)
		if len(seen) == 0 || seen[len(seen)-1] != cur.Status {
			seen = append(seen, cur.Status)
			spec.answer(t, http.MethodGet, "/pix/payments/"+p.PaymentID, cur.Answer)
		}
		require.NotEqual(t, fapi.PixRejected, cur.Status, "rejected: %+v", cur.RejectionReason)
		return cur, cur.Status == fapi.PixSettled
	})
	t.Logf("statuses seen %v, settled after %s", seen, time.Since(start).Round(10*time.Millisecond))
	require.Equal(t, "0.42", settled.Payment.Amount)
	got, err = alice.GetPaymentConsent(ctx, cc.AccessToken, created.ConsentID)
	require.NoError(t, err)
	require.Equal(t, fapi.PaymentConsentConsumed, got.Status)
	spec.answer(t, http.MethodGet, "/consents/"+created.ConsentID, got.Answer)

	// An initiator that names the account to pay from: the page shows it
	// and offers that account only, ticked. One that names an account the
	// customer does not hold leaves the customer only a refusal.
	named := demoPixConsent(customer.CPF, "0.44")
	named.DebtorAccount = &debtor
	nc, err := alice.CreatePaymentConsent(ctx, cc.AccessToken, uuid.NewString(), named)
	require.NoError(t, err)
	nr, err := alice.PushAuthorization(ctx, nc.ConsentID, fapi.AuthOptions{Scopes: []string{"payments"}})
	require.NoError(t, err)
	page, post := holderLogin(t, b, alice.AuthorizeURL(nr.RequestURI), nr.RedirectURI, customer.CPF, customer.Password)
	require.Equal(t, []string{chosen}, radioValues(t, page, "resource"), "only the account the initiator named")
	require.Contains(t, page, `value="`+chosen+`" required checked`)
	require.Contains(t, page, `id="debtor"`)
	status, body, header := post(page, "consent", url.Values{"decision": {"approve"}, "resource": {chosen}})
	require.Contains(t, []int{http.StatusFound, http.StatusSeeOther}, status, body)
	ncb, err := alice.HandleCallback(ctx, header.Get("Location"), nr)
	require.NoError(t, err)
	_, err = alice.Exchange(ctx, ncb.Code, nr)
	require.NoError(t, err)
	nGot, err := alice.GetPaymentConsent(ctx, cc.AccessToken, nc.ConsentID)
	require.NoError(t, err)
	require.Equal(t, fapi.PaymentConsentAuthorised, nGot.Status)

	elsewhere := demoPixConsent(customer.CPF, "0.45")
	elsewhere.DebtorAccount = &fapi.PaymentAccount{ISPB: debtor.ISPB, Issuer: "0001", Number: "99999999", AccountType: "CACC"}
	ec, err := alice.CreatePaymentConsent(ctx, cc.AccessToken, uuid.NewString(), elsewhere)
	require.NoError(t, err)
	er, err := alice.PushAuthorization(ctx, ec.ConsentID, fapi.AuthOptions{Scopes: []string{"payments"}})
	require.NoError(t, err)
	page, post = holderLogin(t, b, alice.AuthorizeURL(er.RequestURI), er.RedirectURI, customer.CPF, customer.Password)
	require.Empty(t, radioValues(t, page, "resource"))
	require.Contains(t, page, `id="no-debtor"`)
	require.NotContains(t, page, `value="approve"`, "nothing to approve with")
	status, body, _ = post(page, "consent", url.Values{"decision": {"approve"}})
	require.Equal(t, http.StatusBadRequest, status, "an approval posted anyway is refused on the page")
	require.Contains(t, body, "Escolha a conta de pagamento")
	eGot, err := alice.GetPaymentConsent(ctx, cc.AccessToken, ec.ConsentID)
	require.NoError(t, err)
	require.Equal(t, fapi.PaymentConsentAwaitingAuthorisation, eGot.Status)

	// Alice registered a webhook URI: the holder notified her of the
	// payment over mTLS, presenting its own transport certificate
	// (organisationIdentifier OFBBR-<its org id>), which her endpoint
	// requires (BRIEF §10).
	paymentHook := "/open-banking/webhook/v1/payments/v4/pix/payments/" + p.PaymentID
	call := waitFor(t, 15*time.Second, func() (webhookCall, bool) { return hooks.find(paymentHook) })
	require.Equal(t, demoOrgID, call.orgID, "the holder's transport certificate")
	require.Equal(t, http.MethodPost, call.method)
	require.NotEmpty(t, call.interactionID, "x-webhook-interaction-id")
	require.Contains(t, call.body, `"timestamp"`)
	// No refresh for a CONSUMED payment consent (BRIEF §4).
	require.NotEmpty(t, tok.RefreshToken)
	_, err = alice.Refresh(ctx, tok.RefreshToken)
	var refreshErr *fapi.OAuthError
	require.ErrorAs(t, err, &refreshErr, "refresh of a consumed payment consent")
	require.Equal(t, "invalid_grant", refreshErr.Code)

	// Idempotency: the same key and content replays with the current state;
	// other content under that key is 422 ERRO_IDEMPOTENCIA (a signed JWT).
	replayed, err := alice.InitiatePixPayments(ctx, tok.AccessToken, payKey, []fapi.PixPaymentRequest{item})
	require.NoError(t, err)
	require.Equal(t, p.PaymentID, replayed[0].PaymentID)
	require.Equal(t, fapi.PixSettled, replayed[0].Status)
	require.True(t, replayed[0].Answer.Replayed)
	spec.answer(t, http.MethodPost, "/pix/payments", replayed[0].Answer)
	changed := item
	changed.RemittanceInformation = "Outro pedido"
	_, err = alice.InitiatePixPayments(ctx, tok.AccessToken, payKey, []fapi.PixPaymentRequest{changed})
	ae := demoAPIError(t, err, http.StatusUnprocessableEntity, "ERRO_IDEMPOTENCIA")
	require.True(t, ae.Signed)
	spec.apiError(t, http.MethodPost, "/pix/payments", ae)
	again, err := alice.CreatePaymentConsent(ctx, cc.AccessToken, consentKey, req)
	require.NoError(t, err)
	require.Equal(t, created.ConsentID, again.ConsentID)
	require.Equal(t, fapi.PaymentConsentConsumed, again.Status, "replayed with the current state")

	// Another client: no PAR, no reads, no payment on alice's consent.
	bcc, err := bob.ClientCredentials(ctx, "payments")
	require.NoError(t, err)
	_, err = bob.PushAuthorization(ctx, created.ConsentID, fapi.AuthOptions{Scopes: []string{"payments"}})
	var oe *fapi.OAuthError
	require.ErrorAs(t, err, &oe)
	require.Equal(t, "par", oe.Endpoint)
	_, err = bob.GetPaymentConsent(ctx, bcc.AccessToken, created.ConsentID)
	spec.apiError(t, http.MethodGet, "/consents/"+created.ConsentID, demoAPIError(t, err, http.StatusForbidden, ""))
	_, err = bob.GetPixPayment(ctx, bcc.AccessToken, p.PaymentID)
	spec.apiError(t, http.MethodGet, "/pix/payments/"+p.PaymentID, demoAPIError(t, err, http.StatusForbidden, ""))
	bobConsent, err := bob.CreatePaymentConsent(ctx, bcc.AccessToken, "", demoPixConsent(customer.CPF, "0.43"))
	require.NoError(t, err)
	br, err := bob.PushAuthorization(ctx, bobConsent.ConsentID, fapi.AuthOptions{Scopes: []string{"payments"}})
	require.NoError(t, err)
	loc, _ = payApprove(t, b, bob.AuthorizeURL(br.RequestURI), br.RedirectURI, customer.CPF, customer.Password, "0.43", payments.DateOf(time.Now()))
	bcb, err := bob.HandleCallback(ctx, loc, br)
	require.NoError(t, err)
	btok, err := bob.Exchange(ctx, bcb.Code, br)
	require.NoError(t, err)
	_, err = bob.InitiatePixPayments(ctx, btok.AccessToken, "", []fapi.PixPaymentRequest{demoPixItem(created.ConsentID, "0.42")})
	ae = demoAPIError(t, err, http.StatusUnprocessableEntity, "")
	spec.apiError(t, http.MethodPost, "/pix/payments", ae)

	// A body not signed by the client's registered key: 400 BAD_SIGNATURE.
	u := info.HolderURL + fapi.PaymentsPath + "/consents"
	forged, err := bob.SignBody(u, demoPixConsent(customer.CPF, "0.44")) // bob's key, alice's token
	require.NoError(t, err)
	_, err = alice.DoSigned(ctx, http.MethodPost, u, cc.AccessToken, uuid.NewString(), forged)
	ae = demoAPIError(t, err, http.StatusBadRequest, "BAD_SIGNATURE")
	require.False(t, ae.Signed)
	spec.apiError(t, http.MethodPost, "/consents", ae)

	require.Less(t, d.interrupt(), 10*time.Second)
}

// paymentsDemo is a demo holder with what its payments tests use: its PKI,
// a test customer, a host of initiators' JWKS and a webhook receiver.
type paymentsDemo struct {
	dir      string
	demo     *demoProcess
	info     serverInfo
	bundle   *pki.Bundle
	customer struct{ CPF, Password string }
	host     *jwksHost
	hooks    *webhookReceiver
}

func startPaymentsDemo(t *testing.T) paymentsDemo {
	dir := t.TempDir()
	d := startDemo(t, dir)
	info := waitHolder(t, dir)
	b, err := pki.Load(filepath.Join(dir, "pki"))
	require.NoError(t, err)
	return paymentsDemo{dir: dir, demo: d, info: info, bundle: b, customer: holderTestCustomer(t, dir), host: newJWKSHost(t, b), hooks: newWebhookReceiver(t, b)}
}

// A customer cancels a scheduled Pix payment in the holder's own portal:
// the initiator reads it CANC, cancelled from DETENTORA by the customer,
// and is notified by webhook.
func TestCustomerCancelsAScheduledPixPaymentInThePortal(t *testing.T) {
	ctx := context.Background()
	env := startPaymentsDemo(t)
	d, info, b, customer, host, hooks := env.demo, env.info, env.bundle, env.customer, env.host, env.hooks
	carol := newPaymentsTPP(t, b, info.HolderURL, host, "carol", hooks.url)

	cc, err := carol.ClientCredentials(ctx, "payments")
	require.NoError(t, err)
	day := payments.DateOf(time.Now()).AddDays(3)
	days := []payments.Date{day, day.AddDays(1)}
	req := demoPixConsent(customer.CPF, "12.34")
	req.Payment.Date = ""
	req.Payment.Schedule = &fapi.PaymentSchedule{Custom: &fapi.ScheduleCustom{Dates: []string{days[0].String(), days[1].String()}, AdditionalInformation: "Duas parcelas"}}
	created, err := carol.CreatePaymentConsent(ctx, cc.AccessToken, uuid.NewString(), req)
	require.NoError(t, err)
	r, err := carol.PushAuthorization(ctx, created.ConsentID, fapi.AuthOptions{Scopes: []string{"payments"}})
	require.NoError(t, err)
	loc, _ := payApprove(t, b, carol.AuthorizeURL(r.RequestURI), r.RedirectURI, customer.CPF, customer.Password, "12.34", day)
	cb, err := carol.HandleCallback(ctx, loc, r)
	require.NoError(t, err)
	tok, err := carol.Exchange(ctx, cb.Code, r)
	require.NoError(t, err)
	var items []fapi.PixPaymentRequest
	for _, d := range days {
		item := demoPixItem(created.ConsentID, "12.34")
		item.EndToEndID = "E12345678" + time.Date(d.Year, d.Month, d.Day, 15, 0, 0, 0, time.UTC).Format("200601021504") + item.EndToEndID[21:]
		items = append(items, item)
	}
	ps, err := carol.InitiatePixPayments(ctx, tok.AccessToken, uuid.NewString(), items)
	require.NoError(t, err)
	require.Len(t, ps, 2)
	id, id2 := ps[0].PaymentID, ps[1].PaymentID
	for _, pid := range []string{id, id2} {
		waitFor(t, 15*time.Second, func() (fapi.PixPayment, bool) {
			cur, err := carol.GetPixPayment(ctx, cc.AccessToken, pid)
			require.NoError(t, err)
			require.NotEqual(t, fapi.PixRejected, cur.Status, "rejected: %+v", cur.RejectionReason)
			return cur, cur.Status == fapi.PixScheduled
		})
	}

	// The customer's portal lists it, and cancels it after a confirmation.
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	browser := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	get := func(path string) (int, string) {
		resp, err := browser.Get(d.url + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	resp, err := browser.PostForm(d.url+"/portal/login", url.Values{"document": {customer.CPF}, "password": {customer.Password}})
	require.NoError(t, err)
	home, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", home)
	require.Contains(t, string(home), `id="pay-`+id+`"`, "the scheduled payment is listed")
	require.Contains(t, string(home), "R$ 12,34 para Maria Recebedora")
	require.Contains(t, string(home), "Data: "+day.Start().Format("02/01/2006"))
	require.Contains(t, string(home), "Iniciado por Pay carol")
	require.Contains(t, string(home), `href="/portal/payments/`+id+`/cancel"`)

	status, confirm := get("/portal/payments/" + id + "/cancel")
	require.Equal(t, http.StatusOK, status, confirm)
	require.Contains(t, confirm, "Cancelar este pagamento?")
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(confirm)
	require.Len(t, csrf, 2, confirm)
	resp, err = browser.PostForm(d.url+"/portal/payments/"+id+"/cancel", url.Values{"csrf": {csrf[1]}})
	require.NoError(t, err)
	done, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", done)
	require.Equal(t, "/portal/", resp.Request.URL.Path)
	require.Contains(t, string(done), "o pagamento foi cancelado")
	require.NotContains(t, string(done), `id="pay-`+id+`"`)

	got, err := carol.GetPixPayment(ctx, cc.AccessToken, id)
	require.NoError(t, err)
	require.Equal(t, "CANC", got.Status)
	require.NotNil(t, got.Cancellation)
	require.Equal(t, "DETENTORA", got.Cancellation.CancelledFrom)
	require.Equal(t, "CANCELADO_AGENDAMENTO", got.Cancellation.Reason)
	require.Equal(t, customer.CPF, got.Cancellation.CancelledBy.Document.Identification)
	hook := "/open-banking/webhook/v1/payments/v4/pix/payments/" + id
	waitFor(t, 15*time.Second, func() (webhookCall, bool) { return hooks.find(hook) })

	// Twice: it is no longer the customer's to cancel.
	status, again := get("/portal/payments/" + id + "/cancel")
	require.Equal(t, http.StatusNotFound, status, again)

	// The customer calls the bank: an operator cancels the second payment
	// from the console, with a reason, on the customer's behalf.
	pw, err := os.ReadFile(filepath.Join(env.dir, "secrets", "admin-password"))
	require.NoError(t, err)
	staff := func(method, path string, form url.Values) (int, string, *http.Response) {
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, err := http.NewRequest(method, d.url+path, body)
		require.NoError(t, err)
		req.SetBasicAuth("admin", strings.TrimSpace(string(pw)))
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(out), resp
	}
	status, page, _ := staff(http.MethodGet, "/console/customers/"+customer.CPF, nil)
	require.Equal(t, http.StatusOK, status, page)
	require.Contains(t, page, `id="pay-`+id2+`"`)
	require.NotContains(t, page, `id="pay-`+id+`"`, "the cancelled one is no longer to be made")
	cancelPath := "/console/customers/" + customer.CPF + "/payments/" + id2 + "/cancel"
	require.Contains(t, page, `href="`+cancelPath+`"`)
	status, page, _ = staff(http.MethodGet, cancelPath, nil)
	require.Equal(t, http.StatusOK, status, page)
	csrf = regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)
	require.Len(t, csrf, 2, page)
	status, page, _ = staff(http.MethodPost, cancelPath, url.Values{"csrf": {csrf[1]}, "kind": {"CUSTOMER_REQUEST"}})
	require.Equal(t, http.StatusBadRequest, status, "a reason is required: %s", page)
	status, page, resp = staff(http.MethodPost, cancelPath, url.Values{"csrf": {csrf[1]}, "kind": {"CUSTOMER_REQUEST"}, "reason": {"Cliente pediu por telefone"}})
	require.Equal(t, http.StatusOK, status, page)
	require.Equal(t, "/console/customers/"+customer.CPF, resp.Request.URL.Path)
	require.Contains(t, page, "o pagamento foi cancelado")
	got, err = carol.GetPixPayment(ctx, cc.AccessToken, id2)
	require.NoError(t, err)
	require.Equal(t, "CANC", got.Status)
	require.Equal(t, "DETENTORA", got.Cancellation.CancelledFrom)
	require.Equal(t, customer.CPF, got.Cancellation.CancelledBy.Document.Identification, "cancelled on the customer's behalf")
}

// demoCreditorAccount is where the demo payments go: another institution.
var demoCreditorAccount = fapi.PaymentAccount{ISPB: "12345678", Issuer: "0001", Number: "9876543", AccountType: "CACC"}

func demoPixConsent(cpf, amount string) fapi.PaymentConsentRequest {
	return fapi.PaymentConsentRequest{
		LoggedUser: fapi.CPF(cpf),
		Creditor:   fapi.Creditor{PersonType: "PESSOA_NATURAL", CpfCnpj: "52998224725", Name: "Maria Recebedora"},
		Payment: fapi.ConsentPayment{Type: "PIX", Date: payments.DateOf(time.Now()).String(), Currency: "BRL", Amount: amount,
			Details: fapi.PaymentDetails{LocalInstrument: "DICT", Proxy: "maria@example.com", CreditorAccount: demoCreditorAccount}},
	}
}

func demoPixItem(consentID, amount string) fapi.PixPaymentRequest {
	suffix := strings.ToUpper(strings.ReplaceAll(uuid.NewString(), "-", ""))[:11]
	return fapi.PixPaymentRequest{EndToEndID: "E12345678" + time.Now().UTC().Format("200601021504") + suffix,
		LocalInstrument: "DICT", Payment: fapi.PixAmount{Amount: amount, Currency: "BRL"}, CreditorAccount: demoCreditorAccount,
		Proxy: "maria@example.com", CnpjInitiator: "50685362000135", RemittanceInformation: "Pedido 42", ConsentID: consentID}
}

func demoAPIError(t *testing.T, err error, status int, code string) *fapi.APIError {
	t.Helper()
	var ae *fapi.APIError
	require.ErrorAs(t, err, &ae)
	require.Equal(t, status, ae.StatusCode, "%v", ae)
	if code != "" {
		require.True(t, ae.HasCode(code), "%v", ae)
	}
	return ae
}

// jwksHost publishes TPP key sets over the demo PKI (the directory
// keystore's role).
type jwksHost struct {
	mu   sync.Mutex
	sets map[string][]byte
	url  string
}

func newJWKSHost(t *testing.T, b *pki.Bundle) *jwksHost {
	h := &jwksHost{sets: map[string][]byte{}}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		set, ok := h.sets[r.URL.Path]
		h.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(set)
	}))
	srv.TLS = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{b.ServerCertificate()}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	h.url = srv.URL
	return h
}

// webhookReceiver is a TPP's webhook endpoint: TLS with the PKI's server
// certificate, and a client certificate from the PKI required (mTLS).
type webhookReceiver struct {
	mu    sync.Mutex
	calls []webhookCall
	url   string
}

type webhookCall struct {
	method, path, interactionID, body string
	orgID                             string // from the client certificate's subject
}

func newWebhookReceiver(t *testing.T, b *pki.Bundle) *webhookReceiver {
	h := &webhookReceiver{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		c := webhookCall{method: r.Method, path: r.URL.Path, interactionID: r.Header.Get("x-webhook-interaction-id"), body: string(body)}
		if _, org, err := pki.ClientSubject(r.TLS.PeerCertificates[0]); err == nil {
			c.orgID = org
		}
		h.mu.Lock()
		h.calls = append(h.calls, c)
		h.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	srv.TLS = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{b.ServerCertificate()},
		ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: b.RootPool()}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	h.url = srv.URL
	return h
}

// find returns the first call to path.
func (h *webhookReceiver) find(path string) (webhookCall, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range h.calls {
		if c.path == path {
			return c, true
		}
	}
	return webhookCall{}, false
}

// newPaymentsTPP registers a payment initiator (PAGTO role, payments
// scope) at the demo holder with a fresh software statement, and webhook
// as its webhook URI unless empty.
func newPaymentsTPP(t *testing.T, b *pki.Bundle, holderURL string, host *jwksHost, name, webhook string) *fapi.Client {
	return newPaymentsTPPAt(t, b, holderURL, "ofp", demoOrgID, host, name, webhook)
}

// newPaymentsTPPAt is newPaymentsTPP at brand of a holder whose
// organisation is holderOrg.
func newPaymentsTPPAt(t *testing.T, b *pki.Bundle, holderURL, brand, holderOrg string, host *jwksHost, name, webhook string) *fapi.Client {
	ctx := context.Background()
	cert, err := b.ClientCertificate(pki.DemoClient.Name)
	require.NoError(t, err)
	key := func() *rsa.PrivateKey {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		require.NoError(t, err)
		return k
	}
	path := "/" + name + "/application.jwks"
	cfg := fapi.Config{Issuer: holderURL + "/" + brand, APIBaseURL: holderURL, Certificate: cert, RootCAs: b.RootPool(),
		SigningKey: key(), SigningKeyID: name + "-sig", EncryptionKey: key(), EncryptionKeyID: name + "-enc",
		JWKSURI: host.url + path, RedirectURI: "https://" + name + ".tpp.example/callback",
		OrganisationID: pki.DemoClient.OrgID, HolderOrganisationID: holderOrg, Logger: quietLogger()}
	c, err := fapi.New(ctx, cfg)
	require.NoError(t, err)
	set, err := c.PublicJWKS()
	require.NoError(t, err)
	host.mu.Lock()
	host.sets[path] = set
	host.mu.Unlock()

	signer, err := b.DirectorySigner()
	require.NoError(t, err)
	claims := map[string]any{
		"iss": config.Default().DirectoryIssuer, "iat": time.Now().Unix(), "jti": uuid.NewString(),
		"software_id": pki.DemoClient.SoftwareID, "org_id": pki.DemoClient.OrgID, "org_status": "Active",
		"software_client_name": "Pay " + name, "software_client_uri": "https://" + name + ".tpp.example", "software_version": "1.0",
		"software_jwks_uri": cfg.JWKSURI, "software_redirect_uris": []string{cfg.RedirectURI}, "software_roles": []string{"PAGTO"},
		"software_statement_roles": []map[string]string{{"role": "PAGTO", "authorisation_domain": "Open Banking", "status": "Active"}},
	}
	md := fapi.Metadata{Scope: "openid payments"}
	if webhook != "" {
		claims["software_api_webhook_uris"] = []string{webhook}
		md.WebhookURIs = []string{webhook}
	}
	ssa, err := jwt.Signed(signer).Claims(claims).Serialize()
	require.NoError(t, err)
	reg, err := c.Register(ctx, ssa, md)
	require.NoError(t, err)
	require.Contains(t, strings.Fields(reg.Scope), "payments")
	return c
}

// payApprove is the customer's browser on a payment consent of
// demoPixConsent: login, a page that shows the payment (amount, payee,
// Pix key, date), then the one account to pay from (a radio choice). It
// returns where the holder redirected to and the chosen resource id.
func payApprove(t *testing.T, b *pki.Bundle, authorizeURL, redirect, cpf, password, amount string, day payments.Date) (string, string) {
	page, post := holderLogin(t, b, authorizeURL, redirect, cpf, password)
	require.Contains(t, page, `data-permission="PAYMENTS_INITIATE"`, "the page says what is authorised")
	require.Contains(t, page, `data-amount="`+amount+`"`, "the page shows the consent's amount")
	require.Contains(t, page, `<dd class="amount">`+brtext.Money(amount, "BRL")+`</dd>`)
	require.Contains(t, page, "Maria Recebedora")
	require.Contains(t, page, "CPF ***.982.247-**", "the payee's CPF, masked")
	require.NotContains(t, page, "52998224725")
	require.Contains(t, page, "maria@example.com", "the Pix key")
	require.Contains(t, page, "ISPB 12345678 · agência 0001 · conta 9876543 (conta corrente)")
	require.Contains(t, page, `<span class="date">`+day.Start().Format("02/01/2006")+`</span>`)
	accounts := radioValues(t, page, "resource")
	require.NotEmpty(t, accounts, "the customer has accounts to pay from")
	status, page, header := post(page, "consent", url.Values{"decision": {"approve"}, "resource": accounts[:1]})
	require.Contains(t, []int{http.StatusFound, http.StatusSeeOther}, status, page)
	return header.Get("Location"), accounts[0]
}

func radioValues(t *testing.T, page, name string) []string {
	doc, err := html.Parse(strings.NewReader(page))
	require.NoError(t, err)
	var out []string
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "input" {
			a := map[string]string{}
			for _, at := range n.Attr {
				a[at.Key] = at.Val
			}
			if a["type"] == "radio" && a["name"] == name {
				out = append(out, a["value"])
			}
		}
		for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
			walk(ch)
		}
	}
	walk(doc)
	return out
}

// paymentsSpec validates answers against the official Payments 4.0.0
// document.
type paymentsSpec struct {
	router routers.Router
	holder string
	base   string
}

var registerJWTDecoder sync.Once

func newPaymentsSpec(t *testing.T, holderURL string) *paymentsSpec {
	// Signed bodies: fapi verified them; their payload (JSON) is what is
	// validated. A compact JWS is decoded too.
	registerJWTDecoder.Do(func() {
		openapi3filter.RegisterBodyDecoder(fapi.JWTContentType, func(body io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
			b, err := io.ReadAll(body)
			if err != nil {
				return nil, err
			}
			if parts := strings.Split(strings.TrimSpace(string(b)), "."); !bytes.HasPrefix(b, []byte("{")) && len(parts) == 3 {
				if b, err = base64.RawURLEncoding.DecodeString(parts[1]); err != nil {
					return nil, err
				}
			}
			var v any
			return v, json.Unmarshal(b, &v)
		})
	})
	doc, err := openapi3.NewLoader().LoadFromFile("../../consent/payments/paymentshttp/testdata/payments-4.0.0.yml")
	require.NoError(t, err)
	base := holderURL + paymentshttp.BasePath
	doc.Servers = openapi3.Servers{{URL: base}}
	// The spec's x-idempotency-key pattern has a lookahead RE2 cannot
	// compile; the router validates the document, so give it the RE2
	// equivalent (same language).
	doc.Components.Parameters["XIdempotencyKey"].Value.Schema.Value.Pattern = `^\S(.*\S)?$`
	router, err := legacy.NewRouter(doc)
	require.NoError(t, err)
	return &paymentsSpec{router: router, holder: holderURL, base: base}
}

func (s *paymentsSpec) validate(t *testing.T, method, path string, status int, header http.Header, body []byte) {
	t.Helper()
	req, err := http.NewRequest(method, s.base+path, nil)
	require.NoError(t, err)
	route, params, err := s.router.FindRoute(req)
	require.NoError(t, err, "no route in the spec for %s %s", method, path)
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true, MultiError: true,
		RegexCompiler: func(expr string) (openapi3.RegexMatcher, error) {
			if expr == `^(?!\s)(.*)(\S)$` {
				expr = `^\S(.*\S)?$`
			}
			return regexp.Compile(expr)
		}}
	err = openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts},
		Status:                 status, Header: header, Body: io.NopCloser(bytes.NewReader(body)), Options: opts,
	})
	require.NoError(t, err, "%s %s answer %d does not match the spec: %s", method, path, status, body)
}

// publicHost stands for the demo's listener in links: the spec's URI
// pattern needs a top-level domain, which 127.0.0.1 / localhost lack.
const publicHost = "https://api.ofp-demo.com.br"

// verifiedPayload is the verified payload of a signed answer with the
// links checked to point at the holder, then rewritten to publicHost.
func (s *paymentsSpec) verifiedPayload(t *testing.T, payload []byte) []byte {
	var doc struct {
		Links map[string]string `json:"links"`
	}
	require.NoError(t, json.Unmarshal(payload, &doc))
	for rel, link := range doc.Links {
		require.True(t, strings.HasPrefix(link, s.base), "links.%s %s is not under %s", rel, link, s.base)
	}
	return bytes.ReplaceAll(payload, []byte(s.holder), []byte(publicHost))
}

func (s *paymentsSpec) answer(t *testing.T, method, path string, a *fapi.SignedAnswer) {
	t.Helper()
	require.NotNil(t, a)
	s.validate(t, method, path, a.StatusCode, a.Header, s.verifiedPayload(t, a.Payload))
}

func (s *paymentsSpec) apiError(t *testing.T, method, path string, e *fapi.APIError) {
	t.Helper()
	s.validate(t, method, path, e.StatusCode, e.Header, e.Body)
}
