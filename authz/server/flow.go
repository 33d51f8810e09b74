package server

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/luikyv/go-oidc/pkg/goidc"

	"github.com/ofp-dev/ofp/authz/idp"
	"github.com/ofp-dev/ofp/authz/keys"
	"github.com/ofp-dev/ofp/authz/login"
)

// policyID names the login-and-consent policy of every brand.
const policyID = "ofp-login-consent"

// Keys of AuthnSession.Store and Grant.Store. Values are strings only, so
// they survive any JSON storage unchanged.
const (
	keyStep     = "ofp.step"
	keyCSRF     = "ofp.csrf"
	keyMinLoA   = "ofp.min_loa"
	keySubject  = "ofp.sub"
	keyCPF      = "ofp.cpf"
	keyCNPJ     = "ofp.cnpj"
	keyName     = "ofp.name"
	keyACR      = "ofp.acr"
	keyAuthTime = "ofp.auth_time"
	// keyApproval carries the customer's approval from the policy to the
	// first save of the grant, where the consent is authorised (see
	// consentGrants.SaveGrant); it is removed before the grant is stored.
	keyApproval = "ofp.approval"
)

// approval is what keyApproval holds (JSON).
type approval struct {
	ConsentID string   `json:"consent_id"`
	Subject   string   `json:"sub"`
	CPF       string   `json:"cpf"`
	CNPJ      string   `json:"cnpj,omitempty"`
	Resources []string `json:"resources"`
}

// brandFlow is what one brand's policy needs.
type brandFlow struct {
	s     *Server
	brand keys.Brand
	style login.Brand
}

// pushedRequest is the PAR hook: the FAPI-BR request rules, then the
// consent binding (exactly one consent:<urn>, existing, awaiting
// authorisation and created by this client) and the acr the request needs.
func (f *brandFlow) pushedRequest(ctx context.Context, as *goidc.AuthnSession, c *goidc.Client) error {
	if err := checkPushedRequest(ctx, as, c); err != nil {
		return err
	}
	if err := f.s.checkEncryptionKey(ctx, c); err != nil {
		return err
	}
	var ids []string
	for _, sc := range strings.Fields(as.Scopes) {
		switch {
		case strings.HasPrefix(sc, ConsentScopePrefix):
			ids = append(ids, strings.TrimPrefix(sc, ConsentScopePrefix))
		case strings.HasPrefix(sc, "recurring-consent:"), strings.HasPrefix(sc, "enrollment:"):
			return goidc.NewError(goidc.ErrorCodeInvalidScope, fmt.Sprintf("scope %q is not supported by this server yet: use consent:<urn>", sc))
		}
	}
	if len(ids) != 1 {
		return goidc.NewError(goidc.ErrorCodeInvalidScope, "the request needs exactly one consent:<urn> scope naming a consent created by this client")
	}
	gate := f.s.opts.Consent
	if gate == nil {
		return goidc.NewError(goidc.ErrorCodeInvalidRequest, "this server has no consent service configured, so it cannot authorise consent scopes")
	}
	if _, err := gate.CheckPending(ctx, c.ID, ids[0]); err != nil {
		if desc, ok := consentProblem(err); ok {
			return goidc.NewError(goidc.ErrorCodeInvalidScope, desc)
		}
		return fmt.Errorf("server: check consent %s: %w", ids[0], err)
	}
	minLoA, err := requiredLoA(as)
	if err != nil {
		return err
	}
	if as.Store == nil {
		as.Store = map[string]any{}
	}
	as.Store[keyMinLoA] = strconv.Itoa(int(minLoA))
	return nil
}

// consentProblem maps the gate's sentinels to a description for the client.
func consentProblem(err error) (string, bool) {
	switch {
	case errors.Is(err, ErrConsentNotFound):
		return "the consent in the consent:<urn> scope does not exist", true
	case errors.Is(err, ErrConsentOtherClient):
		return "the consent in the consent:<urn> scope was created by another client", true
	case errors.Is(err, ErrConsentNotPending):
		return "the consent in the consent:<urn> scope is not awaiting authorisation", true
	case errors.Is(err, ErrCustomerMismatch):
		return "the authenticated customer is not the consent's loggedUser or businessEntity", true
	}
	return "", false
}

