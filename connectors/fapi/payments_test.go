package fapi_test

import (
	"context"
	"crypto/rand"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/connectors/fapi"
	"github.com/ofp-dev/ofp/consent/payments"
	"github.com/ofp-dev/ofp/internal/pki"
)

// creditorCPF is a CPF with valid check digits.
const creditorCPF = "52998224725"

var creditorAccount = fapi.PaymentAccount{ISPB: "12345678", Issuer: "0001", Number: "9876543", AccountType: "CACC"}

func pixConsent(cpf, amount string) fapi.PaymentConsentRequest {
	return fapi.PaymentConsentRequest{
		LoggedUser: fapi.CPF(cpf),
		Creditor:   fapi.Creditor{PersonType: "PESSOA_NATURAL", CpfCnpj: creditorCPF, Name: "Maria Recebedora"},
		Payment: fapi.ConsentPayment{Type: "PIX", Date: payments.DateOf(time.Now()).String(), Currency: "BRL", Amount: amount,
			Details: fapi.PaymentDetails{LocalInstrument: "DICT", Proxy: "maria@example.com", CreditorAccount: creditorAccount}},
	}
}

// endToEndID is a fresh Pix endToEndId for now (E + ISPB + yyyyMMddHHmm UTC + 11).
func endToEndID() string {
	const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, 11)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alnum[int(b[i])%len(alnum)]
	}
	return "E12345678" + time.Now().UTC().Format("200601021504") + string(b)
}

func pixItem(consentID, amount string) fapi.PixPaymentRequest {
	return fapi.PixPaymentRequest{EndToEndID: endToEndID(), LocalInstrument: "DICT", Payment: fapi.PixAmount{Amount: amount, Currency: "BRL"},
		CreditorAccount: creditorAccount, Proxy: "maria@example.com", CnpjInitiator: "50685362000135",
		RemittanceInformation: "Pedido 42", ConsentID: consentID}
}

func apiErr(t *testing.T, err error) *fapi.APIError {
	t.Helper()
	var ae *fapi.APIError
	require.ErrorAs(t, err, &ae)
	return ae
}

// authorisedPayment runs consent creation, PAR and the customer's approval
// and returns the consent and the authorization_code token.
func (h *holder) authorisedPayment(c *fapi.Client, cc, amount string) (fapi.PaymentConsent, *fapi.Tokens) {
	t, ctx := h.t, context.Background()
	ana := h.demo.TestCredentials()[0]
	created, err := c.CreatePaymentConsent(ctx, cc, uuid.NewString(), pixConsent(ana.CPF, amount))
	require.NoError(t, err)
	r, err := c.PushAuthorization(ctx, created.ConsentID, fapi.AuthOptions{Scopes: []string{"payments"}})
	require.NoError(t, err)
	require.Equal(t, "openid payments consent:"+created.ConsentID, r.Scope)
	cb, err := c.HandleCallback(ctx, h.authorize(c, r, ana, true), r)
	require.NoError(t, err)
	tok, err := c.Exchange(ctx, cb.Code, r)
	require.NoError(t, err)
	return created, tok
}

