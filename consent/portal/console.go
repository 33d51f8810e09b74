package portal

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ofp-dev/ofp/consent"
	"github.com/ofp-dev/ofp/consent/consentsql"
	"github.com/ofp-dev/ofp/internal/rbac"
)

// consoleCSRF is the form token of an operator: the console authenticates
// with HTTP Basic, which a browser also sends on a cross-site form post,
// so every POST must carry this token that only our pages hold.
func (p *Portal) consoleCSRF(user string) string {
	m := hmac.New(sha256.New, p.sessions.key)
	m.Write([]byte("console-csrf:" + user))
	return hex.EncodeToString(m.Sum(nil))
}

const consoleHeading = "Console de consentimentos"

func (p *Portal) consoleRoutes(w http.ResponseWriter, r *http.Request) {
	prin, _ := rbac.PrincipalFrom(r.Context())
	base := page{Title: consoleHeading, Heading: consoleHeading, Who: prin.Username}
	path := r.URL.Path
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
		if err := r.ParseForm(); err != nil || !hmac.Equal([]byte(r.PostFormValue("csrf")), []byte(p.consoleCSRF(prin.Username))) {
			p.staff.Deny(r, rbac.RoleOperator, "missing or wrong CSRF token")
			p.message(w, r, http.StatusForbidden, base, "Pedido recusado", "O formulário não veio desta console.", ConsolePrefix)
			return
		}
	}
	switch {
	case path == ConsolePrefix && r.Method != http.MethodPost:
		p.consoleSearch(w, r, base)
	case strings.HasPrefix(path, ConsolePrefix+"consents/"):
		rest := strings.TrimPrefix(path, ConsolePrefix+"consents/")
		if id, ok := strings.CutSuffix(rest, "/revoke"); ok && consent.ValidID(id) {
			p.consoleRevoke(w, r, base, prin, id)
			return
		}
		if consent.ValidID(rest) && r.Method != http.MethodPost {
			p.consoleConsent(w, r, base, prin, rest)
			return
		}
		p.message(w, r, http.StatusNotFound, base, "Não encontrado", "Esta página não existe.", ConsolePrefix)
	case strings.HasPrefix(path, ConsolePrefix+"customers/") && strings.Contains(path, "/payments/"):
		doc, rest, _ := strings.Cut(strings.TrimPrefix(path, ConsolePrefix+"customers/"), "/payments/")
		id, ok := strings.CutSuffix(rest, "/cancel")
		if !ok || doc != digits(doc) || doc == "" {
			p.message(w, r, http.StatusNotFound, base, "Não encontrado", "Esta página não existe.", ConsolePrefix)
			return
		}
		p.consolePayment(w, r, base, prin, doc, id)
	case strings.HasPrefix(path, ConsolePrefix+"customers/") && r.Method != http.MethodPost:
		p.consoleCustomer(w, r, base, prin, strings.TrimPrefix(path, ConsolePrefix+"customers/"))
	case strings.HasPrefix(path, ConsolePrefix+"purposes/"):
		id, ok := strings.CutSuffix(strings.TrimPrefix(path, ConsolePrefix+"purposes/"), "/revoke")
		if !ok || !consent.ValidID(id) {
			p.message(w, r, http.StatusNotFound, base, "Não encontrado", "Esta página não existe.", ConsolePrefix)
			return
		}
		p.consolePurposeRevoke(w, r, base, prin, id)
	default:
		p.message(w, r, http.StatusNotFound, base, "Não encontrado", "Esta página não existe.", ConsolePrefix)
	}
}

type searchForm struct{ Document, Client, Status, Role, From, To string }

type searchRow struct{ ID, Role, Customer, Counterparty, Status, Created, Expiry string }

type searchData struct {
	F                  searchForm
	Statuses           []consent.Status
	Rows               []searchRow
	Total, Page, Pages int
	Prev, Next         string
}