// requiredLoA reads the acr the client asks for (claims parameter, then
// acr_values). loa2 acceptable → LoA2; only loa3 → LoA3; an essential acr
// with neither value cannot be met and is refused.
func requiredLoA(as *goidc.AuthnSession) (idp.LoA, error) {
	var values []string
	essential := false
	if as.Claims != nil {
		if acr, ok := as.Claims.IDToken[goidc.ClaimACR]; ok {
			essential = acr.IsEssential
			if acr.Value != "" {
				values = append(values, acr.Value)
			}
			values = append(values, acr.Values...)
		}
	}
	if len(values) == 0 {
		values = strings.Fields(as.ACRValues)
	}
	switch {
	case len(values) == 0, slices.Contains(values, string(ACRLoA2)):
		return idp.LoA2, nil
	case slices.Contains(values, string(ACRLoA3)):
		return idp.LoA3, nil
	case essential:
		return 0, goidc.NewError(goidc.ErrorCodeInvalidRequest, fmt.Sprintf("essential acr %v cannot be met: this server offers %s and %s", values, ACRLoA2, ACRLoA3))
	}
	return idp.LoA2, nil
}

func acrFor(l idp.LoA) goidc.ACR {
	if l >= idp.LoA3 {
		return ACRLoA3
	}
	return ACRLoA2
}

func storeString(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

func newSecret() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b) // crypto/rand never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(b)
}

// policy is the brand's login-and-consent policy. It is available only
// when a ConsentGate and an identity provider are configured.
func (f *brandFlow) policy() goidc.AuthnPolicy {
	return goidc.NewPolicy(policyID, f.setup, f.authenticate)
}

func (f *brandFlow) setup(_ *http.Request, as *goidc.AuthnSession, _ *goidc.Client) bool {
	if f.s.opts.Consent == nil || f.s.opts.Identity == nil || ConsentIDOf(as.Scopes) == "" {
		return false
	}
	if as.Store == nil {
		as.Store = map[string]any{}
	}
	as.Store[keyStep] = login.StepLogin
	as.Store[keyCSRF] = newSecret()
	return true
}

// authenticate runs one interaction of the flow: it renders the current
// step's page (StatusPending), takes a posted form, or ends the flow.
func (f *brandFlow) authenticate(w http.ResponseWriter, r *http.Request, as *goidc.AuthnSession, c *goidc.Client) (goidc.Status, error) {
	step := storeString(as.Store, keyStep)
	posted := ""
	if r.Method == http.MethodPost {
		if err := r.ParseForm(); err == nil {
			posted = login.Step(r.PostForm)
		}
	}
	if posted == "" || posted != step {
		// First visit, a reload, or a stale form: show the current step.
		return f.show(w, r, as, c, http.StatusOK, "")
	}
	want := storeString(as.Store, keyCSRF)
	got := login.CSRFToken(r.PostForm)
	if want == "" || subtle.ConstantTimeCompare([]byte(want), []byte(got)) != 1 {
		return f.show(w, r, as, c, http.StatusForbidden, "A página expirou. Tente de novo. / The page expired. Please try again.")
	}
	switch step {
	case login.StepLogin:
		return f.login(w, r, as, c)
	case login.StepConsent:
		return f.consent(w, r, as, c)
	}
	return goidc.StatusFailure, goidc.NewError(goidc.ErrorCodeAccessDenied, "the authorization session is in an unknown state")
}

func (f *brandFlow) action(as *goidc.AuthnSession) string {
	return strings.TrimSuffix(f.brand.Issuer, "/") + "/authorize/" + as.ID
}