// TestPaymentsAgainstTheHolder initiates a Pix payment through the real
// Payments API, authorization server and simulated SPI.
func TestPaymentsAgainstTheHolder(t *testing.T) {
	ctx := context.Background()
	h := newHolder(t)
	c, _ := h.registered(tppOptions{payments: true})
	ana := h.demo.TestCredentials()[0]

	cc, err := c.ClientCredentials(ctx, "payments")
	require.NoError(t, err)
	key := uuid.NewString()
	req := pixConsent(ana.CPF, "12.34")
	created, err := c.CreatePaymentConsent(ctx, cc.AccessToken, key, req)
	require.NoError(t, err)
	require.True(t, payments.IsConsentID(created.ConsentID), created.ConsentID)
	require.Equal(t, fapi.PaymentConsentAwaitingAuthorisation, created.Status)
	require.Equal(t, req.Payment.Amount, created.Payment.Amount)
	require.Equal(t, creditorAccount, created.Payment.Details.CreditorAccount)
	require.Equal(t, req.Creditor, created.Creditor)
	require.WithinDuration(t, created.CreationDateTime.Add(5*time.Minute), created.ExpirationDateTime, time.Second, "5 minutes to authorise")
	require.Equal(t, http.StatusCreated, created.Answer.StatusCode)
	require.Equal(t, holderOrg, created.Answer.Issuer)
	require.Equal(t, []string{pki.DemoClient.OrgID}, created.Answer.Audience)
	require.NotEmpty(t, created.Answer.JTI)

	// The same key and content replays the consent; other content is refused.
	again, err := c.CreatePaymentConsent(ctx, cc.AccessToken, key, req)
	require.NoError(t, err)
	require.Equal(t, created.ConsentID, again.ConsentID)
	require.True(t, again.Answer.Replayed)
	other := req
	other.Payment.Amount = "99.99"
	_, err = c.CreatePaymentConsent(ctx, cc.AccessToken, key, other)
	ae := apiErr(t, err)
	require.Equal(t, http.StatusUnprocessableEntity, ae.StatusCode)
	require.True(t, ae.Signed, "a 422 of the payments API is a signed JWT")
	require.True(t, ae.HasCode("ERRO_IDEMPOTENCIA"), "%v", ae)

	r, err := c.PushAuthorization(ctx, created.ConsentID, fapi.AuthOptions{Scopes: []string{"payments"}})
	require.NoError(t, err)
	require.Equal(t, "openid payments consent:"+created.ConsentID, r.Scope)
	cb, err := c.HandleCallback(ctx, h.authorize(c, r, ana, true), r)
	require.NoError(t, err)
	tok, err := c.Exchange(ctx, cb.Code, r)
	require.NoError(t, err)

	got, err := c.GetPaymentConsent(ctx, cc.AccessToken, created.ConsentID)
	require.NoError(t, err)
	require.Equal(t, fapi.PaymentConsentAuthorised, got.Status)
	require.NotNil(t, got.DebtorAccount)
	require.Equal(t, debtorAccount.Number, got.DebtorAccount.Number, "the account the customer chose")

	// A client_credentials token cannot initiate.
	item := pixItem(created.ConsentID, "12.34")
	_, err = c.InitiatePixPayments(ctx, cc.AccessToken, uuid.NewString(), []fapi.PixPaymentRequest{item})
	require.Equal(t, http.StatusForbidden, apiErr(t, err).StatusCode)

	payKey := uuid.NewString()
	ps, err := c.InitiatePixPayments(ctx, tok.AccessToken, payKey, []fapi.PixPaymentRequest{item})
	require.NoError(t, err)
	require.Len(t, ps, 1)
	p := ps[0]
	require.Equal(t, created.ConsentID, p.ConsentID)
	require.Equal(t, item.EndToEndID, p.EndToEndID)
	require.Contains(t, []string{fapi.PixReceived, fapi.PixAccepted, fapi.PixAcceptedProcessing, fapi.PixSettled}, p.Status)
	require.Equal(t, debtorAccount.Number, p.DebtorAccount.Number)
	require.Equal(t, http.StatusCreated, p.Answer.StatusCode)

	settled := waitPayment(t, c, cc.AccessToken, p.PaymentID, fapi.PixSettled)
	require.Equal(t, "12.34", settled.Payment.Amount)
	got, err = c.GetPaymentConsent(ctx, cc.AccessToken, created.ConsentID)
	require.NoError(t, err)
	require.Equal(t, fapi.PaymentConsentConsumed, got.Status)

	// Idempotency of the initiation: replay, then a conflict.
	replayed, err := c.InitiatePixPayments(ctx, tok.AccessToken, payKey, []fapi.PixPaymentRequest{item})
	require.NoError(t, err)
	require.Equal(t, p.PaymentID, replayed[0].PaymentID)
	require.Equal(t, fapi.PixSettled, replayed[0].Status, "a replay shows the current state")
	require.True(t, replayed[0].Answer.Replayed)
	changed := item
	changed.RemittanceInformation = "Pedido 43"
	_, err = c.InitiatePixPayments(ctx, tok.AccessToken, payKey, []fapi.PixPaymentRequest{changed})
	ae = apiErr(t, err)
	require.Equal(t, http.StatusUnprocessableEntity, ae.StatusCode)
	require.True(t, ae.Signed)
	require.True(t, ae.HasCode("ERRO_IDEMPOTENCIA"), "%v", ae)
	// A new key on a consumed consent is a rule refusal.
	_, err = c.InitiatePixPayments(ctx, tok.AccessToken, uuid.NewString(), []fapi.PixPaymentRequest{pixItem(created.ConsentID, "12.34")})
	ae = apiErr(t, err)
	require.Equal(t, http.StatusUnprocessableEntity, ae.StatusCode)
	require.True(t, ae.HasCode("CONSENTIMENTO_INVALIDO"), "%v", ae)

	// A settled payment cannot be cancelled.
	_, err = c.CancelPixPayment(ctx, cc.AccessToken, p.PaymentID, fapi.CPF(ana.CPF))
	ae = apiErr(t, err)
	require.Equal(t, http.StatusUnprocessableEntity, ae.StatusCode)
	require.True(t, ae.HasCode("PAGAMENTO_NAO_PERMITE_CANCELAMENTO"), "%v", ae)
	_, err = c.CancelConsentPixPayments(ctx, cc.AccessToken, uuid.NewString(), created.ConsentID, fapi.CPF(ana.CPF))
	ae = apiErr(t, err)
	require.Equal(t, http.StatusUnprocessableEntity, ae.StatusCode)
	require.True(t, ae.HasCode("PAGAMENTO_NAO_PERMITE_CANCELAMENTO"), "%v", ae)
}

