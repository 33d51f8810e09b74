package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/ofp-dev/ofp/authz/dcr"
	"github.com/ofp-dev/ofp/authz/dcr/dcrsql"
	"github.com/ofp-dev/ofp/authz/keys"
	"github.com/ofp-dev/ofp/authz/login"
	"github.com/ofp-dev/ofp/authz/server"
	"github.com/ofp-dev/ofp/connectors/corebank"
	"github.com/ofp-dev/ofp/consent/payments"
	"github.com/ofp-dev/ofp/consent/payments/jwtbody"
	"github.com/ofp-dev/ofp/consent/payments/paymentshttp"
	"github.com/ofp-dev/ofp/consent/payments/paymentsql"
	"github.com/ofp-dev/ofp/consent/payments/paymentwebhooks"
	"github.com/ofp-dev/ofp/consent/payments/settlehttp"
	"github.com/ofp-dev/ofp/consent/webhooks"
	"github.com/ofp-dev/ofp/internal/backendrpc"
	"github.com/ofp-dev/ofp/internal/config"
	"github.com/ofp-dev/ofp/jobs"
	"github.com/ofp-dev/ofp/sim/spi"
)

// routedGate sends consent:<urn> decisions to the service that owns the
// consent: payment consents (urn:…:pay-<uuid>) to the payments store, the
// rest to the data-sharing consent store.
type routedGate struct {
	data server.ConsentGate
	pay  server.ConsentGate // nil: payments off
}

func (g routedGate) pick(id string) server.ConsentGate {
	if g.pay != nil && payments.IsConsentID(id) {
		return g.pay
	}
	return g.data
}

func (g routedGate) CheckPending(ctx context.Context, clientID, id string) (server.ConsentInfo, error) {
	return g.pick(id).CheckPending(ctx, clientID, id)
}

func (g routedGate) Authorise(ctx context.Context, id string, c server.Customer, res []string) error {
	return g.pick(id).Authorise(ctx, id, c, res)
}

func (g routedGate) Reject(ctx context.Context, id string, c server.Customer) error {
	return g.pick(id).Reject(ctx, id, c)
}

func (g routedGate) Authorised(ctx context.Context, id string) (bool, error) {
	return g.pick(id).Authorised(ctx, id)
}

// RefreshAllowed: a payment consent's refresh token works only while the
// consent is AUTHORISED, never once CONSUMED (BRIEF §4); data consents
// refresh while authorised.
func (g routedGate) RefreshAllowed(ctx context.Context, id string) (bool, error) {
	if pg, ok := g.pick(id).(paymentGate); ok {
		c, err := pg.store.GetConsent(ctx, id)
		if errors.Is(err, payments.ErrNotFound) {
			return false, nil
		}
		return err == nil && c.Status == payments.ConsentAuthorised, err
	}
	return g.pick(id).Authorised(ctx, id)
}

var _ server.RefreshGate = routedGate{}

// Choosable narrows the accounts a payment consent may be paid from (see
// paymentGate.Choosable); a data consent may share any of them.
func (g routedGate) Choosable(ctx context.Context, id string, c server.Customer, ids []string) ([]string, error) {
	if n, ok := g.pick(id).(server.ResourceNarrower); ok {
		return n.Choosable(ctx, id, c, ids)
	}
	return ids, nil
}

var _ server.ResourceNarrower = routedGate{}

// paymentGate is authz's view of payment consents.
type paymentGate struct {
	store *paymentsql.Store
	// debtors turns accounts the customer may choose into Pix debtor
	// accounts (coreDebtors), leaving out the ids that cannot pay.
	debtors func(ctx context.Context, c server.Customer, resourceIDs []string) (map[string]payments.Account, error)
}

func mapPaymentErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, payments.ErrNotFound):
		return fmt.Errorf("%w: %v", server.ErrConsentNotFound, err)
	case errors.Is(err, payments.ErrNotPending):
		return fmt.Errorf("%w: %v", server.ErrConsentNotPending, err)
	case errors.Is(err, payments.ErrOtherClient):
		return fmt.Errorf("%w: %v", server.ErrConsentOtherClient, err)
	case errors.Is(err, payments.ErrCustomerMismatch), errors.Is(err, payments.ErrDebtorMismatch),
		errors.Is(err, payments.ErrRefusedAtAuthorisation):
		// The customer cannot approve this consent: access_denied.
		return fmt.Errorf("%w: %v", server.ErrCustomerMismatch, err)
	}
	return err
}

func (g paymentGate) CheckPending(ctx context.Context, clientID, id string) (server.ConsentInfo, error) {
	c, err := g.store.CheckPending(ctx, clientID, id)
	if err != nil {
		return server.ConsentInfo{}, mapPaymentErr(err)
	}
	info := server.ConsentInfo{ID: c.ID, ClientID: c.ClientID, Status: string(c.Status),
		Permissions:        []string{"PAYMENTS_INITIATE"},
		LoggedUserDocument: c.LoggedUser.Identification, LoggedUserRel: c.LoggedUser.Rel,
		ExpiresAt: c.ExpirationDateTime, Payment: paymentShown(c)}
	if c.BusinessEntity != nil {
		info.BusinessDocument, info.BusinessRel = c.BusinessEntity.Identification, c.BusinessEntity.Rel
	}
	return info, nil
}