func clientName(c *goidc.Client) string {
	if c.Name != "" {
		return c.Name
	}
	return c.ID
}

// show renders the page of the current step.
func (f *brandFlow) show(w http.ResponseWriter, r *http.Request, as *goidc.AuthnSession, c *goidc.Client, status int, msg string) (goidc.Status, error) {
	if storeString(as.Store, keyStep) == login.StepConsent {
		return f.showConsent(w, r, as, c, status, msg)
	}
	minLoA, _ := strconv.Atoi(storeString(as.Store, keyMinLoA))
	return f.showLogin(w, as, c, status, login.LoginPage{NeedOTP: idp.LoA(minLoA) >= idp.LoA3, Error: msg})
}

func (f *brandFlow) showLogin(w http.ResponseWriter, as *goidc.AuthnSession, c *goidc.Client, status int, p login.LoginPage) (goidc.Status, error) {
	p.Brand, p.Action, p.CSRF, p.ClientName = f.style, f.action(as), storeString(as.Store, keyCSRF), clientName(c)
	if err := f.s.pages.Login(w, status, p); err != nil {
		f.s.opts.Logger.Error("render login page", "brand", f.brand.ID, "err", err)
	}
	return goidc.StatusPending, nil
}

func (f *brandFlow) customer(as *goidc.AuthnSession) Customer {
	return Customer{Subject: storeString(as.Store, keySubject), CPF: storeString(as.Store, keyCPF), CNPJ: storeString(as.Store, keyCNPJ)}
}

func (f *brandFlow) unavailable(w http.ResponseWriter, err error) (goidc.Status, error) {
	f.s.opts.Logger.Error("authorization flow dependency failed", "brand", f.brand.ID, "err", err)
	if rerr := f.s.pages.Error(w, http.StatusServiceUnavailable, login.ErrorPage{Brand: f.style, Code: "temporarily_unavailable",
		Message: "O serviço está indisponível no momento. Tente de novo em instantes. / The service is unavailable right now. Please try again shortly."}); rerr != nil {
		f.s.opts.Logger.Error("render error page", "err", rerr)
	}
	return goidc.StatusPending, nil
}

// pendingConsent re-reads the consent and checks the customer against it.
// A consent or customer problem ends the flow with access_denied.
// decided is false when the consent service could not answer (the page
// offers a retry instead of ending the flow).
func (f *brandFlow) pendingConsent(ctx context.Context, as *goidc.AuthnSession, c *goidc.Client, who Customer) (info ConsentInfo, decided bool, err error) {
	id := ConsentIDOf(as.Scopes)
	info, err = f.s.opts.Consent.CheckPending(ctx, c.ID, id)
	if err == nil {
		err = MatchCustomer(info, who)
	}
	if err == nil {
		return info, true, nil
	}
	if desc, ok := consentProblem(err); ok {
		return ConsentInfo{}, true, goidc.NewError(goidc.ErrorCodeAccessDenied, desc)
	}
	return ConsentInfo{}, false, fmt.Errorf("server: check consent %s: %w", id, err)
}