// parseFilter reads the search parameters shared by the console and the
// admin API; dates are YYYY-MM-DD (UTC), "to" inclusive.
func parseFilter(q url.Values, docKey, clientKey string) (consentsql.Filter, searchForm, error) {
	f := searchForm{Document: digits(q.Get(docKey)), Client: strings.TrimSpace(q.Get(clientKey)), Status: q.Get("status"),
		Role: q.Get("role"), From: q.Get("from"), To: q.Get("to")}
	flt := consentsql.Filter{Document: f.Document, ClientID: f.Client}
	if f.Status != "" {
		st := consent.Status(f.Status)
		if !st.Valid() {
			return flt, f, errors.New("status must be AWAITING_AUTHORISATION, AUTHORISED or REJECTED")
		}
		flt.Status = st
	}
	if f.Role != "" {
		role := consent.Role(f.Role)
		if !role.Valid() {
			return flt, f, errors.New("role must be HOLDER or RECEIVER")
		}
		flt.Role = role
	}
	if f.From != "" {
		t, err := time.Parse(time.DateOnly, f.From)
		if err != nil {
			return flt, f, errors.New("from must be a date YYYY-MM-DD")
		}
		flt.CreatedFrom = t
	}
	if f.To != "" {
		t, err := time.Parse(time.DateOnly, f.To)
		if err != nil {
			return flt, f, errors.New("to must be a date YYYY-MM-DD")
		}
		flt.CreatedTo = t.Add(24 * time.Hour)
	}
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1_000_000 {
			return flt, f, errors.New("page must be a positive integer")
		}
		flt.Page = n
	}
	if v := q.Get("page-size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return flt, f, errors.New("page-size must be 1 to 1000")
		}
		flt.PageSize = n
	}
	return flt, f, nil
}

func (p *Portal) consoleSearch(w http.ResponseWriter, r *http.Request, base page) {
	q := r.URL.Query()
	flt, form, err := parseFilter(q, "document", "client")
	d := searchData{F: form, Statuses: consent.Statuses}
	if err != nil {
		base.Error, base.Data = "Filtro inválido: "+err.Error(), d
		p.render(w, r, http.StatusBadRequest, "console", base)
		return
	}
	res, err := p.o.Store.Search(r.Context(), flt)
	if err != nil {
		p.o.Logger.Error("portal: console search", "err", err)
		p.message(w, r, http.StatusInternalServerError, base, "Indisponível", "A busca falhou; tente de novo.", ConsolePrefix)
		return
	}
	d.Total, d.Page, d.Pages = res.TotalRecords, res.Page, res.TotalPages
	for _, c := range res.Consents {
		d.Rows = append(d.Rows, searchRow{ID: c.ID, Role: string(c.Role), Customer: c.LoggedUser.Document.Identification,
			Counterparty: p.counterparty(r.Context(), c), Status: string(c.Status), Created: fmtDate(c.CreationDateTime),
			Expiry: fmtExpiry(c.ExpirationDateTime)})
	}
	pageURL := func(n int) string {
		v := url.Values{}
		for k, vs := range q {
			v[k] = vs
		}
		v.Set("page", strconv.Itoa(n))
		return ConsolePrefix + "?" + v.Encode()
	}
	if res.Page > 1 {
		d.Prev = pageURL(res.Page - 1)
	}
	if res.Page < res.TotalPages {
		d.Next = pageURL(res.Page + 1)
	}
	base.Data = d
	p.render(w, r, http.StatusOK, "console", base)
}

func (p *Portal) loadRecord(r *http.Request, id string) (consentsql.ConsentRecord, error) {
	ctx := r.Context()
	c, err := p.o.Store.Get(ctx, id)
	if err != nil {
		return consentsql.ConsentRecord{}, err
	}
	rec := consentsql.ConsentRecord{Consent: c}
	if rec.History, err = p.o.Store.History(ctx, id); err != nil {
		return rec, err
	}
	if rec.Extensions, err = p.o.Store.Extensions(ctx, id); err != nil {
		return rec, err
	}
	if rec.Resources, err = p.o.Store.Resources(ctx, id); err != nil {
		return rec, err
	}
	linked, err := p.o.Store.LinkedPurposes(ctx, id)
	if err != nil {
		return rec, err
	}
	for _, l := range linked {
		rec.Linked = append(rec.Linked, l.ID)
	}
	return rec, nil
}