func waitPayment(t *testing.T, c *fapi.Client, token, id, status string) fapi.PixPayment {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		p, err := c.GetPixPayment(context.Background(), token, id)
		require.NoError(t, err)
		if p.Status == status {
			return p
		}
		require.NotEqual(t, fapi.PixRejected, p.Status, "rejected: %+v", p.RejectionReason)
		require.True(t, time.Now().Before(deadline), "payment %s still %s", id, p.Status)
		time.Sleep(50 * time.Millisecond)
	}
}

// TestPaymentsRefusals: foreign resources, bad signatures, and answers
// that fail verification.
func TestPaymentsRefusals(t *testing.T) {
	ctx := context.Background()
	h := newHolder(t)
	c, _ := h.registered(tppOptions{payments: true})
	ana := h.demo.TestCredentials()[0]
	cc, err := c.ClientCredentials(ctx, "payments")
	require.NoError(t, err)
	created, err := c.CreatePaymentConsent(ctx, cc.AccessToken, "", pixConsent(ana.CPF, "1.00"))
	require.NoError(t, err)

	// Another client cannot read the consent.
	other, _ := h.registered(tppOptions{payments: true, name: "other"})
	occ, err := other.ClientCredentials(ctx, "payments")
	require.NoError(t, err)
	_, err = other.GetPaymentConsent(ctx, occ.AccessToken, created.ConsentID)
	require.Equal(t, http.StatusForbidden, apiErr(t, err).StatusCode)
	// ... nor push an authorization request for it.
	_, err = other.PushAuthorization(ctx, created.ConsentID, fapi.AuthOptions{Scopes: []string{"payments"}})
	require.Error(t, err)

	// A body signed with another key under the client's kid: 400 BAD_SIGNATURE, plain JSON.
	u := h.base + fapi.PaymentsPath + "/consents"
	cfg := configOf(t, h, c)
	cfg.SigningKey, cfg.SigningKeyID = rsaKey(t), "sig-app"
	forger, err := fapi.New(ctx, cfg)
	require.NoError(t, err)
	body, err := forger.SignBody(u, pixConsent(ana.CPF, "1.00"))
	require.NoError(t, err)
	_, err = c.DoSigned(ctx, http.MethodPost, u, cc.AccessToken, uuid.NewString(), body)
	ae := apiErr(t, err)
	require.Equal(t, http.StatusBadRequest, ae.StatusCode)
	require.False(t, ae.Signed)
	require.True(t, ae.HasCode("BAD_SIGNATURE"), "%v", ae)
	// A tampered payload too.
	good, err := c.SignBody(u, pixConsent(ana.CPF, "1.00"))
	require.NoError(t, err)
	parts := strings.Split(string(good), ".")
	evil, err := c.SignBody(u, pixConsent(ana.CPF, "1000.00"))
	require.NoError(t, err)
	parts[1] = strings.Split(string(evil), ".")[1]
	_, err = c.DoSigned(ctx, http.MethodPost, u, cc.AccessToken, uuid.NewString(), []byte(strings.Join(parts, ".")))
	require.True(t, apiErr(t, err).HasCode("BAD_SIGNATURE"))
	// The same signed body twice: the jti is replayed (403).
	_, err = c.DoSigned(ctx, http.MethodPost, u, cc.AccessToken, uuid.NewString(), good)
	require.NoError(t, err)
	_, err = c.DoSigned(ctx, http.MethodPost, u, cc.AccessToken, uuid.NewString(), good)
	require.Equal(t, http.StatusForbidden, apiErr(t, err).StatusCode)
	// Signed for another endpoint: aud mismatch (403).
	wrongAud, err := c.SignBody(h.base+fapi.PaymentsPath+"/pix/payments", pixConsent(ana.CPF, "1.00"))
	require.NoError(t, err)
	_, err = c.DoSigned(ctx, http.MethodPost, u, cc.AccessToken, uuid.NewString(), wrongAud)
	require.Equal(t, http.StatusForbidden, apiErr(t, err).StatusCode)

	// Answers are checked: another holder organisation, another audience,
	// a key outside the holder's JWKS.
	ans, err := c.DoSigned(ctx, http.MethodGet, u+"/"+created.ConsentID, cc.AccessToken, "", nil)
	require.NoError(t, err)
	strict := configOf(t, h, c)
	strict.HolderOrganisationID = "another-holder"
	sc, err := fapi.New(ctx, strict)
	require.NoError(t, err)
	_, err = sc.VerifySignedAnswer(ctx, ans.JWS)
	require.ErrorIs(t, err, fapi.ErrInvalidSignedResponse)
	strict = configOf(t, h, c)
	strict.OrganisationID = "another-org"
	sc, err = fapi.New(ctx, strict)
	require.NoError(t, err)
	_, err = sc.VerifySignedAnswer(ctx, ans.JWS)
	require.ErrorIs(t, err, fapi.ErrInvalidSignedResponse)
	_, err = c.VerifySignedAnswer(ctx, good) // signed by the client, not the holder
	require.ErrorIs(t, err, fapi.ErrInvalidSignedResponse)
	_, err = c.VerifySignedAnswer(ctx, []byte("not a jws"))
	require.ErrorIs(t, err, fapi.ErrInvalidSignedResponse)
	stale := configOf(t, h, c)
	stale.Now = func() time.Time { return time.Now().Add(5 * time.Minute) }
	sc, err = fapi.New(ctx, stale)
	require.NoError(t, err)
	_, err = sc.VerifySignedAnswer(ctx, ans.JWS)
	require.ErrorIs(t, err, fapi.ErrInvalidSignedResponse)

	// Without an organisation id the client cannot sign.
	noOrg := configOf(t, h, c)
	noOrg.OrganisationID = ""
	nc, err := fapi.New(ctx, noOrg)
	require.NoError(t, err)
	_, err = nc.GetPaymentConsent(ctx, cc.AccessToken, created.ConsentID)
	require.ErrorIs(t, err, fapi.ErrConfig)

	// A customer who refuses: the consent is REJECTED.
	r, err := c.PushAuthorization(ctx, created.ConsentID, fapi.AuthOptions{Scopes: []string{"payments"}})
	require.NoError(t, err)
	_, err = c.HandleCallback(ctx, h.authorize(c, r, ana, false), r)
	var oe *fapi.OAuthError
	require.ErrorAs(t, err, &oe)
	require.Equal(t, "access_denied", oe.Code)
	got, err := c.GetPaymentConsent(ctx, cc.AccessToken, created.ConsentID)
	require.NoError(t, err)
	require.Equal(t, fapi.PaymentConsentRejected, got.Status)
	require.NotNil(t, got.RejectionReason)
	require.Equal(t, "REJEITADO_USUARIO", got.RejectionReason.Code)
}