func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (f *brandFlow) login(w http.ResponseWriter, r *http.Request, as *goidc.AuthnSession, c *goidc.Client) (goidc.Status, error) {
	ctx := r.Context()
	minLoA, _ := strconv.Atoi(storeString(as.Store, keyMinLoA))
	page := login.LoginPage{NeedOTP: idp.LoA(minLoA) >= idp.LoA3}
	form, err := login.ParseLogin(r.PostForm)
	if err != nil {
		var fe *login.FormError
		page.Error = "Verifique os dados. / Check the form."
		if errors.As(err, &fe) {
			page.Error = fe.Message
		}
		page.CPF, page.CNPJ = idp.NormaliseDocument(r.PostForm.Get(login.FieldCPF)), idp.NormaliseDocument(r.PostForm.Get(login.FieldCNPJ))
		return f.showLogin(w, as, c, http.StatusBadRequest, page)
	}
	page.CPF, page.CNPJ = form.CPF, form.CNPJ
	addr := f.s.opts.ClientAddr(r)
	ok, wait, err := f.s.limiter.Allow(ctx, form.CPF, addr)
	if err != nil {
		return f.unavailable(w, fmt.Errorf("login limiter: %w", err))
	}
	if !ok {
		if err := f.s.pages.Error(w, http.StatusTooManyRequests, login.ErrorPage{Brand: f.style, Code: "too_many_attempts", RetryAfter: wait,
			Message: "Muitas tentativas de acesso. Aguarde alguns minutos. / Too many sign-in attempts. Please wait a few minutes."}); err != nil {
			f.s.opts.Logger.Error("render error page", "err", err)
		}
		return goidc.StatusPending, nil
	}
	who, err := f.s.opts.Identity.Authenticate(ctx, form.Credentials(), idp.LoA(minLoA))
	switch {
	case errors.Is(err, idp.ErrSecondFactorRequired):
		page.NeedOTP = true
		page.Error = "Informe o código de segurança. / Enter your security code."
		return f.showLogin(w, as, c, http.StatusUnauthorized, page)
	case errors.Is(err, idp.ErrInvalidCredentials):
		if err := f.s.limiter.Failure(ctx, form.CPF, addr); err != nil {
			f.s.opts.Logger.Error("login limiter: failure not recorded", "brand", f.brand.ID, "err", err)
		}
		page.Error = "CPF, CNPJ, senha ou código incorretos. / Wrong CPF, CNPJ, password or code."
		return f.showLogin(w, as, c, http.StatusUnauthorized, page)
	case err != nil:
		return f.unavailable(w, err)
	}
	if err := f.s.limiter.Success(ctx, form.CPF); err != nil {
		f.s.opts.Logger.Warn("login limiter: success not recorded", "brand", f.brand.ID, "err", err)
	}
	customer := Customer{Subject: who.Subject, CPF: who.CPF, CNPJ: who.CNPJ}
	if _, decided, err := f.pendingConsent(ctx, as, c, customer); err != nil {
		if !decided {
			return f.unavailable(w, err)
		}
		return goidc.StatusFailure, err
	}
	as.Subject = who.Subject
	as.Store[keySubject] = who.Subject
	as.Store[keyCPF] = who.CPF
	as.Store[keyCNPJ] = who.CNPJ
	as.Store[keyName] = who.Name
	as.Store[keyACR] = string(acrFor(who.LoA))
	as.Store[keyAuthTime] = strconv.FormatInt(time.Now().Unix(), 10)
	as.Store[keyStep] = login.StepConsent
	as.Store[keyCSRF] = newSecret()
	// Post/redirect/get: a reload of the consent page never re-posts the password.
	http.Redirect(w, r, f.action(as), http.StatusSeeOther)
	return goidc.StatusPending, nil
}

// choosable lists the resources the customer may choose for the consent:
// theirs of the types its permissions need (shareable), narrowed by the
// consent gate when it is a ResourceNarrower.
func (f *brandFlow) choosable(ctx context.Context, as *goidc.AuthnSession, info ConsentInfo) ([]idp.Account, bool, error) {
	accounts, need, err := f.shareable(ctx, as, info.Permissions)
	if err != nil || len(accounts) == 0 {
		return accounts, need, err
	}
	n, ok := f.s.opts.Consent.(ResourceNarrower)
	if !ok {
		return accounts, need, nil
	}
	ids := make([]string, len(accounts))
	for i, a := range accounts {
		ids[i] = a.ID
	}
	keep, err := n.Choosable(ctx, info.ID, f.customer(as), ids)
	if err != nil {
		return nil, need, err
	}
	return slices.DeleteFunc(accounts, func(a idp.Account) bool { return !slices.Contains(keep, a.ID) }), need, nil
}