type consoleConsentData struct {
	C        consentView
	Operator bool
}

func (p *Portal) consoleConsent(w http.ResponseWriter, r *http.Request, base page, prin rbac.Principal, id string) {
	rec, err := p.loadRecord(r, id)
	if errors.Is(err, consent.ErrNotFound) {
		p.message(w, r, http.StatusNotFound, base, "Não encontrado", "Esse consentimento não existe.", ConsolePrefix)
		return
	}
	if err != nil {
		p.o.Logger.Error("portal: console consent", "consent_id", id, "err", err)
		p.message(w, r, http.StatusInternalServerError, base, "Indisponível", "Tente de novo.", ConsolePrefix)
		return
	}
	base.Flash = flashes[r.URL.Query().Get("msg")]
	base.Data = consoleConsentData{C: p.consentView(r.Context(), rec), Operator: prin.Has(rbac.RoleOperator)}
	p.render(w, r, http.StatusOK, "consoleConsent", base)
}

func operatorActor(prin rbac.Principal, kind RevokeKind, reason string) consent.AuditActor {
	return consent.AuditActor{Who: "operator:" + prin.Username, InteractionID: uuid.NewString(), Reason: string(kind) + ": " + reason}
}

// revokeReason reads and checks the operator's reason (kind + text).
func revokeReason(r *http.Request) (RevokeKind, string, bool) {
	kind := RevokeKind(r.PostFormValue("kind"))
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	if (kind != KindCustomerRequest && kind != KindSecurity) || reason == "" || len(reason) > 500 {
		return "", "", false
	}
	return kind, reason, true
}

func (p *Portal) consoleRevoke(w http.ResponseWriter, r *http.Request, base page, prin rbac.Principal, id string) {
	back := ConsolePrefix + "consents/" + id
	c, err := p.o.Store.Get(r.Context(), id)
	if errors.Is(err, consent.ErrNotFound) {
		p.message(w, r, http.StatusNotFound, base, "Não encontrado", "Esse consentimento não existe.", ConsolePrefix)
		return
	}
	if err != nil {
		p.o.Logger.Error("portal: console revoke", "consent_id", id, "err", err)
		p.message(w, r, http.StatusInternalServerError, base, "Indisponível", "Tente de novo.", back)
		return
	}
	if r.Method == http.MethodPost {
		kind, reason, ok := revokeReason(r)
		if !ok {
			p.message(w, r, http.StatusBadRequest, base, "Motivo obrigatório", "Escolha o tipo e descreva o motivo (até 500 caracteres).", back+"/revoke")
			return
		}
		_, _, err := p.revokeConsent(r.Context(), c, kind, operatorActor(prin, kind, reason), consentsql.LinkedOptions{})
		var ite *consent.IllegalTransitionError
		switch {
		case err == nil:
			p.o.Logger.Info("portal: consent revoked by an operator", "consent_id", id, "operator", prin.Username, "kind", kind)
			http.Redirect(w, r, back+"?msg=revoked", http.StatusSeeOther)
		case errors.As(err, &ite):
			http.Redirect(w, r, back+"?msg=already", http.StatusSeeOther)
		default:
			p.o.Logger.Error("portal: console revoke", "consent_id", id, "err", err)
			p.message(w, r, http.StatusInternalServerError, base, "Indisponível", "A revogação falhou; tente de novo.", back)
		}
		return
	}
	if c.Status == consent.StatusRejected {
		http.Redirect(w, r, back+"?msg=already", http.StatusSeeOther)
		return
	}
	base.Data = confirmation{Question: "Revogar o consentimento " + c.ID + "?",
		Subject: "Cliente " + c.LoggedUser.Document.Identification + " · " + string(c.Role) + " · " + p.counterparty(r.Context(), c) + " · " + statusText(c),
		Notes:   []string{"Consentimentos LGPD ligados com regra REVOKE_LINKED serão revogados junto; os tokens do consentimento serão revogados."},
		Action:  r.URL.Path, CSRF: p.consoleCSRF(prin.Username), Button: "Revogar", ButtonClass: "danger", Back: back, AskReason: true}
	p.render(w, r, http.StatusOK, "confirm", base)
}

