package portal

import (
	"context"
	"fmt"
	"time"

	"github.com/ofp-dev/ofp/consent"
	"github.com/ofp-dev/ofp/consent/consentsql"
	"github.com/ofp-dev/ofp/consent/purposes"
	"github.com/ofp-dev/ofp/internal/brtext"
)

// What people read: plain Portuguese, no codes.

// fmtDate is a time as the portal's readers (customers and the
// institution's staff, in Brazil) read it: Brasília's.
func fmtDate(t time.Time) string { return brtext.DateTime(t) }

func fmtExpiry(t *time.Time) string {
	if t == nil {
		return "Sem prazo de validade"
	}
	return "Válido até " + fmtDate(*t)
}

var reasonText = map[consent.ReasonCode]string{
	consent.ReasonConsentExpired:           "o prazo para autorizar terminou",
	consent.ReasonCustomerManuallyRejected: "a autorização foi recusada",
	consent.ReasonCustomerManuallyRevoked:  "o compartilhamento foi revogado",
	consent.ReasonConsentMaxDateReached:    "o prazo de validade terminou",
	consent.ReasonConsentTechnicalIssue:    "houve um problema técnico",
	consent.ReasonInternalSecurityReason:   "a instituição encerrou por segurança",
}

var byText = map[consent.RejectedBy]string{
	consent.RejectedByUser:  "por você",
	consent.RejectedByTPP:   "pela instituição que recebe os dados",
	consent.RejectedByASPSP: "pela instituição que guarda os dados",
}

func statusText(c consent.Consent) string {
	switch c.Status {
	case consent.StatusAwaitingAuthorisation:
		return "Aguardando autorização"
	case consent.StatusAuthorised:
		return "Ativo"
	case consent.StatusRejected:
		if c.Rejection == nil {
			return "Encerrado"
		}
		return fmt.Sprintf("Encerrado %s: %s", byText[c.Rejection.RejectedBy], reasonText[c.Rejection.Reason])
	}
	return string(c.Status)
}

func statusClass(active, ended bool) string {
	switch {
	case active:
		return "ok"
	case ended:
		return "ended"
	}
	return "wait"
}

var purposeStatusText = map[consent.PurposeStatus]string{
	consent.PurposeActive:  "Ativo",
	consent.PurposeRevoked: "Revogado",
	consent.PurposeExpired: "Expirado",
}

var eventText = map[consent.Event]string{
	consent.EventCreate:               "Pedido criado",
	consent.EventAuthorise:            "Autorizado",
	consent.EventRejectByUser:         "Recusado pelo cliente",
	consent.EventRevokeByUser:         "Revogado pelo cliente",
	consent.EventRevokeByTPP:          "Revogado pela instituição que recebe os dados",
	consent.EventExpireAwaiting:       "Expirou sem autorização",
	consent.EventExpireAuthorised:     "Prazo de validade terminou",
	consent.EventExtend:               "Renovado",
	consent.EventRejectTechnicalIssue: "Encerrado por problema técnico",
	consent.EventRejectSecurity:       "Encerrado por segurança",
}

var purposeEventText = map[consent.PurposeEvent]string{
	consent.PurposeEventGrant:        "Autorizado",
	consent.PurposeEventRenew:        "Renovado",
	consent.PurposeEventRevoke:       "Revogado",
	consent.PurposeEventRevokeLinked: "Revogado junto com o compartilhamento ligado",
	consent.PurposeEventExpire:       "Expirou",
}

var ruleText = map[consent.LinkRule]string{
	consent.LinkRevoke: "Revogar um revoga o outro",
	consent.LinkKeep:   "Cada um continua independente",
	consent.LinkAsk:    "Você decide ao revogar",
}

var resourceTypeText = map[string]string{
	"ACCOUNT": "Conta", "CREDIT_CARD_ACCOUNT": "Cartão de crédito", "LOAN": "Empréstimo", "FINANCING": "Financiamento",
	"UNARRANGED_ACCOUNT_OVERDRAFT": "Adiantamento a depositante", "INVOICE_FINANCING": "Direitos creditórios descontados",
	"BANK_FIXED_INCOME": "Renda fixa bancária", "CREDIT_FIXED_INCOME": "Renda fixa crédito", "VARIABLE_INCOME": "Renda variável",
	"TREASURE_TITLE": "Título do Tesouro", "FUND": "Fundo de investimento", "EXCHANGE": "Câmbio",
}

var resourceStatusText = map[string]string{
	"AVAILABLE": "disponível", "UNAVAILABLE": "indisponível", "TEMPORARILY_UNAVAILABLE": "temporariamente indisponível",
	"PENDING_AUTHORISATION": "aguardando outra aprovação",
}