// shareable lists the customer's resources of the types the permissions need.
func (f *brandFlow) shareable(ctx context.Context, as *goidc.AuthnSession, perms []string) ([]idp.Account, bool, error) {
	types := login.ResourceTypes(perms)
	if len(types) == 0 || f.s.accounts == nil {
		return nil, len(types) > 0, nil
	}
	all, err := f.s.accounts.Accounts(ctx, idp.Identity{Subject: storeString(as.Store, keySubject),
		CPF: storeString(as.Store, keyCPF), CNPJ: storeString(as.Store, keyCNPJ), Name: storeString(as.Store, keyName)})
	if err != nil {
		return nil, true, err
	}
	var out []idp.Account
	for _, a := range all {
		if slices.Contains(types, a.Type) {
			out = append(out, a)
		}
	}
	return out, true, nil
}

func (f *brandFlow) showConsent(w http.ResponseWriter, r *http.Request, as *goidc.AuthnSession, c *goidc.Client, status int, msg string) (goidc.Status, error) {
	ctx := r.Context()
	info, decided, err := f.pendingConsent(ctx, as, c, f.customer(as))
	if err != nil {
		if !decided {
			return f.unavailable(w, err)
		}
		return goidc.StatusFailure, err
	}
	accounts, need, err := f.choosable(ctx, as, info)
	if err != nil {
		return f.unavailable(w, err)
	}
	page := login.ConsentPage{Brand: f.style, Action: f.action(as), CSRF: storeString(as.Store, keyCSRF), ClientName: clientName(c),
		CustomerName: storeString(as.Store, keyName), CNPJ: storeString(as.Store, keyCNPJ),
		Groups: login.Describe(info.Permissions), NeedAccounts: need, SingleAccount: login.SingleResource(info.Permissions),
		Payment: info.Payment, Expires: info.ExpiresAt, Error: msg}
	for _, a := range accounts {
		// The one account a single choice can take is ticked already.
		checked := page.SingleAccount && len(accounts) == 1
		page.Accounts = append(page.Accounts, login.AccountChoice{ID: a.ID, Label: a.Label, Checked: checked})
	}
	if err := f.s.pages.Consent(w, status, page); err != nil {
		f.s.opts.Logger.Error("render consent page", "brand", f.brand.ID, "err", err)
	}
	return goidc.StatusPending, nil
}

func (f *brandFlow) consent(w http.ResponseWriter, r *http.Request, as *goidc.AuthnSession, c *goidc.Client) (goidc.Status, error) {
	ctx := r.Context()
	form, err := login.ParseConsent(r.PostForm)
	if err != nil {
		msg := "Verifique o formulário. / Check the form."
		var fe *login.FormError
		if errors.As(err, &fe) {
			msg = fe.Message
		}
		return f.showConsent(w, r, as, c, http.StatusBadRequest, msg)
	}
	who := f.customer(as)
	id := ConsentIDOf(as.Scopes)
	if !form.Approve {
		if err := f.s.opts.Consent.Reject(ctx, id, who); err != nil {
			// The flow ends with access_denied either way; a consent that
			// could not be rejected here expires after its 60 minutes.
			f.s.opts.Logger.Warn("reject consent refused by the customer", "brand", f.brand.ID, "consent", id, "err", err)
		}
		return goidc.StatusFailure, goidc.NewError(goidc.ErrorCodeAccessDenied, "the customer refused to authorise the consent")
	}
	info, decided, err := f.pendingConsent(ctx, as, c, who)
	if err != nil {
		if !decided {
			return f.unavailable(w, err)
		}
		return goidc.StatusFailure, err
	}
	accounts, _, err := f.choosable(ctx, as, info)
	if err != nil {
		return f.unavailable(w, err)
	}
	for _, chosen := range form.Resources {
		if !slices.ContainsFunc(accounts, func(a idp.Account) bool { return a.ID == chosen }) {
			return f.showConsent(w, r, as, c, http.StatusBadRequest, "Produto desconhecido. / Unknown product.")
		}
	}
	single := login.SingleResource(info.Permissions)
	switch {
	case single && len(form.Resources) > 1:
		return f.showConsent(w, r, as, c, http.StatusBadRequest, "Escolha uma única conta. / Choose a single account.")
	case single && len(form.Resources) == 0 && len(login.ResourceTypes(info.Permissions)) > 0:
		// Nothing to pay from (none chosen, or none the consent accepts):
		// approving could only fail when the consent is authorised.
		return f.showConsent(w, r, as, c, http.StatusBadRequest, "Escolha a conta de pagamento. / Choose the account to pay from.")
	case len(accounts) > 0 && len(form.Resources) == 0:
		return f.showConsent(w, r, as, c, http.StatusBadRequest, "Escolha ao menos um produto para compartilhar. / Choose at least one product to share.")
	}
	ap, err := json.Marshal(approval{ConsentID: id, Subject: who.Subject, CPF: who.CPF, CNPJ: who.CNPJ, Resources: form.Resources})
	if err != nil {
		return f.unavailable(w, err)
	}
	as.GrantedScopes = as.Scopes
	as.Store[keyApproval] = string(ap)
	// The consent is authorised when the grant holding the code is saved
	// (consentGrants.SaveGrant), never before.
	return goidc.StatusSuccess, nil
}