type consoleCustomerData struct {
	Consents []consentView
	Purposes []purposeView
	Operator bool
	// Payments are the customer's Pix payments still to be made;
	// ShowPayments is false without Options.Payments.
	Payments     []paymentView
	ShowPayments bool
	Doc          string
}

func (p *Portal) consoleCustomer(w http.ResponseWriter, r *http.Request, base page, prin rbac.Principal, doc string) {
	doc = digits(doc)
	all, err := p.o.Store.CustomerConsents(r.Context(), doc)
	if err != nil {
		p.o.Logger.Error("portal: console customer", "err", err)
		p.message(w, r, http.StatusInternalServerError, base, "Indisponível", "Tente de novo.", ConsolePrefix)
		return
	}
	d := consoleCustomerData{Operator: prin.Has(rbac.RoleOperator)}
	for _, c := range all.Consents {
		d.Consents = append(d.Consents, p.consentView(r.Context(), c))
	}
	for _, pc := range all.Purposes {
		d.Purposes = append(d.Purposes, p.purposeView(r.Context(), pc))
	}
	d.Doc, d.ShowPayments = doc, p.o.Payments != nil
	if d.Payments, err = p.pendingPayments(r.Context(), doc); err != nil {
		p.o.Logger.Error("portal: console customer payments", "err", err)
		d.Payments, d.ShowPayments = nil, false
		base.Error = "Os pagamentos agendados do cliente não puderam ser carregados agora."
	}
	base.Heading = consoleHeading + " · cliente " + doc
	base.Flash = flashes[r.URL.Query().Get("msg")]
	base.Data = d
	p.render(w, r, http.StatusOK, "consoleCustomer", base)
}

func (p *Portal) consolePurposeRevoke(w http.ResponseWriter, r *http.Request, base page, prin rbac.Principal, id string) {
	pc, err := p.o.Store.GetPurpose(r.Context(), id)
	if errors.Is(err, consent.ErrNotFound) {
		p.message(w, r, http.StatusNotFound, base, "Não encontrado", "Esse consentimento não existe.", ConsolePrefix)
		return
	}
	if err != nil {
		p.o.Logger.Error("portal: console purpose revoke", "consent_id", id, "err", err)
		p.message(w, r, http.StatusInternalServerError, base, "Indisponível", "Tente de novo.", ConsolePrefix)
		return
	}
	back := ConsolePrefix + "customers/" + pc.Customer.Identification
	if r.Method == http.MethodPost {
		kind, reason, ok := revokeReason(r)
		if !ok {
			p.message(w, r, http.StatusBadRequest, base, "Motivo obrigatório", "Escolha o tipo e descreva o motivo (até 500 caracteres).", r.URL.Path)
			return
		}
		_, _, err := p.revokePurpose(r.Context(), id, operatorActor(prin, kind, reason), consentsql.LinkedOptions{})
		var pte *consent.PurposeTransitionError
		switch {
		case err == nil:
			http.Redirect(w, r, back+"?msg=purpose-revoked", http.StatusSeeOther)
		case errors.As(err, &pte):
			http.Redirect(w, r, back+"?msg=already", http.StatusSeeOther)
		default:
			p.o.Logger.Error("portal: console purpose revoke", "consent_id", id, "err", err)
			p.message(w, r, http.StatusInternalServerError, base, "Indisponível", "A revogação falhou; tente de novo.", back)
		}
		return
	}
	base.Data = confirmation{Question: "Revogar o consentimento LGPD " + pc.ID + "?",
		Subject: "Cliente " + pc.Customer.Identification + " · finalidade " + pc.PurposeID + " · regra " + string(pc.RevocationRule),
		Action:  r.URL.Path, CSRF: p.consoleCSRF(prin.Username), Button: "Revogar", ButtonClass: "danger", Back: back, AskReason: true}
	p.render(w, r, http.StatusOK, "confirm", base)
}