// paymentShown is what the consent page shows of a payment consent: the
// amount, the payee and the day or days of the payment.
func paymentShown(c payments.Consent) *login.Payment {
	p := c.Payment
	a := p.Details.CreditorAccount
	out := &login.Payment{Amount: p.Amount, Currency: p.Currency, CreditorName: c.Creditor.Name, CreditorDocument: c.Creditor.CpfCnpj,
		Proxy: p.Details.Proxy, LocalInstrument: p.Details.LocalInstrument,
		CreditorAccount: login.PaymentAccount{ISPB: a.ISPB, Branch: a.Issuer, Number: a.Number, Type: a.AccountType}}
	if d := c.DebtorAccount; d != nil {
		out.DebtorAccount = &login.PaymentAccount{ISPB: d.ISPB, Branch: d.Issuer, Number: d.Number, Type: d.AccountType}
	}
	switch {
	case p.Date != nil:
		out.Dates = []time.Time{p.Date.Start()}
	case p.Schedule != nil:
		out.Scheduled = true
		// The schedule was checked when the consent was created; a
		// schedule that cannot be listed shows no dates.
		dates, _ := p.Schedule.Dates()
		for _, d := range dates {
			out.Dates = append(out.Dates, d.Start())
		}
		if p.Schedule.Custom != nil {
			out.Note = p.Schedule.Custom.AdditionalInformation
		}
	}
	return out
}

// Choosable keeps, when the initiator named the debtor account in the
// consent, only the customer's account that is that Pix account: any other
// choice would be refused when the consent is authorised.
func (g paymentGate) Choosable(ctx context.Context, id string, c server.Customer, ids []string) ([]string, error) {
	pc, err := g.store.GetConsent(ctx, id)
	if err != nil {
		return nil, mapPaymentErr(err)
	}
	if pc.DebtorAccount == nil {
		return ids, nil
	}
	accts, err := g.debtors(ctx, c, ids)
	if err != nil {
		return nil, err
	}
	var keep []string
	for _, rid := range ids {
		if acct, ok := accts[rid]; ok && acct == *pc.DebtorAccount {
			keep = append(keep, rid)
		}
	}
	return keep, nil
}

func (g paymentGate) Authorise(ctx context.Context, id string, c server.Customer, res []string) error {
	if len(res) == 0 {
		return fmt.Errorf("%w: choose the account to pay from", server.ErrCustomerMismatch)
	}
	accts, err := g.debtors(ctx, c, res[:1])
	if err != nil {
		return err
	}
	debtor, ok := accts[res[0]]
	if !ok {
		return fmt.Errorf("%w: account %s is not the customer's, or cannot pay", server.ErrCustomerMismatch, res[0])
	}
	_, err = g.store.Authorise(ctx, id, payments.Customer{CPF: c.CPF, CNPJ: c.CNPJ}, debtor)
	return mapPaymentErr(err)
}

func (g paymentGate) Reject(ctx context.Context, id string, c server.Customer) error {
	_, err := g.store.Reject(ctx, id, payments.Customer{CPF: c.CPF, CNPJ: c.CNPJ})
	return mapPaymentErr(err)
}

func (g paymentGate) Authorised(ctx context.Context, id string) (bool, error) {
	ok, err := g.store.Authorised(ctx, id)
	if errors.Is(err, payments.ErrNotFound) {
		return false, nil
	}
	return ok, err
}

// coreDebtors resolves chosen accounts of the core (the synthetic one, or
// the institution's over --backend-url) to Pix accounts, listing the
// customer's accounts once for all of them; an id that is not the
// customer's, or cannot pay, is left out. ispb is the institution's ISPB.
func coreDebtors(core corebank.Core, ispb string) func(context.Context, server.Customer, []string) (map[string]payments.Account, error) {
	return func(ctx context.Context, c server.Customer, ids []string) (map[string]payments.Account, error) {
		accts, err := core.Accounts(ctx, corebank.Owner{CPF: c.CPF, CNPJ: c.CNPJ})
		if err != nil {
			return nil, err
		}
		out := make(map[string]payments.Account, len(ids))
		for _, a := range accts {
			if !slices.Contains(ids, a.AccountID) {
				continue
			}
			typ := "CACC"
			switch a.Type {
			case corebank.AccountSavings:
				typ = "SVGS"
			case corebank.AccountPrepaid:
				typ = "TRAN"
			}
			acct := payments.Account{ISPB: ispb, Number: a.Number + a.CheckDigit, AccountType: typ}
			if typ != "TRAN" {
				acct.Issuer = a.BranchCode
			}
			out[a.AccountID] = acct
		}
		return out, nil
	}
}

