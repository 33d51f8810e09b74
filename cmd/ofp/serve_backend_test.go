package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/connectors/corebank"
	"github.com/ofp-dev/ofp/connectors/fapi"
	"github.com/ofp-dev/ofp/consent/payments"
	"github.com/ofp-dev/ofp/internal/backendrpc"
	"github.com/ofp-dev/ofp/internal/backendrpc/backendrpctest"
)

// TestServeServesCustomersAndPaymentsFromTheBackEnd runs `ofp serve`
// configured as in production with --backend-url at the simulated back
// end (`ofp sim backend`, over the back-end contract): the customer logs
// in with the back end's credentials, the consent page offers the back
// end's accounts, the accounts API answers the back end's data, and a Pix
// payment from the institution's ISPB is checked and settled by the back
// end. The back-end token is never printed.
func TestServeServesCustomersAndPaymentsFromTheBackEnd(t *testing.T) {
	ctx := context.Background()
	const token = "backend-token-never-printed-0123456789"
	var checked *backendrpctest.Counter
	backendURL, logins, stop, err := startSimBackend("127.0.0.1:0", token, func(h http.Handler) http.Handler {
		v, c := backendrpctest.Validating(t, h)
		checked = c
		return v
	})
	require.NoError(t, err)
	t.Cleanup(stop)
	var cpf, password string
	for _, l := range logins {
		if l.Kind == "PF" {
			cpf, password = l.CPF, l.Password
			break
		}
	}
	require.NotEmpty(t, cpf)

	dir := t.TempDir()
	a := newServeAnchors(t, dir)
	args := append(a.args(filepath.Join(dir, "data")), "--org-id", a.transport.OrgID, "--transport-cert", a.transportCert,
		"--transport-key", a.transportKey, "--client-rate-limit", "10:4", "--backend-url", backendURL, "--ispb", "12345678")
	// Without the institution's ISPB it refuses, saying what to set.
	noISPB := ofpCommand(args[:len(args)-2]...)
	noISPB.Env = append(noISPB.Env, "OFP_SESSION_KEY="+strings.Repeat("s", 40))
	var msg bytes.Buffer
	noISPB.Stdout, noISPB.Stderr = &msg, &msg
	require.NoError(t, noISPB.Start())
	stopped := time.AfterFunc(30*time.Second, func() { _ = noISPB.Process.Kill() }) // a serve that started anyway
	require.Error(t, noISPB.Wait())
	stopped.Stop()
	require.Contains(t, msg.String(), "--ispb")

	info, out := startServe(t, filepath.Join(dir, "data"), args, "OFP_SESSION_KEY="+strings.Repeat("s", 40), "OFP_BACKEND_TOKEN="+token)

	c, cfg := registerTestTPP(t, ctx, a.bundle, info.HolderURL, "acme", "openid consents resources accounts")
	cc, err := c.ClientCredentials(ctx, "consents")
	require.NoError(t, err)
	created, err := c.CreateConsent(ctx, cc.AccessToken, fapi.ConsentRequest{LoggedUser: fapi.CPF(cpf),
		Permissions: []string{"ACCOUNTS_READ", "ACCOUNTS_BALANCES_READ", "RESOURCES_READ"}, ExpirationDateTime: time.Now().Add(24 * time.Hour)})
	require.NoError(t, err)
	r, err := c.PushAuthorization(ctx, created.ConsentID, fapi.AuthOptions{Scopes: []string{"accounts", "resources"}})
	require.NoError(t, err)

	// The password is the one the back end made up at start: only its
	// identity service can have accepted it.
	loc := holderApprove(t, a.bundle, c.AuthorizeURL(r.RequestURI), cfg.RedirectURI, cpf, password)
	cb, err := c.HandleCallback(ctx, loc, r)
	require.NoError(t, err)
	tok, err := c.Exchange(ctx, cb.Code, r)
	require.NoError(t, err)

	// What the accounts API answers is the back end's synthetic core.
	core, err := corebank.NewSynthetic(corebank.DefaultOptions())
	require.NoError(t, err)
	owner := corebank.Owner{CPF: cpf}
	want, err := core.Accounts(ctx, owner)
	require.NoError(t, err)
	var list struct {
		Data []corebank.Account `json:"data"`
	}
	require.NoError(t, c.GetJSON(ctx, tok.AccessToken, info.HolderURL+"/open-banking/accounts/v2/accounts", &list))
	require.Len(t, list.Data, 1, "the one account ticked on the consent page")
	require.Equal(t, want[0], list.Data[0], "the first account the back end lists, as the core has it")
	var bal struct {
		Data corebank.AccountBalances `json:"data"`
	}
	require.NoError(t, c.GetJSON(ctx, tok.AccessToken, info.HolderURL+"/open-banking/accounts/v2/accounts/"+list.Data[0].AccountID+"/balances", &bal))
	wantBal, err := core.AccountBalances(ctx, owner, list.Data[0].AccountID)
	require.NoError(t, err)
	require.Equal(t, wantBal.AvailableAmount, bal.Data.AvailableAmount)

	// The operator's rate limit (--client-rate-limit 10:4) holds: calls in
	// a burst beyond it get 429 with Retry-After (the default, 100:200,
	// would take them all).
	var limited *fapi.Response
	for i := 0; i < 20 && limited == nil; i++ {
		if resp, err := c.Get(ctx, tok.AccessToken, info.HolderURL+"/open-banking/accounts/v2/accounts"); err != nil {
			require.NotNil(t, resp, "%v", err)
			require.Equal(t, http.StatusTooManyRequests, resp.StatusCode, "%v", err)
			limited = resp
		}
	}
	require.NotNil(t, limited, "20 calls at once, and none over a limit of 10 a second with bursts of 4")
	require.NotEmpty(t, limited.Header.Get("Retry-After"))

	// A Pix payment: the back end checks it and settles it through its
	// (simulated) SPI; the holder learns the outcome by polling it.
	host := newJWKSHost(t, a.bundle)
	payer := newPaymentsTPPAt(t, a.bundle, info.HolderURL, "acme", a.transport.OrgID, host, "payer", "")
	pcc, err := payer.ClientCredentials(ctx, "payments")
	require.NoError(t, err)
	pc, err := payer.CreatePaymentConsent(ctx, pcc.AccessToken, uuid.NewString(), demoPixConsent(cpf, "1.23"))
	require.NoError(t, err)
	pr, err := payer.PushAuthorization(ctx, pc.ConsentID, fapi.AuthOptions{Scopes: []string{"payments"}})
	require.NoError(t, err)
	ploc, _ := payApprove(t, a.bundle, payer.AuthorizeURL(pr.RequestURI), pr.RedirectURI, cpf, password, "1.23", payments.DateOf(time.Now()))
	pcb, err := payer.HandleCallback(ctx, ploc, pr)
	require.NoError(t, err)
	ptok, err := payer.Exchange(ctx, pcb.Code, pr)
	require.NoError(t, err)
	authorised, err := payer.GetPaymentConsent(ctx, pcc.AccessToken, pc.ConsentID)
	require.NoError(t, err)
	require.NotNil(t, authorised.DebtorAccount)
	require.Equal(t, "12345678", authorised.DebtorAccount.ISPB, "the institution's ISPB (--ispb)")
	ps, err := payer.InitiatePixPayments(ctx, ptok.AccessToken, uuid.NewString(), []fapi.PixPaymentRequest{demoPixItem(pc.ConsentID, "1.23")})
	require.NoError(t, err)
	settled := waitFor(t, 20*time.Second, func() (fapi.PixPayment, bool) {
		cur, err := payer.GetPixPayment(ctx, pcc.AccessToken, ps[0].PaymentID)
		require.NoError(t, err)
		require.NotEqual(t, fapi.PixRejected, cur.Status, "rejected: %+v", cur.RejectionReason)
		return cur, cur.Status == fapi.PixSettled
	})
	require.Equal(t, "1.23", settled.Payment.Amount)

	require.NotContains(t, out.String(), token, "the back-end token is never printed")
	// Every call the holder made was the contract document's (logins, core
	// reads, checks, submission, outcomes, acknowledgements).
	require.GreaterOrEqual(t, checked.N(), 8, "exchanges checked against the contract document")
	// Operators see the back end's calls in /metrics.
	req, _ := http.NewRequest(http.MethodGet, info.URL+"/metrics", nil)
	req.SetBasicAuth("ops", "s3cret-operator")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	for _, want := range []string{
		`ofp_backend_calls_total{outcome="ok",path="/idp/v1/authenticate"} 2`,
		`ofp_backend_calls_total{outcome="ok",path="/payments/v1/submit"} 1`,
		`ofp_backend_call_seconds_count{path="/core/v1/accounts"}`,
	} {
		require.Contains(t, string(metrics), want)
	}

	resp, err = http.Get(backendURL + "/openapi.yaml")
	require.NoError(t, err)
	doc, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, backendrpc.Contract, doc, "the simulated back end publishes the contract")
}
