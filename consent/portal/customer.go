package portal

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ofp-dev/ofp/consent"
	"github.com/ofp-dev/ofp/consent/consentsql"
	"github.com/ofp-dev/ofp/internal/rbac"
)

// login serves GET and POST /portal/login (outside the guard).
func (p *Portal) login(w http.ResponseWriter, r *http.Request) {
	base := page{Title: "Entrar", Heading: "Meus consentimentos"}
	type form struct{ Document string }
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		if _, ok := p.sessions.read(r); ok {
			http.Redirect(w, r, PortalPrefix, http.StatusSeeOther)
			return
		}
		base.Data = form{}
		p.render(w, r, http.StatusOK, "login", base)
	case http.MethodPost:
		r.Body = http.MaxBytesReader(w, r.Body, 4096)
		if err := r.ParseForm(); err != nil {
			base.Error, base.Data = "Não foi possível ler o formulário.", form{}
			p.render(w, r, http.StatusBadRequest, "login", base)
			return
		}
		doc := digits(r.PostFormValue("document"))
		pass := r.PostFormValue("password")
		got, err := p.o.Customers.AuthenticateCustomer(r.Context(), doc, pass)
		if err == nil && got == "" {
			err = ErrBadCustomerCredentials
		}
		switch {
		case errors.Is(err, ErrBadCustomerCredentials):
			// Neither the document nor the password is logged.
			p.o.Logger.Warn("portal: customer login refused", "remote", r.RemoteAddr, "reason", "invalid credentials")
			base.Error, base.Data = "CPF/CNPJ ou senha inválidos.", form{Document: doc}
			p.render(w, r, http.StatusUnauthorized, "login", base)
			return
		case err != nil:
			p.o.Logger.Error("portal: customer authenticator failed", "err", err)
			base.Error, base.Data = "O login está indisponível no momento. Tente de novo em instantes.", form{Document: doc}
			p.render(w, r, http.StatusServiceUnavailable, "login", base)
			return
		}
		if err := p.sessions.issue(w, got); err != nil {
			p.o.Logger.Error("portal: issue session", "err", err)
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		http.Redirect(w, r, PortalPrefix, http.StatusSeeOther)
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

func digits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// customerRoutes serves everything under /portal/ for a logged-in customer.
func (p *Portal) customerRoutes(w http.ResponseWriter, r *http.Request) {
	prin, _ := rbac.PrincipalFrom(r.Context())
	base := page{Title: "Meus consentimentos", Heading: "Meus consentimentos", Who: "Cliente " + prin.CustomerDocument,
		LogoutCSRF: p.sessions.csrf(r)}
	path := r.URL.Path
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
		if err := r.ParseForm(); err != nil || !p.sessions.checkCSRF(r) {
			p.customers.Deny(r, rbac.RoleCustomer, "missing or wrong CSRF token")
			p.message(w, r, http.StatusForbidden, base, "Pedido recusado", "O formulário expirou. Volte e tente de novo.", PortalPrefix)
			return
		}
	}
	switch {
	case path == PortalPrefix && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		p.home(w, r, base, prin.CustomerDocument)
	case path == PortalPrefix+"logout" && r.Method == http.MethodPost:
		p.sessions.clear(w)
		http.Redirect(w, r, LoginPath, http.StatusSeeOther)
	case strings.HasPrefix(path, PortalPrefix+"consents/"):
		id, action, ok := splitAction(strings.TrimPrefix(path, PortalPrefix+"consents/"))
		if !ok {
			p.message(w, r, http.StatusNotFound, base, "Página não encontrada", "Esta página não existe.", PortalPrefix)
			return
		}
		p.customerConsent(w, r, base, prin.CustomerDocument, id, action)
	case strings.HasPrefix(path, PortalPrefix+"payments/"):
		p.customerPayment(w, r, base, prin.CustomerDocument, strings.TrimPrefix(path, PortalPrefix+"payments/"))
	case strings.HasPrefix(path, PortalPrefix+"purposes/"):
		id, action, ok := splitAction(strings.TrimPrefix(path, PortalPrefix+"purposes/"))
		if !ok {
			p.message(w, r, http.StatusNotFound, base, "Página não encontrada", "Esta página não existe.", PortalPrefix)
			return
		}
		p.customerPurpose(w, r, base, prin.CustomerDocument, id, action)
	default:
		p.message(w, r, http.StatusNotFound, base, "Página não encontrada", "Esta página não existe.", PortalPrefix)
	}
}

// splitAction splits "<id>/revoke" or "<id>/renew".
func splitAction(rest string) (id, action string, ok bool) {
	for _, a := range []string{"revoke", "renew"} {
		if id, found := strings.CutSuffix(rest, "/"+a); found && consent.ValidID(id) {
			return id, a, true
		}
	}
	return "", "", false
}

type homeData struct {
	Held, Received []consentView
	Purposes       []purposeView
	// Payments are the Pix payments still to be made; ShowPayments is
	// false when the portal has no Payments.
	Payments     []paymentView
	ShowPayments bool
}

func (p *Portal) home(w http.ResponseWriter, r *http.Request, base page, doc string) {
	all, err := p.o.Store.CustomerConsents(r.Context(), doc)
	if err != nil {
		p.o.Logger.Error("portal: customer consents", "err", err)
		p.message(w, r, http.StatusInternalServerError, base, "Indisponível", "Não foi possível carregar seus consentimentos agora.", PortalPrefix)
		return
	}
	var d homeData
	for _, c := range all.Consents {
		v := p.consentView(r.Context(), c)
		if c.Consent.Role == consent.RoleReceiver {
			d.Received = append(d.Received, v)
		} else {
			d.Held = append(d.Held, v)
		}
	}
	for _, pc := range all.Purposes {
		d.Purposes = append(d.Purposes, p.purposeView(r.Context(), pc))
	}
	d.ShowPayments = p.o.Payments != nil
	if d.Payments, err = p.pendingPayments(r.Context(), doc); err != nil {
		// The consents still show; the section says payments are unavailable.
		p.o.Logger.Error("portal: customer payments", "err", err)
		d.Payments, d.ShowPayments = nil, false
		base.Error = "Seus pagamentos agendados não puderam ser carregados agora."
	}
	base.Flash = flashes[r.URL.Query().Get("msg")]
	base.Data = d
	p.render(w, r, http.StatusOK, "home", base)
}

// ownConsent loads a regulated consent of the logged-in customer: 404
// when it does not exist, 403 (logged) when it is someone else's.
func (p *Portal) ownConsent(w http.ResponseWriter, r *http.Request, base page, doc, id string) (consent.Consent, bool) {
	c, err := p.o.Store.Get(r.Context(), id)
	switch {
	case errors.Is(err, consent.ErrNotFound):
		p.message(w, r, http.StatusNotFound, base, "Não encontrado", "Esse consentimento não existe.", PortalPrefix)
		return c, false
	case err != nil:
		p.o.Logger.Error("portal: read consent", "consent_id", id, "err", err)
		p.message(w, r, http.StatusInternalServerError, base, "Indisponível", "Tente de novo em instantes.", PortalPrefix)
		return c, false
	case !c.Customer(doc):
		p.customers.Deny(r, rbac.RoleCustomer, "another customer's consent")
		p.message(w, r, http.StatusForbidden, base, "Acesso negado", "Esse consentimento não é seu.", PortalPrefix)
		return c, false
	}
	return c, true
}

func (p *Portal) ownPurpose(w http.ResponseWriter, r *http.Request, base page, doc, id string) (consent.PurposeConsent, bool) {
	pc, err := p.o.Store.GetPurpose(r.Context(), id)
	switch {
	case errors.Is(err, consent.ErrNotFound):
		p.message(w, r, http.StatusNotFound, base, "Não encontrado", "Esse consentimento não existe.", PortalPrefix)
		return pc, false
	case err != nil:
		p.o.Logger.Error("portal: read purpose consent", "consent_id", id, "err", err)
		p.message(w, r, http.StatusInternalServerError, base, "Indisponível", "Tente de novo em instantes.", PortalPrefix)
		return pc, false
	case pc.Customer.Identification != doc:
		p.customers.Deny(r, rbac.RoleCustomer, "another customer's purpose consent")
		p.message(w, r, http.StatusForbidden, base, "Acesso negado", "Esse consentimento não é seu.", PortalPrefix)
		return pc, false
	}
	return pc, true
}

func customerActor(r *http.Request, doc, reason string) consent.AuditActor {
	return consent.AuditActor{Who: "user:" + doc, InteractionID: uuid.NewString(), Reason: reason}
}

func (p *Portal) purposeName(r *http.Request, id string) string {
	if pur, err := p.o.Purposes.Get(r.Context(), id); err == nil {
		return pur.Name.PtBR
	}
	return id
}

func (p *Portal) customerConsent(w http.ResponseWriter, r *http.Request, base page, doc, id, action string) {
	c, ok := p.ownConsent(w, r, base, doc, id)
	if !ok {
		return
	}
	who := p.counterparty(r.Context(), c)
	subject := "Compartilhamento de dados com " + who + " (" + statusText(c) + ", " + lowerFirst(fmtExpiry(c.ExpirationDateTime)) + ")."
	back := PortalPrefix
	if c.Status == consent.StatusRejected {
		http.Redirect(w, r, PortalPrefix+"?msg=already", http.StatusSeeOther)
		return
	}
	switch action {
	case "revoke":
		if r.Method == http.MethodPost {
			opts := consentsql.LinkedOptions{AlsoRevoke: r.PostForm["also"]}
			_, _, err := p.revokeConsent(r.Context(), c, KindCustomerRequest, customerActor(r, doc, "revoked by the customer in the portal"), opts)
			p.afterChange(w, r, base, err, "revoked")
			return
		}
		conf := confirmation{Question: "Revogar este compartilhamento?", Subject: subject, Action: r.URL.Path,
			CSRF: p.sessions.csrf(r), Button: "Sim, revogar", ButtonClass: "danger", Back: back}
		if c.Role == consent.RoleReceiver {
			conf.Notes = append(conf.Notes, "Vamos pedir a "+who+" que pare de nos enviar seus dados e apagar o que dependia dessa autorização.")
		} else {
			conf.Notes = append(conf.Notes, who+" deixará de receber seus dados imediatamente.")
		}
		linked, err := p.o.Store.LinkedPurposes(r.Context(), c.ID)
		if err != nil {
			p.o.Logger.Error("portal: linked purposes", "consent_id", c.ID, "err", err)
		}
		for _, pc := range linked {
			if pc.Status != consent.PurposeActive {
				continue
			}
			name := p.purposeName(r, pc.PurposeID)
			switch pc.RevocationRule {
			case consent.LinkRevoke:
				conf.Notes = append(conf.Notes, "O uso “"+name+"” ligado a ele também será revogado.")
			case consent.LinkKeep:
				conf.Notes = append(conf.Notes, "O uso “"+name+"” ligado a ele continuará ativo.")
			case consent.LinkAsk:
				conf.Choices = append(conf.Choices, choice{Name: "also", Value: pc.ID, Label: "Revogar também o uso “" + name + "”"})
			}
		}
		base.Data = conf
		p.render(w, r, http.StatusOK, "confirm", base)
	case "renew":
		if c.Role != consent.RoleHolder || c.Status != consent.StatusAuthorised {
			p.message(w, r, http.StatusConflict, base, "Não é possível renovar aqui",
				"Só compartilhamentos ativos feitos a partir desta instituição podem ser renovados aqui; os demais se renovam na instituição que os guarda.", back)
			return
		}
		if r.Method == http.MethodPost {
			exp, ok := durationChoice(r.PostFormValue("duration"), p.o.Now(), nil)
			if !ok {
				p.message(w, r, http.StatusBadRequest, base, "Validade inválida", "Escolha uma das opções de validade.", back)
				return
			}
			ext := consent.Extension{ExpirationDateTime: exp, LoggedUser: c.LoggedUser, BusinessEntity: c.BusinessEntity,
				CustomerIPAddress: remoteIP(r), CustomerUserAgent: or(r.UserAgent(), "unknown")}
			_, _, err := p.o.Store.Extend(r.Context(), c.ID, ext, customerActor(r, doc, "renewed by the customer in the portal"))
			p.afterChange(w, r, base, err, "renewed")
			return
		}
		base.Data = confirmation{Question: "Renovar este compartilhamento?", Subject: subject, Action: r.URL.Path,
			CSRF: p.sessions.csrf(r), Button: "Sim, renovar", Back: back, Durations: durationOptions(nil),
			Notes: []string{who + " continuará recebendo os mesmos dados pela nova validade."}}
		p.render(w, r, http.StatusOK, "confirm", base)
	}
}

func (p *Portal) customerPurpose(w http.ResponseWriter, r *http.Request, base page, doc, id, action string) {
	pc, ok := p.ownPurpose(w, r, base, doc, id)
	if !ok {
		return
	}
	if pc.Status != consent.PurposeActive {
		http.Redirect(w, r, PortalPrefix+"?msg=already", http.StatusSeeOther)
		return
	}
	name := p.purposeName(r, pc.PurposeID)
	subject := "Uso dos seus dados: “" + name + "” (" + lowerFirst(fmtExpiry(pc.ExpiresAt)) + ")."
	back := PortalPrefix
	switch action {
	case "revoke":
		if r.Method == http.MethodPost {
			opts := consentsql.LinkedOptions{RevokeLinkedConsent: r.PostFormValue("linked") == "yes"}
			_, _, err := p.revokePurpose(r.Context(), pc.ID, customerActor(r, doc, "revoked by the customer in the portal"), opts)
			p.afterChange(w, r, base, err, "purpose-revoked")
			return
		}
		conf := confirmation{Question: "Revogar este uso dos seus dados?", Subject: subject, Action: r.URL.Path,
			CSRF: p.sessions.csrf(r), Button: "Sim, revogar", ButtonClass: "danger", Back: back}
		if pc.PartnerID != "" {
			conf.Notes = append(conf.Notes, "O parceiro "+pc.PartnerID+" deixará de ter acesso aos seus dados imediatamente.")
		}
		if pc.LinkedConsentID != "" {
			if lc, err := p.o.Store.Get(r.Context(), pc.LinkedConsentID); err == nil && lc.Status != consent.StatusRejected {
				what := "o compartilhamento com " + p.counterparty(r.Context(), lc)
				switch pc.RevocationRule {
				case consent.LinkRevoke:
					conf.Notes = append(conf.Notes, "Pela regra deste uso, "+what+" também será revogado.")
				case consent.LinkKeep:
					conf.Notes = append(conf.Notes, what+" continuará ativo.")
				case consent.LinkAsk:
					conf.Choices = append(conf.Choices, choice{Name: "linked", Value: "yes", Label: "Revogar também " + what})
				}
			}
		}
		base.Data = conf
		p.render(w, r, http.StatusOK, "confirm", base)
	case "renew":
		pur, err := p.o.Purposes.Get(r.Context(), pc.PurposeID)
		var max *int
		if err == nil {
			max = pur.MaxDurationDays
		}
		if r.Method == http.MethodPost {
			exp, ok := durationChoice(r.PostFormValue("duration"), p.o.Now(), max)
			if !ok {
				p.message(w, r, http.StatusBadRequest, base, "Validade inválida", "Escolha uma das opções de validade.", back)
				return
			}
			_, err := p.o.Store.RenewPurpose(r.Context(), pc.ID, exp, customerActor(r, doc, "renewed by the customer in the portal"))
			p.afterChange(w, r, base, err, "renewed")
			return
		}
		base.Data = confirmation{Question: "Renovar este uso dos seus dados?", Subject: subject, Action: r.URL.Path,
			CSRF: p.sessions.csrf(r), Button: "Sim, renovar", Back: back, Durations: durationOptions(max)}
		p.render(w, r, http.StatusOK, "confirm", base)
	}
}

// afterChange answers a state change: back home with a flash on success,
// a plain message when someone else moved the consent first.
func (p *Portal) afterChange(w http.ResponseWriter, r *http.Request, base page, err error, done string) {
	var (
		ite *consent.IllegalTransitionError
		pte *consent.PurposeTransitionError
		pre *consent.PreconditionError
	)
	switch {
	case err == nil:
		http.Redirect(w, r, PortalPrefix+"?msg="+done, http.StatusSeeOther)
	case errors.As(err, &ite), errors.As(err, &pte):
		http.Redirect(w, r, PortalPrefix+"?msg=already", http.StatusSeeOther)
	case errors.As(err, &pre):
		p.message(w, r, http.StatusConflict, base, "Não foi possível", "A autorização já chegou ao fim da validade.", PortalPrefix)
	default:
		p.o.Logger.Error("portal: change consent", "path", r.URL.Path, "err", err)
		p.message(w, r, http.StatusInternalServerError, base, "Indisponível", "Não foi possível concluir agora. Tente de novo em instantes.", PortalPrefix)
	}
}

var renewDays = []int{90, 180, 365}

// durationOptions lists the renewal choices within max days (nil: no
// maximum, so open-ended is offered too).
func durationOptions(max *int) []option {
	var out []option
	for _, d := range renewDays {
		if max == nil || d <= *max {
			out = append(out, option{Value: strconv.Itoa(d), Label: fmt.Sprintf("%d dias", d)})
		}
	}
	if max != nil && (len(out) == 0 || *max > renewDays[len(renewDays)-1]) {
		out = append(out, option{Value: strconv.Itoa(*max), Label: fmt.Sprintf("%d dias (o máximo)", *max)})
	}
	if max == nil {
		out = append(out, option{Value: "open", Label: "Sem prazo de validade"})
	}
	return out
}

// durationChoice turns a posted choice into an expiry (nil = open-ended).
func durationChoice(v string, now time.Time, max *int) (*time.Time, bool) {
	for _, o := range durationOptions(max) {
		if o.Value != v {
			continue
		}
		if v == "open" {
			return nil, true
		}
		days, _ := strconv.Atoi(v)
		t := now.UTC().Add(time.Duration(days) * 24 * time.Hour).Truncate(time.Second)
		return &t, true
	}
	return nil, false
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return or(r.RemoteAddr, "unknown")
	}
	return host
}