// permissionLines explains each permission in plain language (pt-BR),
// RESOURCES_READ last, unknown ones as they are.
func permissionLines(perms []string) []string {
	var out []string
	var resources string
	for _, p := range perms {
		txt, ok := purposes.Explanation(p)
		line := p
		if ok {
			line = txt.PtBR
		}
		if p == consent.PermResourcesRead {
			resources = line
			continue
		}
		out = append(out, line)
	}
	if resources != "" {
		out = append(out, resources)
	}
	return out
}

// Views: what the templates show.

type historyRow struct {
	At, What, Who, Reason string
}

type resourceRow struct {
	Kind, ID, Status string
}

type consentView struct {
	ID, Kind, Counterparty, Status, StatusClass, Expiry, Created string
	Role                                                         consent.Role
	Business                                                     string
	Permissions                                                  []string
	Resources                                                    []resourceRow
	History                                                      []historyRow
	Renewals                                                     int
	Linked                                                       []string
	CanRevoke, CanRenew                                          bool
	ClientID, Customer                                           string
	RejectedBy, Reason                                           string
}

type purposeView struct {
	ID, Name, Description, Status, StatusClass, Expiry, Granted, Partner, Linked, Rule, LegalBasis string
	Permissions                                                                                    []string
	History                                                                                        []historyRow
	CanRevoke, CanRenew                                                                            bool
	Customer                                                                                       string
}

func (p *Portal) counterparty(ctx context.Context, c consent.Consent) string {
	if c.Counterparty != "" {
		return c.Counterparty
	}
	if p.o.ClientNames != nil {
		if n, ok := p.o.ClientNames.ClientName(ctx, c.ClientID); ok && n != "" {
			return n
		}
	}
	return c.ClientID
}

func (p *Portal) consentView(ctx context.Context, r consentsql.ConsentRecord) consentView {
	c := r.Consent
	v := consentView{
		ID: c.ID, Role: c.Role, Counterparty: p.counterparty(ctx, c), Status: statusText(c),
		StatusClass: statusClass(c.Status == consent.StatusAuthorised, c.Status == consent.StatusRejected),
		Expiry:      fmtExpiry(c.ExpirationDateTime), Created: fmtDate(c.CreationDateTime),
		Permissions: permissionLines(c.Permissions), Renewals: len(r.Extensions), Linked: r.Linked,
		ClientID: c.ClientID, Customer: c.LoggedUser.Document.Identification,
	}
	v.Kind = "Dados enviados para " + v.Counterparty
	if c.Role == consent.RoleReceiver {
		v.Kind = "Dados trazidos de " + v.Counterparty
	}
	if c.BusinessEntity != nil {
		v.Business = c.BusinessEntity.Document.Identification
	}
	if c.Rejection != nil {
		v.RejectedBy, v.Reason = string(c.Rejection.RejectedBy), string(c.Rejection.Reason)
	}
	for _, res := range r.Resources {
		v.Resources = append(v.Resources, resourceRow{Kind: or(resourceTypeText[res.Type], res.Type), ID: res.ID, Status: or(resourceStatusText[res.Status], res.Status)})
	}
	for _, h := range r.History {
		v.History = append(v.History, historyRow{At: fmtDate(h.At), What: or(eventText[h.Event], string(h.Event)), Who: h.Who, Reason: h.Reason})
	}
	v.CanRevoke = c.Status != consent.StatusRejected
	v.CanRenew = c.Status == consent.StatusAuthorised && c.Role == consent.RoleHolder
	return v
}

func (p *Portal) purposeView(ctx context.Context, r consentsql.PurposeRecord) purposeView {
	pc := r.Consent
	now := p.o.Now()
	v := purposeView{
		ID: pc.ID, Name: pc.PurposeID, Status: or(purposeStatusText[pc.Status], string(pc.Status)),
		StatusClass: statusClass(pc.Active(now), pc.Status != consent.PurposeActive),
		Expiry:      fmtExpiry(pc.ExpiresAt), Granted: fmtDate(pc.GrantedAt), Partner: pc.PartnerID, Linked: pc.LinkedConsentID,
		Rule: or(ruleText[pc.RevocationRule], string(pc.RevocationRule)), LegalBasis: pc.LegalBasis,
		Permissions: permissionLines(pc.Permissions), Customer: pc.Customer.Identification,
	}
	if pc.Status == consent.PurposeActive && !pc.Active(now) {
		v.Status = "Expirado"
	}
	if pur, err := p.o.Purposes.Get(ctx, pc.PurposeID); err == nil {
		v.Name, v.Description = pur.Name.PtBR, pur.Description.PtBR
	}
	for _, h := range r.History {
		v.History = append(v.History, historyRow{At: fmtDate(h.At), What: or(purposeEventText[h.Event], string(h.Event)), Who: h.Who, Reason: h.Reason})
	}
	v.CanRevoke = pc.Status == consent.PurposeActive
	v.CanRenew = pc.Active(now)
	return v
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
