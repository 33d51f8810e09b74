package portal

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/ofp-dev/ofp/consent"
	"github.com/ofp-dev/ofp/consent/consentsql"
	"github.com/ofp-dev/ofp/internal/httpx"
	"github.com/ofp-dev/ofp/internal/rbac"
)

// The consent admin API (JSON, internal listener):
//
//	GET  /admin/v1/consents?document=&clientId=&status=&role=&from=&to=&page=&page-size=
//	GET  /admin/v1/consents/{id}
//	POST /admin/v1/consents/{id}/revoke          {"kind":"CUSTOMER_REQUEST|SECURITY","reason":"...","alsoRevoke":[...]}
//	GET  /admin/v1/customers/{document}/consents every consent of a customer, both ecosystems, with history
//	POST /admin/v1/purpose-consents              {"purposeId","customer":{"identification","rel"},"partnerId","linkedConsentId","durationDays"}
//	GET  /admin/v1/purpose-consents/{id}
//	POST /admin/v1/purpose-consents/{id}/revoke  {"kind","reason","revokeLinkedConsent":bool}

type (
	wireDoc struct {
		Identification string `json:"identification"`
		Rel            string `json:"rel"`
	}
	wireHistory struct {
		At            string `json:"at"`
		From          string `json:"from"`
		To            string `json:"to"`
		Event         string `json:"event"`
		Who           string `json:"who"`
		ClientID      string `json:"clientId,omitempty"`
		InteractionID string `json:"interactionId,omitempty"`
		Reason        string `json:"reason,omitempty"`
	}
	wireResource struct {
		ResourceID string `json:"resourceId"`
		Type       string `json:"type"`
		Status     string `json:"status"`
	}
	wireConsent struct {
		ConsentID            string         `json:"consentId"`
		Role                 string         `json:"role"`
		Counterparty         string         `json:"counterparty,omitempty"`
		ClientID             string         `json:"clientId"`
		Status               string         `json:"status"`
		Permissions          []string       `json:"permissions"`
		LoggedUser           wireDoc        `json:"loggedUser"`
		BusinessEntity       *wireDoc       `json:"businessEntity,omitempty"`
		CreationDateTime     string         `json:"creationDateTime"`
		StatusUpdateDateTime string         `json:"statusUpdateDateTime"`
		ExpirationDateTime   string         `json:"expirationDateTime,omitempty"`
		RejectedBy           string         `json:"rejectedBy,omitempty"`
		RejectionReason      string         `json:"rejectionReason,omitempty"`
		Resources            []wireResource `json:"resources,omitempty"`
		History              []wireHistory  `json:"history,omitempty"`
		Renewals             int            `json:"renewals"`
		LinkedPurposeIDs     []string       `json:"linkedPurposeConsentIds,omitempty"`
	}
	wirePurposeConsent struct {
		ID                   string        `json:"purposeConsentId"`
		PurposeID            string        `json:"purposeId"`
		Status               string        `json:"status"`
		LegalBasis           string        `json:"legalBasis"`
		RevocationRule       string        `json:"revocationRule"`
		Customer             wireDoc       `json:"customer"`
		PartnerID            string        `json:"partnerId,omitempty"`
		LinkedConsentID      string        `json:"linkedConsentId,omitempty"`
		Permissions          []string      `json:"permissions"`
		GrantedAt            string        `json:"grantedAt"`
		StatusUpdateDateTime string        `json:"statusUpdateDateTime"`
		ExpirationDateTime   string        `json:"expirationDateTime,omitempty"`
		RevocationReason     string        `json:"revocationReason,omitempty"`
		History              []wireHistory `json:"history,omitempty"`
	}
	adminMeta struct {
		RequestDateTime string `json:"requestDateTime"`
		TotalRecords    *int   `json:"totalRecords,omitempty"`
		TotalPages      *int   `json:"totalPages,omitempty"`
	}
)

func optTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	return httpx.FormatTime(*t)
}