// idTokenClaims adds acr and auth_time of the login to id_tokens.
func idTokenClaims(_ context.Context, g *goidc.Grant) map[string]any {
	claims := map[string]any{}
	if acr := storeString(g.Store, keyACR); acr != "" {
		claims[goidc.ClaimACR] = acr
	}
	if at, err := strconv.ParseInt(storeString(g.Store, keyAuthTime), 10, 64); err == nil {
		claims[goidc.ClaimAuthTime] = at
	}
	return claims
}

// handleGrant refuses consent scopes outside the authorization code flow:
// a client_credentials token never stands for a customer's consent.
func handleGrant(_ context.Context, gt goidc.GrantType, g *goidc.Grant) error {
	if gt == goidc.GrantClientCredentials {
		for _, sc := range strings.Fields(g.Scopes) {
			for _, d := range DynamicScopes {
				if strings.HasPrefix(sc, d+":") {
					return goidc.NewError(goidc.ErrorCodeInvalidScope, fmt.Sprintf("scope %q is only granted through the authorization code flow", sc))
				}
			}
		}
	}
	return nil
}

// handleToken refuses to issue an access token for a consent that is not
// AUTHORISED (code exchange and refresh).
func (s *Server) handleToken(ctx context.Context, _ *goidc.Token, g *goidc.Grant) error {
	id := ConsentIDOf(g.Scopes)
	if id == "" {
		return nil
	}
	if s.opts.Consent == nil {
		return goidc.NewError(goidc.ErrorCodeInvalidGrant, "no consent service is configured")
	}
	ok, err := s.opts.Consent.Authorised(ctx, id)
	if err != nil {
		return fmt.Errorf("server: consent %s status: %w", id, err)
	}
	if !ok {
		return goidc.NewError(goidc.ErrorCodeInvalidGrant, "the consent of this grant is not AUTHORISED")
	}
	return nil
}

// renderError shows authorization endpoint errors that cannot go back to
// the client (unknown client, bad request_uri, ...) as a branded page.
func (f *brandFlow) renderError(w http.ResponseWriter, _ *http.Request, err error) error {
	status, code, msg := http.StatusInternalServerError, "server_error", "Ocorreu um erro. / Something went wrong."
	var oe goidc.Error
	if errors.As(err, &oe) {
		status, code = oe.StatusCode(), string(oe.Code)
		msg = "O pedido de autorização é inválido: " + oe.Description + " / The authorization request is invalid."
	} else {
		f.s.opts.Logger.Error("authorization flow failed", "brand", f.brand.ID, "err", err)
	}
	return f.s.pages.Error(w, status, login.ErrorPage{Brand: f.style, Code: code, Message: msg})
}