// TestPaymentOfAnotherClientsConsent: a token of client B cannot pay on
// client A's consent, and the consent token cannot read B's payments.
func TestPaymentOfAnotherClientsConsent(t *testing.T) {
	ctx := context.Background()
	h := newHolder(t)
	a, _ := h.registered(tppOptions{payments: true})
	b, _ := h.registered(tppOptions{payments: true, name: "other"})
	acc, err := a.ClientCredentials(ctx, "payments")
	require.NoError(t, err)
	bcc, err := b.ClientCredentials(ctx, "payments")
	require.NoError(t, err)
	consentA, _ := h.authorisedPayment(a, acc.AccessToken, "2.00")
	_, tokB := h.authorisedPayment(b, bcc.AccessToken, "3.00")

	// B's consent token naming A's consent in the item: refused as divergent.
	_, err = b.InitiatePixPayments(ctx, tokB.AccessToken, uuid.NewString(), []fapi.PixPaymentRequest{pixItem(consentA.ConsentID, "2.00")})
	ae := apiErr(t, err)
	require.Equal(t, http.StatusUnprocessableEntity, ae.StatusCode, "%v", ae)
	// A's consent is untouched and still payable by A only.
	got, err := a.GetPaymentConsent(ctx, acc.AccessToken, consentA.ConsentID)
	require.NoError(t, err)
	require.Equal(t, fapi.PaymentConsentAuthorised, got.Status)
	_, err = b.GetPixPayment(ctx, bcc.AccessToken, uuid.NewString())
	require.Equal(t, http.StatusNotFound, apiErr(t, err).StatusCode)
	require.False(t, errors.Is(err, fapi.ErrInvalidSignedResponse))
}