func toWireConsent(r consentsql.ConsentRecord) wireConsent {
	c := r.Consent
	w := wireConsent{ConsentID: c.ID, Role: string(c.Role), Counterparty: c.Counterparty, ClientID: c.ClientID, Status: string(c.Status),
		Permissions: c.Permissions, LoggedUser: wireDoc(c.LoggedUser.Document), CreationDateTime: httpx.FormatTime(c.CreationDateTime),
		StatusUpdateDateTime: httpx.FormatTime(c.StatusUpdateDateTime), ExpirationDateTime: optTime(c.ExpirationDateTime),
		Renewals: len(r.Extensions), LinkedPurposeIDs: r.Linked}
	if c.BusinessEntity != nil {
		d := wireDoc(c.BusinessEntity.Document)
		w.BusinessEntity = &d
	}
	if c.Rejection != nil {
		w.RejectedBy, w.RejectionReason = string(c.Rejection.RejectedBy), string(c.Rejection.Reason)
	}
	for _, res := range r.Resources {
		w.Resources = append(w.Resources, wireResource{ResourceID: res.ID, Type: res.Type, Status: res.Status})
	}
	for _, h := range r.History {
		w.History = append(w.History, wireHistory{At: httpx.FormatTime(h.At), From: string(h.From), To: string(h.To), Event: string(h.Event),
			Who: h.Who, ClientID: h.ClientID, InteractionID: h.InteractionID, Reason: h.Reason})
	}
	return w
}

func toWirePurpose(r consentsql.PurposeRecord) wirePurposeConsent {
	p := r.Consent
	w := wirePurposeConsent{ID: p.ID, PurposeID: p.PurposeID, Status: string(p.Status), LegalBasis: p.LegalBasis,
		RevocationRule: string(p.RevocationRule), Customer: wireDoc(p.Customer), PartnerID: p.PartnerID, LinkedConsentID: p.LinkedConsentID,
		Permissions: p.Permissions, GrantedAt: httpx.FormatTime(p.GrantedAt), StatusUpdateDateTime: httpx.FormatTime(p.StatusUpdateDateTime),
		ExpirationDateTime: optTime(p.ExpiresAt), RevocationReason: p.RevocationReason}
	if w.Permissions == nil {
		w.Permissions = []string{}
	}
	for _, h := range r.History {
		w.History = append(w.History, wireHistory{At: httpx.FormatTime(h.At), From: string(h.From), To: string(h.To), Event: string(h.Event),
			Who: h.Who, ClientID: h.ClientID, InteractionID: h.InteractionID, Reason: h.Reason})
	}
	return w
}

// Error codes of the admin API.
const (
	codeInvalid   = "PARAMETRO_INVALIDO"
	codeNotFound  = "RECURSO_NAO_ENCONTRADO"
	codeConflict  = "ESTADO_INVALIDO"
	codeMedia     = "TIPO_MIDIA_NAO_SUPORTADO"
	codeMethod    = httpx.CodeMethodNotAllowed
	codeInternal  = "ERRO_INTERNO"
	codeLinkError = "VINCULO_INVALIDO"
)