// clientJWKS finds a registered client's signing keys at its jwks_uri (the
// directory's software_jwks_uri, equal by DCR-BR), with a cache per URI.
type clientJWKS struct {
	registeredClients
	http  *http.Client
	mu    sync.Mutex
	byURI map[string]*dcr.URLKeys
}

func (c *clientJWKS) client(ctx context.Context, clientID string) (dcr.Client, error) {
	cl, ok, err := c.find(ctx, clientID)
	if err == nil && !ok {
		err = fmt.Errorf("client %s is not registered", clientID)
	}
	return cl, err
}

func (c *clientJWKS) ClientJWKS(ctx context.Context, clientID string) (*jose.JSONWebKeySet, error) {
	cl, err := c.client(ctx, clientID)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	k, ok := c.byURI[cl.Metadata.JWKSURI]
	if !ok {
		k = dcr.NewURLKeys(cl.Metadata.JWKSURI, dcr.URLKeysOptions{Client: c.http, TTL: 5 * time.Minute})
		c.byURI[cl.Metadata.JWKSURI] = k
	}
	c.mu.Unlock()
	return k.Keys(ctx)
}

// startPayments serves Payments 4.0.0 on the regulated mux: consents and
// Pix payments with signed bodies, the settlement processor (the simulated
// SPI in demo) and the webhook deliverer. hc fetches clients' JWKS;
// hookClient delivers the webhooks (mTLS with the transport certificate).
func (h *holder) startPayments(ctx context.Context, mux *http.ServeMux, store *paymentsql.Store, km *keys.Manager,
	clients *dcrsql.Store, hc, hookClient *http.Client, hooks *webhooks.Store, secrets, orgID string,
	backend *backendrpc.Client, demo bool, sched *jobs.Scheduler) error {
	// The holder's checks and the SPI connection: the institution's back
	// end, else (demo) the simulated SPI.
	var (
		checker     payments.Checker
		settlement  payments.Settlement
		runOutcomes func(ctx context.Context, report func(context.Context, payments.SettlementOutcome) error) error
	)
	switch {
	case backend != nil:
		c := settlehttp.New(backend, time.Second, h.log.With("component", "settlement"))
		checker, settlement, runOutcomes = c, c, c.Run
	case demo:
		eng := spi.New(spi.Options{CheckDelay: 200 * time.Millisecond, SettleDelay: 2 * time.Second})
		checker, settlement = eng, eng
		runOutcomes = func(ctx context.Context, report func(context.Context, payments.SettlementOutcome) error) error {
			return eng.Run(ctx, report)
		}
	default:
		h.log.Info("payments API off: set --" + config.FlagBackendURL + " to the institution's back end (its payment checks and Pix (SPI) connection)")
		return nil
	}
	keySrc := &clientJWKS{registeredClients: registeredClients{clients, h.Brands}, http: hc, byURI: map[string]*dcr.URLKeys{}}
	verifier, err := jwtbody.NewVerifier(keySrc, store, store.Now)
	if err != nil {
		return err
	}
	signer, err := jwtbody.NewSigner(km, h.Brands[0].ID, orgID, store.Now)
	if err != nil {
		return err
	}
	proc, err := payments.NewProcessor(store, checker, settlement, payments.ProcessorOptions{Logger: h.log.With("component", "payments")})
	if err != nil {
		return err
	}
	api, err := paymentshttp.New(store, paymentshttp.Options{
		Institution: "ofp", PublicURL: h.URL, Verifier: verifier, Signer: signer, PaymentsCreated: proc.Kick,
		Now: store.Now, Logger: h.log.With("component", "payments-api"),
		Caller: func(r *http.Request) (paymentshttp.Caller, error) {
			ti, ok := server.TokenFrom(r.Context())
			if !ok {
				return paymentshttp.Caller{}, errors.New("no verified access token")
			}
			cl, err := keySrc.client(r.Context(), ti.ClientID)
			if err != nil {
				return paymentshttp.Caller{}, err
			}
			return paymentshttp.Caller{ClientID: ti.ClientID, OrgID: cl.OrgID, ConsentID: ti.ConsentID, GrantType: ti.GrantType,
				Scopes: ti.Scopes, SoftwareStatementID: cl.SoftwareID}, nil
		},
	})
	if err != nil {
		return err
	}
	mux.Handle(paymentshttp.BasePath+"/", h.az.Protect(server.Requirement{Scopes: []string{"payments"}})(api))
	d, err := paymentwebhooks.New(hookClient, store, keySrc.registeredClients, hooks, mustSigner(secrets),
		paymentwebhooks.Options{Logger: h.log.With("component", "payment-webhooks")})
	if err != nil {
		return err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, run := range []func(context.Context) error{
		func(ctx context.Context) error { return runOutcomes(ctx, proc.Complete) },
		proc.Run, d.Run,
	} {
		wg.Add(1)
		go func() { defer wg.Done(); _ = run(runCtx) }()
	}
	h.closers = append(h.closers, func(context.Context) error { cancel(); wg.Wait(); return nil })
	return sched.Register("payments-purge", "@hourly", func(ctx context.Context) error {
		_, _, err := store.PurgeExpired(ctx)
		return err
	})
}