// TestScheduledPaymentCancelled: a payment scheduled for tomorrow waits in
// SCHD and the initiator cancels it (PATCH, status CANC).
func TestScheduledPaymentCancelled(t *testing.T) {
	ctx := context.Background()
	h := newHolder(t)
	c, _ := h.registered(tppOptions{payments: true})
	ana := h.demo.TestCredentials()[0]
	cc, err := c.ClientCredentials(ctx, "payments")
	require.NoError(t, err)

	tomorrow := payments.DateOf(time.Now()).AddDays(1)
	req := pixConsent(ana.CPF, "5.00")
	req.Payment.Date = ""
	req.Payment.Schedule = &fapi.PaymentSchedule{Single: &fapi.ScheduleSingle{Date: tomorrow.String()}}
	created, err := c.CreatePaymentConsent(ctx, cc.AccessToken, "", req)
	require.NoError(t, err)
	require.NotNil(t, created.Payment.Schedule)
	require.Equal(t, tomorrow.String(), created.Payment.Schedule.Single.Date)
	r, err := c.PushAuthorization(ctx, created.ConsentID, fapi.AuthOptions{Scopes: []string{"payments"}})
	require.NoError(t, err)
	cb, err := c.HandleCallback(ctx, h.authorize(c, r, ana, true), r)
	require.NoError(t, err)
	tok, err := c.Exchange(ctx, cb.Code, r)
	require.NoError(t, err)

	item := pixItem(created.ConsentID, "5.00")
	item.EndToEndID = "E12345678" + strings.ReplaceAll(tomorrow.String(), "-", "") + "1500" + item.EndToEndID[21:]
	ps, err := c.InitiatePixPayments(ctx, tok.AccessToken, "", []fapi.PixPaymentRequest{item})
	require.NoError(t, err)
	p := waitPayment(t, c, cc.AccessToken, ps[0].PaymentID, fapi.PixScheduled)

	cancelled, err := c.CancelPixPayment(ctx, cc.AccessToken, p.PaymentID, fapi.CPF(ana.CPF))
	require.NoError(t, err)
	require.Equal(t, fapi.PixCancelled, cancelled.Status)
	require.NotNil(t, cancelled.Cancellation)
	require.Equal(t, "INICIADORA", cancelled.Cancellation.CancelledFrom)
	require.Equal(t, "CANCELADO_AGENDAMENTO", cancelled.Cancellation.Reason)
	require.Equal(t, ana.CPF, cancelled.Cancellation.CancelledBy.Document.Identification)
	got, err := c.GetPixPayment(ctx, cc.AccessToken, p.PaymentID)
	require.NoError(t, err)
	require.Equal(t, fapi.PixCancelled, got.Status)
}