func (p *Portal) adminRoutes(w http.ResponseWriter, r *http.Request) {
	prin, _ := rbac.PrincipalFrom(r.Context())
	now := p.o.Now()
	fail := func(status int, code, title, detail string) {
		httpx.WriteErrorAt(w, status, now, httpx.ErrorDetail{Code: code, Title: title, Detail: detail})
	}
	ok := func(status int, data any, m adminMeta) {
		m.RequestDateTime = httpx.FormatTime(now)
		w.Header().Set("Cache-Control", "no-store")
		if err := httpx.WriteJSON(w, status, map[string]any{"data": data, "meta": m}); err != nil {
			p.o.Logger.Error("portal: admin encode", "err", err)
		}
	}
	internal := func(err error) {
		p.o.Logger.Error("portal: admin API", "path", r.URL.Path, "err", err)
		fail(http.StatusInternalServerError, codeInternal, "Erro interno", "retry later")
	}
	var body []byte
	if r.Method == http.MethodPost {
		mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || mt != "application/json" {
			// Also what keeps cross-site HTML forms out (they cannot send JSON).
			fail(http.StatusUnsupportedMediaType, codeMedia, "Content-Type não suportado", "send application/json")
			return
		}
		if body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, 16<<10)); err != nil {
			fail(http.StatusBadRequest, codeInvalid, "Corpo inválido", "the body could not be read (at most 16 KiB)")
			return
		}
	}
	decode := func(v any) bool {
		dec := json.NewDecoder(strings.NewReader(string(body)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(v); err != nil {
			fail(http.StatusBadRequest, codeInvalid, "JSON inválido", "the body is not the expected JSON object")
			return false
		}
		return true
	}
	changeErr := func(err error) {
		var (
			ite *consent.IllegalTransitionError
			pte *consent.PurposeTransitionError
			pre *consent.PreconditionError
		)
		switch {
		case errors.Is(err, consent.ErrNotFound):
			fail(http.StatusNotFound, codeNotFound, "Não encontrado", "no such consent")
		case errors.As(err, &ite), errors.As(err, &pte), errors.As(err, &pre):
			fail(http.StatusConflict, codeConflict, "Estado inválido", err.Error())
		case errors.Is(err, consent.ErrAlreadyExists):
			fail(http.StatusConflict, codeConflict, "Já existe", "retry: an id collided")
		case errors.Is(err, consent.ErrPurposeLink):
			fail(http.StatusUnprocessableEntity, codeLinkError, "Vínculo inválido", "the linked consent is missing, another customer's, or REJECTED")
		case errors.Is(err, ErrGrant):
			fail(http.StatusUnprocessableEntity, codeInvalid, "Pedido inválido", err.Error())
		default:
			internal(err)
		}
	}
	path := r.URL.Path
	switch {
	case path == AdminConsents && r.Method == http.MethodGet:
		flt, _, err := parseFilter(r.URL.Query(), "document", "clientId")
		if err != nil {
			fail(http.StatusBadRequest, codeInvalid, "Filtro inválido", err.Error())
			return
		}
		res, err := p.o.Store.Search(r.Context(), flt)
		if err != nil {
			internal(err)
			return
		}
		out := []wireConsent{}
		for _, c := range res.Consents {
			out = append(out, toWireConsent(consentsql.ConsentRecord{Consent: c}))
		}
		ok(http.StatusOK, out, adminMeta{TotalRecords: &res.TotalRecords, TotalPages: &res.TotalPages})
	case strings.HasPrefix(path, AdminConsents+"/"):
		rest := strings.TrimPrefix(path, AdminConsents+"/")
		if id, isRevoke := strings.CutSuffix(rest, "/revoke"); isRevoke && consent.ValidID(id) && r.Method == http.MethodPost {
			var in struct {
				Kind       RevokeKind `json:"kind"`
				Reason     string     `json:"reason"`
				AlsoRevoke []string   `json:"alsoRevoke"`
			}
			if !decode(&in) {
				return
			}
			in.Reason = strings.TrimSpace(in.Reason)
			if (in.Kind != KindCustomerRequest && in.Kind != KindSecurity) || in.Reason == "" || len(in.Reason) > 500 {
				fail(http.StatusBadRequest, codeInvalid, "Motivo obrigatório", "kind must be CUSTOMER_REQUEST or SECURITY and reason 1 to 500 characters")
				return
			}
			c, err := p.o.Store.Get(r.Context(), id)
			if err != nil {
				changeErr(err)
				return
			}
			got, cas, err := p.revokeConsent(r.Context(), c, in.Kind, operatorActor(prin, in.Kind, in.Reason), consentsql.LinkedOptions{AlsoRevoke: in.AlsoRevoke})
			if err != nil {
				changeErr(err)
				return
			}
			revoked := []string{}
			for _, pc := range cas.Revoked {
				revoked = append(revoked, pc.ID)
			}
			ok(http.StatusOK, map[string]any{"consent": toWireConsent(consentsql.ConsentRecord{Consent: got}), "revokedPurposeConsentIds": revoked}, adminMeta{})
			return
		}
		if consent.ValidID(rest) && r.Method == http.MethodGet {
			rec, err := p.loadRecord(r, rest)
			if err != nil {
				changeErr(err)
				return
			}
			ok(http.StatusOK, toWireConsent(rec), adminMeta{})
			return
		}
		fail(http.StatusNotFound, codeNotFound, "Não encontrado", "no such resource or method")
	case strings.HasPrefix(path, AdminCustomer) && strings.HasSuffix(path, "/consents") && r.Method == http.MethodGet:
		doc := strings.TrimSuffix(strings.TrimPrefix(path, AdminCustomer), "/consents")
		if doc == "" || digits(doc) != doc || (len(doc) != 11 && len(doc) != 14) {
			fail(http.StatusBadRequest, codeInvalid, "Documento inválido", "the document is a CPF (11 digits) or CNPJ (14 digits)")
			return
		}
		all, err := p.o.Store.CustomerConsents(r.Context(), doc)
		if err != nil {
			internal(err)
			return
		}
		out := struct {
			Document string               `json:"document"`
			Consents []wireConsent        `json:"consents"`
			Purposes []wirePurposeConsent `json:"purposeConsents"`
		}{Document: doc, Consents: []wireConsent{}, Purposes: []wirePurposeConsent{}}
		for _, c := range all.Consents {
			out.Consents = append(out.Consents, toWireConsent(c))
		}
		for _, pc := range all.Purposes {
			out.Purposes = append(out.Purposes, toWirePurpose(pc))
		}
		ok(http.StatusOK, out, adminMeta{})
	case path == AdminPurposeC && r.Method == http.MethodPost:
		var in struct {
			PurposeID       string  `json:"purposeId"`
			Customer        wireDoc `json:"customer"`
			PartnerID       string  `json:"partnerId"`
			LinkedConsentID string  `json:"linkedConsentId"`
			DurationDays    int     `json:"durationDays"`
		}
		if !decode(&in) {
			return
		}
		if digits(in.Customer.Identification) != in.Customer.Identification || in.Customer.Identification == "" {
			fail(http.StatusBadRequest, codeInvalid, "Cliente inválido", "customer.identification is a CPF or CNPJ (digits)")
			return
		}
		pc, err := p.GrantPurpose(r.Context(), GrantRequest{PurposeID: in.PurposeID, Customer: consent.Document(in.Customer),
			PartnerID: in.PartnerID, LinkedConsentID: in.LinkedConsentID, DurationDays: in.DurationDays},
			consent.AuditActor{Who: "operator:" + prin.Username, Reason: "granted through the admin API"})
		if err != nil {
			changeErr(err)
			return
		}
		w.Header().Set("Location", AdminPurposeC+"/"+pc.ID)
		ok(http.StatusCreated, toWirePurpose(consentsql.PurposeRecord{Consent: pc}), adminMeta{})
	case strings.HasPrefix(path, AdminPurposeC+"/"):
		rest := strings.TrimPrefix(path, AdminPurposeC+"/")
		if id, isRevoke := strings.CutSuffix(rest, "/revoke"); isRevoke && consent.ValidID(id) && r.Method == http.MethodPost {
			var in struct {
				Kind                RevokeKind `json:"kind"`
				Reason              string     `json:"reason"`
				RevokeLinkedConsent bool       `json:"revokeLinkedConsent"`
			}
			if !decode(&in) {
				return
			}
			in.Reason = strings.TrimSpace(in.Reason)
			if (in.Kind != KindCustomerRequest && in.Kind != KindSecurity) || in.Reason == "" || len(in.Reason) > 500 {
				fail(http.StatusBadRequest, codeInvalid, "Motivo obrigatório", "kind must be CUSTOMER_REQUEST or SECURITY and reason 1 to 500 characters")
				return
			}
			got, cas, err := p.revokePurpose(r.Context(), id, operatorActor(prin, in.Kind, in.Reason), consentsql.LinkedOptions{RevokeLinkedConsent: in.RevokeLinkedConsent})
			if err != nil {
				changeErr(err)
				return
			}
			rejected := []string{}
			for _, c := range cas.Rejected {
				rejected = append(rejected, c.ID)
			}
			ok(http.StatusOK, map[string]any{"purposeConsent": toWirePurpose(consentsql.PurposeRecord{Consent: got}), "rejectedConsentIds": rejected}, adminMeta{})
			return
		}
		if consent.ValidID(rest) && r.Method == http.MethodGet {
			pc, err := p.o.Store.GetPurpose(r.Context(), rest)
			if err != nil {
				changeErr(err)
				return
			}
			h, err := p.o.Store.PurposeHistory(r.Context(), rest)
			if err != nil {
				internal(err)
				return
			}
			ok(http.StatusOK, toWirePurpose(consentsql.PurposeRecord{Consent: pc, History: h}), adminMeta{})
			return
		}
		fail(http.StatusNotFound, codeNotFound, "Não encontrado", "no such resource or method")
	default:
		if r.Method != http.MethodGet && r.Method != http.MethodPost {
			w.Header().Set("Allow", "GET, POST")
			fail(http.StatusMethodNotAllowed, codeMethod, "Método não suportado", r.Method+" is not supported")
			return
		}
		fail(http.StatusNotFound, codeNotFound, "Não encontrado", "no such resource")
	}
}