// TestPaymentConsentPageAsksForOneAccount: the consent page of a payment
// consent describes the payment and offers the customer's accounts as a
// single choice; two accounts are refused.
func TestPaymentConsentPageAsksForOneAccount(t *testing.T) {
	ctx := context.Background()
	h := newHolder(t)
	c, _ := h.registered(tppOptions{payments: true})
	var cred = h.demo.TestCredentials()[0]
	cc, err := c.ClientCredentials(ctx, "payments")
	require.NoError(t, err)
	created, err := c.CreatePaymentConsent(ctx, cc.AccessToken, "", pixConsent(cred.CPF, "7.00"))
	require.NoError(t, err)
	r, err := c.PushAuthorization(ctx, created.ConsentID, fapi.AuthOptions{Scopes: []string{"payments"}})
	require.NoError(t, err)

	b := h.browser(r.RedirectURI)
	pg := b.get(c.AuthorizeURL(r.RequestURI))
	require.Equal(t, http.StatusOK, pg.status, pg.body)
	pg = b.submit(pg, "login", url.Values{"cpf": {cred.CPF}, "password": {cred.Password}})
	require.Equal(t, http.StatusOK, pg.status, pg.body)
	require.Contains(t, pg.body, `data-permission="PAYMENTS_INITIATE"`)
	require.Contains(t, pg.body, "Iniciar um pagamento Pix")
	require.NotContains(t, pg.body, `type="checkbox"`)
	_, _, options := parseForm(t, pg.body, "consent")
	require.GreaterOrEqual(t, len(options["resource"]), 2, "the demo customer has several accounts")
	require.Equal(t, len(options["resource"]), strings.Count(pg.body, `type="radio" name="resource"`))

	refused := b.submit(pg, "consent", url.Values{"decision": {"approve"}, "resource": options["resource"][:2]})
	require.Equal(t, http.StatusBadRequest, refused.status)
	require.Contains(t, refused.body, "Choose a single account")
	done := b.submit(refused, "consent", url.Values{"decision": {"approve"}, "resource": options["resource"][1:2]})
	require.Contains(t, []int{http.StatusFound, http.StatusSeeOther}, done.status, done.body)
	_, err = c.HandleCallback(ctx, done.header.Get("Location"), r)
	require.NoError(t, err)
}
